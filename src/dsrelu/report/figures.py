"""Figures of the report, drawn with matplotlib's object API (no pyplot, no global state).

Every figure is a :class:`matplotlib.figure.Figure` built by a ``*_figure`` function
and written by :func:`save_figure`, as PNG or PDF by the file's suffix. DSReLU is
always drawn in red.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ..activation import DEFAULT_A, DEFAULT_B, DEFAULT_K, slope_at
from ..errors import ConfigError
from .load import DIVERGED, REFERENCE, RunData
from .stats import mean_std

__all__ = [
    "FIGURE_FORMATS",
    "activation_colors",
    "curves_figure",
    "epoch_time_figure",
    "plot_slope",
    "save_figure",
    "slope_figure",
]

log = logging.getLogger(__name__)

#: File suffixes :func:`save_figure` accepts, with the format they select.
FIGURE_FORMATS = {".png": "png", ".pdf": "pdf"}

_REFERENCE_COLOR = "#d62728"
# matplotlib's tab10 without its red, then a few more distinct colours.
_OTHER_COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#000000",
    "#aec7e8",
    "#98df8a",
)
_PNG_DPI = 120


def _check_positive(name: str, value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a positive finite number, got {value!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise ConfigError(f"{name} must be a positive finite number, got {value!r}")
    return number


def _figure_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FIGURE_FORMATS:
        raise ConfigError(
            f"figure file {str(path)!r}: unsupported suffix {path.suffix!r}; "
            f"use one of {', '.join(FIGURE_FORMATS)}"
        )
    return FIGURE_FORMATS[suffix]


def save_figure(figure: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``figure`` to ``path`` atomically, as PNG or PDF by the suffix.

    The parent directory is created if needed.

    Returns:
        The path written.

    Raises:
        ConfigError: if the suffix is not ``.png`` or ``.pdf``.
    """
    path = Path(path)
    fmt = _figure_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            figure.savefig(handle, format=fmt, dpi=_PNG_DPI, bbox_inches="tight")
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp_name, 0o666 & ~mask)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    log.debug("wrote %s", path)
    return path


def slope_figure(
    ks: Sequence[float] = (1.0, 5.0, 10.0),
    *,
    a: float = DEFAULT_A,
    b: float = DEFAULT_B,
) -> Figure:
    """DSReLU's slope s(t) over training progress t in [0, 1], one curve per k.

    The target slopes ``a`` (initial) and ``b`` (final) are drawn as dashed lines; with
    the paper's defaults the curve does not reach them inside [0, 1].

    Raises:
        ConfigError: if ``ks`` is empty or a value of ``ks``, ``a`` or ``b`` is not a
            positive finite number.
    """
    a = _check_positive("a", a)
    b = _check_positive("b", b)
    ks = [_check_positive("k", k) for k in ks]
    if not ks:
        raise ConfigError("ks must hold at least one steepness value, got none")
    progress = np.linspace(0.0, 1.0, 201)

    figure = Figure(figsize=(6.4, 4.2))
    axes = figure.add_subplot()
    for index, k in enumerate(ks):
        values = [float(slope_at(float(t), a, b, k)) for t in progress]
        default = math.isclose(k, DEFAULT_K)
        axes.plot(
            progress,
            values,
            color=_REFERENCE_COLOR if default else _OTHER_COLORS[index % len(_OTHER_COLORS)],
            linewidth=2.0 if default else 1.4,
            label=f"k = {k:g}" + (" (default)" if default else ""),
        )
    axes.axhline(a, color="0.35", linestyle="--", linewidth=1.0)
    axes.axhline(b, color="0.35", linestyle="--", linewidth=1.0)
    axes.annotate(
        f"a = {a:.4g}",
        (0.5, a),
        xytext=(0, -12),
        textcoords="offset points",
        ha="center",
        fontsize=9,
    )
    axes.annotate(
        f"b = {b:.4g}",
        (0.0, b),
        xytext=(4, 4),
        textcoords="offset points",
        ha="left",
        fontsize=9,
    )
    axes.set_xlim(0.0, 1.0)
    axes.set_xlabel("training progress t")
    axes.set_ylabel("slope s(t) for x > 0")
    axes.set_title("DSReLU slope s(t) = a + (b − a) / (1 + exp(−k (t − 0.5)))", fontsize=10)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper right", bbox_to_anchor=(1.0, 0.92), fontsize=9)
    return figure


def plot_slope(
    out: str | os.PathLike[str],
    ks: Sequence[float] = (1.0, 5.0, 10.0),
    *,
    a: float = DEFAULT_A,
    b: float = DEFAULT_B,
) -> list[Path]:
    """Plot DSReLU's slope s(t) over training progress for several k and write it.

    Args:
        out: The file to write; ``.png`` or ``.pdf``.
        ks: Steepness values, one curve each. Default: ``(1.0, 5.0, 10.0)``.
        a: Initial target slope. Default: ``tan(85°)``.
        b: Final target slope. Default: ``tan(10°)``.

    Returns:
        The paths written (one).

    Raises:
        ConfigError: if the suffix of ``out`` is not ``.png`` or ``.pdf``, ``ks`` is
            empty, or a value of ``ks``, ``a`` or ``b`` is not a positive finite number.
    """
    path = Path(out)
    _figure_format(path)
    figure = slope_figure(ks, a=a, b=b)
    return [save_figure(figure, path)]


def activation_colors(activations: Sequence[str]) -> dict[str, str]:
    """A colour per activation: DSReLU red, the others distinct and never red."""
    colors = {}
    others = iter(range(len(activations)))
    for name in activations:
        if name == REFERENCE:
            colors[name] = _REFERENCE_COLOR
        else:
            colors[name] = _OTHER_COLORS[next(others) % len(_OTHER_COLORS)]
    return colors


_CURVE_PANELS = (
    ("train_acc", "train accuracy (%)", 100.0),
    ("val_acc", "validation accuracy (%)", 100.0),
    ("train_loss", "train loss", 1.0),
    ("val_loss", "validation loss", 1.0),
)


def curves_figure(run: RunData, dataset: str) -> Figure | None:
    """Train and validation accuracy and loss over epochs for one dataset.

    Each activation is the mean over its folds, with a band of ± one standard deviation
    where at least two folds reached that epoch. Folds that diverged are left out and
    non-finite values are skipped; the legend gives the folds drawn. Folds stop at
    different epochs, so late epochs average fewer folds.

    Returns:
        The figure, or ``None`` if the run has no ``epochs.csv`` rows for ``dataset``.
    """
    if run.epochs is None:
        return None
    frame = run.epochs[run.epochs["dataset"] == dataset]
    if frame.empty:
        return None
    diverged = {
        (row["activation"], int(row["fold"]))
        for row in run.folds.to_dict("records")
        if row["dataset"] == dataset and row["status"] == DIVERGED
    }
    colors = activation_colors(run.activations)

    figure = Figure(figsize=(11.0, 7.5), layout="constrained")
    panels = figure.subplots(2, 2, sharex=True)
    handles, labels = [], []
    for activation in run.activations:
        rows = frame[frame["activation"] == activation]
        keep = [(activation, int(fold)) not in diverged for fold in rows["fold"]]
        rows = rows[keep]
        n_folds = rows["fold"].nunique()
        is_reference = activation == REFERENCE
        # Every activation is in the legend, also one with nothing to draw ("0 folds"),
        # so a missing line reads as missing and not as hidden behind another.
        handles.append(
            Line2D(
                [],
                [],
                color=colors[activation],
                linewidth=2.2 if is_reference else 1.3,
                linestyle="-" if n_folds else ":",
            )
        )
        labels.append(f"{activation} ({n_folds} fold{'s' if n_folds != 1 else ''})")
        if rows.empty:
            continue
        for axes, (column, _, scale) in zip(panels.flat, _CURVE_PANELS, strict=True):
            data = rows[["epoch", column]].copy()
            data = data[np.isfinite(data[column])]
            if data.empty:
                continue
            grouped = data.groupby("epoch")[column]
            epochs = grouped.mean().index.to_numpy()
            mean = grouped.mean().to_numpy() * scale
            std = grouped.std(ddof=1).to_numpy() * scale
            axes.plot(
                epochs,
                mean,
                color=colors[activation],
                linewidth=2.2 if is_reference else 1.3,
                zorder=3 if is_reference else 2,
            )
            banded = ~np.isnan(std)
            if banded.any():
                axes.fill_between(
                    epochs[banded],
                    (mean - std)[banded],
                    (mean + std)[banded],
                    color=colors[activation],
                    alpha=0.15,
                    linewidth=0,
                )
    for axes, (_, ylabel, _) in zip(panels.flat, _CURVE_PANELS, strict=True):
        axes.set_ylabel(ylabel)
        axes.grid(True, alpha=0.3)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
    for axes in panels[1]:
        axes.set_xlabel("epoch")
    figure.legend(
        handles, labels, loc="outside lower center", ncols=min(6, len(labels)), fontsize=9
    )
    figure.suptitle(
        f"{dataset}: mean over folds ± 1 std per activation ({run.k} folds, diverged left out)",
        fontsize=11,
    )
    return figure


def epoch_time_figure(run: RunData) -> Figure:
    """Mean epoch time per activation, one panel per dataset, with ± 1 std over folds.

    Diverged and missing folds are left out; an activation without any finished fold
    has no bar and is marked "n/a".
    """
    colors = activation_colors(run.activations)
    n = max(1, len(run.datasets))
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    figure = Figure(figsize=(4.2 * ncols, 3.6 * nrows), layout="constrained")
    grid = np.atleast_1d(figure.subplots(nrows, ncols, squeeze=False)).ravel()
    positions = np.arange(len(run.activations))
    for axes, dataset in zip(grid, run.datasets, strict=False):
        for position, activation in zip(positions, run.activations, strict=True):
            mean, std, count = mean_std(run.fold_values(dataset, activation, "mean_epoch_time_s"))
            if count == 0:
                # Upright, just above the axis, in axes height so it never touches it.
                axes.text(
                    position,
                    0.02,
                    "n/a",
                    transform=axes.get_xaxis_transform(),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                    color="0.35",
                )
                continue
            axes.bar(
                position,
                mean,
                yerr=None if math.isnan(std) else std,
                color=colors[activation],
                capsize=3,
            )
        axes.set_xticks(positions, run.activations, rotation=45, ha="right", fontsize=8)
        axes.set_ylabel("mean epoch time (s)")
        axes.set_title(dataset, fontsize=10)
        axes.grid(True, axis="y", alpha=0.3)
    for axes in grid[len(run.datasets) :]:
        axes.set_visible(False)
    figure.suptitle("Mean epoch time per activation (± 1 std over folds)", fontsize=11)
    return figure
