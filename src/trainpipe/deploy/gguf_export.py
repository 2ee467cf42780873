"""GGUF files of a released model for llama.cpp and Ollama (deploy.gguf: [f16, q8_0, ...]), written with gguf-py.

Llama-architecture models (Llama, SmolLM, Mistral-style without sliding window) with a byte-level BPE tokenizer:
the architecture metadata, the tokenizer (tokens, types, merges, special ids) and the chat template go into the
file; tensor names come from gguf-py's own name map. llama.cpp applies rotary embeddings to interleaved pairs
where HF Llama rotates halves, so the q and k projections are permuted on the way out (readers undo it).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from trainpipe.errors import UserError

log = logging.getLogger("trainpipe.deploy")

# deploy.gguf name → (file type written in general.file_type, GGML type of the 2-D weights)
TYPES = {"f32": (0, "F32"), "f16": (1, "F16"), "bf16": (32, "BF16"), "q8_0": (7, "Q8_0")}
ARCHITECTURES = ("LlamaForCausalLM",)


def check_types(types: list[str]) -> None:
    bad = [t for t in types if t not in TYPES]
    if bad:
        raise UserError(f"deploy.gguf: unknown type {bad[0]!r}; expected any of {', '.join(TYPES)}")


def write(folder: Path, out: Path, qtype: str, name: str) -> Path:
    """Write `out` (a .gguf file) from the HF model folder `folder` (safetensors, tokenizer.json) as `qtype`."""
    import gguf

    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    arch = (config.get("architectures") or ["?"])[0]
    if arch not in ARCHITECTURES:
        raise UserError(f"deploy.gguf: {arch} models are not exported (supported: {', '.join(ARCHITECTURES)})")
    writer = gguf.GGUFWriter(str(out), "llama")
    _metadata(writer, config, name, TYPES[qtype][0])
    _tokenizer(writer, folder)
    tensors = _tensors(folder, config)
    for gguf_name, array in tensors:
        _add_tensor(writer, gguf_name, array, qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    log.info("deploy: wrote %s (%s, %d tensors)", out, qtype, len(tensors))
    return out


def _metadata(writer, config: dict, name: str, file_type: int) -> None:
    heads = config["num_attention_heads"]
    rope = config.get("rope_parameters") or {}
    writer.add_name(name)
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(heads)
    writer.add_head_count_kv(config.get("num_key_value_heads") or heads)
    writer.add_rope_freq_base(float(rope.get("rope_theta") or config.get("rope_theta") or 10000.0))
    writer.add_layer_norm_rms_eps(float(config["rms_norm_eps"]))
    writer.add_vocab_size(config["vocab_size"])
    writer.add_rope_dimension_count(config.get("head_dim") or config["hidden_size"] // heads)
    writer.add_file_type(file_type)


def _tokenizer(writer, folder: Path) -> None:
    """Byte-level BPE vocabulary from tokenizer.json: every id in order, added special tokens as control tokens."""
    import gguf

    spec = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    model = spec["model"]
    if model.get("type") != "BPE":
        raise UserError(f"deploy.gguf: {model.get('type')} tokenizers are not exported (byte-level BPE only)")
    vocab = dict(model["vocab"])
    special = set()
    for token in spec.get("added_tokens", []):
        vocab[token["content"]] = token["id"]
        if token.get("special"):
            special.add(token["id"])
    size = max(vocab.values()) + 1
    tokens = [f"[PAD{i}]" for i in range(size)]
    types = [gguf.TokenType.UNUSED] * size
    for text, idx in vocab.items():
        tokens[idx] = text
        types[idx] = gguf.TokenType.CONTROL if idx in special else gguf.TokenType.NORMAL
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre_tokenizer(spec.get("pre_tokenizer")))
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    settings = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    generation = _read_json(folder / "generation_config.json")
    special_ids = {}
    for key in ("bos", "eos", "pad", "unk"):
        content = settings.get(f"{key}_token")
        content = content.get("content") if isinstance(content, dict) else content
        if content in vocab:
            special_ids[key] = vocab[content]
    if isinstance(generation.get("eos_token_id"), int):  # the end of turn generation stops at
        special_ids["eos"] = generation["eos_token_id"]
    for key, idx in special_ids.items():
        getattr(writer, f"add_{key}_token_id")(idx)
    writer.add_add_bos_token(bool(settings.get("add_bos_token", False)))
    template = folder / "chat_template.jinja"
    chat = template.read_text(encoding="utf-8") if template.exists() else settings.get("chat_template")
    if chat:
        writer.add_chat_template(chat)


# llama.cpp does not read the pre-tokenizer from the file: it names one of its built-in splits. These are the
# tokenizers.json pre-tokenizers whose split it reproduces exactly (others would tokenize prompts differently).
LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def pre_tokenizer(spec: dict | None) -> str:
    """llama.cpp's name for the tokenizer.json pre-tokenizer `spec`: GPT-2's byte-level regex ('gpt-2'), single
    digits then GPT-2's ('smollm'), or Llama 3's split ('llama-bpe'); any other is refused by name."""
    steps = (spec or {}).get("pretokenizers") if (spec or {}).get("type") == "Sequence" else [spec or {}]
    kinds = [
        (s.get("type"), s.get("use_regex"), s.get("individual_digits"), (s.get("pattern") or {}).get("Regex"))
        for s in steps
    ]
    if kinds == [("ByteLevel", True, None, None)]:
        return "gpt-2"
    if kinds == [("Digits", None, True, None), ("ByteLevel", True, None, None)]:
        return "smollm"
    if kinds == [("Split", None, None, LLAMA3_SPLIT), ("ByteLevel", False, None, None)]:
        return "llama-bpe"
    raise UserError(
        f"deploy.gguf: the tokenizer's pre-tokenizer {json.dumps(spec)} has no llama.cpp counterpart "
        "(GPT-2, SmolLM and Llama 3 byte-level splits are exported); llama.cpp would split text differently"
    )


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _tensors(folder: Path, config: dict) -> list[tuple[str, np.ndarray]]:
    import gguf
    from safetensors.torch import load_file

    state = {}
    for shard in sorted(folder.glob("*.safetensors")):
        state.update(load_file(shard))
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config["num_hidden_layers"])
    heads, kv = config["num_attention_heads"], config.get("num_key_value_heads") or config["num_attention_heads"]
    out = []
    for hf_name, tensor in state.items():
        if hf_name == "lm_head.weight" and config.get("tie_word_embeddings"):
            continue  # llama.cpp reuses token_embd for a tied head
        target = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if target is None:
            raise UserError(f"deploy.gguf: no GGUF name for tensor {hf_name}")
        array = tensor.float().numpy()
        if hf_name.endswith("q_proj.weight"):
            array = _permute(array, heads)
        elif hf_name.endswith("k_proj.weight"):
            array = _permute(array, kv)
        out.append((target, array))
    return out


def _permute(weight: np.ndarray, heads: int) -> np.ndarray:
    """HF Llama's rotate-half layout → the interleaved pairs GGUF readers expect, per head."""
    rows = weight.shape[0]
    return weight.reshape(heads, 2, rows // heads // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def _add_tensor(writer, name: str, array: np.ndarray, qtype: str) -> None:
    import gguf

    ggml = TYPES[qtype][1]
    if array.ndim == 1 or ggml == "F32":  # norms stay f32, as llama.cpp keeps them
        writer.add_tensor(name, array.astype(np.float32))
    elif ggml == "F16":
        writer.add_tensor(name, array.astype(np.float16))
    else:
        kind = getattr(gguf.GGMLQuantizationType, ggml)
        if ggml == "Q8_0" and array.shape[-1] % 32:
            writer.add_tensor(name, array.astype(np.float16))  # Q8_0 blocks are 32 wide; llama.cpp falls back too
            return
        writer.add_tensor(name, gguf.quants.quantize(array, kind), raw_dtype=kind)


def card_section(files: list[Path]) -> str:
    """The model card's GGUF section: each file with its type and size, and how llama.cpp and Ollama run it."""
    lines = ["", "## GGUF", "", "| file | type | size |", "|---|---|---|"]
    for path in files:
        qtype = path.stem.rsplit("-", 1)[-1]
        lines.append(f"| {path.name} | {qtype} | {path.stat().st_size / 2**20:.0f} MiB |")
    first = files[0].name
    lines += [
        "",
        f"llama.cpp: `llama-cli -m {first}`; Ollama: a Modelfile with `FROM ./{first}`, then "
        "`ollama create`. The chat template is in the file.",
        "",
    ]
    return "\n".join(lines)
