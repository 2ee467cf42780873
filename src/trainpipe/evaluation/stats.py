"""Statistics for the evaluate gate: Jeffreys intervals on suite scores, interval-based
win/tie/loss comparison, Pareto dominance over suites, the paired sign test, and the unbiased pass@k estimator."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Mapping, Sequence

from scipy.stats import beta

Outcome = Literal["win", "tie", "loss"]


@dataclass(frozen=True)
class SuiteResult:
    """One model on one suite: n items, mean score, sample std (ddof=1), interval [lo, hi], score sum."""

    n: int
    mean: float
    std: float
    lo: float
    hi: float
    successes: float


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")


def jeffreys_interval(successes: float, n: int, level: float = 0.8) -> tuple[float, float]:
    """Equal-tailed Jeffreys interval: quantiles of Beta(0.5 + S, 0.5 + n - S).

    S may be fractional (a sum of scores in [0, 1]). Following Brown, Cai & DasGupta (2001) the
    lower end is 0 when S == 0 and the upper end is 1 when S == n; n == 0 gives (0.0, 1.0).
    """
    _check_level(level)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if n == 0:
        return 0.0, 1.0
    if not 0.0 <= successes <= n:
        raise ValueError(f"successes must be in [0, {n}], got {successes}")
    tail = (1.0 - level) / 2.0
    a, b = successes + 0.5, n - successes + 0.5
    # The boundary convention matters: without it S == 0 would get lo > 0, excluding the observed rate.
    lo = 0.0 if successes == 0 else float(beta.ppf(tail, a, b))
    hi = 1.0 if successes == n else float(beta.ppf(1.0 - tail, a, b))
    return lo, hi


def summarize(scores: Sequence[float], level: float = 0.8) -> SuiteResult:
    """Summarise per-item scores in [0, 1]: mean, sample std (ddof=1; 0.0 when n < 2), Jeffreys interval."""
    values = [float(s) for s in scores]
    for i, s in enumerate(values):
        if not 0.0 <= s <= 1.0:  # also rejects NaN
            raise ValueError(f"score {i} must be in [0, 1], got {s}")
    n = len(values)
    total = math.fsum(values)
    mean = total / n if n else 0.0
    std = math.sqrt(math.fsum((s - mean) ** 2 for s in values) / (n - 1)) if n >= 2 else 0.0
    lo, hi = jeffreys_interval(total, n, level)
    return SuiteResult(n=n, mean=mean, std=std, lo=lo, hi=hi, successes=total)


def compare(a: SuiteResult, b: SuiteResult, margin: float = 0.0) -> Outcome:
    """Symmetric interval comparison: "win" iff a.lo - b.hi > margin, "loss" iff b.lo - a.hi > margin, else "tie"."""
    if margin < 0:
        # A negative margin would let overlapping intervals count as both a win and a loss.
        raise ValueError(f"margin must be >= 0, got {margin}")
    if a.lo - b.hi > margin:
        return "win"
    if b.lo - a.hi > margin:
        return "loss"
    return "tie"


def _outcomes(a: Mapping[str, SuiteResult], b: Mapping[str, SuiteResult], margin: float) -> list[Outcome]:
    shared = sorted(set(a) & set(b))
    return [compare(a[name], b[name], margin) for name in shared]


def dominates(a: Mapping[str, SuiteResult], b: Mapping[str, SuiteResult], margin: float = 0.0) -> bool:
    """Pareto over the suites both have: A dominates B when B wins no suite and A wins at least one."""
    outcomes = _outcomes(a, b, margin)
    return "win" in outcomes and "loss" not in outcomes


def affine_better(later: Mapping[str, SuiteResult], earlier: Mapping[str, SuiteResult], margin: float) -> bool:
    """Gate rule: the later model is better only if it wins >= 1 shared suite with the margin and loses none.

    A win needs separated intervals (later.lo - earlier.hi > margin) and a mean gain of at least margin.
    Losses are judged with margin 0, so any interval-separated regression blocks the candidate; the
    margin only makes improvements harder to claim, never regressions easier to forgive.
    """
    shared = sorted(set(later) & set(earlier))
    if any(compare(later[s], earlier[s], 0.0) == "loss" for s in shared):
        return False
    return any(
        compare(later[s], earlier[s], margin) == "win" and later[s].mean - earlier[s].mean >= margin for s in shared
    )


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct: 1 - C(n-c, k) / C(n, k).

    Uses the product form 1 - prod_{i=n-c+1}^{n} (1 - k / i), which avoids huge binomials.
    """
    if n < 1 or not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need n >= 1, 0 <= c <= n, 1 <= k <= n; got n={n}, c={c}, k={k}")
    if n - c < k:
        # Every k-subset must contain a correct sample.
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def mean_interval(values: Sequence[float], level: float = 0.8) -> tuple[float, float]:
    """Student-t interval for the mean of unbounded values (per-document NLL): mean ± t·s/√n.

    Fewer than two values carry no spread estimate, so the interval is the whole line.
    """
    from scipy.stats import t

    _check_level(level)
    n = len(values)
    if n < 2:
        return -math.inf, math.inf
    mean = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(t.ppf(0.5 + level / 2.0, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


def sign_test(later: Sequence[float], earlier: Sequence[float]) -> dict:
    """Paired comparison of two models on the same items: how many items got better and worse, and the exact
    two-sided binomial p-value of that split under "no change" (ties dropped). On 0/1 scores this is McNemar's
    exact test; on one item set it detects changes far smaller than non-overlapping intervals need."""
    from scipy.stats import binomtest

    if len(later) != len(earlier):
        raise ValueError(f"paired scores need equal lengths, got {len(later)} and {len(earlier)}")
    better = sum(a > b for a, b in zip(later, earlier))
    worse = sum(a < b for a, b in zip(later, earlier))
    p = float(binomtest(better, better + worse, 0.5).pvalue) if better + worse else 1.0
    return {"n": len(later), "better": better, "worse": worse, "p": p}
