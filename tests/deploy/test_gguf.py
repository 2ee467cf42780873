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
    text = tok.apply_chat_template(
        [{"role": "user", "content": "What is 12 + 7?"}], tokenize=False, add_generation_prompt=True
    )
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


def test_gguf_names_the_pre_tokenizer_llama_cpp_must_split_with(tmp_path):
    """llama.cpp picks its text split from the file's tokenizer.ggml.pre, not from the tokenizer: the name must
    match the tokenizer.json pre-tokenizer (the embedded model's is GPT-2's byte-level regex); a "default" split
    tokenized " 'banana'" differently on every retention prompt. Unknown splits are refused, not guessed."""
    import json

    from gguf import GGUFReader

    from trainpipe.deploy import gguf_export
    from trainpipe.models.load import embedded_tokenizer

    folder = tmp_path / "tok"
    embedded_tokenizer().save_pretrained(folder)
    spec = json.loads((folder / "tokenizer.json").read_text())["pre_tokenizer"]
    assert gguf_export.pre_tokenizer(spec) == "gpt-2"
    digits = {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, spec]}
    assert gguf_export.pre_tokenizer(digits) == "smollm"
    llama3 = {
        "type": "Sequence",
        "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": gguf_export.LLAMA3_SPLIT}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        ],
    }
    assert gguf_export.pre_tokenizer(llama3) == "llama-bpe"
    with pytest.raises(UserError, match="no llama.cpp counterpart"):
        gguf_export.pre_tokenizer({"type": "Metaspace", "replacement": "▁"})

    out = tmp_path / "m.gguf"
    gguf_export.write(_tiny_release(tmp_path), out, "f16", "t")
    field = GGUFReader(out).fields["tokenizer.ggml.pre"]
    assert bytes(field.parts[field.data[0]]).decode() == "gpt-2"


def _tiny_release(tmp_path):
    from trainpipe.models.load import build_tiny_random, embedded_tokenizer

    folder = tmp_path / "release"
    tok = embedded_tokenizer()
    build_tiny_random(tok, 0).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
