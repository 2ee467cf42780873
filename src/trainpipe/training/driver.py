"""Shared plumbing of training stages: TRL config from our TrainConfig, LoRA, resume, and publishing the model.

Writes checkpoints/<stage>/ while training and a plain HF model folder (merged or adapter) into the stage output.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from pathlib import Path

import torch

from trainpipe.artifacts import read_manifest
from trainpipe.config import LoraConfig, TrainConfig
from trainpipe.errors import UserError
from trainpipe.models import hardware
from trainpipe.training import checkpoints

log = logging.getLogger("trainpipe.training")


def common_args(tc: TrainConfig, io, n_params: int) -> dict:
    """Arguments every TRL config of ours shares, with precision, checkpointing and kernels chosen from the hardware."""
    precision = hardware.training_precision(tc.precision)
    hardware.configure_threads(tc.num_threads)
    os.environ["TENSORBOARD_LOGGING_DIR"] = str(io.logs / "tensorboard")
    return dict(
        output_dir=str(io.checkpoints),
        learning_rate=tc.learning_rate,
        num_train_epochs=tc.epochs,
        max_steps=tc.max_steps,
        per_device_train_batch_size=tc.batch_size,
        gradient_accumulation_steps=tc.grad_accum,
        warmup_steps=tc.warmup_ratio,
        lr_scheduler_type=tc.lr_scheduler,
        weight_decay=tc.weight_decay,
        max_grad_norm=tc.max_grad_norm,
        seed=tc.seed,
        data_seed=tc.seed,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        # activation_checkpointing (the v5 name) overrides TRL's gradient_checkpointing=True default
        activation_checkpointing=hardware.use_gradient_checkpointing(tc.gradient_checkpointing, n_params),
        save_strategy="steps",
        save_steps=tc.save_steps,
        save_total_limit=None,
        logging_steps=tc.logging_steps,
        logging_first_step=True,
        report_to=list(io.report_to) or "none",
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        torch_compile=tc.torch_compile,
        remove_unused_columns=False,
        include_num_input_tokens_seen="non_padding",
        disable_tqdm=False,
        use_liger_kernel=hardware.use_liger(tc.liger_kernel),
        # every trainable parameter gets a gradient each step; searching for unused ones costs a graph walk per step
        ddp_find_unused_parameters=False,
    )


def quantize_for(lora: LoraConfig, section: str) -> str:
    """The base model's quantization for `section` (cpt, sft): QLoRA trains an adapter, so it needs LoRA."""

    if lora.quantize != "none" and not lora.enabled:
        raise UserError(
            f"{section}.lora.quantize={lora.quantize} trains a LoRA adapter on a quantized base; "
            f"set {section}.lora.enabled=true"
        )
    return lora.quantize


def peft_config(lora: LoraConfig, task_type: str = "CAUSAL_LM"):
    if not lora.enabled:
        return None
    from peft import LoraConfig as PeftLora

    targets = "all-linear" if lora.target_modules == ["all-linear"] else list(lora.target_modules)
    return PeftLora(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=targets,
        task_type=task_type,
        bias="none",
    )


def train(trainer, tc: TrainConfig, io, force: bool = False, keep_all: bool = False) -> dict:
    """Run trainer.train with resume from the latest complete checkpoint; returns timing metrics. `keep_all`
    keeps every checkpoint (checkpoint selection scores them all) instead of the newest save_total_limit."""

    published = read_manifest(io.published) if io.published else None
    acc = trainer.accelerator
    check_sharding(acc)
    # Under accelerate launch only the main process locks and prepares checkpoints/<stage>/; every rank then
    # resumes from the path it chose.
    with checkpoints.locked(io.checkpoints, io.name) if acc.is_main_process else contextlib.nullcontext():
        resume = _on_main_then_shared(
            acc,
            lambda: checkpoints.prepare_resume(
                io.checkpoints, tc.resume, io.fingerprint, (published or {}).get("fingerprint"), force
            ),
        )
        if resume is None and acc.is_main_process:  # a fresh start starts fresh curves; a resumed run continues them
            shutil.rmtree(io.logs / "tensorboard", ignore_errors=True)
        trainer.add_callback(checkpoints.CompleteMarker(1 << 30 if keep_all else tc.save_total_limit))
        trainer.add_callback(checkpoints.FinishGuard())
        budget = checkpoints.TimeBudget(tc.max_minutes * 60) if tc.max_minutes > 0 else None
        if budget:
            trainer.add_callback(budget)
        started = time.time()
        try:
            loss = float(trainer.train(resume_from_checkpoint=resume).training_loss)
        except checkpoints.AlreadyFinished:
            loss = checkpoints.mean_logged_loss(trainer.state)  # the weights came from the final checkpoint
        seconds = time.time() - started
    state = trainer.state
    tokens = int(getattr(state, "num_input_tokens_seen", 0) or 0)
    history = [h for h in state.log_history if "loss" in h]
    return {
        "train_loss": round(loss, 4),
        "steps": int(state.global_step),
        "resumed_from": resume,
        "train_seconds": round(seconds, 1),
        "tokens_seen": tokens,
        "processes": trainer.accelerator.num_processes,
        "distributed": str(trainer.accelerator.distributed_type.value),  # e.g. NO, MULTI_GPU (DDP), FSDP, DEEPSPEED
        # the step at which rl/sft/cpt.max_minutes ran out (None: the run reached its own end)
        "stopped_by_time_budget": budget.stopped_at if budget else None,
        "first_logged_loss": history[0]["loss"] if history else None,
        "last_logged_loss": history[-1]["loss"] if history else None,
    }


SHARDING_ENV = {"FSDP": "ACCELERATE_USE_FSDP", "DEEPSPEED": "ACCELERATE_USE_DEEPSPEED"}


def check_sharding(accelerator) -> None:
    """Refuse a launch that asked for FSDP or DeepSpeed but runs without it: accelerate turns both into plain
    data parallelism on CPU-only machines (MULTI_CPU), which would replicate a model the user meant to shard."""

    got = accelerator.distributed_type.value
    for kind, env in SHARDING_ENV.items():
        if os.environ.get(env, "false").lower() == "true" and got != kind:
            raise UserError(
                f"the accelerate config asks for {kind}, but accelerate runs this stage as {got} "
                "(it shards only on GPUs and other accelerators); on CPU use "
                "configs/accelerate/ddp_cpu.yaml"
            )


def _on_main_then_shared(accelerator, fn):
    """Run `fn` on the main process only (it deletes and writes shared folders); every rank gets its result."""
    if accelerator.num_processes == 1:
        return fn()
    from accelerate.utils import broadcast_object_list

    box = [fn() if accelerator.is_main_process else None]
    broadcast_object_list(box, from_process=0)
    return box[0]


def frozen_in_bf16(trainer, lora_enabled: bool) -> int:
    """Keep a LoRA run's frozen base weights in bf16 while it trains under bf16 autocast
    (hardware.lower_frozen_linears: autocast would re-cast every frozen matrix in every forward); save_model puts
    the fp32 originals back before merging. Returns the number of weights lowered (0: not applicable)."""
    if not lora_enabled or not trainer.args.bf16 or quantized_bits(trainer.model) is not None:
        return 0
    lowered = hardware.lower_frozen_linears(trainer.model)
    hardware.share_input_casts(trainer.model)  # one bf16 copy of each layer input, not one per consumer
    return lowered


def save_model(source, tokenizer, out: Path, merge: bool) -> str:
    """Write a plain HF folder from the main process only: LoRA merged into full-precision weights by default,
    or the adapter alone. `source` is the trainer (FSDP and ZeRO-3 shards are gathered through it) or a model."""
    from accelerate import PartialState
    from peft import PeftModel

    trainer = source if hasattr(source, "accelerator") else None
    model = trainer.model if trainer is not None else source
    hardware.restore_frozen_linears(model)  # merge into the full-precision base, not its bf16 training copy
    kind = ("merged" if merge else "adapter") if isinstance(model, PeftModel) else "full"
    state = trainer.accelerator if trainer is not None else PartialState()
    if trainer is not None and _sharded(trainer):
        model = _gathered_copy(trainer, Path(out), kind)
    if state.is_main_process:
        if kind == "merged":
            model = _onto_full_precision(model, Path(out)) if _quantized(model) else model.merge_and_unload()
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
    state.wait_for_everyone()
    return kind


def quantized_bits(model) -> str | None:
    """'4bit' or '8bit' when bitsandbytes holds the model's base weights (through a PEFT wrapper too), else None."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return (
        "4bit"
        if getattr(base, "is_loaded_in_4bit", False)
        else "8bit"
        if getattr(base, "is_loaded_in_8bit", False)
        else None
    )


def _quantized(model) -> bool:
    return quantized_bits(model) is not None


def _onto_full_precision(model, out: Path):
    """QLoRA: merging into 4- or 8-bit weights would round the adapter away (and publish a bitsandbytes model),
    so the trained adapter is merged into the base model reloaded in full precision instead."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    staging = out.parent / f"{out.name}.adapter"
    model.save_pretrained(staging)
    base_path = model.peft_config["default"].base_model_name_or_path
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32, use_safetensors=True)
    merged = PeftModel.from_pretrained(base, staging).merge_and_unload()
    shutil.rmtree(staging, ignore_errors=True)
    return merged


def _sharded(trainer) -> bool:
    from accelerate.utils import DistributedType

    return trainer.accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)


def _gathered_copy(trainer, out: Path, kind: str):
    """All ranks join trainer.save_model, which gathers FSDP/ZeRO-3 shards into full weights written by the main
    process (ZeRO-3 needs zero3_save_16bit_model: true); the main process reads them back as a plain model."""

    from transformers import AutoModelForCausalLM

    staging = out.parent / f"{out.name}.gathered"
    trainer.save_model(str(staging))
    if not trainer.accelerator.is_main_process:
        return None
    if kind == "full":
        model = AutoModelForCausalLM.from_pretrained(staging, dtype=torch.float32)
    else:
        from peft import AutoPeftModelForCausalLM

        model = AutoPeftModelForCausalLM.from_pretrained(staging, dtype=torch.float32)
    shutil.rmtree(staging, ignore_errors=True)  # a mapped file outlives its unlinking on POSIX systems
    return model


def count_params(model) -> int:
    return sum(p.numel() for p in model.parameters())
