"""RL stage: GRPO (default; multi-turn with an environment), RLOO, PPO, DPO/SimPO, KTO or ORPO on TRL, from the
previous model, optionally after training a reward model (rl.reward_model). Reads data_cache/collect/ and models/sft
(or cpt, or base); writes models/rl/ (and models/rl/reward_model/) and checkpoints/rl/.
"""

from __future__ import annotations

import logging

from trainpipe.config import Config
from trainpipe.stages import Stage, StageIO

log = logging.getLogger("trainpipe.rl")


def run(cfg: Config, io: StageIO) -> dict:
    import torch

    from trainpipe.models.load import load_model, load_tokenizer
    from trainpipe.rl import algorithms, health, reward_model
    from trainpipe.training import driver

    rl = cfg.rl
    algorithms.check(rl)  # before loading anything: vLLM without CUDA, impossible batch shapes
    tokenizer = load_tokenizer(io.model_in, cfg.model)
    # Master weights stay fp32; driver.common_args turns on bf16 autocast where the hardware has it.
    model = load_model(io.model_in, cfg.model, dtype=torch.float32)
    collect, learned = io.upstream.get("collect"), {}
    if rl.reward_model.train:  # before the policy trainer: the reward {name: model} loads it from io.out
        learned["reward_model"] = reward_model.train(rl, model, tokenizer, collect, io)
    trainer, report = algorithms.build_trainer(rl, model, tokenizer, collect, io)
    if learned:  # kept beside the policy's checkpoints, so a rerun that resumes them reuses it
        trainer.add_callback(reward_model.KeepForResume(io, learned["reward_model"]))
    log.info("rl: %s on %s", rl.algorithm, report)
    metrics = driver.train(trainer, rl, io, force=io.force)
    kind = driver.save_model(trainer.model, tokenizer, io.out, rl.merge_adapters)
    logged = logged_means(trainer.state.log_history)
    online = rl.algorithm in algorithms.ONLINE
    if online:  # entropy, KL, clip fraction, truncation, groups without signal, value fit: summary and warnings
        skip = ("zero_std_groups",) if rl.algorithm == "ppo" else ()
        logged["health"] = health.summarise(trainer.state.log_history, rl.kl_target, skip)
        for warning in logged["health"].get("warnings", []):
            log.warning("rl health: %s", warning["message"])
    learned = {name: with_interval(rm) for name, rm in learned.items()}
    return {
        "algorithm": rl.algorithm,
        **report,
        **metrics,
        **logged,
        **learned,
        "model_kind": kind,
        "key_metric": "last_reward" if online and "last_reward" in logged else "train_loss",
    }


def with_interval(rm: dict, level: float = 0.8) -> dict:
    """The reward model's held-out pair accuracy and its Jeffreys interval (evaluation.stats, as for task scores)."""
    from trainpipe.evaluation.stats import jeffreys_interval

    lo, hi = jeffreys_interval(rm["heldout_wins"], rm["heldout_pairs"], level)
    accuracy = rm["heldout_wins"] / rm["heldout_pairs"]
    return {
        **rm,
        "heldout_accuracy": round(accuracy, 4),
        "heldout_lo": round(lo, 4),
        "heldout_hi": round(hi, 4),
        "level": level,
    }


def logged_means(history: list[dict]) -> dict:
    """First and last logged total reward, each reward component's mean over the run, and the mean seconds per
    optimizer step (generation included) that TRL's online trainers log as step_time."""
    rewards = [h["reward"] for h in history if "reward" in h]
    out = {"first_reward": rewards[0], "last_reward": rewards[-1]} if rewards else {}
    times = [h["step_time"] for h in history if "step_time" in h]
    if times:
        out["mean_step_seconds"] = round(sum(times) / len(times), 3)
    parts: dict[str, list[float]] = {}
    for h in history:
        for key, value in h.items():
            if key.startswith("rewards/") and key.endswith("/mean") and value == value:  # skip NaN (not applicable)
                parts.setdefault(key.split("/")[1], []).append(float(value))
    if parts:
        out["reward_components"] = {k: round(sum(v) / len(v), 4) for k, v in parts.items()}
    return out


STAGE = Stage(
    name="rl",
    reads=("collect", "sft", "cpt"),
    config_sections=("model", "rl"),
    run=run,
    output="models/rl",
    script="4_train_rl.py",
    needs_model=True,
    trains=True,
    tracked=True,
)
