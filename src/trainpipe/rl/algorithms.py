"""The RL algorithms as configured TRL trainers: grpo and ppo (single- or multi-turn), rloo, online_dpo, dpo (and
SimPO), cpo, kto, orpo.
Each builder takes (rl config, model, tokenizer, collect folder, stage io) and returns (trainer, report); the stage
trains it with driver.train (checkpoints, resume). PPO is trainpipe's own subclass of TRL's GRPO trainer (rl.ppo):
TRL 1.13 removed its PPO trainer."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Callable

import torch

from trainpipe.config import RlConfig
from trainpipe.errors import UserError
from trainpipe.rl import data, kl_control, reward_model, tree
from trainpipe.rl.rewards import build_rewards
from trainpipe.tasks.environments import COLLECT_SEEDS_START
from trainpipe.training import driver

# The loss variants TRL 1.16 implements (it only checks them mid-training, so they are checked here up front).
GRPO_LOSSES = ("grpo", "dapo", "dr_grpo", "bnpo", "cispo", "sapo", "luspo", "vespo")
ONLINE = ("grpo", "rloo", "ppo")  # the algorithms that generate while they train
# PPO's clipped surrogate, which TRL computes for these (they differ in how token losses are averaged).
PPO_LOSSES = ("dapo", "bnpo", "grpo", "dr_grpo")
PREFERENCE_LOSSES = {
    "dpo": (
        "sigmoid",
        "hinge",
        "ipo",
        "exo_pair",
        "nca_pair",
        "robust",
        "bco_pair",
        "sppo_hard",
        "aot",
        "aot_unpaired",
        "apo_zero",
        "apo_down",
        "discopop",
        "sft",
        "sigmoid_norm",
        "simpo",
    ),
    "kto": ("kto", "apo_zero_unpaired"),
    "online_dpo": ("sigmoid", "ipo"),
}


def check(rl: RlConfig) -> None:
    """Config problems that need no model or data, raised before anything is loaded."""
    _check_losses(rl)
    tree.check(rl)  # before the vLLM and environment checks: a tree refuses them by name
    if rl.lora.quantize != "none":
        raise UserError(
            f"rl.lora.quantize={rl.lora.quantize}: QLoRA is built for cpt and sft; rl loads its policy "
            "and reference in full precision (set rl.lora.quantize=none)"
        )
    if rl.algorithm in ONLINE:
        _check_online(rl)
    if rl.algorithm == "ppo":
        _check_ppo(rl)
    if rl.algorithm == "online_dpo" and rl.use_vllm:
        raise UserError("rl.algorithm=online_dpo generates with transformers here; set rl.use_vllm=false")
    if rl.environment:
        _check_environment(rl)
    kl_control.check(rl)
    reward_model.check(rl)


def _check_losses(rl: RlConfig) -> None:
    if rl.algorithm == "grpo" and rl.loss_type not in GRPO_LOSSES:
        raise UserError(f"rl.loss_type={rl.loss_type!r}: GRPO offers {', '.join(GRPO_LOSSES)}")
    if rl.algorithm == "ppo" and rl.loss_type not in PPO_LOSSES:
        raise UserError(
            f"rl.loss_type={rl.loss_type!r}: PPO's clipped surrogate averages token losses as one of "
            f"{', '.join(PPO_LOSSES)}"
        )
    allowed = PREFERENCE_LOSSES.get(rl.algorithm)
    if rl.preference_loss is not None and rl.preference_loss not in (allowed or ()):
        offered = f"{rl.algorithm} offers {', '.join(allowed)}" if allowed else f"{rl.algorithm} has no loss variants"
        raise UserError(f"rl.preference_loss={rl.preference_loss!r}: {offered}")


def _check_online(rl: RlConfig) -> None:
    if rl.use_vllm and not torch.cuda.is_available():
        raise UserError("rl.use_vllm=true needs a CUDA GPU; none is visible (set rl.use_vllm=false on CPU)")
    if rl.use_vllm and importlib.util.find_spec("vllm") is None:
        raise UserError("rl.use_vllm=true needs the vllm package (pip install vllm), which is not installed")
    if (rl.batch_size * rl.grad_accum) % rl.num_generations:
        raise UserError(
            f"rl.batch_size × rl.grad_accum ({rl.batch_size * rl.grad_accum}) must be a multiple of "
            f"rl.num_generations ({rl.num_generations}): each prompt's group is generated in one batch"
        )


def _check_ppo(rl: RlConfig) -> None:
    if not 0 <= rl.ppo_gamma <= 1 or not 0 <= rl.ppo_lambda <= 1:
        raise UserError(f"rl.ppo_gamma={rl.ppo_gamma}, rl.ppo_lambda={rl.ppo_lambda}: each must lie in [0, 1]")
    if min(rl.ppo_epochs, rl.ppo_minibatches) < 1:
        raise UserError("rl.ppo_epochs and rl.ppo_minibatches must each be ≥ 1")
    if rl.ppo_value_clip <= 0 or rl.ppo_vf_coef < 0 or (rl.ppo_value_lr is not None and rl.ppo_value_lr <= 0):
        raise UserError("rl.ppo_value_clip and rl.ppo_value_lr must be > 0, rl.ppo_vf_coef ≥ 0")


def _check_environment(rl: RlConfig) -> None:
    if rl.algorithm not in ("grpo", "ppo"):
        raise UserError(
            f"rl.environment={rl.environment} runs multi-turn rollouts with grpo and ppo only, "
            f"not rl.algorithm={rl.algorithm}"
        )
    if rl.use_vllm:
        raise UserError("rl.environment: multi-turn rollouts generate with transformers; set rl.use_vllm=false")
    if min(rl.env_episodes, rl.env_max_turns, rl.env_turn_tokens) < 1:
        raise UserError("rl.env_episodes, rl.env_max_turns and rl.env_turn_tokens must each be ≥ 1")
    if rl.env_episodes > COLLECT_SEEDS_START:
        raise UserError(
            f"rl.env_episodes={rl.env_episodes}: at most {COLLECT_SEEDS_START}; larger episode seeds "
            "belong to collected trajectories and evaluation episodes"
        )
    if "env" not in [r.name for r in rl.rewards]:
        raise UserError(
            f"rl.environment={rl.environment} needs the episode return as a reward: "
            "add {name: env} to rl.rewards (e.g. rl.rewards=[{name:env}])"
        )


def build_trainer(rl: RlConfig, model, tokenizer, collect_dir: Path | None, io):
    """The configured trainer and its report; `rl` has passed check() (the stage runs it before loading the model)."""
    trainer, report = ALGORITHMS[rl.algorithm](rl, model, tokenizer, collect_dir, io)
    if rl.algorithm in ONLINE:
        # Their generation and log-prob passes run under autocast (rl.generation, rl.logprobs): the frozen LoRA
        # base is kept in bf16 so no pass re-casts it; driver.save_model merges into the fp32 originals.
        lowered = driver.frozen_in_bf16(trainer, rl.lora.enabled)
        if lowered:
            report["bf16_frozen_weights"] = lowered
    if rl.kl_target is not None:  # check() allows it for the online algorithms only
        kl_control.attach(trainer, rl.beta, rl.kl_target, rl.kl_horizon)
    return trainer, report


def _rewards(rl: RlConfig, io):
    """The reward components; {name: model} scores with the reward model the stage trained into its output."""
    return build_rewards(rl, reward_model.folder(io.out) if rl.reward_model.train else None)


def _online_args(rl: RlConfig, model, io, weights: list[float]) -> dict:
    args = dict(
        driver.common_args(rl, io, driver.count_params(model)),
        num_generations=rl.num_generations,
        max_completion_length=rl.max_completion_length,
        temperature=rl.temperature,
        beta=rl.beta,
        reward_weights=weights,
        # TRL counts prompt + completion tokens itself; the Trainer's own count would find no input_ids.
        include_num_input_tokens_seen="no",
        use_vllm=rl.use_vllm,
    )
    if rl.use_vllm:
        args.update(vllm_mode=rl.vllm_mode, vllm_gpu_memory_utilization=rl.vllm_gpu_memory_utilization)
        if rl.vllm_mode == "server" and rl.vllm_server_base_url:
            args["vllm_server_base_url"] = rl.vllm_server_base_url
    return args


def _grpo(rl: RlConfig, model, tokenizer, collect_dir, io):
    from trl import GRPOConfig

    from trainpipe.rl.rollout import TrainpipeGRPOTrainer

    funcs, weights = _rewards(rl, io)
    dataset, rollout, report = _rollout_data(rl, tokenizer, collect_dir)
    args = GRPOConfig(**_online_args(rl, model, io, weights), loss_type=rl.loss_type)
    trainer = TrainpipeGRPOTrainer(
        model=model,
        reward_funcs=funcs,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=driver.peft_config(rl.lora),
        rollout_func=rollout,
        step_advantages=rl.step_advantages and rollout is not None,
        tree=tree.settings(rl),
    )
    return trainer, report


def _rollout_data(rl: RlConfig, tokenizer, collect_dir):
    """(dataset, rollout_func, report): environment episodes played multi-turn, or the collected task prompts."""
    from trainpipe.rl.rollout import MultiTurnRollout, environment_dataset
    from trainpipe.tasks.environments import environment_factory

    if not rl.environment:
        dataset, report = data.prompt_dataset(collect_dir, rl, tokenizer)
        return dataset, None, report
    factory = environment_factory(rl)
    dataset, seeds = environment_dataset(factory, rl.env_episodes)
    rollout = MultiTurnRollout(factory, seeds, tokenizer, rl.env_max_turns, rl.env_turn_tokens)
    return dataset, rollout, {"episodes": len(dataset), "environment": rl.environment}


def _ppo(rl: RlConfig, model, tokenizer, collect_dir, io):
    """PPO (rl.ppo): epochs are TRL's num_iterations; a generation batch holds ppo_minibatches optimizer steps."""
    from accelerate import PartialState
    from trl import GRPOConfig

    from trainpipe.rl.ppo import PPOSettings, PPOTrainer, value_model_from

    if PartialState().num_processes > 1:
        raise UserError(
            "rl.algorithm=ppo trains in one process: its value model is not synchronised across "
            "processes yet (set launch.num_processes=1, or use grpo or rloo)"
        )
    funcs, weights = _rewards(rl, io)
    dataset, rollout, report = _rollout_data(rl, tokenizer, collect_dir)
    head_only = rl.ppo_value_train == "head"
    value = value_model_from(
        model, driver.peft_config(rl.lora, task_type="FEATURE_EXTRACTION"), rl.seed, head_only=head_only
    )
    args = GRPOConfig(
        **_online_args(rl, model, io, weights),
        loss_type=rl.loss_type,
        num_iterations=rl.ppo_epochs,
        steps_per_generation=rl.grad_accum * rl.ppo_minibatches,
    )
    settings = PPOSettings(
        gamma=rl.ppo_gamma,
        lam=rl.ppo_lambda,
        value_clip=rl.ppo_value_clip,
        vf_coef=rl.ppo_vf_coef,
        value_lr=rl.ppo_value_lr or rl.learning_rate,
        missing_eos_penalty=rl.ppo_missing_eos_penalty,
        head_only=head_only,
    )
    trainer = PPOTrainer(
        model=model,
        reward_funcs=funcs,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=driver.peft_config(rl.lora),
        rollout_func=rollout,
        value_model=value,
        ppo=settings,
    )
    trained = sum(p.numel() for p in value.parameters() if p.requires_grad)
    return trainer, {**report, "value_parameters": driver.count_params(value), "value_trained_parameters": trained}


def _rloo(rl: RlConfig, model, tokenizer, collect_dir, io):
    from trl import RLOOConfig, RLOOTrainer

    from trainpipe.rl.generation import SharedPrefillMixin
    from trainpipe.rl.logprobs import DirectLogprobsMixin

    class TrainpipeRLOOTrainer(SharedPrefillMixin, DirectLogprobsMixin, RLOOTrainer):
        pass

    funcs, weights = _rewards(rl, io)
    dataset, report = data.prompt_dataset(collect_dir, rl, tokenizer)
    args = RLOOConfig(**_online_args(rl, model, io, weights))
    trainer = TrainpipeRLOOTrainer(
        model=model,
        reward_funcs=funcs,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=driver.peft_config(rl.lora),
    )
    return trainer, report


def _offline_args(rl: RlConfig, model, io) -> dict:
    return dict(
        driver.common_args(rl, io, driver.count_params(model)),
        max_length=rl.max_prompt_length + rl.max_completion_length,
        beta=rl.preference_beta,
    )


def _dpo(rl: RlConfig, model, tokenizer, collect_dir, io):
    """DPO against the input model: with LoRA the adapter-disabled model, else TRL loads a frozen copy from the
    folder the model came from (model.config._name_or_path, i.e. io.model_in)."""
    from trl import DPOConfig, DPOTrainer

    if rl.preference_loss == "simpo":
        return _simpo(rl, model, tokenizer, collect_dir, io)
    dataset = data.preference_dataset(collect_dir)
    extra = {"loss_type": [rl.preference_loss]} if rl.preference_loss else {}
    args = DPOConfig(**_offline_args(rl, model, io), **extra)
    trainer = DPOTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=driver.peft_config(rl.lora),
    )
    return trainer, {"pairs": len(dataset), "loss_type": list(args.loss_type)}


def _simpo(rl: RlConfig, model, tokenizer, collect_dir, io):
    """SimPO: reference-free, length-normalised margin loss; TRL offers it as CPO's loss_type=simpo with cpo_alpha=0."""
    return _cpo(rl, model, tokenizer, collect_dir, io, loss_type="simpo", cpo_alpha=0.0, simpo_gamma=rl.simpo_gamma)


def _cpo(rl: RlConfig, model, tokenizer, collect_dir, io, **loss):
    """CPO (Xu et al. 2024): reference-free; TRL's default is the sigmoid preference loss plus the NLL of the chosen
    answer (cpo_alpha=1). `loss` overrides it (SimPO)."""
    from trl.experimental.cpo import CPOConfig, CPOTrainer

    dataset = data.preference_dataset(collect_dir)
    args = CPOConfig(**_offline_args(rl, model, io), **loss)
    trainer = CPOTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=driver.peft_config(rl.lora),
    )
    return trainer, {"pairs": len(dataset), "loss_type": args.loss_type}


def _online_dpo(rl: RlConfig, model, tokenizer, collect_dir, io):
    """Online DPO (Guo et al. 2024; TRL's experimental trainer): two completions sampled per prompt, the judge
    (rl.rewards: the task verifier, the learned reward model ...) names the chosen one, DPO loss against the input
    model (with LoRA the adapter-disabled model, else a frozen copy)."""
    from trl.experimental.online_dpo import OnlineDPOConfig, OnlineDPOTrainer

    funcs, weights = _rewards(rl, io)
    dataset, report = data.prompt_dataset(collect_dir, rl, tokenizer)
    args = OnlineDPOConfig(
        **driver.common_args(rl, io, driver.count_params(model)),
        max_new_tokens=rl.max_completion_length,
        temperature=rl.temperature,
        max_length=rl.max_prompt_length + rl.max_completion_length,
        beta=[rl.preference_beta],
        loss_type=rl.preference_loss or "sigmoid",
        reward_weights=weights,
    )
    args.include_num_input_tokens_seen = "no"  # its batches hold prompts, not the input_ids the Trainer counts
    trainer = OnlineDPOTrainer(
        model=model,
        reward_funcs=funcs,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=driver.peft_config(rl.lora),
    )
    return trainer, {**report, "loss_type": args.loss_type}


def _kto(rl: RlConfig, model, tokenizer, collect_dir, io):
    from trl import KTOConfig, KTOTrainer

    dataset = data.kto_dataset(collect_dir)
    extra = {"loss_type": rl.preference_loss} if rl.preference_loss else {}
    args = KTOConfig(**_offline_args(rl, model, io), **extra)
    trainer = KTOTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=driver.peft_config(rl.lora),
    )
    labels = dataset["label"]
    return trainer, {"examples": len(dataset), "desirable": int(sum(labels)), "loss_type": args.loss_type}


def _orpo(rl: RlConfig, model, tokenizer, collect_dir, io):
    """ORPO (reference-free odds-ratio preference loss), from trl.experimental in TRL 1.x."""
    from trl.experimental.orpo import ORPOConfig, ORPOTrainer

    dataset = data.preference_dataset(collect_dir)
    args = ORPOConfig(**_offline_args(rl, model, io), max_completion_length=rl.max_completion_length)
    trainer = ORPOTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=driver.peft_config(rl.lora),
    )
    return trainer, {"pairs": len(dataset)}


ALGORITHMS: dict[str, Callable] = {
    "grpo": _grpo,
    "rloo": _rloo,
    "ppo": _ppo,
    "online_dpo": _online_dpo,
    "dpo": _dpo,
    "cpo": _cpo,
    "kto": _kto,
    "orpo": _orpo,
}
