"""Training sets for the RL stage from data_cache/collect/: task prompts as chat plus scored sft records (grpo/rloo),
preference pairs (dpo/orpo/simpo), KTO examples (falling back to unpaired preference pairs)."""

from __future__ import annotations

import logging
from pathlib import Path

from trainpipe.config import RlConfig
from trainpipe.data.store import has_use, load_split
from trainpipe.errors import UserError
from trainpipe.models.chat import encode_prompt
from trainpipe.rl.rewards import raw_external, scale_score

log = logging.getLogger("trainpipe.rl")


def _train_split(collect_dir: Path, use: str):

    return load_split(collect_dir, use, "train") if has_use(collect_dir, use) else None


def task_prompts(collect_dir: Path, tasks: list[str]) -> list[dict]:
    """The collected task prompts of `tasks` (train split) as chat, with their record id, task and gold answer."""
    records = _train_split(collect_dir, "prompts")
    if records is None:
        return []
    rows = [
        {"id": r["id"], "prompt": [{"role": "user", "content": r["prompt"]}], "task": r["task"], "answer": r["answer"]}
        for r in records
        if r["task"] in tasks
    ]
    if not rows and len(records):
        found = sorted({r["task"] for r in records})
        raise UserError(f"rl.tasks={tasks}: collect has prompts only for {found}; set rl.tasks or data.sources")
    return rows


def gold_solutions(collect_dir: Path) -> dict[str, str]:
    """Task prompt id -> the gold worked solution that collect wrote as that task item's sft answer."""
    records = _train_split(collect_dir, "sft")
    return {
        r["task_id"]: r["messages"][-1]["content"]
        for r in records or []
        if r.get("task_id") and r["messages"] and r["messages"][-1]["role"] == "assistant"
    }


def _task_rows(collect_dir: Path, tasks: list[str]) -> list[dict]:
    return [
        {"prompt": r["prompt"], "task": r["task"], "answer": r["answer"], "reference": None, "external": None}
        for r in task_prompts(collect_dir, tasks)
    ]


def _external_rows(collect_dir: Path, rl: RlConfig) -> list[dict]:
    """Scored sft conversations become prompts (every turn before the last assistant turn) with that turn as the
    reference and the record's score, scaled to [−1, 1], as the external column."""
    spec = next((r for r in rl.rewards if r.name == "external"), None)
    records = _train_split(collect_dir, "sft") if spec else None
    rows = []
    for rec in records or []:
        score = scale_score(raw_external(rec, spec.field), spec.low, spec.high)
        messages = list(rec["messages"])
        if score is None or not messages or messages[-1]["role"] != "assistant":
            continue
        rows.append(
            {
                "prompt": messages[:-1],
                "task": None,
                "answer": None,
                "reference": messages[-1]["content"],
                "external": score,
            }
        )
    return rows


def prompt_dataset(collect_dir: Path, rl: RlConfig, tokenizer) -> tuple[object, dict]:
    """The online prompt set and a report; prompts longer than rl.max_prompt_length tokens are dropped."""
    from datasets import Dataset

    rows = _task_rows(collect_dir, rl.tasks) + _external_rows(collect_dir, rl)
    if not rows:
        raise UserError(
            f"rl: no prompts to train on in {collect_dir} (need task prompts for rl.tasks={rl.tasks} "
            "from data.sources, or scored sft records with an 'external' reward)"
        )
    kept = [r for r in rows if _prompt_tokens(tokenizer, r["prompt"]) <= rl.max_prompt_length]
    if not kept:
        raise UserError(f"rl: every prompt is longer than rl.max_prompt_length={rl.max_prompt_length} tokens")
    dropped = len(rows) - len(kept)
    if dropped:
        log.warning(
            "rl: dropped %d of %d prompts longer than rl.max_prompt_length=%d", dropped, len(rows), rl.max_prompt_length
        )
    report = {
        "prompts": len(kept),
        "prompts_too_long": dropped,
        "external_prompts": sum(r["external"] is not None for r in kept),
    }
    return Dataset.from_list(kept), report


def _prompt_tokens(tokenizer, messages: list[dict]) -> int:
    return len(encode_prompt(tokenizer, messages))


def preference_dataset(collect_dir: Path):
    """Conversational prompt / chosen / rejected pairs (TRL's preference format)."""
    records = _train_split(collect_dir, "preference")
    if records is None or not len(records):
        raise UserError(
            f"rl: this algorithm trains on preference pairs, but {collect_dir}/preference is missing; "
            "add a data source with format: preference"
        )
    return records.select_columns(["prompt", "chosen", "rejected"])


def kto_dataset(collect_dir: Path):
    """Conversational prompt / completion / label examples; unpaired preference pairs when no kto data exists."""
    from trl import unpair_preference_dataset

    records = _train_split(collect_dir, "kto")
    if records is not None and len(records):
        return records.select_columns(["prompt", "completion", "label"])
    log.info("rl: no kto records; using preference pairs split into desirable and undesirable examples")
    return unpair_preference_dataset(preference_dataset(collect_dir))
