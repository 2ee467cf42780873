"""The config every training stage (cpt, sft, rl) shares: LoRA and the optimizer/schedule/checkpoint fields.\nPart of the schema in trainpipe.config, which re-exports it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class LoraConfig:
    enabled: bool = True
    r: int = 16
    alpha: int = 32
    dropout: float = 0.0
    target_modules: list[str] = field(default_factory=lambda: ["all-linear"])
    # QLoRA: the frozen base is loaded quantized by bitsandbytes (4bit: NF4 with double quantization, 8bit: LLM.int8)
    # and only the adapter trains; the published model is the adapter merged into the full-precision base. cpt, sft.
    quantize: Literal["none", "4bit", "8bit"] = "none"


@dataclass
class TrainConfig:
    """What every training stage (cpt, sft, rl) reads: optimizer, schedule, LoRA, checkpoints, precision, kernels."""

    enabled: bool = True
    learning_rate: float = 2e-4
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    # > 0: stop once this run has trained for this many minutes (the step under way ends, a checkpoint is saved
    # and the stage publishes it); steps and lr schedule stay as epochs/max_steps set them
    max_minutes: float = 0.0
    batch_size: int = 8  # per device
    grad_accum: int = 1
    warmup_ratio: float = 0.03
    lr_scheduler: str = "cosine"  # a transformers scheduler name: cosine, linear, constant, constant_with_warmup ...
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 0
    lora: LoraConfig = field(default_factory=LoraConfig)
    merge_adapters: bool = True  # publish merged weights; false keeps the PEFT adapter folder
    resume: str = "auto"  # auto | never | PATH to a checkpoint (relative: under checkpoints/<stage>/, else paths.root)
    save_steps: int = 50
    save_total_limit: int = 2
    logging_steps: int = 5
    gradient_checkpointing: Literal["auto", "on", "off"] = "auto"  # auto: on only for CUDA models past 1B params
    precision: Literal["auto", "fp32", "bf16", "fp16"] = (
        "auto"  # auto: bf16 autocast where computed natively, else fp32
    )
    torch_compile: bool = False
    num_threads: int = 0  # CPU intra-op threads; 0: one per core, fewer while other work keeps cores busy
    liger_kernel: bool = False  # GPU: Liger RMSNorm/SwiGLU/RoPE kernels; logged and skipped when absent or on CPU
