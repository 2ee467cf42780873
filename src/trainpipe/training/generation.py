"""Batched greedy or sampled generation with a chat template: left padding, KV cache, prompts sorted by length.

Used by evaluation (every suite), by SFT replay (the starting model answers general prompts) and by bench.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from trainpipe.models.chat import encode_prompt


@dataclass(frozen=True)
class Completion:
    text: str
    tokens: int  # generated tokens before the end-of-sequence token


def generate_completions(
    model,
    tokenizer,
    prompts: Sequence[str],
    max_new_tokens: int = 64,
    batch_size: int = 16,
    temperature: float = 0.0,
    samples: int = 1,
    seed: int = 0,
) -> list[list[Completion]]:
    """`samples` completions per single-turn prompt, in prompt order."""
    return chat_completions(
        model,
        tokenizer,
        [[{"role": "user", "content": p}] for p in prompts],
        max_new_tokens,
        batch_size,
        temperature,
        samples,
        seed,
    )


@torch.inference_mode()
def chat_completions(
    model,
    tokenizer,
    conversations: Sequence[Sequence[dict]],
    max_new_tokens: int = 64,
    batch_size: int = 16,
    temperature: float = 0.0,
    samples: int = 1,
    seed: int = 0,
) -> list[list[Completion]]:
    """`samples` next assistant turns per conversation (chat messages ending in a user turn), in input order.

    Prompts run longest first in batches of similar length, so padding stays small and a batch that
    does not fit in memory fails at the start rather than after most of the work.
    """
    model.eval()
    encoded = [encode_prompt(tokenizer, list(c)) for c in conversations]
    order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i]))
    out: list[list[Completion]] = [[] for _ in encoded]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    sampling = temperature > 0
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        batch = _left_pad([encoded[i] for i in idx], pad_id, model.device)
        # Seeding per batch keeps a sampled run reproducible whatever ran before it in this process.
        torch.manual_seed(seed + start)
        gen = model.generate(
            **batch,
            max_new_tokens=max_new_tokens,
            do_sample=sampling,
            temperature=temperature if sampling else None,
            top_p=None,
            top_k=None,
            num_return_sequences=samples,
            pad_token_id=pad_id,
            eos_token_id=tokenizer.eos_token_id,
            use_cache=True,
        )
        new = gen[:, batch["input_ids"].shape[1] :]
        texts = tokenizer.batch_decode(new, skip_special_tokens=True)
        lengths = _lengths(new, tokenizer.eos_token_id)
        for j, i in enumerate(idx):
            rows = range(j * samples, (j + 1) * samples)
            out[i] = [Completion(texts[r], lengths[r]) for r in rows]
    return out


def _lengths(new: torch.Tensor, eos_id: int | None) -> list[int]:
    if eos_id is None:
        return [new.shape[1]] * new.shape[0]
    is_eos = (new == eos_id).int()
    # argmax finds the first end token; rows without one ran to max_new_tokens.
    first = torch.where(is_eos.any(dim=1), is_eos.argmax(dim=1), torch.full_like(is_eos[:, 0], new.shape[1]))
    return first.tolist()


def _left_pad(seqs: list[list[int]], pad_id: int, device) -> dict:
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, width - len(s) :] = torch.tensor(s, dtype=torch.long)
        mask[r, width - len(s) :] = 1
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device)}
