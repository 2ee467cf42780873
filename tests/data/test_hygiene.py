"""Dedup, stable split, contamination numbers on a hand-made case, and mixing proportions."""

from __future__ import annotations

from collections import Counter

import pytest

from trainpipe.data import hygiene
from trainpipe.data.hygiene import contamination_report, dedup, is_eval, mix, split_hash, split_records
from trainpipe.data.records import cpt_record, message, prompt_record, sft_record
from trainpipe.errors import UserError


def docs(n, start=0, source="s"):
    return [cpt_record(source, f"document number {i}") for i in range(start, start + n)]


def test_dedup_exact_and_normalized():
    records = [
        cpt_record("a", "Hello, World!"),
        cpt_record("b", "Hello, World!"),  # same content from another source: an exact duplicate
        cpt_record("a", "hello   world"),
        cpt_record("a", "Hello World?"),
        cpt_record("a", "Goodbye"),
    ]
    kept, dropped = dedup(records, "cpt", "exact")
    assert [r["text"] for r in kept] == ["Hello, World!", "hello   world", "Hello World?", "Goodbye"]
    assert dropped == 1
    kept, dropped = dedup(records, "cpt", "normalized")
    assert [(r["source"], r["text"]) for r in kept] == [("a", "Hello, World!"), ("a", "Goodbye")]
    assert dropped == 3
    assert dedup(records, "cpt", "none") == (records, 0)


def test_normalized_dedup_keeps_field_boundaries_and_ignores_bookkeeping():
    one = sft_record("s", [message("user", "a"), message("assistant", "b c")], weight=2.0)
    two = sft_record("s", [message("user", "a b"), message("assistant", "c")])
    same = sft_record("t", [message("user", "A!"), message("assistant", "b  c.")], reward=1.0)
    kept, dropped = dedup([one, two, same], "sft", "normalized")
    assert kept == [one, two] and dropped == 1
    assert hygiene.normalize_text("  Don't\tSTOP—now… ") == "dont stopnow"


def test_split_hash_is_fixed():
    assert split_hash("0123456789abcdef", 0) == 0.21868994262011102
    assert split_hash("0123456789abcdef", 1) == 0.45248907213467304
    assert is_eval("0123456789abcdef", 0.25, 0) is True
    assert is_eval("0123456789abcdef", 0.2, 0) is False


def test_split_is_stable_when_the_dataset_grows():
    old = docs(300)
    train, held = split_records(old, 0.2, eval_max=10_000, seed=0)
    grown = docs(300) + docs(500, start=300)
    train2, held2 = split_records(grown, 0.2, eval_max=10_000, seed=0)
    old_ids = {r["id"] for r in old}
    assert {r["id"] for r in held} == {r["id"] for r in held2} & old_ids
    assert {r["id"] for r in train} == {r["id"] for r in train2} & old_ids
    assert len(held) + len(train) == 300
    assert all(is_eval(r["id"], 0.2, 0) for r in held) and not any(is_eval(r["id"], 0.2, 0) for r in train)
    assert train == [r for r in old if r not in held]  # input order kept


def test_eval_max_keeps_smallest_hashes_and_overflow_goes_to_train():
    old = docs(200)
    train, held = split_records(old, 0.5, eval_max=20, seed=3)
    candidates = sorted((split_hash(r["id"], 3), r["id"]) for r in old if is_eval(r["id"], 0.5, 3))
    assert len(candidates) > 20
    assert sorted(r["id"] for r in held) == sorted(i for _, i in candidates[:20])
    assert len(train) == 180
    train2, held2 = split_records(old + docs(400, start=200), 0.5, eval_max=20, seed=3)
    # Growth may push old eval records into train, never old train records into eval.
    assert {r["id"] for r in held2} & {r["id"] for r in train} == set()
    assert len(held2) == 20


def test_eval_max_applies_per_group():
    records = [prompt_record("s", f"q{i}", task, "a") for task in ("x", "y") for i in range(100)]
    _, held = split_records(records, 1.0, eval_max=7, seed=0, group=lambda r: r["task"])
    assert Counter(r["task"] for r in held) == {"x": 7, "y": 7}


def test_contamination_report_hand_made():
    train = ["The quick brown fox jumps", "hello world"]
    evals = {
        "a": ["A quick brown fox!", "lazy dog sleeps here", "Hello"],
        "b": ["world", "nothing in common at all", "fox jumps over"],
        "empty": [],
    }
    assert contamination_report(train, evals, n=3) == {
        "a": {"overlapping": 2, "total": 3, "share": 2 / 3},
        "b": {"overlapping": 1, "total": 3, "share": 1 / 3},
        "empty": {"overlapping": 0, "total": 0, "share": 0.0},
    }
    # With n=2 "fox jumps over" shares the bigram "fox jumps"; "lazy dog sleeps here" still shares none.
    assert contamination_report(train, {"b": evals["b"]}, n=2)["b"]["overlapping"] == 2


def test_mix_follows_weights():
    a, b = docs(100, source="a"), docs(10, start=100, source="b")
    mixed = mix([(a, 1.0, None), (b, 1.0, None)], seed=0)
    assert Counter(r["source"] for r in mixed) == {"a": 55, "b": 55}
    assert len({r["id"] for r in mixed if r["source"] == "a"}) == 55  # downsampled without repeats
    assert sorted(Counter(r["id"] for r in mixed if r["source"] == "b").values()) == [5] * 5 + [6] * 5
    assert mixed == mix([(a, 1.0, None), (b, 1.0, None)], seed=0)
    assert mixed != mix([(a, 1.0, None), (b, 1.0, None)], seed=1)


def test_mix_weights_limits_and_zero_weight():
    a, b, c = docs(40, source="a"), docs(40, start=40, source="b"), docs(5, start=80, source="c")
    assert Counter(r["source"] for r in mix([(a, 3, None), (b, 1, None)], seed=0)) == {"a": 60, "b": 20}
    limited = mix([(a, 1, 10), (b, 1, None), (c, 0, None)], seed=0)
    assert Counter(r["source"] for r in limited) == {"a": 25, "b": 25}
    assert {r["id"] for r in limited if r["source"] == "a"} == {r["id"] for r in a[:10]}
    assert Counter(r["source"] for r in mix([(a, 1, 1), (b, 1, 1), (c, 1, 1)], seed=0)) == {"a": 1, "b": 1, "c": 1}
    assert hygiene._apportion(10, [1, 1, 1]) == [4, 3, 3]
    assert mix([], seed=0) == []
    with pytest.raises(UserError, match="negative"):
        mix([(a, -1, None)], seed=0)


def test_contamination_ignores_template_boilerplate_but_finds_leaked_items():
    from trainpipe.tasks import get_task

    items = get_task("arithmetic").generate(0, 600, 1)
    train = [i.prompt for i in items[:500]]
    held = [i.prompt for i in items[500:]]
    assert contamination_report(train, {"eval": held}, n=13)["eval"]["overlapping"] == 0
    leaked = contamination_report(train, {"eval": held + train[:7]}, n=13)["eval"]
    assert leaked["overlapping"] == 7 and leaked["total"] == 107


def test_a_two_item_eval_set_learns_its_template_from_its_source():
    from trainpipe.tasks import get_task

    items = get_task("arithmetic").generate(0, 300, 1)
    train = [i.prompt for i in items[:298]]
    held = [i.prompt for i in items[298:]]
    # Two held-out items cannot show their shared instructions as boilerplate: alone, they match the training data.
    assert contamination_report(train, {"eval": held}, n=13)["eval"]["overlapping"] == 2
    templates = {"eval": [train + held]}
    assert contamination_report(train, {"eval": held}, n=13, templates=templates)["eval"]["overlapping"] == 0
    leaked = contamination_report(train, {"eval": held + train[:1]}, n=13, templates=templates)["eval"]
    assert leaked["overlapping"] == 1 and leaked["total"] == 3


def test_boilerplate_read_in_chunks_is_exact(monkeypatch):
    # "shared words" opens 10 of 50 texts (20%: boilerplate), one in every five; "close call" opens 9 (18%).
    # Read about three texts per chunk, the first pass keeps any bigram in 20% of some chunk's texts and the
    # second counts those over all texts: the same set as counting everything at once.
    texts = [
        ("shared words " if i % 5 == 0 else "")
        + ("close call " if i % 5 == 1 and i < 45 else "")
        + f"text {i} w{i} v{i}"
        for i in range(50)
    ]
    whole = hygiene._boilerplate(texts)
    monkeypatch.setattr(hygiene, "BOILERPLATE_CHUNK", 12)
    assert hygiene._boilerplate(texts) == whole
    assert whole == {("shared", "words"), ("words", "text")}


def test_short_runs_match_whole_tokens_only():
    # A run shorter than n is found only as whole tokens: "xred blue green" does not hold "red blue green".
    evals = {"e": ["red blue green"]}
    assert contamination_report(["xred blue green"], evals, n=13)["e"]["overlapping"] == 0
    assert contamination_report(["one red blue green two"], evals, n=13)["e"]["overlapping"] == 1
    assert contamination_report(["red blue", "green"], evals, n=13)["e"]["overlapping"] == 0
