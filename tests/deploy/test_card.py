"""Model card: metadata and model-index read back by huggingface_hub, training summary, no secrets."""

from __future__ import annotations

from huggingface_hub import ModelCard

from trainpipe.deploy import card

TOKEN = "hf_CardTestTokenAbcdefghijklmnopq12"

METRICS = {
    "schema_version": 2,
    "level": 0.8,
    "results": {
        "base": {"arithmetic": {"kind": "task", "n": 16, "mean": 0.125, "std": 0.33, "lo": 0.03, "hi": 0.29}},
        "sft": {
            "arithmetic": {"kind": "task", "n": 16, "mean": 0.4375, "std": 0.5, "lo": 0.27, "hi": 0.61},
            "sat": {"kind": "task", "n": 8, "mean": 0.25, "std": 0.43, "lo": 0.08, "hi": 0.5},
            "retention_text_test": {
                "kind": "text",
                "n": 16,
                "mean": -10.6,
                "lo": -10.7,
                "hi": -10.5,
                "perplexity": 41974.21719,
            },
            "env:grid": {"kind": "environment", "n": 20, "mean": 0.85, "lo": 0.71, "hi": 0.93, "mean_return": 0.9},
        },
    },
}

MANIFESTS = {
    "collect": {
        "fingerprint": "c0",
        "seconds": 4.4,
        "metrics": {"records": 240, "counts": {"sft": {"train": 100, "eval": 20}}},
        "config": {
            "data": {
                "sources": [
                    {"kind": "task", "task": "arithmetic", "path": None},
                    {"kind": "datasets", "path": "org/chat-data"},
                    {"kind": "file", "path": "/home/me/private/chats.jsonl"},
                    {"kind": "environment", "environment": "grid", "path": None},
                ]
            }
        },
    },
    "sft": {
        "fingerprint": "s1",
        "seconds": 60.8,
        "model_in": "base",
        "versions": {"peft": "0.21.2"},
        "metrics": {"examples": 100, "steps": 13, "train_loss": 10.7055, "trained_tokens": "***REDACTED***"},
        "config": {
            "sft": {
                "learning_rate": 0.001,
                "epochs": 1.0,
                "max_steps": -1,
                "batch_size": 8,
                "grad_accum": 1,
                "loss": "ce",
                "lora": {"enabled": True, "r": 16, "alpha": 32},
                "note": f"token {TOKEN}",
            }
        },
    },
    "evaluate": {"fingerprint": "e2", "seconds": 13.9, "metrics": {}},
}


def test_card_metadata_reads_back_with_model_index(smoke_cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    cfg = smoke_cfg("deploy.repo_id=me/tiny-sft", "deploy.license=mit", "deploy.base_model=me/tiny-base")
    path = card.write_card(tmp_path, cfg, "sft", "merged", "float32", MANIFESTS, METRICS)

    data = ModelCard.load(path).data
    assert data.base_model == "me/tiny-base"
    assert (data.license, data.pipeline_tag, data.library_name) == ("mit", "text-generation", "transformers")
    assert data.tags == ["trainpipe", "sft", "lora"]
    assert data.datasets == ["org/chat-data"]
    assert data.model_name == "tiny-sft"
    assert [(r.dataset_type, r.metric_type, r.metric_value) for r in data.eval_results] == [
        ("arithmetic", "accuracy", 0.4375),
        ("sat", "accuracy", 0.25),
        ("retention_text_test", "perplexity", 41974.2172),
        ("env:grid", "success rate", 0.85),
    ]


def test_card_body_explains_training_and_hides_secrets(smoke_cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    text = (card.write_card(tmp_path, smoke_cfg(), "sft", "both", "bfloat16", MANIFESTS, METRICS)).read_text()

    assert (
        "| collect | sources: arithmetic, org/chat-data, chats.jsonl, grid episodes | sft: 100 train / 20 eval | 240 records | 4.4 s |"
        in text
    )
    assert (
        "| sft (from base) | LoRA r=16 alpha=32, lr 0.001, epochs 1.0, batch 8, grad_accum 1, loss ce "
        "| examples 100 | steps 13, train loss 10.7055 | 60.8 s |"
    ) in text
    assert "| sft | arithmetic | accuracy 0.438 | [0.270, 0.610] | 16 |" in text
    assert "| sft | retention_text_test | perplexity 41974.22 | – | 16 |" in text
    assert "| sft | env:grid | success 0.850 | [0.710, 0.930] | 20 |" in text
    assert 'subfolder="adapter"' in text and "bfloat16 safetensors" in text
    assert "REDACTED" not in text.split("## Reproducibility")[0]  # redacted metrics are left out, not printed
    assert TOKEN not in text and "/home/me" not in text


def test_card_without_evaluation_or_training(smoke_cfg, tmp_path):
    path = card.write_card(tmp_path, smoke_cfg(), "base", "merged", "float32", {}, None)
    data = ModelCard.load(path).data
    assert data.base_model is None  # "tiny-random" is no Hub repo id, which the Hub would reject
    assert data.eval_results is None and data.tags == ["trainpipe"]
    assert "The base model `tiny-random` without further training" in path.read_text()
    assert "Not evaluated" in path.read_text()


def test_base_model_id(smoke_cfg, tmp_path):
    assert card.base_model_id(smoke_cfg("model.base=smollm2-135m-instruct")) == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert card.base_model_id(smoke_cfg("model.base=Qwen/Qwen3-0.6B")) == "Qwen/Qwen3-0.6B"
    (tmp_path / "my-base").mkdir()
    assert card.base_model_id(smoke_cfg(f"model.base={tmp_path / 'my-base'}")) == "my-base"
