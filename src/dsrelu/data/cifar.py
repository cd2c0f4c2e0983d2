"""CIFAR-100 in torchvision's ``cifar-100-python/`` layout.

The folder holds three pickles: ``train`` (50,000 images), ``test`` (10,000 images)
and ``meta`` (the class names). ``data_dir`` may be that folder itself or the folder
that contains it. Every file is checked against the MD5 checksum torchvision lists
for it before it is read, so a truncated or foreign copy is reported, not loaded.

By default the train and test parts are merged into one 60,000-image, 100-class set,
because the experiment draws its own stratified folds. Images stay ``uint8``; the
per-channel mean and standard deviation are computed from the loaded images.

With ``download=True`` a missing or corrupt copy is fetched by torchvision's
downloader (``cifar-100-python.tar.gz``, about 160 MB, kept next to the folder).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError, DataError
from .base import LoadedDataset, as_path, channel_stats, check_image_size, resize_images

__all__ = ["DESCRIPTION", "FOLDER", "PARTS", "find_cifar100", "load_cifar100"]

log = logging.getLogger(__name__)

#: The folder torchvision's archive unpacks to.
FOLDER = "cifar-100-python"
#: The parts a copy contains, in the order they are merged.
PARTS = ("train", "test")
#: One line for ``dsrelu datasets``.
DESCRIPTION = "CIFAR-100: 60,000 32x32 colour images, 100 classes (train + test merged)"

_META = "meta"
_NATIVE_SIZE = 32
_PIXELS = 3 * _NATIVE_SIZE * _NATIVE_SIZE


def _expected_md5() -> dict[str, str]:
    """The MD5 checksum of every file in the folder, as torchvision lists them."""
    from torchvision.datasets import CIFAR100

    table = {name: md5 for name, md5 in [*CIFAR100.train_list, *CIFAR100.test_list]}
    table[CIFAR100.meta["filename"]] = CIFAR100.meta["md5"]
    return table


def _download(parent: Path) -> None:
    """Fetch and unpack torchvision's CIFAR-100 archive into ``parent``."""
    from torchvision.datasets import CIFAR100
    from torchvision.datasets.utils import download_and_extract_archive

    log.info("cifar100: downloading %s into %s", CIFAR100.url, parent)
    download_and_extract_archive(
        CIFAR100.url, str(parent), filename=CIFAR100.filename, md5=CIFAR100.tgz_md5
    )


def _archive_url() -> str:
    from torchvision.datasets import CIFAR100

    return str(CIFAR100.url)


def _split_root(root: Path) -> tuple[Path, Path]:
    """Return ``(folder, parent)``: where the pickles are and where the archive unpacks."""
    if root.name == FOLDER or ((root / _META).is_file() and not (root / FOLDER).exists()):
        return root, root.parent
    return root / FOLDER, root


def find_cifar100(root: str | os.PathLike[str]) -> Path | None:
    """Return the ``cifar-100-python`` folder at ``root`` if its three files exist.

    Only checks that the files are there; checksums are verified on loading.

    Args:
        root: The folder itself or the folder containing it.

    Returns:
        The folder, or ``None`` when a file is missing.
    """
    folder, _ = _split_root(as_path(root))
    if all((folder / name).is_file() for name in (*PARTS, _META)):
        return folder
    return None


def _md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _where_to_put(folder: Path, parent: Path) -> str:
    return (
        f"put the files {', '.join((*PARTS, _META))} of torchvision's CIFAR-100 copy "
        f"(unpacked from {_archive_url()}) in {folder} (data_dir may be {parent} or the "
        f"folder itself), or pass download=True (--download) when online"
    )


def _broken_files(folder: Path, names: Sequence[str], md5: Mapping[str, str]) -> list[str]:
    """Describe every file of ``names`` that is missing or fails its checksum."""
    problems = []
    for name in names:
        path = folder / name
        if not path.is_file():
            problems.append(f"{path} is missing")
            continue
        actual = _md5_of(path)
        if actual != md5[name]:
            problems.append(
                f"{path} fails its MD5 checksum (expected {md5[name]}, got {actual}); "
                f"the copy is corrupt or incomplete"
            )
    return problems


def _read_pickle(path: Path) -> dict:
    try:
        with path.open("rb") as stream:
            content = pickle.load(stream, encoding="latin1")
    except Exception as error:  # a damaged pickle can raise almost anything
        raise DataError(f"cifar100: cannot read {path}: {error}") from error
    if not isinstance(content, dict):
        raise DataError(
            f"cifar100: {path} holds a {type(content).__name__}, expected a dict "
            f"as in torchvision's CIFAR-100 layout"
        )
    return content


def _read_part(path: Path, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    content = _read_pickle(path)
    missing = [key for key in ("data", "fine_labels") if key not in content]
    if missing:
        raise DataError(f"cifar100: {path} lacks the field(s) {', '.join(missing)}")
    data = np.asarray(content["data"])
    labels = np.asarray(content["fine_labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != _PIXELS:
        raise DataError(
            f"cifar100: field 'data' of {path} must be uint8 of shape (N, {_PIXELS}), "
            f"got {data.dtype} of shape {data.shape}"
        )
    if labels.shape != (len(data),) or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(
            f"cifar100: field 'fine_labels' of {path} must hold {len(data)} integers, "
            f"got {labels.dtype} of shape {labels.shape}"
        )
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if len(bad):
        raise DataError(
            f"cifar100: field 'fine_labels' of {path} has label {int(labels[bad[0]])} at "
            f"index {int(bad[0])}, outside 0..{num_classes - 1}"
        )
    return data, labels.astype(np.int64)


def load_cifar100(
    root: str | os.PathLike[str],
    *,
    image_size: int | None = None,
    download: bool = False,
    parts: Sequence[str] = PARTS,
    md5: Mapping[str, str] | None = None,
) -> LoadedDataset:
    """Load CIFAR-100, by default train and test merged into one set.

    Args:
        root: The ``cifar-100-python`` folder or the folder containing it.
        image_size: Side length to resize to (antialiased bilinear). Default:
            ``None``, the native 32.
        download: Fetch the archive with torchvision when the copy is missing or
            corrupt. Default: ``False``.
        parts: Which parts to load and merge, a non-empty subset of
            ``("train", "test")``. Default: both.
        md5: Expected MD5 checksum per file name. Default: ``None``, torchvision's.

    Returns:
        A :class:`~dsrelu.data.base.LoadedDataset` with uint8 inputs of shape
        ``(N, 3, size, size)`` and the 100 fine class names.

    Raises:
        DataError: If a file is missing, fails its checksum or is malformed, or the
            download fails; the message says where to put the files.
        ConfigError: If ``parts`` or ``image_size`` is invalid.
    """
    size = check_image_size(image_size, name="cifar100")
    parts = tuple(parts)
    if not parts or any(part not in PARTS for part in parts) or len(set(parts)) != len(parts):
        raise ConfigError(f"cifar100: parts must be a non-empty subset of {PARTS}, got {parts!r}")
    folder, parent = _split_root(as_path(root))
    md5 = dict(_expected_md5() if md5 is None else md5)
    names = (*parts, _META)

    problems = _broken_files(folder, names, md5)
    if problems and download:
        try:
            _download(parent)
        except Exception as error:  # network, disk and archive errors alike
            raise DataError(
                f"cifar100: download failed ({error}); {_where_to_put(folder, parent)}"
            ) from error
        problems = _broken_files(folder, names, md5)
    if problems:
        raise DataError(f"cifar100: {'; '.join(problems)}; {_where_to_put(folder, parent)}")

    meta_path = folder / _META
    meta = _read_pickle(meta_path)
    class_names = meta.get("fine_label_names")
    if not isinstance(class_names, list | tuple) or not class_names:
        raise DataError(f"cifar100: {meta_path} lacks a non-empty 'fine_label_names' list")
    class_names = tuple(str(name) for name in class_names)

    arrays, labels, counts = [], [], []
    for part in parts:
        data, part_labels = _read_part(folder / part, len(class_names))
        arrays.append(data)
        labels.append(part_labels)
        counts.append(f"{part} ({len(data)})")
        log.info("cifar100: read %d images from %s", len(data), folder / part)
    images = torch.from_numpy(np.concatenate(arrays).reshape(-1, 3, _NATIVE_SIZE, _NATIVE_SIZE))
    targets = torch.from_numpy(np.concatenate(labels))
    if size is not None and size != _NATIVE_SIZE:
        images = resize_images(images, size)
    mean, std = channel_stats(images)
    merged = " and ".join(counts) + (" merged for k-fold" if len(parts) > 1 else "")
    resized = "" if size in (None, _NATIVE_SIZE) else f", resized to {size}x{size}"
    source = f"CIFAR-100 at {folder}: {merged}{resized}"
    log.info("cifar100: %s", source)
    return LoadedDataset(
        name="cifar100",
        inputs=images.contiguous(),
        targets=targets,
        class_names=class_names,
        mean=mean,
        std=std,
        source=source,
    )
