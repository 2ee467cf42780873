"""Built-in retention items, their dev/test split, and the kept/gained counts against base."""

import re
from collections import Counter

from trainpipe.evaluation.checks import CHECKS, score_item
from trainpipe.evaluation.results import summarize_items
from trainpipe.evaluation.retention import (
    DEV_FRACTION,
    candidate_items,
    category,
    kept_and_gained,
    part_of,
    per_category,
    retention_notes,
    split_parts,
)
from trainpipe.evaluation.retention_items import CATEGORIES
from trainpipe.evaluation.runner import item_messages


def test_every_builtin_answer_passes_its_own_checker_and_ids_are_unique():
    items = candidate_items()
    assert len(items) >= 300
    assert len({i["id"] for i in items}) == len(items)
    assert len({str(item_messages(i)) for i in items}) == len(items)  # no two items ask the same thing
    for item in items:
        assert set(item) <= {"id", "prompt", "answer", "task", "history"}, item
        assert item["task"] in CHECKS and score_item(item["task"], item["answer"], item["answer"]) == 1.0, item


def test_every_category_is_represented_and_no_item_is_two_number_arithmetic():
    counts = Counter(category(i["id"]) for i in candidate_items())
    assert set(counts) == set(CATEGORIES) and min(counts.values()) >= 30, counts
    # The default training task is "What is 47 + 38?"; retention must not measure it.
    sums = re.compile(r"\d+\s*[-+*/]\s*\d+")
    assert not [i["prompt"] for i in candidate_items() if sums.search(i["prompt"])]


def test_multi_turn_items_carry_earlier_turns_that_end_with_the_assistant():
    chats = [i for i in candidate_items() if "history" in i]
    assert len(chats) >= 30 and all(category(i["id"]) == "chat" for i in chats)
    for item in chats:
        roles = [m["role"] for m in item_messages(item)]
        assert roles == ["user", "assistant"] * (len(roles) // 2) + ["user"], item["id"]
    sam = next(i for i in chats if i["id"] == "retention-chat-name-sam")
    assert item_messages(sam) == [
        {"role": "user", "content": "Hi! My name is Sam."},
        {"role": "assistant", "content": "Nice to meet you! How can I help?"},
        {"role": "user", "content": "What is my name? Answer with one word."},
    ]


def test_candidates_are_deterministic_with_named_ids():
    assert candidate_items() == candidate_items()
    capital = next(i for i in candidate_items() if i["id"] == "retention-fact-capital-france")
    assert capital == {
        "id": "retention-fact-capital-france",
        "task": "word",
        "answer": "Paris",
        "prompt": "What is the capital of France? Answer with one word.",
    }
    assert category("retention-fact-capital-france") == "fact"


def test_dev_test_split_is_a_stable_hash_of_the_id():
    items = candidate_items()
    parts = split_parts(items)
    assert set(parts) == {"dev", "test"}
    assert sorted(i["id"] for p in parts.values() for i in p) == sorted(i["id"] for i in items)
    assert all(part_of(i["id"]) == name for name, found in parts.items() for i in found)
    assert abs(len(parts["dev"]) / len(items) - DEV_FRACTION) < 0.06
    # An item's part depends on its id alone: not on its position or on the other items.
    assert split_parts(items[::-1])["dev"] == parts["dev"][::-1]
    assert part_of("retention-fact-capital-france") == part_of("retention-fact-capital-france")


def test_per_category_counts_right_of_all():
    items = [{"id": "retention-fact-a-x"}, {"id": "retention-fact-b-y"}, {"id": "retention-chat-c-z"}]
    assert per_category(items, items[1:]) == "fact 1/2, chat 1/1"


def _record(i, score):
    return {
        "id": f"retention-fact-t-{i}",
        "score": score,
        "samples": 1,
        "correct": int(score),
        "tokens": 3,
        "format_ok": None,
    }


def _result(scores):
    return {**summarize_items([_record(i, s) for i, s in enumerate(scores)], 0.8), "kind": "task"}


def test_kept_and_gained_count_both_sides_of_the_paired_test():
    base, model = _result([1, 1, 1, 0, 0, 0.5]), _result([1, 0, 1, 1, 0, 1])
    assert kept_and_gained(model, base) == (2, 3, 2, 3)  # items 0, 2 kept; items 3, 5 (0.5 is wrong) gained
    assert kept_and_gained(base, base) == (3, 3, 0, 3)


def test_retention_notes_name_each_model_and_suite():
    from trainpipe.evaluation.results import Suite

    suite = Suite("retention_test", "task", [{"id": _record(i, 0)["id"]} for i in range(6)], group="retention")
    results = {
        "base": {"retention_test": _result([1, 1, 1, 0, 0, 0])},
        "sft": {"retention_test": _result([1, 0, 1, 1, 1, 0])},
    }
    assert retention_notes(results, [suite]) == [
        "retention Q&A: 6 built-in everyday prompts (retention_test 6); base answers 3 correctly (fact 3/6)",
        "sft on retention_test: keeps 2 of the 3 items base answers correctly and answers 2 of the 3 it gets wrong",
    ]
