"""Results cached per (model fingerprint, suite fingerprint) in logs/evaluate/cache/, so re-evaluating after one
stage changes only runs the pairs that changed. A cache file is one JSON result, written atomically."""
from __future__ import annotations

import json
from pathlib import Path

from trainpipe import artifacts

# Bump when the result layout changes so old files are ignored rather than misread.
CACHE_VERSION = 3  # 3: task records keep the first completion


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
