#!/usr/bin/env python
"""Model FLOPs of an SFT epoch (full or LoRA, useful work only) and this machine's measured dense matmul peak.

`python bench/mfu.py --threads 2` prints the fp32 (and bf16) 2048² matmul peak as JSON; sft_throughput.py imports it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class Shape:
    """The matmul shapes of a Llama-style decoder (SmolLM2, the tiny random model)."""

    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int

    @classmethod
    def from_config(cls, cfg) -> "Shape":
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        return cls(
            cfg.num_hidden_layers,
            cfg.hidden_size,
            cfg.num_attention_heads,
            cfg.num_key_value_heads,
            head_dim,
            cfg.intermediate_size,
            cfg.vocab_size,
        )

    def linears(self) -> dict[str, tuple[int, int]]:
        """(in, out) features of each projection in one decoder layer."""
        d, q, kv, ff = self.hidden, self.heads * self.head_dim, self.kv_heads * self.head_dim, self.intermediate
        return {
            "q_proj": (d, q),
            "k_proj": (d, kv),
            "v_proj": (d, kv),
            "o_proj": (q, d),
            "gate_proj": (d, ff),
            "up_proj": (d, ff),
            "down_proj": (ff, d),
        }

    @property
    def body_params(self) -> int:
        """Weights every token multiplies through: all decoder projections (no embedding, no LM head)."""
        return self.layers * sum(i * o for i, o in self.linears().values())

    @property
    def head_params(self) -> int:
        return self.vocab * self.hidden

    def lora_params(self, r: int, targets=LORA_TARGETS) -> int:
        return self.layers * sum(r * (i + o) for name, (i, o) in self.linears().items() if name in targets)


def attention_forward_flops(shape: Shape, lengths) -> float:
    """QKᵀ and AV over the causal half only: 2·(heads·head_dim)·s·(s+1) per layer and document."""
    width = shape.heads * shape.head_dim
    return float(sum(2 * shape.layers * width * s * (s + 1) for s in lengths))


def train_flops(shape: Shape, lengths, labelled: int, lora_r: int | None) -> float:
    """Useful training FLOPs of one pass over documents of `lengths` tokens, `labelled` of which carry a label.

    Full:  6·N_body·T + 6·N_head·T_lab + 3·A                       (forward 2·N, backward 4·N)
    LoRA:  4·N_body·T + 4·N_head·T_lab + 6·N_lora·T + 3·A          (frozen weights: forward and input
           gradients only, no weight gradients; adapters train fully)
    T = non-padding tokens, T_lab = tokens with a label (the LM head runs only there, as in TRL's fused
    head), A = causal attention forward FLOPs. Padding, recomputation and the embedding lookup count nothing.
    """
    tokens = float(sum(lengths))
    attn = 3 * attention_forward_flops(shape, lengths)
    if lora_r is None:
        return 6 * shape.body_params * tokens + 6 * shape.head_params * labelled + attn
    return (
        4 * shape.body_params * tokens
        + 4 * shape.head_params * labelled
        + 6 * shape.lora_params(lora_r) * tokens
        + attn
    )


def matmul_peak(n: int = 2048, threads: int = 2, repeats: int = 15, dtype: str = "float32") -> dict:
    """Median and best GFLOP/s of torch.matmul on n×n matrices with `threads` intra-op threads."""
    import torch

    torch.set_num_threads(threads)
    dt = getattr(torch, dtype)
    a, b = torch.randn(n, n).to(dt), torch.randn(n, n).to(dt)
    for _ in range(3):
        a @ b
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        rates.append(2 * n**3 / (time.perf_counter() - start) / 1e9)
    return {
        "dtype": dtype,
        "n": n,
        "threads": threads,
        "gflops_median": round(statistics.median(rates), 1),
        "gflops_best": round(max(rates), 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--n", type=int, default=2048)
    p.add_argument("--repeats", type=int, default=15)
    args = p.parse_args()
    from trainpipe.models.hardware import bf16_ok

    rates = [matmul_peak(args.n, args.threads, args.repeats, "float32")]
    # Where bf16 is not native (an AVX2-only CPU) torch emulates it at a small fraction of the fp32 rate: minutes
    # per matmul, and no run computes in bf16 there (precision auto picks fp32), so there is no bf16 peak to use.
    native = bf16_ok()
    rates.append(
        matmul_peak(args.n, args.threads, args.repeats, "bfloat16")
        if native
        else {"dtype": "bfloat16", "n": args.n, "threads": args.threads, "gflops_median": None, "gflops_best": None}
    )
    print(json.dumps(rates))


if __name__ == "__main__":
    main()
