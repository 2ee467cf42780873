"""Per-suite result assembly from hand-made completions and NLLs (no model involved)."""

import math

import pytest
from scipy.stats import beta, t

from trainpipe.evaluation.generate import Completion
from trainpipe.evaluation.runner import item_messages, task_result, text_result


def _items():
    return [
        {"id": f"a{i}", "prompt": f"p{i}", "answer": a, "task": "arithmetic"} for i, a in enumerate(("5", "7", "9"))
    ]


def test_task_result_with_samples_reports_pass_at_1_and_k():
    texts = [
        ["Answer: 5", "Answer: 5", "Answer: 4", "x"],  # 2 of 4 correct
        ["nope", "Answer: 1", "Answer: 2", "Answer: 3"],  # none correct
        ["Answer: 9"] * 4,
    ]  # all correct
    completions = [[Completion(x, 2 * (i + 1)) for x in row] for i, row in enumerate(texts)]
    r = task_result(_items(), completions, 0.8)
    assert [it["score"] for it in r["items"]] == [0.5, 0.0, 1.0]
    assert [it["correct"] for it in r["items"]] == [2, 0, 4]
    assert [it["completions"] for it in r["items"]] == texts  # every sample, for report.html
    assert r["n"] == 3 and r["mean"] == pytest.approx(0.5) and r["std"] == pytest.approx(0.5)
    assert r["successes"] == pytest.approx(1.5)
    assert r["lo"] == pytest.approx(beta.ppf(0.1, 2.0, 2.0)) and r["hi"] == pytest.approx(beta.ppf(0.9, 2.0, 2.0))
    # pass@1 = mean of c/n; pass@4 with n = 4 is "any sample correct": (1 + 0 + 1) / 3.
    assert r["pass_at"] == {"1": pytest.approx(0.5), "4": pytest.approx(2 / 3)}
    assert r["mean_completion_tokens"] == pytest.approx(4.0)  # (2 + 4 + 6) / 3
    assert r["format_rate"] == pytest.approx(2 / 3)  # first sample of item 2 has no answer line
    assert r["kind"] == "task" and r["perplexity"] is None
    assert r["examples"][0] == {"id": "a0", "prompt": "p0", "answer": "5", "completion": "Answer: 5", "score": 1.0}


def test_greedy_task_result_has_only_pass_at_1():
    r = task_result(_items(), [[Completion("Answer: 5", 1)], [Completion("Answer: 7", 1)], [Completion("", 0)]], 0.8)
    assert r["mean"] == pytest.approx(2 / 3) and r["pass_at"] == {"1": pytest.approx(2 / 3)}
    assert [(it["completion"], "completions" in it) for it in r["items"]] == [
        ("Answer: 5", False),
        ("Answer: 7", False),
        ("", False),
    ]


def test_items_with_earlier_turns_are_asked_as_a_chat_and_shown_with_them():
    history = [{"role": "user", "content": "My name is Sam."}, {"role": "assistant", "content": "Hello!"}]
    item = {"id": "c", "prompt": "What is my name?", "answer": "Sam", "task": "word", "history": history}
    assert item_messages(item) == [*history, {"role": "user", "content": "What is my name?"}]
    assert item_messages(_items()[0]) == [{"role": "user", "content": "p0"}]
    r = task_result([item], [[Completion("Your name is Sam.", 5)]], 0.8)
    assert r["mean"] == 1.0 and r["examples"][0]["history"] == history


def test_text_result_perplexity_and_nll_interval():
    items = [{"id": f"d{i}", "text": "x"} for i in range(3)]
    r = text_result(items, [(2.0, 2), (6.0, 3), (0.0, 0)], 0.8)  # the empty third document is left out
    assert r["n"] == 2 and r["mean_nll"] == pytest.approx(1.5)  # per-document means 1.0 and 2.0
    assert r["perplexity"] == pytest.approx(math.exp(8.0 / 5.0))  # token-weighted over the corpus
    half = t.ppf(0.9, 1) * math.sqrt(0.5) / math.sqrt(2)
    assert r["mean"] == pytest.approx(-1.5)
    assert r["lo"] == pytest.approx(-1.5 - half) and r["hi"] == pytest.approx(-1.5 + half)
    assert r["std"] == pytest.approx(math.sqrt(0.5)) and r["kind"] == "text" and r["pass_at"] == {}


def test_restate_recomputes_a_cached_result_at_another_level():
    from trainpipe.evaluation.runner import restate

    completions = [[Completion("Answer: 5", 1)], [Completion("Answer: 7", 1)], [Completion("", 0)]]
    cached = {**task_result(_items(), completions, 0.8), "seconds": 1.5}
    again = restate(cached, 0.95)
    assert again["lo"] == pytest.approx(beta.ppf(0.025, 2.5, 1.5)) and again["seconds"] == 1.5
    assert again == {**task_result(_items(), completions, 0.95), "seconds": 1.5}
    text = {**text_result([{"id": "a"}, {"id": "b"}], [(2.0, 2), (6.0, 3)], 0.8), "seconds": 1.0}
    assert restate(text, 0.95)["lo"] == pytest.approx(-1.5 - t.ppf(0.975, 1) * 0.5)
