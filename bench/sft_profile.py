#!/usr/bin/env python
"""Where an SFT step's time goes, against this machine's matmul peak: profiles trainpipe's own SFT stage (in
process, the real trainer) over a few steps after warm-up and splits the time into matmuls (with their achieved
GFLOP/s), attention, autocast casts, the LM-head softmax, other elementwise work, the optimizer and the rest.
Then it times every matmul shape the profile saw, alone, in the same process: the MFU ceiling those shapes allow.

  python bench/sft_profile.py --steps 4 --warmup 2                      # embedded model, LoRA
  python bench/sft_profile.py --full                                    # full fine-tuning
  python bench/sft_profile.py -- sft.batch_size=16                      # any SFT override after --
  python bench/sft_profile.py --model tiny-random --records 16 --steps 1 --warmup 1   # plumbing

Prints markdown tables and writes bench/results/sft_profile-<time>.json.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import table, write_results  # noqa: E402
from mfu import Shape, train_flops  # noqa: E402
from sft_throughput import peak, prepare  # noqa: E402

MATMULS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::addbmm", "aten::_addmm_activation"}
ATTENTION = ("scaled_dot_product", "flash_attention", "_efficient_attention", "_scaled_dot_product")
CASTS = {"aten::to", "aten::_to_copy", "aten::copy_", "aten::clone", "aten::contiguous"}
SOFTMAX = {"aten::exp_", "aten::exp", "aten::amax", "aten::gather", "aten::log", "aten::div_", "aten::sub_"}
OPTIMIZER = ("_foreach_", "aten::addcdiv", "aten::addcmul", "aten::lerp", "aten::sqrt", "Optimizer.step")


def category(name: str) -> str:
    if name in MATMULS:
        return "matmul"
    if any(k in name for k in ATTENTION):
        return "attention"
    if name in CASTS:
        return "casts and copies"
    if name in SOFTMAX:
        return "LM-head softmax / CE"
    if any(k in name for k in OPTIMIZER):
        return "optimizer"
    if name.startswith("aten::"):
        return "other aten ops"
    return "python / framework"


class Recorder:
    """Profiles steps warmup+1 .. warmup+steps of the trainer and records the batches the loss saw there."""

    def __init__(self, warmup: int, steps: int):
        self.warmup, self.steps = warmup, steps
        self.prof = None
        self.wall = 0.0
        self.lengths: list[int] = []
        self.labelled = 0
        self.step_seconds: list[float] = []

    def callback(self):
        from torch.profiler import ProfilerActivity, profile
        from transformers import TrainerCallback

        rec = self

        class Profiling(TrainerCallback):
            def on_step_begin(self, args, state, control, **kw):
                rec._t = time.perf_counter()
                if state.global_step == rec.warmup:
                    rec.prof = profile(activities=[ProfilerActivity.CPU], record_shapes=True, with_flops=True)
                    rec.prof.__enter__()
                    rec.started = time.perf_counter()

            def on_step_end(self, args, state, control, **kw):
                rec.step_seconds.append(time.perf_counter() - rec._t)
                if rec.prof is not None and state.global_step == rec.warmup + rec.steps and not rec.wall:
                    rec.wall = time.perf_counter() - rec.started
                    rec.prof.__exit__(None, None, None)
                    control.should_training_stop = True

        return Profiling()

    def active(self) -> bool:
        return self.prof is not None and not self.wall


def profile_stage(cfg, rec: Recorder) -> dict:
    from trainpipe import pipeline
    from trainpipe.training import driver, sft_trainer

    train, loss = driver.train, sft_trainer.TrainpipeSFTTrainer.compute_loss

    def train_profiled(trainer, *a, **k):
        trainer.add_callback(rec.callback())
        return train(trainer, *a, **k)

    def loss_recorded(self, model, inputs, *a, **k):
        if rec.active() and model.training:
            mask = inputs.get("attention_mask")
            rec.lengths += [int(n) for n in mask.sum(-1)] if mask is not None else [inputs["input_ids"].shape[1]]
            rec.labelled += int((inputs["labels"][:, 1:] != -100).sum())
        return loss(self, model, inputs, *a, **k)

    driver.train, sft_trainer.TrainpipeSFTTrainer.compute_loss = train_profiled, loss_recorded
    try:
        return pipeline.run_stage(cfg, "sft", force=True)
    finally:
        driver.train, sft_trainer.TrainpipeSFTTrainer.compute_loss = train, loss


def breakdown(prof) -> tuple[dict, list[dict], list]:
    """Self CPU seconds per category; per matmul shape: calls, seconds, FLOPs (the profiler's count); per op."""
    seconds = collections.Counter()
    per_op = collections.Counter()
    calls = collections.Counter()
    shapes: dict[tuple, dict] = {}
    for ev in prof.events():
        if ev.device_type.name != "CPU":
            continue
        cat = category(ev.name)
        seconds[cat] += ev.self_cpu_time_total / 1e6
        per_op[(cat, ev.name)] += ev.self_cpu_time_total / 1e6
        calls[(cat, ev.name)] += 1
        if cat == "matmul":
            key = (ev.name, str(ev.input_shapes), str(getattr(ev, "input_type", "")))
            s = shapes.setdefault(
                key, {"op": ev.name, "shapes": ev.input_shapes, "calls": 0, "seconds": 0.0, "flops": 0}
            )
            s["calls"] += 1
            s["seconds"] += ev.self_cpu_time_total / 1e6
            s["flops"] += ev.flops or 0
    ops = [(cat, name, calls[(cat, name)], sec) for (cat, name), sec in per_op.most_common()]
    return dict(seconds), sorted(shapes.values(), key=lambda s: -s["seconds"]), ops


def isolated_rate(op: str, shapes: list, dtype, threads: int, repeats: int = 5) -> float | None:
    """GFLOP/s of one matmul of these input shapes alone (bf16 or fp32 operands), median of repeats."""
    import torch

    torch.set_num_threads(threads)
    dims = [s for s in shapes if s]
    if op == "aten::mm" and len(dims) >= 2:
        a, b = torch.randn(dims[0]).to(dtype), torch.randn(dims[1]).to(dtype)
        fn, flops = (lambda: a @ b), 2 * dims[0][0] * dims[0][1] * dims[1][1]
    elif op == "aten::addmm" and len(dims) >= 3:
        a, b = torch.randn(dims[1]).to(dtype), torch.randn(dims[2]).to(dtype)
        fn, flops = (lambda: a @ b), 2 * dims[1][0] * dims[1][1] * dims[2][1]
    elif op == "aten::bmm" and len(dims) >= 2:
        a, b = torch.randn(dims[0]).to(dtype), torch.randn(dims[1]).to(dtype)
        fn, flops = (lambda: torch.bmm(a, b)), 2 * dims[0][0] * dims[0][1] * dims[0][2] * dims[1][2]
    else:
        return None
    fn()
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        rates.append(flops / (time.perf_counter() - t) / 1e9)
    return statistics.median(rates)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument("--records", type=int, default=96)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--warmup", type=int, default=2, help="steps before profiling starts")
    p.add_argument("--steps", type=int, default=4, help="steps profiled")
    p.add_argument("--full", action="store_true", help="full fine-tuning instead of LoRA r16")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--shapes", type=int, default=12, help="matmul shapes timed alone (the costliest first)")
    p.add_argument("--ops", type=int, default=20, help="costliest ops listed")
    p.add_argument("--root", help="work folder (default: a fresh temporary one)")
    p.add_argument("--out", help="results folder (default: bench/results)")
    p.add_argument("overrides", nargs="*", help="SFT overrides (after --)")
    p.add_argument("--shapes-worker", help=argparse.SUPPRESS)
    args = p.parse_args()

    import torch

    if args.shapes_worker:
        spec = json.loads(Path(args.shapes_worker).read_text())
        spec["rates"] = [isolated_rate(op, dims, torch.bfloat16, spec["threads"]) for op, dims in spec["shapes"]]
        Path(args.shapes_worker).write_text(json.dumps(spec))
        return 0

    from trainpipe.config import load_config

    root = Path(args.root or tempfile.mkdtemp(prefix="sft-profile-"))
    setup = prepare(root, args.model, args.records, args.seed)
    overrides = [
        f"paths.root={root}",
        f"sft.lora.enabled={str(not args.full).lower()}",
        f"sft.num_threads={args.threads}",
        f"sft.max_steps={args.warmup + args.steps}",
        *args.overrides,
    ]
    cfg = load_config(setup["config"], overrides)
    # the peak in a fresh child before the run (in this process after profiling it reads low and erratic)
    peaks = peak(args.threads, {"OMP_NUM_THREADS": str(args.threads)}, root)
    peaks = {d: peaks[d] for d in ("float32", "bfloat16") if d in peaks}
    if not peaks.get("bfloat16", {}).get("gflops_median"):
        raise SystemExit("no bf16 matmul peak on this CPU (no native bf16): the profile's MFU needs one")
    rec = Recorder(args.warmup, args.steps)
    manifest = profile_stage(cfg, rec)
    if rec.prof is None or not rec.wall:
        raise SystemExit(f"the run ended before step {args.warmup + args.steps}: use more --records")
    seconds, shapes, ops = breakdown(rec.prof)
    shape = Shape(**setup["shape"])
    model_flops = train_flops(shape, rec.lengths, rec.labelled, None if args.full else 16)
    bf16_peak = peaks["bfloat16"]["gflops_median"]
    matmul_s = seconds.get("matmul", 0.0)
    matmul_flops = sum(s["flops"] for s in shapes)

    rows = [
        [cat, round(sec, 2), f"{sec / rec.wall:.0%}"]
        for cat, sec in sorted(seconds.items(), key=lambda kv: -kv[1])
        if sec >= 0.005 * rec.wall
    ]
    print(
        f"\n{args.steps} steps after {args.warmup} warm-up, {'full' if args.full else 'LoRA r16'}, "
        f"{args.threads} threads, {len(rec.lengths)} rows, {sum(rec.lengths)} tokens, {rec.labelled} labelled, "
        f"precision {manifest.get('metrics', {}).get('precision')}: {rec.wall:.2f} s profiled"
    )
    print(table(["category (self time)", "seconds", "share"], rows))
    print(
        table(
            ["op (self time)", "category", "calls", "seconds", "share"],
            [[n, c, k, round(sec, 2), f"{sec / rec.wall:.0%}"] for c, n, k, sec in ops[: args.ops]],
        )
    )
    achieved = model_flops / rec.wall / 1e9
    print(
        f"\nmodel FLOPs {model_flops / 1e9:.1f} G → {achieved:.1f} GFLOP/s = MFU {achieved / bf16_peak:.0%} of the "
        f"bf16 peak ({bf16_peak} GFLOP/s, 2048²) and {achieved / peaks['float32']['gflops_median']:.0%} of fp32's"
    )
    print(
        f"matmuls: {matmul_flops / 1e9:.1f} GFLOP (profiler count, recomputation and padding included) in "
        f"{matmul_s:.2f} s = {matmul_flops / max(matmul_s, 1e-9) / 1e9:.1f} GFLOP/s in place"
    )

    # each shape timed alone in a fresh child, as the peak (in this process after profiling, rates read low)
    costly = shapes[: args.shapes]
    spec = root / "bench-out" / "shapes.json"
    spec.write_text(json.dumps({"threads": args.threads, "shapes": [[s["op"], s["shapes"]] for s in costly]}))
    subprocess.run([sys.executable, __file__, "--shapes-worker", str(spec)], check=True)
    alone_rates = json.loads(spec.read_text())["rates"]
    shape_rows, ceiling_s, ceiling_flops = [], 0.0, 0.0
    for s, alone in zip(costly, alone_rates):
        in_place = s["flops"] / s["seconds"] / 1e9 if s["seconds"] else None
        if alone:
            ceiling_s += s["flops"] / alone / 1e9
            ceiling_flops += s["flops"]
        shape_rows.append(
            [
                s["op"],
                str(s["shapes"]),
                s["calls"],
                round(s["seconds"], 3),
                f"{s['seconds'] / rec.wall:.0%}",
                round(in_place, 1) if in_place else None,
                round(alone, 1) if alone else None,
            ]
        )
    print(
        table(
            ["op", "input shapes", "calls", "seconds", "share", "GFLOP/s in place", "GFLOP/s alone (bf16)"], shape_rows
        )
    )
    ceiling = ceiling_flops / ceiling_s / 1e9 if ceiling_s else None
    if ceiling:
        print(
            f"\nthe {len(shape_rows)} costliest shapes, alone in bf16: {ceiling:.1f} GFLOP/s = "
            f"{ceiling / bf16_peak:.0%} of the 2048² bf16 peak (the MFU ceiling of these shapes with zero overhead)"
        )
    write_results(
        "sft_profile",
        {
            "args": vars(args),
            "setup": {k: v for k, v in setup.items() if k != "lengths"},
            "profiled_seconds": rec.wall,
            "step_seconds": rec.step_seconds,
            "rows": len(rec.lengths),
            "tokens": sum(rec.lengths),
            "labelled": rec.labelled,
            "categories": seconds,
            "model_gflops": model_flops / 1e9,
            "mfu_bf16": achieved / bf16_peak,
            "peaks": peaks,
            "matmul_shapes": shape_rows,
            "ops": ops,
            "shape_ceiling_gflops": ceiling,
            "precision": manifest.get("metrics", {}).get("precision"),
        },
        args.out,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
