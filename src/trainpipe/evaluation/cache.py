"""Results cached per (model fingerprint, suite fingerprint) in logs/evaluate/cache/, so re-evaluating after one
stage changes only runs the pairs that changed. A cache file is one JSON result, written atomically."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from trainpipe import artifacts

log = logging.getLogger("trainpipe.evaluate")

# Bump when the result layout changes so old files are ignored rather than misread.
CACHE_VERSION = 4  # 3: task records keep the first completion; 4: every sample, every episode's transcript


class ResultCache:
    def __init__(self, folder: Path, runtime: dict):
        self.folder = Path(folder)
        # What the numbers depend on besides model and suite: backend and dtype change greedy outputs.
        self.runtime = runtime

    def path(self, model_fp: str, suite) -> Path:
        key = artifacts.fingerprint(CACHE_VERSION, self.runtime, suite.fingerprint)
        return self.folder / f"{model_fp}-{key}.json"

    def get(self, model_fp: str, suite) -> dict | None:
        try:
            data = json.loads(self.path(model_fp, suite).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and "items" in data else None

    def put(self, model_fp: str, suite, result: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        artifacts.write_json_atomic(self.path(model_fp, suite), result)


def for_config(folder: Path, cfg) -> ResultCache:
    """The cache under `folder` keyed by what changes greedy outputs besides model and suite: backend, the
    resolved dtype ('auto' differs by machine) and the machine's kernels (CPU model and instruction set, GPU)."""
    from trainpipe.models.hardware import describe, model_dtype

    return ResultCache(
        folder, {"backend": cfg.evaluate.backend, "dtype": str(model_dtype(cfg.model.dtype)), "hardware": describe()}
    )


def evaluate_cached(cfg, cache: ResultCache, name: str, path: Path, model_fp: str, suites) -> dict:
    """Results per suite; only (model, suite) pairs missing from the cache are generated."""
    from trainpipe.evaluation.runner import evaluate_model, restate

    level = cfg.evaluate.level
    out = {s.name: restate(hit, level) for s in suites if (hit := cache.get(model_fp, s)) is not None}
    missing = [s for s in suites if s.name not in out]
    if out:
        log.info("evaluate: %s: %d suite(s) from cache", name, len(out))
    if missing:
        log.info("evaluate: %s on %s", name, ", ".join(s.name for s in missing))
        fresh = evaluate_model(cfg, path, missing)
        for suite in missing:
            cache.put(model_fp, suite, fresh[suite.name])
            out[suite.name] = fresh[suite.name]
    return {s.name: out[s.name] for s in suites}
