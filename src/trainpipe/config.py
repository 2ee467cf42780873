"""Typed config schema and `load_config`: schema defaults ← config.yaml ← `key=value` overrides.

Every problem (unknown key, wrong type, missing value) is collected and reported together as a UserError.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Optional

from omegaconf import OmegaConf

from trainpipe.config_check import load_and_check
from trainpipe.config_rl import RewardConfig, RewardModelConfig, RlConfig
from trainpipe.config_train import LoraConfig, TrainConfig

__all__ = [  # the whole schema, whichever module holds each section
    "AgentConfig",
    "Config",
    "CptConfig",
    "DataConfig",
    "DeployConfig",
    "EvaluateConfig",
    "LaunchConfig",
    "LoraConfig",
    "ModelConfig",
    "NlirgConfig",
    "PathsConfig",
    "QualityConfig",
    "ReplayConfig",
    "RewardConfig",
    "RewardModelConfig",
    "RlConfig",
    "ScoreConfig",
    "SelectConfig",
    "SftConfig",
    "SourceConfig",
    "TokenLossConfig",
    "TrackingConfig",
    "TrainConfig",
    "load_config",
    "resolved_yaml",
    "section",
]


@dataclass
class PathsConfig:
    root: str = "."  # moves data_cache/, checkpoints/, models/ and logs/ together


@dataclass
class ModelConfig:
    base: str = "smollm2-135m-instruct"  # hub id, HF folder, .gguf file, smollm2-135m-instruct or tiny-random
    revision: Optional[str] = None  # hub revision (online only)
    trust_remote_code: bool = False  # never run model-repo code unless asked
    # inference dtype (evaluation, replay answers); auto: bf16 where the hardware computes it natively, else fp32
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    attn_implementation: Optional[str] = None  # e.g. sdpa, flash_attention_2; None lets transformers choose
    seed: int = 0  # seed for tiny-random weights


@dataclass
class SourceConfig:
    kind: Literal["file", "datasets", "task", "environment"] = "file"  # file(s), datasets folder / hub id, task
    # generator, or environment: a noisy expert plays episodes, each an agent trajectory for sft (see README)
    path: Optional[str] = None  # file, folder or glob (file); load_from_disk folder or hub id (datasets)
    format: str = (
        "auto"  # auto-detected, or: alpaca chat sharegpt text scored_conversation cpt preference kto prompts trajectory
    )
    use: Literal["auto", "cpt", "sft", "preference", "kto", "prompts"] = "auto"  # which stage consumes it
    weight: float = 1.0  # mixing weight relative to other sources of the same use
    limit: Optional[int] = None  # keep at most this many records
    columns: dict[str, str] = field(default_factory=dict)  # canonical name -> column in the file
    split: str = "train"  # datasets split
    subset: Optional[str] = None  # datasets config name
    revision: Optional[str] = None  # datasets hub revision
    txt_mode: Literal["file", "blocks"] = "blocks"  # .txt: one document per file, or per blank-line block
    task: Optional[str] = None  # kind=task: arithmetic, sat, abd, ded
    n: int = 1000  # kind=task/environment: how many items (episodes) to generate
    difficulty: int = 1  # kind=task/environment: difficulty knob (grid: side = difficulty + 2)
    seed: Optional[int] = None  # kind=task/environment: generator seed (default data.seed)
    environment: Optional[Literal["grid"]] = None  # kind=environment: which environment to play
    noise: float = 0.0  # kind=environment: chance per step that the expert takes a random other move
    max_turns: Optional[int] = None  # kind=environment: moves per episode; None: longest shortest path + 2


@dataclass
class QualityConfig:
    score: bool = False  # score SFT records against the current model and write logs/<stage>/quality.jsonl
    drop_top: float = 0.0  # drop this fraction of the worst-scoring records


@dataclass
class DataConfig:
    sources: list[SourceConfig] = field(
        default_factory=lambda: [SourceConfig(kind="task", task="arithmetic", n=1200, difficulty=1)]
    )
    eval_fraction: float = 0.15  # share of each dataset held out (stable, by content hash)
    eval_max: int = 200  # cap on held-out records per use/task
    max_length: int = 512  # tokens; longer samples are bad records
    on_bad_record: Literal["error", "skip"] = "error"  # skip: drop unusable records, counted (with examples) in stats
    seed: int = 0  # held-out split, source mixing, and task/environment generators without their own seed
    # exact: identical content fields; normalized: also equal after lowercasing, dropping punctuation, joining spaces
    dedup: Literal["none", "exact", "normalized"] = "normalized"
    contamination_ngram: int = 13  # n for the train/eval n-gram overlap check
    contamination_max: float = 0.05  # fail when more than this share of eval records overlap training data
    quality: QualityConfig = field(default_factory=QualityConfig)


@dataclass
class NlirgConfig:
    low_max: float = 3.0  # ℓ ≤ low_max: w = σ(low_slope·(ℓ − low_center))
    low_slope: float = 1.7
    low_center: float = 1.2
    high_center: float = 6.2  # low_max < ℓ < cutoff: w = σ(−(ℓ − high_center))
    cutoff: float = 15.0  # ℓ ≥ cutoff: w = 0


@dataclass
class TokenLossConfig(TrainConfig):
    """Next-token training on text (cpt, sft): the per-token loss and how rows are packed."""

    loss: Literal["ce", "nlirg", "dft"] = (
        "ce"  # dft: TRL's Dynamic Fine-Tuning loss (CE scaled by the token's own probability)
    )
    packing: bool = False  # padding-free packing with per-document attention
    nlirg: NlirgConfig = field(default_factory=NlirgConfig)  # loss=nlirg: per-token weight w(ℓ) of the token's CE ℓ


@dataclass
class CptConfig(TokenLossConfig):
    enabled: bool = False
    learning_rate: float = 1e-4
    max_length: int = 512  # packed sequence length
    packing: bool = True


@dataclass
class AgentConfig:
    """Agent trajectories (collect renders them as assistant Thought/Action turns and user Observation turns)."""

    mask_observations: bool = True  # loss only on assistant turns; false also trains the "Observation:" user turns
    step_weights: bool = False  # weight assistant turn j by r_j / mean(r) (its step reward over the trajectory's mean)
    allow_negative: bool = False  # step_weights: keep negative weights (steps with negative reward); else 0
    chunking: bool = False  # split trajectories longer than data.max_length at step boundaries
    overlap_steps: int = 1  # chunking: earlier steps each chunk repeats as untrained context
    curriculum: bool = False  # sample the easiest examples first, widening to all of them (replaces group_by_length)
    # record/meta field sorted ascending (smaller = easier); None: steps shown, then higher record reward first
    curriculum_field: Optional[str] = None
    start_ratio: float = 0.3  # curriculum: share of the easiest examples sampled at the start
    warmup_epochs: float = 1.0  # curriculum: epochs over which that share grows linearly to all examples


@dataclass
class ReplayConfig:
    """Self-generated replay (training/replay.py): general prompts answered greedily by the model SFT starts from,
    mixed into the training data so the fine-tuned model keeps its behaviour outside the task."""

    ratio: float = 0.0  # replay conversations per training record (0: off); 0.5 adds one for every two records
    pool: Literal["builtin", "self"] = "builtin"  # built-in everyday prompts, or prompts the model writes itself
    max_new_tokens: int = 128  # answer budget; an answer cut off there is trained without its end of turn
    seed: int = 0  # which pool prompts are drawn (and the sampling seed for pool=self)
    kl_weight: float = 0.0  # > 0 adds this times KL(start ‖ model) on replay answer tokens (needs LoRA: the start
    # model is the model with its adapter off), so the full next-token distribution is kept, not only the argmax
    ce: bool = True  # false: replay answers get no CE, only the KL term (distillation to the start model: CE on
    # its greedy answers sharpens the distribution and raises general-text perplexity)


@dataclass
class ScoreConfig:
    """Scored conversations ({conversation, meta_eval_score}); records without a score train as usual in every mode."""

    # none: the score is not used; weight: loss weight (score − low) / (high − low), clipped to [0, 1];
    # prefix: train with a "score: X" system line, serve with the top score's line (saved chat template)
    mode: Literal["none", "weight", "prefix"] = "none"
    min_score: Optional[float] = None  # drop scored records below this score (manifest: score_filtered); any mode
    low: float = 0.0  # weight mode: the score whose examples get loss weight 0
    high: Optional[float] = None  # top of the scale (weight 1; served in prefix mode); None: highest training score


@dataclass
class SelectConfig:
    """Checkpoint selection (evaluation/selection.py): every saved checkpoint is scored on dev suites only (task
    prompts held back from training, retention_dev, retention_text_dev) and the best one that loses no dev suite
    against the starting model (evaluate's gate rule) is published; the test suites never see the choice."""

    enabled: bool = False
    task_items: int = 64  # training prompts of the evaluate.tasks families held back (not trained on) as the dev task


@dataclass
class SftConfig(TokenLossConfig):
    epochs: float = 2.0
    group_by_length: bool = True  # batches of similar lengths (less padding); off: random order
    ce_kernel: Literal["auto", "chunked", "trl"] = (
        "auto"  # LM-head CE: auto = chunked (labelled rows only) on CPU, TRL's fused head on GPU
    )
    flash_attention: bool = (
        False  # GPU: FlashAttention-2 (varlen with packing); logged and skipped when absent or on CPU
    )
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    select: SelectConfig = field(default_factory=SelectConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    score: ScoreConfig = field(default_factory=ScoreConfig)


@dataclass
class EvaluateConfig:
    enabled: bool = True
    models: list[str] = field(default_factory=list)  # extra model folders to evaluate
    tasks: list[str] = field(default_factory=lambda: ["arithmetic"])  # held-out task suites
    files: list[str] = field(default_factory=list)  # user eval files: prompt + answer + task
    max_examples: int = 200  # per suite
    batch_size: int = 16
    max_new_tokens: int = 48
    temperature: float = 0.0  # 0: greedy
    samples: int = 1  # k samples per prompt for pass@k
    level: float = 0.8  # interval level
    backend: Literal["hf", "vllm"] = "hf"  # vllm: GPU generation for task suites (needs vllm and CUDA)
    seed: int = 0  # sampling seed (temperature > 0)
    sampling: dict[str, dict[str, float]] = field(
        default_factory=dict
    )  # per suite: {sat: {temperature: 0.8, samples: 8, max_new_tokens: 64}}
    # add retention suites: built-in everyday Q&A (all of it, dev/test), perplexity on general text (cpt eval
    # split, else built-in prose)
    retention: bool = True
    retention_max_new_tokens: int = 32  # retention Q&A answers are short; greedy always
    text_max_tokens: int = 256  # perplexity suites: tokens kept per document
    gate: bool = True  # fail (exit 3, no deploy) when the candidate loses any suite against base (see gate_p)
    gate_rule: Literal["dominance", "affine"] = "dominance"  # affine: the candidate must also beat base by gate_margin
    gate_margin: float = 0.0  # accuracy points a suite may drop before a found loss counts; affine: required gain
    gate_text_margin: float = 0.01  # relative perplexity rise a text suite may show before a found loss counts
    gate_p: float = 0.1  # a drop counts as found when intervals separate or the paired sign test gives p below this
    # Environment suites (env:<name>): max_examples held-out episodes (seeds from 10^9 on, disjoint from collect
    # and RL), played greedily and multi-turn with transformers in the agent-SFT chat format; scored by success
    # rate (reaching the goal, with its interval) and mean return.
    environments: list[Literal["grid"]] = field(default_factory=list)
    env_difficulty: int = 1  # grid side = difficulty + 2; match the collect source's difficulty
    env_max_turns: Optional[int] = None  # moves per episode; None: longest shortest path + 2 (as collect)
    env_turn_tokens: int = 48  # new tokens per assistant (Thought/Action) turn
    # lm-evaluation-harness tasks run offline on every model, scores beside trainpipe's own: 'trainpipe' (the task
    # suites above as lm-eval tasks), a local task folder (YAML + data), or a task/group name lm-eval knows
    harness_tasks: list[str] = field(default_factory=list)


@dataclass
class DeployConfig:
    enabled: bool = True
    source: Literal["auto", "rl", "sft", "cpt"] = "auto"  # auto: the last model-producing stage that ran
    format: Literal["merged", "adapter", "both"] = "merged"  # both: merged weights at the root, adapter in adapter/
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"  # auto: the dtype the base model was published in
    max_shard_size: str = "2GB"  # safetensors files are split past this size
    base_model: Optional[str] = None  # hub id for the card and adapter_config; default derived from model.base
    push: bool = False
    repo_id: Optional[str] = None
    private: bool = True
    revision: Optional[str] = None  # branch to push to (created when missing); None: main
    commit_message: str = "Upload model trained with trainpipe"
    license: str = "apache-2.0"
    endpoint: Optional[str] = None  # Hub endpoint (tests point it at a local server)
    push_retries: int = 4  # retries on transient Hub errors (5xx, lost connection), with exponential backoff
    # GGUF files for llama.cpp/Ollama written next to the merged weights, listed in the card and pushed with them:
    # any of f32, f16, bf16, q8_0 (Llama-architecture models with a byte-level BPE tokenizer)
    gguf: list[str] = field(default_factory=list)


@dataclass
class TrackingConfig:
    """Experiment trackers (trainpipe/tracking.py): every training stage and evaluate log into one run each. Not
    part of any stage's fingerprint: changing trackers reruns nothing."""

    report_to: list[str] = field(default_factory=lambda: ["tensorboard"])  # any of tensorboard, wandb, mlflow; []: none
    project: str = "trainpipe"  # W&B project and MLflow experiment
    run_name: Optional[str] = None  # runs are named <run_name>-<stage> (just <stage> when unset)
    tags: list[str] = field(default_factory=list)
    # MLflow tracking URI (e.g. sqlite:///logs/mlflow.db, http://host:5000); unset: MLFLOW_TRACKING_URI or MLflow's
    # default. W&B reads WANDB_MODE (offline), WANDB_API_KEY and WANDB_DIR (default: logs/<stage>) from the environment.
    mlflow_uri: Optional[str] = None


@dataclass
class LaunchConfig:
    num_processes: int = 1  # > 1: training stages run under `accelerate launch` with this many processes
    accelerate_config: Optional[str] = None  # e.g. configs/accelerate/fsdp2.yaml; also switches accelerate launch on
    # Multi-node: run the same command on every machine with its own machine_rank; num_processes counts all
    # processes on all machines (accelerate's convention). Unset values come from accelerate_config.
    num_machines: int = 1
    machine_rank: int = 0
    main_process_ip: Optional[str] = None
    main_process_port: Optional[int] = None
    # On machines other than rank 0, run_full_pipeline.py leaves collect, evaluate and deploy to machine 0 and
    # waits this long for an upstream stage's output before it launches a training stage.
    wait_seconds: float = 3600.0


@dataclass
class Config:
    paths: PathsConfig = field(default_factory=PathsConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    cpt: CptConfig = field(default_factory=CptConfig)
    sft: SftConfig = field(default_factory=SftConfig)
    rl: RlConfig = field(default_factory=RlConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    deploy: DeployConfig = field(default_factory=DeployConfig)
    launch: LaunchConfig = field(default_factory=LaunchConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)


def load_config(path: str | None = "config.yaml", overrides: list[str] | None = None) -> Config:
    """Merge schema ← YAML file ← dotted overrides; raise UserError listing every problem."""
    return load_and_check(Config, path, overrides or [])


def section(cfg: Config, name: str) -> Any:
    """The config section `name` (dotted names allowed)."""
    obj: Any = cfg
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def resolved_yaml(cfg: Config) -> str:
    """The whole config as YAML, every default filled in (logs/<stage>/config.resolved.yaml)."""
    return OmegaConf.to_yaml(OmegaConf.structured(cfg))
