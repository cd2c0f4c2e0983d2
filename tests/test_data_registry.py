"""Tests for the dataset registry, the cache and the LoadedDataset record."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dsrelu.data import (
    LoadedDataset,
    available_datasets,
    clear_dataset_cache,
    describe_datasets,
    load_dataset,
)
from dsrelu.errors import DataError


def test_available_datasets() -> None:
    assert available_datasets() == ["digits", "cifar100", "mini-imagenet", "mitbih"]


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(
        DataError,
        match=r"unknown dataset 'mnist'; choose one of digits, cifar100, mini-imagenet, mitbih",
    ):
        load_dataset("mnist")


@pytest.mark.parametrize(
    ("name", "layout"),
    [
        ("cifar100", r"cifar-100-python/"),
        ("Mini_ImageNet", r"images/ folder with train\.csv"),
        ("mitbih", r"mitbih_train\.csv"),
    ],
)
def test_missing_data_dir_says_what_to_pass(name: str, layout: str) -> None:
    with pytest.raises(DataError, match=rf"no data directory given; pass --data-dir .*{layout}"):
        load_dataset(name)


@pytest.mark.parametrize("name", ["cifar100", "mini-imagenet", "mitbih"])
def test_absent_data_dir_is_named(tmp_path: Path, name: str) -> None:
    absent = tmp_path / "absent"

    with pytest.raises(DataError, match=rf"data directory {absent} does not exist"):
        load_dataset(name, absent)

    assert not absent.exists()


def test_describe_without_data_dir() -> None:
    entries = describe_datasets(None)

    assert [e["name"] for e in entries] == available_datasets()
    assert all(set(e) == {"name", "description", "present", "location"} for e in entries)
    assert [e["present"] for e in entries] == [True, False, False, False]
    assert entries[1]["location"] == "no --data-dir given"


def test_describe_finds_each_layout_without_reading_it(tmp_path: Path) -> None:
    for name in ("train", "test", "meta"):
        (tmp_path / "cifar-100-python").mkdir(exist_ok=True)
        (tmp_path / "cifar-100-python" / name).write_bytes(b"not checked here")
    mini = tmp_path / "mini-imagenet"
    (mini / "images").mkdir(parents=True)
    for split in ("train", "val", "test"):
        (mini / f"{split}.csv").write_text("filename,label\n")
    (tmp_path / "mitbih").mkdir()
    (tmp_path / "mitbih" / "mitbih_train.csv").write_text("")

    entries = {e["name"]: e for e in describe_datasets(tmp_path)}

    assert all(e["present"] for e in entries.values())
    assert entries["cifar100"]["location"] == str(tmp_path / "cifar-100-python")
    assert entries["mini-imagenet"]["location"] == str(mini)
    assert entries["mitbih"]["location"] == str(tmp_path / "mitbih")


def test_describe_an_empty_folder(tmp_path: Path) -> None:
    entries = describe_datasets(tmp_path)

    assert [e["present"] for e in entries] == [True, False, False, False]
    assert entries[3]["location"] == f"not found in {tmp_path}"


def test_cli_lists_the_datasets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("dsrelu.experiment", reason="the CLI needs dsrelu.experiment")
    from dsrelu.cli import main

    assert main(["datasets", "--data-dir", str(tmp_path)]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == available_datasets()
    assert lines[0].split()[1] == "present" and lines[1].split()[1] == "absent"


def test_cache_keeps_one_copy_until_cleared() -> None:
    first = load_dataset("digits", image_size=9)

    assert load_dataset("digits", image_size=9) is first
    clear_dataset_cache()
    assert load_dataset("digits", image_size=9) is not first


def _toy(**changes: object) -> LoadedDataset:
    fields: dict[str, object] = {
        "name": "toy",
        "inputs": torch.arange(24, dtype=torch.uint8).reshape(2, 3, 2, 2),
        "targets": torch.tensor([0, 1]),
        "class_names": ("a", "b"),
        "mean": (0.1, 0.2, 0.3),
        "std": (0.5, 0.25, 2.0),
        "source": "written by the test",
    }
    fields.update(changes)
    return LoadedDataset(**fields)  # type: ignore[arg-type]


def test_prepare_scales_and_normalises() -> None:
    data = _toy()
    batch = data.inputs

    prepared = data.prepare(batch)

    assert prepared.dtype == torch.float32 and prepared.shape == batch.shape
    for channel, (mean, std) in enumerate(zip(data.mean, data.std, strict=True)):
        expected = (batch[:, channel].double() / 255.0 - mean) / std
        torch.testing.assert_close(prepared[:, channel].double(), expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(data.prepare(batch[0]), prepared[0])
    assert torch.equal(batch, torch.arange(24, dtype=torch.uint8).reshape(2, 3, 2, 2))


def test_prepare_rejects_wrong_channels() -> None:
    with pytest.raises(ValueError, match=r"batch must have shape \(N, 3, H, W\)"):
        _toy().prepare(torch.zeros(2, 1, 2, 2))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"inputs": torch.zeros(2, 3, 2)}, r"inputs must have shape \(N, C, H, W\)"),
        ({"inputs": torch.zeros(2, 3, 2, 2, dtype=torch.float64)}, r"uint8 or float32"),
        ({"targets": torch.tensor([0, 1], dtype=torch.int32)}, r"1-d int64"),
        ({"targets": torch.tensor([0])}, r"differ in length: 2 != 1"),
        ({"targets": torch.tensor([0, 2])}, r"targets must lie in 0\.\.1"),
        ({"mean": (0.0,)}, r"one value per channel \(3\)"),
        ({"std": (1.0, 0.0, 1.0)}, r"std must be positive"),
    ],
)
def test_inconsistent_fields_are_rejected(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _toy(**changes)


def test_repr_is_short() -> None:
    assert repr(_toy()) == (
        "LoadedDataset(name='toy', inputs=uint8(2, 3, 2, 2), num_classes=2, "
        "source='written by the test')"
    )
