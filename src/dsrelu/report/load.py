"""Read a run directory into memory and check that it is one.

A run directory is what ``dsrelu run`` writes: ``config.json``, ``folds.csv`` and
``epochs.csv`` (see :mod:`dsrelu.results`). :func:`load_run` reads them, turns the
numeric fields into floats and checks every key, so that the report code downstream
can trust what it gets.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ResultsError
from ..results import (
    EPOCHS_FILE,
    FOLDS_FILE,
    METRICS,
    SPLITS,
    read_config,
    read_csv_rows,
)

__all__ = [
    "DIVERGED",
    "DONE",
    "HELD_OUT",
    "INNER",
    "MISSING",
    "REFERENCE",
    "RunData",
    "load_run",
]

log = logging.getLogger(__name__)

#: Status of a (dataset, activation, fold) cell that finished training.
DONE = "done"
#: Status of a cell whose training diverged; its numbers are never reported.
DIVERGED = "diverged"
#: Status of a cell that has no row in ``folds.csv`` (an incomplete run).
MISSING = "missing"

#: ``select_on`` value of the honest protocol: early stopping on an inner split.
INNER = "inner"
#: ``select_on`` value of the paper's protocol: early stopping on the reported fold.
HELD_OUT = "held-out"

#: The activation the report compares against all others.
REFERENCE = "dsrelu"

_KEYS = ("dataset", "activation", "fold")
_FOLD_NUMBERS = (
    *(f"{split}_{metric}" for split in SPLITS for metric in METRICS),
    "mean_epoch_time_s",
)
_FOLD_REQUIRED = (*_KEYS, "status", *_FOLD_NUMBERS)
_EPOCH_NUMBERS = (
    *(f"{split}_{metric}" for split in ("train", "val") for metric in METRICS),
    "epoch_time_s",
)
_EPOCH_REQUIRED = (*_KEYS, "epoch", *_EPOCH_NUMBERS)


@dataclass(frozen=True)
class RunData:
    """The contents of a run directory, checked and typed.

    Attributes:
        run_dir: The run directory.
        config: ``config.json`` as read.
        select_on: ``"inner"`` (honest) or ``"held-out"`` (the paper's protocol).
        k: Number of folds.
        datasets: Datasets in run order.
        activations: Activations in run order (the table columns).
        folds: One row per cell present in ``folds.csv``: the key columns, ``status``
            and float columns for every metric and ``mean_epoch_time_s`` (NaN where
            the file has an empty field).
        epochs: One row per epoch from ``epochs.csv``, or ``None`` when the file is
            absent.
        cells: The rows of ``folds`` keyed by ``(dataset, activation, fold)``.
    """

    run_dir: Path
    config: Mapping[str, Any]
    select_on: str
    k: int
    datasets: tuple[str, ...]
    activations: tuple[str, ...]
    folds: pd.DataFrame
    epochs: pd.DataFrame | None
    cells: Mapping[tuple[str, str, int], Mapping[str, Any]] = field(repr=False)

    @property
    def optimistic(self) -> bool:
        """Whether models were selected on the fold that is reported (the paper's way)."""
        return self.select_on == HELD_OUT

    def cell(self, dataset: str, activation: str, fold: int) -> Mapping[str, Any] | None:
        """Return the ``folds.csv`` row of one cell, or ``None`` if the cell is missing."""
        return self.cells.get((dataset, activation, fold))

    def status(self, dataset: str, activation: str, fold: int) -> str:
        """Return ``"done"``, ``"diverged"`` or ``"missing"`` for one cell."""
        row = self.cell(dataset, activation, fold)
        return MISSING if row is None else str(row["status"])

    def fold_value(self, dataset: str, activation: str, fold: int, column: str) -> float:
        """Return one number of a finished cell; NaN if it diverged, is missing or empty."""
        row = self.cell(dataset, activation, fold)
        if row is None or row["status"] != DONE:
            return math.nan
        return float(row[column])

    def fold_values(self, dataset: str, activation: str, column: str) -> list[float]:
        """Return :meth:`fold_value` for folds 1..k, in fold order."""
        return [self.fold_value(dataset, activation, fold, column) for fold in range(1, self.k + 1)]


def load_run(run_dir: str | os.PathLike[str]) -> RunData:
    """Read and check a run directory.

    Args:
        run_dir: A directory written by ``dsrelu run``.

    Returns:
        The checked contents. ``epochs`` is ``None`` when ``epochs.csv`` is absent (the
        report then has no learning curves and says so).

    Raises:
        ResultsError: if the directory is missing or not a run directory (no
            ``config.json`` or ``folds.csv``), or a file lacks a column, holds a value
            that is not a number where one is expected, a fold outside 1..k, an
            unknown status or a cell twice. The message names the file and the value.
    """
    path = Path(run_dir)
    if not path.exists():
        raise ResultsError(f"{path}: no such directory")
    if not path.is_dir():
        raise ResultsError(f"{path}: not a directory; expected a dsrelu run directory")
    config = read_config(path)
    select_on = _config_select_on(config, path)
    k = _config_folds(config, path)

    folds_path = path / FOLDS_FILE
    if not folds_path.is_file():
        raise ResultsError(f"{folds_path}: no such file; is {path} a dsrelu run directory?")
    folds = _parse_folds(folds_path, read_csv_rows(folds_path, _FOLD_REQUIRED), k)

    epochs_path = path / EPOCHS_FILE
    epochs: pd.DataFrame | None = None
    if epochs_path.is_file():
        epochs = _parse_epochs(epochs_path, read_csv_rows(epochs_path, _EPOCH_REQUIRED), k)
    else:
        log.warning("%s: no such file; the report will have no learning curves", epochs_path)

    datasets = _ordered(config.get("datasets"), "datasets", path, folds["dataset"], epochs)
    activations = _ordered(
        config.get("activations"), "activations", path, folds["activation"], epochs
    )
    return RunData(
        run_dir=path,
        config=config,
        select_on=select_on,
        k=k,
        datasets=datasets,
        activations=activations,
        folds=folds,
        epochs=epochs,
        cells={
            (row["dataset"], row["activation"], int(row["fold"])): row
            for row in folds.to_dict("records")
        },
    )


def _config_select_on(config: Mapping[str, Any], run_dir: Path) -> str:
    value = config.get("select_on")
    if value not in (INNER, HELD_OUT):
        raise ResultsError(
            f"{run_dir / 'config.json'}: field 'select_on' must be {INNER!r} or "
            f"{HELD_OUT!r}, got {value!r}"
        )
    return str(value)


def _config_folds(config: Mapping[str, Any], run_dir: Path) -> int:
    value = config.get("folds")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ResultsError(
            f"{run_dir / 'config.json'}: field 'folds' must be a positive integer, got {value!r}"
        )
    return value


def _ordered(
    declared: Any,
    field_name: str,
    run_dir: Path,
    seen: Iterable[str],
    epochs: pd.DataFrame | None,
) -> tuple[str, ...]:
    """Names in config order, then any further names found in the files, in file order.

    The config's list only sets the order; one that is not a list of names is ignored
    with a warning.
    """
    names: list[str] = []
    if isinstance(declared, list) and all(isinstance(name, str) for name in declared):
        names = list(dict.fromkeys(declared))
    elif declared is not None:
        log.warning(
            "%s: field %r is not a list of names (%r); using the order of the result files",
            run_dir / "config.json",
            field_name,
            declared,
        )
    column = "dataset" if field_name == "datasets" else "activation"
    extra = list(seen)
    if epochs is not None:
        extra += list(epochs[column])
    for name in dict.fromkeys(extra):
        if name not in names:
            names.append(name)
    return tuple(names)


def _number(text: str | None, path: Path, line: int, column: str) -> float:
    if text is None or text.strip() == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise ResultsError(
            f"{path}: line {line}: column {column!r}: expected a number, got {text!r}"
        ) from None


def _fold_number(text: str | None, path: Path, line: int, k: int) -> int:
    try:
        fold = int(text)
    except (TypeError, ValueError):
        raise ResultsError(
            f"{path}: line {line}: column 'fold': expected an integer, got {text!r}"
        ) from None
    if not 1 <= fold <= k:
        raise ResultsError(
            f"{path}: line {line}: column 'fold': expected 1..{k} (config 'folds'), got {fold}"
        )
    return fold


def _names(row: Mapping[str, str], path: Path, line: int) -> tuple[str, str]:
    dataset = (row.get("dataset") or "").strip()
    activation = (row.get("activation") or "").strip()
    for column, value in (("dataset", dataset), ("activation", activation)):
        if not value:
            raise ResultsError(f"{path}: line {line}: column {column!r} is empty")
    return dataset, activation


def _parse_folds(path: Path, rows: list[dict[str, str]], k: int) -> pd.DataFrame:
    records = []
    seen: set[tuple[str, str, int]] = set()
    for number, row in enumerate(rows, start=2):
        dataset, activation = _names(row, path, number)
        fold = _fold_number(row["fold"], path, number, k)
        key = (dataset, activation, fold)
        if key in seen:
            raise ResultsError(
                f"{path}: line {number}: dataset {dataset!r}, activation {activation!r}, "
                f"fold {fold} appears twice"
            )
        seen.add(key)
        status = (row["status"] or "").strip()
        if status not in (DONE, DIVERGED):
            raise ResultsError(
                f"{path}: line {number}: column 'status': expected {DONE!r} or "
                f"{DIVERGED!r}, got {row['status']!r}"
            )
        record: dict[str, Any] = {
            "dataset": dataset,
            "activation": activation,
            "fold": fold,
            "status": status,
        }
        for column in _FOLD_NUMBERS:
            record[column] = _number(row[column], path, number, column)
        records.append(record)
    return pd.DataFrame.from_records(records, columns=list(_FOLD_REQUIRED))


def _parse_epochs(path: Path, rows: list[dict[str, str]], k: int) -> pd.DataFrame:
    records = []
    for number, row in enumerate(rows, start=2):
        dataset, activation = _names(row, path, number)
        record: dict[str, Any] = {
            "dataset": dataset,
            "activation": activation,
            "fold": _fold_number(row["fold"], path, number, k),
        }
        epoch = _number(row["epoch"], path, number, "epoch")
        if not (epoch >= 1 and float(epoch).is_integer()):
            raise ResultsError(
                f"{path}: line {number}: column 'epoch': expected an integer >= 1, "
                f"got {row['epoch']!r}"
            )
        record["epoch"] = int(epoch)
        for column in _EPOCH_NUMBERS:
            record[column] = _number(row[column], path, number, column)
        records.append(record)
    return pd.DataFrame.from_records(records, columns=list(_EPOCH_REQUIRED))
