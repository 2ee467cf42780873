import random
import shutil

import pytest
import torch
from safetensors.torch import load_file

from trainpipe import artifacts
from trainpipe.errors import UserError
from trainpipe.pipeline import model_source, run_stage
from trainpipe.training import losses

MODEL_FILES = {
    "chat_template.jinja",
    "config.json",
    "generation_config.json",
    "manifest.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
}


def _corpus(path):
    """Blank-line separated documents of made-up words: no shared 13-grams, so the contamination check passes."""
    rng = random.Random(0)
    words = [a + b + c for a in "bcdfgklmnprstvz" for b in "aeiou" for c in ("n", "r", "s", "ta", "mo")]
    docs = [" ".join(rng.choice(words) for _ in range(rng.randint(5, 30))) for _ in range(40)]
    path.write_text("\n\n".join(docs) + "\n")
    return path


def _cfg(smoke_cfg, tmp_path, *extra):
    return smoke_cfg(
        f"data.sources=[{{kind: task, task: arithmetic, n: 40}}, {{path: {_corpus(tmp_path / 'c.txt')}}}]",
        "cpt.enabled=true",
        "cpt.max_length=32",
        "cpt.batch_size=4",
        "cpt.learning_rate=5e-3",
        "cpt.max_steps=4",
        "cpt.save_steps=2",
        "cpt.logging_steps=1",
        *extra,
    )


def test_cpt_trains_publishes_and_feeds_sft(smoke_cfg, tmp_path):
    cfg = _cfg(smoke_cfg, tmp_path)
    run_stage(cfg, "collect")
    manifest = run_stage(cfg, "cpt")
    out = tmp_path / "models" / "cpt"
    assert {p.name for p in out.iterdir()} == MODEL_FILES
    m = manifest["metrics"]
    assert m["steps"] == 4 and m["model_kind"] == "merged" and m["attention_packing"] == "per-row block-diagonal mask"
    assert m["documents"] > 20 and m["eval_documents"] > 0 and m["rows"] < m["documents"]
    assert m["eval_perplexity_after"] < m["eval_perplexity_before"]  # the made-up vocabulary is quickly learned
    base = load_file(tmp_path / "models" / "base" / "model.safetensors")
    tuned = load_file(out / "model.safetensors")
    assert any("q_proj" in k and not torch.equal(base[k], tuned[k]) for k in base)
    assert any((tmp_path / "checkpoints" / "cpt").glob("checkpoint-*/COMPLETE"))
    assert model_source(cfg, "sft") == "cpt"
    sft = run_stage(_cfg(smoke_cfg, tmp_path, "sft.max_steps=1"), "sft")
    assert sft["model_in"] == "cpt" and sft["upstream"]["cpt"] == manifest["fingerprint"]


def test_cpt_nlirg_full_finetune_resumes_to_the_same_weights(smoke_cfg, tmp_path, monkeypatch):
    calls = []
    real = losses.nlirg_loss
    monkeypatch.setattr(losses, "nlirg_loss", lambda *a, **k: calls.append(a[2]) or real(*a, **k))
    cfg = _cfg(smoke_cfg, tmp_path, "cpt.loss=nlirg", "cpt.lora.enabled=false")
    run_stage(cfg, "collect")
    first = run_stage(cfg, "cpt")["metrics"]
    assert first["model_kind"] == "full" and set(calls) == {"cpt"} and len(calls) >= 4
    assert all(torch.isfinite(torch.tensor(v)) for v in (first["train_loss"], first["last_logged_loss"]))
    out = tmp_path / "models" / "cpt"
    done = load_file(out / "model.safetensors")
    # Simulate a crash after checkpoint-2: nothing published, the last checkpoint never written.
    shutil.rmtree(out)
    shutil.rmtree(tmp_path / "checkpoints" / "cpt" / "checkpoint-4")
    again = run_stage(cfg, "cpt")["metrics"]
    assert again["resumed_from"].endswith("checkpoint-2") and again["steps"] == 4
    resumed = load_file(out / "model.safetensors")
    assert all(torch.allclose(done[k], resumed[k], atol=1e-5) for k in done)
    assert artifacts.read_manifest(out)["metrics"]["eval_perplexity_before"] == first["eval_perplexity_before"]


def test_cpt_without_text_records_says_what_to_add(smoke_cfg, tmp_path):
    cfg = smoke_cfg("cpt.enabled=true", "cpt.max_steps=1")
    run_stage(cfg, "collect")
    with pytest.raises(UserError, match="no cpt records"):
        run_stage(cfg, "cpt")
