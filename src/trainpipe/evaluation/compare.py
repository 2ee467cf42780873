"""Model comparisons for the report and the gate: per-suite win/tie/loss by interval separation, a paired sign
test on the items both models answered, Pareto dominance over all suites, the Affine margin rule, and the gate
verdict on the candidate model."""

from __future__ import annotations

import math

from trainpipe.evaluation.stats import SuiteResult, affine_better, compare, dominates, sign_test


def as_suite_result(result: dict) -> SuiteResult:
    return SuiteResult(
        n=result["n"],
        mean=result["mean"],
        std=result["std"],
        lo=result["lo"],
        hi=result["hi"],
        successes=result["successes"],
    )


def describe(result: dict) -> str:
    """One result in words: accuracy with interval, or perplexity for text suites."""
    if result["kind"] == "text":
        return f"perplexity {result['perplexity']:.2f}"
    if result["kind"] == "environment":
        return (
            f"success {result['mean']:.3f} [{result['lo']:.3f}, {result['hi']:.3f}], "
            f"return {result['mean_return']:+.3f}"
        )
    return f"{result['mean']:.3f} [{result['lo']:.3f}, {result['hi']:.3f}]"


def _item_scores(result: dict) -> dict[str, float]:
    """Per item id, the score to pair on (higher is better): the item score, or −NLL per token for text."""
    if result["kind"] == "text":
        return {it["id"]: -it["nll"] / max(1, it["tokens"]) for it in result.get("items") or ()}
    return {it["id"]: float(it["score"]) for it in result.get("items") or ()}


def _shared_scores(later: dict, earlier: dict) -> list[tuple[str, float, float]]:
    """(item id, later's score, earlier's score) for the items both results scored, matched by id."""
    a, b = _item_scores(later), _item_scores(earlier)
    return [(i, a[i], b[i]) for i in a if i in b]


def paired(later: dict, earlier: dict) -> dict | None:
    """The sign test over the items both results scored (matched by id); None without per-item records."""
    shared = _shared_scores(later, earlier)
    if not shared:
        return None
    return sign_test([x for _, x, _ in shared], [y for _, _, y in shared])


def item_changes(later: dict, earlier: dict) -> dict[str, list[str]]:
    """The ids of the items `paired` counts as better and as worse for `later` (the same scores, the same
    comparison as sign_test), for the report to list them."""
    shared = _shared_scores(later, earlier)
    return {"better": [i for i, x, y in shared if x > y], "worse": [i for i, x, y in shared if x < y]}


def comparison_pairs(chain: list[str], extras: list[str]) -> list[tuple[str, str, str]]:
    """(later, earlier, relation): each stage against the one before it, the candidate against base
    (when a stage lies between them), and every extra model against base."""
    pairs = [
        (later, earlier, "candidate" if (earlier, later) == (chain[0], chain[-1]) else "stage")
        for earlier, later in zip(chain, chain[1:])
    ]
    if len(chain) > 2:
        pairs.append((chain[-1], chain[0], "candidate"))
    return pairs + [(extra, chain[0], "extra") for extra in extras]


def compare_pair(later: dict[str, dict], earlier: dict[str, dict], margin: float) -> dict:
    """Per shared suite the outcome for `later` and the mean change; dominance both ways; a one-word verdict."""
    a = {s: as_suite_result(r) for s, r in later.items()}
    b = {s: as_suite_result(r) for s, r in earlier.items()}
    shared = [s for s in later if s in earlier]
    suites = {s: {"outcome": compare(a[s], b[s]), "delta": a[s].mean - b[s].mean} for s in shared}
    for s in shared:
        if (test := paired(later[s], earlier[s])) is not None:
            suites[s]["paired"] = test
    outcomes = {v["outcome"] for v in suites.values()}
    forward, backward = dominates(a, b), dominates(b, a)
    if forward:
        verdict = "better"
    elif backward:
        verdict = "worse"
    elif {"win", "loss"} <= outcomes:
        verdict = "mixed"
    else:
        verdict = "no separable difference"
    return {
        "suites": suites,
        "dominates": forward,
        "dominated": backward,
        "affine_better": affine_better(a, b, margin),
        "verdict": verdict,
    }


def compare_models(
    results: dict[str, dict[str, dict]], chain: list[str], extras: list[str], margin: float
) -> list[dict]:
    return [
        {
            "model": later,
            "baseline": earlier,
            "relation": relation,
            **compare_pair(results[later], results[earlier], margin),
        }
        for later, earlier, relation in comparison_pairs(chain, extras)
    ]


def suite_loss(cand: dict, base: dict, test: dict | None, margin: float, text_margin: float, p_level: float) -> bool:
    """A suite counts as lost when the drop exceeds its tolerance (`margin` accuracy points; for text suites
    `text_margin` as a relative perplexity rise) and a test finds it: separated intervals, or the paired sign
    test with more items worse than better at p < p_level."""
    tolerance = math.log1p(text_margin) if cand["kind"] == "text" else margin
    if base["mean"] - cand["mean"] <= tolerance:
        return False
    if compare(as_suite_result(cand), as_suite_result(base)) == "loss":
        return True
    return test is not None and test["worse"] > test["better"] and test["p"] < p_level


def gate_verdict(
    results: dict[str, dict[str, dict]],
    candidate: str | None,
    rule: str,
    margin: float,
    text_margin: float = 0.01,
    p_level: float = 0.1,
) -> dict:
    """Reasons to stop `candidate` from shipping: a loss against base on any suite (suite_loss), domination by
    base, or (rule affine) no margin-sized gain over base. No reasons means it passes."""
    verdict = {
        "candidate": candidate,
        "rule": rule,
        "margin": margin,
        "text_margin": text_margin,
        "p_level": p_level,
        "reasons": [],
    }
    if candidate is None or candidate == "base":
        return {**verdict, "passed": True}
    cand, base = results[candidate], results["base"]
    a = {s: as_suite_result(r) for s, r in cand.items()}
    b = {s: as_suite_result(r) for s, r in base.items() if s in cand}
    reasons = verdict["reasons"]
    if dominates(b, a):
        worse = [s for s in b if compare(b[s], a[s]) == "win"]
        reasons.append(f"{candidate} is dominated by base: base is better on {', '.join(worse)} and worse on no suite")
    for s in b:
        test = paired(cand[s], base[s])
        if suite_loss(cand[s], base[s], test, margin, text_margin, p_level):
            split = f", {test['better']} items better / {test['worse']} worse, p = {test['p']:.2g}" if test else ""
            reasons.append(f"{candidate} loses suite {s}: {describe(cand[s])} vs base {describe(base[s])}{split}")
    if rule == "affine" and not affine_better(a, b, margin):
        reasons.append(
            f"{candidate} does not beat base by margin {margin} on any suite without losing one (gate_rule affine)"
        )
    return {**verdict, "passed": not reasons}
