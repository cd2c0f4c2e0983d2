"""The numbers behind the report: means, the paper's improvement, paired fold tests.

Everything here works on plain sequences of floats, so each figure in a report can be
checked on its own. NaN marks a value that is absent (a diverged or missing fold);
functions say how they treat it.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

__all__ = [
    "CONFIDENCE",
    "PairedStatistics",
    "holm",
    "improvement",
    "mean_std",
    "paired_statistics",
    "wilcoxon_min_p",
]

log = logging.getLogger(__name__)

#: Level of the confidence interval of the mean difference.
CONFIDENCE = 0.95

# Differences whose size is below this count as exact ties. Metrics are fractions of
# a finite test set, so real differences are far larger; float noise is far smaller.
_TIE_TOLERANCE = 1e-12


def improvement(reference: float, other: float) -> float:
    """Relative improvement of ``reference`` over ``other`` in percent (the paper's Eq. 1).

    .. math::
        \\text{improvement} = \\frac{A_\\text{ref} - A_\\text{other}}{A_\\text{other}}
        \\times 100\\,\\%

    Args:
        reference: The value of the activation being promoted (DSReLU).
        other: The value it is compared with.

    Returns:
        The improvement in percent; NaN if either value is NaN or ``other`` is 0.
    """
    if math.isnan(reference) or math.isnan(other) or other == 0:
        return math.nan
    return (reference - other) / other * 100.0


def mean_std(values: Sequence[float]) -> tuple[float, float, int]:
    """Mean and sample standard deviation (``ddof=1``) of the values that are not NaN.

    Args:
        values: One value per fold; NaN for folds without a value.

    Returns:
        ``(mean, std, n)`` where ``n`` counts the values used. ``mean`` is NaN when
        ``n == 0`` and ``std`` is NaN when ``n < 2``.
    """
    array = np.asarray(values, dtype=float)
    array = array[~np.isnan(array)]
    n = int(array.size)
    mean = float(array.mean()) if n else math.nan
    std = float(array.std(ddof=1)) if n >= 2 else math.nan
    return mean, std, n


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values.

    With the ``m`` valid p-values sorted ascending, the i-th (from 1) is multiplied by
    ``m - i + 1``, capped at 1, and made non-decreasing along the sorted order.

    Args:
        pvalues: The p-values of one family of comparisons; NaN entries (tests that
            could not be run) are left out of the family and stay NaN.

    Returns:
        The adjusted p-values, in the input order.
    """
    values = [float(p) for p in pvalues]
    valid = sorted((p, i) for i, p in enumerate(values) if not math.isnan(p))
    m = len(valid)
    adjusted = [math.nan] * len(values)
    running = 0.0
    for rank, (p, index) in enumerate(valid):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[index] = running
    return adjusted


def wilcoxon_min_p(n: int) -> float:
    """The smallest two-sided p-value the exact Wilcoxon signed-rank test can give.

    With ``n`` non-zero differences, all of one sign, the exact two-sided p-value is
    ``2 / 2**n``: 0.0625 for 5 pairs, so the test cannot reach 0.05 with fewer than 6.

    Args:
        n: Number of pairs (non-zero differences).

    Returns:
        ``min(1, 2 / 2**n)``; 1.0 for ``n < 1``.
    """
    if n < 1:
        return 1.0
    return min(1.0, 2.0 / 2.0**n)


@dataclass(frozen=True)
class PairedStatistics:
    """A paired comparison of two activations over the folds both finished.

    Differences are ``reference - other``, in the units of the inputs.

    Attributes:
        n: Number of pairs (folds where both values are present).
        mean_diff: Mean of the differences.
        sd_diff: Sample standard deviation of the differences (``ddof=1``).
        ci_low: Lower end of the 95 % t confidence interval of the mean difference.
        ci_high: Upper end of that interval.
        t_p: Two-sided p-value of the paired t-test.
        wilcoxon_p: Two-sided p-value of the Wilcoxon signed-rank test.
        cohen_dz: Cohen's :math:`d_z`, ``mean_diff / sd_diff``.
        wilcoxon_min_p: The smallest p-value the exact Wilcoxon test can give with
            ``n`` pairs (see :func:`wilcoxon_min_p`).
        reasons: Why a figure is NaN, one sentence per figure, e.g.
            ``{"t_p": "the differences have no spread"}``.
    """

    n: int
    mean_diff: float
    sd_diff: float
    ci_low: float
    ci_high: float
    t_p: float
    wilcoxon_p: float
    cohen_dz: float
    wilcoxon_min_p: float
    reasons: dict[str, str]


def paired_statistics(reference: Sequence[float], other: Sequence[float]) -> PairedStatistics:
    """Compare two activations over paired folds.

    Fold ``i`` of ``reference`` is paired with fold ``i`` of ``other``; a pair with a
    NaN on either side is dropped. Then:

    - the mean difference with a 95 % confidence interval from the t distribution
      (``mean ± t(0.975, n-1) · sd / sqrt(n)``);
    - the paired t-test (:func:`scipy.stats.ttest_rel`), two-sided;
    - the Wilcoxon signed-rank test (:func:`scipy.stats.wilcoxon`, its defaults:
      zero differences dropped, exact distribution for small samples without ties),
      two-sided;
    - Cohen's :math:`d_z = \\bar d / s_d`, the effect size for paired data.

    Differences smaller than 1e-12 in size count as zero, and a set of differences
    whose spread is below 1e-12 counts as having no spread, so float noise cannot fake
    a result.

    Args:
        reference: One value per fold for the reference activation (DSReLU).
        other: One value per fold for the activation it is compared with.

    Returns:
        The comparison. A figure that cannot be computed is NaN, and
        :attr:`PairedStatistics.reasons` says why: fewer than two pairs, differences
        without spread (all equal: the t-test and :math:`d_z` divide by zero), or all
        differences zero (the Wilcoxon test has nothing to rank).

    Raises:
        ValueError: if the two sequences differ in length.
    """
    ref = np.asarray(reference, dtype=float)
    oth = np.asarray(other, dtype=float)
    if ref.shape != oth.shape or ref.ndim != 1:
        raise ValueError(
            f"reference and other must be 1-d sequences of equal length, got shapes "
            f"{ref.shape} and {oth.shape}"
        )
    keep = ~(np.isnan(ref) | np.isnan(oth))
    ref, oth = ref[keep], oth[keep]
    diff = ref - oth
    n = int(diff.size)
    reasons: dict[str, str] = {}
    nan = math.nan

    if n == 0:
        why = "no fold where both have a value"
        reasons = dict.fromkeys(("mean_diff", "ci", "t_p", "wilcoxon_p", "cohen_dz"), why)
        return PairedStatistics(0, nan, nan, nan, nan, nan, nan, nan, 1.0, reasons)

    mean_diff = float(diff.mean())
    if n < 2:
        why = "only one fold where both have a value"
        reasons = dict.fromkeys(("ci", "t_p", "wilcoxon_p", "cohen_dz"), why)
        return PairedStatistics(1, mean_diff, nan, nan, nan, nan, nan, nan, 1.0, reasons)

    sd_diff = float(diff.std(ddof=1))
    no_spread = float(np.ptp(diff)) <= _TIE_TOLERANCE
    if no_spread:
        sd_diff = 0.0
        why = "the differences have no spread (all equal)"
        ci_low = ci_high = t_p = cohen_dz = nan
        reasons.update(dict.fromkeys(("ci", "t_p", "cohen_dz"), why))
    else:
        half_width = scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * sd_diff / math.sqrt(n)
        ci_low, ci_high = mean_diff - half_width, mean_diff + half_width
        t_p = float(scipy_stats.ttest_rel(ref, oth).pvalue)
        cohen_dz = mean_diff / sd_diff

    rounded = np.where(np.abs(diff) <= _TIE_TOLERANCE, 0.0, diff)
    if no_spread:
        rounded = np.full_like(rounded, rounded[0])
    if not np.any(rounded):
        wilcoxon_p = nan
        reasons["wilcoxon_p"] = "all differences are zero"
    else:
        with warnings.catch_warnings():
            # Ties and zeros make scipy fall back to the normal approximation and say
            # so; the p-value it returns is still the one we report.
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)
            wilcoxon_p = float(scipy_stats.wilcoxon(rounded).pvalue)
    return PairedStatistics(
        n=n,
        mean_diff=mean_diff,
        sd_diff=sd_diff,
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        t_p=float(t_p),
        wilcoxon_p=wilcoxon_p,
        cohen_dz=float(cohen_dz),
        wilcoxon_min_p=wilcoxon_min_p(int(np.count_nonzero(rounded))),
        reasons=reasons,
    )
