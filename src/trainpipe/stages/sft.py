"""SFT stage: TRL SFTTrainer (LoRA or full) on the collect stage's conversations, loss on assistant tokens only.

Reads data_cache/collect/sft and the previous model (CPT or base); writes models/sft/ and checkpoints/sft/.
"""

from __future__ import annotations

import logging

from trainpipe import artifacts
from trainpipe.config import Config, SftConfig
from trainpipe.data.store import has_use, load_split
from trainpipe.errors import UserError
from trainpipe.stages import Stage, StageIO

log = logging.getLogger("trainpipe.sft")


def run(cfg: Config, io: StageIO) -> dict:
    import torch
    from datasets import Dataset
    from trl import SFTConfig

    from trainpipe.models import hardware
    from trainpipe.models.load import load_model, load_tokenizer
    from trainpipe.training import driver, scores
    from trainpipe.training.sft_data import build_examples
    from trainpipe.training.sft_trainer import TrainpipeSFTTrainer, WeightedCollator

    sft = cfg.sft
    if sft.loss == "dft" and sft.agent.step_weights:
        raise UserError("sft.loss=dft takes no token weights (sft.agent.step_weights=true); use sft.loss=ce")
    tokenizer = load_tokenizer(io.model_in, cfg.model)
    records = load_split(io.upstream["collect"], "sft", "train")
    held_back = []
    if sft.select.enabled:  # dev task prompts for checkpoint selection, taken out of training
        records, held_back = _hold_back(cfg, io.upstream["collect"], records)
    if cfg.data.quality.score:
        from trainpipe.training.quality import screen

        records = screen(records, io.model_in, tokenizer, cfg, io.logs / "quality.jsonl")
    examples, report = build_examples(records, tokenizer, sft, cfg.data.max_length, cfg.data.on_bad_record)
    scores.serve_top_score(tokenizer, sft.score, report)  # prefix mode: replay and the saved template use it
    if sft.replay.ratio != 0:  # a negative ratio reaches _with_replay and is refused there
        examples, report["replay_examples"] = _with_replay(cfg, io, tokenizer, examples, len(records))
    log.info("sft: %d examples, %d trained tokens", report["examples"], report["trained_tokens"])
    model = load_model(io.model_in, cfg.model, dtype=_train_dtype(), quantize=driver.quantize_for(sft.lora, "sft"))
    attention = hardware.apply_flash_attention(model, sft.flash_attention)
    # Packing is WeightedCollator(padding_free=True): TRL refuses any custom collator when its own padding_free
    # flag is set, and ours is TRL's padding-free collator plus the token weights.
    args = SFTConfig(
        **driver.common_args(sft, io, driver.count_params(model)),
        max_length=None,
        padding_free=False,
        dataset_kwargs={"skip_prepare_dataset": False},
        loss_type="dft" if sft.loss == "dft" else "nll",
        train_sampling_strategy="group_by_length" if sft.group_by_length else "random",
    )
    trainer = TrainpipeSFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(examples),
        processing_class=tokenizer,
        peft_config=driver.peft_config(sft.lora),
        data_collator=WeightedCollator(pad_token_id=tokenizer.pad_token_id, padding_free=sft.packing),
        loss=sft.loss,
        nlirg=vars(sft.nlirg),
        loss_mode="sft",
        curriculum=_curriculum(sft),
        ce_kernel=sft.ce_kernel,
        replay_kl=sft.replay.kl_weight,
    )
    if sft.select.enabled and trainer.accelerator.num_processes > 1:
        raise UserError(
            "sft.select scores checkpoints in one process; run SFT without accelerate launch or set "
            "sft.select.enabled=false"
        )
    # Every SFT forward (task CE, the replay KL's adapter-off pass) runs under the trainer's autocast.
    frozen_bf16 = driver.frozen_in_bf16(trainer, sft.lora.enabled)
    metrics = driver.train(trainer, sft, io, force=io.force, keep_all=sft.select.enabled)
    if sft.select.enabled:
        metrics["selection"] = _select(cfg, io, trainer, held_back)
    kind = driver.save_model(trainer, tokenizer, io.out, sft.merge_adapters)
    return {
        **report,
        **metrics,
        "model_kind": kind,
        "key_metric": "train_loss",
        "attention": attention,
        "ce_kernel": trainer.ce_kernel,
        "precision": "bf16" if args.bf16 else "fp16" if args.fp16 else "fp32",
        "cpu_threads": torch.get_num_threads(),
        "base_quantized": driver.quantized_bits(model),
        "bf16_frozen_weights": frozen_bf16,
    }


def _with_replay(cfg: Config, io: StageIO, tokenizer, examples: list[dict], n_records: int) -> tuple[list, int]:
    """The task examples plus replay examples: the starting model's own answers to general prompts."""
    from trainpipe.training import replay

    rcfg = cfg.sft.replay
    if rcfg.ratio < 0:
        raise UserError(f"sft.replay.ratio: expected a number >= 0; got {rcfg.ratio}")
    if not rcfg.ce and rcfg.kl_weight <= 0:
        raise UserError("sft.replay.ce=false trains replay answers by the KL term alone; set sft.replay.kl_weight > 0")
    if rcfg.kl_weight > 0 and (not cfg.sft.lora.enabled or cfg.sft.packing):  # checked before minutes of generation
        raise UserError(
            "sft.replay.kl_weight > 0 needs sft.lora.enabled=true (the starting model is the model "
            "with its adapter off) and sft.packing=false (the KL is taken per row)"
        )
    model_fp = _start_fingerprint(cfg, io)
    n = round(rcfg.ratio * n_records)
    convs = replay.replay_conversations(
        rcfg, io.model_in, model_fp, n, io.upstream["collect"].parent / "replay", cfg.model
    )
    extra = replay.replay_examples(convs, tokenizer, cfg.data.max_length, examples)
    log.info("sft: %d replay examples mixed into %d task examples", len(extra), len(examples))
    if rcfg.kl_weight > 0:  # the trainer takes the KL on rows flagged as replay
        flag = 1 if rcfg.ce else 2  # 2: the collator masks the CE labels, the KL still sees the answer tokens
        return [{**e, "replay": 0} for e in examples] + [{**e, "replay": flag} for e in extra], len(extra)
    return examples + extra, len(extra)


def _hold_back(cfg: Config, collect_dir, records):
    """sft.select: `task_items` training prompts of the evaluate.tasks families (a stable hash order of their ids)
    become the dev task suite, and the SFT records sharing their ids (a generated task's gold answers) leave
    training, so the checkpoint choice is made on items no checkpoint has seen."""
    from trainpipe.evaluation.suites import task_item

    n, tasks = cfg.sft.select.task_items, set(cfg.evaluate.tasks)
    prompts = load_split(collect_dir, "prompts", "train") if has_use(collect_dir, "prompts") else []
    pool = sorted((r for r in prompts if r["task"] in tasks), key=lambda r: artifacts.fingerprint("select", r["id"]))
    if n < 1 or not pool:
        raise UserError(
            f"sft.select.task_items: expected >= 1 held-back prompts of evaluate.tasks "
            f"({', '.join(sorted(tasks)) or 'none listed'}); got {n} of {len(pool)} available"
        )
    held = [task_item(r) for r in pool[:n]]
    ids = {r["id"] for r in held}
    keep = [i for i, rid in enumerate(records["id"]) if rid not in ids]
    log.info(
        "sft: select: %d task prompts held back as the dev task (%d SFT records leave training)",
        len(held),
        len(records) - len(keep),
    )
    return records.select(keep), held


def _select(cfg: Config, io: StageIO, trainer, held_back: list[dict]) -> dict:
    """Score every complete checkpoint on the dev suites; load the chosen one's weights into the trainer's model
    (the final weights stay when no checkpoint keeps every dev suite, and evaluate's gate then decides)."""
    from trainpipe.evaluation.selection import select_checkpoint
    from trainpipe.training.checkpoints import list_checkpoints

    found = {f"step-{step}": path for step, path, ok in list_checkpoints(io.checkpoints) if ok}
    out = select_checkpoint(
        cfg,
        (io.model_in, _start_fingerprint(cfg, io)),
        found,
        held_back,
        io.upstream["collect"],
        io.logs / "select_cache",
    )
    if out["chosen"] is None:
        log.warning(
            "sft: select: no checkpoint keeps every dev suite against the starting model; the final "
            "weights are published and evaluate's gate decides"
        )
    else:
        log.info("sft: select: publishing %s", out["chosen"])
        trainer._load_from_checkpoint(str(found[out["chosen"]]))
    return out


def _start_fingerprint(cfg: Config, io: StageIO) -> str:
    """The fingerprint of the model SFT starts from: the CPT output's, else the base model's."""
    from trainpipe.models.load import base_fingerprint

    start = io.upstream.get("cpt")
    return artifacts.read_manifest(start)["fingerprint"] if start else base_fingerprint(cfg.model)


def _curriculum(sft: SftConfig) -> dict | None:
    """Curriculum sampler settings; it replaces group_by_length ordering when on."""
    agent = sft.agent
    return {"start_ratio": agent.start_ratio, "warmup_epochs": agent.warmup_epochs} if agent.curriculum else None


def _train_dtype():
    import torch

    return torch.float32  # master weights stay fp32; autocast supplies bf16 compute where the hardware has it


STAGE = Stage(
    name="sft",
    reads=("collect", "cpt"),
    config_sections=("model", "data.max_length", "data.quality", "sft"),
    run=run,
    output="models/sft",
    script="3_train_sft.py",
    needs_model=True,
    trains=True,
    tracked=True,
)
