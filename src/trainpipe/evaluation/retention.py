"""Retention suites: built-in everyday prompts with checkable answers (evaluation/retention_items.py), narrowed to
those the base model gets right and split into a dev part (the only part automatic choices may look at) and a test
part (only reported). Deterministic and offline; the selection comes from base's cached results."""
from __future__ import annotations

from collections import Counter

from trainpipe.data.hygiene import split_hash

DEV_FRACTION = 0.4  # share of kept items (and general-text documents) in the dev part
_SPLIT_SEED = "retention-dev"


def candidate_items() -> list[dict]:
    """Every built-in item as a suite item: {"id", "prompt", "answer", "task"} plus "history" (earlier chat turns)
    for multi-turn items. Ids name category, template and slot, so results match back across runs."""
    from trainpipe.evaluation.retention_items import all_items

    return all_items()


def category(item_id: str) -> str:
    """An item's category from its id ("retention-fact-capital-france" -> "fact")."""
    return item_id.split("-")[1]


def part_of(item_id: str) -> str:
    """"dev" or "test", by a stable hash of the id alone: an item never changes part when others are added."""
    return "dev" if split_hash(item_id, _SPLIT_SEED) < DEV_FRACTION else "test"


def split_parts(items: list[dict]) -> dict[str, list[dict]]:
    """{"dev": [...], "test": [...]} in input order."""
    parts: dict[str, list[dict]] = {"dev": [], "test": []}
    for item in items:
        parts[part_of(item["id"])].append(item)
    return parts


def kept_indices(scores: list[float]) -> list[int]:
    """Items the base model answered fully correctly (greedy, so its result is reproducible)."""
    return [i for i, s in enumerate(scores) if s >= 1.0]


def per_category(items: list[dict], kept: list[dict]) -> str:
    """"instruct 60/90, format 40/70, ..." in the categories' order."""
    from trainpipe.evaluation.retention_items import CATEGORIES

    total, right = Counter(category(i["id"]) for i in items), Counter(category(i["id"]) for i in kept)
    return ", ".join(f"{c} {right[c]}/{total[c]}" for c in CATEGORIES if total[c])


def subset_result(result: dict, indices: list[int], level: float) -> dict:
    """A model's task result restricted to some items, recomputed from its per-item records."""
    from trainpipe.evaluation.runner import summarize_items

    items = [result["items"][i] for i in indices]
    keep = {it["id"] for it in items}
    return {**result, **summarize_items(items, level),
            "examples": [e for e in result.get("examples", []) if e["id"] in keep]}
