"""RL health telemetry: the signals TRL's online trainers log at every logging step (policy entropy, KL to the
reference, clip fraction, completions without EOS, groups with identical rewards; adaptive KL's kl_coef; PPO's value
model's explained variance), summarised over a run with plain-English warnings and what to change.
Reads trainer.state.log_history; the rl stage puts the summary into its manifest's metrics as `health`."""

from __future__ import annotations

import math
from typing import Callable, Optional

# Summary name: the log keys that carry it (the first one logged wins). All are TRL's own keys except kl_coef
# (rl.kl_control) and value/explained_variance (rl.ppo).
SIGNALS: dict[str, tuple[str, ...]] = {
    "entropy": ("entropy",),  # mean per-token entropy (nats) of the policy on its sampled completions
    "kl": ("kl",),  # mean per-token KL(policy ‖ reference) estimate, logged when rl.beta > 0
    "kl_coef": ("kl_coef",),  # the KL coefficient beta under rl.kl_target
    "clip_fraction": ("clip_ratio/region_mean", "cispo_clip_ratio"),  # share of tokens whose ratio was clipped
    "no_eos": ("completions/clipped_ratio",),  # share of completions cut at max_completion_length without EOS
    # share of prompt groups whose rewards were all equal (TRL: share of rows in a zero-std group; groups are
    # equal-sized, so the two agree). RLOO's rewards include its KL penalty when rl.beta > 0.
    "zero_std_groups": ("frac_reward_zero_std",),
    "value_explained_variance": ("value/explained_variance",),
}

# More than half the groups without a reward difference: most of every batch yields zero advantage, so most of the
# compute teaches nothing and the loss sits at (nearly) 0.
ZERO_STD_MAX = 0.5
# More than half the completions cut off: rewards mostly score unfinished answers, and what the policy learns is
# shaped by the length limit rather than by the task.
NO_EOS_MAX = 0.5
# Entropy down to under a fifth of its first logged value: the samples of a group become near copies of each
# other, so group baselines stop finding differences and exploration ends (entropy collapse).
ENTROPY_KEEP_MIN = 0.2
# PPO practice sees clip fractions of about 0.1 to 0.2 with several epochs per batch; GRPO with one update per
# generation stays near 0. A mean above 0.2 means updates routinely leave the trust region the clip defines.
CLIP_FRACTION_MAX = 0.2
# 0.5 nats per token sums to 32 nats over a 64-token completion: completions the reference model would almost
# never write, where rewards get gamed and skills outside the task are lost.
KL_MAX = 0.5
# With rl.kl_target the controller steers KL to the target; ending beyond twice it means it is not keeping up.
KL_TARGET_OVERSHOOT = 2.0
# Below 0 the value model fits the returns worse than their mean would, so its advantages are mostly noise.
EXPLAINED_VARIANCE_MIN = 0.0


def summarise(history: list[dict], kl_target: Optional[float] = None, skip: tuple[str, ...] = ()) -> dict:
    """{"signals": {name: {key, first, last, mean, n}}, "warnings": [{signal, message}]} over the logged steps;
    {} when none of the signals was logged (the offline algorithms). `skip`: signals that mean nothing for the
    algorithm (PPO's advantages come from its value model, so groups with equal rewards still teach)."""
    signals = {}
    for name, keys in SIGNALS.items():
        if name in skip:
            continue
        for key in keys:
            values = [float(h[key]) for h in history if _number(h.get(key))]
            if values:
                signals[name] = {
                    "key": key,
                    "first": values[0],
                    "last": values[-1],
                    "mean": sum(values) / len(values),
                    "n": len(values),
                }
                break
    if not signals:
        return {}
    warnings = [
        {"signal": name, "message": message}
        for name, check in CHECKS.items()
        if name in signals and (message := check(signals[name], kl_target))
    ]
    return {"signals": signals, "warnings": warnings}


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _zero_std(s: dict, _target) -> str | None:
    if s["mean"] <= ZERO_STD_MAX:
        return None
    return (
        f"{s['mean']:.0%} of prompt groups had identical rewards, so their advantages were 0 and they taught "
        "nothing (why the loss sits at 0): raise rl.num_generations or rl.temperature, use easier prompts or "
        "SFT first, or add a graded reward (format, length) beside the task's right/wrong"
    )


def _no_eos(s: dict, _target) -> str | None:
    if s["mean"] <= NO_EOS_MAX:
        return None
    return (
        f"{s['mean']:.0%} of completions stopped at rl.max_completion_length without an end-of-sequence token, "
        "so the rewards scored cut-off answers: raise rl.max_completion_length, or SFT the model to finish its "
        "answers first"
    )


def _entropy(s: dict, _target) -> str | None:
    if s["n"] < 2 or s["first"] <= 0 or s["last"] >= ENTROPY_KEEP_MIN * s["first"]:
        return None
    return (
        f"policy entropy fell from {s['first']:.3g} to {s['last']:.3g} nats per token (under "
        f"{ENTROPY_KEEP_MIN:.0%} of its start): the policy is collapsing onto a few answers and stops exploring; "
        "lower rl.learning_rate, raise rl.temperature, or hold it near the reference with rl.beta > 0"
    )


def _clip(s: dict, _target) -> str | None:
    if s["mean"] <= CLIP_FRACTION_MAX:
        return None
    return (
        f"on average {s['mean']:.0%} of completion tokens had their probability ratio clipped (over "
        f"{CLIP_FRACTION_MAX:.0%}): each update moves the policy further than the clip range allows; lower "
        "rl.learning_rate or raise rl.batch_size × rl.grad_accum"
    )


def _kl(s: dict, target: Optional[float]) -> str | None:
    if target is not None:
        if s["last"] <= KL_TARGET_OVERSHOOT * target:
            return None
        return (
            f"KL to the reference ended at {s['last']:.3g} nats per token, over {KL_TARGET_OVERSHOOT:g}× "
            f"rl.kl_target ({target:g}): the adaptive coefficient is not keeping up; lower rl.kl_horizon so "
            "beta reacts faster, start from a larger rl.beta, or lower rl.learning_rate"
        )
    if s["last"] <= KL_MAX:
        return None
    return (
        f"KL to the reference reached {s['last']:.3g} nats per token (over {KL_MAX:g}): the policy has drifted "
        "far from the model RL started from, where rewards get gamed and other skills are lost; raise rl.beta, "
        "set rl.kl_target, or lower rl.learning_rate"
    )


def _explained_variance(s: dict, _target) -> str | None:
    if s["last"] >= EXPLAINED_VARIANCE_MIN:
        return None
    return (
        f"the value model's explained variance ended at {s['last']:.3g} (below {EXPLAINED_VARIANCE_MIN:g}): it "
        "predicts the returns worse than their mean does, so its advantages are mostly noise; warm the value "
        "model up longer or raise its learning rate"
    )


CHECKS: dict[str, Callable[[dict, Optional[float]], Optional[str]]] = {
    "zero_std_groups": _zero_std,
    "no_eos": _no_eos,
    "entropy": _entropy,
    "clip_fraction": _clip,
    "kl": _kl,
    "value_explained_variance": _explained_variance,
}
