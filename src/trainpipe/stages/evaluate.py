"""Evaluate stage: every model the pipeline produced on every held-out task suite, with intervals and a report.

Reads data_cache/collect/prompts (eval split) and model folders; writes logs/evaluate/{metrics.json,report.md}
and caches per (model, suite) results in logs/evaluate/cache/.
"""
from __future__ import annotations

import logging
from pathlib import Path

from trainpipe import artifacts
from trainpipe.config import Config
from trainpipe.pipeline import MODEL_CHAIN, Stage, StageIO, base_fingerprint

log = logging.getLogger("trainpipe.evaluate")


def run(cfg: Config, io: StageIO) -> dict:
    from trainpipe.evaluation.report import write_report
    from trainpipe.evaluation.suites import load_suites

    ev = cfg.evaluate
    suites = load_suites(cfg, io.upstream["collect"])
    models = model_list(cfg, io)
    results = {name: _evaluate_cached(cfg, io, name, path, fp, suites) for name, (path, fp) in models.items()}
    return write_report(io.out, results, ev)


def model_list(cfg: Config, io: StageIO) -> dict[str, tuple[Path, str]]:
    """name -> (folder, fingerprint) for base, every model stage that ran, and extra configured folders."""
    out = {"base": (Path(io.models["base"]), base_fingerprint(cfg))}
    for stage in MODEL_CHAIN:
        if stage in io.upstream:
            manifest = artifacts.read_manifest(io.upstream[stage])
            out[stage] = (io.upstream[stage], manifest["fingerprint"])
    for extra in cfg.evaluate.models:
        out[Path(extra).name] = (Path(extra), artifacts.tree_digest(Path(extra)))
    return out


def _evaluate_cached(cfg: Config, io: StageIO, name: str, path: Path, model_fp: str, suites) -> dict:
    """Results per suite; only (model, suite) pairs missing from the cache are generated."""
    from trainpipe.evaluation.runner import evaluate_model

    cache = {s.name: io.logs / "cache" / f"{model_fp}-{s.fingerprint}.json" for s in suites}
    out = {s.name: hit for s in suites if (hit := _read_json(cache[s.name])) is not None}
    todo = [s for s in suites if s.name not in out]
    if out:
        log.info("evaluate: %s: %d suite(s) from cache", name, len(out))
    if todo:
        log.info("evaluate: %s on %s", name, ", ".join(s.name for s in todo))
        for suite_name, result in evaluate_model(cfg, path, todo).items():
            cache[suite_name].parent.mkdir(parents=True, exist_ok=True)
            artifacts.write_json_atomic(cache[suite_name], result)
            out[suite_name] = result
    return {s.name: out[s.name] for s in suites}


def _read_json(path: Path):
    import json

    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


STAGE = Stage(name="evaluate", reads=("collect", "cpt", "sft", "rl"), config_sections=("model", "evaluate"),
              run=run, publish_mode="merge")
