"""PPO as a thin subclass of TRL's GRPOTrainer, which keeps generation, the reference model, logging and
checkpointing; what is PPO's own is here: a value model, per-token KL-penalised rewards, GAE advantages (the (B, T)
advantages TRL's clipped surrogate accepts from a subclass) and a clipped value loss. The math is in
training/ppo_losses.py. Checkpoints hold the value model's weights beside the policy's (value_model.safetensors);
its Adam state and learning-rate schedule are a param group of the trainer's optimizer (optimizer.pt, scheduler.pt).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass

import torch
from torch import nn
from transformers import TrainerCallback

from trainpipe.rl.rollout import TrainpipeGRPOTrainer
from trainpipe.training import ppo_losses

VALUE_WEIGHTS = "value_model.safetensors"


class ValueModel(nn.Module):
    """A copy of the policy's backbone with a scalar head on its last hidden state. The head starts at zero, so
    every first estimate is V = 0 and the first advantages are the plain whitened returns. A head drawn at random
    (N(0, 1/(d+1)), the reward-model init) put values of ±3 on SmolLM2-135M's hidden states against scores in
    [−1, 1]: explained variance −5 over the first steps, GAE advantages made mostly of value noise. Kept in eval
    mode throughout: dropout would make the value a moving target between the rollout and the update (Huang et al.
    turn dropout off)."""

    def __init__(self, backbone: nn.Module, hidden_size: int):
        super().__init__()
        self.backbone, self.head = backbone, nn.Linear(hidden_size, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.eval()

    def train(self, mode: bool = True):
        return super().train(False)

    def features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, n_completion: int) -> torch.Tensor:
        """The backbone's last hidden state before each of the last n_completion tokens (fp32): where the
        policy's logits for token t come from."""
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return hidden[:, -n_completion - 1 : -1].float()

    def value(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features).squeeze(-1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, n_completion: int) -> torch.Tensor:
        """V(s_t) for each of the last n_completion tokens."""
        return self.value(self.features(input_ids, attention_mask, n_completion))


def value_model_from(policy, lora_config, seed: int, head_only: bool = False) -> ValueModel:
    """A value model initialised from the policy's weights: LoRA on a frozen copy of the backbone when the policy
    trains LoRA (`lora_config`, a peft config; else None and the whole copy trains); `head_only`: the copy stays
    frozen and only the scalar head trains. The new weights (head, LoRA) are drawn from `seed`: they are made
    before the Trainer seeds the run, and a fresh start must repeat them."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        backbone = copy.deepcopy(policy.base_model)
        if head_only:
            backbone.requires_grad_(False)
        elif lora_config is not None:
            from peft import get_peft_model

            backbone = get_peft_model(backbone, copy.deepcopy(lora_config))
        hidden = policy.config.get_text_config().hidden_size
        return ValueModel(backbone, hidden).to(next(policy.parameters()).device)


@dataclass
class PPOSettings:
    gamma: float
    lam: float
    value_clip: float
    vf_coef: float
    value_lr: float
    missing_eos_penalty: float
    head_only: bool = False  # rl.ppo_value_train=head: values from features computed once, at the rollout


class _ValueStep(TrainerCallback):
    """The Trainer clips and zeroes the policy's gradients only: do the same for the value model around each
    optimizer step (its parameters are a group of the same optimizer)."""

    def __init__(self, trainer: "PPOTrainer"):
        self.trainer = trainer

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        if args.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.trainer.value_model.parameters(), args.max_grad_norm)

    def on_optimizer_step(self, args, state, control, **kwargs):
        self.trainer.value_model.zero_grad(set_to_none=True)


class PPOTrainer(TrainpipeGRPOTrainer):
    """GRPO's machinery with PPO's advantages: per completion, rewards −β·KL per token plus the score (the
    weighted reward functions, minus missing_eos_penalty when it never emitted EOS) on its last token, a multi-turn
    episode's step rewards on the last token of each turn; GAE over the value model's estimates; advantages
    whitened over the batch. The KL is in the reward only (trainer.beta still makes TRL compute the reference
    log-probs), so TRL's loss runs with beta 0 and the value loss is added to it. PPO epochs are TRL's
    num_iterations, minibatches its steps_per_generation (see rl.algorithms)."""

    def __init__(self, *args, value_model: ValueModel, ppo: PPOSettings, **kwargs):
        super().__init__(*args, **kwargs)
        self.value_model, self.ppo = value_model.to(self.accelerator.device), ppo
        self.add_callback(_ValueStep(self))

    # --- the rollout: rewards, values, advantages ---------------------------------------------------------------
    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._scores = (rewards_per_func * self.reward_weights.to(rewards_per_func.device)).nansum(dim=1)
        return rewards_per_func

    def _generate_and_score_completions(self, inputs):
        out = super()._generate_and_score_completions(inputs)
        ids, attention, n, mask = _sequences(out)
        with torch.no_grad():
            logps, ref = out.get("old_per_token_logps"), out.get("ref_per_token_logps")
            if logps is None and ref is None:  # no KL penalty: the rewards need no log-probs
                logps = torch.zeros_like(mask)
            elif logps is None:  # TRL skips them when the update is on-policy; the KL penalty needs them
                logps, _, _ = self._get_per_token_logps_and_entropies(
                    self.model, ids, attention, n, batch_size=self.args.per_device_train_batch_size
                )
            if self.ppo.head_only:  # the frozen backbone's features serve the update too: no forward there
                out["value_features"] = self._values(ids, attention, n, features=True)
                values = self.value_model.value(out["value_features"]) * mask
            else:
                values = self._values(ids, attention, n) * mask
        scores, turns = self._split_episode_rewards(inputs, self._local_scores(out), n)
        rewards = ppo_losses.token_rewards(scores, logps, ref, mask, self.beta)
        if turns is not None:
            rewards = rewards + turns.to(rewards.device)
        advantages = ppo_losses.gae(rewards, values, mask, self.ppo.gamma, self.ppo.lam)
        returns = (advantages + values) * mask
        out.update(advantages=ppo_losses.whiten(advantages, mask), old_values=values, returns=returns)
        self._log_rollout(logps, ref, values, returns, mask)
        return out

    def _values(self, ids: torch.Tensor, attention: torch.Tensor, n: int, features: bool = False) -> torch.Tensor:
        """The value model (or, `features`, its backbone's features) on a generation batch, a training batch at a
        time, in the loss's precision."""
        size = self.args.per_device_train_batch_size
        fn = self.value_model.features if features else self.value_model
        with self.accelerator.autocast():
            return torch.cat([fn(ids[i : i + size], attention[i : i + size], n) for i in range(0, ids.size(0), size)])

    def _local_scores(self, out) -> torch.Tensor:
        """This process's completions' scores, less the penalty for those that never emitted EOS."""
        n = out["completion_ids"].size(0)
        scores = self._scores[self.accelerator.process_index * n : (self.accelerator.process_index + 1) * n]
        completion_mask = out["completion_mask"]
        last = out["completion_ids"].gather(1, ppo_losses.last_valid(completion_mask).unsqueeze(1)).squeeze(1)
        ended = torch.isin(last, torch.tensor(self.eos_token_ids, device=last.device))
        return torch.nan_to_num(scores, nan=0.0) - self.ppo.missing_eos_penalty * (~ended).to(scores.dtype)

    def _split_episode_rewards(self, inputs, scores: torch.Tensor, width: int):
        """Multi-turn episodes (rows with step_rewards from rl.rollout): the env reward's share of each score moves
        from the last token to the end of each turn, as the environment paid it; (scores left, (B, T) or None)."""
        if "env" not in self.reward_func_names or "step_rewards" not in inputs[0]:
            return scores, None
        weight = float(self.reward_weights[self.reward_func_names.index("env")])
        steps = [list(x["step_rewards"]) for x in inputs]
        paid = torch.tensor([sum(s) for s in steps], dtype=scores.dtype, device=scores.device)
        turns = ppo_losses.turn_end_rewards(steps, [list(x["token_step"]) for x in inputs], width)
        return scores - weight * paid, weight * turns

    def _log_rollout(self, logps, ref_logps, values, returns, mask) -> None:
        metrics = self._metrics["train" if self.model.training else "eval"]
        metrics["value/explained_variance"].append(ppo_losses.explained_variance(values, returns, mask))
        metrics["value/mean"].append(ppo_losses.masked_mean_var(values, mask)[0].item())
        if ref_logps is not None:  # k1 estimate of KL(π ‖ π_ref) per token, what the reward is penalised by
            metrics["kl"].append(ppo_losses.masked_mean_var(logps - ref_logps, mask)[0].item())

    # --- the update: TRL's clipped surrogate plus the clipped value loss ----------------------------------------
    def _compute_loss(self, model, inputs):
        beta, self.beta = self.beta, 0.0  # the KL penalty is in the rewards (Ziegler et al.), not the loss
        try:
            policy_loss = super()._compute_loss(model, inputs)
        finally:
            self.beta = beta
        ids, attention, n, mask = _sequences(inputs)
        if self.ppo.head_only:
            values = self.value_model.value(inputs["value_features"])
        else:
            values = self.value_model(ids, attention, n)
        loss, fraction = ppo_losses.value_loss(
            values, inputs["old_values"], inputs["returns"], mask, self.ppo.value_clip
        )
        mode = "train" if self.model.training else "eval"
        self._metrics[mode]["value/loss"].append(loss.item())
        self._metrics[mode]["value/clip_fraction"].append(fraction.item())
        scale = self.current_gradient_accumulation_steps if mode == "train" else 1
        return policy_loss + self.ppo.vf_coef * loss / scale

    # --- the value model in the optimizer and in checkpoints ------------------------------------------------------
    def create_optimizer(self, model=None):
        optimizer = super().create_optimizer(model)
        if not any(group.get("ppo_value") for group in optimizer.param_groups):
            optimizer.add_param_group(
                {
                    "params": [p for p in self.value_model.parameters() if p.requires_grad],
                    "lr": self.ppo.value_lr,
                    "weight_decay": 0.0,
                    "ppo_value": True,
                }
            )
        return optimizer

    def _save_checkpoint(self, model, trial):
        super()._save_checkpoint(model, trial)
        if self.args.should_save:
            from safetensors.torch import save_file
            from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

            name = f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
            folder = os.path.join(self._get_output_dir(trial=trial), name)
            state = {k: v.detach().contiguous().cpu() for k, v in self.value_model.state_dict().items()}
            save_file(state, os.path.join(folder, VALUE_WEIGHTS))

    def _load_optimizer_and_scheduler(self, checkpoint):
        super()._load_optimizer_and_scheduler(checkpoint)
        if checkpoint is not None:
            from safetensors.torch import load_file

            self.value_model.load_state_dict(load_file(os.path.join(checkpoint, VALUE_WEIGHTS)))


def _sequences(batch: dict) -> tuple[torch.Tensor, torch.Tensor, int, torch.Tensor]:
    """Prompt + completion ids and attention mask, the completion width, and the mask of the policy's own tokens
    (observation tokens of a multi-turn episode are TRL's tool_mask 0)."""
    ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
    attention = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
    mask = batch["completion_mask"].float()
    if "tool_mask" in batch:
        mask = mask * batch["tool_mask"]
    return ids, attention, batch["completion_ids"].size(1), mask
