"""PPO arithmetic against values worked out by hand (in the comments), padding and observation tokens included."""

import math

import pytest
import torch

from trainpipe.training import ppo_losses

# Row 0: three chosen tokens, then padding. Row 1: a chosen token, an observation token, a chosen token, padding.
MASK = torch.tensor([[1, 1, 1, 0], [1, 0, 1, 0]], dtype=torch.float32)


def test_token_rewards_put_the_kl_penalty_on_every_chosen_token_and_the_score_on_the_last():
    logps = torch.tensor([[-1.0, -2.0, -0.5, 0.0], [-0.2, -3.0, -0.4, 0.0]])
    ref = torch.tensor([[-1.5, -1.0, -0.5, 0.0], [-0.4, -1.0, -0.2, 0.0]])
    got = ppo_losses.token_rewards(torch.tensor([1.0, -0.5]), logps, ref, MASK, beta=0.1)
    # row 0: log-ratios 0.5, −1, 0 → −0.05, 0.1, 0 + score 1; row 1: 0.2, (observation), −0.2 → −0.02, 0, 0.02 − 0.5
    want = torch.tensor([[-0.05, 0.1, 1.0, 0.0], [-0.02, 0.0, -0.48, 0.0]])
    torch.testing.assert_close(got, want)
    # Without a reference (rl.beta = 0) only the score remains.
    torch.testing.assert_close(
        ppo_losses.token_rewards(torch.tensor([1.0, -0.5]), logps, None, MASK, 0.0),
        torch.tensor([[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, -0.5, 0.0]]),
    )


def test_turn_end_rewards_pay_each_turn_on_its_last_token():
    # Episode 0: turn 0 on tokens 0-1, observation on 2-3, turn 1 on 4; episode 1 ended after one turn.
    got = ppo_losses.turn_end_rewards([[0.25, 0.5], [1.0]], [[0, 0, -1, -1, 1], [0, 0, 0]], width=5)
    torch.testing.assert_close(got, torch.tensor([[0.0, 0.25, 0.0, 0.0, 0.5], [0.0, 0.0, 1.0, 0.0, 0.0]]))


def test_gae_runs_backwards_over_chosen_tokens_and_skips_observations_and_padding():
    rewards = torch.tensor([[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 2.0, 0.0]])
    values = torch.tensor([[0.5, 0.2, 0.4, 0.0], [1.0, 9.0, 0.5, 7.0]])  # 9 and 7 sit on masked-out tokens
    got = ppo_losses.gae(rewards, values, MASK, gamma=0.5, lam=0.5)
    # row 0: t2 δ = 1 − 0.4 = 0.6; t1 δ = 0.5·0.4 − 0.2 = 0, A = 0.25·0.6 = 0.15; t0 δ = 0.5·0.2 − 0.5 = −0.4,
    #        A = −0.4 + 0.25·0.15 = −0.3625
    # row 1: t2 δ = 2 − 0.5 = 1.5; t0's next chosen token is t2: δ = 0.5·0.5 − 1 = −0.75, A = −0.75 + 0.25·1.5
    want = torch.tensor([[-0.3625, 0.15, 0.6, 0.0], [-0.375, 0.0, 1.5, 0.0]])
    torch.testing.assert_close(got, want)
    # γ = λ = 1: each advantage is the reward still to come minus the value (the Monte-Carlo return).
    torch.testing.assert_close(
        ppo_losses.gae(rewards, values, MASK, 1.0, 1.0), torch.tensor([[0.5, 0.8, 0.6, 0.0], [1.0, 0.0, 1.5, 0.0]])
    )


def test_whiten_uses_only_chosen_tokens():
    x = torch.tensor([[1.0, 2.0, 3.0, 9.0], [5.0, 5.0, 5.0, 5.0]])
    mask = torch.tensor([[1, 1, 1, 0], [0, 0, 0, 0]], dtype=torch.float32)
    # mean 2, population variance (1 + 0 + 1) / 3 = 2/3: ±1 / sqrt(2/3) = ±1.2247449
    s = 1 / math.sqrt(2 / 3)
    torch.testing.assert_close(ppo_losses.whiten(x, mask), torch.tensor([[-s, 0.0, s, 0.0], [0.0] * 4]))


def test_clipped_value_loss_and_its_clip_fraction():
    values = torch.tensor([[1.0, 0.0, 0.5, 3.0]])
    old = torch.tensor([[0.5, 0.5, 0.5, 0.0]])
    returns = torch.tensor([[2.0, 0.0, 0.4, 5.0]])
    mask = torch.tensor([[1, 1, 1, 0]], dtype=torch.float32)
    loss, fraction = ppo_losses.value_loss(values, old, returns, mask, clip=0.2)
    # t0: clipped V 0.7: max((1−2)², (0.7−2)²) = 1.69 (clipped larger); t1: clipped V 0.3: max(0, 0.09) = 0.09
    # (clipped larger); t2: unchanged, (0.1)² = 0.01 both; t3 is padding. ½·(1.69 + 0.09 + 0.01)/3
    assert loss.item() == pytest.approx(0.5 * 1.79 / 3)
    assert fraction.item() == pytest.approx(2 / 3)
    # A wide clip range is the plain squared error.
    loss, fraction = ppo_losses.value_loss(values, old, returns, mask, clip=10.0)
    assert loss.item() == pytest.approx(0.5 * (1 + 0 + 0.01) / 3) and fraction.item() == 0


def test_explained_variance():
    returns, mask = torch.tensor([[1.0, 2.0, 3.0, 100.0]]), torch.tensor([[1, 1, 1, 0]], dtype=torch.float32)
    # residuals 0, 0, 1: variance 2/9; returns' variance 2/3 → 1 − 1/3
    assert ppo_losses.explained_variance(torch.tensor([[1.0, 2.0, 2.0, 0.0]]), returns, mask) == pytest.approx(2 / 3)
    assert ppo_losses.explained_variance(returns, returns, mask) == pytest.approx(1.0)
    assert ppo_losses.explained_variance(torch.full((1, 4), 2.0), returns, mask) == pytest.approx(0.0)
    assert math.isnan(ppo_losses.explained_variance(returns, torch.ones(1, 4), mask))
