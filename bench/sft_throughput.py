#!/usr/bin/env python
"""SFT throughput (non-padding tokens/s), peak RSS and MFU of trainpipe's SFT stage vs TRL SFTTrainer (defaults and
hand-tuned) and knowlyr-trainer's sft: same model, data and machine, one child process per run, medians of repeats.
Prints markdown tables and writes bench/results/sft_throughput-<time>.json."""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, load_average, median_of, run_child, table, write_results  # noqa: E402
from mfu import LORA_TARGETS, Shape, train_flops  # noqa: E402

USAGE = """examples:
  python bench/sft_throughput.py --knowlyr-src /tmp/peers/knowlyr-agent/packages/trainer/src   # the comparison
  python bench/sft_throughput.py --ablations --modes lora                                       # what makes it fast
  python bench/sft_throughput.py --systems trainpipe --modes lora --ref HEAD~3                  # vs an earlier revision
  python bench/sft_throughput.py --model tiny-random --records 16 --repeats 1 --trl-default-steps 1  # plumbing"""
LORA = {"r": 16, "alpha": 32, "dropout": 0.0}
WORDS = (
    "the of and to in is that it for as with was on be by this are from or at an which have not but all "
    "they can one we more when there has their if will each about how up out them then she many some so "
    "these would other into time two like see could people than first water been way who its now find long "
    "down day did get come made may part model data train learn value answer question result number system "
    "function because between through small large first second simple example method problem different "
    "important process change follow show keep light river mountain garden market energy history language "
    "music science school family company country city world health food money story idea reason letter"
).split()
TASKS = (
    "Explain {} in simple terms.",
    "Write a short paragraph about {}.",
    "Summarize the following text about {}.",
    "List the main points of {}.",
    "Rewrite the sentence below so it is clearer.",
    "Answer the question about {}.",
    "Give three tips for {}.",
    "Translate the following note into plain English.",
    "Describe {} to a child.",
)


def sentence(rng: random.Random, n_words: int) -> str:
    words = [rng.choice(WORDS) for _ in range(max(1, n_words))]
    out, i = [], 0
    while i < len(words):  # sentences of 6-16 words read like text and tokenize like it
        k = rng.randint(6, 16)
        out.append(" ".join(words[i : i + k]).capitalize() + ".")
        i += k
    return " ".join(out)


def make_records(n: int, seed: int, lo: int = 20, hi: int = 400) -> list[dict]:
    """Alpaca-like records whose text is lo..hi words long, log-uniform (many short, a long tail), ~40% with input."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        total = int(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        instr_words = max(4, int(total * rng.uniform(0.08, 0.25)))
        input_words = int(total * rng.uniform(0.2, 0.4)) if rng.random() < 0.4 else 0
        topic = " ".join(rng.choice(WORDS) for _ in range(2))
        instruction = rng.choice(TASKS).format(topic) + " " + sentence(rng, instr_words - 5)
        records.append(
            {
                "instruction": instruction,
                "input": sentence(rng, input_words) if input_words else "",
                "output": sentence(rng, max(3, total - instr_words - input_words)),
                "id": f"bench-{i}",
            }
        )
    return records


@dataclass
class Run:
    system: str  # trainpipe | trl-default | trl-tuned | trl-tuned-bf16 | trl-tuned+gbl | knowlyr
    mode: str  # lora | full
    settings: dict = field(default_factory=dict)  # trainpipe: dotted overrides; trl/knowlyr: their own args
    env: dict = field(default_factory=dict)  # extra environment of the child (thread settings)
    name: str = ""

    @property
    def key(self) -> str:
        return self.name or f"{self.system}/{self.mode}"


TUNED = {"bf16": False, "gradient_checkpointing": False}


def comparison_runs(modes: list[str], systems: list[str], trl_batch: int, default_steps: int) -> list[Run]:
    """Hand-tuned TRL as the brief defines it: fp32, no checkpointing, a good batch size. This CPU computes bf16
    natively (AVX512-BF16), so trl-tuned-bf16 is the same with bf16 autocast, for an honest second reference."""
    per_system = {
        "trainpipe": {},
        "trl-default": {"max_steps": default_steps},
        "trl-tuned": {**TUNED, "per_device_train_batch_size": trl_batch},
        "trl-tuned-bf16": {**TUNED, "bf16": True, "per_device_train_batch_size": trl_batch},
        "trl-tuned+gbl": {
            **TUNED,
            "per_device_train_batch_size": trl_batch,
            "train_sampling_strategy": "group_by_length",
        },
        "knowlyr": {"bf16": False, "gradient_checkpointing": False},
    }
    return [Run(system, mode, dict(per_system[system])) for mode in modes for system in systems]


ABLATIONS = {  # trainpipe SFT variants on the same data: (dotted overrides, child environment)
    "default": ([], {}),
    "ce_kernel=trl (TRL's fused head)": (["sft.ce_kernel=trl"], {}),
    "fp32 (no bf16 autocast)": (["sft.precision=fp32"], {}),
    "packing (padding-free)": (["sft.packing=true"], {}),
    "no group_by_length": (["sft.group_by_length=false"], {}),
    "batch 4": (["sft.batch_size=4"], {}),
    "batch 16": (["sft.batch_size=16"], {}),
    "batch 32": (["sft.batch_size=32"], {}),
    "batch 4 x accum 2": (["sft.batch_size=4", "sft.grad_accum=2"], {}),
    "gradient checkpointing": (["sft.gradient_checkpointing=on"], {}),
    "torch.compile": (["sft.torch_compile=true"], {}),
    "1 thread": (["sft.num_threads=1"], {}),
    "2 threads": (["sft.num_threads=2"], {}),
    "2 threads, OMP_WAIT_POLICY=PASSIVE": (["sft.num_threads=2"], {"OMP_WAIT_POLICY": "PASSIVE"}),
}


def ablation_runs(modes: list[str], names: list[str] | None) -> list[Run]:
    chosen = names or list(ABLATIONS)
    return [
        Run("trainpipe", mode, {"overrides": ABLATIONS[n][0]}, dict(ABLATIONS[n][1]), name=f"trainpipe/{mode}: {n}")
        for mode in modes
        for n in chosen
    ]


# ---- setup -----------------------------------------------------------------------------------------------


def prepare(root: Path, model: str, n_records: int, seed: int) -> dict:
    """Write the dataset, collect it with trainpipe, and derive the TRL and knowlyr files from the collected split."""
    root.mkdir(parents=True, exist_ok=True)
    data = root / "bench-data"
    data.mkdir(exist_ok=True)
    with open(data / "alpaca.jsonl", "w", encoding="utf-8") as fh:
        for rec in make_records(n_records, seed):
            fh.write(json.dumps(rec) + "\n")
    config = data / "bench.yaml"
    config.write_text(BENCH_CONFIG.format(model=model, data=data / "alpaca.jsonl"), encoding="utf-8")
    done = run_child(
        [sys.executable, str(REPO / "scripts" / "1_collect_data.py"), "--config", str(config), f"paths.root={root}"],
        root / "bench-logs" / "collect.log",
    )
    if done["rc"] != 0:
        raise SystemExit(f"collect failed; see {done['log']}")
    return _derive(root, config, data)


BENCH_CONFIG = """# written by bench/sft_throughput.py
model: {{base: {model}}}
data:
  sources: [{{kind: file, path: {data}, format: alpaca}}]
  eval_fraction: 0.0
  dedup: none
  max_length: 512
sft:
  epochs: 1
  save_steps: 1000000
  logging_steps: 10
  resume: never
  lora: {{enabled: true, r: 16, alpha: 32, dropout: 0.0, target_modules: [all-linear]}}
evaluate: {{enabled: false}}
deploy: {{enabled: false}}
"""


def _derive(root: Path, config: Path, data: Path) -> dict:
    from transformers import AutoConfig

    from trainpipe.artifacts import Layout
    from trainpipe.config import load_config
    from trainpipe.data.store import load_split
    from trainpipe.models.load import ensure_base, load_tokenizer
    from trainpipe.training.sft_data import build_examples

    cfg = load_config(str(config), [f"paths.root={root}"])
    model_dir = Path(ensure_base(cfg.model, Layout(root)))
    tok = load_tokenizer(model_dir, cfg.model)
    records = list(load_split(root / "data_cache" / "collect", "sft", "train"))
    examples, _ = build_examples(records, tok, cfg.sft, cfg.data.max_length)
    with (
        open(data / "trl.jsonl", "w", encoding="utf-8") as trl,
        open(data / "knowlyr.jsonl", "w", encoding="utf-8") as kn,
    ):
        for rec in records:
            msgs = [{"role": m["role"], "content": m["content"]} for m in rec["messages"]]
            trl.write(json.dumps({"prompt": msgs[:-1], "completion": msgs[-1:]}) + "\n")
            # knowlyr renders [user: instruction] + [assistant: response]: the same conversation as ours
            kn.write(
                json.dumps(
                    {
                        "instruction": msgs[0]["content"],
                        "input": "",
                        "response": msgs[1]["content"],
                        "task_id": rec["id"],
                        "reward": 1.0,
                    }
                )
                + "\n"
            )
    lengths = [len(e["input_ids"]) for e in examples]
    return {
        "root": str(root),
        "config": str(config),
        "model_dir": str(model_dir),
        "records": len(records),
        "trl_file": str(data / "trl.jsonl"),
        "knowlyr_file": str(data / "knowlyr.jsonl"),
        "lengths": lengths,
        "labelled": sum(sum(x != -100 for x in e["labels"]) for e in examples),
        "shape": asdict(Shape.from_config(AutoConfig.from_pretrained(model_dir))),
    }


# ---- running -------------------------------------------------------------------------------------------


def execute(run: Run, setup: dict, index: int, knowlyr_src: str | None, common_env: dict) -> dict:
    root = Path(setup["root"])
    log = root / "bench-logs" / f"{index:03d}-{run.key.replace('/', '_').replace(' ', '_').replace(':', '')}.log"
    env = {"TOKENIZERS_PARALLELISM": "false", **common_env, **run.env}
    if run.system == "trainpipe":
        src = Path(run.settings.get("checkout", REPO))  # --ref: an earlier revision's worktree
        if src != REPO:
            env["PYTHONPATH"] = str(src / "src")
        cmd = [
            sys.executable,
            str(src / "scripts" / "3_train_sft.py"),
            "--config",
            setup["config"],
            "--force",
            f"paths.root={root}",
            f"sft.lora.enabled={str(run.mode == 'lora').lower()}",
            *run.settings.get("overrides", []),
        ]
        child = run_child(cmd, log, env)
        result = _trainpipe_result(root) if child["rc"] == 0 else {}
    else:
        spec = {
            "system": run.system,
            "mode": run.mode,
            "settings": run.settings,
            "setup": setup,
            "knowlyr_src": knowlyr_src,
            "out": str(root / "bench-out" / f"{index:03d}"),
            "result": str(root / "bench-out" / f"{index:03d}.json"),
        }
        Path(spec["out"]).mkdir(parents=True, exist_ok=True)
        spec_path = Path(spec["out"]) / "spec.json"
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        child = run_child([sys.executable, str(Path(__file__).resolve()), "--worker", str(spec_path)], log, env)
        result = json.loads(Path(spec["result"]).read_text()) if child["rc"] == 0 else {}
    row = {
        "key": run.key,
        "system": run.system,
        "mode": run.mode,
        "settings": run.settings,
        "env": env,
        **child,
        **result,
    }
    if result.get("train_seconds"):
        row["tokens_per_s"] = round(result["tokens"] / result["train_seconds"], 1)
    return row


def _trainpipe_result(root: Path) -> dict:
    m = json.loads((root / "models" / "sft" / "manifest.json").read_text())["metrics"]
    return {
        "train_seconds": m["train_seconds"],
        "tokens": m["tokens_seen"],
        "steps": m["steps"],
        "train_loss": m["train_loss"],
        "precision": m.get("precision"),
        "ce_kernel": m.get("ce_kernel"),
        "threads": m.get("cpu_threads"),
    }


def worker(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    result = _knowlyr_worker(spec) if spec["system"] == "knowlyr" else _trl_worker(spec)
    Path(spec["result"]).write_text(json.dumps(result), encoding="utf-8")


def _trl_worker(spec: dict) -> dict:
    import time

    import torch
    from datasets import load_dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    setup, settings = spec["setup"], dict(spec["settings"])
    tok = AutoTokenizer.from_pretrained(setup["model_dir"])
    model = AutoModelForCausalLM.from_pretrained(setup["model_dir"], dtype=torch.float32)
    data = load_dataset("json", data_files=setup["trl_file"], split="train")
    if "max_steps" not in settings:
        settings["num_train_epochs"] = 1
    # Counting tokens, reporting nowhere and use_cpu (bf16 refuses to start on a CPU without it) are
    # bookkeeping, not tuning: the same for every TRL run.
    args = SFTConfig(
        output_dir=spec["out"],
        report_to="none",
        include_num_input_tokens_seen="non_padding",
        use_cpu=True,
        save_strategy="no",
        **settings,
    )
    peft = (
        LoraConfig(
            r=LORA["r"],
            lora_alpha=LORA["alpha"],
            lora_dropout=LORA["dropout"],
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        )
        if spec["mode"] == "lora"
        else None
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tok, peft_config=peft)
    threads = torch.get_num_threads()
    started = time.time()
    out = trainer.train()
    seconds = time.time() - started
    return {
        "train_seconds": round(seconds, 2),
        "tokens": int(trainer.state.num_input_tokens_seen),
        "steps": trainer.state.global_step,
        "train_loss": round(out.training_loss, 4),
        "dataset_tokens": sum(len(x) for x in trainer.train_dataset["input_ids"]),
        "precision": "bf16" if args.bf16 else "fp32",
        "gradient_checkpointing": args.gradient_checkpointing,
        "batch_size": args.per_device_train_batch_size,
        "threads": threads,
    }


def _knowlyr_worker(spec: dict) -> dict:
    """knowlyr-trainer's own SFT loop, timed from outside: loop time minus model loading and final save."""
    import time

    if not spec.get("knowlyr_src"):
        raise SystemExit("knowlyr needs --knowlyr-src <checkout>/packages/trainer/src")
    sys.path.insert(0, spec["knowlyr_src"])
    from agenttrainer.config import SFTConfig
    from agenttrainer.trainers import sft as ksft

    setup = spec["setup"]
    seen = {"tokens": 0, "batches": 0, "load": 0.0, "save": 0.0}

    class CountingCollator(ksft.SFTCollator):
        def __call__(self, batch):
            out = super().__call__(batch)
            seen["tokens"] += int(out["attention_mask"].sum())
            seen["batches"] += 1
            return out

    def timed(fn, key):
        def wrapper(*a, **k):
            t = time.time()
            try:
                return fn(*a, **k)
            finally:
                seen[key] += time.time() - t

        return wrapper

    ksft.SFTCollator = CountingCollator
    ksft.load_model = timed(ksft.load_model, "load")
    ksft.SFTTrainer._save_final = timed(ksft.SFTTrainer._save_final, "save")
    lora = spec["mode"] == "lora"
    cfg = SFTConfig(
        model_name_or_path=setup["model_dir"],
        train_file=setup["knowlyr_file"],
        output_dir=spec["out"],
        num_epochs=1,
        max_length=1024,
        save_steps=0,
        use_lora=lora,
        lora_r=LORA["r"],
        lora_alpha=LORA["alpha"],
        lora_dropout=LORA["dropout"],
        lora_target_modules=list(LORA_TARGETS),
        **spec["settings"],
    )
    import torch

    threads = torch.get_num_threads()
    started = time.time()
    ksft.SFTTrainer(cfg).train()
    seconds = time.time() - started - seen["load"] - seen["save"]
    return {
        "train_seconds": round(seconds, 2),
        "tokens": seen["tokens"],
        "steps": seen["batches"],
        "batch_size": cfg.batch_size,
        "grad_accum": cfg.gradient_accumulation_steps,
        "precision": "bf16" if cfg.bf16 else "fp32",
        "threads": threads,
    }


# ---- report --------------------------------------------------------------------------------------------


def peak(threads: int, env: dict, root: Path) -> dict:
    """The matmul peak in a fresh child with the runs' environment (thread settings change it)."""
    out = root / "bench-out" / f"peak-{len(list((root / 'bench-out').glob('peak-*')))}.log"
    child = run_child(
        [sys.executable, str(Path(__file__).resolve().parent / "mfu.py"), "--threads", str(threads)], out, env
    )
    rates = json.loads(out.read_text().strip().splitlines()[-1])
    return {r["dtype"]: r for r in rates} | {"load": child["load_before"]}


def _median_or_none(values: list) -> float | None:
    """The median of the measured rates; None where none was measured (bf16 on a CPU without native bf16)."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _rate(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "not measured (no native bf16)"


def summarise(rows: list[dict], setup: dict, peaks: dict) -> list[dict]:
    """Medians per run key; MFU against the median matmul peak measured with the run's own thread count."""
    shape = Shape(**setup["shape"])
    flops_per_token = {
        mode: train_flops(shape, setup["lengths"], setup["labelled"], LORA["r"] if mode == "lora" else None)
        / sum(setup["lengths"])
        for mode in ("lora", "full")
    }
    out = []
    for key in dict.fromkeys(r["key"] for r in rows):
        runs = [r for r in rows if r["key"] == key and r.get("tokens_per_s")]
        failed = sum(1 for r in rows if r["key"] == key and not r.get("tokens_per_s"))
        if not runs:
            out.append({"key": key, "runs": 0, "failed": failed})
            continue
        tps = median_of(runs, "tokens_per_s")
        achieved = tps * flops_per_token[runs[0]["mode"]]
        threads = runs[0].get("threads") or 2
        peak = peaks.get(threads) or peaks[max(peaks)]
        out.append(
            {
                "key": key,
                "system": runs[0]["system"],
                "mode": runs[0]["mode"],
                "runs": len(runs),
                "failed": failed,
                "tokens_per_s": round(tps, 1),
                "threads": threads,
                "min": min(r["tokens_per_s"] for r in runs),
                "max": max(r["tokens_per_s"] for r in runs),
                "peak_rss_mib": round(median_of(runs, "peak_rss_mib")),
                "tokens": runs[0]["tokens"],
                "gflops": round(achieved / 1e9, 1),
                "mfu_fp32": round(achieved / (peak["float32"] * 1e9), 3),
                "mfu_bf16": round(achieved / (peak["bfloat16"] * 1e9), 3) if peak["bfloat16"] else None,
                "precision": runs[0].get("precision"),
                "load": round(statistics.mean((r["load_before"][0] + r["load_after"][0]) / 2 for r in runs), 2),
            }
        )
    return out


def render(summary: list[dict]) -> str:
    ref = {(s.get("system"), s.get("mode")): s.get("tokens_per_s") for s in summary}
    rows = []
    for s in summary:
        if not s["runs"]:
            rows.append([s["key"], "", "", 0, "failed"] + [""] * 9)
            continue

        def vs(other, s=s):
            return f"{s['tokens_per_s'] / ref[(other, s['mode'])]:.2f}x" if ref.get((other, s["mode"])) else ""

        rows.append(
            [
                s["key"],
                s["precision"],
                s["threads"],
                s["runs"],
                s["tokens_per_s"],
                f"{s['min']}-{s['max']}",
                s["peak_rss_mib"],
                s["gflops"],
                f"{100 * s['mfu_fp32']:.0f}%",
                f"{100 * s['mfu_bf16']:.0f}%" if s["mfu_bf16"] is not None else "– (no native bf16)",
                vs("trl-tuned"),
                vs("trl-tuned-bf16"),
                vs("knowlyr"),
                s["load"],
            ]
        )
    return table(
        [
            "run",
            "precision",
            "threads",
            "n",
            "tokens/s (median)",
            "range",
            "peak RSS MiB",
            "GFLOP/s",
            "MFU fp32 peak",
            "MFU bf16 peak",
            "vs TRL tuned",
            "vs TRL tuned bf16",
            "vs knowlyr",
            "load avg",
        ],
        rows,
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, epilog=USAGE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--model", default="smollm2-135m-instruct", help="model.base for every system")
    p.add_argument("--records", type=int, default=128, help="alpaca-like records (one epoch each run)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=3, help="runs of each system (medians are reported)")
    p.add_argument("--modes", nargs="+", default=["lora", "full"], choices=["lora", "full"])
    p.add_argument(
        "--systems",
        nargs="+",
        default=["trainpipe", "trl-tuned", "knowlyr", "trl-default"],
        choices=["trainpipe", "trl-default", "trl-tuned", "trl-tuned-bf16", "trl-tuned+gbl", "knowlyr"],
    )
    p.add_argument("--trl-batch", type=int, default=8, help="hand-tuned TRL per-device batch size")
    p.add_argument("--trl-default-steps", type=int, default=4, help="TRL defaults are slow: train this many steps")
    p.add_argument("--ablations", action="store_true", help="trainpipe variants instead of the peer comparison")
    p.add_argument("--only", nargs="+", help="ablation names to run (default: all)")
    p.add_argument(
        "--knowlyr-src",
        default=os.environ.get("KNOWLYR_TRAINER_SRC"),
        help="<knowlyr-agent checkout>/packages/trainer/src (or env KNOWLYR_TRAINER_SRC)",
    )
    p.add_argument(
        "--env",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="environment for every system's runs alike (e.g. OMP_WAIT_POLICY=PASSIVE)",
    )
    p.add_argument("--ref", help="also run trainpipe's SFT at this git revision (a temporary worktree)")
    p.add_argument("--root", help="work folder (default: a fresh temporary one)")
    p.add_argument("--out", help="results folder (default: bench/results)")
    args = p.parse_args()
    if args.worker:
        worker(args.worker)
        return 0
    systems = [s for s in args.systems if s != "knowlyr" or args.knowlyr_src]
    if "knowlyr" in args.systems and not args.knowlyr_src:
        print("knowlyr: skipped (no --knowlyr-src / KNOWLYR_TRAINER_SRC)", file=sys.stderr)
    root = Path(args.root or tempfile.mkdtemp(prefix="trainpipe-bench-sft-")).resolve()
    setup = prepare(root, args.model, args.records, args.seed)
    lengths = sorted(setup["lengths"])
    print(
        f"data: {setup['records']} records, {sum(lengths)} tokens, lengths {lengths[0]}-{lengths[-1]} "
        f"(median {lengths[len(lengths) // 2]}), {setup['labelled']} labelled",
        file=sys.stderr,
    )
    runs = (
        ablation_runs(args.modes, args.only)
        if args.ablations
        else comparison_runs(args.modes, systems, args.trl_batch, args.trl_default_steps)
    )
    if args.ref:  # the same runs of trainpipe at the earlier revision, interleaved with the rest
        checkout = root / "ref"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(checkout), args.ref], cwd=REPO, check=True)
        runs = [
            Run("trainpipe", r.mode, {**r.settings, "checkout": str(checkout)}, r.env, f"trainpipe@{args.ref}/{r.mode}")
            for r in runs
            if r.system == "trainpipe" and not r.name
        ] + runs
    common_env = dict(e.split("=", 1) for e in args.env)
    (root / "bench-out").mkdir(exist_ok=True)
    samples = [peak(t, common_env, root) | {"threads": t} for t in (1, 2)]
    rows = []
    for rep in range(args.repeats):
        for run in runs:  # interleaved, so drifting load hits every system alike
            if run.system == "trl-default" and rep > 0:
                continue  # many times slower than the rest: one run says enough
            row = execute(run, setup, len(rows), args.knowlyr_src, common_env)
            rows.append(row)
            print(
                f"[{len(rows)}] {run.key}: {row.get('tokens_per_s')} tok/s, {row['peak_rss_mib']} MiB, "
                f"load {row['load_before'][0]}->{row['load_after'][0]} (rc {row['rc']})",
                file=sys.stderr,
            )
    samples += [peak(t, common_env, root) | {"threads": t} for t in (1, 2)]
    peaks = {
        t: {
            d: _median_or_none([p[d]["gflops_median"] for p in samples if p["threads"] == t])
            for d in ("float32", "bfloat16")
        }
        for t in (1, 2)
    }
    summary = summarise(rows, setup, peaks)
    text = render(summary)
    print(text)
    print(
        "\nmatmul peak (2048², median of before/after; GFLOP/s): "
        + "; ".join(f"{t} thread(s): fp32 {p['float32']:.1f}, bf16 {_rate(p['bfloat16'])}" for t, p in peaks.items())
        + f"; load average now {load_average()}"
    )
    path = write_results(
        "sft_throughput" + ("-ablations" if args.ablations else ""),
        {
            "args": vars(args),
            "data": {k: v for k, v in setup.items() if k != "lengths"}
            | {"tokens": sum(lengths), "min_len": lengths[0], "max_len": lengths[-1]},
            "peak_samples": samples,
            "peaks": peaks,
            "summary": summary,
            "runs": rows,
            "table": text,
        },
        args.out,
    )
    print(f"results: {path}", file=sys.stderr)
    if args.ref:
        subprocess.run(["git", "worktree", "remove", "--force", str(root / "ref")], cwd=REPO, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
