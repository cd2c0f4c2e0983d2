"""Tests for the MIT-BIH loader: Kaggle CSVs, WFDB records and the real sample."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from dsrelu.data import load_dataset
from dsrelu.data.mitbih import load_mitbih_records
from dsrelu.errors import DataError

# wfdb calls pandas in ways that pandas has deprecated; that is wfdb's business.
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning")

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "mitbih-kaggle-sample"

# The AAMI mapping, written out again here so the test does not trust the code's table.
AAMI = {
    "N": 0, "L": 0, "R": 0, "e": 0, "j": 0,
    "A": 1, "a": 1, "J": 1, "S": 1,
    "V": 2, "E": 2,
    "F": 3,
    "/": 4, "f": 4, "Q": 4,
}  # fmt: skip
FS = 360
SECONDS = 10.0


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def _write_rows(path: Path, signals: np.ndarray, labels: list[float]) -> None:
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        for signal, label in zip(signals, labels, strict=True):
            writer.writerow([repr(float(v)) for v in signal] + [repr(float(label))])


def _random_rows(rng: np.random.Generator, labels: list[float]) -> np.ndarray:
    return rng.random((len(labels), 187))


def test_kaggle_csvs_are_merged(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    train_labels = [0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 0.0]
    test_labels = [4.0, 2.0, 0.0]
    train = _random_rows(rng, train_labels)
    test = _random_rows(rng, test_labels)
    _write_rows(tmp_path / "mitbih_test.csv", test, test_labels)
    _write_rows(tmp_path / "mitbih_train.csv", train, train_labels)
    # The Kaggle download also ships PTB files with 0/1 labels; they must be ignored.
    _write_rows(tmp_path / "ptbdb_normal.csv", _random_rows(rng, [1.0]), [1.0])

    data = load_dataset("mitbih", tmp_path)

    assert data.name == "mitbih"
    assert data.inputs.shape == (10, 1, 1, 187)
    assert data.inputs.dtype == torch.float32
    assert data.targets.dtype == torch.int64
    expected = np.concatenate([train, test]).astype(np.float32)
    np.testing.assert_array_equal(data.inputs.reshape(10, 187).numpy(), expected)
    assert data.targets.tolist() == [int(v) for v in train_labels + test_labels]
    assert data.class_names == ("N", "S", "V", "F", "Q")
    assert (data.num_classes, data.in_channels, data.input_shape) == (5, 1, (1, 1, 187))
    assert data.mean == (0.0,) and data.std == (1.0,)
    assert "merged" in data.source and "mitbih_train.csv" in data.source
    assert torch.equal(data.prepare(data.inputs[:2]), data.inputs[:2])


def test_any_csv_name_and_a_single_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    labels = [3.0, 3.0, 1.0]
    _write_rows(tmp_path / "beats.csv", _random_rows(rng, labels), labels)

    from_folder = load_dataset("mitbih", tmp_path)
    from_file = load_dataset("mitbih", tmp_path / "beats.csv")

    assert from_folder.targets.tolist() == [3, 3, 1]
    assert torch.equal(from_file.inputs, from_folder.inputs)


def test_folder_below_data_dir_is_found(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    (tmp_path / "mitbih").mkdir()
    _write_rows(tmp_path / "mitbih" / "mitbih_train.csv", _random_rows(rng, [2.0]), [2.0])

    data = load_dataset("mitbih", tmp_path)

    assert data.targets.tolist() == [2]


def _good_line(value: str = "0.5", label: str = "0.0", count: int = 187) -> str:
    return ",".join([value] * count + [label])


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        (_good_line(label="5.0"), r"line 2: label '5\.0' is not one of"),
        (_good_line(label="1.5"), r"line 2: label '1\.5' is not one of"),
        (_good_line(label="-1.0"), r"line 2: label '-1\.0'"),
        (_good_line(count=186), r"line 2: expected 188 comma-separated values .* got 187"),
        (_good_line(count=190), r"line 2: expected 188 .* got 191"),
        (_good_line().replace("0.5", "abc", 1), r"line 2, column 1: 'abc' is not a number"),
        (_good_line().replace("0.5", "nan", 1), r"line 2, column 1: 'nan' is not a finite"),
        (_good_line(label=""), r"line 2, column 188: '' is not a number"),
    ],
)
def test_malformed_rows_name_file_and_line(tmp_path: Path, bad_line: str, message: str) -> None:
    path = tmp_path / "mitbih_train.csv"
    path.write_text("\n".join([_good_line(), bad_line, _good_line(label="2.0")]) + "\n")
    before = _snapshot(tmp_path)

    with pytest.raises(DataError, match=rf"mitbih_train\.csv {message}"):
        load_dataset("mitbih", tmp_path)

    assert _snapshot(tmp_path) == before


def test_header_row_is_rejected_at_line_1(tmp_path: Path) -> None:
    path = tmp_path / "mitbih_train.csv"
    header = ",".join([f"c{i}" for i in range(187)] + ["label"])
    path.write_text(header + "\n" + _good_line() + "\n")

    with pytest.raises(DataError, match=r"line 1, column 1: 'c0' is not a number"):
        load_dataset("mitbih", tmp_path)


def test_blank_lines_do_not_shift_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "mitbih_train.csv"
    path.write_text(_good_line() + "\n\n" + _good_line(label="7.0") + "\n")

    with pytest.raises(DataError, match=r"line 3: label '7\.0'"):
        load_dataset("mitbih", tmp_path)


def test_empty_csv_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "mitbih_train.csv").write_text("")

    with pytest.raises(DataError, match=r"mitbih_train\.csv holds no rows"):
        load_dataset("mitbih", tmp_path)


def test_folder_without_data_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("nothing here")

    with pytest.raises(DataError, match=r"no MIT-BIH data at .*Kaggle CSVs"):
        load_dataset("mitbih", tmp_path)


def test_image_size_is_ignored_with_a_warning(tmp_path: Path) -> None:
    _write_rows(tmp_path / "mitbih_train.csv", np.zeros((1, 187)), [0.0])

    with pytest.warns(UserWarning, match="image_size=64 does not apply"):
        data = load_dataset("mitbih", tmp_path, image_size=64)

    assert data.input_shape == (1, 1, 187)


# --- WFDB records -------------------------------------------------------------------

# (sample at 360 Hz, symbol): non-beat symbols, and beats too close to either end.
ANNOTATIONS = [
    (72, "N"),  # 0.2 s: the window would start before the record
    (300, "+"),
    (500, "N"),
    (800, "A"),
    (1100, "~"),
    (1300, "V"),
    (1600, "L"),
    (1900, "F"),
    (2200, "/"),
    (2500, "x"),
    (2700, "E"),
    (3000, "j"),
    (3200, "|"),
    (3500, "V"),  # 9.72 s: the window would run past the 10 s record
]


def _expected_beats(annotations: list[tuple[int, str]]) -> list[int]:
    """Labels of the beats that the documented rule keeps (0.4 s before, 0.8 s after)."""
    kept = []
    for sample, symbol in annotations:
        seconds = sample / FS
        if symbol in AAMI and seconds - 0.4 >= 0 and seconds + 0.8 <= SECONDS:
            kept.append(AAMI[symbol])
    return kept


def _write_record(
    folder: Path, name: str, leads: list[str], annotations: list[tuple[int, str]]
) -> None:
    import wfdb

    rng = np.random.default_rng(3)
    time_s = np.arange(int(FS * SECONDS)) / FS
    signal = 0.05 * np.sin(2 * np.pi * 0.3 * time_s) + 0.01 * rng.standard_normal(len(time_s))
    for sample, symbol in annotations:
        if symbol in AAMI:  # an R wave at every beat, none at the other annotations
            signal += 2.0 * np.exp(-0.5 * ((time_s - sample / FS) / 0.02) ** 2)
    signals = np.stack([signal, 0.5 * signal], axis=1)
    wfdb.wrsamp(
        name,
        fs=FS,
        units=["mV", "mV"],
        sig_name=leads,
        p_signal=signals,
        fmt=["16", "16"],
        write_dir=str(folder),
    )
    samples = np.array([sample for sample, _ in annotations])
    symbols = [symbol for _, symbol in annotations]
    wfdb.wrann(name, "atr", samples, symbol=symbols, write_dir=str(folder))


def test_wfdb_record_beats(tmp_path: Path) -> None:
    _write_record(tmp_path, "100", ["MLII", "V1"], ANNOTATIONS)
    expected = _expected_beats(ANNOTATIONS)

    data = load_dataset("mitbih", tmp_path)

    assert len(expected) == 8
    assert data.inputs.shape == (len(expected), 1, 1, 187)
    assert data.inputs.dtype == torch.float32
    assert data.targets.dtype == torch.int64
    assert data.targets.tolist() == expected
    beats = data.inputs.reshape(len(expected), 187)
    assert float(beats.min()) == 0.0 and torch.allclose(beats.max(dim=1).values, torch.ones(8))
    # 0.4 s before the peak at 125 Hz is 50 samples; 1.2 s is 150 samples, then zeros.
    assert set(beats.argmax(dim=1).tolist()) <= {49, 50, 51}
    assert torch.count_nonzero(beats[:, 150:]) == 0
    assert "WFDB records" in data.source and "MLII" in data.source


def test_record_without_mlii_is_skipped_with_a_warning(tmp_path: Path) -> None:
    _write_record(tmp_path, "100", ["MLII", "V1"], ANNOTATIONS)
    _write_record(tmp_path, "102", ["V5", "V2"], ANNOTATIONS)

    with pytest.warns(UserWarning, match=r"record 102 .* no MLII lead \(leads: V5, V2\)"):
        data = load_mitbih_records(tmp_path)

    assert data.targets.tolist() == _expected_beats(ANNOTATIONS)
    assert "skipped records without MLII: 102 (V5, V2)" in data.source


def test_no_record_with_mlii_is_an_error(tmp_path: Path) -> None:
    _write_record(tmp_path, "104", ["V5", "V2"], ANNOTATIONS)
    before = _snapshot(tmp_path)

    with pytest.warns(UserWarning), pytest.raises(DataError, match=r"no record .* has an MLII"):
        load_dataset("mitbih", tmp_path)

    assert _snapshot(tmp_path) == before


def test_record_without_annotations_is_an_error(tmp_path: Path) -> None:
    _write_record(tmp_path, "100", ["MLII", "V1"], ANNOTATIONS)
    (tmp_path / "100.atr").unlink()

    with pytest.raises(DataError, match=r"record 100 .* no annotation file 100\.atr"):
        load_dataset("mitbih", tmp_path)


def test_record_with_only_edge_and_non_beats_is_an_error(tmp_path: Path) -> None:
    _write_record(tmp_path, "100", ["MLII", "V1"], [(72, "N"), (900, "+"), (3500, "V")])

    with pytest.raises(DataError, match=r"hold no AAMI beat whose window"):
        load_dataset("mitbih", tmp_path)


def test_damaged_record_is_an_error(tmp_path: Path) -> None:
    _write_record(tmp_path, "100", ["MLII", "V1"], ANNOTATIONS)
    (tmp_path / "100.hea").write_text("this is not a header\n")

    with pytest.raises(DataError, match=r"cannot read header .*100\.hea"):
        load_dataset("mitbih", tmp_path)


# --- the real sample ----------------------------------------------------------------


def test_real_kaggle_sample() -> None:
    if not SAMPLE_DIR.is_dir():
        pytest.skip(f"the real MIT-BIH sample is not at {SAMPLE_DIR}")
    counts = [0] * 5
    rows = 0
    for path in sorted(SAMPLE_DIR.glob("*.csv")):
        with path.open(newline="") as stream:
            for row in csv.reader(stream):
                counts[int(float(row[-1]))] += 1
                rows += 1

    data = load_dataset("mitbih", SAMPLE_DIR)

    assert rows == 1000 and counts == [200] * 5
    assert data.inputs.shape == (rows, 1, 1, 187)
    assert data.inputs.dtype == torch.float32
    assert data.targets.dtype == torch.int64
    assert torch.bincount(data.targets, minlength=5).tolist() == counts
    assert 0.0 <= float(data.inputs.min()) and float(data.inputs.max()) <= 1.0


def test_record_without_signal_file_is_an_error(tmp_path: Path) -> None:
    _write_record(tmp_path, "100", ["MLII", "V1"], ANNOTATIONS)
    (tmp_path / "100.dat").unlink()
    before = _snapshot(tmp_path)

    with pytest.raises(DataError, match=r"cannot read record 100 in .*\(\.hea/\.dat/\.atr\)"):
        load_dataset("mitbih", tmp_path)

    assert _snapshot(tmp_path) == before
