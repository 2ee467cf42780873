"""SFT stage: TRL SFTTrainer (LoRA or full) on the collect stage's conversations, loss on assistant tokens only.

Reads data_cache/collect/sft and the previous model (CPT or base); writes models/sft/ and checkpoints/sft/.
"""
from __future__ import annotations

import logging

from trainpipe.config import Config
from trainpipe.pipeline import Stage, StageIO

log = logging.getLogger("trainpipe.sft")


def run(cfg: Config, io: StageIO) -> dict:
    import torch
    from datasets import Dataset

    from trainpipe.data.store import load_split
    from trl import SFTConfig

    from trainpipe.models.load import load_model, load_tokenizer
    from trainpipe.training import driver, hardware
    from trainpipe.training.sft_data import build_examples
    from trainpipe.training.sft_trainer import TrainpipeSFTTrainer, WeightedCollator

    sft = cfg.sft
    tokenizer = load_tokenizer(io.model_in, cfg.model)
    records = load_split(io.upstream["collect"], "sft", "train")
    if cfg.data.quality.score:
        from trainpipe.training.quality import screen

        records = screen(records, io.model_in, tokenizer, cfg, io.logs / "quality.jsonl")
    examples, report = build_examples(records, tokenizer, sft, cfg.data.max_length, cfg.data.on_bad_record)
    log.info("sft: %d examples, %d trained tokens", report["examples"], report["trained_tokens"])
    model = load_model(io.model_in, cfg.model, dtype=_train_dtype())
    attention = hardware.apply_flash_attention(model, sft.flash_attention)
    # Packing is WeightedCollator(padding_free=True): TRL refuses any custom collator when its own padding_free
    # flag is set, and ours is TRL's padding-free collator plus the token weights.
    args = SFTConfig(**driver.common_args(sft, io, driver.count_params(model)), max_length=None,
                     padding_free=False, dataset_kwargs={"skip_prepare_dataset": False},
                     train_sampling_strategy="group_by_length" if sft.group_by_length else "random")
    trainer = TrainpipeSFTTrainer(
        model=model, args=args, train_dataset=Dataset.from_list(examples), processing_class=tokenizer,
        peft_config=driver.peft_config(sft.lora), data_collator=WeightedCollator(
            pad_token_id=tokenizer.pad_token_id, padding_free=sft.packing),
        loss=sft.loss, nlirg=vars(sft.nlirg), loss_mode="sft", curriculum=_curriculum(sft), ce_kernel=sft.ce_kernel)
    metrics = driver.train(trainer, sft, io, force=io.force)
    kind = driver.save_model(trainer, tokenizer, io.out, sft.merge_adapters)
    return {**report, **metrics, "model_kind": kind, "key_metric": "train_loss", "attention": attention,
            "ce_kernel": trainer.ce_kernel, "precision": "bf16" if args.bf16 else "fp16" if args.fp16 else "fp32",
            "cpu_threads": torch.get_num_threads()}


def _curriculum(sft) -> dict | None:
    """Curriculum sampler settings; it replaces group_by_length ordering when on."""
    agent = sft.agent
    return {"start_ratio": agent.start_ratio, "warmup_epochs": agent.warmup_epochs} if agent.curriculum else None


def _train_dtype():
    import torch

    return torch.float32  # master weights stay fp32; autocast supplies bf16 compute where the hardware has it


STAGE = Stage(name="sft", reads=("collect", "cpt"), config_sections=("model", "data.max_length", "data.quality", "sft"),
              run=run, needs_model=True)
