"""PPO's per-token arithmetic as pure functions on (B, T) completion tensors, written from Schulman et al. 2017
("Proximal Policy Optimization Algorithms"), Ziegler et al. 2019 (KL-penalised per-token rewards) and Huang et al.
("The N Implementation Details of RLHF with PPO"). `mask` is 1 on tokens the policy chose (not padding, not an
environment's observation tokens); every function leaves the other positions at 0 and out of every statistic.
"""

from __future__ import annotations

import torch
from torch import Tensor


def last_valid(mask: Tensor) -> Tensor:
    """Index of each row's last masked-in position (0 for a row without any)."""
    positions = torch.arange(mask.size(1), device=mask.device).expand_as(mask)
    return (positions * (mask > 0)).amax(dim=1)


def token_rewards(scores: Tensor, logps: Tensor, ref_logps: Tensor | None, mask: Tensor, beta: float) -> Tensor:
    """r_t = −β·(log π(a_t) − log π_ref(a_t)) on every chosen token, plus the completion's score on its last one
    (Ziegler et al., eq. 2: the sampled-token estimate of KL(π ‖ π_ref), spread over the tokens it comes from)."""
    rewards = torch.zeros_like(logps)
    if ref_logps is not None and beta:
        rewards = -beta * (logps - ref_logps)
    rewards = rewards * mask
    rows = torch.arange(mask.size(0), device=mask.device)
    rewards[rows, last_valid(mask)] += scores.to(rewards.dtype) * (mask.sum(1) > 0)
    return rewards


def turn_end_rewards(step_rewards: list[list[float]], token_step: list[list[int]], width: int) -> Tensor:
    """(B, width) zeros with each turn's reward on that turn's last token, for multi-turn episodes; token_step holds
    the turn of each completion token (−1 for the environment's observation tokens)."""
    out = torch.zeros(len(step_rewards), width)
    for row, (rewards, steps) in enumerate(zip(step_rewards, token_step)):
        last = {turn: t for t, turn in enumerate(steps) if turn >= 0}
        for turn, t in last.items():
            if turn < len(rewards):
                out[row, t] = rewards[turn]
    return out


def gae(rewards: Tensor, values: Tensor, mask: Tensor, gamma: float, lam: float) -> Tensor:
    """Generalised advantage estimates A_t = δ_t + γλ·A_{t+1}, δ_t = r_t + γ·V_{t+1} − V_t, run backwards over
    the chosen tokens only: a masked-out stretch (an observation between two turns) is skipped, so the next chosen
    token is t + 1; after a row's last chosen token V = 0 (the episode ends)."""
    advantages = torch.zeros_like(rewards)
    next_value = torch.zeros_like(rewards[:, 0])
    next_advantage = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.size(1))):
        chosen = mask[:, t] > 0
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        advantage = delta + gamma * lam * next_advantage
        advantages[:, t] = torch.where(chosen, advantage, torch.zeros_like(advantage))
        next_value = torch.where(chosen, values[:, t], next_value)
        next_advantage = torch.where(chosen, advantage, next_advantage)
    return advantages


def masked_mean_var(x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and (population) variance of x over the masked-in positions."""
    n = mask.sum().clamp(min=1)
    mean = (x * mask).sum() / n
    return mean, (((x - mean) * mask) ** 2).sum() / n


def whiten(x: Tensor, mask: Tensor, eps: float = 1e-8) -> Tensor:
    """(x − mean) / sqrt(var + eps) over the masked-in positions of the whole batch; 0 elsewhere."""
    mean, var = masked_mean_var(x, mask)
    return (x - mean) * torch.rsqrt(var + eps) * mask


def value_loss(values: Tensor, old_values: Tensor, returns: Tensor, mask: Tensor, clip: float) -> tuple[Tensor, Tensor]:
    """Clipped value loss ½·max((V − R)², (V_old + clip(V − V_old, ±c) − R)²), averaged over chosen tokens, and the
    share of those tokens where the clipped term was the larger (value/clip_fraction)."""
    clipped = old_values + (values - old_values).clamp(-clip, clip)
    unclipped_loss, clipped_loss = (values - returns) ** 2, (clipped - returns) ** 2
    n = mask.sum().clamp(min=1)
    loss = 0.5 * (torch.maximum(unclipped_loss, clipped_loss) * mask).sum() / n
    fraction = ((clipped_loss > unclipped_loss).to(values.dtype) * mask).sum() / n
    return loss, fraction


def explained_variance(values: Tensor, returns: Tensor, mask: Tensor) -> float:
    """1 − Var(R − V) / Var(R) over chosen tokens: 1 is a perfect value model, 0 no better than the mean return,
    below 0 worse than it; nan when the returns do not vary."""
    _, residual = masked_mean_var(returns - values, mask)
    _, total = masked_mean_var(returns, mask)
    return float("nan") if float(total) == 0 else float(1 - residual / total)
