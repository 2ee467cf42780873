"""Adaptive KL coefficient for the online trainers (GRPO, RLOO, PPO): Ziegler et al. 2019, "Fine-Tuning Language
Models from Human Preferences", section 2.2. After each optimizer step, with e = clip((KL − target) / target,
−0.2, 0.2), beta ← beta · (1 + e · n / horizon), n being the completions that step trained on (the paper's batch
of samples). The coefficient is TRL's own `trainer.beta`; it is logged as `kl_coef` and saved in each checkpoint's
trainer state.
"""

from __future__ import annotations

from dataclasses import dataclass

from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState

from trainpipe.errors import UserError

ERROR_CLIP = 0.2  # the paper's bound on the proportional error: beta moves at most 20% · n / horizon per step


@dataclass
class AdaptiveKL:
    beta: float
    target: float
    horizon: int

    def update(self, kl: float, n_samples: int) -> float:
        """The coefficient after a step whose samples showed `kl` (mean per-token KL to the reference)."""
        error = min(max((kl - self.target) / self.target, -ERROR_CLIP), ERROR_CLIP)
        self.beta *= 1 + error * n_samples / self.horizon
        return self.beta


class AdaptiveKLCallback(TrainerCallback, ExportableState):
    """Steers `trainer.beta` with an AdaptiveKL from the KL values TRL logs during each step (GRPO: one per
    micro-batch, current policy on the step's samples; RLOO and PPO: one per generation batch, the sampling
    policy). A step that logged no KL (RLOO or PPO reusing a generation with num_iterations > 1) leaves beta as it
    is.

    The coefficient travels in TrainerState.stateful_callbacks (trainer_state.json of every checkpoint), so a
    resumed run continues from the beta the interrupted one had reached."""

    def __init__(self, trainer, controller: AdaptiveKL):
        args = trainer.args
        self.trainer, self.controller = trainer, controller
        self.n_samples = args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size
        self._seen = 0

    def state(self) -> dict:
        return {"args": {}, "attributes": {"beta": self.controller.beta}}

    def on_train_begin(self, args, state, control, **kwargs):
        name = type(self).__name__
        saved = state.stateful_callbacks.get(name)  # a resumed run: the beta its checkpoint was saved with
        if saved and "beta" in saved.get("attributes", {}):
            self.controller.beta = float(saved["attributes"]["beta"])
        else:  # resuming a checkpoint written without adaptive KL: the trainer's save expects the entry
            state.stateful_callbacks[name] = self.state()
        self.trainer.beta = self.controller.beta
        return control

    def on_step_begin(self, args, state, control, **kwargs):
        # .get: reading a missing key of TRL's defaultdict would add an empty metric, logged as None
        self._seen = len(self.trainer._metrics["train"].get("kl", ()))
        return control

    def on_step_end(self, args, state, control, **kwargs):
        metrics = self.trainer._metrics["train"]
        measured = list(metrics.get("kl", ()))[self._seen :]
        metrics["kl_coef"].append(self.controller.beta)  # the coefficient this step's loss used
        if measured:
            self.trainer.beta = self.controller.update(sum(measured) / len(measured), self.n_samples)
        return control


def attach(trainer, beta: float, target: float, horizon: int) -> AdaptiveKLCallback:
    """Add adaptive KL control to a GRPO/RLOO trainer (its config has passed check())."""
    callback = AdaptiveKLCallback(trainer, AdaptiveKL(beta, target, horizon))
    if ERROR_CLIP * callback.n_samples >= horizon:
        raise UserError(
            f"rl.kl_horizon={horizon}: one step trains on {callback.n_samples} completions, so a "
            f"step could scale beta by 1 − {ERROR_CLIP} × {callback.n_samples}/{horizon} ≤ 0; use a "
            f"horizon above {int(ERROR_CLIP * callback.n_samples)} (Ziegler et al. use 10000)"
        )
    trainer.add_callback(callback)
    return callback


def check(rl) -> None:
    """rl.kl_target and rl.kl_horizon, before anything is loaded."""
    if rl.kl_target is None:
        return
    if rl.algorithm not in ("grpo", "rloo", "ppo"):
        raise UserError(
            f"rl.kl_target adapts the KL coefficient of grpo, rloo and ppo, not rl.algorithm={rl.algorithm}"
        )
    if rl.beta <= 0:
        raise UserError(
            f"rl.kl_target={rl.kl_target} needs rl.beta > 0 (got {rl.beta}): beta is the starting KL "
            "coefficient, and with beta = 0 TRL keeps no reference model to measure KL against "
            "(e.g. rl.beta=0.04)"
        )
    if rl.kl_target <= 0:
        raise UserError(f"rl.kl_target={rl.kl_target}: expected a KL in nats per token > 0 (e.g. 0.05)")
    if rl.kl_horizon < 1:
        raise UserError(f"rl.kl_horizon={rl.kl_horizon}: expected a number of completions ≥ 1 (e.g. 10000)")
