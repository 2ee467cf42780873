"""Retention suites: built-in everyday prompts with checkable answers (evaluation/retention_items/), split into a
dev part (the only part automatic choices may look at) and a test part (only reported). Every item stays in, right
or wrong for base: the paired test then weighs items a model gets newly wrong against items it gets newly right.
Suites of only the items base gets right could only get worse (any change to the weights flips some borderline
answers, and none could flip the other way), so they would call every change a loss. Deterministic and offline."""

from __future__ import annotations

from collections import Counter

from trainpipe.data.hygiene import split_hash
from trainpipe.evaluation.retention_items import CATEGORIES, all_items

DEV_FRACTION = 0.4  # share of kept items (and general-text documents) in the dev part
_SPLIT_SEED = "retention-dev"


def candidate_items() -> list[dict]:
    """Every built-in item as a suite item: {"id", "prompt", "answer", "task"} plus "history" (earlier chat turns)
    for multi-turn items. Ids name category, template and slot, so results match back across runs."""

    return all_items()


def category(item_id: str) -> str:
    """An item's category from its id ("retention-fact-capital-france" -> "fact")."""
    return item_id.split("-")[1]


def part_of(item_id: str) -> str:
    """ "dev" or "test", by a stable hash of the id alone: an item never changes part when others are added."""
    return "dev" if split_hash(item_id, _SPLIT_SEED) < DEV_FRACTION else "test"


def split_parts(items: list[dict]) -> dict[str, list[dict]]:
    """{"dev": [...], "test": [...]} in input order."""
    parts: dict[str, list[dict]] = {"dev": [], "test": []}
    for item in items:
        parts[part_of(item["id"])].append(item)
    return parts


def per_category(items: list[dict], right: list[dict]) -> str:
    """ "instruct 60/90, format 40/70, ..." in the categories' order."""

    total, got = Counter(category(i["id"]) for i in items), Counter(category(i["id"]) for i in right)
    return ", ".join(f"{c} {got[c]}/{total[c]}" for c in CATEGORIES if total[c])


def kept_and_gained(result: dict, base: dict) -> tuple[int, int, int, int]:
    """(kept, base_right, gained, base_wrong): of the items base answers fully correctly, how many `result` still
    does; of the others, how many it now does. Items are matched by id."""
    right = {it["id"] for it in base["items"] if it["score"] >= 1.0}
    now = {it["id"] for it in result["items"] if it["score"] >= 1.0}
    wrong = {it["id"] for it in base["items"]} - right
    return len(right & now), len(right), len(wrong & now), len(wrong)


def retention_notes(results: dict[str, dict[str, dict]], suites) -> list[str]:
    """For the report: what base answers per category, then per model and retention Q&A suite the items kept and
    gained against base (the paired test's two sides, in words)."""
    from trainpipe.evaluation.results import RETENTION

    qa = [s for s in suites if s.group == RETENTION and s.kind == "task"]
    if not qa or "base" not in results:
        return []
    items = [i for s in qa for i in s.items]
    right = [it for s in qa for it in results["base"][s.name]["items"] if it["score"] >= 1.0]
    notes = [
        f"retention Q&A: {len(items)} built-in everyday prompts ("
        + ", ".join(f"{s.name} {len(s.items)}" for s in qa)
        + f"); base answers {len(right)} correctly ({per_category(items, right)})"
    ]
    for model, found in results.items():
        if model == "base":
            continue
        for s in qa:
            kept, was, gained, wrong = kept_and_gained(found[s.name], results["base"][s.name])
            notes.append(
                f"{model} on {s.name}: keeps {kept} of the {was} items base answers correctly and "
                f"answers {gained} of the {wrong} it gets wrong"
            )
    return notes
