"""sft.loss=nlirg end to end: the trainer's loss is losses.nlirg_loss, and the SFT stage trains with it."""

import math

import torch
from datasets import Dataset
from safetensors.torch import load_file
from trl import SFTConfig

from trainpipe.models.chat import encode_chat
from trainpipe.models.load import build_tiny_random
from trainpipe.pipeline import run_stage
from trainpipe.training import losses
from trainpipe.training.sft_trainer import TrainpipeSFTTrainer, WeightedCollator


def test_compute_loss_is_the_nlirg_loss_of_the_model_logits(tokenizer, tmp_path):
    model = build_tiny_random(tokenizer, seed=3).eval()
    convs = [
        [{"role": "user", "content": "What is 2 + 3?"}, {"role": "assistant", "content": "2 + 3 = 5\nAnswer: 5"}],
        [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue."}],
    ]
    examples = [{"input_ids": e.input_ids, "labels": e.labels} for e in (encode_chat(tokenizer, c) for c in convs)]
    args = SFTConfig(
        output_dir=str(tmp_path), use_cpu=True, report_to=[], max_length=None, bf16=False, remove_unused_columns=False
    )
    trainer = TrainpipeSFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(examples),
        processing_class=tokenizer,
        data_collator=WeightedCollator(pad_token_id=0),
        loss="nlirg",
        nlirg={"high_center": 9.0},
        loss_mode="sft",
    )
    batch = WeightedCollator(pad_token_id=0)([dict(e) for e in examples])
    with torch.no_grad():
        got = trainer.compute_loss(model, dict(batch))
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    want = losses.nlirg_loss(logits, batch["labels"], "sft", high_center=9.0)
    plain = losses.nlirg_loss(logits, batch["labels"], "sft")
    assert torch.isfinite(got) and torch.allclose(got, want, atol=1e-6)
    assert not torch.allclose(got, plain)  # the configured constants reach the loss


def test_sft_stage_trains_with_nlirg(smoke_cfg, tmp_path, monkeypatch):
    modes = []
    real = losses.nlirg_loss
    monkeypatch.setattr(losses, "nlirg_loss", lambda *a, **k: modes.append(a[2]) or real(*a, **k))
    cfg = smoke_cfg(
        "sft.loss=nlirg",
        "sft.max_steps=3",
        "sft.logging_steps=1",
        "sft.learning_rate=5e-3",
        "data.sources=[{kind: task, task: arithmetic, n: 40}]",
    )
    run_stage(cfg, "collect")
    m = run_stage(cfg, "sft")["metrics"]
    assert modes == ["sft"] * 3 and m["steps"] == 3
    assert all(math.isfinite(v) and v > 0 for v in (m["train_loss"], m["first_logged_loss"], m["last_logged_loss"]))
    base = load_file(tmp_path / "models" / "base" / "model.safetensors")
    tuned = load_file(tmp_path / "models" / "sft" / "model.safetensors")
    changed = [k for k in base if not torch.equal(base[k], tuned[k])]
    assert any("q_proj" in k for k in changed) and any("down_proj" in k for k in changed)
