"""The comparison grid: every dataset x fold x activation, resumable, results on disk.

``run_experiment`` validates everything before it writes anything, then trains the
cells that ``folds.csv`` does not list yet, rewriting ``epochs.csv`` and ``folds.csv``
atomically after each cell. A lock file keeps a second run off the same directory.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import importlib.metadata
import json
import logging
import math
import os
import platform
import shutil
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..data import LoadedDataset, load_dataset
from ..errors import ConfigError, ResultsError
from ..results import (
    CONFIG_FILE,
    EPOCH_COLUMNS,
    EPOCHS_FILE,
    FOLD_COLUMNS,
    FOLDS_FILE,
    atomic_write_text,
    read_config,
    read_csv_rows,
    write_csv_rows,
)
from .config import RunConfig
from .splits import check_folds, inner_split, make_folds, stratified_subset

__all__ = ["format_summary", "run_experiment"]

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"
CHECKPOINTS = "checkpoints"
_VERSIONED = ("dsrelu", "torch", "torchvision", "lightning", "numpy", "scikit-learn")


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in _VERSIONED:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "absent"
    return versions


def _load(config: RunConfig) -> dict[str, tuple[LoadedDataset, np.ndarray]]:
    """Load every dataset and choose its sample pool; check the folds fit the pool."""
    loaded = {}
    for name in config.datasets:
        data = load_dataset(
            name, config.data_dir, image_size=config.image_size, download=config.download
        )
        targets = data.targets.numpy()
        pool = np.arange(len(targets))
        if config.limit_samples is not None:
            pool = stratified_subset(targets, config.limit_samples, config.seed)
        check_folds(targets[pool], config.folds, data.class_names, dataset=name)
        loaded[name] = (data, pool)
    return loaded


def _fingerprint(data: LoadedDataset, pool: np.ndarray) -> dict[str, Any]:
    """What identifies the samples a run trains on: sizes and a hash of inputs and labels."""
    digest = hashlib.sha256()
    digest.update(data.targets.numpy().tobytes())
    digest.update(data.inputs.numpy().tobytes())
    digest.update(pool.tobytes())
    return {
        "samples": int(len(pool)),
        "classes": data.num_classes,
        "input_shape": list(data.input_shape),
        "sha256": digest.hexdigest(),
    }


def _plan(config: RunConfig, data: LoadedDataset, pool: np.ndarray) -> list[Any]:
    """The splits of every fold: identical for every activation."""
    from .engine import CellSplits

    targets = data.targets.numpy()
    plan = []
    for fold, (train_pos, test_pos) in enumerate(
        make_folds(targets[pool], config.folds, config.seed), start=1
    ):
        train, test = pool[train_pos], pool[test_pos]
        if config.select_on == "inner":
            train, val = inner_split(train, targets, config.val_fraction, config.seed + fold)
        else:
            val = test
        plan.append(CellSplits(train=train, val=val, test=test))
    return plan


def _check_device(device: str) -> None:
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {device}: CUDA is not available on this machine")
    index = device.partition(":")[2]
    if index and int(index) >= torch.cuda.device_count():
        raise ConfigError(f"--device {device}: no such GPU ({torch.cuda.device_count()} visible)")


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    path = out / LOCK_FILE
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        handle.seek(0)
        owner = handle.read().strip() or "unknown"
        handle.close()
        if error.errno in (errno.EAGAIN, errno.EACCES):
            raise ConfigError(
                f"{out} is in use by another dsrelu run (pid {owner}); wait for it or use "
                "another --out"
            ) from None
        raise
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        path.unlink(missing_ok=True)
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _prepare_directory(
    out: Path, config: RunConfig, fingerprints: dict[str, Any], force: bool
) -> None:
    """Write ``config.json``, or check that an existing one matches ``config`` and data."""
    record = {**config.to_dict(), "data": fingerprints, "versions": _versions()}
    path = out / CONFIG_FILE
    if path.exists():
        try:
            previous = read_config(out)
        except ResultsError:
            previous = {}
        protocol = {**config.protocol(), "data": fingerprints}
        changed = sorted(key for key, value in protocol.items() if previous.get(key) != value)
        if not changed:
            if previous.get("versions") != record["versions"]:
                log.warning("resuming %s with other package versions than it started with", out)
            return
        if not force:
            details = ", ".join(
                f"{key}: {previous.get(key)!r} -> {protocol[key]!r}"
                if key != "data"
                else "data: other samples than the run started with (see --data-dir)"
                for key in changed
            )
            raise ConfigError(
                f"{path} was written with other settings ({details}); use another --out, or "
                "--force to move the earlier results aside and start again"
            )
        backup = out / time.strftime("replaced-%Y%m%d-%H%M%S")
        backup.mkdir()
        for name in (CONFIG_FILE, EPOCHS_FILE, FOLDS_FILE, CHECKPOINTS, "report"):
            if (out / name).exists():
                shutil.move(str(out / name), str(backup / name))
        log.warning("--force: earlier results of %s moved to %s", out, backup)
    atomic_write_text(path, json.dumps(record, indent=2) + "\n")


def _cell_key(row: dict[str, Any]) -> tuple[str, str, int]:
    return (str(row["dataset"]), str(row["activation"]), int(row["fold"]))


def _fold_row(
    dataset: str, activation: str, fold: int, result: Any, sizes: tuple[int, int, int]
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "dataset": dataset,
        "activation": activation,
        "fold": fold,
        "status": result.status,
        "best_epoch": result.best_epoch,
        "stopped_epoch": result.stopped_epoch,
        "n_train": sizes[0],
        "n_val": sizes[1],
        "n_test": sizes[2],
    }
    times = [r["epoch_time_s"] for r in result.history if math.isfinite(r["epoch_time_s"])]
    row["mean_epoch_time_s"] = statistics.fmean(times) if times else None
    if result.status == "done":
        best = next(r for r in result.history if r["epoch"] == result.best_epoch)
        for split in ("train", "val"):
            for metric in ("loss", "acc", "f1", "auc"):
                row[f"{split}_{metric}"] = best[f"{split}_{metric}"]
        row.update({f"test_{metric}": value for metric, value in result.test.items()})
    return row


def run_experiment(
    config: RunConfig,
    out: str | os.PathLike[str],
    *,
    force: bool = False,
    progress_bar: bool = False,
    keep_checkpoints: bool = False,
    checkpoint_interval_s: float = 60.0,
    callbacks: Sequence[Any] = (),
) -> list[dict[str, Any]]:
    """Run (or resume) the comparison described by ``config`` into ``out``.

    Args:
        config: the run's settings.
        out: the results directory; created if needed.
        force: reuse ``out`` although its ``config.json`` differs; the earlier results
            are moved into a ``replaced-<time>`` folder inside ``out``.
        progress_bar: show Lightning's per-epoch progress bar.
        keep_checkpoints: keep each finished cell's last checkpoint.
        checkpoint_interval_s: least time between two checkpoints of a cell; ``0``
            writes one after every epoch.
        callbacks: extra Lightning callbacks for every cell (for tests and tooling).

    Returns:
        All rows of ``folds.csv`` for the datasets of ``config`` (finished earlier or now).

    Raises:
        ConfigError: for impossible settings, a changed config without ``force``, or a
            directory in use by another run.
        DataError: if a dataset is missing or malformed (nothing is written then).
    """
    from .engine import TrainSettings, train_cell

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a directory")
    _check_device(config.device)
    datasets = _load(config)
    fingerprints = {name: _fingerprint(*loaded) for name, loaded in datasets.items()}
    plans = {name: _plan(config, data, pool) for name, (data, pool) in datasets.items()}
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"--out {out}: cannot create the directory ({error.strerror})") from None
    settings = TrainSettings(
        max_epochs=config.max_epochs,
        patience=config.patience,
        batch_size=config.batch_size,
        lr=config.lr,
        betas=tuple(config.betas),
        eps=config.eps,
        precision=config.precision,
        deterministic=config.deterministic,
        device=config.device,
        progress_bar=progress_bar,
        checkpoint_interval_s=checkpoint_interval_s,
        precise_bn=config.precise_bn,
    )
    with _locked(out):
        _prepare_directory(out, config, fingerprints, force)
        epoch_rows = _read_rows(out / EPOCHS_FILE, EPOCH_COLUMNS)
        fold_rows = _read_rows(out / FOLDS_FILE, FOLD_COLUMNS)
        done = {_cell_key(row) for row in fold_rows}
        total = len(config.datasets) * config.folds * len(config.activations)
        log.info(
            "%d cells (%d datasets x %d folds x %d activations), %d already done; results in %s",
            total,
            len(config.datasets),
            config.folds,
            len(config.activations),
            len(done),
            out,
        )
        if config.select_on == "held-out":
            log.warning(
                "select_on=held-out: the best epoch is chosen on the reported fold (the "
                "paper's protocol); held-out numbers are optimistic"
            )
        number = 0
        for dataset, (data, _) in datasets.items():
            for fold, splits in enumerate(plans[dataset], start=1):
                train, val, test = splits.train, splits.val, splits.test
                for activation in config.activations:
                    number += 1
                    key = (dataset, activation, fold)
                    if key in done:
                        log.debug("cell %s already done, skipped", key)
                        continue
                    log.info(
                        "[%d/%d] %s, %s, fold %d/%d: %d train, %d val, %d held out",
                        number,
                        total,
                        dataset,
                        activation,
                        fold,
                        config.folds,
                        len(train),
                        len(val),
                        len(test),
                    )
                    cell_dir = out / CHECKPOINTS / dataset / activation / f"fold{fold}"
                    result = train_cell(
                        data,
                        activation,
                        splits,
                        settings,
                        seed=config.seed + fold,
                        checkpoint_dir=cell_dir,
                        callbacks=callbacks,
                    )
                    base = {"dataset": dataset, "activation": activation, "fold": fold}
                    # Rows of an earlier, unfinished attempt at this cell are replaced.
                    epoch_rows = [r for r in epoch_rows if _cell_key(r) != key]
                    epoch_rows.extend({**base, **row} for row in result.history)
                    row = _fold_row(
                        dataset, activation, fold, result, (len(train), len(val), len(test))
                    )
                    fold_rows.append(row)
                    write_csv_rows(out / EPOCHS_FILE, EPOCH_COLUMNS, epoch_rows)
                    write_csv_rows(out / FOLDS_FILE, FOLD_COLUMNS, fold_rows)
                    if not keep_checkpoints:
                        shutil.rmtree(cell_dir, ignore_errors=True)
                    _log_cell(row)
        if not keep_checkpoints:
            _remove_empty_dirs(out / CHECKPOINTS)
    return [row for row in fold_rows if row["dataset"] in datasets]


def _log_cell(row: dict[str, Any]) -> None:
    if row["status"] != "done":
        log.warning(
            "%s, %s, fold %s diverged at epoch %s",
            row["dataset"],
            row["activation"],
            row["fold"],
            row["stopped_epoch"],
        )
        return
    log.info(
        "%s, %s, fold %s: held-out acc %.4f, F1 %.4f, AUC %.4f (best epoch %s of %s, %.2f s/epoch)",
        row["dataset"],
        row["activation"],
        row["fold"],
        row["test_acc"],
        row["test_f1"],
        row["test_auc"],
        row["best_epoch"],
        row["stopped_epoch"],
        row["mean_epoch_time_s"],
    )


def _remove_empty_dirs(root: Path) -> None:
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    if not any(root.iterdir()):
        root.rmdir()


def _read_rows(path: Path, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Read a results file back for resuming; refuse damaged rows (naming the line)."""
    if not path.exists():
        return []
    rows = read_csv_rows(path, required=columns)
    for line, row in enumerate(rows, start=2):
        if None in row or any(row.get(column) is None for column in columns):
            raise ResultsError(f"{path}: line {line} does not have the {len(columns)} fields")
        try:
            int(row["fold"])
        except ValueError:
            raise ResultsError(
                f"{path}: line {line}: fold {row['fold']!r} is not an integer"
            ) from None
        status = row.get("status")
        if status is not None and status not in ("done", "diverged"):
            raise ResultsError(f"{path}: line {line}: unknown status {status!r}")
        if status == "done" and any(row[f"test_{m}"] == "" for m in ("loss", "acc", "f1")):
            raise ResultsError(f"{path}: line {line}: a finished cell without held-out metrics")
    return rows


def _number(value: Any) -> float:
    if value in (None, ""):
        return math.nan
    return float(value)


def format_summary(rows: Sequence[dict[str, Any]], config: RunConfig) -> str:
    """A plain-text table: mean +- std over folds of held-out accuracy, F1 and AUC (in %),
    and the mean epoch time, per dataset and activation."""
    lines = []
    title = "held-out fold at the best epoch"
    if config.select_on == "held-out":
        title += " [OPTIMISTIC: epochs selected on the held-out fold]"
    for dataset in config.datasets:
        lines.append(f"{dataset}: {title}, mean ± std over {config.folds} folds")
        header = (
            f"  {'activation':<12} {'acc %':>14} {'F1 %':>14} {'AUC %':>14} {'s/epoch':>9} folds"
        )
        lines.append(header)
        for activation in config.activations:
            cells = [r for r in rows if r["dataset"] == dataset and r["activation"] == activation]
            good = [r for r in cells if r["status"] == "done"]
            parts = [f"  {activation:<12}"]
            for metric in ("test_acc", "test_f1", "test_auc"):
                values = [100 * _number(r[metric]) for r in good]
                values = [v for v in values if math.isfinite(v)]
                if not values:
                    parts.append(f"{'n/a':>14}")
                    continue
                spread = statistics.stdev(values) if len(values) > 1 else 0.0
                parts.append(f"{statistics.fmean(values):>7.2f} ± {spread:<5.2f}")
            times = [_number(r["mean_epoch_time_s"]) for r in cells]
            times = [t for t in times if math.isfinite(t)]
            parts.append(f"{statistics.fmean(times):>9.2f}" if times else f"{'n/a':>9}")
            diverged = len(cells) - len(good)
            note = f" ({diverged} diverged)" if diverged else ""
            parts.append(f" {len(good)}/{config.folds}{note}")
            lines.append(" ".join(parts))
    return "\n".join(lines)
