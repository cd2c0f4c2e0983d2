"""Datasets for the activation comparison: a registry and one loader per dataset.

:func:`load_dataset` returns a :class:`LoadedDataset` (all samples in one tensor,
integer targets, class names and per-channel statistics) and caches it in memory;
:func:`describe_datasets` lists what is known and what is present in a data directory.

Examples:
    >>> from dsrelu.data import load_dataset
    >>> data = load_dataset("digits")
    >>> data.input_shape, data.num_classes, len(data.targets)
    ((1, 32, 32), 10, 1797)
"""

from __future__ import annotations

from .base import LoadedDataset
from .registry import available_datasets, clear_dataset_cache, describe_datasets, load_dataset

__all__ = [
    "LoadedDataset",
    "available_datasets",
    "clear_dataset_cache",
    "describe_datasets",
    "load_dataset",
]
