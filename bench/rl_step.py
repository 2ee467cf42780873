#!/usr/bin/env python
"""Benchmark: where a GRPO step's time goes, and seconds per step side by side.

Variants, each in its own child process on the same collected prompts, model, batch shape and seed:
  trainpipe      the rl stage's GRPO trainer from this checkout (rl.algorithms.build_trainer)
  trainpipe@REV  the same from a git revision (checked out into a temporary worktree; --ref REV)
  tree           trainpipe with rl.rollout=tree (entropy-branching tree rollouts, rl.tree)
  trl            TRL's own GRPOTrainer, hand-tuned for this CPU as a knowledgeable user would: bf16 autocast where
                 the CPU computes it natively (else fp32), no gradient checkpointing, LoRA as trainpipe's, the same
                 reward function
Every variant reports seconds per optimizer step (after --warmup steps), a breakdown (generation, log-prob
passes outside the loss, loss forward, backward, optimizer, rewards, the rest) and the logged reward per step.
Prints a markdown table and writes bench/results/rl_step-<time>.json.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, load_average, run_child, table, write_results  # noqa: E402

USAGE = """examples:
  python bench/rl_step.py --ref 1ea494f --threads 2        # today's trainpipe vs an earlier revision vs TRL tuned
  python bench/rl_step.py --variants trainpipe --steps 3   # a quick profile of this checkout
  python bench/rl_step.py --model tiny-random --steps 2    # mechanics only, seconds"""

PHASES = ("generate", "logprobs_nograd", "loss_forward", "backward", "optimizer", "rewards")


def collect(root: Path, items: int, threads: int) -> None:
    cmd = [
        sys.executable,
        str(REPO / "scripts" / "1_collect_data.py"),
        "--config",
        str(REPO / "config.yaml"),
        f"paths.root={root}",
        f"data.sources=[{{kind: task, task: arithmetic, n: {items}, difficulty: 1, use: prompts}}]",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    subprocess.run(cmd, cwd=REPO, check=True, env=env, stdout=subprocess.DEVNULL)


def rl_config(args, variant: str = "trainpipe"):
    from trainpipe.config import LoraConfig, RlConfig

    # tree: 2 roots per prompt, each branching at its 2 highest-entropy tokens into 2 continuations: 10 candidates,
    # pruned to the 8 leaves of a group
    tree = dict(rollout="tree", tree_roots=2, tree_branch_points=2, tree_continuations=2) if variant == "tree" else {}
    return RlConfig(
        **tree,
        enabled=True,
        algorithm="grpo",
        num_generations=args.generations,
        batch_size=args.batch_size,
        grad_accum=args.grad_accum,
        max_completion_length=args.completion_tokens,
        learning_rate=1e-4,
        lr_scheduler="constant",
        warmup_ratio=0.0,
        beta=args.beta,
        max_steps=args.warmup + args.steps,
        save_steps=10_000,
        logging_steps=1,
        num_threads=args.threads,
        seed=0,
        lora=LoraConfig(enabled=True, r=16, alpha=32, target_modules=["all-linear"]),
    )


class Timer:
    """Accumulates seconds per phase for the current optimizer step; `steps` holds one dict per finished step."""

    def __init__(self):
        self.current: dict[str, float] = {}
        self.steps: list[dict[str, float]] = []
        self.depth = 0  # > 0 inside the loss: log-prob passes there are the loss forward

    def add(self, phase: str, seconds: float) -> None:
        self.current[phase] = self.current.get(phase, 0.0) + seconds

    def wrap(self, obj, name: str, phase: str | None, inside_loss: bool = False):
        original = getattr(obj, name)

        def timed(*a, **k):
            started = time.perf_counter()
            if inside_loss:
                self.depth += 1
            try:
                return original(*a, **k)
            finally:
                if inside_loss:
                    self.depth -= 1
                label = phase or ("loss_forward" if self.depth else "logprobs_nograd")
                self.add(label, time.perf_counter() - started)

        setattr(obj, name, timed)


def instrument(trainer, timer: Timer) -> None:
    from transformers import TrainerCallback

    timer.wrap(trainer, "_generate_single_turn", "generate")
    timer.wrap(trainer, "_calculate_rewards", "rewards")
    timer.wrap(trainer, "_get_per_token_logps_and_entropies", None)
    timer.wrap(trainer, "compute_loss", "_loss_total", inside_loss=True)
    timer.wrap(trainer.accelerator, "backward", "backward")

    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            timer.current = {"_start": time.perf_counter()}

        def on_pre_optimizer_step(self, args, state, control, **kw):
            timer.current["_opt"] = time.perf_counter()

        def on_optimizer_step(self, args, state, control, **kw):
            timer.add("optimizer", time.perf_counter() - timer.current.pop("_opt"))

        def on_step_end(self, args, state, control, **kw):
            row = dict(timer.current)
            total = time.perf_counter() - row.pop("_start")
            row["loss_forward"] = row.pop("_loss_total", 0.0) - 0.0  # compute_loss holds the loss forward
            row["total"] = total
            timer.steps.append(row)

    trainer.add_callback(Clock())


def child(args) -> None:
    """One variant: build, train warmup + steps optimizer steps, write timings and rewards to args.json."""
    import torch

    from trainpipe.artifacts import Layout
    from trainpipe.config import ModelConfig
    from trainpipe.models import hardware
    from trainpipe.models.load import ensure_base, load_model, load_tokenizer
    from trainpipe.rl import algorithms, data
    from trainpipe.rl.rewards import build_rewards
    from trainpipe.stages import StageIO
    from trainpipe.training import driver

    root = Path(args.root)
    rl = rl_config(args, args.child)
    mcfg = ModelConfig(base=args.model)
    out = root / f"run-{args.child}"
    layout = Layout(out)
    folder = ensure_base(mcfg, layout)
    tokenizer = load_tokenizer(folder, mcfg)
    model = load_model(folder, mcfg, dtype=torch.float32)
    io = StageIO("rl", layout, out / "out", layout.logs("rl"), layout.checkpoints("rl"), {}, {}, folder, "bench")
    collect_dir = root / "data_cache" / "collect"
    torch.manual_seed(0)
    if args.child == "trl":
        from trl import GRPOConfig, GRPOTrainer

        funcs, weights = build_rewards(rl)
        dataset, _ = data.prompt_dataset(collect_dir, rl, tokenizer)
        precision = hardware.training_precision("auto")  # bf16 only where the CPU computes it natively
        torch.set_num_threads(args.threads)
        config = GRPOConfig(
            output_dir=str(io.checkpoints),
            per_device_train_batch_size=rl.batch_size,
            gradient_accumulation_steps=rl.grad_accum,
            num_generations=rl.num_generations,
            max_completion_length=rl.max_completion_length,
            learning_rate=rl.learning_rate,
            lr_scheduler_type="constant",
            max_steps=rl.max_steps,
            beta=rl.beta,
            loss_type="dapo",
            temperature=1.0,
            reward_weights=weights,
            bf16=precision == "bf16",
            gradient_checkpointing=False,
            use_cpu=True,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            seed=0,
            data_seed=0,
            dataloader_num_workers=0,
            remove_unused_columns=False,
        )
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=funcs,
            args=config,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=driver.peft_config(rl.lora),
        )
    else:
        trainer, _ = algorithms.build_trainer(rl, model, tokenizer, collect_dir, io)
    timer = Timer()
    instrument(trainer, timer)
    shared = {"shared": 0, "full": 0}
    try:
        from trainpipe.rl import logprobs

        inner = logprobs.shared_prompt_logits

        def counted(*a, **k):
            out = inner(*a, **k)
            shared["full" if out is None else "shared"] += 1
            return out

        logprobs.shared_prompt_logits = counted
    except (ImportError, AttributeError):  # a revision without the shared-prompt pass
        pass
    if os.environ.get("RL_STEP_PROFILE"):  # op table of the loss forward and backward of the last microbatch
        from torch.profiler import profile

        loss = trainer.compute_loss

        def profiled(*a, **k):
            with profile() as prof:
                out = loss(*a, **k)
                out.backward(retain_graph=True)
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25), flush=True)
            return out

        trainer.compute_loss = profiled
    started = time.time()
    trainer.train()
    wall = time.time() - started
    rewards = [h["reward"] for h in trainer.state.log_history if "reward" in h]
    tokens = [h.get("completions/mean_length") for h in trainer.state.log_history if "reward" in h]
    generated = [h.get("generated_tokens") for h in trainer.state.log_history if "reward" in h]
    # share of rows whose advantage is nonzero, the rows the loss pass runs on (rl.logprobs.SignalRowsMixin)
    trained = [h.get("rows_trained") for h in trainer.state.log_history if "reward" in h]
    measured = timer.steps[args.warmup :]
    mean = {k: round(sum(s.get(k, 0.0) for s in measured) / len(measured), 3) for k in (*PHASES, "total")}
    mean["other"] = round(mean["total"] - sum(mean[k] for k in PHASES), 3)
    result = {
        "variant": args.child,
        "threads": torch.get_num_threads(),
        "precision": hardware.training_precision("auto"),
        "train_wall_seconds": round(wall, 1),
        "seconds_per_step": mean["total"],
        "breakdown": mean,
        "steps": timer.steps,
        "rewards": rewards,
        "completion_mean_length": tokens,
        "generated_tokens": generated,
        "rows_trained": trained,
        "logprob_passes": shared,
    }
    Path(args.json).write_text(json.dumps(result, indent=1))


def _mean(values: list | None) -> float | None:
    values = [v for v in values or [] if v is not None]
    return round(sum(values) / len(values), 1) if values else None


def _share(values: list | None) -> str | None:
    values = [v for v in values or [] if v is not None]
    return f"{sum(values) / len(values):.0%}" if values else None


def worktree(rev: str, where: Path) -> Path:
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(where), rev], cwd=REPO, check=True)
    return where


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, epilog=USAGE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variants", default="trainpipe,trl", help="comma list of trainpipe, tree, trl (plus --ref)")
    p.add_argument("--ref", help="also time trainpipe at this git revision")
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument("--steps", type=int, default=4, help="optimizer steps measured")
    p.add_argument("--warmup", type=int, default=1, help="optimizer steps run first and not measured")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--generations", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--grad-accum", type=int, default=2)
    p.add_argument("--completion-tokens", type=int, default=32)
    p.add_argument("--beta", type=float, default=0.0)
    p.add_argument("--items", type=int, default=400, help="arithmetic prompts collected")
    p.add_argument("--root", help="keep the run here (default: a temporary folder)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--json", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return 0
    root = Path(args.root or tempfile.mkdtemp(prefix="rl_step-"))
    collect(root, args.items, args.threads)
    variants = [(v, REPO / "src") for v in args.variants.split(",") if v]
    if args.ref:
        variants.insert(0, (f"trainpipe@{args.ref}", worktree(args.ref, root / "ref") / "src"))
    forwarded = [
        f"--{k.replace('_', '-')}={getattr(args, k)}"
        for k in ("model", "steps", "warmup", "threads", "generations", "batch_size", "grad_accum")
        + ("completion_tokens", "beta")
    ]
    results, started = [], time.time()
    for name, src in variants:
        out = root / f"{name.replace('@', '-')}.json"
        cmd = [sys.executable, __file__, f"--child={name}", f"--root={root}", f"--json={out}", *forwarded]
        env = {"PYTHONPATH": str(src), "OMP_NUM_THREADS": str(args.threads), "TOKENIZERS_PARALLELISM": "false"}
        proc = run_child(cmd, root / f"{name.replace('@', '-')}.log", env=env)
        row = {**proc, **(json.loads(out.read_text()) if proc["rc"] == 0 else {"variant": name})}
        results.append(row)
        print(f"{name}: rc {proc['rc']}, {row.get('seconds_per_step')} s/step", flush=True)
    if args.ref:
        subprocess.run(["git", "worktree", "remove", "--force", str(root / "ref")], cwd=REPO, check=False)
    headers = [
        "variant",
        "s/step",
        *PHASES,
        "other",
        "rewards per step",
        "sampled tokens/step",
        "rows in loss",
        "peak RSS MiB",
    ]
    rows = [
        [
            r["variant"],
            r.get("seconds_per_step"),
            *[r.get("breakdown", {}).get(k) for k in (*PHASES, "other")],
            " ".join(f"{x:.2f}" for x in r.get("rewards", [])),
            _mean(r.get("generated_tokens")),
            _share(r.get("rows_trained")),
            r.get("peak_rss_mib"),
        ]
        for r in results
    ]
    print(table(headers, rows))
    report = {
        "settings": vars(args),
        "wall_seconds": round(time.time() - started, 1),
        "load_end": load_average(),
        "results": results,
    }
    print("wrote", write_results("rl_step", report))
    return 0 if all(r["rc"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
