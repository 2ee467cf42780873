"""GGUF export (deploy.gguf), read back by transformers' own GGUF loader: f16 logits equal the released
safetensors model's within f16 rounding, q8_0 within its quantization error, tokenizer and chat template intact."""
import shutil

import pytest
import torch

from trainpipe.errors import UserError
from trainpipe.pipeline import run_stage

ONLY_DEPLOY = ("sft.enabled=false", "evaluate.enabled=false")


def test_release_writes_gguf_files_that_transformers_reads_back(smoke_cfg, tmp_path, one_thread):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    result = run_stage(smoke_cfg(*ONLY_DEPLOY, "deploy.gguf=[f16,q8_0]", "deploy.dtype=float32"), "deploy")
    final = tmp_path / "models" / "final"
    assert result["metrics"]["gguf"] == ["trainpipe-base-f16.gguf", "trainpipe-base-q8_0.gguf"]
    ref = AutoModelForCausalLM.from_pretrained(final, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(final)
    text = tok.apply_chat_template([{"role": "user", "content": "What is 12 + 7?"}], tokenize=False,
                                   add_generation_prompt=True)
    ids = tok(text, return_tensors="pt").input_ids
    with torch.no_grad():
        expected = ref(ids).logits
    for name, tolerance in (("trainpipe-base-f16.gguf", 2e-3), ("trainpipe-base-q8_0.gguf", 5e-2)):
        alone = tmp_path / "gguf" / name  # the file alone, as llama.cpp users get it (no tokenizer files beside it)
        alone.parent.mkdir(exist_ok=True)
        shutil.copy2(final / name, alone)
        model = AutoModelForCausalLM.from_pretrained(alone.parent, gguf_file=name, dtype=torch.float32)
        gguf_tok = AutoTokenizer.from_pretrained(alone.parent, gguf_file=name)
        assert torch.equal(gguf_tok(text, return_tensors="pt").input_ids, ids)
        assert gguf_tok.eos_token_id == tok.eos_token_id and gguf_tok.chat_template == tok.chat_template
        with torch.no_grad():
            got = model(ids).logits
        scale = expected.abs().max().item()
        assert (got - expected).abs().max().item() < tolerance * scale + 1e-4, name
        if "f16" in name:
            assert torch.equal(got.argmax(-1), expected.argmax(-1))
    card = (final / "README.md").read_text()
    assert "## GGUF" in card and "| trainpipe-base-q8_0.gguf | q8_0 |" in card


def test_bad_gguf_settings_are_refused_before_anything_is_built(smoke_cfg, tmp_path):
    with pytest.raises(UserError, match="unknown type 'q4_k'"):
        run_stage(smoke_cfg(*ONLY_DEPLOY, "deploy.gguf=[q4_k]"), "deploy")
    with pytest.raises(UserError, match="deploy.gguf converts merged weights"):
        run_stage(smoke_cfg(*ONLY_DEPLOY, "deploy.gguf=[f16]", "deploy.format=adapter"), "deploy")
    assert not (tmp_path / "models" / "final").exists()
