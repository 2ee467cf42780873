"""Checkpoint selection on dev suites only: each saved checkpoint of a training run is scored on held-back task
prompts and the dev parts of the retention suites; the candidates that lose no dev suite against the starting
model (the gate's rule) are kept, and of those not Pareto-dominated on the dev means the one with the best task
score is chosen (ties: better retention, then the later step). The test suites never take part, so evaluate's
figures on them stay unbiased by the choice."""

from __future__ import annotations

import logging
from pathlib import Path

from trainpipe.config import Config
from trainpipe.evaluation.cache import evaluate_cached, for_config

log = logging.getLogger("trainpipe.selection")

START = "start"  # the results key of the model the run started from
TASK_DEV = "task_dev"


def dev_suites(cfg: Config, task_items: list[dict], collect_dir: Path) -> list:
    """The dev task suite (held-back training prompts), then retention_dev and retention_text_dev (the general text
    from the same source evaluate uses)."""
    from trainpipe.evaluation.results import Suite
    from trainpipe.evaluation.suites import retention_suites, text_suites

    task = Suite(TASK_DEV, "task", task_items, _task_settings(cfg), part="dev")
    return [task, *(s for s in retention_suites(cfg) + text_suites(cfg, collect_dir) if s.part == "dev")]


def _task_settings(cfg: Config) -> dict:
    ev = cfg.evaluate
    return {"max_new_tokens": ev.max_new_tokens, "temperature": 0.0, "samples": 1, "seed": ev.seed}


def choose(results: dict[str, dict[str, dict]], cfg: Config) -> tuple[str | None, list[dict]]:
    """(chosen candidate or None, one row per candidate). `results` maps START and each candidate name (in step
    order) to its dev results; None means no candidate keeps every dev suite."""
    from trainpipe.evaluation.compare import gate_verdict

    ev = cfg.evaluate
    names = [n for n in results if n != START]
    rows = []
    for name in names:
        verdict = gate_verdict(
            {name: results[name], "base": results[START]},
            name,
            "dominance",
            ev.gate_margin,
            ev.gate_text_margin,
            ev.gate_p,
        )
        rows.append(
            {
                "candidate": name,
                "means": {s: round(r["mean"], 4) for s, r in results[name].items()},
                "eligible": verdict["passed"],
                "reasons": verdict["reasons"],
            }
        )
    eligible = [r for r in rows if r["eligible"]]
    for r in eligible:
        r["front"] = not any(_dominates(o["means"], r["means"]) for o in eligible if o is not r)
    front = [r for r in eligible if r["front"]]
    if not front:
        return None, rows
    best = max(
        front,
        key=lambda r: (
            r["means"][TASK_DEV],
            sum(v for s, v in r["means"].items() if s != TASK_DEV),
            names.index(r["candidate"]),
        ),
    )
    return best["candidate"], rows


def _dominates(a: dict[str, float], b: dict[str, float]) -> bool:
    """Pareto on means: a is at least b on every suite and above it on one (every mean is higher-is-better)."""
    return all(a[s] >= b[s] for s in b) and any(a[s] > b[s] for s in b)


def select_checkpoint(
    cfg: Config,
    start: tuple[Path, str],
    candidates: dict[str, Path],
    task_items: list[dict],
    collect_dir: Path,
    cache_dir: Path,
) -> dict:
    """Score the start model (cached by fingerprint) and every candidate folder on the dev suites; returns
    {"chosen": name or None, "rows": [...], "suites": [...]}."""
    from trainpipe.evaluation.runner import evaluate_model

    suites = dev_suites(cfg, task_items, collect_dir)
    start_path, start_fp = start
    results = {START: evaluate_cached(cfg, for_config(cache_dir, cfg), START, start_path, start_fp, suites)}
    for name, path in candidates.items():
        log.info("select: scoring %s on %s", name, ", ".join(s.name for s in suites))
        results[name] = evaluate_model(cfg, path, suites)
    chosen, rows = choose(results, cfg)
    start_means = {s: round(r["mean"], 4) for s, r in results[START].items()}
    return {"chosen": chosen, "rows": rows, "start": start_means, "suites": [s.name for s in suites]}
