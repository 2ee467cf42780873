#!/usr/bin/env python
"""Benchmark: trainpipe's GGUF export run by llama.cpp (through the llama-cpp-python package) against
transformers on the safetensors model. Per type: the prompt tokens both tokenizers give, greedy completions on the
chat-formatted retention prompts (exact token match and the shared prefix), load seconds and decode tokens/s of
each side, on the same threads.

    pip install llama-cpp-python      # compiles llama.cpp from source (CMake, a C++ compiler)
    python bench/llama_cpp_parity.py --model-dir models/final
    python bench/llama_cpp_parity.py --model-dir ~/.cache/trainpipe/converted-v2-<hash> --types f32 f16 q8_0
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trainpipe.evaluation.retention import candidate_items

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-dir", type=Path, required=True, help="an HF folder, e.g. models/final")
    p.add_argument("--types", nargs="+", default=["f32", "f16", "q8_0"])
    p.add_argument("--prompts", type=int, default=32)
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    tok = AutoTokenizer.from_pretrained(args.model_dir)
    chats = [
        tok.apply_chat_template([{"role": "user", "content": i["prompt"]}], tokenize=False, add_generation_prompt=True)
        for i in candidate_items()[: args.prompts]
    ]
    started = time.time()
    ref = AutoModelForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32)
    hf = {"load_s": round(time.time() - started, 2), **_hf_greedy(ref, tok, chats, args.max_new_tokens)}
    rows = [{"runtime": "transformers fp32", "load_s": hf["load_s"], "tokens_per_s": hf["tokens_per_s"]}]
    with tempfile.TemporaryDirectory() as tmp:
        for qtype in args.types:
            rows.append(_llama_row(args, tok, chats, hf, Path(tmp) / f"model-{qtype}.gguf", qtype))
    print(json.dumps(rows, indent=1))
    return 0


def _hf_greedy(model, tok, chats: list[str], max_new: int) -> dict:
    import torch

    outs, new_tokens, seconds = [], 0, 0.0
    with torch.no_grad():
        for text in chats:
            ids = tok(text, return_tensors="pt", add_special_tokens=False).input_ids
            started = time.time()
            gen = model.generate(
                ids,
                max_new_tokens=max_new,
                do_sample=False,
                eos_token_id=tok.eos_token_id,
                pad_token_id=tok.eos_token_id,
            )[0, ids.shape[1] :].tolist()
            seconds += time.time() - started
            outs.append((ids[0].tolist(), gen))
            new_tokens += len(gen)
    return {"outs": outs, "tokens_per_s": round(new_tokens / seconds, 1)}


def _llama_row(args, tok, chats: list[str], hf: dict, path: Path, qtype: str) -> dict:
    """Export `qtype`, then run llama.cpp on it in a fresh process: sharing one with torch crashed llama.cpp's
    decode (two OpenMP thread pools in one process), and a separate process times llama.cpp alone."""
    from trainpipe.deploy import gguf_export

    gguf_export.write(args.model_dir, path, qtype, "bench")
    job = path.with_suffix(".json")
    job.write_text(
        json.dumps(
            {
                "gguf": str(path),
                "threads": args.threads,
                "max_new": args.max_new_tokens,
                "eos": tok.eos_token_id,
                "chats": chats,
                "prompts": [o[0] for o in hf["outs"]],
            }
        )
    )
    done = subprocess.run([sys.executable, __file__, "--worker", str(job)], capture_output=True, text=True)
    path.unlink()
    if done.returncode != 0:  # llama.cpp itself failed on the file: say how, and go on with the next type
        return {"runtime": f"llama.cpp {qtype}", "failed": f"exit {done.returncode}", "stderr": done.stderr[-300:]}
    got = json.loads(done.stdout.strip().splitlines()[-1])
    n = len(chats)
    exact = prefix = 0
    for gen, (_, hf_gen) in zip(got["outs"], hf["outs"]):
        hf_cut = [t for t in hf_gen if t != tok.eos_token_id]
        exact += int(gen == hf_cut)
        prefix += next((i for i, (a, b) in enumerate(zip(gen, hf_cut)) if a != b), min(len(gen), len(hf_cut)))
    return {
        "runtime": f"llama.cpp {qtype}",
        "load_s": got["load_s"],
        "tokens_per_s": got["tokens_per_s"],
        "prompt_tokens_equal": f"{got['same_prompt']}/{n}",
        "greedy_equal": f"{exact}/{n}",
        "mean_shared_prefix": round(prefix / n, 1),
    }


def _worker(job_file: str) -> None:
    """llama.cpp alone: tokenize each chat (compared with transformers' prompt ids), then greedy-decode from
    transformers' prompt ids; prints one JSON line."""
    from llama_cpp import Llama

    job = json.loads(Path(job_file).read_text())
    started = time.time()
    llm = Llama(model_path=job["gguf"], n_ctx=1024, n_threads=job["threads"], n_batch=512, verbose=False, seed=0)
    load_s = time.time() - started
    same, outs, new_tokens, seconds = 0, [], 0, 0.0
    for text, prompt in zip(job["chats"], job["prompts"]):
        same += int(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True) == prompt)
        gen, started = [], time.time()
        for token in llm.generate(prompt, top_k=1, top_p=1.0, temp=0.0, repeat_penalty=1.0, reset=True):
            if token == job["eos"] or len(gen) == job["max_new"]:
                break
            gen.append(token)
        seconds += time.time() - started
        new_tokens += len(gen)
        outs.append(gen)
    print(
        json.dumps(
            {
                "load_s": round(load_s, 2),
                "tokens_per_s": round(new_tokens / seconds, 1),
                "same_prompt": same,
                "outs": outs,
            }
        ),
        flush=True,
    )
    os._exit(0)  # llama-cpp-python's finaliser fails at interpreter exit (its library is already unloaded)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        _worker(sys.argv[2])
    raise SystemExit(main())
