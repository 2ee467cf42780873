"""Build the release folder: LoRA merged into full-precision base weights and/or the adapter alone, then verified.

Reads a model stage's folder (full model or PEFT adapter) and the folders of the models beneath it;
writes safetensors (sharded), config, generation config and tokenizer with its chat template.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path

import torch

from trainpipe import artifacts
from trainpipe.config import ModelConfig
from trainpipe.errors import UserError
from trainpipe.models.chat import render

log = logging.getLogger("trainpipe.deploy")
ADAPTER_CONFIG = "adapter_config.json"
VERIFY_PROMPT = "What is 12 + 30? Answer with a number."
VERIFY_TOKENS = 16
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
# Flags recorded at load time that would wrongly constrain whoever loads the published tokenizer.
LOAD_TIME_KEYS = ("is_local", "local_files_only")


class VerificationError(RuntimeError):
    """The folder on disk does not reproduce the in-memory model: an internal failure, never published."""


def is_adapter(folder: Path | str) -> bool:
    return os.path.isfile(os.path.join(str(folder), ADAPTER_CONFIG))


def adapter_base(folder: Path, models: dict[str, Path | str | None]) -> Path | str:
    """The model an adapter was trained on: its stage's input model, else the path in adapter_config.json."""
    manifest = artifacts.read_manifest(folder) or {}
    stage_in = manifest.get("model_in")
    if stage_in and models.get(stage_in) is not None:
        return models[stage_in]
    recorded = json.loads((Path(folder) / ADAPTER_CONFIG).read_text()).get("base_model_name_or_path")
    if recorded and os.path.isdir(recorded):
        return Path(recorded)
    raise UserError(
        f"{folder}: cannot find the base model of this adapter (stage input {stage_in!r}, "
        f"adapter_config.json base_model_name_or_path {recorded!r}); run the upstream stages again"
    )


def load_source(folder: Path | str, models: dict, mcfg: ModelConfig):
    """The source model in float32: a PeftModel when `folder` is an adapter (its base merged recursively if
    that is an adapter too), else the full model."""
    from peft import PeftModel

    from trainpipe.models.load import load_model

    if not is_adapter(folder):
        return load_model(folder, mcfg, dtype=torch.float32)
    base = load_source(adapter_base(Path(folder), models), models, mcfg)
    if isinstance(base, PeftModel):
        base = base.merge_and_unload()
    if getattr(base.config, "quantization_config", None):
        # Merging into quantised weights rounds the LoRA delta away; the merge must happen in full precision.
        raise UserError(
            f"{folder}: the base model is quantised; set deploy.format=adapter to ship the adapter "
            "alone, or use an unquantised base model"
        )
    return PeftModel.from_pretrained(base, str(folder), is_trainable=False)


def release_dtype(choice: str, base: Path | str) -> torch.dtype:
    """deploy.dtype, where auto means the dtype recorded in the base model's config (float32 if none)."""
    if choice != "auto":
        return DTYPES[choice]
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(base), local_files_only=os.path.isdir(str(base)))
    recorded = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
    if isinstance(recorded, str):
        recorded = DTYPES.get(recorded)
    return recorded if recorded in DTYPES.values() else torch.float32


def cast_weights(model, dtype: torch.dtype) -> None:
    """Cast parameters only: model.to(dtype) would also cast the float32 buffers (rotary inv_freq) that
    from_pretrained keeps in float32, and the in-memory model would then differ from what users load."""
    for param in model.parameters():
        param.data = param.data.to(dtype)
    model.config.dtype = dtype


def set_generation_ids(model, tokenizer) -> None:
    """eos = the tokenizer's eos (ends a chat turn), pad = its pad or else eos, in both configs."""
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    for conf in (model.generation_config, model.config):
        conf.eos_token_id, conf.pad_token_id = eos, pad
        if tokenizer.bos_token_id is not None:
            conf.bos_token_id = tokenizer.bos_token_id
    model.config.use_cache = True  # training turns the KV cache off; inference wants it back


@dataclasses.dataclass
class Probe:
    """What the saved folder must reproduce: greedy tokens and the first next-token logits of a fixed prompt
    (logits too, because a tiny random model's greedy output can hide a broken weight)."""

    tokens: list[int]
    logits: torch.Tensor


def probe(model, tokenizer, n: int = VERIFY_TOKENS) -> Probe:
    """Greedy continuation of a fixed chat prompt."""
    if tokenizer.chat_template:
        text = render(tokenizer, [{"role": "user", "content": VERIFY_PROMPT}], generation_prompt=True)
    else:
        text = VERIFY_PROMPT
    enc = tokenizer(text, return_tensors="pt", add_special_tokens=not tokenizer.chat_template)
    model.eval()
    with torch.no_grad():
        out = model.generate(
            **enc,
            max_new_tokens=n,
            do_sample=False,
            num_beams=1,
            output_logits=True,
            return_dict_in_generate=True,
            pad_token_id=model.generation_config.pad_token_id,
        )
    return Probe(out.sequences[0, enc["input_ids"].shape[1] :].tolist(), out.logits[0][0].float())


def save_tokenizer(tokenizer, out: Path) -> None:
    tokenizer.save_pretrained(out)
    path = Path(out) / "tokenizer_config.json"
    conf = json.loads(path.read_text(encoding="utf-8"))
    if any(k in conf for k in LOAD_TIME_KEYS):
        path.write_text(
            json.dumps({k: v for k, v in conf.items() if k not in LOAD_TIME_KEYS}, indent=2, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )


def export_merged(model, tokenizer, out: Path, dtype: torch.dtype, max_shard_size: str) -> dict:
    """Merge (if a PeftModel) in float32, cast to `dtype`, save as safetensors and verify by reloading."""
    from peft import PeftModel

    if isinstance(model, PeftModel):
        model = model.merge_and_unload()
    cast_weights(model, dtype)
    set_generation_ids(model, tokenizer)
    expected = probe(model, tokenizer)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, max_shard_size=max_shard_size)
    save_tokenizer(tokenizer, out)
    del model
    verify_merged(out, dtype, expected)
    shards = sorted(p.name for p in out.glob("*.safetensors"))
    return {"shards": len(shards), "probe": expected}


def verify_merged(folder: Path, dtype: torch.dtype, expected: Probe) -> None:
    """Reload the folder as a user would (Auto classes, from disk only) and compare greedy tokens."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, local_files_only=True, use_safetensors=True)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    check_probe(folder, expected, probe(model, tokenizer))


def export_adapter(model, tokenizer, out: Path, base_id: str, with_tokenizer: bool):
    """Save the adapter, reload it onto the same (cleaned) base and check generation; returns the reloaded
    PeftModel so a merged export can follow from exactly the weights on disk."""
    from peft import PeftModel
    from transformers import AutoTokenizer

    if not isinstance(model, PeftModel):
        raise UserError(
            "deploy.format=adapter|both needs a LoRA adapter, but the source is a full model; "
            "train with lora.enabled=true and <stage>.merge_adapters=false, or use deploy.format=merged"
        )
    set_generation_ids(model.get_base_model(), tokenizer)
    expected = probe(model, tokenizer)
    out.mkdir(parents=True, exist_ok=True)
    # Save with the local base path so PEFT can check vocab changes offline; publish the hub id afterwards.
    model.save_pretrained(out)
    (out / "README.md").unlink(missing_ok=True)  # PEFT's boilerplate card; the release has one card at its root
    _rewrite_adapter_base(out, base_id)
    if with_tokenizer:
        save_tokenizer(tokenizer, out)
        tokenizer = AutoTokenizer.from_pretrained(out, local_files_only=True)
    reloaded = PeftModel.from_pretrained(model.unload(), str(out), is_trainable=False)
    check_probe(out, expected, probe(reloaded, tokenizer))
    return reloaded


def _rewrite_adapter_base(out: Path, base_id: str) -> None:
    path = out / ADAPTER_CONFIG
    conf = json.loads(path.read_text(encoding="utf-8"))
    conf["base_model_name_or_path"] = base_id
    path.write_text(json.dumps(conf, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def check_probe(folder: Path, expected: Probe, got: Probe) -> None:
    gap = (got.logits - expected.logits).abs().max().item()
    if got.tokens != expected.tokens or not torch.allclose(got.logits, expected.logits, atol=1e-3, rtol=1e-3):
        raise VerificationError(
            f"verification failed for {folder}: the reloaded model generated {got.tokens} "
            f"(logits off by up to {gap:.3g}), the in-memory model {expected.tokens}; "
            "nothing was published"
        )
    log.info("deploy: verified %s: %d greedy tokens and logits match after reload", folder, len(expected.tokens))
