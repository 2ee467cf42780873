"""Token-level training losses (HF causal shift done inside): cross-entropy, Y-Trainer NLIRG
weighting, step-weighted CE, KL to a reference model, and per-step weights/advantages for trajectories."""

from __future__ import annotations

import math
from typing import Literal, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

IGNORE_INDEX = -100


def shift(logits: Tensor, labels: Tensor, *extra: Tensor) -> tuple[Tensor, ...]:
    """Align like HF causal LMs: logits at t predict labels[t + 1].

    Returns (logits[:, :-1], labels[:, 1:], *(x[:, 1:] for x in extra)); extras are tensors aligned
    with labels (e.g. per-label-token weights). All are views, no copies.
    """
    if logits.dim() != 3 or labels.dim() != 2 or logits.shape[:2] != labels.shape:
        got = f"{tuple(logits.shape)}, {tuple(labels.shape)}"
        raise ValueError(f"expected logits [B, T, V] and labels [B, T], got {got}")
    for x in extra:
        if x.shape[:2] != labels.shape:
            raise ValueError(f"extra tensor shape {tuple(x.shape)} does not match labels {tuple(labels.shape)}")
    return (logits[:, :-1], labels[:, 1:], *(x[:, 1:] for x in extra))


def token_ce(logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Per-token cross-entropy [B, T-1] in float32 (0 where ignored) and the trained-position mask."""
    lg, lb = shift(logits, labels)
    mask = lb != IGNORE_INDEX
    # float32 because bf16 log-softmax over a large vocabulary loses too much precision.
    loss = F.cross_entropy(lg.float().transpose(1, 2), lb.long(), ignore_index=IGNORE_INDEX, reduction="none")
    return loss, mask


def kl_to_reference(logits: Tensor, ref_logits: Tensor, labels: Tensor) -> Tensor:
    """Mean over trained positions of KL(p_ref ‖ p) over the full vocabulary (float32); 0 without trained
    positions. Forward KL from the reference keeps every token the reference found likely, not only its argmax."""
    if ref_logits.shape != logits.shape:
        raise ValueError(f"reference logits {tuple(ref_logits.shape)} do not match logits {tuple(logits.shape)}")
    lg, lb = shift(logits, labels)
    ref = ref_logits[:, :-1]
    mask = lb != IGNORE_INDEX
    if not mask.any():
        return logits.sum() * 0.0
    log_p = F.log_softmax(lg[mask].float(), dim=-1)
    log_ref = F.log_softmax(ref[mask].float(), dim=-1)
    return (log_ref.exp() * (log_ref - log_p)).sum(-1).mean()


def nlirg_weights(
    token_loss: Tensor,
    low_max: float = 3.0,
    low_slope: float = 1.7,
    low_center: float = 1.2,
    high_center: float = 6.2,
    cutoff: float = 15.0,
) -> Tensor:
    """Y-Trainer NLIRG weight of each token from its own CE loss (detached, so no gradient through w).

    l <= low_max: sigmoid(low_slope * (l - low_center)), down-weighting tokens already learned;
    low_max < l < cutoff: sigmoid(-(l - high_center)), down-weighting likely-noisy tokens;
    l >= cutoff: 0, dropping tokens that are almost surely label noise.
    """
    if not low_max < cutoff:
        raise ValueError(f"low_max ({low_max}) must be below cutoff ({cutoff})")
    ell = token_loss.detach().float()
    low = torch.sigmoid(low_slope * (ell - low_center))
    high = torch.sigmoid(-(ell - high_center))
    w = torch.where(ell <= low_max, low, high)
    return torch.where(ell >= cutoff, torch.zeros_like(w), w)


def _as_float(x: int | Tensor) -> Tensor | float:
    return x.float() if torch.is_tensor(x) else float(x)


def _divide(total: Tensor, denom: Tensor | float, anchor: Tensor) -> Tensor:
    """total / denom, or a zero still attached to the graph (anchor.sum() * 0) when denom is 0."""
    # Tensor ops instead of `if denom == 0` avoid a host-device sync on every step.
    d = torch.as_tensor(denom, dtype=torch.float32, device=total.device)
    zero = anchor.float().sum() * 0.0
    # The graph-attached zero lets backward() run on micro-batches with nothing to train (all prompt tokens).
    return torch.where(d > 0, total / d.clamp_min(1e-12), zero)


def nlirg_loss(
    logits: Tensor,
    labels: Tensor,
    mode: Literal["sft", "cpt"],
    num_items_in_batch: int | Tensor | None = None,
    token_weights: Tensor | None = None,
    **consts: float,
) -> Tensor:
    """NLIRG loss sum(w * s * l) / D; `consts` are forwarded to nlirg_weights, and `token_weights` s [B, T]
    (aligned with labels: step or score weights; 1 when absent) multiply each token's term as they do under CE.

    cpt: D = label tokens here (labels[:, 1:] != -100), or num_items_in_batch when given.
    sft: D = tokens with w * l != 0. Under gradient accumulation (num_items_in_batch given) D is that
    count scaled by num_items_in_batch / (label tokens here): the micro-batch's nonzero fraction
    estimates the batch's, so micro-batches with equal statistics sum to the full-batch loss.
    """
    if mode not in ("sft", "cpt"):
        raise ValueError(f"mode must be 'sft' or 'cpt', got {mode!r}")
    ell, mask = token_ce(logits, labels)
    wl = nlirg_weights(ell, **consts) * ell * mask
    if token_weights is None:
        total = wl.sum()
    else:  # D stays NLIRG's own count below: like the CE denominator, it does not depend on the weights
        (w,) = shift(logits, labels, token_weights)[2:]
        total = (wl * w.detach().float()).sum()
    n_label = mask.sum().float()
    if mode == "cpt":
        denom = n_label if num_items_in_batch is None else _as_float(num_items_in_batch)
    else:
        nonzero = (wl != 0).sum().float()
        if num_items_in_batch is None:
            denom = nonzero
        else:
            # n_label == 0 implies nonzero == 0, so the clamp only avoids 0/0 and D stays 0.
            denom = nonzero * _as_float(num_items_in_batch) / n_label.clamp_min(1.0)
    return _divide(total, denom, logits)


def weighted_ce(
    logits: Tensor,
    labels: Tensor,
    token_weights: Tensor,
    num_items_in_batch: int | Tensor | None = None,
) -> Tensor:
    """Step-weighted CE: sum(w_t * l_t) / N, N = label tokens (or num_items_in_batch).

    token_weights [B, T] is aligned with labels (the weight of each label token). Dividing by N, not
    sum(w), keeps the loss scale independent of the weights, which are already mean-1 per trajectory.
    """
    ell, mask = token_ce(logits, labels)
    (w,) = shift(logits, labels, token_weights)[2:]
    total = (w.detach().float() * ell * mask).sum()
    denom = mask.sum().float() if num_items_in_batch is None else _as_float(num_items_in_batch)
    return _divide(total, denom, logits)


def step_weights(
    step_rewards: Sequence[float | None] | None,
    n_turns: int,
    allow_negative: bool = False,
) -> list[float]:
    """Per assistant turn j: w_j = r_j / mean(r), so the weights average 1 over the trajectory.

    No rewards (None, empty, or all entries None) or a non-positive mean -> all 1.0, so missing
    rewards never silently zero the loss. A single missing (None) entry gets the neutral weight 1.0.
    Negative weights are clipped to 0 unless allow_negative.
    """
    if n_turns < 0:
        raise ValueError(f"n_turns must be >= 0, got {n_turns}")
    if not step_rewards or all(r is None for r in step_rewards):
        return [1.0] * n_turns
    if len(step_rewards) != n_turns:
        raise ValueError(f"got {len(step_rewards)} step rewards for {n_turns} assistant turns")
    present = [float(r) for r in step_rewards if r is not None]
    if not all(math.isfinite(r) for r in present):
        raise ValueError(f"step rewards must be finite, got {list(step_rewards)}")
    mean = math.fsum(present) / len(present)
    if mean <= 0.0:
        return [1.0] * n_turns
    weights = [1.0 if r is None else float(r) / mean for r in step_rewards]
    return weights if allow_negative else [max(w, 0.0) for w in weights]


def step_advantages(advantage: float, step_rewards: Sequence[float], token_step: Sequence[int]) -> list[float]:
    """Per-token advantage A_t = A * r_j / mean(r) for tokens of step j = token_step[t].

    token_step[t] == -1 marks a token outside every step: advantage 0.0 (not trained). Empty rewards
    or a non-positive mean give A to every step token. Signs are kept (a step with a negative reward
    under a positive mean gets the opposite sign), since this is a genuine per-token advantage.
    """
    n_steps = len(step_rewards) if step_rewards else max(token_step, default=-1) + 1
    for j in token_step:
        if j < -1 or j >= n_steps:
            raise ValueError(f"token_step {j} out of range for {n_steps} steps")
    scale = step_weights(step_rewards, n_steps, allow_negative=True)
    return [0.0 if j == -1 else float(advantage) * scale[j] for j in token_step]
