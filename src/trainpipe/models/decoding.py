"""Decoding without `generate`'s per-step machinery: greedy or sampled (temperature, top-k, top-p) continuation of
left-padded rows from a key/value cache, finished rows leaving the batch with their cache rows. Used by the RL
trainers' sampling (rl.generation) and by greedy evaluation and replay answers (training.generation)."""

from __future__ import annotations

import torch

# The generation settings `decode` implements; any other setting that differs from transformers' default
# (penalties, min-p, beams, forced or suppressed tokens, stop strings ...) is left to `generate`.
DECODE_SETTINGS = {
    "max_new_tokens",
    "do_sample",
    "temperature",
    "top_k",
    "top_p",
    "pad_token_id",
    "bos_token_id",
    "eos_token_id",
    "disable_compile",
    "cache_implementation",
    "transformers_version",
}
NEUTRAL = {"repetition_penalty": 1.0, "min_p": None, "num_beams": 1, "cache_implementation": None}


def decodable(config) -> bool:
    """Whether `decode` implements every setting of this generation config: greedy, or sampling shaped by
    temperature, top-k and top-p alone."""
    changed = config.to_diff_dict()
    for key, value in NEUTRAL.items():
        if changed.get(key, value) in (value, None):
            changed.pop(key, None)
    return config.max_new_tokens is not None and set(changed) <= DECODE_SETTINGS - set(NEUTRAL)


def sample_tokens(logits: torch.Tensor, config) -> torch.Tensor:
    """One token per row from `logits` (rows × vocab) under `config`: the argmax when it does not sample, else a
    draw from softmax(logits / temperature) restricted by top-k and top-p (transformers' own warpers), taken by
    inverting the cumulative distribution at a uniform number."""
    from transformers.generation.logits_process import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    scores = logits.float()
    if not config.do_sample:
        return scores.argmax(-1)
    if config.temperature is not None and config.temperature != 1.0:
        scores = TemperatureLogitsWarper(config.temperature)(None, scores)
    if config.top_k:
        scores = TopKLogitsWarper(config.top_k)(None, scores)
    if config.top_p is not None and config.top_p < 1.0:
        scores = TopPLogitsWarper(config.top_p)(None, scores)
    cdf = torch.softmax(scores, dim=-1).cumsum(-1)
    u = torch.rand(cdf.size(0), 1, device=cdf.device, dtype=cdf.dtype) * cdf[:, -1:]
    return torch.searchsorted(cdf, u).squeeze(-1).clamp(max=cdf.size(-1) - 1)


def decode(model, ids: torch.Tensor, mask: torch.Tensor, cache, config, eos_ids: list[int]) -> list[list[int]]:
    """Continue each left-padded row of `ids` (its cache holding all but the last token) for up to
    config.max_new_tokens tokens; a row stops after its first EOS and leaves the batch. Returns each row's
    completion ids, EOS included."""
    eos = torch.tensor(eos_ids, device=ids.device)
    rows = torch.arange(ids.size(0), device=ids.device)
    completions: list[list[int]] = [[] for _ in range(ids.size(0))]
    tokens, positions = ids[:, -1:], mask.sum(-1, keepdim=True) - 1
    for step in range(config.max_new_tokens):
        logits = model(
            input_ids=tokens, attention_mask=mask, position_ids=positions, past_key_values=cache, use_cache=True
        ).logits[:, -1]
        chosen = sample_tokens(logits, config)
        for row, token in zip(rows.tolist(), chosen.tolist()):
            completions[row].append(token)
        going = ~torch.isin(chosen, eos)
        if step + 1 == config.max_new_tokens or not going.any():
            break
        if not going.all():  # finished rows leave the batch, their cache rows with them
            keep = going.nonzero().squeeze(1)
            cache.reorder_cache(keep)
            rows, mask, positions, chosen = rows[keep], mask[keep], positions[keep], chosen[keep]
        mask = torch.cat([mask, mask.new_ones(mask.size(0), 1)], dim=1)
        tokens, positions = chosen[:, None], positions + 1
    return completions
