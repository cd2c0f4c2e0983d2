"""Training one cell (dataset, activation, fold) with Lightning.

A cell trains a fresh model with Adam and cross entropy, evaluates the training and
validation metrics every epoch, stops early on the validation loss, restores the best
epoch's weights and evaluates the held-out fold. A checkpoint written after every
epoch lets an interrupted cell continue where it stopped.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback, EarlyStopping
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from ..activation import DSReLU
from ..callbacks import DSReLUProgressCallback
from ..data import LoadedDataset
from .batchnorm import recalibrate_batchnorm
from .metrics import classification_metrics
from .models import build_model

__all__ = ["CellResult", "CellSplits", "train_cell"]

log = logging.getLogger(__name__)

LAST_CHECKPOINT = "last.ckpt"


@dataclass(frozen=True)
class CellSplits:
    """Sample indices of one cell: training, validation (selection) and held-out."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


@dataclass
class CellResult:
    """What one cell produced: per-epoch rows and the held-out metrics at the best epoch."""

    status: str
    best_epoch: int | None
    stopped_epoch: int
    history: list[dict[str, float]] = field(default_factory=list)
    test: dict[str, float] = field(default_factory=dict)
    model: nn.Module | None = None


class _IndexedBatches(Dataset):
    """Whole batches gathered from in-memory tensors by a list of positions."""

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor, indices: np.ndarray) -> None:
        self.inputs, self.targets = inputs, targets
        self.indices = torch.as_tensor(indices, dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, positions: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        chosen = self.indices[positions]
        return self.inputs[chosen], self.targets[chosen]


class _EpochBatches(Sampler[list[int]]):
    """Batches of positions, reshuffled each epoch from ``(seed, epoch)`` alone.

    Deriving the order from the epoch number (Lightning calls :meth:`set_epoch`) makes
    a resumed run see the same batches as an uninterrupted one. A final batch of one
    sample is dropped: BatchNorm cannot train on it.
    """

    def __init__(self, size: int, batch_size: int, *, shuffle: bool, seed: int) -> None:
        self.size, self.batch_size, self.shuffle, self.seed = size, batch_size, shuffle, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[list[int]]:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.size, generator=generator).tolist()
        else:
            order = list(range(self.size))
        for start in range(0, self.size, self.batch_size):
            batch = order[start : start + self.batch_size]
            if len(batch) > 1 or not self.shuffle:
                yield batch

    def __len__(self) -> int:
        full, rest = divmod(self.size, self.batch_size)
        return full + (1 if rest > 1 or (rest == 1 and not self.shuffle) else 0)


def _loader(
    data: LoadedDataset,
    indices: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int,
    pin_memory: bool,
) -> DataLoader:
    sampler = _EpochBatches(len(indices), batch_size, shuffle=shuffle, seed=seed)
    dataset = _IndexedBatches(data.inputs, data.targets, indices)
    return DataLoader(dataset, sampler=sampler, batch_size=None, pin_memory=pin_memory)


class _CellModule(pl.LightningModule):
    """The model, its optimizer, and the per-epoch metric bookkeeping of one cell."""

    def __init__(
        self,
        model: nn.Module,
        prepare: Callable[[torch.Tensor], torch.Tensor],
        lr: float,
        betas: tuple[float, float],
        eps: float,
        precise_bn: int = 0,
    ) -> None:
        super().__init__()
        self.precise_bn = precise_bn
        self.model = model
        self._prepare = prepare
        self.lr, self.betas, self.eps = lr, betas, eps
        self.history: list[dict[str, float]] = []
        self.best_state: dict[str, torch.Tensor] | None = None
        self.best_epoch: int | None = None
        self.best_val_loss = math.inf
        self.diverged = False
        self._outputs: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {"train": [], "val": []}
        self._epoch_start = 0.0
        self._train_metrics: dict[str, float] = {}
        self._train_time_s = math.nan
        self._dsrelu = next((m for m in model.modules() if isinstance(m, DSReLU)), None)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.model(self._prepare(inputs))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr, betas=self.betas, eps=self.eps)

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], split: str) -> torch.Tensor:
        inputs, targets = batch
        logits = self(inputs)
        self._outputs[split].append((logits.detach(), targets))
        return F.cross_entropy(logits.float(), targets)

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _collect(self, split: str) -> dict[str, float]:
        outputs = self._outputs[split]
        self._outputs[split] = []
        logits = torch.cat([logits for logits, _ in outputs])
        targets = torch.cat([targets for _, targets in outputs])
        return classification_metrics(logits, targets)

    def on_train_epoch_start(self) -> None:
        self._sync()
        self._epoch_start = time.perf_counter()
        self._train_metrics, self._train_time_s = {}, math.nan
        self._outputs["train"] = []

    def _finish_training_part(self) -> None:
        if self._train_metrics or not self._outputs["train"]:
            return
        self._sync()
        self._train_time_s = time.perf_counter() - self._epoch_start
        self._train_metrics = self._collect("train")
        if not math.isfinite(self._train_metrics["loss"]):
            self.diverged = True
            self.trainer.should_stop = True
        elif self.precise_bn > 0:
            batches = itertools.islice(self.trainer.train_dataloader, self.precise_bn)
            prepared = (self._prepare(inputs.to(self.device)) for inputs, _ in batches)
            recalibrate_batchnorm(self.model, prepared)

    def on_validation_epoch_start(self) -> None:
        self._outputs["val"] = []
        if not self.trainer.sanity_checking:
            self._finish_training_part()

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            self._outputs["val"] = []
            return
        val = self._collect("val")
        self.log("val_loss", val["loss"] if math.isfinite(val["loss"]) else math.inf)
        if not math.isfinite(val["loss"]):
            self.diverged = True
            self.trainer.should_stop = True
        epoch = self.current_epoch + 1
        row: dict[str, float] = {"epoch": epoch}
        row.update({f"train_{key}": value for key, value in self._train_metrics.items()})
        row.update({f"val_{key}": value for key, value in val.items()})
        row["epoch_time_s"] = self._train_time_s
        row["slope"] = self._dsrelu.slope if self._dsrelu is not None else None
        self.history.append(row)
        if not self.diverged and val["loss"] < self.best_val_loss:
            self.best_val_loss, self.best_epoch = val["loss"], epoch
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["dsrelu_cell"] = {
            "history": self.history,
            "best_state": self.best_state,
            "best_epoch": self.best_epoch,
            "best_val_loss": self.best_val_loss,
            "diverged": self.diverged,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint["dsrelu_cell"]
        self.history = state["history"]
        self.best_state = state["best_state"]
        self.best_epoch = state["best_epoch"]
        self.best_val_loss = state["best_val_loss"]
        self.diverged = state["diverged"]


class _EpochCheckpoint(Callback):
    """Write the whole training state at the end of an epoch, atomically.

    A checkpoint is written when at least ``interval_s`` seconds have passed since the
    last one (``0``: every epoch), so short epochs are not slowed by disk writes; an
    interruption loses at most that much work.
    """

    def __init__(self, path: Path, interval_s: float) -> None:
        self.path, self.interval_s = path, interval_s
        self._last_save = time.monotonic()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Runs after the epoch's validation, so the checkpoint holds a whole epoch.
        if trainer.should_stop:
            return
        if time.monotonic() - self._last_save < self.interval_s:
            return
        partial = self.path.with_name(self.path.name + ".partial")
        trainer.save_checkpoint(partial)
        os.replace(partial, self.path)
        self._last_save = time.monotonic()


def _accelerator(device: str) -> tuple[str, Any]:
    if device == "auto":
        return ("gpu", 1) if torch.cuda.is_available() else ("cpu", 1)
    if device == "cpu":
        return "cpu", 1
    if device.startswith("cuda"):
        index = device.partition(":")[2]
        return "gpu", [int(index)] if index.isdigit() else 1
    raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {device!r}")


@dataclass(frozen=True)
class TrainSettings:
    """The training settings a cell needs (a subset of :class:`RunConfig`)."""

    max_epochs: int
    patience: int
    batch_size: int
    lr: float
    betas: tuple[float, float]
    eps: float
    precision: str = "32"
    deterministic: bool = False
    device: str = "auto"
    progress_bar: bool = False
    checkpoint_interval_s: float = 60.0
    precise_bn: int = 0


_QUIET_WARNINGS = (
    ".*does not have many workers.*",
    ".*smaller than the logging interval.*",
    ".*Checkpoint directory .* exists and is not empty.*",
    ".*precision.*is supported for historical reasons.*",
    ".*`isinstance\\(treespec, LeafSpec\\)` is deprecated.*",
)


def train_cell(
    data: LoadedDataset,
    activation: str,
    splits: CellSplits,
    settings: TrainSettings,
    *,
    seed: int,
    checkpoint_dir: Path,
    callbacks: Sequence[Callback] = (),
) -> CellResult:
    """Train and evaluate one cell; continue from ``checkpoint_dir`` if a checkpoint is there.

    Args:
        data: the loaded dataset (all samples; ``splits`` index into it).
        activation: registry name of the activation under test.
        splits: training, validation and held-out indices.
        settings: training settings.
        seed: seeds the model initialisation and the batch order.
        checkpoint_dir: where the cell's resumable checkpoint lives.
        callbacks: extra Lightning callbacks (used by tests).

    Returns:
        The cell's :class:`CellResult`.
    """
    pl.seed_everything(seed, verbose=False)
    model = build_model(activation, in_channels=data.in_channels, num_classes=data.num_classes)
    module = _CellModule(
        model, data.prepare, settings.lr, settings.betas, settings.eps, settings.precise_bn
    )
    accelerator, devices = _accelerator(settings.device)
    pin = accelerator == "gpu"
    train_loader = _loader(
        data, splits.train, settings.batch_size, shuffle=True, seed=seed, pin_memory=pin
    )
    val_loader = _loader(
        data, splits.val, settings.batch_size, shuffle=False, seed=seed, pin_memory=pin
    )
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    last = checkpoint_dir / LAST_CHECKPOINT
    trainer = pl.Trainer(
        accelerator=accelerator,
        devices=devices,
        precision="bf16-mixed" if settings.precision == "bf16" else "32-true",
        max_epochs=settings.max_epochs,
        deterministic=settings.deterministic,
        callbacks=[
            DSReLUProgressCallback(),
            EarlyStopping(
                monitor="val_loss", mode="min", patience=settings.patience, check_finite=True
            ),
            _EpochCheckpoint(last, settings.checkpoint_interval_s),
            *callbacks,
        ],
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=settings.progress_bar,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,
        default_root_dir=checkpoint_dir,
    )
    with warnings.catch_warnings():
        for pattern in _QUIET_WARNINGS:
            warnings.filterwarnings("ignore", message=pattern)
        if last.exists():
            log.info("continuing from %s", last)
        trainer.fit(
            module,
            train_loader,
            val_loader,
            ckpt_path=last if last.exists() else None,
            weights_only=False,
        )
    stopped_epoch = len(module.history)
    if module.diverged or module.best_state is None:
        return CellResult("diverged", module.best_epoch, stopped_epoch, module.history)
    module.model.load_state_dict(module.best_state)
    test_loader = _loader(
        data, splits.test, settings.batch_size, shuffle=False, seed=seed, pin_memory=pin
    )
    test = _evaluate(module, test_loader)
    return CellResult("done", module.best_epoch, stopped_epoch, module.history, test, module.model)


@torch.no_grad()
def _evaluate(module: _CellModule, loader: DataLoader) -> dict[str, float]:
    module.eval()
    device = module.device
    outputs = []
    for inputs, targets in loader:
        with torch.autocast(
            device.type, dtype=torch.bfloat16, enabled=module.trainer.precision == "bf16-mixed"
        ):
            logits = module(inputs.to(device, non_blocking=True))
        outputs.append((logits.float(), targets))
    logits = torch.cat([logits for logits, _ in outputs])
    targets = torch.cat([targets for _, targets in outputs])
    return classification_metrics(logits, targets)
