"""MIT-BIH Arrhythmia heartbeats in five AAMI classes: N, S, V, F and Q.

Two sources give the same samples, so that one model fits both: float32 beats of
shape ``(1, 1, 187)``, 187 samples at 125 Hz with values in [0, 1], which ResNet-34
reads as a one-channel 1x187 image (as in the DSReLU paper).

Kaggle CSVs ("ECG Heartbeat Categorization", Kachuee et al. 2018)
    ``mitbih_train.csv`` and ``mitbih_test.csv``: no header, one beat per row, 187
    values then the label as a float, 0.0-4.0 for N, S, V, F, Q. When a folder holds
    files named ``mitbih_*.csv`` only those are read (the Kaggle download also holds
    the PTB database's ``ptbdb_*.csv``); otherwise every ``*.csv`` in it is. The files
    are merged into one set for k-fold, train files first.

PhysioNet WFDB records (``.hea``, ``.dat`` and ``.atr`` per record, read with wfdb)
    Every record with a header in the folder is read; its ``.atr`` file must exist.
    The rule that turns a record into beats:

    1. The MLII lead is resampled to 125 Hz (polyphase filter).
    2. Each reference annotation whose symbol is a beat of an AAMI class is one beat:
       N (``N L R e j``), S (``A a J S``), V (``V E``), F (``F``), Q (``/ f Q``). Any
       other symbol (rhythm changes ``+``, noise ``~``, artefacts ``|``, comments
       ``"``, non-conducted P waves ``x``, flutter waves ``!`` and so on) is skipped.
    3. The window runs from 0.4 s before to 0.8 s after the R peak: 50 + 100 = 150
       samples at 125 Hz, with the R peak at index 50. A beat whose window leaves the
       record (or covers invalid samples) is dropped.
    4. Each window is min-max scaled to [0, 1] (a flat window becomes zeros), like
       the amplitude scaling of the Kaggle rows, and zero-padded at the end to 187.

    Records without an MLII lead (102 and 104 in MIT-BIH) are skipped with a
    warning, never silently, and are named in ``source``; if no record has MLII,
    loading fails.

The inputs are used as they are: ``mean`` is ``(0.0,)`` and ``std`` ``(1.0,)``, so
:meth:`~dsrelu.data.base.LoadedDataset.prepare` leaves the [0, 1] values unchanged.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from .base import LoadedDataset, as_path

__all__ = [
    "AAMI_CLASSES",
    "AFTER_R_SAMPLES",
    "BEFORE_R_SAMPLES",
    "CLASS_NAMES",
    "DESCRIPTION",
    "FOLDER_NAMES",
    "LEAD",
    "SAMPLE_RATE_HZ",
    "SIGNAL_LENGTH",
    "find_mitbih",
    "load_mitbih",
    "load_mitbih_csv",
    "load_mitbih_records",
]

log = logging.getLogger(__name__)

#: The AAMI classes, in label order (Kaggle label 0.0 is N, ..., 4.0 is Q).
CLASS_NAMES = ("N", "S", "V", "F", "Q")
#: Samples per beat, as in the Kaggle CSVs.
SIGNAL_LENGTH = 187
#: Sampling rate of the beats.
SAMPLE_RATE_HZ = 125
#: The lead beats are cut from in WFDB records.
LEAD = "MLII"
#: Samples (at 125 Hz) kept before the R peak: 0.4 s.
BEFORE_R_SAMPLES = 50
#: Samples (at 125 Hz) kept from the R peak on: 0.8 s.
AFTER_R_SAMPLES = 100
#: Beat annotation symbol -> AAMI class name; every other symbol is skipped.
AAMI_CLASSES: dict[str, str] = {
    **dict.fromkeys(("N", "L", "R", "e", "j"), "N"),
    **dict.fromkeys(("A", "a", "J", "S"), "S"),
    **dict.fromkeys(("V", "E"), "V"),
    "F": "F",
    **dict.fromkeys(("/", "f", "Q"), "Q"),
}
#: Sub-folder names of ``data_dir`` searched for the dataset.
FOLDER_NAMES = ("mitbih", "mitdb", "mit-bih-arrhythmia-database-1.0.0")
#: One line for ``dsrelu datasets``.
DESCRIPTION = (
    "MIT-BIH Arrhythmia heartbeats, 5 AAMI classes (N, S, V, F, Q), 1x187 signals "
    "(Kaggle CSVs or WFDB records)"
)

_COLUMNS = SIGNAL_LENGTH + 1
_LABELS = tuple(float(label) for label in range(len(CLASS_NAMES)))
_LAYOUT = (
    "the Kaggle CSVs (mitbih_train.csv, mitbih_test.csv: 187 values and a label "
    "0.0-4.0 per row, no header) or PhysioNet WFDB records (.hea, .dat and .atr files)"
)


def _csv_files(folder: Path) -> list[Path]:
    files = sorted(folder.glob("mitbih_*.csv")) or sorted(folder.glob("*.csv"))
    return sorted((p for p in files if p.is_file()), key=lambda p: ("test" in p.name, p.name))


def _record_names(folder: Path) -> list[str]:
    return sorted(path.stem for path in folder.glob("*.hea") if path.is_file())


def find_mitbih(root: str | os.PathLike[str]) -> Path | None:
    """Return where MIT-BIH data lie at or below ``root``: a CSV file or a folder.

    A folder counts when it holds CSV files or WFDB headers (see the module notes);
    their content is checked on loading.

    Args:
        root: A CSV file, the dataset folder, or a folder containing it under one of
            the names in :data:`FOLDER_NAMES` or a name starting with ``mitbih``.

    Returns:
        The CSV file or folder, or ``None``.
    """
    root = as_path(root)
    if root.is_file():
        return root if root.suffix.lower() == ".csv" else None
    named = [root / name for name in FOLDER_NAMES]
    prefixed = sorted(p for p in root.glob("mitbih*") if p.is_dir() and p not in named)
    for folder in (root, *named, *prefixed):
        if folder.is_dir() and (_csv_files(folder) or _record_names(folder)):
            return folder
    return None


def _first_problem(path: Path) -> str | None:
    """Scan ``path`` line by line; describe the first malformed row, or ``None``."""
    with path.open(encoding="utf-8", errors="replace") as stream:
        for line_number, line in enumerate(stream, start=1):
            text = line.strip()
            if not text:
                continue
            fields = text.split(",")
            where = f"{path} line {line_number}"
            if len(fields) != _COLUMNS:
                return (
                    f"{where}: expected {_COLUMNS} comma-separated values "
                    f"({SIGNAL_LENGTH} samples and a label), got {len(fields)}"
                )
            for column, field in enumerate(fields, start=1):
                try:
                    value = float(field)
                except ValueError:
                    return f"{where}, column {column}: {field.strip()!r} is not a number"
                if not math.isfinite(value):
                    return f"{where}, column {column}: {field.strip()!r} is not a finite number"
            if float(fields[-1]) not in _LABELS:
                return (
                    f"{where}: label {fields[-1].strip()!r} is not one of 0.0, 1.0, 2.0, "
                    f"3.0, 4.0 ({', '.join(CLASS_NAMES)})"
                )
    return None


def _read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one Kaggle-layout CSV; return float32 signals ``(n, 187)`` and int64 labels."""
    import pandas as pd

    values = None
    reason = "unknown problem"
    try:
        frame = pd.read_csv(path, header=None, dtype=np.float64, skip_blank_lines=True)
        values = frame.to_numpy()
    except pd.errors.EmptyDataError:
        raise DataError(f"mitbih: {path} holds no rows; expected {_LAYOUT}") from None
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        reason = str(error)
    except OSError as error:
        raise DataError(f"mitbih: cannot read {path}: {error}") from error
    if (
        values is None
        or values.shape[1] != _COLUMNS
        or not np.isfinite(values).all()
        or not np.isin(values[:, -1], _LABELS).all()
    ):
        problem = _first_problem(path)
        raise DataError(f"mitbih: {problem or f'{path} is malformed: {reason}'}")
    return values[:, :SIGNAL_LENGTH].astype(np.float32), values[:, -1].astype(np.int64)


def load_mitbih_csv(path: str | os.PathLike[str]) -> LoadedDataset:
    """Load Kaggle-layout MIT-BIH CSVs, all files of a folder merged into one set.

    Args:
        path: One CSV file, or a folder (see the module notes for which files count).

    Returns:
        A :class:`~dsrelu.data.base.LoadedDataset` with float32 inputs of shape
        ``(N, 1, 1, 187)`` and int64 targets 0-4 (N, S, V, F, Q).

    Raises:
        DataError: If there is no CSV file, a file holds no rows, or a row has the
            wrong number of values, a value that is not a finite number, or a label
            that is not 0.0-4.0; the message names the file and line.
    """
    path = as_path(path)
    files = [path] if path.is_file() else _csv_files(path)
    if not files:
        raise DataError(f"mitbih: no CSV files in {path}; expected {_LAYOUT}")
    signals, labels, parts = [], [], []
    for file in files:
        file_signals, file_labels = _read_csv(file)
        log.info("mitbih: read %d beats from %s", len(file_labels), file)
        signals.append(file_signals)
        labels.append(file_labels)
        parts.append(f"{file.name} ({len(file_labels)} beats)")
    merged = " and ".join(parts) + (" merged into one set for k-fold" if len(files) > 1 else "")
    folder = path if path.is_dir() else path.parent
    return _dataset(
        np.concatenate(signals), np.concatenate(labels), f"Kaggle CSVs at {folder}: {merged}"
    )


def _resample(signal: np.ndarray, sample_rate_hz: float) -> np.ndarray:
    """Resample one lead to :data:`SAMPLE_RATE_HZ` with a polyphase filter."""
    from scipy.signal import resample_poly

    ratio = Fraction(SAMPLE_RATE_HZ) / Fraction(sample_rate_hz).limit_denominator(1000)
    if ratio == 1:
        return signal
    return resample_poly(signal, ratio.numerator, ratio.denominator, padtype="line")


def _cut_beats(
    signal: np.ndarray, sample_rate_hz: float, samples: np.ndarray, symbols: list[str]
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Cut the annotated beats of one lead; return beats, labels, #skipped, #dropped."""
    resampled = _resample(np.asarray(signal, dtype=np.float64), sample_rate_hz)
    width = BEFORE_R_SAMPLES + AFTER_R_SAMPLES
    beats, labels = [], []
    skipped = dropped = 0
    for sample, symbol in zip(samples, symbols, strict=True):
        aami = AAMI_CLASSES.get(symbol)
        if aami is None:
            skipped += 1
            continue
        peak = int(round(float(sample) * SAMPLE_RATE_HZ / sample_rate_hz))
        start = peak - BEFORE_R_SAMPLES
        window = resampled[start : start + width]
        if start < 0 or len(window) != width or not np.isfinite(window).all():
            dropped += 1
            continue
        beat = np.zeros(SIGNAL_LENGTH, dtype=np.float32)
        low, high = window.min(), window.max()
        if high > low:
            beat[:width] = (window - low) / (high - low)
        beats.append(beat)
        labels.append(CLASS_NAMES.index(aami))
    stacked = np.stack(beats) if beats else np.zeros((0, SIGNAL_LENGTH), dtype=np.float32)
    return stacked, np.asarray(labels, dtype=np.int64), skipped, dropped


def load_mitbih_records(folder: str | os.PathLike[str]) -> LoadedDataset:
    """Cut AAMI-labelled beats out of the PhysioNet WFDB records of a folder.

    See the module notes for the rule (MLII lead, 125 Hz, 0.4 s before to 0.8 s after
    the R peak, per-beat min-max scaling, zero padding to 187 samples).

    Args:
        folder: The folder with the ``.hea``, ``.dat`` and ``.atr`` files.

    Returns:
        A :class:`~dsrelu.data.base.LoadedDataset` with float32 inputs of shape
        ``(N, 1, 1, 187)`` and int64 targets 0-4 (N, S, V, F, Q).

    Raises:
        DataError: If the folder holds no record, a record lacks its ``.atr`` file or
            cannot be read, no record has an MLII lead, or no beat is left.

    Warns:
        UserWarning: For each record without an MLII lead (it is skipped).
    """
    import wfdb

    folder = as_path(folder)
    names = _record_names(folder)
    if not names:
        raise DataError(f"mitbih: no WFDB records (*.hea) in {folder}; expected {_LAYOUT}")
    signals, labels, used, without_lead = [], [], [], []
    for number, name in enumerate(names, start=1):
        base = folder / name
        if not (folder / f"{name}.atr").is_file():
            raise DataError(f"mitbih: record {name} in {folder} has no annotation file {name}.atr")
        try:
            leads = list(wfdb.rdheader(str(base)).sig_name or [])
        except Exception as error:  # wfdb raises many kinds for damaged files
            raise DataError(f"mitbih: cannot read header {base}.hea: {error}") from error
        if LEAD not in leads:
            without_lead.append(f"{name} ({', '.join(leads) or 'no leads'})")
            warnings.warn(
                f"mitbih: record {name} in {folder} has no {LEAD} lead "
                f"(leads: {', '.join(leads) or 'none'}); it is skipped",
                stacklevel=2,
            )
            continue
        try:
            record = wfdb.rdrecord(str(base), channels=[leads.index(LEAD)])
            annotation = wfdb.rdann(str(base), "atr")
        except Exception as error:  # wfdb raises many kinds for damaged files
            raise DataError(
                f"mitbih: cannot read record {name} in {folder} (.hea/.dat/.atr): {error}"
            ) from error
        beats, beat_labels, skipped, dropped = _cut_beats(
            record.p_signal[:, 0], float(record.fs), annotation.sample, annotation.symbol
        )
        log.info(
            "mitbih: record %s (%d/%d): %d beats; %d non-beat annotations skipped, "
            "%d beats dropped at the edges",
            name,
            number,
            len(names),
            len(beat_labels),
            skipped,
            dropped,
        )
        signals.append(beats)
        labels.append(beat_labels)
        used.append(name)
    if not used:
        raise DataError(
            f"mitbih: no record in {folder} has an {LEAD} lead (records: {'; '.join(without_lead)})"
        )
    all_labels = np.concatenate(labels)
    if not len(all_labels):
        raise DataError(
            f"mitbih: the records in {folder} hold no AAMI beat whose window "
            f"({BEFORE_R_SAMPLES} samples before to {AFTER_R_SAMPLES} after the R peak at "
            f"{SAMPLE_RATE_HZ} Hz) lies inside the record"
        )
    source = (
        f"WFDB records at {folder}: {len(used)} records ({', '.join(used)}), lead {LEAD} "
        f"at {SAMPLE_RATE_HZ} Hz, beats from 0.4 s before to 0.8 s after each annotated R "
        f"peak, min-max scaled per beat and zero-padded to {SIGNAL_LENGTH} samples"
    )
    if without_lead:
        source += f"; skipped records without {LEAD}: {'; '.join(without_lead)}"
    return _dataset(np.concatenate(signals), all_labels, source)


def load_mitbih(root: str | os.PathLike[str]) -> LoadedDataset:
    """Load MIT-BIH beats from Kaggle CSVs or, when there are none, WFDB records.

    Args:
        root: A CSV file, the dataset folder, or a folder containing it (see
            :func:`find_mitbih`).

    Returns:
        A :class:`~dsrelu.data.base.LoadedDataset` with float32 inputs of shape
        ``(N, 1, 1, 187)`` and int64 targets 0-4 (N, S, V, F, Q).

    Raises:
        DataError: If no data are found or they are malformed; see
            :func:`load_mitbih_csv` and :func:`load_mitbih_records`.
    """
    root = as_path(root)
    found = find_mitbih(root)
    if found is None:
        raise DataError(f"mitbih: no MIT-BIH data at {root}; expected {_LAYOUT}")
    if found.is_file() or _csv_files(found):
        if found.is_dir() and _record_names(found):
            log.info("mitbih: %s holds CSVs and WFDB records; reading the CSVs", found)
        return load_mitbih_csv(found)
    return load_mitbih_records(found)


def _dataset(signals: np.ndarray, labels: np.ndarray, source: str) -> LoadedDataset:
    inputs = torch.from_numpy(np.ascontiguousarray(signals, dtype=np.float32))
    log.info("mitbih: %s", source)
    return LoadedDataset(
        name="mitbih",
        inputs=inputs.reshape(-1, 1, 1, SIGNAL_LENGTH),
        targets=torch.from_numpy(labels.astype(np.int64)),
        class_names=CLASS_NAMES,
        mean=(0.0,),
        std=(1.0,),
        source=source,
    )
