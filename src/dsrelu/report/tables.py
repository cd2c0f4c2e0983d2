"""The report's tables, computed from a loaded run.

Each builder takes a :class:`~dsrelu.report.load.RunData` and returns a
:class:`~dsrelu.report.document.Table`; the figures behind the tables are also
available as data (:func:`improvements`, :func:`comparisons`, :func:`summary_rows`) so
that they can be checked without parsing text.

Accuracy, F1 and AUC are shown in percent (fraction x 100); differences between them
in percentage points. A cell of a fold that diverged or is missing shows that word,
never a number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..results import METRICS, SPLITS
from .document import DIVERGED, LABEL, MISSING, NOT_AVAILABLE, Cell, Table
from .load import DONE, REFERENCE, RunData
from .stats import PairedStatistics, holm, improvement, mean_std, paired_statistics, wilcoxon_min_p

__all__ = [
    "BASIS_BEST",
    "BASIS_MEAN",
    "Comparison",
    "Improvement",
    "TABLE_METRICS",
    "comparisons",
    "epoch_time_table",
    "epoch_time_ratio_table",
    "fold_table",
    "improvement_table",
    "improvements",
    "mean_table",
    "protocol_label",
    "statistics_notes",
    "statistics_table",
    "summary_rows",
    "SUMMARY_COLUMNS",
]

#: The metrics of the paper's tables.
TABLE_METRICS = ("acc", "f1", "auc")
#: Improvement basis of the paper's Eq. 1: each activation's best fold.
BASIS_BEST = "best fold"
#: Improvement basis on each activation's mean over folds.
BASIS_MEAN = "mean over folds"

_METRIC_LABELS = {"loss": "Loss", "acc": "Acc", "f1": "F1", "auc": "AUC"}
_SPLIT_LABELS = {"train": "Train", "val": "Val", "test": "Test"}
_BASIS_LABELS = {
    BASIS_BEST: "best fold (paper's Eq. 1)",
    BASIS_MEAN: "mean over folds (fairer)",
}
_PERCENT = 100.0

#: Columns of ``summary.csv``.
SUMMARY_COLUMNS = (
    "dataset",
    "activation",
    "split",
    "metric",
    "k",
    "n_values",
    "n_diverged",
    "n_missing",
    "mean",
    "std",
    "min",
    "max",
    "select_on",
)


def protocol_label(run: RunData) -> str:
    """The warning appended to every table title of a run that selected on the held-out fold.

    Returns:
        An empty string for the honest protocol.
    """
    if not run.optimistic:
        return ""
    return " [OPTIMISTIC: models were selected on the held-out fold (select_on=held-out)]"


def _title(run: RunData, text: str) -> str:
    return text + protocol_label(run)


def _label(text: str) -> Cell:
    return Cell(text, state=LABEL)


def _absent_cell(statuses: Sequence[str]) -> Cell:
    """The word for an aggregate without any value, from the folds' statuses."""
    if DIVERGED in statuses:
        return Cell(DIVERGED, state=DIVERGED)
    if all(status == MISSING for status in statuses):
        return Cell(MISSING, state=MISSING)
    return Cell(NOT_AVAILABLE, state=NOT_AVAILABLE)


def _statuses(run: RunData, dataset: str, activation: str) -> list[str]:
    return [run.status(dataset, activation, fold) for fold in range(1, run.k + 1)]


def _shown(cell: Cell) -> float:
    """The leading number a cell shows, as rounded on screen."""
    return float(cell.text.split(" ")[0].rstrip("%x×"))


def _mark_best(cells: list[Cell], *, lower: bool = False, eligible: Sequence[bool] = ()) -> None:
    """Mark, in place, the cells whose shown value is the best; ties are all marked."""
    allowed = list(eligible) or [True] * len(cells)
    candidates = [i for i, cell in enumerate(cells) if cell.state == "number" and allowed[i]]
    if not candidates:
        return
    shown = {i: _shown(cells[i]) for i in candidates}
    best = min(shown.values()) if lower else max(shown.values())
    for i in candidates:
        if shown[i] == best:
            cells[i] = replace(cells[i], best=True)


def _fold_cell(run: RunData, dataset: str, activation: str, fold: int, column: str) -> Cell:
    status = run.status(dataset, activation, fold)
    if status != DONE:
        return Cell(status, state=status)
    value = run.fold_value(dataset, activation, fold, column)
    if math.isnan(value):
        return Cell(NOT_AVAILABLE, state=NOT_AVAILABLE)
    return Cell(f"{value * _PERCENT:.2f}", value * _PERCENT)


def fold_table(run: RunData, dataset: str) -> Table:
    """The paper's layout: Train / Val / Test x Acc / F1 / AUC x fold, in percent.

    Columns are the activations in run order; the best value of each row is marked.
    Train and Val are taken at the restored best epoch, Test is the held-out fold at
    that epoch.
    """
    rows = []
    breaks = set()
    for split in SPLITS:
        for metric in TABLE_METRICS:
            breaks.add(len(rows))
            column = f"{split}_{metric}"
            for fold in range(1, run.k + 1):
                cells = [
                    _fold_cell(run, dataset, activation, fold, column)
                    for activation in run.activations
                ]
                _mark_best(cells)
                labels = [_label(_SPLIT_LABELS[split]), _label(_METRIC_LABELS[metric])]
                rows.append((*labels, _label(str(fold)), *cells))
    notes = [
        "Values in % (fraction x 100); the best value of each row is in bold.",
        "Train and Val at the restored best epoch; Test is the held-out fold at that epoch.",
    ]
    if run.optimistic:
        notes.append(
            "The best epoch was chosen on the held-out fold itself, so Test is optimistic."
        )
    return Table(
        key=f"{dataset}-folds",
        title=_title(run, f"{dataset}: accuracy, F1 and AUC per fold (%)"),
        header=("Split", "Metric", "Fold", *run.activations),
        rows=tuple(rows),
        n_labels=3,
        notes=tuple(notes),
        breaks=frozenset(breaks),
    )


def _mean_cell(run: RunData, dataset: str, activation: str, column: str) -> Cell:
    mean, std, n = mean_std(run.fold_values(dataset, activation, column))
    if n == 0:
        return _absent_cell(_statuses(run, dataset, activation))
    text = f"{mean * _PERCENT:.2f}"
    if n >= 2:
        text += f" ± {std * _PERCENT:.2f}"
    if n < run.k:
        text += f" ({n}/{run.k})"
    return Cell(text, mean * _PERCENT, std * _PERCENT)


def mean_table(run: RunData, dataset: str) -> Table:
    """Mean ± sample standard deviation over folds, in percent, per split and metric.

    A mean over fewer than k folds is shown with ``(n/k)`` and is not eligible for
    best; the best complete mean of each row is marked.
    """
    rows = []
    for split in SPLITS:
        for metric in TABLE_METRICS:
            column = f"{split}_{metric}"
            cells = [_mean_cell(run, dataset, activation, column) for activation in run.activations]
            complete = [
                mean_std(run.fold_values(dataset, activation, column))[2] == run.k
                for activation in run.activations
            ]
            _mark_best(cells, eligible=complete)
            rows.append((_label(_SPLIT_LABELS[split]), _label(_METRIC_LABELS[metric]), *cells))
    notes = [
        f"Mean ± standard deviation (ddof=1) over the k = {run.k} folds, in %; "
        "the best complete mean of each row is in bold.",
        "(n/k): mean over the n folds that finished; the others diverged or are missing, "
        "and such a mean is not eligible for best.",
    ]
    return Table(
        key=f"{dataset}-means",
        title=_title(run, f"{dataset}: mean ± std over folds (%)"),
        header=("Split", "Metric", *run.activations),
        rows=tuple(rows),
        n_labels=2,
        notes=tuple(notes),
        breaks=frozenset(range(0, len(rows), len(TABLE_METRICS))),
    )


@dataclass(frozen=True)
class Improvement:
    """DSReLU's improvement over the best other activation (the paper's Eq. 1).

    Attributes:
        dataset: The dataset.
        metric: ``"acc"``, ``"f1"`` or ``"auc"``, on the held-out fold.
        basis: :data:`BASIS_BEST` (each activation's maximum over folds, as the paper
            did) or :data:`BASIS_MEAN` (its mean over folds).
        reference_value: DSReLU's value, a fraction (NaN if it has none).
        reference_n: Folds behind ``reference_value``.
        other_activation: The best other activation on this basis (``None`` if none
            has a value).
        other_value: Its value, a fraction.
        other_n: Folds behind ``other_value``.
        percent: :func:`~dsrelu.report.stats.improvement` of the two, in percent.
        reason: Why ``percent`` is NaN, or ``None``.
    """

    dataset: str
    metric: str
    basis: str
    reference_value: float
    reference_n: int
    other_activation: str | None
    other_value: float
    other_n: int
    percent: float
    reason: str | None


def _aggregate(values: Sequence[float], basis: str) -> tuple[float, int]:
    present = [value for value in values if not math.isnan(value)]
    if not present:
        return math.nan, 0
    if basis == BASIS_BEST:
        return max(present), len(present)
    return mean_std(present)[0], len(present)


def improvements(run: RunData, dataset: str, reference: str = REFERENCE) -> list[Improvement]:
    """DSReLU's improvement per held-out metric, on both bases.

    For each metric and basis, ``A_ref`` is the reference activation's value and
    ``A_other`` the largest value among the other activations (the first in run order
    on a tie); diverged and missing folds are left out.

    Args:
        run: The loaded run.
        dataset: The dataset.
        reference: The activation promoted (DSReLU).

    Returns:
        One entry per metric (``acc``, ``f1``, ``auc``) and basis (best fold first);
        empty if ``reference`` is not in the run.
    """
    if reference not in run.activations:
        return []
    results = []
    others = [name for name in run.activations if name != reference]
    for metric in TABLE_METRICS:
        column = f"test_{metric}"
        for basis in (BASIS_BEST, BASIS_MEAN):
            ref_value, ref_n = _aggregate(run.fold_values(dataset, reference, column), basis)
            best_name: str | None = None
            best_value, best_n = math.nan, 0
            for name in others:
                value, n = _aggregate(run.fold_values(dataset, name, column), basis)
                if n and (best_name is None or value > best_value):
                    best_name, best_value, best_n = name, value, n
            reason = None
            if ref_n == 0:
                reason = f"{reference} has no finished fold"
            elif best_name is None:
                reason = "no other activation has a finished fold"
            elif best_value == 0:
                reason = f"the value of {best_name} is 0"
            results.append(
                Improvement(
                    dataset=dataset,
                    metric=metric,
                    basis=basis,
                    reference_value=ref_value,
                    reference_n=ref_n,
                    other_activation=best_name,
                    other_value=best_value,
                    other_n=best_n,
                    percent=improvement(ref_value, best_value),
                    reason=reason,
                )
            )
    return results


def _value_cell(value: float, n: int, k: int) -> Cell:
    if math.isnan(value):
        return Cell(NOT_AVAILABLE, state=NOT_AVAILABLE)
    text = f"{value * _PERCENT:.2f}"
    if n < k:
        text += f" ({n}/{k})"
    return Cell(text, value * _PERCENT)


def improvement_table(run: RunData, dataset: str, reference: str = REFERENCE) -> Table | None:
    """The paper's improvement (Eq. 1) beside the same formula on means over folds.

    Returns:
        The table, or ``None`` if ``reference`` is not in the run.
    """
    entries = improvements(run, dataset, reference)
    if not entries:
        return None
    rows = []
    reasons = []
    for entry in entries:
        if math.isnan(entry.percent):
            change = Cell(NOT_AVAILABLE, state=NOT_AVAILABLE)
            reasons.append(
                f"{_METRIC_LABELS[entry.metric]}, {entry.basis}: n/a because {entry.reason}."
            )
        else:
            change = Cell(f"{entry.percent:+.2f}", entry.percent)
        rows.append(
            (
                _label(_METRIC_LABELS[entry.metric]),
                _label(_BASIS_LABELS[entry.basis]),
                _value_cell(entry.reference_value, entry.reference_n, run.k),
                _label(entry.other_activation or NOT_AVAILABLE),
                _value_cell(entry.other_value, entry.other_n, run.k),
                change,
            )
        )
    notes = [
        f"Improvement = (A_{reference} − A_other) / A_other × 100 %, on the held-out fold; "
        "values in %.",
        f"Best fold (the paper's Eq. 1): A is an activation's maximum over folds and A_other "
        f"the largest such value among the activations other than {reference}. "
        "It rewards a single lucky fold.",
        "Mean over folds: the same formula on means over folds, the fairer figure.",
        "(n/k): only n of the k folds finished; diverged and missing folds are left out.",
        *reasons,
    ]
    if run.optimistic:
        notes.append("Models were selected on the held-out fold, so both figures are optimistic.")
    return Table(
        key=f"{dataset}-improvement",
        title=_title(run, f"{dataset}: improvement of {reference} over the best other activation"),
        header=("Metric", "Basis", reference, "Best other", "Other", "Improvement (%)"),
        rows=tuple(rows),
        n_labels=2,
        notes=tuple(notes),
        breaks=frozenset(range(0, len(rows), 2)),
    )


@dataclass(frozen=True)
class Comparison:
    """DSReLU against one other activation over paired folds, on one held-out metric.

    Attributes:
        dataset: The dataset.
        metric: ``"acc"``, ``"f1"`` or ``"auc"``.
        other: The activation compared with.
        stats: The paired statistics of the fractions (differences are DSReLU − other).
        t_p_holm: The t-test p-value after Holm's correction over the comparisons of
            this dataset and metric.
        wilcoxon_p_holm: The Wilcoxon p-value after the same correction.
    """

    dataset: str
    metric: str
    other: str
    stats: PairedStatistics
    t_p_holm: float
    wilcoxon_p_holm: float


def comparisons(
    run: RunData, dataset: str, metric: str, reference: str = REFERENCE
) -> list[Comparison]:
    """Paired statistics of ``reference`` against each other activation on one metric.

    Folds are paired by number; a fold where either side diverged or is missing is
    dropped. Holm's correction runs over the comparisons of this dataset and metric
    (one per other activation), separately for the t-test and the Wilcoxon test.

    Args:
        run: The loaded run.
        dataset: The dataset.
        metric: ``"acc"``, ``"f1"`` or ``"auc"`` (of the held-out fold).
        reference: The activation compared with all others (DSReLU).

    Returns:
        One comparison per other activation, in run order; empty if ``reference`` is
        not in the run.

    Raises:
        ValueError: if ``metric`` is not one of the metrics recorded.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    if reference not in run.activations:
        return []
    column = f"test_{metric}"
    ref_values = run.fold_values(dataset, reference, column)
    others = [name for name in run.activations if name != reference]
    results = [
        paired_statistics(ref_values, run.fold_values(dataset, name, column)) for name in others
    ]
    t_holm = holm([result.t_p for result in results])
    w_holm = holm([result.wilcoxon_p for result in results])
    return [
        Comparison(dataset, metric, name, result, t_adjusted, w_adjusted)
        for name, result, t_adjusted, w_adjusted in zip(
            others, results, t_holm, w_holm, strict=True
        )
    ]


def _p_text(p: float) -> str:
    if math.isnan(p):
        return NOT_AVAILABLE
    if p < 1e-4:
        return f"{p:.1e}"
    return f"{p:.4f}"


def _p_cell(p: float) -> Cell:
    if math.isnan(p):
        return Cell(NOT_AVAILABLE, state=NOT_AVAILABLE)
    return Cell(_p_text(p), p)


def statistics_notes(k: int, n_comparisons: int) -> list[str]:
    """Plain sentences on what the tests can say with ``k`` folds.

    Args:
        k: Number of folds (the most pairs a comparison can have).
        n_comparisons: Comparisons in one Holm family.

    Returns:
        The sentences, to print under the statistics table.
    """
    notes = [
        "Differences are DSReLU minus the other activation on the held-out fold, in "
        "percentage points, over the folds both finished (n). p-values are two-sided; "
        f"Holm's correction runs over the {n_comparisons} comparison(s) of one dataset "
        "and metric. d_z = mean difference / standard deviation of the differences "
        "(Cohen's d for paired data).",
    ]
    if k < 2:
        notes.append(f"With k = {k} fold there is nothing to pair: no test can be run.")
        return notes
    smallest = wilcoxon_min_p(k)
    if smallest >= 0.05:
        notes.append(
            f"k = {k} is too small for the Wilcoxon signed-rank test to mean anything: "
            f"with {k} pairs its smallest possible two-sided p-value is {smallest:.4g} "
            f"(2/2^{k}), so it cannot fall below 0.05 whatever the data; after Holm over "
            f"{n_comparisons} comparison(s) the smallest is "
            f"{min(1.0, n_comparisons * smallest):.4g}. It needs at least 6 pairs."
        )
    if k < 10:
        notes.append(
            f"With only k = {k} pairs the t-test rests on the differences being normally "
            "distributed, which so few values cannot check; treat its p-values as rough."
        )
    notes.append(
        "Folds share most of their training data, so their results are not independent; "
        "both tests tend to overstate significance."
    )
    return notes


def statistics_table(run: RunData, dataset: str, reference: str = REFERENCE) -> Table | None:
    """Paired fold statistics of DSReLU against every other activation, per metric.

    Returns:
        The table, or ``None`` if ``reference`` is not in the run or is alone in it.
    """
    if reference not in run.activations or len(run.activations) < 2:
        return None
    rows = []
    for metric in TABLE_METRICS:
        for comparison in comparisons(run, dataset, metric, reference):
            stats = comparison.stats
            if math.isnan(stats.mean_diff):
                mean_cell = Cell(NOT_AVAILABLE, state=NOT_AVAILABLE)
            else:
                mean_cell = Cell(f"{stats.mean_diff * _PERCENT:+.2f}", stats.mean_diff * _PERCENT)
            if math.isnan(stats.ci_low):
                ci_cell = Cell(NOT_AVAILABLE, state=NOT_AVAILABLE)
            else:
                ci_cell = Cell(
                    f"[{stats.ci_low * _PERCENT:+.2f}, {stats.ci_high * _PERCENT:+.2f}]",
                    stats.ci_low * _PERCENT,
                    stats.ci_high * _PERCENT,
                    state=LABEL,
                )
            if math.isnan(stats.cohen_dz):
                dz_cell = Cell(NOT_AVAILABLE, state=NOT_AVAILABLE)
            else:
                dz_cell = Cell(f"{stats.cohen_dz:+.2f}", stats.cohen_dz)
            why = "; ".join(
                f"{name}: {text}" for name, text in _reason_items(stats.reasons).items()
            )
            rows.append(
                (
                    _label(_METRIC_LABELS[metric]),
                    _label(comparison.other),
                    Cell(str(stats.n), float(stats.n)),
                    mean_cell,
                    ci_cell,
                    dz_cell,
                    _p_cell(stats.t_p),
                    _p_cell(comparison.t_p_holm),
                    _p_cell(stats.wilcoxon_p),
                    _p_cell(comparison.wilcoxon_p_holm),
                    _label(why or "–"),
                )
            )
    n_others = len(run.activations) - 1
    return Table(
        key=f"{dataset}-statistics",
        title=_title(
            run, f"{dataset}: {reference} against each other activation over paired folds"
        ),
        header=(
            "Metric",
            f"{reference} vs",
            "n",
            "Mean diff (pp)",
            "95% CI (pp)",
            "d_z",
            "t-test p",
            "t-test p (Holm)",
            "Wilcoxon p",
            "Wilcoxon p (Holm)",
            "Why n/a",
        ),
        rows=tuple(rows),
        n_labels=2,
        notes=tuple(statistics_notes(run.k, n_others)),
        breaks=frozenset(range(0, len(rows), max(1, n_others))),
    )


_REASON_NAMES = {
    "mean_diff": "mean",
    "ci": "CI",
    "t_p": "t-test",
    "wilcoxon_p": "Wilcoxon",
    "cohen_dz": "d_z",
}


def _reason_items(reasons: dict[str, str]) -> dict[str, str]:
    """Group figures that are n/a for the same reason: ``"CI, t-test": "..."``."""
    grouped: dict[str, list[str]] = {}
    for key, text in reasons.items():
        grouped.setdefault(text, []).append(_REASON_NAMES.get(key, key))
    return {", ".join(names): text for text, names in grouped.items()}


def _mean_time(run: RunData, dataset: str, activation: str) -> tuple[float, float, int]:
    return mean_std(run.fold_values(dataset, activation, "mean_epoch_time_s"))


def _seconds(value: float) -> str:
    """Four significant digits, trailing zeros kept: 1.000, 0.05123, 61.20, 1234."""
    if value <= 0 or not math.isfinite(value):
        return f"{value:.3f}"
    decimals = max(0, 3 - math.floor(math.log10(value)))
    return f"{value:.{decimals}f}"


def epoch_time_table(run: RunData) -> Table:
    """Mean epoch time in seconds, datasets x activations, the fastest of each row marked.

    Each cell is the mean over finished folds of the fold's ``mean_epoch_time_s``.
    """
    rows = []
    for dataset in run.datasets:
        cells = []
        for activation in run.activations:
            mean, _, n = _mean_time(run, dataset, activation)
            if n == 0:
                cells.append(_absent_cell(_statuses(run, dataset, activation)))
            else:
                text = _seconds(mean) + (f" ({n}/{run.k})" if n < run.k else "")
                cells.append(Cell(text, mean))
        _mark_best(cells, lower=True)
        rows.append((_label(dataset), *cells))
    return Table(
        key="epoch-time",
        title=_title(run, "Mean epoch time (s)"),
        header=("Dataset", *run.activations),
        rows=tuple(rows),
        notes=(
            "Mean over the finished folds of each fold's mean epoch time, in seconds; "
            "the fastest of each row is in bold. (n/k): only n of the k folds finished.",
        ),
    )


def epoch_time_ratio_table(run: RunData, baseline: str = "relu") -> Table | None:
    """Mean epoch time divided by ``baseline``'s (ReLU's) on the same dataset.

    Returns:
        The table, or ``None`` if ``baseline`` is not in the run.
    """
    if baseline not in run.activations:
        return None
    rows = []
    notes = [f"Mean epoch time divided by {baseline}'s on the same dataset; lowest in bold."]
    for dataset in run.datasets:
        base, _, base_n = _mean_time(run, dataset, baseline)
        cells = []
        for activation in run.activations:
            mean, _, n = _mean_time(run, dataset, activation)
            if n == 0:
                cells.append(_absent_cell(_statuses(run, dataset, activation)))
            elif base_n == 0:
                cells.append(Cell(NOT_AVAILABLE, state=NOT_AVAILABLE))
            else:
                cells.append(Cell(f"{mean / base:.2f}", mean / base))
        if base_n == 0:
            notes.append(f"{dataset}: n/a because {baseline} has no finished fold.")
        _mark_best(cells, lower=True)
        rows.append((_label(dataset), *cells))
    return Table(
        key="epoch-time-ratio",
        title=_title(run, f"Mean epoch time relative to {baseline} (x)"),
        header=("Dataset", *run.activations),
        rows=tuple(rows),
        notes=tuple(notes),
    )


def summary_rows(run: RunData) -> list[dict[str, object]]:
    """The tidy summary: one row per dataset, activation, split and metric.

    Values are fractions (accuracy, F1, AUC) or the loss as recorded, aggregated over
    the finished folds; an extra row per dataset and activation, with an empty
    ``split``, holds ``epoch_time_s``. ``n_diverged`` and ``n_missing`` count the folds
    left out. Columns are :data:`SUMMARY_COLUMNS`.

    Returns:
        The rows, as dicts; NaN where there is no value.
    """
    rows: list[dict[str, object]] = []
    for dataset in run.datasets:
        for activation in run.activations:
            statuses = _statuses(run, dataset, activation)
            counts = {
                "k": run.k,
                "n_diverged": statuses.count(DIVERGED),
                "n_missing": statuses.count(MISSING),
            }
            columns = [(split, metric) for split in SPLITS for metric in METRICS]
            columns.append(("", "epoch_time_s"))
            for split, metric in columns:
                column = f"{split}_{metric}" if split else "mean_epoch_time_s"
                values = run.fold_values(dataset, activation, column)
                mean, std, n = mean_std(values)
                present = [value for value in values if not math.isnan(value)]
                rows.append(
                    {
                        "dataset": dataset,
                        "activation": activation,
                        "split": split,
                        "metric": metric,
                        **counts,
                        "n_values": n,
                        "mean": mean,
                        "std": std,
                        "min": min(present) if present else math.nan,
                        "max": max(present) if present else math.nan,
                        "select_on": run.select_on,
                    }
                )
    return rows
