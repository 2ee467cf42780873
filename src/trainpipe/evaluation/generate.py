"""Batched generation for evaluation and RL: chat-template prompts, left padding, KV cache, sorted by length."""
from __future__ import annotations

import logging
from typing import Sequence

import torch

from trainpipe.training.chat_encode import encode_prompt

log = logging.getLogger("trainpipe.generate")


@torch.inference_mode()
def generate(model, tokenizer, prompts: Sequence[str], max_new_tokens: int = 64, batch_size: int = 16,
             temperature: float = 0.0, samples: int = 1, seed: int = 0) -> list[list[str]]:
    """Completions per prompt (`samples` each). Prompts are sorted by length so batches carry little padding."""
    model.eval()
    encoded = [encode_prompt(tokenizer, [{"role": "user", "content": p}]) for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    out: list[list[str]] = [[] for _ in prompts]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    generator_seed = seed
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        batch = _left_pad([encoded[i] for i in idx], pad_id, model.device)
        torch.manual_seed(generator_seed + start)
        gen = model.generate(
            **batch, max_new_tokens=max_new_tokens, do_sample=temperature > 0,
            temperature=temperature if temperature > 0 else None, top_p=None, top_k=None,
            num_return_sequences=samples, pad_token_id=pad_id, eos_token_id=tokenizer.eos_token_id, use_cache=True)
        new = gen[:, batch["input_ids"].shape[1]:]
        texts = tokenizer.batch_decode(new, skip_special_tokens=True)
        for j, i in enumerate(idx):
            out[i] = texts[j * samples:(j + 1) * samples]
    return out


def _left_pad(seqs: list[list[int]], pad_id: int, device) -> dict:
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, width - len(s):] = torch.tensor(s, dtype=torch.long)
        mask[r, width - len(s):] = 1
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device)}
