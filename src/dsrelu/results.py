"""The files a comparison run writes, and safe ways to write and read them.

A run directory holds ``config.json`` (every setting), ``epochs.csv`` (one row per
dataset, activation, fold and epoch) and ``folds.csv`` (one row per dataset, activation
and fold). Files are replaced atomically: a crash leaves the previous complete version,
never a half-written one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import ResultsError

__all__ = [
    "CONFIG_FILE",
    "EPOCHS_FILE",
    "EPOCH_COLUMNS",
    "FOLDS_FILE",
    "FOLD_COLUMNS",
    "METRICS",
    "SPLITS",
    "atomic_write_text",
    "read_csv_rows",
    "read_config",
    "write_csv_rows",
]

CONFIG_FILE = "config.json"
EPOCHS_FILE = "epochs.csv"
FOLDS_FILE = "folds.csv"

#: The metrics recorded for every split, in column order.
METRICS = ("loss", "acc", "f1", "auc")
#: ``train`` and ``val`` every epoch; ``test`` is the held-out fold, at the best epoch.
SPLITS = ("train", "val", "test")

_KEYS = ("dataset", "activation", "fold")

EPOCH_COLUMNS: tuple[str, ...] = (
    *_KEYS,
    "epoch",
    *(f"{split}_{metric}" for split in ("train", "val") for metric in METRICS),
    "epoch_time_s",
    "slope",
)

FOLD_COLUMNS: tuple[str, ...] = (
    *_KEYS,
    "status",
    "best_epoch",
    "stopped_epoch",
    *(f"{split}_{metric}" for split in SPLITS for metric in METRICS),
    "mean_epoch_time_s",
    "n_train",
    "n_val",
    "n_test",
)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file whole.

    The text goes to a temporary file in the same directory, is flushed to disk and
    then renamed over ``path``.
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o666 & ~_umask())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_csv_rows(
    path: str | os.PathLike[str], columns: Iterable[str], rows: Iterable[Mapping[str, Any]]
) -> None:
    """Atomically write ``rows`` as CSV with a header of ``columns``.

    ``None`` and NaN values are written as empty fields; floats keep full precision.
    """
    columns = tuple(columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _format_value(row.get(key)) for key in columns})
    atomic_write_text(path, buffer.getvalue())


def _format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if value != value else repr(value)
    return str(value)


def read_csv_rows(
    path: str | os.PathLike[str], required: Iterable[str] = ()
) -> list[dict[str, str]]:
    """Read a CSV file written by :func:`write_csv_rows` as a list of string dicts.

    Raises:
        ResultsError: if the file is missing or lacks one of the ``required`` columns.
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [column for column in required if column not in header]
            if missing:
                raise ResultsError(f"{path}: missing column(s) {', '.join(missing)}")
            return list(reader)
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise ResultsError(f"{path}: not a readable CSV file ({error})") from None


def read_config(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``config.json`` from a run directory.

    Raises:
        ResultsError: if the file is missing or is not a JSON object.
    """
    path = Path(run_dir) / CONFIG_FILE
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file; is {run_dir} a dsrelu run directory?") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultsError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(config, dict):
        raise ResultsError(f"{path}: expected a JSON object, got {type(config).__name__}")
    return config
