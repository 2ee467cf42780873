#!/usr/bin/env python
"""Benchmark (not CI): SFT with `ce` vs `nlirg` on arithmetic with 0% / 30% corrupted answers; held-out accuracy,
retention on prompts the base model solves, and how many corrupted records the quality scorer ranks in its top 30%.
Runs the pipeline's collect and sft stages under a temporary paths.root; writes bench/results/nlirg_noise-*.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parents[1]
LOSSES = ("ce", "nlirg")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--base", default="smollm2-135m-instruct", help="model.base (tiny-random only checks plumbing)")
    p.add_argument("--n-train", type=int, default=240, help="SFT records per run")
    p.add_argument("--n-eval", type=int, default=80, help="held-out arithmetic prompts")
    p.add_argument("--n-pool", type=int, default=80, help="candidate prompts for the retention set")
    p.add_argument("--noise", type=float, default=0.3, help="share of training answers corrupted")
    p.add_argument("--difficulty", type=int, default=1)
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--root", default=None, help="paths.root parent (default: a temporary folder)")
    p.add_argument("--out", default=str(REPO / "bench" / "results"))
    p.add_argument("--quick", action="store_true", help="tiny sizes to prove the benchmark runs (minutes)")
    args = p.parse_args(argv)
    if args.quick:
        args.n_train, args.n_eval, args.n_pool, args.max_new_tokens = 48, 16, 16, 24
    return args


def make_items(args):
    """(train, held-out, retention pool) TaskItems with pairwise distinct prompts."""
    from trainpipe.tasks import get_task

    task = get_task("arithmetic")
    items = task.generate(args.seed, args.n_train + args.n_eval, args.difficulty)
    train, held = items[: args.n_train], items[args.n_train :]
    seen = {i.prompt for i in items}
    pool = [i for i in task.generate(args.seed + 1, 3 * args.n_pool, args.difficulty) if i.prompt not in seen]
    return train, held, pool[: args.n_pool]


def corrupt(solution: str, rng: random.Random) -> str:
    """Move the final number (the Answer line) by a nonzero offset of at most 9."""
    match = list(re.finditer(r"-?\d+", solution))[-1]
    wrong = int(match.group()) + rng.choice([d for d in range(-9, 10) if d])
    return solution[: match.start()] + str(wrong) + solution[match.end() :]


def write_train_file(items, noise: float, seed: int, path: Path) -> set[str]:
    """Chat JSONL of the training items with `noise` of the answers corrupted; returns the corrupted prompts."""
    rng = random.Random(seed)
    bad = set(rng.sample(range(len(items)), round(noise * len(items))))
    with open(path, "w", encoding="utf-8") as fh:
        for i, item in enumerate(items):
            answer = corrupt(item.solution, rng) if i in bad else item.solution
            fh.write(
                json.dumps(
                    {"messages": [{"role": "user", "content": item.prompt}, {"role": "assistant", "content": answer}]}
                )
                + "\n"
            )
    return {items[i].prompt for i in bad}


def overrides(args, root: Path, data_file: Path, loss: str, score: bool) -> list[str]:
    return [
        f"paths.root={root}",
        f"model.base={args.base}",
        f"data.sources=[{{kind: file, path: {data_file}, use: sft}}]",
        "data.eval_fraction=0",
        "data.dedup=exact",  # the bench holds out its own prompts
        f"data.quality.score={str(score).lower()}",
        "data.quality.drop_top=0",
        f"sft.loss={loss}",
        f"sft.epochs={args.epochs}",
        f"sft.learning_rate={args.lr}",
        f"sft.batch_size={args.batch_size}",
        "sft.save_steps=100000",
        "sft.logging_steps=5",
        f"sft.seed={args.seed}",
        f"evaluate.max_new_tokens={args.max_new_tokens}",
        "evaluate.batch_size=16",
    ]


def accuracy(cfg, model_dir: Path, suites: dict[str, list]) -> dict[str, dict]:
    """Greedy accuracy per named item list, scored by the task family, with the project's Jeffreys interval."""
    from trainpipe.evaluation.stats import summarize
    from trainpipe.models.load import load_model, load_tokenizer
    from trainpipe.tasks import get_task
    from trainpipe.training.generation import generate_completions

    tokenizer = load_tokenizer(model_dir, cfg.model, padding_side="left")
    model = load_model(model_dir, cfg.model)
    out = {}
    for name, items in suites.items():
        if not items:
            out[name] = {"n": 0, "mean": None, "lo": None, "hi": None, "scores": []}
            continue
        texts = [
            [c.text for c in per]
            for per in generate_completions(
                model, tokenizer, [i.prompt for i in items], cfg.evaluate.max_new_tokens, cfg.evaluate.batch_size
            )
        ]
        scores = [get_task(i.task).score(t[0], i.answer) for i, t in zip(items, texts)]
        s = summarize(scores, cfg.evaluate.level)
        out[name] = {"n": s.n, "mean": s.mean, "lo": s.lo, "hi": s.hi, "scores": scores, "example": texts[0][0]}
    return out


def scorer_recall(root: Path, corrupted: set[str], top: float = 0.3) -> dict:
    """How many corrupted records the quality report (logs/sft/quality.jsonl) ranks in its worst `top` share."""
    from trainpipe.data.store import load_split

    train = load_split(root / "data_cache" / "collect", "sft", "train")
    prompts = {r["id"]: r["messages"][0]["content"] for r in train}
    rows = [json.loads(line) for line in (root / "logs" / "sft" / "quality.jsonl").read_text().splitlines()]
    head = rows[: int(top * len(rows))]
    hits = sum(prompts[r["id"]] in corrupted for r in head)
    # Records with nothing flagged tie at score 0 (ranked by id), so also report the flagged ones alone.
    flagged = [r for r in rows if r["score"] > 0]
    return {
        "records": len(rows),
        "corrupted": len(corrupted),
        "top_share": top,
        "top_records": len(head),
        "corrupted_in_top": hits,
        "recall": hits / max(1, len(corrupted)),
        "precision": hits / max(1, len(head)),
        "flagged_records": len(flagged),
        "corrupted_among_flagged": sum(prompts[r["id"]] in corrupted for r in flagged),
    }


def run_one(args, root: Path, data_file: Path, loss: str, score: bool, suites) -> dict:
    """collect + sft through the pipeline, then accuracy of the published SFT model."""
    from trainpipe.config import load_config
    from trainpipe.pipeline import run_stage

    cfg = load_config(str(REPO / "config.yaml"), overrides(args, root, data_file, loss, score))
    started = time.time()
    run_stage(cfg, "collect")
    manifest = run_stage(cfg, "sft", force=True)
    result = accuracy(cfg, root / "models" / "sft", suites)
    m = manifest["metrics"]
    return {
        "loss": loss,
        "train_loss": m["train_loss"],
        "steps": m["steps"],
        "train_seconds": m["train_seconds"],
        "seconds": round(time.time() - started, 1),
        **{name: _summary(r) for name, r in result.items()},
    }


def _summary(r: dict) -> dict:
    return {k: r.get(k) for k in ("n", "mean", "lo", "hi", "example")}


def base_model(args, root: Path, held, pool):
    """Base model accuracy on held-out and pool; the retention set is the pool items it solves."""
    from trainpipe.artifacts import Layout
    from trainpipe.config import load_config
    from trainpipe.models.load import ensure_base

    cfg = load_config(str(REPO / "config.yaml"), overrides(args, root, root / "unused.jsonl", "ce", False))
    path = ensure_base(cfg.model, Layout(root))
    res = accuracy(cfg, path, {"heldout": held, "pool": pool})
    retention = [item for item, s in zip(pool, res["pool"]["scores"]) if s == 1.0]
    return cfg, {name: _summary(r) for name, r in res.items()}, retention


def table(base: dict, runs: list[dict], recall: dict | None) -> str:
    lines = [
        f"{'model':<8} {'noise':>5}  {'held-out acc':>22}  {'retention':>22}  {'train loss':>10}",
        f"{'base':<8} {'-':>5}  {_acc(base['heldout']):>22}  {'1.000 (by construction)':>22}  {'-':>10}",
    ]
    for r in runs:
        lines.append(
            f"{r['loss']:<8} {r['noise']:>5.0%}  {_acc(r['heldout']):>22}  {_acc(r['retention']):>22}"
            f"  {r['train_loss']:>10.4f}"
        )
    if recall:
        lines.append(
            f"quality scorer (base model): {recall['corrupted_in_top']}/{recall['corrupted']} corrupted "
            f"records in its top {recall['top_share']:.0%} (recall {recall['recall']:.2f}, "
            f"precision {recall['precision']:.2f}; chance {recall['top_share']:.2f}); "
            f"{recall['corrupted_among_flagged']}/{recall['flagged_records']} flagged records are corrupted"
        )
    return "\n".join(lines)


def _acc(s: dict) -> str:
    if not s.get("n"):
        return "n/a (empty)"
    return f"{s['mean']:.3f} [{s['lo']:.2f},{s['hi']:.2f}] n={s['n']}"


def main(argv=None) -> int:
    args = parse_args(argv)
    train, held, pool = make_items(args)
    parent = Path(args.root or tempfile.mkdtemp(prefix="nlirg-noise-"))
    parent.mkdir(parents=True, exist_ok=True)
    started = time.time()
    cfg, base, retention = base_model(args, parent / "noise-0", held, pool)
    print(
        f"base model: held-out {_acc(base['heldout'])}; retention set {len(retention)}/{len(pool)} pool prompts",
        flush=True,
    )
    suites = {"heldout": held, "retention": retention}
    runs, recall = [], None
    for noise in (0.0, args.noise):
        root = parent / f"noise-{round(noise * 100)}"
        root.mkdir(parents=True, exist_ok=True)
        corrupted = write_train_file(train, noise, args.seed, root / "train.jsonl")
        for loss in LOSSES:
            score = noise > 0 and loss == "ce"  # the scorer reads the base model, so one run suffices
            runs.append({"noise": noise, **run_one(args, root, root / "train.jsonl", loss, score, suites)})
            print(
                f"  {loss} @ {noise:.0%}: held-out {_acc(runs[-1]['heldout'])}, "
                f"retention {_acc(runs[-1]['retention'])}",
                flush=True,
            )
            if score:
                recall = scorer_recall(root, corrupted)
    report = table(base, runs, recall)
    print(report)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"nlirg_noise-{time.strftime('%Y%m%d-%H%M%S')}{'-quick' if args.quick else ''}.json"
    path.write_text(
        json.dumps(
            {
                "args": vars(args),
                "base": base,
                "retention_size": len(retention),
                "runs": runs,
                "quality_scorer": recall,
                "seconds": round(time.time() - started, 1),
                "table": report,
            },
            indent=2,
        )
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
