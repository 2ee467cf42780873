"""The rl section of the schema (trainpipe.config re-exports it): algorithm, sampling, rewards, reward model, PPO,\ntree rollouts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

from trainpipe.config_train import TrainConfig


@dataclass
class RewardConfig:
    name: str = "task"  # task, format, steps, length, external, env, model (see trainpipe.rl.rewards)
    weight: float = 1.0
    target_length: int = 256  # length: tokens beyond this are penalised
    field: str = "reward"  # external: sft record column, or key of its meta JSON, holding the raw score
    low: float = 0.0  # external: raw score mapped to -1
    high: float = 1.0  # external: raw score mapped to +1


@dataclass
class RewardModelConfig:
    """rl.reward_model: a scalar-head copy of the input model trained with TRL's RewardTrainer before the policy,
    kept in models/rl/reward_model/ and served by the reward {name: model} (trainpipe.rl.reward_model)."""

    train: bool = False
    # verified: the input model's sampled completions scored by the task verifier (wrong ones rejected; a correct
    # sample, else the gold solution, chosen); preference: collect's preference records
    pairs: Literal["verified", "preference"] = "verified"
    samples: int = 4  # verified: completions sampled per prompt (rl.temperature, rl.max_completion_length tokens)
    # verified: reject only wrong answers stated in the task's format (a final answer line), not cut-off or
    # answerless samples. Without it, pairs of the cold-start SFT model were told apart by whether an answer was
    # given (47 of 49 held out) and GRPO on that reward finished more answers but got no more right; with it, GRPO
    # on the learned reward alone beat SFT on held-out items, 40 better / 20 worse (bench/README.md)
    hard_negatives: bool = True
    max_pairs: int = 256  # pairs used at most (verified: prompts sampled; each gives at most one pair)
    heldout: float = 0.2  # share of pairs held out to measure pair accuracy
    epochs: float = 1.0
    learning_rate: float = 1e-5
    batch_size: int = 8


@dataclass
class RlConfig(TrainConfig):
    enabled: bool = False
    algorithm: Literal["grpo", "rloo", "dpo", "kto", "orpo", "ppo", "cpo", "online_dpo"] = "grpo"
    learning_rate: float = 1e-5
    batch_size: int = 8
    num_generations: int = 4  # grpo/rloo: completions sampled per prompt (one group); divides batch_size × grad_accum
    max_prompt_length: int = 256  # tokens; grpo/rloo drop longer prompts
    max_completion_length: int = 64  # new tokens per completion (dpo/kto/orpo: max_length is prompt + completion)
    temperature: float = 1.0  # grpo/rloo sampling temperature
    beta: float = 0.0  # KL coefficient; 0 needs no reference model
    loss_type: str = "dapo"  # grpo, dapo, dr_grpo, bnpo ... as TRL offers
    use_vllm: bool = False
    vllm_mode: Literal["colocate", "server"] = "colocate"
    tasks: list[str] = field(default_factory=lambda: ["arithmetic"])
    rewards: list[RewardConfig] = field(default_factory=lambda: [RewardConfig()])
    blend_alpha: float = 1.0  # r = (1 − α)·external + α·internal
    environment: Optional[str] = None  # multi-turn environment name: grid, http (grpo only)
    # dpo: a TRL DPO loss_type (sigmoid, ipo, hinge, sigmoid_norm ...) or simpo (TRL's CPO trainer, SimPO loss);
    # kto: kto or apo_zero_unpaired; online_dpo: sigmoid or ipo; None: TRL's default
    preference_loss: Optional[str] = None
    preference_beta: float = 0.1  # dpo/kto/orpo/simpo/cpo/online_dpo β
    simpo_gamma: float = 0.5  # simpo: target reward margin
    vllm_gpu_memory_utilization: float = 0.3  # colocate: share of GPU memory vLLM may take
    vllm_server_base_url: Optional[str] = None  # server: URL of a running `trl vllm-serve`
    env_difficulty: int = 1  # grid: side = difficulty + 2
    env_max_turns: int = 4  # assistant turns per episode
    env_turn_tokens: int = 16  # new tokens per assistant turn
    env_episodes: int = 64  # distinct episodes (seeds 0..n-1) in the training set
    env_url: Optional[str] = None  # http: base URL of an AgentGym-style server (/create /reset /step /observation)
    env_id_key: str = "id"  # http: JSON key naming the environment instance (AgentGym uses id or env_idx)
    step_advantages: bool = (
        True  # multi-turn grpo: weight each turn's tokens by its step reward (losses.step_advantages)
    )
    # Adaptive KL (grpo, rloo; Ziegler et al. 2019): after each step beta is steered towards this per-token KL to the
    # reference (nats, TRL's logged `kl`), starting from rl.beta (> 0); None keeps rl.beta fixed
    kl_target: Optional[float] = None
    kl_horizon: int = 10000  # adaptive KL: completions over which beta can change by at most a factor e^±0.2
    # PPO (rl.algorithm=ppo; trainpipe.rl.ppo): a value model copied from the policy (LoRA or full, as rl.lora) with
    # a scalar head; per-token rewards −rl.beta·KL(policy ‖ reference), the score on the last token; GAE advantages
    ppo_epochs: int = 1  # passes over each generation batch (TRL's num_iterations)
    ppo_minibatches: int = 1  # optimizer steps per pass: a generation batch holds this × batch_size × grad_accum
    ppo_gamma: float = 1.0  # GAE discount per token
    ppo_lambda: float = 0.95  # GAE λ
    ppo_value_clip: float = 0.2  # clip range of the value update around the rollout's values
    ppo_vf_coef: float = 0.1  # weight of the value loss beside the policy loss
    # backbone: the value model's copy of the backbone trains (LoRA or full, as rl.lora); head: it stays frozen and
    # only the scalar head trains, on features computed once per rollout (no value forward or backward in the
    # update: about half a PPO step's compute on CPU, for a linear critic)
    ppo_value_train: Literal["backbone", "head"] = "backbone"
    ppo_value_lr: Optional[float] = None  # value model's learning rate (same schedule); None: rl.learning_rate
    # subtracted from the score of a completion that never emitted EOS. 0 by default: with a 0/1 verifier score a
    # penalty of 1 taught the embedded model to answer "Answer: <first operand>" at once (greedy arithmetic
    # 0.12 → 0.01, bench/README.md); a learned reward that scores unfinished text well is what it is for
    ppo_missing_eos_penalty: float = 0.0
    reward_model: RewardModelConfig = field(default_factory=RewardModelConfig)
    # Tree rollouts (grpo on task prompts; trainpipe.rl.tree): per prompt a few roots, new continuations from their
    # highest-entropy tokens, near-duplicate leaves pruned, exactly num_generations leaves kept
    rollout: Literal["flat", "tree"] = "flat"  # flat: num_generations independent samples per prompt (TRL's)
    tree_roots: int = 2  # tree: root completions sampled per prompt (fewer than num_generations)
    tree_branch_points: int = 2  # tree: highest-entropy positions of each root that branch
    tree_continuations: int = 1  # tree: new continuations sampled from each branch point
    tree_similarity: float = 0.8  # tree: leaves at least this alike (token-bigram Jaccard) are near-duplicates
