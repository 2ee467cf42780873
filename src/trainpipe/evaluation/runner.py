"""Run one model over task suites: batched generation, the task family's scorer, summary statistics."""
from __future__ import annotations

import time
from pathlib import Path

from trainpipe.config import Config
from trainpipe.evaluation.stats import summarize


def evaluate_model(cfg: Config, path: Path, suites) -> dict[str, dict]:
    from trainpipe.evaluation.generate import generate
    from trainpipe.models.load import load_model, load_tokenizer
    from trainpipe.tasks import get_task

    ev = cfg.evaluate
    tokenizer = load_tokenizer(path, cfg.model, padding_side="left")
    model = load_model(path, cfg.model)
    out = {}
    for suite in suites:
        started = time.time()
        completions = generate(model, tokenizer, [i["prompt"] for i in suite.items], ev.max_new_tokens,
                               ev.batch_size, ev.temperature, ev.samples)
        scores = []
        for item, comps in zip(suite.items, completions):
            family = get_task(item["task"])
            scores.append(max(family.score(c, item["answer"]) for c in comps))
        summary = summarize(scores, ev.level)
        lengths = [len(tokenizer(c, add_special_tokens=False)["input_ids"]) for comps in completions for c in comps]
        out[suite.name] = {
            "n": summary.n, "mean": summary.mean, "std": summary.std, "lo": summary.lo, "hi": summary.hi,
            "successes": summary.successes, "mean_completion_tokens": sum(lengths) / max(1, len(lengths)),
            "seconds": round(time.time() - started, 1), "scores": scores,
            "examples": [{"prompt": i["prompt"], "completion": c[0], "score": s}
                         for i, c, s in list(zip(suite.items, completions, scores))[:5]],
        }
    return out
