"""Canonical record types: one fixed schema per use (cpt, sft, preference, kto, prompts).

Records are plain dicts so a list of them saves as one Arrow table; `id` is a content hash.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable, Optional

import pyarrow as pa

USES = ("cpt", "sft", "preference", "kto", "prompts")
ROLES = ("system", "user", "assistant")
# The meta key holding a scored conversation's raw score (the scored_conversation format's own column name, so
# `rl.rewards: [{name: external, field: meta_eval_score}]` finds it too).
SCORE_KEY = "meta_eval_score"

# The fields that define a record's content: its id, exact dedup and normalized dedup read only these,
# so bookkeeping (source, weight, reward, meta) never splits one sample into two.
CONTENT_FIELDS = {
    "cpt": ("text",),
    "sft": ("messages",),
    "preference": ("prompt", "chosen", "rejected"),
    "kto": ("prompt", "completion", "label"),
    "prompts": ("prompt", "task", "answer"),
}
# The fields holding text; a KTO label or a prompt's task name is not text that can leak.
TEXT_FIELDS = {**CONTENT_FIELDS, "kto": ("prompt", "completion"), "prompts": ("prompt", "answer")}

_MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
_SCHEMAS = {
    "cpt": [("text", pa.string())],
    "sft": [
        ("messages", _MESSAGES),
        ("weight", pa.float64()),
        ("reward", pa.float64()),
        ("step_rewards", pa.list_(pa.float64())),
        ("task_id", pa.string()),
        ("meta", pa.string()),
    ],
    "preference": [("prompt", _MESSAGES), ("chosen", _MESSAGES), ("rejected", _MESSAGES)],
    "kto": [("prompt", _MESSAGES), ("completion", _MESSAGES), ("label", pa.bool_())],
    "prompts": [("prompt", pa.string()), ("task", pa.string()), ("answer", pa.string())],
}


def arrow_schema(use: str) -> pa.Schema:
    """The Arrow schema of one use's records (`pa.Table.from_pylist(records, schema=...)`)."""
    return pa.schema([("id", pa.string()), ("source", pa.string())] + _SCHEMAS[use])


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spacing, so equal content always gives equal text."""
    # default=str: leftover values from parquet or datasets (dates, bytes) still serialise.
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def content_of(record: dict, use: str) -> dict:
    """The content fields of a record (what its id and dedup see)."""
    return {name: record[name] for name in CONTENT_FIELDS[use]}


def record_id(content: dict) -> str:
    """Stable id: first 16 hex digits of sha1 over the canonical JSON of the content fields."""
    return hashlib.sha1(canonical_json(content).encode("utf-8")).hexdigest()[:16]


def _finish(use: str, source: str, fields: dict) -> dict:
    return {"id": record_id(content_of(fields, use)), "source": source, **fields}


def message(role: str, content: str) -> dict:
    return {"role": role, "content": content}


def cpt_record(source: str, text: str) -> dict:
    return _finish("cpt", source, {"text": text})


def sft_record(
    source: str,
    messages: list[dict],
    weight: float = 1.0,
    reward: Optional[float] = None,
    step_rewards: Iterable[float] = (),
    task_id: Optional[str] = None,
    meta: Optional[dict] = None,
) -> dict:
    fields = {
        "messages": messages,
        "weight": float(weight),
        "reward": None if reward is None else float(reward),
        "step_rewards": [float(r) for r in step_rewards],
        "task_id": task_id,
        # A JSON string keeps the Arrow schema fixed whatever leftover keys a source carries.
        "meta": canonical_json(meta or {}),
    }
    return _finish("sft", source, fields)


def record_score(record: dict) -> Optional[float]:
    """The raw score of a scored sft record (meta's meta_eval_score); None for records without one."""
    try:
        meta = json.loads(record.get("meta") or "{}")
    except (TypeError, ValueError):
        return None
    value = meta.get(SCORE_KEY) if isinstance(meta, dict) else None
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def preference_record(source: str, prompt: list[dict], chosen: list[dict], rejected: list[dict]) -> dict:
    return _finish("preference", source, {"prompt": prompt, "chosen": chosen, "rejected": rejected})


def kto_record(source: str, prompt: list[dict], completion: list[dict], label: bool) -> dict:
    return _finish("kto", source, {"prompt": prompt, "completion": completion, "label": bool(label)})


def prompt_record(source: str, prompt: str, task: str, answer: str) -> dict:
    return _finish("prompts", source, {"prompt": prompt, "task": task, "answer": answer})


def record_text(record: dict, use: str) -> str:
    """The text of a record's content, one part per line (for contamination checks); labels are left out."""
    parts: list[str] = []
    for name in TEXT_FIELDS[use]:
        value = record[name]
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            parts.extend(turn["content"] for turn in value)
    return "\n".join(parts)


def record_meta(rec: dict) -> dict:
    """A record's `meta` column (a JSON object in text) as a dict; {} when absent or not an object."""
    try:
        meta = json.loads(rec.get("meta") or "{}")
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}
