"""Driving DSReLU's training progress from a training loop.

Progress is ``0`` before the first optimizer step and ``1`` after the last planned
one. It advances outside ``forward``: :class:`ProgressScheduler` for plain PyTorch
loops (call :meth:`~ProgressScheduler.step` after each ``optimizer.step()``), and
:class:`dsrelu.callbacks.DSReLUProgressCallback` for Lightning.
"""

from __future__ import annotations

import logging
from typing import Any

from torch import nn

from .activation import DSReLU, set_progress

__all__ = ["ProgressScheduler"]

log = logging.getLogger(__name__)


def check_count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _progress(step: int, total_steps: int, steps_per_epoch: int | None) -> float:
    if steps_per_epoch is not None:
        step = (step // steps_per_epoch) * steps_per_epoch
    return min(step / total_steps, 1.0)


class ProgressScheduler:
    """Advance the progress of every :class:`DSReLU` in a model, once per optimizer step.

    In the spirit of ``torch.optim.lr_scheduler``: build it before training, call
    :meth:`step` after each ``optimizer.step()``, and save :meth:`state_dict` with your
    checkpoint to resume.

    Args:
        model: the model whose :class:`DSReLU` modules are driven.
        total_steps: the planned number of optimizer steps (e.g. epochs x batches per
            epoch); progress reaches ``1`` after this many steps and stays there.
        steps_per_epoch: if given, progress moves only at epoch boundaries (every
            ``steps_per_epoch`` steps) instead of after every step. Default: ``None``.

    Raises:
        ValueError: if ``total_steps`` or ``steps_per_epoch`` is not a positive integer.

    Examples:
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(2, 2), DSReLU())
        >>> scheduler = ProgressScheduler(model, total_steps=4)
        >>> for _ in range(2):
        ...     scheduler.step()
        >>> scheduler.progress
        0.5

    .. note::
        With early stopping, training may end before progress reaches ``1``: the
        schedule follows the planned budget, not the steps actually taken.
    """

    def __init__(
        self, model: nn.Module, total_steps: int, *, steps_per_epoch: int | None = None
    ) -> None:
        self.model = model
        self.total_steps = check_count("total_steps", total_steps)
        self.steps_per_epoch = (
            None if steps_per_epoch is None else check_count("steps_per_epoch", steps_per_epoch)
        )
        self.step_count = 0
        if not any(isinstance(module, DSReLU) for module in model.modules()):
            log.debug("ProgressScheduler: the model has no DSReLU module")
        self._apply()

    @property
    def progress(self) -> float:
        """The progress the model's DSReLU modules hold now."""
        return _progress(self.step_count, self.total_steps, self.steps_per_epoch)

    def step(self) -> None:
        """Record one optimizer step and update every DSReLU's progress."""
        self.step_count += 1
        self._apply()

    def _apply(self) -> None:
        set_progress(self.model, self.progress)

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state (not the model): steps taken and the plan."""
        return {
            "step_count": self.step_count,
            "total_steps": self.total_steps,
            "steps_per_epoch": self.steps_per_epoch,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state from :meth:`state_dict` and set the model's progress from it.

        Raises:
            ValueError: if a count in ``state_dict`` is not valid.
        """
        self.total_steps = check_count("total_steps", state_dict["total_steps"])
        per_epoch = state_dict.get("steps_per_epoch")
        self.steps_per_epoch = (
            None if per_epoch is None else check_count("steps_per_epoch", per_epoch)
        )
        step_count = state_dict["step_count"]
        if isinstance(step_count, bool) or not isinstance(step_count, int) or step_count < 0:
            raise ValueError(f"step_count must be a non-negative integer, got {step_count!r}")
        self.step_count = step_count
        self._apply()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(step={self.step_count}, total_steps={self.total_steps}, "
            f"progress={self.progress:.4g})"
        )
