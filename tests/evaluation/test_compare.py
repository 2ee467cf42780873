"""Comparisons and the gate verdict on hand-built results (intervals chosen so the outcomes are known)."""

import pytest

from trainpipe.evaluation.compare import compare_models, compare_pair, comparison_pairs, gate_verdict


def res(lo, hi, mean=None, kind="task", perplexity=None):
    m = (lo + hi) / 2 if mean is None else mean
    return {
        "kind": kind,
        "n": 20,
        "mean": m,
        "std": 0.1,
        "lo": lo,
        "hi": hi,
        "successes": 20 * max(m, 0.0),
        "perplexity": perplexity,
    }


def test_pairs_each_stage_against_previous_candidate_and_extras_against_base():
    assert comparison_pairs(["base", "sft"], []) == [("sft", "base", "candidate")]
    assert comparison_pairs(["base", "cpt", "sft", "rl"], ["mine"]) == [
        ("cpt", "base", "stage"),
        ("sft", "cpt", "stage"),
        ("rl", "sft", "stage"),
        ("rl", "base", "candidate"),
        ("mine", "base", "extra"),
    ]
    assert comparison_pairs(["base"], []) == []


def test_win_and_tie_make_the_later_model_dominant():
    later = {"a": res(0.6, 0.8), "b": res(0.3, 0.5)}
    earlier = {"a": res(0.2, 0.4), "b": res(0.35, 0.55)}
    out = compare_pair(later, earlier, margin=0.1)
    assert out["suites"]["a"] == {"outcome": "win", "delta": pytest.approx(0.4)}
    assert out["suites"]["b"]["outcome"] == "tie"
    assert out["dominates"] and not out["dominated"] and out["verdict"] == "better"
    assert out["affine_better"]  # gap 0.6 - 0.4 = 0.2 > 0.1 and mean gain 0.4 >= 0.1
    assert not compare_pair(later, earlier, margin=0.25)["affine_better"]  # gap 0.2 < 0.25


@pytest.mark.parametrize(
    "b_later,verdict",
    [
        ((0.0, 0.1), "mixed"),  # a won, b lost
        ((0.3, 0.5), "better"),
    ],
)
def test_verdicts(b_later, verdict):
    later = {"a": res(0.6, 0.8), "b": res(*b_later)}
    earlier = {"a": res(0.2, 0.4), "b": res(0.3, 0.5)}
    assert compare_pair(later, earlier, 0.0)["verdict"] == verdict


def test_worse_and_no_separable_difference():
    base = {"a": res(0.5, 0.7), "b": res(0.4, 0.6)}
    assert compare_pair({"a": res(0.1, 0.3), "b": res(0.4, 0.6)}, base, 0.0)["verdict"] == "worse"
    assert compare_pair({"a": res(0.45, 0.65), "b": res(0.3, 0.5)}, base, 0.0)["verdict"] == "no separable difference"


def test_compare_models_labels_every_pair():
    results = {"base": {"a": res(0.2, 0.4)}, "sft": {"a": res(0.6, 0.8)}}
    [comp] = compare_models(results, ["base", "sft"], [], 0.0)
    assert (comp["model"], comp["baseline"], comp["relation"], comp["verdict"]) == (
        "sft",
        "base",
        "candidate",
        "better",
    )


def test_gate_fails_a_candidate_dominated_by_base():
    results = {"base": {"a": res(0.5, 0.7), "b": res(0.4, 0.6)}, "sft": {"a": res(0.0, 0.1), "b": res(0.45, 0.55)}}
    gate = gate_verdict(results, "sft", "dominance", 0.0)
    assert not gate["passed"]
    assert gate["reasons"] == [
        "sft is dominated by base: base is better on a and worse on no suite",
        "sft loses suite a: 0.050 [0.000, 0.100] vs base 0.600 [0.500, 0.700]",
    ]


def test_gate_tolerates_a_separated_loss_within_the_margin_only():
    # The candidate gains on the task suite, and loses retention by a mean drop of 0.95 - 0.7 = 0.25.
    results = {
        "base": {"task": res(0.1, 0.3), "retention": res(0.9, 1.0)},
        "sft": {"task": res(0.5, 0.7), "retention": res(0.6, 0.8)},
    }
    assert gate_verdict(results, "sft", "dominance", 0.3)["passed"]
    failed = gate_verdict(results, "sft", "dominance", 0.2)
    assert not failed["passed"] and len(failed["reasons"]) == 1
    assert failed["reasons"][0] == "sft loses suite retention: 0.700 [0.600, 0.800] vs base 0.950 [0.900, 1.000]"


def scored(scores, kind="task"):
    """A result whose per-item records drive the paired test; its interval is wide (no separation)."""
    mean = sum(scores) / len(scores)
    return {**res(0.0, 1.0, mean=mean, kind=kind), "items": items(scores, kind)}


def test_gate_counts_a_loss_the_paired_test_finds_with_overlapping_intervals():
    base, cand = scored([1.0] * 100), scored([0.0] * 5 + [1.0] * 95)  # 0 better / 5 worse, p = 0.0625
    results = {"base": {"retention_test": base}, "sft": {"retention_test": cand}}
    gate = gate_verdict(results, "sft", "dominance", 0.0, p_level=0.1)
    assert gate["reasons"] == [
        "sft loses suite retention_test: 0.950 [0.000, 1.000] vs base 1.000 [0.000, 1.000], "
        "0 items better / 5 worse, p = 0.062"
    ]
    assert gate_verdict(results, "sft", "dominance", 0.0, p_level=0.05)["passed"]  # p above the level
    assert gate_verdict(results, "sft", "dominance", 0.06)["passed"]  # the 0.05 drop is within the margin
    four = {"base": {"r": base}, "sft": {"r": scored([0.0] * 4 + [1.0] * 96)}}  # p = 0.125
    assert gate_verdict(four, "sft", "dominance", 0.0, p_level=0.1)["passed"]


def test_gate_tolerates_a_text_rise_within_the_relative_perplexity_margin():
    base = {**scored([2.0] * 40, kind="text"), "mean": -2.0, "perplexity": 7.39}
    slightly = {**scored([2.005] * 40, kind="text"), "mean": -2.005, "perplexity": 7.43}  # +0.5%, all 40 worse
    assert gate_verdict({"base": {"t": base}, "sft": {"t": slightly}}, "sft", "dominance", 0.0)["passed"]
    worse = {**scored([2.02] * 40, kind="text"), "mean": -2.02, "perplexity": 7.54}  # +2%
    gate = gate_verdict({"base": {"t": base}, "sft": {"t": worse}}, "sft", "dominance", 0.0)
    assert not gate["passed"] and gate["reasons"][0].startswith("sft loses suite t: perplexity 7.54")


def test_gate_reports_text_retention_as_perplexity():
    results = {
        "base": {"task": res(0.1, 0.3), "retention_text": res(-2.1, -1.9, kind="text", perplexity=7.39)},
        "sft": {"task": res(0.5, 0.7), "retention_text": res(-3.2, -2.8, kind="text", perplexity=20.09)},
    }
    gate = gate_verdict(results, "sft", "dominance", 0.0)
    assert gate["reasons"] == ["sft loses suite retention_text: perplexity 20.09 vs base perplexity 7.39"]


def test_affine_rule_needs_a_margin_sized_gain():
    results = {"base": {"a": res(0.2, 0.4)}, "sft": {"a": res(0.45, 0.65)}}  # gap 0.05, mean gain 0.25
    assert gate_verdict(results, "sft", "dominance", 0.1)["passed"]
    affine = gate_verdict(results, "sft", "affine", 0.1)
    assert not affine["passed"] and "gate_rule affine" in affine["reasons"][0]
    assert gate_verdict(results, "sft", "affine", 0.01)["passed"]


def test_gate_without_a_trained_model_passes():
    assert gate_verdict({"base": {"a": res(0.2, 0.4)}}, None, "dominance", 0.0)["passed"]


def items(scores, kind="task"):
    if kind == "text":
        return [{"id": f"d{i}", "nll": nll, "tokens": 10} for i, nll in enumerate(scores)]
    return [{"id": f"q{i}", "score": s} for i, s in enumerate(scores)]


def test_paired_sign_test_counts_items_that_changed_and_matches_by_id():
    earlier = {**res(0.3, 0.5), "items": items([0, 0, 0, 0, 0, 0, 0, 0, 1, 1])}
    later = {**res(0.35, 0.55), "items": items([1, 1, 1, 1, 1, 1, 1, 0, 1, 0])}
    later["items"].append({"id": "only-later", "score": 1.0})  # not in both: ignored
    test = compare_pair({"a": later}, {"a": earlier}, 0.0)["suites"]["a"]["paired"]
    assert (test["n"], test["better"], test["worse"]) == (10, 7, 1)
    # Exact two-sided binomial: P(X <= 1 or X >= 7 | n=8, 1/2) = 2 * (1 + 8) / 256.
    assert test["p"] == pytest.approx(18 / 256)
    none_changed = compare_pair({"a": earlier}, {"a": earlier}, 0.0)["suites"]["a"]["paired"]
    assert (none_changed["better"], none_changed["worse"], none_changed["p"]) == (0, 0, 1.0)


def test_paired_text_suites_compare_nll_per_token_lower_is_better():
    earlier = {**res(-3, -2, kind="text", perplexity=9.0), "items": items([30.0, 30.0, 30.0], "text")}
    later = {**res(-3, -2, kind="text", perplexity=8.0), "items": items([25.0, 29.0, 31.0], "text")}
    test = compare_pair({"t": later}, {"t": earlier}, 0.0)["suites"]["t"]["paired"]
    assert (test["better"], test["worse"]) == (2, 1)


def test_no_paired_test_without_item_records():
    assert "paired" not in compare_pair({"a": res(0.6, 0.8)}, {"a": res(0.2, 0.4)}, 0.0)["suites"]["a"]
