#!/usr/bin/env python
"""Benchmark: GGUF export of a released model, read back by transformers' GGUF loader. Per type: write seconds,
file size, max |logit difference| against the safetensors model, and how many greedy next tokens agree, over the
chat-formatted retention prompts.

    python bench/gguf_roundtrip.py --model-dir models/final                 # f16 and q8_0, 32 prompts
    python bench/gguf_roundtrip.py --model-dir models/final --types f16 --prompts 64
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main() -> int:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trainpipe.deploy import gguf_export
    from trainpipe.evaluation.retention import candidate_items

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-dir", type=Path, required=True, help="an HF folder, e.g. models/final")
    p.add_argument("--types", nargs="+", default=["f16", "q8_0"])
    p.add_argument("--prompts", type=int, default=32)
    args = p.parse_args()
    ref = AutoModelForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(args.model_dir)
    texts = [
        tok.apply_chat_template([{"role": "user", "content": i["prompt"]}], tokenize=False, add_generation_prompt=True)
        for i in candidate_items()[: args.prompts]
    ]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for qtype in args.types:
            out = Path(tmp) / f"model-{qtype}.gguf"
            started = time.time()
            gguf_export.write(args.model_dir, out, qtype, "bench")
            seconds = time.time() - started
            model = AutoModelForCausalLM.from_pretrained(tmp, gguf_file=out.name, dtype=torch.float32)
            worst, agree = 0.0, 0
            with torch.no_grad():
                for text in texts:
                    ids = tok(text, return_tensors="pt").input_ids
                    a, b = ref(ids).logits[0, -1], model(ids).logits[0, -1]
                    worst = max(worst, (a - b).abs().max().item())
                    agree += int(a.argmax() == b.argmax())
            rows.append(
                {
                    "type": qtype,
                    "write_seconds": round(seconds, 1),
                    "mib": round(out.stat().st_size / 2**20),
                    "max_abs_logit_diff": round(worst, 4),
                    "next_token_agree": f"{agree}/{len(texts)}",
                }
            )
            out.unlink()
            del model
    print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
