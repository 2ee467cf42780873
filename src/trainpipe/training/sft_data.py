"""Turn canonical SFT records into trainer-ready examples: input_ids, labels and (optionally) token weights."""
from __future__ import annotations

import json
from typing import Iterable

from trainpipe.config import SftConfig
from trainpipe.errors import DataError
from trainpipe.training.chat_encode import IGNORE, encode_chat
from trainpipe.training.losses import step_weights


def build_examples(records: Iterable[dict], tokenizer, sft: SftConfig, max_length: int,
                   on_bad_record: str = "error") -> tuple[list[dict], dict]:
    """Encode every record; returns (examples, report). Weighted records carry per-token weights."""
    examples, skipped = [], 0
    use_weights = sft.agent.step_weights
    for i, rec in enumerate(records):
        n_turns = sum(m["role"] == "assistant" for m in rec["messages"])
        weights = None
        if use_weights:
            weights = step_weights(rec.get("step_rewards") or None, n_turns, sft.agent.allow_negative)
        enc = encode_chat(tokenizer, rec["messages"], weights)
        if len(enc.input_ids) > max_length or all(lab == IGNORE for lab in enc.labels):
            if on_bad_record == "skip":
                skipped += 1
                continue
            why = f"at most {max_length} tokens; got {len(enc.input_ids)}" if len(enc.input_ids) > max_length \
                else "at least one trained assistant token"
            raise DataError(f"sft record {rec.get('id', i)} (source {rec.get('source', '?')})", None, "messages", why)
        ex = {"input_ids": enc.input_ids, "labels": enc.labels}
        if use_weights:
            ex["token_weights"] = enc.token_weights
        examples.append(ex)
    report = {"examples": len(examples), "skipped": skipped,
              "trained_tokens": sum(sum(lab != IGNORE for lab in e["labels"]) for e in examples)}
    return examples, report


def record_meta(rec: dict) -> dict:
    try:
        return json.loads(rec.get("meta") or "{}")
    except ValueError:
        return {}
