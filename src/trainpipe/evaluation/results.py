"""The evaluation result types every evaluation module shares, in one leaf module: a suite (what is scored), the
retention group's names, and the summary of per-item task records. Imports nothing from the evaluation package
but its statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trainpipe import artifacts
from trainpipe.evaluation.stats import pass_at_k, summarize

EXAMPLES = 5  # completions per (model, suite) in metrics.json; the records keep every one
RETENTION = "retention"  # the group of the retention suites below (the gate checks every suite in it)
# Built-in everyday Q&A (every item, right or wrong for base: evaluation/retention.py says why), and general text
# (cpt eval split or built-in passages) scored by perplexity; each split by a stable hash of the item id into a dev
# part (the only part automatic choices such as checkpoint selection may look at) and a test part (only reported).
RETENTION_DEV, RETENTION_TEST = "retention_dev", "retention_test"
RETENTION_TEXT_DEV, RETENTION_TEXT_TEST = "retention_text_dev", "retention_text_test"


@dataclass
class Suite:
    name: str
    kind: str  # "task": generate and score; "text": perplexity
    items: list[dict]  # {"id", "prompt", "answer", "task"} or {"id", "text"}
    settings: dict = field(default_factory=dict)  # generation settings that change results
    group: str = "task"  # "task" (held-out task family), "file" (user eval file) or "retention"
    note: str = ""  # for the report: where the items came from; not in the fingerprint (the items are)
    part: str = ""  # retention suites: "dev" (may drive automatic choices) or "test" (reported only)

    @property
    def fingerprint(self) -> str:
        # Earlier chat turns join the key only where an item has them, so single-turn suites keep their keys.
        return artifacts.fingerprint(
            self.name,
            self.kind,
            self.settings,
            [
                (i["id"], i.get("prompt", i.get("text")), i.get("answer"), i.get("task"))
                + ((i["history"],) if i.get("history") else ())
                for i in self.items
            ],
        )


def summarize_items(records: list[dict], level: float) -> dict:
    """Summary of per-item task records: interval on the mean score, pass@1 and pass@k, lengths, format rate."""
    summary = summarize([r["score"] for r in records], level)
    n = len(records)
    samples = records[0]["samples"] if records else 1
    ks = sorted({1, samples})
    formats = [r["format_ok"] for r in records if r["format_ok"] is not None]
    return {
        "kind": "task",
        "n": n,
        "mean": summary.mean,
        "std": summary.std,
        "lo": summary.lo,
        "hi": summary.hi,
        "successes": summary.successes,
        "pass_at": {
            str(k): (sum(pass_at_k(r["samples"], r["correct"], k) for r in records) / n if n else 0.0) for k in ks
        },
        "mean_completion_tokens": sum(r["tokens"] for r in records) / n if n else 0.0,
        "format_rate": sum(formats) / len(formats) if formats else None,
        "perplexity": None,
        "mean_nll": None,
        "items": records,
    }


@dataclass
class Evaluation:
    """One evaluate run as it is built up: what is scored (models, suites), what was found (results,
    comparisons, the gate) and what the report shows beside them (notes, plots)."""

    models: dict  # name -> (folder, fingerprint), in pipeline order
    suites: list[Suite]
    level: float  # interval level
    notes: list[str]
    chain: list[str]  # base and the model stages that ran, in order; the last one is the candidate
    cache: Any  # evaluation.cache.ResultCache
    harness_plan: Any  # evaluation.harness.Plan
    results: dict = field(default_factory=dict)  # model -> suite -> result
    comparisons: list[dict] = field(default_factory=list)
    gate: dict = field(default_factory=dict)
    plots: list[str] = field(default_factory=list)

    @property
    def candidate(self) -> str | None:
        return self.chain[-1] if len(self.chain) > 1 else None

    @property
    def roles(self) -> dict[str, str]:
        return {
            m: "base"
            if m == "base"
            else "candidate"
            if m == self.candidate
            else "stage"
            if m in self.chain
            else "extra"
            for m in self.models
        }
