"""Stratified k-fold splits and the inner validation split, all seeded."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

from ..errors import ConfigError

__all__ = ["check_folds", "inner_split", "make_folds", "stratified_subset"]

log = logging.getLogger(__name__)


def check_folds(
    targets: np.ndarray, folds: int, class_names: Sequence[str], *, dataset: str
) -> None:
    """Check that ``folds`` stratified folds are possible for ``targets``.

    Raises:
        ConfigError: if ``folds < 2`` or no class has at least ``folds`` samples.

    Warns:
        UserWarning: naming every class with fewer samples than ``folds`` (those
        classes are missing from some held-out folds).
    """
    if folds < 2:
        raise ConfigError(f"folds must be at least 2, got {folds}")
    counts = np.bincount(targets, minlength=len(class_names))
    if counts.max() < folds:
        raise ConfigError(
            f"folds={folds} is more than any class of {dataset} has samples "
            f"(largest class: {counts.max()})"
        )
    small = [f"{class_names[c]} ({counts[c]})" for c in np.flatnonzero(counts < folds)]
    if small:
        warnings.warn(
            f"{dataset}: {len(small)} class(es) have fewer samples than folds={folds} and are "
            f"missing from some held-out folds: {', '.join(small)}",
            UserWarning,
            stacklevel=2,
        )


def make_folds(targets: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified, shuffled k-fold split: ``[(train_indices, held_out_indices), ...]``.

    The same ``targets``, ``folds`` and ``seed`` give the same folds, so every
    activation is compared on identical splits.
    """
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # check_folds already named the small classes.
        warnings.filterwarnings("ignore", message=".*least populated class.*")
        return [
            (np.sort(train), np.sort(test))
            for train, test in splitter.split(np.zeros(len(targets)), targets)
        ]


def inner_split(
    indices: np.ndarray, targets: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Hold back a stratified ``fraction`` of ``indices`` for validation.

    Classes with fewer than two samples among ``indices`` cannot be split; they stay
    wholly in the training part.

    Returns:
        ``(train_indices, validation_indices)``, each sorted.
    """
    labels = targets[indices]
    values, counts = np.unique(labels, return_counts=True)
    splittable = np.isin(labels, values[counts >= 2])
    pool, kept = indices[splittable], indices[~splittable]
    size = max(int(round(fraction * len(pool))), len(np.unique(targets[pool])))
    if len(pool) == 0 or size >= len(pool):
        raise ConfigError(
            f"a training part of {len(indices)} samples is too small for a stratified inner "
            "validation split; use more samples (--limit-samples), fewer folds, or "
            "--select-on held-out"
        )
    train, val = train_test_split(
        pool, test_size=size, stratify=targets[pool], random_state=seed, shuffle=True
    )
    return np.sort(np.concatenate([train, kept])), np.sort(val)


def stratified_subset(targets: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted indices of a stratified random subset of ``size`` samples (for trials)."""
    if size >= len(targets):
        return np.arange(len(targets))
    values, counts = np.unique(targets, return_counts=True)
    stratify = targets if counts.min() >= 2 and size >= len(values) else None
    subset, _ = train_test_split(
        np.arange(len(targets)), train_size=size, stratify=stratify, random_state=seed
    )
    return np.sort(subset)
