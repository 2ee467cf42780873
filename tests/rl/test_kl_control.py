"""Adaptive KL (Ziegler et al. 2019): the update on hand-computed numbers, config refusals, and tiny-random GRPO
and RLOO runs where beta rises under a tiny target, falls under a huge one, and resumes on its trajectory."""

import shutil

import pytest
import torch
from tests.rl.test_algorithms import SCORED, make_io, small_rl, tiny_dir, write_collect  # noqa: F401 (fixture)

from trainpipe.config import ModelConfig, RewardConfig
from trainpipe.errors import UserError
from trainpipe.rl import algorithms, health
from trainpipe.rl.kl_control import AdaptiveKL
from trainpipe.training import driver


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    yield


def test_update_matches_hand_computed_sequence():
    ctl = AdaptiveKL(beta=0.1, target=0.05, horizon=100)
    # e = clip((kl − 0.05) / 0.05, ±0.2); beta ← beta · (1 + e · 10 / 100)
    assert ctl.update(0.10, 10) == pytest.approx(0.1 * 1.02)  # e = 1.0, clipped to 0.2
    assert ctl.update(0.05, 10) == pytest.approx(0.102)  # on target: e = 0
    assert ctl.update(0.00, 10) == pytest.approx(0.102 * 0.98)  # e = −1, clipped to −0.2
    assert ctl.update(0.055, 10) == pytest.approx(0.09996 * 1.01)  # e = 0.1, inside the clip
    assert ctl.update(0.0525, 40) == pytest.approx(0.1009596 * 1.02)  # e = 0.05 over 40 samples
    assert ctl.beta == pytest.approx(0.10297879)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"beta": 0.0}, r"rl.kl_target=0.05 needs rl.beta > 0 \(got 0.0\)"),
        ({"algorithm": "dpo"}, "grpo, rloo and ppo, not rl.algorithm=dpo"),
        ({"kl_target": 0.0}, "rl.kl_target=0.0: expected a KL in nats per token > 0"),
        ({"kl_horizon": 0}, "rl.kl_horizon=0: expected a number of completions"),
    ],
)
def test_bad_adaptive_kl_settings_are_refused_before_loading(overrides, message):
    with pytest.raises(UserError, match=message):
        algorithms.check(small_rl(**{"beta": 0.04, "kl_target": 0.05, **overrides}))


def build(rl, tiny_dir, collect, root):
    from trainpipe.models.load import load_model, load_tokenizer

    tokenizer = load_tokenizer(tiny_dir, ModelConfig())
    model = load_model(tiny_dir, ModelConfig(), dtype=torch.float32)
    io = make_io(root, tiny_dir)
    trainer, _ = algorithms.build_trainer(rl, model, tokenizer, collect, io)
    return trainer, io


def test_a_horizon_one_step_could_overshoot_is_refused(tmp_path, tiny_dir):
    collect = write_collect(tmp_path, sft=SCORED)
    rl = small_rl(
        rewards=[RewardConfig("external", low=0, high=10)],
        blend_alpha=0.0,
        beta=0.04,
        kl_target=0.05,
        kl_horizon=1,
        batch_size=8,
    )
    with pytest.raises(UserError, match=r"rl.kl_horizon=1: one step trains on 8 completions.*horizon above 1"):
        build(rl, tiny_dir, collect, tmp_path)


def adaptive_rl(algorithm="grpo", **overrides):
    # The external reward varies across a random model's completions; 2 completions per step, horizon 10:
    # beta moves by a factor 1 ± 0.2 · 2 / 10 = 1 ± 0.04 whenever KL is off target by 20% or more.
    return small_rl(
        algorithm=algorithm,
        rewards=[RewardConfig("external", low=0, high=10)],
        blend_alpha=0.0,
        beta=0.04,
        kl_horizon=10,
        **overrides,
    )


def logged(trainer, key):
    return [h[key] for h in trainer.state.log_history if key in h]


def expected_betas(beta, kls, target, factor=0.04):
    """The coefficient each step used, from the KL the run logged at each step (logging_steps=1)."""
    out = [beta]
    for kl in kls[:-1]:
        out.append(out[-1] * (1 + factor / 0.2 * min(max((kl - target) / target, -0.2), 0.2)))
    return out


def test_grpo_beta_rises_under_a_tiny_target_and_resumes_on_the_same_trajectory(tmp_path, tiny_dir):
    collect = write_collect(tmp_path, sft=SCORED)
    rl = adaptive_rl(kl_target=1e-6, max_steps=3, save_total_limit=3)
    trainer, io = build(rl, tiny_dir, collect, tmp_path)
    driver.train(trainer, rl, io)
    kls, betas = logged(trainer, "kl"), logged(trainer, "kl_coef")
    # Step 1 samples from the reference itself (LoRA starts at zero): KL 0, beta falls; then KL > target, it rises.
    assert kls[0] == 0.0 and min(kls[1:]) > 1.2e-6
    assert betas == pytest.approx(expected_betas(0.04, kls, 1e-6)) == [0.04, 0.0384, 0.039936]
    assert trainer.beta == pytest.approx(0.039936 * 1.04) and trainer.beta > 0.04
    # The KL ended far beyond twice the target, so the health summary says the controller is not keeping up
    # (and, as ever with a random model, that its completions never reached an end-of-sequence token).
    warnings = health.summarise(trainer.state.log_history, 1e-6)["warnings"]
    assert [w["signal"] for w in warnings] == ["no_eos", "kl"]
    assert warnings[1]["message"].startswith(
        f"KL to the reference ended at {kls[-1]:.3g} nats per token, over 2× "
        "rl.kl_target (1e-06): the adaptive coefficient is not keeping up"
    )

    # Killed after step 1: resuming restores beta from checkpoint-1's trainer state, not rl.beta.
    for step in (2, 3):
        shutil.rmtree(tmp_path / "checkpoints" / "rl" / f"checkpoint-{step}")
    again, io = build(rl, tiny_dir, collect, tmp_path)
    metrics = driver.train(again, rl, io)
    assert metrics["resumed_from"].endswith("checkpoint-1")
    assert logged(again, "kl_coef") == pytest.approx(betas, rel=1e-12)
    assert logged(again, "kl") == pytest.approx(kls, rel=1e-6)
    assert again.beta == pytest.approx(trainer.beta, rel=1e-12)


@pytest.mark.parametrize("algorithm", ["grpo", "rloo"])
def test_beta_falls_under_a_huge_target(tmp_path, tiny_dir, algorithm):
    collect = write_collect(tmp_path, sft=SCORED)
    rl = adaptive_rl(algorithm, kl_target=1e3)
    trainer, io = build(rl, tiny_dir, collect, tmp_path)
    driver.train(trainer, rl, io)
    assert len(logged(trainer, "kl")) == 2
    assert logged(trainer, "kl_coef") == pytest.approx([0.04, 0.04 * 0.96])
    assert trainer.beta == pytest.approx(0.04 * 0.96**2)
