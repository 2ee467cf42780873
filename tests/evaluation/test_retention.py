"""Built-in retention items and their selection by the base model's results."""
import pytest
from scipy.stats import beta

from trainpipe.evaluation.checks import score_item
from trainpipe.evaluation.retention import ITEMS, candidate_items, kept_indices, subset_result
from trainpipe.evaluation.runner import summarize_items


def test_every_builtin_answer_passes_its_own_checker_and_ids_are_unique():
    items = candidate_items()
    assert len(items) == len(ITEMS) >= 40
    assert len({i["id"] for i in items}) == len(items) and len({i["prompt"] for i in items}) == len(items)
    for item in items:
        assert score_item(item["task"], item["answer"], item["answer"]) == 1.0, item


def test_candidates_are_deterministic():
    assert candidate_items() == candidate_items()
    assert candidate_items()[0] == {"id": "retention-000", "task": "word", "answer": "Paris",
                                    "prompt": "What is the capital of France? Answer with one word."}


def test_kept_indices_are_the_fully_correct_items():
    assert kept_indices([1.0, 0.0, 1.0, 0.5, 1.0]) == [0, 2, 4]
    assert kept_indices([0.0, 0.0]) == []


def _record(i, score, tokens):
    return {"id": f"r{i}", "score": score, "samples": 1, "correct": int(score), "tokens": tokens, "format_ok": None}


def test_subset_result_recomputes_statistics_on_the_kept_items():
    records = [_record(0, 1.0, 4), _record(1, 0.0, 10), _record(2, 1.0, 2), _record(3, 1.0, 6)]
    full = {**summarize_items(records, 0.8), "examples": [{"id": "r0"}, {"id": "r1"}], "seconds": 3.0}
    sub = subset_result(full, [0, 2, 3], 0.8)
    assert sub["n"] == 3 and sub["mean"] == 1.0 and sub["successes"] == 3.0
    assert sub["lo"] == pytest.approx(beta.ppf(0.1, 3.5, 0.5)) and sub["hi"] == 1.0
    assert sub["mean_completion_tokens"] == 4.0  # (4 + 2 + 6) / 3
    assert sub["pass_at"] == {"1": 1.0}
    assert [e["id"] for e in sub["examples"]] == ["r0"] and sub["seconds"] == 3.0
    assert full["n"] == 4 and full["mean"] == 0.75  # the full result is left as it was
