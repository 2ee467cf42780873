"""Every item of every suite beside each model's record for it (score, completions, transcript or NLL), and per
ordered pair of models the items the paired test counts as better and worse. Reads the suites and the results;
writes logs/evaluate/items.jsonl and gives report.html its item list."""

from __future__ import annotations

import json
from itertools import permutations
from pathlib import Path

from trainpipe.evaluation.compare import item_changes

ITEMS_JSONL = "items.jsonl"


def item_rows(suites, results: dict[str, dict[str, dict]]) -> list[dict]:
    """One row per (suite, item), in suite and item order: the item's prompt (the document, for text suites),
    earlier turns and reference, and per model its per-item record (None where it has none)."""
    rows = []
    for suite in suites:
        records = {m: {r["id"]: r for r in per[suite.name].get("items") or ()} for m, per in results.items()}
        for item in suite.items:
            rows.append(
                {
                    "suite": suite.name,
                    "kind": suite.kind,
                    "id": item["id"],
                    "prompt": item.get("prompt", item.get("text")),
                    "history": item.get("history", []),
                    "reference": item.get("answer"),
                    "models": {m: _without_id(found.get(item["id"])) for m, found in records.items()},
                }
            )
    return rows


def _without_id(record: dict | None) -> dict | None:
    return None if record is None else {k: v for k, v in record.items() if k != "id"}


def pair_changes(rows: list[dict], results: dict[str, dict[str, dict]]) -> dict[str, dict[str, dict]]:
    """later → earlier → {"better": row numbers, "worse": row numbers} for every ordered pair of models, over every
    suite both have: the items compare.item_changes names, which are the items the paired test counts."""
    where = {(r["suite"], r["id"]): number for number, r in enumerate(rows)}
    out: dict[str, dict[str, dict]] = {m: {} for m in results}
    for later, earlier in permutations(results, 2):
        found = {"better": [], "worse": []}
        for suite, result in results[later].items():
            if suite in results[earlier]:
                for key, ids in item_changes(result, results[earlier][suite]).items():
                    found[key] += [where[(suite, i)] for i in ids]
        out[later][earlier] = found
    return out


def write_items(folder: Path, rows: list[dict]) -> None:
    with open(Path(folder) / ITEMS_JSONL, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
