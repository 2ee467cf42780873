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

Where the LM head is a plain frozen matrix (a LoRA run; tied or not) the logits are not formed at all: the body's
hidden states at the real (unpadded) completion positions go through `LinearLogprobs`, which takes the head, the
log-softmax, the entropy and the gradient with respect to the hidden states a block of rows at a time, so no
[tokens, vocab] tensor outlives its block and padding costs nothing. That also lifts the size limit.
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


# Logit elements per block of LinearLogprobs (2^24 fp32 = 64 MiB): a few hundred rows for a 50k vocabulary.
BLOCK_ELEMENTS = 1 << 24


def frozen_head(model):
    """(decoder body, head weight) when `model`'s LM head is a plain frozen matrix (no bias, no logit scaling or
    soft-capping) that LinearLogprobs can apply to the body's hidden states; else None."""
    from trainpipe.training.sft_trainer import supports_chunked_ce

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if not hasattr(base, "get_output_embeddings") or not supports_chunked_ce(model):
        return None
    weight = base.get_output_embeddings().weight
    body = getattr(base, base.base_model_prefix, None)
    if weight.requires_grad or body is None or body is base:
        return None
    return body, weight


def use_direct(
    model, input_ids: torch.Tensor, logits_to_keep: int, batch_size: int, extras: dict, one_process: bool = True
) -> bool:
    """Whether completion_logprobs scores this batch (else TRL's kernel does). `model` is unwrapped; with more
    than one process the call goes through the wrapper (DDP's gradient hooks), so the logits path is taken."""
    from trl.kernels.chunked_logprob import _use_triton

    if _use_triton(input_ids.device) or any(v is not None for v in extras.values()):
        return False
    if one_process and frozen_head(model) is not None:
        return True  # LinearLogprobs holds one block of logits at a time
    vocab = model.get_output_embeddings().weight.shape[0] if hasattr(model, "get_output_embeddings") else None
    if vocab is None or min(batch_size, input_ids.size(0)) * (logits_to_keep + 1) * vocab > DIRECT_LOGITS_BUDGET:
        return False
    return _accepts_logits_to_keep(model)


class LinearLogprobs(torch.autograd.Function):
    """log softmax(hidden @ weight.T / temperature)[target] per row, and (no gradient) the entropy of that
    distribution, for a frozen `weight`, a block of `rows` at a time. The softmax is at hand in the forward, so the
    gradient with respect to `hidden` is formed there, ((onehot − p) / temperature) @ weight per row, and backward
    only scales it by each row's incoming gradient: no [rows, vocab] tensor is kept for the backward pass."""

    @staticmethod
    def forward(ctx, hidden, weight, targets, temperature: float, rows: int, entropy: bool):
        n = hidden.shape[0]
        logps = torch.empty(n, dtype=torch.float32, device=hidden.device)
        ent = torch.zeros(n, dtype=torch.float32, device=hidden.device)
        grad_h = torch.empty_like(hidden) if ctx.needs_input_grad[0] else None
        for start in range(0, n, rows):
            h, y = hidden[start : start + rows], targets[start : start + rows]
            z = (h @ weight.t()).float()  # under autocast (bf16 where native), as the model's own head would be
            if temperature != 1.0:
                z = z / temperature
            z = z - torch.logsumexp(z, dim=-1, keepdim=True)  # log p
            logps[start : start + rows] = z.gather(-1, y[:, None]).squeeze(-1)
            if entropy or grad_h is not None:
                p = z.exp()
                if entropy:
                    ent[start : start + rows] = -(p * z).sum(-1)
                if grad_h is not None:
                    p.neg_()[torch.arange(len(y), device=y.device), y] += 1.0  # onehot − p
                    if temperature != 1.0:
                        p.div_(temperature)
                    grad_h[start : start + rows] = p.to(h.dtype) @ weight
        ctx.save_for_backward(grad_h if grad_h is not None else hidden.new_empty(0))
        ctx.mark_non_differentiable(ent)
        return logps, ent

    @staticmethod
    def backward(ctx, grad_logps, _grad_ent):
        (grad_h,) = ctx.saved_tensors
        return grad_h * grad_logps[:, None].to(grad_h.dtype), None, None, None, None, None


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
    head = frozen_head(model)  # None for a wrapped (multi-process) model, which keeps the logits path
    if head is not None:
        return _frozen_head_logprobs(*head, input_ids, attention_mask, logits_to_keep, temperature, compute_entropy)
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


def _frozen_head_logprobs(body, weight, input_ids, attention_mask, logits_to_keep, temperature, compute_entropy):
    """completion_logprobs through the decoder body and LinearLogprobs, on the real completion positions only."""
    hidden = shared_prompt_logits(body, input_ids, attention_mask, logits_to_keep, "last_hidden_state")
    if hidden is None:
        out = body(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
        hidden = out.last_hidden_state[:, -logits_to_keep - 1 : -1]
    keep = attention_mask[:, -logits_to_keep:] != 0
    targets = input_ids[:, -logits_to_keep:]
    rows = max(16, BLOCK_ELEMENTS // weight.shape[0])
    lp, ent = LinearLogprobs.apply(hidden[keep], weight, targets[keep], float(temperature), rows, compute_entropy)
    logps = lp.new_zeros(keep.shape).masked_scatter(keep, lp)
    entropy = ent.new_zeros(keep.shape).masked_scatter(keep, ent) if compute_entropy else None
    return logps, entropy


def prompt_groups(prompt: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For rows of (left-padded) prompt ids and their mask: the index of one row per distinct prompt, and for each
    row the position of its prompt among those."""
    _, inverse = torch.unique(torch.cat([prompt, mask.to(prompt.dtype)], dim=1), dim=0, return_inverse=True)
    rows = torch.arange(prompt.size(0), device=prompt.device)
    first = torch.full((int(inverse.max()) + 1,), prompt.size(0), device=prompt.device, dtype=rows.dtype)
    first = first.scatter_reduce(0, inverse, rows, reduce="amin")
    return first, inverse


def shared_prompt_logits(
    model, input_ids, attention_mask, logits_to_keep: int, field: str = "logits"
) -> torch.Tensor | None:
    """The logits that predict the last `logits_to_keep` tokens of each row, with each distinct prompt (the tokens
    before them) run once and its key/value cache shared by the rows that repeat it; None when no prompt repeats.
    field="last_hidden_state" (with `model` a decoder body): the hidden states at those positions instead."""
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
    keep_last = {"logits_to_keep": 1} if field == "logits" else {}
    out = model(
        input_ids=prompt[first], attention_mask=unique_mask, position_ids=positions, use_cache=True, **keep_last
    )
    head = out[field][:, -1:][inverse]  # predicts each row's first completion token
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
    )[field]
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
        one_process = self.accelerator.num_processes == 1
        unwrapped = self.accelerator.unwrap_model(model)
        if compute_aux_loss or not use_direct(unwrapped, input_ids, logits_to_keep, batch_size, extras, one_process):
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
        model = unwrapped if one_process else model  # one process: no wrapper's hooks to keep
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


# Loss types whose value over the rows with signal, rescaled by `_row_scale`, equals their value over all rows.
SKIPPABLE_LOSSES = ("dapo", "grpo", "dr_grpo", "bnpo")


class SignalRowsMixin:
    """Put before GRPOTrainer in the bases: the loss forward and backward run on the rows whose advantage is not
    zero. With beta 0 (no KL term in the loss) a row of zero advantage, such as every row of a group whose rewards
    are all equal, contributes exactly zero to the loss and its gradient, so skipping it changes neither; the
    loss is rescaled where its normaliser counts rows or tokens of the batch (dapo's count spans the generation
    batch already). TRL's logged entropy and clip ratios are then means over the rows that train."""

    def _compute_loss(self, model, inputs):
        keep = self._signal_rows(inputs)
        if keep is None:
            return super()._compute_loss(model, inputs)
        n, rows = inputs["completion_ids"].size(0), keep.nonzero().squeeze(1)
        self._metrics["train"]["rows_trained"].append(len(rows) / n)
        if len(rows) == n:
            return super()._compute_loss(model, inputs)
        if len(rows) == 0:  # nothing to learn from: one row keeps the graph, and its loss and gradient are 0
            rows = rows.new_zeros(1)
        subset = {k: v[rows] if torch.is_tensor(v) and v.dim() > 0 and v.size(0) == n else v for k, v in inputs.items()}
        return super()._compute_loss(model, subset) * _row_scale(self.loss_type, inputs, rows)

    def _signal_rows(self, inputs) -> torch.Tensor | None:
        """A mask of the rows with nonzero advantage, or None where skipping rows could change the loss."""
        if (
            self.beta != 0.0
            or self.loss_type not in SKIPPABLE_LOSSES
            or self.top_entropy_quantile < 1.0  # a quantile over the batch moves with the rows in it
            or getattr(self, "aux_loss_enabled", False)
            or self.accelerator.num_processes > 1  # every process must run the same collectives
            or not self.model.training
            or any(k in inputs for k in ("pixel_values", "image_grid_thw", "token_type_ids"))
        ):
            return None
        adv = inputs["advantages"]
        return adv != 0 if adv.dim() == 1 else ((adv != 0) & (_loss_mask(inputs) != 0)).any(dim=1)


def _loss_mask(inputs: dict) -> torch.Tensor:
    """The completion tokens TRL's loss counts: the completion mask, tool-output tokens masked out."""
    mask = inputs["completion_mask"]
    return mask if "tool_mask" not in inputs else mask * inputs["tool_mask"]


def _row_scale(loss_type: str, inputs: dict, rows: torch.Tensor) -> float:
    """What turns the loss over `rows` (TRL's normaliser) into the loss over the whole batch."""
    n = inputs["completion_ids"].size(0)
    if loss_type in ("grpo", "dr_grpo"):  # a mean over rows
        return len(rows) / n
    if loss_type == "bnpo":  # a mean over the batch's completion tokens
        mask = _loss_mask(inputs)
        return float(mask[rows].sum().clamp(min=1) / mask.sum().clamp(min=1))
    return 1.0  # dapo: num_items_in_batch counts the whole generation batch
