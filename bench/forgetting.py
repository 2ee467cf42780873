#!/usr/bin/env python
"""Benchmark: levers against forgetting, side by side on the same data. One root holds collect and the base model's
evaluation; each lever reruns SFT (forced) and evaluate with its overrides, and the table reports task accuracy,
retention test accuracy, general-text perplexity (test part), the paired tests against base and the wall time.
Writes bench/results/forgetting-<time>.json and prints a markdown table."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, run_child, write_results  # noqa: E402

USAGE = """examples:
  python bench/forgetting.py                               # every lever on the embedded model (about 2.5 hours)
  python bench/forgetting.py --levers ce replay            # some of them
  python bench/forgetting.py --model tiny-random --levers ce replay -- sft.max_steps=2   # mechanics in minutes"""

# Each lever: overrides on top of config.yaml. Every row trains on the same collected data from the same base.
LEVERS: dict[str, list[str]] = {
    "ce": ["sft.loss=ce", "sft.replay.ratio=0"],
    "nlirg": ["sft.loss=nlirg", "sft.replay.ratio=0"],
    "dft": ["sft.loss=dft", "sft.replay.ratio=0"],
    "replay-ce": ["sft.replay.ce=true", "sft.replay.kl_weight=0"],  # CE on the start model's greedy answers
    "replay-ce-kl": ["sft.replay.ce=true", "sft.replay.kl_weight=1.0"],
    "replay-kl": [],  # the default: replay answers kept by KL(start ‖ model) alone
    "replay-kl-self": ["sft.replay.pool=self"],
    "lora-r8-attn": ["sft.lora.r=8", "sft.lora.alpha=16", "sft.lora.target_modules=[q_proj,k_proj,v_proj,o_proj]"],
    "lr-2e-4": ["sft.learning_rate=2e-4"],
    "select": ["sft.select.enabled=true"],  # the default plus checkpoint selection on the dev suites
}
TEXT = ("retention_text_test", "retention_text")  # the test part, else the unsplit suite of older layouts
QA = ("retention_test", "retention")


def run(root: Path, overrides: list[str], stages: list[str], log: Path) -> dict:
    cmd = [
        sys.executable,
        str(REPO / "scripts" / "run_full_pipeline.py"),
        "--config",
        str(REPO / "config.yaml"),
        *stages,
        f"paths.root={root}",
        "evaluate.gate=false",
        "deploy.enabled=false",
        *overrides,
    ]
    print("$", " ".join(cmd), flush=True)
    out = run_child(cmd, log)
    if out["rc"] != 0:
        raise SystemExit(f"run failed (exit {out['rc']}); see {log}")
    return out


def row(root: Path, lever: str, wall: float) -> dict:
    """The lever's figures from logs/evaluate/metrics.json: per suite the sft result and sft-vs-base paired test."""
    metrics = json.loads((root / "logs" / "evaluate" / "metrics.json").read_text())
    results, comps = metrics["results"], metrics["comparisons"]
    versus = next(c for c in comps if (c["model"], c["baseline"]) == ("sft", "base"))
    out = {"lever": lever, "wall_seconds": round(wall, 1), "suites": {}}
    for suite, res in results["sft"].items():
        base = results["base"][suite]
        out["suites"][suite] = {
            "base": _score(base),
            "sft": _score(res),
            "lo": res["lo"],
            "hi": res["hi"],
            "paired": versus["suites"].get(suite, {}).get("paired"),
        }
    out["gate"] = metrics.get("gate", {}).get("passed")
    return out


def _score(result: dict) -> float:
    return round(result["perplexity"], 3) if result["kind"] == "text" else round(result["mean"], 4)


def table(rows: list[dict], task: str) -> str:
    lines = [
        "| lever | task | retention test | paired (better/worse, p) | text ppl | paired docs | gate | wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        s = r["suites"]
        qa = next((s[k] for k in QA if k in s), None)
        text = next((s[k] for k in TEXT if k in s), None)
        lines.append(
            f"| {r['lever']} | {_cell(s.get(task))} | {_cell(qa)} | {_pair(qa)} | {_ppl(text)} | "
            f"{_pair(text)} | {'pass' if r['gate'] else 'fail'} | {r['wall_seconds']:.0f} |"
        )
    return "\n".join(lines)


def _cell(s: dict | None) -> str:
    return "–" if s is None else f"{s['base']:.3f} → {s['sft']:.3f} [{s['lo']:.3f}, {s['hi']:.3f}]"


def _ppl(s: dict | None) -> str:
    return "–" if s is None else f"{s['base']:.2f} → {s['sft']:.2f}"


def _pair(s: dict | None) -> str:
    p = (s or {}).get("paired")
    return "–" if not p else f"{p['better']}/{p['worse']}, p={p['p']:.2g}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, epilog=USAGE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--levers", nargs="+", default=list(LEVERS), choices=list(LEVERS))
    p.add_argument("--model", default=None, help="model.base override (default: config.yaml's embedded model)")
    p.add_argument("--root", default=None, help="pipeline root (default: a fresh temporary folder)")
    p.add_argument("--task", default="arithmetic", help="the task suite to report")
    p.add_argument("extra", nargs="*", help="more dotted.key=value overrides for every lever, applied last")
    args = p.parse_args()
    root = Path(args.root or tempfile.mkdtemp(prefix="trainpipe-bench-forget-")).resolve()
    common = ([f"model.base={args.model}"] if args.model else []) + args.extra
    logs = root / "bench-logs"
    run(root, common + LEVERS[args.levers[0]], ["--to", "collect"], logs / "collect.log")
    rows = []
    for lever in args.levers:
        started = time.time()
        run(root, common + LEVERS[lever], ["--from", "sft", "--to", "evaluate", "--force"], logs / f"{lever}.log")
        rows.append(row(root, lever, time.time() - started))
        shutil.copy2(root / "logs" / "evaluate" / "metrics.json", logs / f"{lever}-metrics.json")
        print(table(rows, args.task), flush=True)
    report = {
        "root": str(root),
        "levers": {k: LEVERS[k] for k in args.levers},
        "extra": common,
        "rows": rows,
        "table": table(rows, args.task),
    }
    print(f"results: {write_results('forgetting', report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
