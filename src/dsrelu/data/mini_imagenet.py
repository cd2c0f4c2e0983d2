"""Mini-ImageNet: 100 ImageNet classes with 600 colour images each.

Two layouts are read; ``data_dir`` may be the dataset folder itself or a folder that
contains it under one of the names in :data:`FOLDER_NAMES`.

1. Image files: an ``images/`` folder plus ``train.csv``, ``val.csv`` and
   ``test.csv``, each with the header ``filename,label`` and one image per row.
   An image is looked up as ``images/<filename>``, then as
   ``images/<label>/<filename>``.
2. Pickled caches: ``mini-imagenet-cache-train.pkl``, ``-val.pkl`` and ``-test.pkl``,
   each a dict with ``image_data`` (uint8 array ``(N, H, W, 3)``) and ``class_dict``
   (class name -> list of row indices into ``image_data``).

When both are present the image files are used. In the standard split (Ravi and
Larochelle) the three parts have disjoint classes (64/16/20), which suits few-shot
learning but not ordinary classification; like the DSReLU paper, the loader merges
them into one 100-class set of 60,000 images and the experiment draws its own
stratified folds. The merge is logged and recorded in ``source``. Classes are indexed
in sorted name order, so both layouts give the same class indices.

Images are squashed (no crop) to ``image_size`` x ``image_size``, 84 by default as in
the paper: image files with Pillow's Lanczos filter (JPEGs are first decoded at a
reduced scale when they are much larger), cached arrays of another size with
antialiased bilinear filtering. They stay ``uint8`` in memory: 60,000 x 3 x 84 x 84
bytes is about 1.27 GB.

.. note::
    The caches are Python pickles, and unpickling can run code stored in the file.
    Read only caches from a source you trust.
"""

from __future__ import annotations

import csv
import logging
import os
import pickle
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from .base import LoadedDataset, as_path, channel_stats, check_image_size, resize_images

__all__ = [
    "CACHE_TEMPLATE",
    "DEFAULT_IMAGE_SIZE",
    "DESCRIPTION",
    "FOLDER_NAMES",
    "SPLITS",
    "find_mini_imagenet",
    "load_mini_imagenet",
]

log = logging.getLogger(__name__)

#: The parts of the standard split, in the order they are merged.
SPLITS = ("train", "val", "test")
#: Side length images are resized to unless told otherwise (as in the paper).
DEFAULT_IMAGE_SIZE = 84
#: File name of the pickled cache of one split.
CACHE_TEMPLATE = "mini-imagenet-cache-{split}.pkl"
#: Sub-folder names of ``data_dir`` searched for the dataset.
FOLDER_NAMES = ("mini-imagenet", "miniImageNet", "mini_imagenet")
#: One line for ``dsrelu datasets``.
DESCRIPTION = (
    "Mini-ImageNet: 100 classes x 600 colour images (train/val/test classes merged), 84x84"
)

_IMAGES = "images"
_HEADER = ["filename", "label"]
_LAYOUT = (
    "an images/ folder with train.csv, val.csv and test.csv (header 'filename,label'), "
    "or the pickled caches mini-imagenet-cache-{train,val,test}.pkl"
)
_BLOCK_IMAGES = 5000


@dataclass(frozen=True)
class _Listed:
    """One image named in a split file."""

    path: Path
    label: str
    where: str  # "train.csv line 7", for messages


def _csv_layout_files(folder: Path) -> list[Path]:
    return [folder / _IMAGES, *(folder / f"{split}.csv" for split in SPLITS)]


def _cache_files(folder: Path) -> list[Path]:
    return [folder / CACHE_TEMPLATE.format(split=split) for split in SPLITS]


def _layout(folder: Path) -> str | None:
    images, *tables = _csv_layout_files(folder)
    if images.is_dir() and all(table.is_file() for table in tables):
        return "files"
    if all(cache.is_file() for cache in _cache_files(folder)):
        return "caches"
    return None


def find_mini_imagenet(root: str | os.PathLike[str]) -> Path | None:
    """Return the folder at or below ``root`` that holds a Mini-ImageNet layout.

    Only checks that the files are there; their content is checked on loading.

    Args:
        root: The dataset folder or a folder containing it (see :data:`FOLDER_NAMES`).

    Returns:
        The folder, or ``None`` when neither layout is complete.
    """
    root = as_path(root)
    for folder in (root, *(root / name for name in FOLDER_NAMES)):
        if folder.is_dir() and _layout(folder) is not None:
            return folder
    return None


def _missing_message(root: Path) -> str:
    missing_files = [p.name for p in _csv_layout_files(root) if not p.exists()]
    missing_caches = [p.name for p in _cache_files(root) if not p.exists()]
    return (
        f"mini-imagenet: no Mini-ImageNet copy at {root}: put {_LAYOUT} there "
        f"(or in a sub-folder named {FOLDER_NAMES[0]}); missing for the image-file layout: "
        f"{', '.join(missing_files)}; missing for the cache layout: {', '.join(missing_caches)}"
    )


def _read_split_table(path: Path) -> list[tuple[str, str, int]]:
    """Read ``filename,label`` rows; return ``(filename, label, line)`` per image."""
    rows: list[tuple[str, str, int]] = []
    try:
        with path.open(newline="", encoding="utf-8") as stream:
            reader = csv.reader(stream)
            header_seen = False
            for row in reader:
                line = reader.line_num
                fields = [field.strip() for field in row]
                if not any(fields):
                    continue
                if not header_seen:
                    if [field.lower() for field in fields] != _HEADER:
                        raise DataError(
                            f"mini-imagenet: {path} line {line}: expected the header "
                            f"'filename,label', got {','.join(row)!r}"
                        )
                    header_seen = True
                    continue
                if len(fields) != 2 or not all(fields):
                    raise DataError(
                        f"mini-imagenet: {path} line {line}: expected 'filename,label', "
                        f"got {','.join(row)!r}"
                    )
                rows.append((fields[0], fields[1], line))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"mini-imagenet: cannot read {path}: {error}") from error
    if not rows:
        raise DataError(f"mini-imagenet: {path} lists no images")
    return rows


def _list_images(folder: Path) -> tuple[dict[str, list[_Listed]], int]:
    """Read the three split files and locate every image; return per-split lists."""
    images_dir = folder / _IMAGES
    listed: dict[str, list[_Listed]] = {}
    first_seen: dict[str, str] = {}
    total = 0
    for split in SPLITS:
        table = folder / f"{split}.csv"
        entries = []
        for filename, label, line in _read_split_table(table):
            where = f"{table.name} line {line}"
            if filename in first_seen:
                raise DataError(
                    f"mini-imagenet: {table} line {line} lists {filename} again "
                    f"(first listed in {first_seen[filename]})"
                )
            first_seen[filename] = where
            path = images_dir / filename
            if not path.is_file():
                nested = images_dir / label / filename
                if not nested.is_file():
                    raise DataError(
                        f"mini-imagenet: image {filename} listed in {table} line {line} is "
                        f"missing: neither {path} nor {nested} exists"
                    )
                path = nested
            entries.append(_Listed(path=path, label=label, where=where))
        listed[split] = entries
        total += len(entries)
    return listed, total


def _decode_image(path: Path, size: int) -> np.ndarray:
    """Decode one image file into a ``(size, size, 3)`` uint8 RGB array."""
    from PIL import Image

    with Image.open(path) as image:
        image.draft("RGB", (size, size))
        rgb = image.convert("RGB")
    if rgb.size != (size, size):
        rgb = rgb.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(rgb, dtype=np.uint8)


def _decode_all(entries: list[_Listed], size: int, workers: int) -> torch.Tensor:
    """Decode every listed image into one ``(N, 3, size, size)`` uint8 tensor."""
    from PIL import Image

    out = torch.empty((len(entries), 3, size, size), dtype=torch.uint8)
    rows = out.numpy()  # shares memory with ``out``

    def decode_into(index: int) -> None:
        entry = entries[index]
        try:
            array = _decode_image(entry.path, size)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
            raise DataError(
                f"mini-imagenet: cannot read image {entry.path} (listed in {entry.where}): {error}"
            ) from error
        rows[index] = array.transpose(2, 0, 1)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(entries), _BLOCK_IMAGES):
            stop = min(start + _BLOCK_IMAGES, len(entries))
            list(pool.map(decode_into, range(start, stop)))
            log.info("mini-imagenet: decoded %d/%d images", stop, len(entries))
    return out


def _load_files(folder: Path, size: int, workers: int) -> tuple[torch.Tensor, list[str], dict]:
    """Image-file layout: return images, per-image labels and per-split class sets."""
    listed, total = _list_images(folder)
    log.info(
        "mini-imagenet: %d images listed in %s; decoding with %d threads", total, folder, workers
    )
    entries = [entry for split in SPLITS for entry in listed[split]]
    images = _decode_all(entries, size, workers)
    labels = [entry.label for entry in entries]
    per_split = {
        f"{split}.csv": (sorted({e.label for e in listed[split]}), len(listed[split]))
        for split in SPLITS
    }
    return images, labels, per_split


def _read_cache(path: Path) -> tuple[np.ndarray, dict[str, list[int]]]:
    try:
        with path.open("rb") as stream:
            content = pickle.load(stream, encoding="latin1")
    except Exception as error:  # a damaged pickle can raise almost anything
        raise DataError(f"mini-imagenet: cannot read {path}: {error}") from error
    if not isinstance(content, Mapping) or not {"image_data", "class_dict"} <= set(content):
        raise DataError(
            f"mini-imagenet: {path} must hold a dict with 'image_data' and 'class_dict'"
        )
    images = np.asarray(content["image_data"])
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3:
        raise DataError(
            f"mini-imagenet: 'image_data' in {path} must be uint8 of shape (N, H, W, 3), "
            f"got {images.dtype} of shape {images.shape}"
        )
    class_dict = content["class_dict"]
    if not isinstance(class_dict, Mapping) or not class_dict:
        raise DataError(f"mini-imagenet: 'class_dict' in {path} must be a non-empty dict")
    owner = np.full(len(images), -1, dtype=np.int64)
    classes: dict[str, list[int]] = {}
    for number, (label, indices) in enumerate(class_dict.items()):
        rows = np.asarray(list(indices), dtype=np.int64)
        if rows.size == 0:
            raise DataError(f"mini-imagenet: class {label!r} in {path} has no images")
        if rows.min() < 0 or rows.max() >= len(images):
            raise DataError(
                f"mini-imagenet: class {label!r} in {path} refers to image rows outside "
                f"0..{len(images) - 1}"
            )
        if (owner[rows] >= 0).any() or len(np.unique(rows)) != len(rows):
            raise DataError(
                f"mini-imagenet: class {label!r} in {path} refers to image rows that are "
                f"already assigned"
            )
        owner[rows] = number
        classes[str(label)] = rows.tolist()
    unassigned = int((owner < 0).sum())
    if unassigned:
        raise DataError(
            f"mini-imagenet: {unassigned} of the {len(images)} images in {path} belong to "
            f"no class of 'class_dict'"
        )
    return images, classes


def _load_caches(folder: Path, size: int) -> tuple[torch.Tensor, list[str], dict]:
    """Cache layout: return images, per-image labels and per-split class sets."""
    parts = []
    for split in SPLITS:
        path = folder / CACHE_TEMPLATE.format(split=split)
        log.info("mini-imagenet: reading %s", path)
        parts.append((path, *_read_cache(path)))
    total = sum(len(images) for _, images, _ in parts)
    out = torch.empty((total, 3, size, size), dtype=torch.uint8)
    labels: list[str] = []
    per_split = {}
    position = 0
    for path, images, classes in parts:
        for label in sorted(classes):
            rows = classes[label]
            chunk = torch.from_numpy(images[rows]).permute(0, 3, 1, 2)
            out[position : position + len(rows)] = resize_images(chunk, size)
            position += len(rows)
            labels.extend([label] * len(rows))
        per_split[path.name] = (sorted(classes), len(images))
    return out, labels, per_split


def load_mini_imagenet(
    root: str | os.PathLike[str],
    *,
    image_size: int | None = None,
    workers: int | None = None,
) -> LoadedDataset:
    """Load Mini-ImageNet with its train, val and test classes merged into one set.

    Args:
        root: The dataset folder or a folder containing it (see :data:`FOLDER_NAMES`).
        image_size: Side length to resize to. Default: ``None``, 84.
        workers: Threads that decode image files. Default: ``None``, up to 8.

    Returns:
        A :class:`~dsrelu.data.base.LoadedDataset` with uint8 inputs of shape
        ``(N, 3, size, size)``; classes in sorted name order.

    Raises:
        DataError: If neither layout is complete, a split file is malformed or lists
            no images, a listed image is missing or unreadable, an image is listed
            twice, or a cache is malformed or has an empty class.
        ConfigError: If ``image_size`` is not a positive integer.
    """
    size = check_image_size(image_size, name="mini-imagenet") or DEFAULT_IMAGE_SIZE
    root = as_path(root)
    folder = find_mini_imagenet(root)
    if folder is None:
        raise DataError(_missing_message(root))
    workers = workers or min(8, os.cpu_count() or 1)
    if _layout(folder) == "files":
        images, labels, per_split = _load_files(folder, size, workers)
        kind = f"{_IMAGES}/ with {', '.join(per_split)}"
    else:
        images, labels, per_split = _load_caches(folder, size)
        kind = "pickled caches " + ", ".join(per_split)

    class_names = tuple(sorted(set(labels)))
    index = {name: number for number, name in enumerate(class_names)}
    targets = torch.tensor([index[label] for label in labels], dtype=torch.int64)
    split_classes = [set(classes) for classes, _ in per_split.values()]
    disjoint = sum(len(classes) for classes in split_classes) == len(class_names)
    parts = ", ".join(
        f"{name} ({len(classes)} classes, {count} images)"
        for name, (classes, count) in per_split.items()
    )
    merge = (
        f"merged {parts}, whose class sets are {'disjoint' if disjoint else 'overlapping'}, "
        f"into one {len(class_names)}-class set of {len(targets)} images for k-fold"
    )
    log.info("mini-imagenet: %s", merge)
    mean, std = channel_stats(images)
    source = f"Mini-ImageNet at {folder} ({kind}): {merge}; resized to {size}x{size}"
    return LoadedDataset(
        name="mini-imagenet",
        inputs=images,
        targets=targets,
        class_names=class_names,
        mean=mean,
        std=std,
        source=source,
    )
