"""Agent trajectories as training examples: steps, observation turns, chunks at step boundaries that fit
the token budget. Reads canonical sft messages; returns Encoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from trainpipe.models.chat import Encoded, assistant_char_spans, chat_ids, encode_chat, render

OBSERVATION = "Observation:"


@dataclass
class Chunk:
    messages: list[dict]
    trained_turns: Optional[set[int]]  # assistant turns (chunk-local) in the loss; None: all of them
    first_step: int  # trajectory index of the chunk's first assistant turn
    steps: int  # assistant turns the chunk shows, context included

    @classmethod
    def whole(cls, messages: Sequence[dict]) -> "Chunk":
        return cls(list(messages), None, 0, sum(m["role"] == "assistant" for m in messages))


class StepTooLong(ValueError):
    """One step plus the instruction does not fit the token budget; no chunking can help."""


def split_steps(messages: Sequence[dict]) -> tuple[list[dict], list[list[dict]]]:
    """(header, steps): the messages before the first assistant turn (system + instruction), then one
    list per assistant turn holding it and the non-assistant turns (observations) that follow it."""
    header: list[dict] = []
    steps: list[list[dict]] = []
    for msg in messages:
        if msg["role"] == "assistant":
            steps.append([msg])
        elif steps:
            steps[-1].append(msg)
        else:
            header.append(msg)
    return header, steps


def is_observation(msg: dict) -> bool:
    return msg["role"] == "user" and msg["content"].lstrip().startswith(OBSERVATION)


def encode_turns(
    tokenizer,
    messages: Sequence[dict],
    turn_weights: Sequence[float] | None = None,
    trained_turns: set[int] | None = None,
    train_observations: bool = False,
) -> Encoded:
    """encode_chat, and with `train_observations` also the observation turns after each trained step
    (content + end-of-turn), weighted like the step they follow. turn_of_token stays −1 on them."""
    enc = encode_chat(tokenizer, messages, turn_weights, trained_turns)
    owner = _observation_owners(messages)
    if not train_observations or not owner:
        return enc
    text = render(tokenizer, messages)
    # Renaming observation turns to assistant makes the shared span finder return their spans too,
    # located in the very text the template rendered (roles only select which spans come back).
    renamed = [dict(m, role="assistant") if i in owner else m for i, m in enumerate(messages)]
    spans = assistant_char_spans(text, renamed, tokenizer.eos_token)
    spanned = [i for i, m in enumerate(renamed) if m["role"] == "assistant"]
    obs_spans = {span: owner[i] for i, span in zip(spanned, spans) if i in owner}
    offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    for t, (start, end) in enumerate(offsets):
        step = next((j for (s, e), j in obs_spans.items() if s <= start < end <= e), None)
        if step is None or (trained_turns is not None and step not in trained_turns):
            continue
        enc.labels[t] = enc.input_ids[t]
        if turn_weights is not None:
            enc.token_weights[t] = float(turn_weights[step])
    return enc


def _observation_owners(messages: Sequence[dict]) -> dict[int, int]:
    """Message index of each observation turn -> index of the assistant turn (step) it answers."""
    owners, turn = {}, -1
    for i, msg in enumerate(messages):
        if msg["role"] == "assistant":
            turn += 1
        elif turn >= 0 and is_observation(msg):
            owners[i] = turn
    return owners


def token_count(tokenizer, messages: Sequence[dict]) -> int:
    """Tokens of the rendered conversation, counted exactly as encode_chat tokenises it."""
    return len(chat_ids(tokenizer, messages))


def chunk_trajectory(tokenizer, messages: Sequence[dict], max_length: int, overlap_steps: int) -> list[Chunk]:
    """Split at step boundaries into chunks of at most max_length tokens (rendered with the real template).

    Each chunk holds the header, up to `overlap_steps` earlier steps as untrained context (fewer when they
    would not fit), and as many new steps as fit. Raises StepTooLong when header + one step is over budget.
    """
    if token_count(tokenizer, messages) <= max_length:
        return [Chunk.whole(messages)]
    header, steps = split_steps(messages)

    def fits(lo: int, hi: int) -> bool:
        return token_count(tokenizer, header + [m for s in steps[lo:hi] for m in s]) <= max_length

    chunks, new = [], 0
    while new < len(steps):
        ctx = max(0, new - overlap_steps)
        while ctx <= new and not fits(ctx, new + 1):
            ctx += 1  # drop the oldest context step first: new steps matter more than context
        if ctx > new:
            raise StepTooLong(f"step {new + 1} with the instruction is over {max_length} tokens")
        end = new + 1
        while end < len(steps) and fits(ctx, end + 1):
            end += 1
        msgs = header + [m for s in steps[ctx:end] for m in s]
        chunks.append(Chunk(msgs, set(range(new - ctx, end - ctx)), ctx, end - ctx))
        new = end
    return chunks
