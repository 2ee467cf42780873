#!/usr/bin/env python
"""Benchmark: batched generation (left padding, KV cache, length-sorted batches) against one prompt at a time,
on the embedded SmolLM2-135M built into a temporary root. Reports generated tokens/s of both and their ratio.

    python bench/generation.py                          # 32 prompts, 32 new tokens, batch 32
    python bench/generation.py --prompts 64 --new-tokens 64 --batch-size 16 --model tiny-random
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def prompts(n: int) -> list[str]:
    """Everyday questions and arithmetic problems, mixed so prompt lengths differ as they do in evaluation."""
    from trainpipe.evaluation.retention import candidate_items
    from trainpipe.tasks import get_task

    everyday = [i["prompt"] for i in candidate_items()]
    arithmetic = [i.prompt for i in get_task("arithmetic").generate(seed=0, n=n, difficulty=2)]
    mixed = [p for pair in zip(everyday, arithmetic) for p in pair] + arithmetic[len(everyday) :]
    return mixed[:n]


def timed(model, tokenizer, items: list[str], new_tokens: int, batch_size: int) -> dict:
    """Wall and CPU seconds (CPU time stays meaningful on a shared machine), tokens generated, the texts."""
    from trainpipe.training.generation import generate_completions

    wall, cpu = time.perf_counter(), time.process_time()
    done = generate_completions(model, tokenizer, items, max_new_tokens=new_tokens, batch_size=batch_size)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    tokens = sum(c.tokens for [c] in done)
    return {
        "seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "tokens": tokens,
        "tokens_per_s": round(tokens / wall, 1),
        "texts": [c.text for [c] in done],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2-135m-instruct", help="model.base (embedded default or tiny-random)")
    p.add_argument("--prompts", type=int, default=32)
    p.add_argument("--new-tokens", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=32)
    args = p.parse_args(argv)

    from trainpipe.artifacts import Layout
    from trainpipe.config import ModelConfig
    from trainpipe.evaluation.generate import HFBackend
    from trainpipe.models.load import ensure_base

    with tempfile.TemporaryDirectory(prefix="bench-generation-") as root:
        mcfg = ModelConfig(base=args.model)
        backend = HFBackend(ensure_base(mcfg, Layout(Path(root))), mcfg, args.batch_size)
        model, tok = backend.model, backend.tokenizer
        items = prompts(args.prompts)
        timed(model, tok, items[:2], 4, 2)  # warm-up: first-call allocations and kernel selection
        single = timed(model, tok, items, args.new_tokens, 1)
        batched = timed(model, tok, items, args.new_tokens, args.batch_size)
    same = sum(a == b for a, b in zip(single.pop("texts"), batched.pop("texts")))
    result = {
        "model": args.model,
        "device": str(model.device),
        "prompts": len(items),
        "new_tokens": args.new_tokens,
        "batch_size": args.batch_size,
        "one_by_one": single,
        "batched": batched,
        "speedup": round(batched["tokens_per_s"] / single["tokens_per_s"], 2),
        "cpu_speedup": round(single["cpu_seconds"] / batched["cpu_seconds"], 2),
        # Greedy outputs should agree; one may differ where padding shifts float rounding at a near tie.
        "same_outputs": f"{same}/{len(items)}",
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
