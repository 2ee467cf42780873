"""CPT stage: continued pretraining (causal LM, LoRA or full) on the collect stage's `cpt` texts, packed per document.

Reads data_cache/collect/cpt and the base model; writes models/cpt/ and checkpoints/cpt/, with held-out
perplexity before and after training in the manifest.
"""

from __future__ import annotations

import logging
from pathlib import Path

from trainpipe.config import Config
from trainpipe.data.store import SPLITS, has_use, load_split
from trainpipe.errors import UserError
from trainpipe.stages import Stage, StageIO

log = logging.getLogger("trainpipe.cpt")


def run(cfg: Config, io: StageIO) -> dict:
    import torch
    from trl import SFTConfig

    from trainpipe.models.load import load_model, load_tokenizer
    from trainpipe.training import driver, packing
    from trainpipe.training.sft_trainer import TrainpipeSFTTrainer

    cpt = cfg.cpt
    tokenizer = load_tokenizer(io.model_in, cfg.model)
    train, held, report = _packed_splits(io.upstream["collect"], tokenizer, cpt.max_length, cpt.packing)
    log.info("cpt: %d documents in %d rows of <= %d tokens", report["documents"], report["rows"], cpt.max_length)
    # fp32 master weights, as in SFT; the trainer's autocast supplies bf16 compute where the hardware has it.
    model = load_model(io.model_in, cfg.model, dtype=torch.float32, quantize=driver.quantize_for(cpt.lora, "cpt"))
    collator = packing.collator_for(model, tokenizer.pad_token_id, cpt.packing)
    before = packing.perplexity(model, held, collator, cpt.batch_size)
    # TRL refuses a custom collator in padding-free mode and builds that same collator itself.
    flat = bool(getattr(collator, "padding_free", False))
    args = SFTConfig(
        **driver.common_args(cpt, io, driver.count_params(model)),
        max_length=None,
        padding_free=flat,
        dataset_kwargs={"skip_prepare_dataset": True},
        loss_type="dft" if cpt.loss == "dft" else "nll",
    )
    trainer = TrainpipeSFTTrainer(
        model=model,
        args=args,
        train_dataset=train,
        processing_class=tokenizer,
        peft_config=driver.peft_config(cpt.lora),
        data_collator=None if flat else collator,
        loss=cpt.loss,
        nlirg=vars(cpt.nlirg),
        loss_mode="cpt",
    )
    metrics = driver.train(trainer, cpt, io, force=io.force)
    after = packing.perplexity(trainer.model, held, collator, cpt.batch_size)
    log.info("cpt: held-out perplexity %s -> %s", _fmt(before), _fmt(after))
    kind = driver.save_model(trainer.model, tokenizer, io.out, cpt.merge_adapters)
    return {
        **report,
        **metrics,
        "model_kind": kind,
        "eval_perplexity_before": _round(before),
        "eval_perplexity_after": _round(after),
        "attention_packing": _packing_kind(cpt.packing, flat),
        "key_metric": "eval_perplexity_after" if after is not None else "train_loss",
    }


def _packed_splits(collect_dir: Path, tokenizer, max_length: int, pack: bool):
    """(train rows, eval rows or None, counts) from data_cache/collect/cpt."""
    from trainpipe.training.packing import pack_documents, tokenize_documents

    folder = Path(collect_dir) / "cpt"
    if not has_use(collect_dir, "cpt"):
        raise UserError(
            "cpt.enabled is true but the collect stage produced no cpt records; add a text or cpt source "
            "to data.sources (e.g. {path: corpus.txt}) or set cpt.enabled=false"
        )
    splits = {name: load_split(collect_dir, "cpt", name) for name in SPLITS}
    docs = tokenize_documents(splits["train"]["text"], tokenizer)
    if not docs:
        raise UserError(f"{folder}: the cpt train split holds no non-empty text")
    train = pack_documents(docs, max_length, pack)
    held_docs = tokenize_documents(splits["eval"]["text"], tokenizer)
    held = pack_documents(held_docs, max_length, pack) if held_docs else None
    # "length" (token count), not "tokens": manifest redaction blanks every key that names a token.
    report = {
        "documents": len(docs),
        "rows": len(train),
        "train_length": sum(len(d) for d in docs),
        "eval_documents": len(held_docs),
        "eval_length": sum(len(d) for d in held_docs),
    }
    return train, held, report


def _packing_kind(pack: bool, flat: bool) -> str:
    if not pack:
        return "none"
    return "flattened (varlen kernel)" if flat else "per-row block-diagonal mask"


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


STAGE = Stage(
    name="cpt",
    reads=("collect",),
    config_sections=("model", "cpt"),
    run=run,
    output="models/cpt",
    script="2_train_cpt.py",
    needs_model=True,
    trains=True,
    tracked=True,
)
