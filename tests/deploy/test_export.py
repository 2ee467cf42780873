"""Release export on the tiny random model: merge equals base+adapter, sharding, dtype, ids, verification."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

from trainpipe.config import ModelConfig
from trainpipe.deploy import export
from trainpipe.errors import UserError


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory, tokenizer):
    from trainpipe.models.load import build_tiny_random

    folder = tmp_path_factory.mktemp("base")
    build_tiny_random(tokenizer, seed=0).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def adapter_dir(tmp_path_factory, base_dir):
    """A LoRA adapter with random (non-zero) B matrices, so merging visibly changes the outputs."""
    from peft import LoraConfig, get_peft_model

    folder = tmp_path_factory.mktemp("adapter")
    torch.manual_seed(1)
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    peft = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False))
    peft.save_pretrained(folder)
    return folder


def logits(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits


IDS = torch.tensor([[1, 504, 2015, 17, 88, 903, 2, 12, 44]])


def test_merged_release_matches_base_plus_adapter(base_dir, adapter_dir, tokenizer, tmp_path):
    from peft import PeftModel

    reference = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32), str(adapter_dir)
    )
    base_logits = logits(AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32), IDS)
    ref_logits = logits(reference, IDS)
    assert (ref_logits - base_logits).abs().max() > 1e-3  # the adapter matters, so equality below means something

    model = export.load_source(adapter_dir, {"base": base_dir}, ModelConfig(base=str(base_dir)))
    assert isinstance(model, PeftModel)
    info = export.export_merged(model, tokenizer, tmp_path / "out", torch.float32, "2GB")

    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "out", dtype=torch.float32)
    torch.testing.assert_close(logits(merged, IDS), ref_logits, atol=1e-5, rtol=0)
    assert info["shards"] == 1 and len(info["probe"].tokens) == export.VERIFY_TOKENS
    assert not any("lora" in k for k in load_file(tmp_path / "out" / "model.safetensors"))
    gen = json.loads((tmp_path / "out" / "generation_config.json").read_text())
    assert (gen["eos_token_id"], gen["pad_token_id"]) == (tokenizer.eos_token_id, tokenizer.pad_token_id)
    assert json.loads((tmp_path / "out" / "config.json").read_text())["use_cache"] is True
    assert (tmp_path / "out" / "chat_template.jinja").read_text() == tokenizer.chat_template
    assert "local_files_only" not in json.loads((tmp_path / "out" / "tokenizer_config.json").read_text())


def test_sharded_bfloat16_release(base_dir, tokenizer, tmp_path):
    model = export.load_source(base_dir, {}, ModelConfig(base=str(base_dir)))
    info = export.export_merged(model, tokenizer, tmp_path, torch.bfloat16, "2MB")

    shards = sorted(p.name for p in tmp_path.glob("*.safetensors"))
    assert info["shards"] == len(shards) >= 2 and "model.safetensors" not in shards
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert sorted(set(index["weight_map"].values())) == shards
    assert json.loads((tmp_path / "config.json").read_text())["dtype"] == "bfloat16"
    assert all(t.dtype == torch.bfloat16 for s in shards for t in load_file(tmp_path / s).values())


def test_adapter_release_points_at_the_hub_base(base_dir, adapter_dir, tokenizer, tmp_path):
    from peft import PeftModel

    model = export.load_source(adapter_dir, {"base": base_dir}, ModelConfig(base=str(base_dir)))
    ref_logits = logits(model, IDS)
    reloaded = export.export_adapter(model, tokenizer, tmp_path, "org/base-model", with_tokenizer=True)

    assert isinstance(reloaded, PeftModel)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "adapter_config.json",
        "adapter_model.safetensors",
        "chat_template.jinja",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    assert json.loads((tmp_path / "adapter_config.json").read_text())["base_model_name_or_path"] == "org/base-model"
    torch.testing.assert_close(logits(reloaded, IDS), ref_logits, atol=1e-6, rtol=0)


@pytest.fixture(scope="module")
def released(tmp_path_factory, base_dir, tokenizer):
    """The base model exported as float32, with the probe taken from the in-memory model."""
    out = tmp_path_factory.mktemp("released")
    model = export.load_source(base_dir, {}, ModelConfig(base=str(base_dir)))
    return out, export.export_merged(model, tokenizer, out, torch.float32, "2GB")["probe"]


@pytest.mark.parametrize(
    "tamper, same_tokens",
    [
        (lambda k, v: v * 1.05 if k == "model.norm.weight" else v, True),  # slight: only the logits move
        (lambda k, v: -v if k == "model.norm.weight" else v, False),  # gross: other greedy tokens
    ],
)
def test_verification_catches_a_folder_that_differs_from_memory(released, tmp_path, tamper, same_tokens):
    folder, expected = released
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)
    export.verify_merged(tmp_path, torch.float32, expected)  # the untouched copy passes

    weights = load_file(tmp_path / "model.safetensors")
    save_file({k: tamper(k, v) for k, v in weights.items()}, tmp_path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(export.VerificationError, match="reloaded model generated") as err:
        export.verify_merged(tmp_path, torch.float32, expected)
    assert (str(err.value).count(str(expected.tokens)) == 2) == same_tokens


def test_adapter_base_from_manifest_or_adapter_config(adapter_dir, base_dir, tmp_path):
    assert export.adapter_base(adapter_dir, {}) == base_dir  # recorded path (exists locally)
    (adapter_dir / "manifest.json").write_text(json.dumps({"fingerprint": "f", "model_in": "cpt"}))
    try:
        assert export.adapter_base(adapter_dir, {"cpt": tmp_path}) == tmp_path  # the stage's input model wins
    finally:
        (adapter_dir / "manifest.json").unlink()
    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    moved = tmp_path / "moved"
    moved.mkdir()
    (moved / "adapter_config.json").write_text(json.dumps({**config, "base_model_name_or_path": "/gone"}))
    with pytest.raises(UserError, match="cannot find the base model"):
        export.adapter_base(moved, {})


def test_quantised_base_is_never_merged_into(adapter_dir, base_dir, monkeypatch):
    import trainpipe.models.load as load

    real = load.load_model

    def quantised(*args, **kwargs):
        model = real(*args, **kwargs)
        model.config.quantization_config = {"quant_method": "bitsandbytes", "load_in_4bit": True}
        return model

    monkeypatch.setattr(load, "load_model", quantised)
    with pytest.raises(UserError, match="quantised.*deploy.format=adapter"):
        export.load_source(adapter_dir, {"base": base_dir}, ModelConfig(base=str(base_dir)))


def test_release_dtype(base_dir, tmp_path):
    assert export.release_dtype("auto", base_dir) == torch.float32  # tiny-random is published in float32
    config = json.loads((base_dir / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "dtype": "bfloat16"}))
    assert export.release_dtype("auto", tmp_path) == torch.bfloat16
    assert export.release_dtype("float16", base_dir) == torch.float16
