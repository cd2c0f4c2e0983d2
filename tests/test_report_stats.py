"""The numbers behind the report: improvement, mean/std, Holm, paired fold tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from dsrelu.report import holm, improvement, mean_std, paired_statistics, wilcoxon_min_p


def test_improvement_is_relative_percent() -> None:
    # (0.95 - 0.91) / 0.91 * 100, worked by hand: 0.04 / 0.91 = 0.043956...
    assert improvement(0.95, 0.91) == pytest.approx(4.395604395604, rel=1e-12)
    assert improvement(0.80, 0.90) == pytest.approx(-11.111111111111, rel=1e-12)
    assert improvement(0.5, 0.5) == 0.0


@pytest.mark.parametrize(("reference", "other"), [(math.nan, 0.9), (0.9, math.nan), (0.9, 0.0)])
def test_improvement_undefined_is_nan(reference: float, other: float) -> None:
    assert math.isnan(improvement(reference, other))


def test_mean_std_skips_nan_and_uses_sample_std() -> None:
    mean, std, n = mean_std([0.9, math.nan, 0.8, 0.7])
    assert n == 3
    assert mean == pytest.approx(0.8)
    assert std == pytest.approx(0.1)  # sqrt(((0.1)^2 + 0 + (0.1)^2) / 2)
    assert mean_std([0.5])[1] != mean_std([0.5])[1]  # NaN: one value has no spread
    mean, std, n = mean_std([math.nan, math.nan])
    assert n == 0 and math.isnan(mean) and math.isnan(std)


def _holm_by_definition(pvalues: list[float]) -> list[float]:
    """Holm's adjusted p: max over the p-values ranked at or before it of (m - j + 1) p_j."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    for position, index in enumerate(order):
        adjusted[index] = min(1.0, max((m - j) * pvalues[order[j]] for j in range(position + 1)))
    return adjusted


def test_holm_matches_its_definition() -> None:
    pvalues = [0.01, 0.04, 0.03, 0.20, 0.005]
    assert holm(pvalues) == pytest.approx(_holm_by_definition(pvalues))
    # By hand: sorted 0.005, 0.01, 0.03, 0.04, 0.2 times 5, 4, 3, 2, 1.
    assert holm(pvalues) == pytest.approx([0.04, 0.09, 0.09, 0.2, 0.025])


def test_holm_leaves_nan_out_of_the_family() -> None:
    adjusted = holm([0.02, math.nan, 0.04])
    assert adjusted[0] == pytest.approx(0.04)
    assert math.isnan(adjusted[1])
    assert adjusted[2] == pytest.approx(0.04)


@pytest.mark.parametrize(("n", "expected"), [(0, 1.0), (1, 1.0), (5, 0.0625), (6, 0.03125)])
def test_wilcoxon_min_p(n: int, expected: float) -> None:
    assert wilcoxon_min_p(n) == expected


def test_wilcoxon_min_p_is_what_scipy_gives_for_five_equal_signs() -> None:
    assert scipy_stats.wilcoxon([0.01, 0.02, 0.03, 0.04, 0.05]).pvalue == pytest.approx(
        wilcoxon_min_p(5)
    )


def test_paired_statistics_match_scipy() -> None:
    reference = [0.92, 0.90, 0.93, 0.89, 0.95, 0.91]
    other = [0.90, 0.88, 0.91, 0.87, 0.89, 0.92]
    result = paired_statistics(reference, other)

    diff = np.array(reference) - np.array(other)
    n = diff.size
    sd = diff.std(ddof=1)
    half = scipy_stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    assert result.n == 6
    assert result.mean_diff == pytest.approx(diff.mean())
    assert result.sd_diff == pytest.approx(sd)
    assert result.ci_low == pytest.approx(diff.mean() - half)
    assert result.ci_high == pytest.approx(diff.mean() + half)
    assert result.t_p == pytest.approx(scipy_stats.ttest_rel(reference, other).pvalue)
    assert result.wilcoxon_p == pytest.approx(scipy_stats.wilcoxon(diff).pvalue)
    assert result.cohen_dz == pytest.approx(diff.mean() / sd)
    assert result.reasons == {}


def test_paired_statistics_drop_pairs_with_a_missing_side() -> None:
    result = paired_statistics([0.9, math.nan, 0.8, 0.85], [0.7, 0.6, math.nan, 0.8])
    assert result.n == 2
    assert result.mean_diff == pytest.approx((0.2 + 0.05) / 2)
    assert result.t_p == pytest.approx(scipy_stats.ttest_rel([0.9, 0.85], [0.7, 0.8]).pvalue)


def test_paired_statistics_equal_differences_are_not_available() -> None:
    # Float noise makes these differences differ in the last bit; scipy's t-test would
    # then report a huge t and p near 0.
    reference = [0.91, 0.81, 0.71, 0.61, 0.51]
    other = [0.90, 0.80, 0.70, 0.60, 0.50]
    result = paired_statistics(reference, other)
    assert result.mean_diff == pytest.approx(0.01)
    assert result.sd_diff == 0.0
    for figure in ("t_p", "cohen_dz", "ci_low", "ci_high"):
        assert math.isnan(getattr(result, figure))
    assert result.reasons["t_p"] == "the differences have no spread (all equal)"
    # Five equal positive differences: the Wilcoxon test can still rank them.
    assert result.wilcoxon_p == pytest.approx(scipy_stats.wilcoxon([0.01] * 5).pvalue)


def test_paired_statistics_identical_values() -> None:
    result = paired_statistics([0.9, 0.8, 0.7], [0.9, 0.8, 0.7])
    assert result.mean_diff == 0.0
    assert math.isnan(result.t_p) and math.isnan(result.wilcoxon_p)
    assert result.reasons["wilcoxon_p"] == "all differences are zero"


@pytest.mark.parametrize(
    ("reference", "other", "n", "reason"),
    [
        ([0.9], [0.8], 1, "only one fold"),
        ([0.9, math.nan], [math.nan, 0.8], 0, "no fold where both"),
    ],
)
def test_paired_statistics_too_few_pairs(
    reference: list[float], other: list[float], n: int, reason: str
) -> None:
    result = paired_statistics(reference, other)
    assert result.n == n
    assert math.isnan(result.t_p) and math.isnan(result.wilcoxon_p)
    assert result.reasons["t_p"].startswith(reason)


def test_paired_statistics_reject_unequal_lengths() -> None:
    with pytest.raises(ValueError, match=r"equal length, got shapes \(2,\) and \(3,\)"):
        paired_statistics([0.1, 0.2], [0.1, 0.2, 0.3])
