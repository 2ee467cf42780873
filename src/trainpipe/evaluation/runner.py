"""Run one model over suites: batched generation scored by the item's task family or checker, multi-turn episodes
for environment suites, perplexity for text suites. Returns per suite the cacheable result: per-item records plus
summary statistics."""

from __future__ import annotations

import math
import time
from pathlib import Path

from trainpipe.config import Config
from trainpipe.evaluation.checks import format_ok, score_item
from trainpipe.evaluation.results import EXAMPLES, summarize_items
from trainpipe.evaluation.stats import mean_interval


def evaluate_model(cfg: Config, path: Path, suites) -> dict[str, dict]:
    from trainpipe.evaluation.perplexity import document_nll

    ev = cfg.evaluate
    loaded = _Backends(cfg, path)
    out = {}
    # Task suites first: with vllm the transformers copy for perplexity is loaded only afterwards.
    for suite in sorted(suites, key=lambda s: s.kind == "text"):
        started = time.time()
        if suite.kind == "text":
            hf = loaded.hf()
            docs = document_nll(
                hf.model, hf.tokenizer, [i["text"] for i in suite.items], suite.settings["max_tokens"], ev.batch_size
            )
            result = text_result(suite.items, docs, ev.level)
        elif suite.kind == "environment":
            from trainpipe.evaluation.environment_suite import environment_result, play

            # Multi-turn episodes always generate with transformers, whatever evaluate.backend says.
            result = environment_result(suite, play(suite, loaded.hf().generate_chats), ev.level)
        else:
            completions = loaded.generator().generate([item_messages(i) for i in suite.items], suite.settings)
            result = task_result(suite.items, completions, ev.level)
        out[suite.name] = {**result, "seconds": round(time.time() - started, 2)}
    return out


class _Backends:
    """Loads the model once, and only in the forms the suites need."""

    def __init__(self, cfg: Config, path: Path):
        self.cfg, self.path, self._hf, self._vllm = cfg, path, None, None

    def hf(self):
        from trainpipe.evaluation.generate import HFBackend

        if self._hf is None:
            self._hf = HFBackend(self.path, self.cfg.model, self.cfg.evaluate.batch_size)
        return self._hf

    def generator(self):
        from trainpipe.evaluation.vllm_backend import VllmBackend

        if self.cfg.evaluate.backend == "hf":
            return self.hf()
        if self._vllm is None:
            self._vllm = VllmBackend(self.path, self.cfg.model, self.cfg.model.dtype)
        return self._vllm


def item_messages(item: dict) -> list[dict]:
    """The chat an item asks the model to continue: its earlier turns ("history", multi-turn items), then its prompt
    as the last user turn."""
    return [*item.get("history", []), {"role": "user", "content": item["prompt"]}]


def task_result(items: list[dict], completions, level: float) -> dict:
    """Score every sample; an item's score is its share of correct samples (its pass@1 estimate)."""

    records, examples = [], []
    for item, comps in zip(items, completions):
        scores = [score_item(item["task"], c.text, item["answer"]) for c in comps]
        records.append(
            {
                "id": item["id"],
                "score": sum(scores) / len(scores),
                "samples": len(scores),
                "correct": sum(1 for s in scores if s >= 1.0),
                "tokens": sum(c.tokens for c in comps) / len(comps),
                "format_ok": format_ok(item["task"], comps[0].text),
                "completion": comps[0].text,
            }  # what KL to base is measured on (evaluation.divergence)
            | ({"completions": [c.text for c in comps]} if len(comps) > 1 else {})
        )  # for report.html
        if len(examples) < EXAMPLES:
            examples.append(
                {
                    "id": item["id"],
                    "prompt": item["prompt"],
                    "answer": item["answer"],
                    "completion": comps[0].text,
                    "score": scores[0],
                }
                | ({"history": item["history"]} if item.get("history") else {})
            )
    return {**summarize_items(records, level), "examples": examples}


def text_result(items: list[dict], docs: list[tuple[float, int]], level: float) -> dict:
    """Perplexity over all predicted tokens; the interval is on the per-document mean NLL.

    Scores are stored as negative NLL so that, as for accuracy, higher is better and suites compare alike.
    """
    records = [{"id": i["id"], "nll": nll, "tokens": t} for i, (nll, t) in zip(items, docs) if t > 0]
    per_doc = [r["nll"] / r["tokens"] for r in records]
    n = len(per_doc)
    mean_nll = sum(per_doc) / n if n else math.nan
    std = math.sqrt(sum((v - mean_nll) ** 2 for v in per_doc) / (n - 1)) if n >= 2 else 0.0
    lo_nll, hi_nll = mean_interval(per_doc, level)
    total_tokens = sum(r["tokens"] for r in records)
    return {
        "kind": "text",
        "n": n,
        "mean": -mean_nll,
        "std": std,
        "lo": -hi_nll,
        "hi": -lo_nll,
        "successes": 0.0,
        "pass_at": {},
        "mean_completion_tokens": None,
        "format_rate": None,
        "perplexity": math.exp(sum(r["nll"] for r in records) / total_tokens) if total_tokens else None,
        "mean_nll": mean_nll,
        "items": records,
        "examples": [],
    }


def restate(result: dict, level: float) -> dict:
    """A cached result's statistics recomputed from its per-item records, so a new interval level needs no
    new generation (the cache key leaves the level out on purpose)."""
    if result["kind"] == "text":
        docs = [(r["nll"], r["tokens"]) for r in result["items"]]
        return {
            **result,
            **text_result([{"id": r["id"]} for r in result["items"]], docs, level),
            "examples": result.get("examples", []),
        }
    if result["kind"] == "environment":
        from trainpipe.evaluation.environment_suite import environment_summary

        return {**result, **environment_summary(result["items"], level)}
    return {**result, **summarize_items(result["items"], level)}
