"""Tests for the Mini-ImageNet loader on tiny folders in both layouts."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dsrelu.data import load_dataset
from dsrelu.data.mini_imagenet import load_mini_imagenet
from dsrelu.errors import DataError

# Class-disjoint splits, as in the standard split (there 64/16/20 classes).
SPLIT_CLASSES = {
    "train": ["n03000000", "n01000000", "n02000000"],
    "val": ["n05000000"],
    "test": ["n04000000", "n06000000"],
}
PER_CLASS = 2


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def _colour(index: int) -> tuple[int, int, int]:
    return (index * 20 % 256, 255 - index * 15 % 256, index * 7 % 256)


def _write_folder(root: Path, *, nested: bool = False) -> list[tuple[str, tuple[int, int, int]]]:
    """Write images/ and the three CSVs; return (label, colour) of every image in order."""
    images = root / "images"
    images.mkdir(parents=True)
    listed = []
    index = 0
    for split, classes in SPLIT_CLASSES.items():
        lines = ["filename,label"]
        for label in classes:
            for _ in range(PER_CLASS):
                filename = f"{label}{index:08d}.png"
                folder = images / label if nested else images
                folder.mkdir(exist_ok=True)
                size = (20 + index, 16)  # odd sizes: every image is squashed
                Image.new("RGB", size, _colour(index)).save(folder / filename)
                lines.append(f"{filename},{label}")
                listed.append((label, _colour(index)))
                index += 1
        (root / f"{split}.csv").write_text("\n".join(lines) + "\n")
    return listed


def test_image_folder_is_merged_into_one_set(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    listed = _write_folder(tmp_path)
    class_names = sorted({label for label, _ in listed})

    with caplog.at_level("INFO", logger="dsrelu.data.mini_imagenet"):
        data = load_dataset("mini-imagenet", tmp_path, image_size=12)

    assert data.name == "mini-imagenet"
    assert data.inputs.shape == (len(listed), 3, 12, 12) and data.inputs.dtype == torch.uint8
    assert data.targets.dtype == torch.int64
    assert data.class_names == tuple(class_names)
    assert data.targets.tolist() == [class_names.index(label) for label, _ in listed]
    assert torch.bincount(data.targets).tolist() == [PER_CLASS] * len(class_names)
    for image, (_, colour) in zip(data.inputs, listed, strict=True):
        expected = torch.tensor(colour, dtype=torch.int16).view(3, 1, 1)
        assert int((image.to(torch.int16) - expected).abs().max()) <= 1
    assert "disjoint" in data.source and "6-class set of 12 images" in data.source
    assert "merged" in caplog.text and "disjoint" in caplog.text


def test_default_size_is_84(tmp_path: Path) -> None:
    _write_folder(tmp_path)

    data = load_dataset("mini-imagenet", tmp_path)

    assert data.input_shape == (3, 84, 84)
    assert len(data.mean) == len(data.std) == 3


def test_images_in_class_folders_and_parent_data_dir(tmp_path: Path) -> None:
    listed = _write_folder(tmp_path / "mini-imagenet", nested=True)

    data = load_mini_imagenet(tmp_path, image_size=8)

    assert len(data.targets) == len(listed)


def _write_caches(root: Path, size: int = 10) -> dict[str, list[np.ndarray]]:
    """Write the three pickled caches; return the images of every class."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    per_class: dict[str, list[np.ndarray]] = {}
    for split, classes in SPLIT_CLASSES.items():
        count = PER_CLASS * len(classes)
        images = rng.integers(0, 256, (count, size, size, 3), dtype=np.uint8)
        order = rng.permutation(count)  # classes own scattered rows
        class_dict = {
            label: order[i * PER_CLASS : (i + 1) * PER_CLASS].tolist()
            for i, label in enumerate(classes)
        }
        for label, rows in class_dict.items():
            per_class[label] = [images[row] for row in rows]
        content = {"image_data": images, "class_dict": class_dict}
        (root / f"mini-imagenet-cache-{split}.pkl").write_bytes(pickle.dumps(content))
    return per_class


def test_pickled_caches(tmp_path: Path) -> None:
    per_class = _write_caches(tmp_path)
    class_names = sorted(per_class)

    data = load_dataset("mini-imagenet", tmp_path, image_size=10)

    assert data.class_names == tuple(class_names)
    assert data.inputs.shape == (12, 3, 10, 10) and data.inputs.dtype == torch.uint8
    assert torch.bincount(data.targets).tolist() == [PER_CLASS] * 6
    for number, name in enumerate(class_names):
        got = data.inputs[data.targets == number].permute(0, 2, 3, 1).numpy()
        np.testing.assert_array_equal(got, np.stack(per_class[name]))
    assert "pickled caches" in data.source


def test_pickled_caches_are_resized(tmp_path: Path) -> None:
    _write_caches(tmp_path)

    data = load_dataset("mini-imagenet", tmp_path)

    assert data.input_shape == (3, 84, 84)


def _expect_error(root: Path, message: str) -> None:
    before = _snapshot(root)
    with pytest.raises(DataError, match=message):
        load_dataset("mini-imagenet", root, image_size=8)
    assert _snapshot(root) == before


def test_missing_image_is_named(tmp_path: Path) -> None:
    _write_folder(tmp_path)
    (tmp_path / "images" / "n0400000000000008.png").unlink()

    _expect_error(tmp_path, r"image n0400000000000008\.png listed in .*test\.csv line 2 is missing")


def test_unreadable_image_is_named(tmp_path: Path) -> None:
    _write_folder(tmp_path)
    (tmp_path / "images" / "n0500000000000007.png").write_bytes(b"not an image at all")

    _expect_error(
        tmp_path, r"cannot read image .*n0500000000000007\.png \(listed in val\.csv line 3\)"
    )


def test_truncated_image_is_named(tmp_path: Path) -> None:
    _write_folder(tmp_path)
    path = tmp_path / "images" / "n0300000000000000.png"
    path.write_bytes(path.read_bytes()[:60])

    _expect_error(tmp_path, r"cannot read image .*n0300000000000000\.png")


def test_empty_class_in_a_cache_is_named(tmp_path: Path) -> None:
    _write_caches(tmp_path)
    path = tmp_path / "mini-imagenet-cache-val.pkl"
    content = pickle.loads(path.read_bytes())
    content["class_dict"]["n09999999"] = []
    path.write_bytes(pickle.dumps(content))

    _expect_error(tmp_path, r"class 'n09999999' in .*cache-val\.pkl has no images")


def test_cache_rows_without_a_class_are_an_error(tmp_path: Path) -> None:
    _write_caches(tmp_path)
    path = tmp_path / "mini-imagenet-cache-test.pkl"
    content = pickle.loads(path.read_bytes())
    del content["class_dict"]["n06000000"]
    path.write_bytes(pickle.dumps(content))

    _expect_error(tmp_path, r"2 of the 4 images in .*cache-test\.pkl belong to no class")


def test_split_without_images_is_named(tmp_path: Path) -> None:
    _write_folder(tmp_path)
    (tmp_path / "val.csv").write_text("filename,label\n")

    _expect_error(tmp_path, r"val\.csv lists no images")


def test_wrong_header_is_named(tmp_path: Path) -> None:
    _write_folder(tmp_path)
    (tmp_path / "val.csv").write_text("n0500000000000006.png,n05000000\n")

    _expect_error(tmp_path, r"val\.csv line 1: expected the header 'filename,label'")


def test_malformed_row_is_named(tmp_path: Path) -> None:
    _write_folder(tmp_path)
    text = (tmp_path / "test.csv").read_text().splitlines()
    text[2] += ",extra"
    (tmp_path / "test.csv").write_text("\n".join(text) + "\n")

    _expect_error(tmp_path, r"test\.csv line 3: expected 'filename,label'")


def test_image_listed_twice_is_an_error(tmp_path: Path) -> None:
    _write_folder(tmp_path)
    with (tmp_path / "test.csv").open("a") as stream:
        stream.write("n0300000000000000.png,n04000000\n")

    _expect_error(tmp_path, r"test\.csv line 6 lists n0300000000000000\.png again")


def test_missing_layout_is_explained(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "train.csv").write_text("filename,label\n")

    _expect_error(tmp_path, r"no Mini-ImageNet copy .*missing for the image-file layout: val\.csv")
