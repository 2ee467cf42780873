"""Completion log-probabilities for the online trainers (GRPO, RLOO) on devices without Triton.

TRL scores completions through a chunked LM-head kernel that never materialises the [tokens, vocab] logits. On
CUDA it runs as Triton kernels over the completion positions only. Elsewhere (CPU, MPS) it falls back to tiles
of torch ops over every position of the sequence, prompt included: for the embedded 135M model with 70-token
prompts and 32-token completions that is ~3x the rows, each tile folded in several eager passes, and it took
half of a GRPO step on a 2-core CPU. When the completion logits fit in a modest budget, this computes them
directly instead (the model's own head on the last completion positions, then log-softmax), with the same
results and gradients; larger cases, Triton devices and multimodal or MoE inputs keep TRL's path.

A GRPO batch repeats each prompt once per completion of its group. The direct path runs each distinct prompt
through the model once (with gradients: the adapter sees every prompt token), copies its key/value cache to the
rows that repeat it, and runs only the completion tokens per row on top: the same logits, a fraction of the
tokens (8 prompts of 70 tokens instead of 64).
"""

from __future__ import annotations

import inspect

import torch

# Completion logits (rows x vocab) up to this many elements take the direct path: 2**27 fp32 elements are
# 512 MiB, and autograd keeps about three tensors of that size until the backward pass.
DIRECT_LOGITS_BUDGET = 2**27


def _accepts_logits_to_keep(model) -> bool:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    base = getattr(base, "module", base)  # a wrapper from accelerate/DDP
    return "logits_to_keep" in inspect.signature(type(base).forward).parameters


def use_direct(model, input_ids: torch.Tensor, logits_to_keep: int, batch_size: int, extras: dict) -> bool:
    from trl.kernels.chunked_logprob import _use_triton

    if _use_triton(input_ids.device) or any(v is not None for v in extras.values()):
        return False
    vocab = model.get_output_embeddings().weight.shape[0] if hasattr(model, "get_output_embeddings") else None
    if vocab is None or min(batch_size, input_ids.size(0)) * (logits_to_keep + 1) * vocab > DIRECT_LOGITS_BUDGET:
        return False
    return _accepts_logits_to_keep(model)


def completion_logprobs(
    model,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    logits_to_keep: int,
    temperature: float,
    compute_entropy: bool,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Log-probabilities (and entropies) of the last `logits_to_keep` tokens of each row under `model` at
    `temperature`; positions outside the attention mask give 0, as in TRL."""
    logits = shared_prompt_logits(model, input_ids, attention_mask, logits_to_keep)
    if logits is None:
        out = model(input_ids=input_ids, attention_mask=attention_mask, logits_to_keep=logits_to_keep + 1)
        logits = out.logits[:, :-1]
    logits = logits.float()
    if temperature != 1.0:
        logits = logits / temperature
    # log p(target) = logit(target) − logsumexp(logits): no log-softmax over the vocabulary is kept for backward
    lse = torch.logsumexp(logits, dim=-1)
    targets = input_ids[:, -logits_to_keep:]
    logps = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - lse
    keep = attention_mask[:, -logits_to_keep:] != 0
    logps = logps.masked_fill(~keep, 0.0)
    entropy = None
    if compute_entropy:  # TRL logs entropies and masks by them; no gradient flows through them
        with torch.no_grad():
            entropy = (lse - (torch.softmax(logits, dim=-1) * logits).sum(-1)).masked_fill(~keep, 0.0)
    return logps, entropy


def prompt_groups(prompt: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For rows of (left-padded) prompt ids and their mask: the index of one row per distinct prompt, and for each
    row the position of its prompt among those."""
    _, inverse = torch.unique(torch.cat([prompt, mask.to(prompt.dtype)], dim=1), dim=0, return_inverse=True)
    rows = torch.arange(prompt.size(0), device=prompt.device)
    first = torch.full((int(inverse.max()) + 1,), prompt.size(0), device=prompt.device, dtype=rows.dtype)
    first = first.scatter_reduce(0, inverse, rows, reduce="amin")
    return first, inverse


def shared_prompt_logits(model, input_ids, attention_mask, logits_to_keep: int) -> torch.Tensor | None:
    """The logits that predict the last `logits_to_keep` tokens of each row, with each distinct prompt (the tokens
    before them) run once and its key/value cache shared by the rows that repeat it; None when no prompt repeats."""
    width = input_ids.size(1) - logits_to_keep
    if width < 1 or logits_to_keep < 1:
        return None
    prompt, prompt_mask = input_ids[:, :width], attention_mask[:, :width]
    first, inverse = prompt_groups(prompt, prompt_mask)
    if first.numel() == input_ids.size(0):
        return None
    unique_mask = prompt_mask[first]
    # Positions count real tokens only (left padding shifts a prompt right), as generation counted them.
    positions = (unique_mask.cumsum(-1) - 1).clamp(min=0)
    out = model(
        input_ids=prompt[first], attention_mask=unique_mask, position_ids=positions, use_cache=True, logits_to_keep=1
    )
    head = out.logits[:, -1:][inverse]  # predicts each row's first completion token
    if logits_to_keep == 1:
        return head
    cache = out.past_key_values
    cache.reorder_cache(inverse)  # a differentiable gather: gradients reach the prompt's keys and values
    completion = input_ids[:, width:-1]
    start = prompt_mask.sum(-1, keepdim=True)
    steps = torch.arange(completion.size(1), device=input_ids.device)
    rest = model(
        input_ids=completion,
        attention_mask=attention_mask[:, :-1],
        position_ids=start + steps,
        past_key_values=cache,
        use_cache=True,
    ).logits
    return torch.cat([head, rest], dim=1)


class DirectLogprobsMixin:
    """Put first in the bases of a TRL online trainer (GRPOTrainer, RLOOTrainer) to score completions directly
    where that is cheaper (see the module docstring)."""

    def _get_per_token_logps_and_entropies(
        self,
        model,
        input_ids,
        attention_mask,
        logits_to_keep,
        batch_size=None,
        compute_entropy=False,
        compute_aux_loss=False,
        **extras,
    ):
        batch_size = batch_size or input_ids.size(0)
        if compute_aux_loss or not use_direct(
            self.accelerator.unwrap_model(model), input_ids, logits_to_keep, batch_size, extras
        ):
            return super()._get_per_token_logps_and_entropies(
                model,
                input_ids,
                attention_mask,
                logits_to_keep,
                batch_size=batch_size,
                compute_entropy=compute_entropy,
                compute_aux_loss=compute_aux_loss,
                **extras,
            )
        logps, entropies = [], []
        for start in range(0, input_ids.size(0), batch_size):
            rows = slice(start, start + batch_size)
            with self.accelerator.autocast():
                lp, ent = completion_logprobs(
                    model, input_ids[rows], attention_mask[rows], logits_to_keep, self.temperature, compute_entropy
                )
            logps.append(lp)
            entropies.append(ent)
        return torch.cat(logps), torch.cat(entropies) if compute_entropy else None, None
