"""The dataset registry: names, what each dataset is, where it is, and loading with a cache.

Every dataset is known by a name (``digits``, ``cifar100``, ``mini-imagenet``,
``mitbih``). :func:`load_dataset` loads one by name and keeps the result in memory,
so the folds of a run, and repeated calls in one process, read the files once (the
four most recently used datasets are kept; :func:`clear_dataset_cache` frees them).
:func:`describe_datasets` says, without loading anything, which are present in a
data directory; ``dsrelu datasets`` prints it.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from . import cifar, digits, mini_imagenet, mitbih
from .base import LoadedDataset, as_path, check_image_size

__all__ = ["available_datasets", "clear_dataset_cache", "describe_datasets", "load_dataset"]

log = logging.getLogger(__name__)

# Loaded datasets kept in memory, least recently used first. Four entries hold, for
# example, every dataset of a run at one image size.
_CACHE_ENTRIES = 4


@dataclass(frozen=True)
class _Spec:
    """How the registry handles one dataset."""

    description: str
    #: What to put at ``data_dir``, for messages; empty for embedded datasets.
    layout: str
    #: Side length used when ``image_size`` is ``None``; ``None`` for signals.
    default_size: int | None
    #: Where the data lie at a data directory, or ``None``; ``None`` for embedded data.
    find: Callable[[Path], Path | None] | None
    #: Loads from ``(data_dir, image_size, download)``.
    load: Callable[[Path | None, int | None, bool], LoadedDataset]


_REGISTRY: dict[str, _Spec] = {
    "digits": _Spec(
        description=digits.DESCRIPTION,
        layout="",
        default_size=digits.DEFAULT_IMAGE_SIZE,
        find=None,
        load=lambda path, size, download: digits.load_digits_dataset(image_size=size),
    ),
    "cifar100": _Spec(
        description=cifar.DESCRIPTION,
        layout=(
            f"torchvision's {cifar.FOLDER}/ folder (files train, test, meta) or the "
            f"folder containing it; --download fetches it when online"
        ),
        default_size=32,
        find=cifar.find_cifar100,
        load=lambda path, size, download: cifar.load_cifar100(
            path, image_size=size, download=download
        ),
    ),
    "mini-imagenet": _Spec(
        description=mini_imagenet.DESCRIPTION,
        layout=(
            "an images/ folder with train.csv, val.csv and test.csv ('filename,label'), "
            "or mini-imagenet-cache-{train,val,test}.pkl"
        ),
        default_size=mini_imagenet.DEFAULT_IMAGE_SIZE,
        find=mini_imagenet.find_mini_imagenet,
        load=lambda path, size, download: mini_imagenet.load_mini_imagenet(path, image_size=size),
    ),
    "mitbih": _Spec(
        description=mitbih.DESCRIPTION,
        layout=(
            "the Kaggle CSVs mitbih_train.csv and mitbih_test.csv, or PhysioNet WFDB "
            "records (.hea, .dat, .atr)"
        ),
        default_size=None,
        find=mitbih.find_mitbih,
        load=lambda path, size, download: mitbih.load_mitbih(path),
    ),
}

_cache: OrderedDict[tuple[str, str | None, int | None], LoadedDataset] = OrderedDict()
_cache_lock = threading.Lock()


def available_datasets() -> list[str]:
    """Names of the known datasets, the embedded default first.

    Returns:
        ``["digits", "cifar100", "mini-imagenet", "mitbih"]``.
    """
    return list(_REGISTRY)


def _canonical_name(name: str) -> str:
    key = str(name).strip().lower().replace("_", "-")
    if key not in _REGISTRY:
        raise DataError(
            f"unknown dataset {name!r}; choose one of {', '.join(available_datasets())}"
        )
    return key


def load_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    image_size: int | None = None,
    download: bool = False,
) -> LoadedDataset:
    """Load a dataset by name, from memory when it was loaded before in this process.

    Args:
        name: One of :func:`available_datasets` (case and ``_``/``-`` do not matter).
        data_dir: Where the dataset lies (see each loader's module for the layout, and
            ``dsrelu datasets --data-dir``); ignored by ``digits``. Default: ``None``.
        image_size: Side length of the images. Default: ``None``, which means 32 for
            ``digits`` (upsampled from 8), the native 32 for ``cifar100`` and 84 for
            ``mini-imagenet``. Ignored, with a warning, by ``mitbih``.
        download: Let ``cifar100`` fetch a missing or corrupt copy. Default: ``False``.

    Returns:
        The :class:`~dsrelu.data.base.LoadedDataset`, shared with other callers; treat
        its tensors as read-only.

    Raises:
        DataError: If the name is unknown, ``data_dir`` is needed but not given or
            does not exist, or the files are missing or malformed.
        ConfigError: If ``image_size`` is not a positive integer.
    """
    key_name = _canonical_name(name)
    spec = _REGISTRY[key_name]
    size = check_image_size(image_size, name=key_name)
    if spec.default_size is None:
        if size is not None:
            warnings.warn(
                f"{key_name}: image_size={size} does not apply to signals and is ignored",
                stacklevel=2,
            )
        size = None
    else:
        size = size or spec.default_size

    path: Path | None = None
    if spec.find is not None:
        if data_dir is None:
            raise DataError(
                f"{key_name}: no data directory given; pass --data-dir PATH "
                f"(data_dir=PATH) where PATH holds {spec.layout}"
            )
        path = as_path(data_dir)
        if not path.exists() and not download:
            raise DataError(
                f"{key_name}: data directory {path} does not exist; put {spec.layout} there"
            )

    # Key on where the data were found, so the parent folder and the dataset folder
    # itself share one cached copy.
    located = spec.find(path) if path is not None and path.exists() else None
    where = located or path
    key = (key_name, None if where is None else str(where), size)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            log.debug("%s: using the copy loaded before (%s)", key_name, _cache[key].source)
            return _cache[key]
        dataset = spec.load(path, size, download)
        _cache[key] = dataset
        while len(_cache) > _CACHE_ENTRIES:
            _cache.popitem(last=False)
    return dataset


def clear_dataset_cache() -> None:
    """Forget every dataset :func:`load_dataset` keeps in memory."""
    with _cache_lock:
        _cache.clear()


def describe_datasets(data_dir: str | os.PathLike[str] | None) -> list[dict]:
    """Say which datasets are known and which are present, without loading any.

    Presence means the expected files exist; their content is checked on loading.

    Args:
        data_dir: The data directory to look in, or ``None``.

    Returns:
        One dict per dataset, in :func:`available_datasets` order, with the keys
        ``name``, ``description``, ``present`` (bool) and ``location`` (where the data
        were found, or where they are expected).
    """
    path = None if data_dir is None else as_path(data_dir)
    entries = []
    for name, spec in _REGISTRY.items():
        if spec.find is None:
            present, location = True, "embedded in scikit-learn"
        elif path is None:
            present, location = False, "no --data-dir given"
        else:
            found = spec.find(path) if path.is_dir() or path.is_file() else None
            present = found is not None
            location = str(found) if found is not None else f"not found in {path}"
        entries.append(
            {
                "name": name,
                "description": spec.description,
                "present": present,
                "location": location,
            }
        )
    return entries
