"""SFT stage: TRL SFTTrainer (LoRA or full) on the collect stage's conversations, loss on assistant tokens only.

Reads data_cache/collect/sft and the previous model (CPT or base); writes models/sft/ and checkpoints/sft/.
"""
from __future__ import annotations

import logging

from trainpipe.config import Config
from trainpipe.errors import UserError
from trainpipe.pipeline import Stage, StageIO

log = logging.getLogger("trainpipe.sft")


def run(cfg: Config, io: StageIO) -> dict:
    import torch
    from datasets import Dataset

    from trainpipe.data.store import load_split
    from trl import SFTConfig

    from trainpipe.models.load import load_model, load_tokenizer
    from trainpipe.training import driver, hardware
    from trainpipe.training import scores
    from trainpipe.training.sft_data import build_examples
    from trainpipe.training.sft_trainer import TrainpipeSFTTrainer, WeightedCollator

    sft = cfg.sft
    if sft.loss == "dft" and sft.agent.step_weights:
        raise UserError("sft.loss=dft takes no token weights (sft.agent.step_weights=true); use sft.loss=ce")
    tokenizer = load_tokenizer(io.model_in, cfg.model)
    records = load_split(io.upstream["collect"], "sft", "train")
    if cfg.data.quality.score:
        from trainpipe.training.quality import screen

        records = screen(records, io.model_in, tokenizer, cfg, io.logs / "quality.jsonl")
    examples, report = build_examples(records, tokenizer, sft, cfg.data.max_length, cfg.data.on_bad_record)
    scores.serve_top_score(tokenizer, sft.score, report)  # prefix mode: replay and the saved template use it
    if sft.replay.ratio != 0:  # a negative ratio reaches _with_replay and is refused there
        examples, report["replay_examples"] = _with_replay(cfg, io, tokenizer, examples, len(records))
    log.info("sft: %d examples, %d trained tokens", report["examples"], report["trained_tokens"])
    model = load_model(io.model_in, cfg.model, dtype=_train_dtype())
    attention = hardware.apply_flash_attention(model, sft.flash_attention)
    # Packing is WeightedCollator(padding_free=True): TRL refuses any custom collator when its own padding_free
    # flag is set, and ours is TRL's padding-free collator plus the token weights.
    args = SFTConfig(**driver.common_args(sft, io, driver.count_params(model)), max_length=None,
                     padding_free=False, dataset_kwargs={"skip_prepare_dataset": False},
                     loss_type="dft" if sft.loss == "dft" else "nll",
                     train_sampling_strategy="group_by_length" if sft.group_by_length else "random")
    trainer = TrainpipeSFTTrainer(
        model=model, args=args, train_dataset=Dataset.from_list(examples), processing_class=tokenizer,
        peft_config=driver.peft_config(sft.lora), data_collator=WeightedCollator(
            pad_token_id=tokenizer.pad_token_id, padding_free=sft.packing),
        loss=sft.loss, nlirg=vars(sft.nlirg), loss_mode="sft", curriculum=_curriculum(sft), ce_kernel=sft.ce_kernel,
        replay_kl=sft.replay.kl_weight)
    metrics = driver.train(trainer, sft, io, force=io.force)
    kind = driver.save_model(trainer, tokenizer, io.out, sft.merge_adapters)
    return {**report, **metrics, "model_kind": kind, "key_metric": "train_loss", "attention": attention,
            "ce_kernel": trainer.ce_kernel, "precision": "bf16" if args.bf16 else "fp16" if args.fp16 else "fp32",
            "cpu_threads": torch.get_num_threads()}


def _with_replay(cfg: Config, io: StageIO, tokenizer, examples: list[dict], n_records: int) -> tuple[list, int]:
    """The task examples plus replay examples: the starting model's own answers to general prompts."""
    from trainpipe import artifacts
    from trainpipe.pipeline import base_fingerprint
    from trainpipe.training import replay

    rcfg = cfg.sft.replay
    if rcfg.ratio < 0:
        raise UserError(f"sft.replay.ratio: expected a number >= 0; got {rcfg.ratio}")
    if not rcfg.ce and rcfg.kl_weight <= 0:
        raise UserError("sft.replay.ce=false trains replay answers by the KL term alone; set sft.replay.kl_weight > 0")
    if rcfg.kl_weight > 0 and (not cfg.sft.lora.enabled or cfg.sft.packing):  # checked before minutes of generation
        raise UserError("sft.replay.kl_weight > 0 needs sft.lora.enabled=true (the starting model is the model "
                        "with its adapter off) and sft.packing=false (the KL is taken per row)")
    start = io.upstream.get("cpt")
    model_fp = artifacts.read_manifest(start)["fingerprint"] if start else base_fingerprint(cfg)
    n = round(rcfg.ratio * n_records)
    convs = replay.replay_conversations(rcfg, io.model_in, model_fp, n, io.layout.output("collect").parent / "replay",
                                        cfg.model)
    extra = replay.replay_examples(convs, tokenizer, cfg.data.max_length, examples)
    log.info("sft: %d replay examples mixed into %d task examples", len(extra), len(examples))
    if rcfg.kl_weight > 0:  # the trainer takes the KL on rows flagged as replay
        flag = 1 if rcfg.ce else 2  # 2: the collator masks the CE labels, the KL still sees the answer tokens
        return [{**e, "replay": 0} for e in examples] + [{**e, "replay": flag} for e in extra], len(extra)
    return examples + extra, len(extra)


def _curriculum(sft) -> dict | None:
    """Curriculum sampler settings; it replaces group_by_length ordering when on."""
    agent = sft.agent
    return {"start_ratio": agent.start_ratio, "warmup_epochs": agent.warmup_epochs} if agent.curriculum else None


def _train_dtype():
    import torch

    return torch.float32  # master weights stay fp32; autocast supplies bf16 compute where the hardware has it


STAGE = Stage(name="sft", reads=("collect", "cpt"), config_sections=("model", "data.max_length", "data.quality", "sft"),
              run=run, needs_model=True)
