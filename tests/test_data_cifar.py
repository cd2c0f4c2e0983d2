"""Tests for the CIFAR-100 loader on tiny pickles written in torchvision's layout."""

from __future__ import annotations

import hashlib
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from dsrelu.data import cifar, load_dataset
from dsrelu.errors import ConfigError, DataError

CLASSES = [f"class_{i}" for i in range(5)]
SIZES = {"train": 6, "test": 4}


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def _write_cifar(folder: Path, seed: int = 0) -> tuple[dict[str, str], dict[str, dict]]:
    """Write train, test and meta pickles; return their MD5 sums and contents."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    contents: dict[str, dict] = {
        "meta": {"fine_label_names": CLASSES, "coarse_label_names": ["all"]}
    }
    for part, count in SIZES.items():
        contents[part] = {
            "filenames": [f"{part}_{i}.png" for i in range(count)],
            "batch_label": f"{part} batch",
            "fine_labels": rng.integers(0, len(CLASSES), count).tolist(),
            "coarse_labels": [0] * count,
            "data": rng.integers(0, 256, (count, 3072), dtype=np.uint8),
        }
    md5 = {}
    for name, content in contents.items():
        path = folder / name
        path.write_bytes(pickle.dumps(content))
        md5[name] = hashlib.md5(path.read_bytes()).hexdigest()
    return md5, contents


@pytest.fixture
def data_cifar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, dict]]:
    """A tiny CIFAR-100 copy under ``tmp_path``, with the checksums the loader expects."""
    md5, contents = _write_cifar(tmp_path / "cifar-100-python")
    monkeypatch.setattr(cifar, "_expected_md5", lambda: md5)
    return tmp_path, contents


def test_train_and_test_are_merged(data_cifar: tuple[Path, dict[str, dict]]) -> None:
    root, contents = data_cifar
    pixels = np.concatenate([contents["train"]["data"], contents["test"]["data"]])
    labels = contents["train"]["fine_labels"] + contents["test"]["fine_labels"]

    data = load_dataset("cifar100", root)

    assert data.name == "cifar100"
    assert data.inputs.shape == (10, 3, 32, 32) and data.inputs.dtype == torch.uint8
    assert data.targets.dtype == torch.int64 and data.targets.tolist() == labels
    # Rows hold the red plane, then green, then blue, each row-major.
    assert torch.equal(data.inputs[3, 1, 2, 5], torch.tensor(pixels[3, 1024 + 2 * 32 + 5]))
    np.testing.assert_array_equal(data.inputs.reshape(10, -1).numpy(), pixels)
    assert data.class_names == tuple(CLASSES)
    assert (data.num_classes, data.in_channels, data.input_shape) == (5, 3, (3, 32, 32))
    per_channel = pixels.reshape(10, 3, 1024).transpose(1, 0, 2).reshape(3, -1) / 255.0
    np.testing.assert_allclose(data.mean, per_channel.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(data.std, per_channel.std(axis=1), rtol=1e-12)
    assert "train (6) and test (4) merged" in data.source


def test_prepare_normalises_with_the_channel_statistics(
    data_cifar: tuple[Path, dict[str, dict]],
) -> None:
    data = load_dataset("cifar100", data_cifar[0])

    prepared = data.prepare(data.inputs)

    assert prepared.dtype == torch.float32
    flat = prepared.transpose(0, 1).reshape(3, -1).double()
    zeros, ones = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    torch.testing.assert_close(flat.mean(dim=1), zeros, atol=1e-5, rtol=0)
    torch.testing.assert_close(flat.std(dim=1, correction=0), ones, atol=1e-5, rtol=0)


def test_folder_itself_is_accepted(data_cifar: tuple[Path, dict[str, dict]]) -> None:
    root, _ = data_cifar

    data = load_dataset("cifar100", root / "cifar-100-python")

    assert len(data.targets) == 10


def test_one_part_and_resizing(data_cifar: tuple[Path, dict[str, dict]]) -> None:
    root, contents = data_cifar

    data = cifar.load_cifar100(root, parts=("test",), image_size=16)

    assert data.inputs.shape == (4, 3, 16, 16) and data.inputs.dtype == torch.uint8
    assert data.targets.tolist() == contents["test"]["fine_labels"]
    assert "merged" not in data.source and "resized to 16x16" in data.source


def test_loads_are_cached(data_cifar: tuple[Path, dict[str, dict]]) -> None:
    root, _ = data_cifar

    assert load_dataset("cifar100", root) is load_dataset("cifar100", root / "cifar-100-python")


def test_torchvision_checksums_are_used() -> None:
    table = cifar._expected_md5()

    assert set(table) == {"train", "test", "meta"}
    assert all(len(md5) == 32 for md5 in table.values())


def test_missing_copy_says_where_to_put_it(tmp_path: Path) -> None:
    before = _snapshot(tmp_path)

    with pytest.raises(DataError, match=r"cifar-100-python/train is missing.*put the files"):
        load_dataset("cifar100", tmp_path)

    assert _snapshot(tmp_path) == before


def test_corrupt_copy_fails_the_checksum(tmp_path: Path) -> None:
    _write_cifar(tmp_path / "cifar-100-python")  # tiny files: not the real checksums
    before = _snapshot(tmp_path)

    with pytest.raises(DataError, match=r"fails its MD5 checksum.*--download"):
        load_dataset("cifar100", tmp_path)

    assert _snapshot(tmp_path) == before


def test_damaged_pickle_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    md5, _ = _write_cifar(tmp_path / "cifar-100-python")
    train = tmp_path / "cifar-100-python" / "train"
    train.write_bytes(b"not a pickle")
    md5["train"] = hashlib.md5(train.read_bytes()).hexdigest()
    monkeypatch.setattr(cifar, "_expected_md5", lambda: md5)

    with pytest.raises(DataError, match=r"cannot read .*cifar-100-python/train"):
        load_dataset("cifar100", tmp_path)


def test_wrong_fields_are_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    md5, contents = _write_cifar(tmp_path / "cifar-100-python")
    test = tmp_path / "cifar-100-python" / "test"
    test.write_bytes(pickle.dumps({**contents["test"], "fine_labels": [0, 1, 2, 9]}))
    md5["test"] = hashlib.md5(test.read_bytes()).hexdigest()
    monkeypatch.setattr(cifar, "_expected_md5", lambda: md5)

    with pytest.raises(DataError, match=r"'fine_labels' of .*test has label 9 at index 3"):
        load_dataset("cifar100", tmp_path)


def test_download_is_wired_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    staging = tmp_path / "staging"
    md5, _ = _write_cifar(staging / "cifar-100-python")
    monkeypatch.setattr(cifar, "_expected_md5", lambda: md5)
    calls: list[Path] = []

    def fake_download(parent: Path) -> None:
        calls.append(parent)
        shutil.copytree(staging / "cifar-100-python", parent / "cifar-100-python")

    monkeypatch.setattr(cifar, "_download", fake_download)
    target = tmp_path / "new"

    data = load_dataset("cifar100", target, download=True)
    again = cifar.load_cifar100(target, download=True)  # intact now: no second download

    assert calls == [target.resolve()]
    assert len(data.targets) == len(again.targets) == 10


def test_failed_download_is_a_data_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(parent: Path) -> None:
        raise OSError("network is unreachable")

    monkeypatch.setattr(cifar, "_download", offline)

    with pytest.raises(DataError, match=r"download failed \(network is unreachable\).*put the"):
        load_dataset("cifar100", tmp_path, download=True)


@pytest.mark.parametrize("parts", [(), ("val",), ("train", "train")])
def test_bad_parts_are_a_config_error(tmp_path: Path, parts: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError, match=r"parts must be a non-empty subset"):
        cifar.load_cifar100(tmp_path, parts=parts)
