"""Tests for evaluation.stats on hand-computed values."""

import math

import pytest
from scipy.stats import beta

from trainpipe.evaluation.stats import (
    SuiteResult,
    affine_better,
    compare,
    dominates,
    jeffreys_interval,
    pass_at_k,
    summarize,
)


def sr(lo: float, hi: float, mean: float | None = None) -> SuiteResult:
    m = (lo + hi) / 2 if mean is None else mean
    return SuiteResult(n=10, mean=m, std=0.0, lo=lo, hi=hi, successes=10 * m)


def test_jeffreys_zero_successes_lower_is_zero():
    lo, hi = jeffreys_interval(0, 10)
    assert lo == 0.0
    assert hi == pytest.approx(beta.ppf(0.9, 0.5, 10.5))


def test_jeffreys_all_successes_upper_is_one():
    lo, hi = jeffreys_interval(10, 10)
    assert hi == 1.0
    assert lo == pytest.approx(beta.ppf(0.1, 10.5, 0.5))


def test_jeffreys_symmetric_case():
    lo, hi = jeffreys_interval(5, 10)
    assert lo + hi == pytest.approx(1.0)
    assert lo < 0.5 < hi


def test_jeffreys_exact_numeric_case():
    # S=3, n=10 -> Beta(3.5, 7.5); level 0.8 -> quantiles 0.1 and 0.9.
    lo, hi = jeffreys_interval(3, 10, level=0.8)
    assert lo == pytest.approx(beta.ppf(0.1, 3.5, 7.5), abs=1e-12)
    assert hi == pytest.approx(beta.ppf(0.9, 3.5, 7.5), abs=1e-12)
    lo95, hi95 = jeffreys_interval(3, 10, level=0.95)
    assert lo95 == pytest.approx(beta.ppf(0.025, 3.5, 7.5), abs=1e-12)
    assert hi95 == pytest.approx(beta.ppf(0.975, 3.5, 7.5), abs=1e-12)


def test_jeffreys_fractional_successes_and_empty():
    lo, hi = jeffreys_interval(2.5, 4)
    assert lo == pytest.approx(beta.ppf(0.1, 3.0, 2.0))
    assert hi == pytest.approx(beta.ppf(0.9, 3.0, 2.0))
    assert jeffreys_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize("s,n,level", [(-1, 5, 0.8), (6, 5, 0.8), (1, 5, 1.0), (1, 5, 0.0), (0, -1, 0.8)])
def test_jeffreys_rejects_bad_input(s, n, level):
    with pytest.raises(ValueError):
        jeffreys_interval(s, n, level)


def test_summarize_hand_values():
    r = summarize([1.0, 0.0, 1.0, 0.5])
    assert r.n == 4 and r.successes == 2.5
    assert r.mean == pytest.approx(0.625)
    # deviations 0.375, -0.625, 0.375, -0.125 -> squares sum 0.6875; / (n-1)=3
    assert r.std == pytest.approx(math.sqrt(0.6875 / 3))
    assert (r.lo, r.hi) == pytest.approx((beta.ppf(0.1, 3.0, 2.0), beta.ppf(0.9, 3.0, 2.0)))


def test_summarize_small_and_invalid():
    one = summarize([1.0])
    assert one.std == 0.0 and one.hi == 1.0 and one.mean == 1.0
    empty = summarize([])
    assert (empty.n, empty.mean, empty.lo, empty.hi) == (0, 0.0, 0.0, 1.0)
    with pytest.raises(ValueError):
        summarize([0.5, 1.2])
    with pytest.raises(ValueError):
        summarize([float("nan")])


@pytest.mark.parametrize(
    "a,b,margin,expected",
    [
        (sr(0.6, 0.8), sr(0.3, 0.5), 0.0, "win"),  # gap 0.1
        (sr(0.6, 0.8), sr(0.3, 0.5), 0.1, "tie"),  # gap 0.1 not > 0.1
        (sr(0.6, 0.8), sr(0.3, 0.5), 0.05, "win"),
        (sr(0.3, 0.5), sr(0.6, 0.8), 0.0, "loss"),
        (sr(0.3, 0.5), sr(0.6, 0.8), 0.1, "tie"),
        (sr(0.4, 0.7), sr(0.3, 0.5), 0.0, "tie"),  # overlapping
        (sr(0.5, 0.7), sr(0.3, 0.5), 0.0, "tie"),  # touching
    ],
)
def test_compare_truth_table(a, b, margin, expected):
    assert compare(a, b, margin) == expected


def test_compare_negative_margin_rejected():
    with pytest.raises(ValueError):
        compare(sr(0.1, 0.2), sr(0.1, 0.2), -0.1)


WIN_A, WIN_B, TIE = sr(0.6, 0.8), sr(0.3, 0.5), sr(0.4, 0.6)


def test_dominates_truth_table():
    assert dominates({"x": WIN_A, "y": TIE}, {"x": WIN_B, "y": TIE})  # win + tie
    assert not dominates({"x": TIE}, {"x": TIE})  # all ties
    assert not dominates({"x": WIN_A, "y": WIN_B}, {"x": WIN_B, "y": WIN_A})  # win + loss
    assert not dominates({"x": WIN_B}, {"x": WIN_A})  # loss only
    assert not dominates({"x": WIN_A}, {"z": WIN_B})  # no shared suite
    # suites only one side has are ignored
    assert dominates({"x": WIN_A, "only_a": WIN_B}, {"x": WIN_B, "only_b": WIN_A})
    # margin 0.1 turns the 0.1-gap win into a tie
    assert not dominates({"x": WIN_A}, {"x": WIN_B}, margin=0.1)


def test_affine_better():
    assert affine_better({"x": WIN_A, "y": TIE}, {"x": WIN_B, "y": TIE}, margin=0.05)
    assert not affine_better({"x": WIN_A}, {"x": WIN_B}, margin=0.1)  # gap not beyond margin
    assert not affine_better({"x": TIE}, {"x": TIE}, margin=0.0)
    # a clear win elsewhere does not excuse a separated regression, even one smaller than the margin
    big_a, big_b = sr(0.8, 0.9), sr(0.1, 0.2)
    small_lo, small_hi = sr(0.40, 0.50), sr(0.52, 0.60)
    assert not affine_better({"x": big_a, "y": small_lo}, {"x": big_b, "y": small_hi}, margin=0.05)
    # artificial: interval gap 0.11 > margin 0.105, but mean gain 0.60 - 0.50 = 0.10 < margin -> not better
    odd_later, odd_earlier = sr(0.61, 0.9, mean=0.60), sr(0.1, 0.5, mean=0.50)
    assert compare(odd_later, odd_earlier, 0.105) == "win"
    assert not affine_better({"x": odd_later}, {"x": odd_earlier}, margin=0.105)
    assert affine_better({"x": odd_later}, {"x": odd_earlier}, margin=0.095)


def test_pass_at_k_hand_cases():
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - 3 / 10)  # 1 - C(3,2)/C(5,2)
    assert pass_at_k(5, 2, 1) == pytest.approx(2 / 5)
    assert pass_at_k(10, 3, 4) == pytest.approx(1 - 35 / 210)  # C(7,4)=35, C(10,4)=210
    assert pass_at_k(5, 0, 3) == 0.0
    assert pass_at_k(5, 4, 2) == 1.0  # n - c = 1 < k
    assert pass_at_k(5, 5, 5) == 1.0
    assert pass_at_k(200, 10, 100) == pytest.approx(1 - math.comb(190, 100) / math.comb(200, 100))


@pytest.mark.parametrize("n,c,k", [(0, 0, 1), (5, 6, 1), (5, -1, 1), (5, 2, 0), (5, 2, 6)])
def test_pass_at_k_rejects_bad_input(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_mean_interval_is_student_t():
    from scipy.stats import t

    from trainpipe.evaluation.stats import mean_interval

    lo, hi = mean_interval([1.0, 2.0, 3.0], 0.8)  # mean 2, sd 1, n 3
    half = t.ppf(0.9, 2) / math.sqrt(3)
    assert lo == pytest.approx(2 - half) and hi == pytest.approx(2 + half)
    assert half == pytest.approx(1.0887, abs=1e-4)
    assert mean_interval([4.0], 0.8) == (-math.inf, math.inf)
    with pytest.raises(ValueError):
        mean_interval([1.0, 2.0], 1.5)
