"""RL health telemetry on tiny-random GRPO runs: a random model on arithmetic never ends a completion and scores 0
everywhere, so the no-EOS and identical-rewards warnings fire by themselves; a varied reward with finished
completions fires none. Entropy collapse, a high clip fraction, KL blow-up and a poor value model cannot be made
cheaply in a real run, so each is shown on the healthy run's own log_history with one field altered."""

import copy

import pytest
import torch
from tests.rl.test_algorithms import PROMPTS, SCORED, make_io, small_rl, tiny_dir, write_collect  # noqa: F401

from trainpipe.config import ModelConfig, RewardConfig
from trainpipe.rl import algorithms, health
from trainpipe.training import driver


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    yield


def grpo_history(rl, tiny_dir, collect, root, force_eos=False) -> list[dict]:
    from trainpipe.models.load import load_model, load_tokenizer

    tokenizer = load_tokenizer(tiny_dir, ModelConfig())
    model = load_model(tiny_dir, ModelConfig(), dtype=torch.float32)
    io = make_io(root, tiny_dir)
    trainer, _ = algorithms.build_trainer(rl, model, tokenizer, collect, io)
    if force_eos:  # transformers ends every completion with EOS at the length limit
        trainer.generation_config.forced_eos_token_id = tokenizer.eos_token_id
    driver.train(trainer, rl, io)
    return trainer.state.log_history


@pytest.fixture(scope="module")
def healthy(tmp_path_factory, tiny_dir) -> list[dict]:
    """Three GRPO steps with beta 0.04 on the external reward (varied across a random model's completions),
    every completion ended by EOS."""
    root = tmp_path_factory.mktemp("healthy")
    rl = small_rl(rewards=[RewardConfig("external", low=0, high=10)], blend_alpha=0.0, beta=0.04, max_steps=3)
    threads = torch.get_num_threads()  # a module fixture runs before the per-test one_thread
    torch.set_num_threads(1)
    try:
        return grpo_history(rl, tiny_dir, write_collect(root, sft=SCORED), root, force_eos=True)
    finally:
        torch.set_num_threads(threads)


def signals_warned(history, kl_target=None) -> list[str]:
    return [w["signal"] for w in health.summarise(history, kl_target)["warnings"]]


def test_random_model_on_arithmetic_warns_of_no_eos_and_identical_rewards(tmp_path, tiny_dir):
    rl = small_rl(rewards=[RewardConfig("task")])
    summary = health.summarise(grpo_history(rl, tiny_dir, write_collect(tmp_path, prompts=PROMPTS), tmp_path))
    s = summary["signals"]
    assert set(s) == {"entropy", "clip_fraction", "no_eos", "zero_std_groups"}  # beta = 0: no KL is logged
    assert s["no_eos"] == {"key": "completions/clipped_ratio", "first": 1.0, "last": 1.0, "mean": 1.0, "n": 2}
    assert s["zero_std_groups"]["key"] == "frac_reward_zero_std" and s["zero_std_groups"]["mean"] == 1.0
    assert s["clip_fraction"]["key"] == "clip_ratio/region_mean" and s["clip_fraction"]["mean"] == 0.0
    assert s["entropy"]["first"] == pytest.approx(10.79, abs=0.01)  # ≈ ln(49152): a uniform random model
    warnings = summary["warnings"]
    assert [w["signal"] for w in warnings] == ["zero_std_groups", "no_eos"]
    assert warnings[0]["message"].startswith(
        "100% of prompt groups had identical rewards, so their advantages "
        "were 0 and they taught nothing (why the loss sits at 0): raise "
        "rl.num_generations or rl.temperature"
    )
    assert warnings[1]["message"].startswith(
        "100% of completions stopped at rl.max_completion_length without an end-of-sequence token"
    )


def test_varied_rewards_and_finished_completions_warn_of_nothing(healthy):
    summary = health.summarise(healthy)
    s = summary["signals"]
    assert set(s) == {"entropy", "kl", "clip_fraction", "no_eos", "zero_std_groups"}
    assert s["no_eos"]["mean"] == 0.0 and s["zero_std_groups"]["mean"] == 0.0 and s["kl"]["n"] == 3
    assert s["kl"]["first"] == 0.0 and 0 < s["kl"]["last"] < 1e-3  # step 1 samples from the reference itself
    assert summary["warnings"] == []


def altered(history, key, values) -> list[dict]:
    """The history with `key` set to values[i] in the i-th entry that logs it (or every step entry, if none does)."""
    out = copy.deepcopy(history)
    rows = [h for h in out if key in h] or [h for h in out if "entropy" in h]
    assert len(rows) == len(values)
    for row, value in zip(rows, values):
        row[key] = value
    return out


def test_entropy_collapse_warns(healthy):
    first = health.summarise(healthy)["signals"]["entropy"]["first"]
    assert signals_warned(altered(healthy, "entropy", [first, first / 2, first * 0.21])) == []
    collapsed = altered(healthy, "entropy", [first, first / 2, first * 0.1])
    assert signals_warned(collapsed) == ["entropy"]
    message = health.summarise(collapsed)["warnings"][0]["message"]
    assert message.startswith(
        f"policy entropy fell from {first:.3g} to {first * 0.1:.3g} nats per token (under 20% "
        "of its start): the policy is collapsing onto a few answers"
    )


def test_high_clip_fraction_warns(healthy):
    assert signals_warned(altered(healthy, "clip_ratio/region_mean", [0.1, 0.15, 0.2])) == []  # mean 0.15
    clipped = altered(healthy, "clip_ratio/region_mean", [0.2, 0.3, 0.4])
    assert signals_warned(clipped) == ["clip_fraction"]
    assert health.summarise(clipped)["warnings"][0]["message"].startswith(
        "on average 30% of completion tokens had their probability ratio clipped (over 20%)"
    )


def test_kl_blow_up_warns_against_the_fixed_limit_and_against_a_target(healthy):
    assert signals_warned(altered(healthy, "kl", [0.0, 0.3, 0.5])) == []
    blown = altered(healthy, "kl", [0.0, 0.3, 0.8])
    assert signals_warned(blown) == ["kl"]
    assert health.summarise(blown)["warnings"][0]["message"].startswith(
        "KL to the reference reached 0.8 nats per token (over 0.5): the policy has drifted far"
    )
    # Under rl.kl_target the limit is twice the target (a real run that trips it: tests/rl/test_kl_control.py).
    assert signals_warned(altered(healthy, "kl", [0.0, 0.3, 0.1]), kl_target=0.05) == []
    assert signals_warned(altered(healthy, "kl", [0.0, 0.3, 0.11]), kl_target=0.05) == ["kl"]


def test_value_explained_variance_is_summarised_once_logged_and_warns_below_zero(healthy):
    assert "value_explained_variance" not in health.summarise(healthy)["signals"]
    fitted = altered(healthy, "value/explained_variance", [-0.5, 0.1, 0.4])
    assert health.summarise(fitted)["signals"]["value_explained_variance"] == {
        "key": "value/explained_variance",
        "first": -0.5,
        "last": 0.4,
        "mean": pytest.approx(0.0),
        "n": 3,
    }
    assert signals_warned(fitted) == []
    poor = altered(healthy, "value/explained_variance", [-0.5, -0.3, -0.2])
    assert signals_warned(poor) == ["value_explained_variance"]
    assert health.summarise(poor)["warnings"][0]["message"].startswith(
        "the value model's explained variance ended at -0.2 (below 0): it predicts the returns worse than their mean"
    )


def test_offline_histories_and_missing_values_give_no_summary():
    assert health.summarise([{"loss": 0.7, "step": 1}, {"train_loss": 0.7, "step": 1}]) == {}
    # TRL logs None where every value of a window was NaN; such entries are skipped.
    summary = health.summarise([{"entropy": None, "step": 1}, {"entropy": 2.0, "step": 2}])
    assert summary["signals"]["entropy"] == {"key": "entropy", "first": 2.0, "last": 2.0, "mean": 2.0, "n": 1}
