"""Turn canonical SFT records into trainer-ready examples: input_ids, labels and, as configured, per-token
weights (step rewards, score weights) and a curriculum difficulty; agent trajectories may be chunked at step
boundaries; scored conversations are filtered, weighted or score-prefixed as sft.score says.
"""

from __future__ import annotations

from typing import Iterable

from trainpipe.config import AgentConfig, SftConfig
from trainpipe.data.records import record_meta, record_score
from trainpipe.errors import DataError, UserError
from trainpipe.models.chat import IGNORE
from trainpipe.training import scores
from trainpipe.training.agent import Chunk, StepTooLong, chunk_trajectory, encode_turns
from trainpipe.training.curriculum import difficulty_key
from trainpipe.training.losses import step_weights

MAX_SKIP_EXAMPLES = 3


def build_examples(
    records: Iterable[dict], tokenizer, sft: SftConfig, max_length: int, on_bad_record: str = "error"
) -> tuple[list[dict], dict]:
    """Encode every record into one example, or one per chunk with `sft.agent.chunking`; returns
    (examples, report). Examples carry token_weights with step_weights or score weights, difficulty with
    curriculum."""
    agent = sft.agent
    if sft.score.mode == "weight" and sft.loss != "ce":
        raise UserError(f"sft.score.mode=weight weights the CE loss; it needs sft.loss=ce, got {sft.loss}")
    plan = scores.plan(list(records), sft.score)
    # Every example carries weights once any does (the collator pads one column); unscored ones weigh 1.
    weighted = sft.score.mode == "weight" and plan.scored > 0
    examples: list[dict] = []
    skipped, skip_examples, chunked = 0, [], 0
    for i, rec in enumerate(plan.records):
        score = record_score(rec)
        if score is not None and sft.score.mode == "prefix":
            rec = {**rec, "messages": scores.with_score_prefix(rec["messages"], score)}
        example_weight = None
        if weighted:
            example_weight = 1.0 if score is None else scores.score_weight(score, sft.score.low, plan.high)
        try:
            found = record_examples(rec, tokenizer, agent, max_length, example_weight)
        except DataError as err:
            if on_bad_record != "skip":
                raise
            skipped += 1
            skip_examples = (skip_examples + [str(err)])[:MAX_SKIP_EXAMPLES]
            continue
        chunked += len(found) > 1
        examples.extend(found)
    report = {
        "examples": len(examples),
        "skipped": skipped,
        "trained_tokens": sum(sum(lab != IGNORE for lab in e["labels"]) for e in examples),
    }
    if skipped:
        report["skip_examples"] = skip_examples
    if agent.chunking:
        report["chunked_records"] = chunked
    report.update(plan.report(sft.score))
    return examples, report


def record_examples(
    rec: dict, tokenizer, agent: AgentConfig, max_length: int, example_weight: float | None = None
) -> list[dict]:
    """The examples of one record (several when it is chunked); DataError when it cannot be used.
    `example_weight` scales every trained token's weight (1 where no step weights apply)."""
    where = f"sft record {rec.get('id') or '?'} (source {rec.get('source') or '?'})"
    messages = rec["messages"]
    n_turns = sum(m["role"] == "assistant" for m in messages)
    weights = _weights(rec, n_turns, agent, where) if agent.step_weights else None
    try:
        chunks = (
            chunk_trajectory(tokenizer, messages, max_length, agent.overlap_steps)
            if agent.chunking
            else [Chunk.whole(messages)]
        )
    except StepTooLong as err:
        raise DataError(where, None, "messages", f"{err}; raise data.max_length", "too_long") from None
    out = []
    for chunk in chunks:
        # Weights come from the whole trajectory's rewards; a chunk takes the slice of the steps it shows.
        turn_weights = weights[chunk.first_step : chunk.first_step + chunk.steps] if weights is not None else None
        enc = encode_turns(
            tokenizer, chunk.messages, turn_weights, chunk.trained_turns, train_observations=not agent.mask_observations
        )
        if len(enc.input_ids) > max_length:
            hint = "" if agent.chunking else " (sft.agent.chunking splits trajectories at step boundaries)"
            raise DataError(
                where, None, "messages", f"at most {max_length} tokens; got {len(enc.input_ids)}{hint}", "too_long"
            )
        if all(lab == IGNORE for lab in enc.labels):
            raise DataError(where, None, "messages", "at least one trained assistant token", "no_trained_tokens")
        ex = {"input_ids": enc.input_ids, "labels": enc.labels}
        if weights is not None or example_weight is not None:
            ex["token_weights"] = _token_weights(enc, weights is not None, example_weight)
        if agent.curriculum:
            ex["difficulty"] = _difficulty(rec, chunk.steps, agent, where)
        out.append(ex)
    return out


def _token_weights(enc, stepped: bool, example_weight: float | None) -> list[float]:
    base = enc.token_weights if stepped else [0.0 if lab == IGNORE else 1.0 for lab in enc.labels]
    return base if example_weight is None else [w * example_weight for w in base]


def _weights(rec: dict, n_turns: int, agent: AgentConfig, where: str) -> list[float]:
    try:
        return step_weights(rec.get("step_rewards") or None, n_turns, agent.allow_negative)
    except ValueError as err:
        raise DataError(where, None, "step_rewards", str(err), "step_rewards") from None


def _difficulty(rec: dict, steps: int, agent: AgentConfig, where: str) -> list[float]:
    try:
        return difficulty_key(rec, record_meta(rec), steps, agent.curriculum_field)
    except ValueError as err:
        raise DataError(where, None, agent.curriculum_field, str(err), "curriculum_field") from None
