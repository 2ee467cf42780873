"""RL stage: GRPO (default; multi-turn with an environment), RLOO, PPO, DPO/SimPO, KTO or ORPO on TRL, from the
previous model. Reads data_cache/collect/ and models/sft (or cpt, or base); writes models/rl/ and checkpoints/rl/.
"""

from __future__ import annotations

import logging

from trainpipe.config import Config
from trainpipe.stages import Stage, StageIO

log = logging.getLogger("trainpipe.rl")


def run(cfg: Config, io: StageIO) -> dict:
    import torch

    from trainpipe.models.load import load_model, load_tokenizer
    from trainpipe.rl import algorithms, health
    from trainpipe.training import driver

    rl = cfg.rl
    algorithms.check(rl)  # before loading anything: vLLM without CUDA, impossible batch shapes
    tokenizer = load_tokenizer(io.model_in, cfg.model)
    # Master weights stay fp32; driver.common_args turns on bf16 autocast where the hardware has it.
    model = load_model(io.model_in, cfg.model, dtype=torch.float32)
    trainer, report = algorithms.build_trainer(rl, model, tokenizer, io.upstream.get("collect"), io)
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
    return {
        "algorithm": rl.algorithm,
        **report,
        **metrics,
        **logged,
        "model_kind": kind,
        "key_metric": "last_reward" if online and "last_reward" in logged else "train_loss",
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
