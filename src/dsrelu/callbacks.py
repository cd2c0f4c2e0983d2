"""Lightning integration: a callback that drives DSReLU's training progress.

Kept apart from :mod:`dsrelu.schedule` so that importing :mod:`dsrelu` does not import
Lightning.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer

from .activation import set_progress
from .schedule import check_count

__all__ = ["DSReLUProgressCallback"]


class DSReLUProgressCallback(Callback):
    """Lightning callback: progress = optimizer steps taken / steps the trainer plans.

    The plan is ``trainer.estimated_stepping_batches`` (``max_epochs`` x batches per
    epoch, or ``max_steps``) unless ``total_steps`` is given. Progress is derived from
    ``trainer.global_step``, so a run resumed from a Lightning checkpoint continues
    where it stopped.

    Args:
        total_steps: override the planned number of optimizer steps. Default: ``None``.
        per_epoch: move progress only at epoch boundaries. Default: ``False``.
    """

    def __init__(self, total_steps: int | None = None, *, per_epoch: bool = False) -> None:
        super().__init__()
        self.total_steps = None if total_steps is None else check_count("total_steps", total_steps)
        self.per_epoch = per_epoch
        self._planned: int | None = None

    def _plan(self, trainer: Trainer) -> int:
        if self.total_steps is not None:
            return self.total_steps
        if self._planned is None:
            estimate = trainer.estimated_stepping_batches
            if not (isinstance(estimate, int) or float(estimate).is_integer()) or estimate < 1:
                raise ValueError(
                    "DSReLUProgressCallback needs a finite training budget (max_epochs or "
                    f"max_steps), got estimated_stepping_batches={estimate!r}"
                )
            self._planned = int(estimate)
        return self._planned

    def _update(self, trainer: Trainer, module: LightningModule) -> None:
        total = self._plan(trainer)
        step = trainer.global_step
        if self.per_epoch:
            per_epoch = max(1, total // max(1, trainer.max_epochs or 1))
            step = (step // per_epoch) * per_epoch
        set_progress(module, min(step / total, 1.0))

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._update(trainer, pl_module)

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, *args: Any, **kwargs: Any
    ) -> None:
        self._update(trainer, pl_module)

    def state_dict(self) -> dict[str, Any]:
        return {"total_steps": self.total_steps, "planned": self._planned}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.total_steps = state_dict.get("total_steps")
        self._planned = state_dict.get("planned")
