"""Evaluation suites: held-out task prompts from the collect stage, user eval files, retention Q&A and general
text for perplexity. Each suite carries the settings that change its results and a fingerprint over both."""

from __future__ import annotations

import os
from pathlib import Path

from trainpipe.config import Config
from trainpipe.data.store import has_use, load_split
from trainpipe.errors import UserError
from trainpipe.evaluation.checks import known_scorers
from trainpipe.evaluation.general_text import items as general_items
from trainpipe.evaluation.results import (
    RETENTION,
    RETENTION_DEV,
    RETENTION_TEST,
    RETENTION_TEXT_DEV,
    RETENTION_TEXT_TEST,
    Suite,
)

SAMPLING_KEYS = ("temperature", "samples", "max_new_tokens")
MIN_TEXT_DOCS = 2  # a perplexity interval needs a spread estimate


def generation_settings(cfg: Config, suite: str) -> dict:
    """Greedy unless evaluate.sampling names this suite; samples > 1 gives pass@k."""
    ev = cfg.evaluate
    settings = {
        "max_new_tokens": ev.max_new_tokens,
        "temperature": ev.temperature,
        "samples": ev.samples,
        "seed": ev.seed,
    }
    override = ev.sampling.get(suite, {})
    unknown = sorted(set(override) - set(SAMPLING_KEYS))
    if unknown:
        raise UserError(
            f"evaluate.sampling.{suite}: unknown key(s) {', '.join(unknown)}; expected {', '.join(SAMPLING_KEYS)}"
        )
    settings.update(override)
    settings["samples"], settings["max_new_tokens"] = int(settings["samples"]), int(settings["max_new_tokens"])
    if settings["samples"] < 1 or settings["max_new_tokens"] < 1 or settings["temperature"] < 0:
        raise UserError(
            f"evaluate.sampling.{suite}: expected samples >= 1, max_new_tokens >= 1 and "
            f"temperature >= 0; got {override}"
        )
    if settings["samples"] > 1 and settings["temperature"] == 0:
        raise UserError(
            f"evaluate: suite {suite} asks for {settings['samples']} samples with temperature 0 "
            "(greedy samples are identical); set a temperature > 0 for pass@k"
        )
    return settings


def load_suites(cfg: Config, collect_dir: Path) -> list[Suite]:
    """Task suites, user file suites, environment suites and (with evaluate.retention) the general-text suites."""
    from trainpipe.evaluation.environment_suite import environment_suites

    suites = task_suites(cfg, Path(collect_dir)) + file_suites(cfg) + environment_suites(cfg)
    names = [s.name for s in suites]
    if len(set(names)) != len(names):
        raise UserError(f"evaluate: two suites share a name ({', '.join(names)}); rename an eval file")
    unknown = sorted(set(cfg.evaluate.sampling) - set(names))
    if unknown:
        raise UserError(f"evaluate.sampling names unknown suite(s) {', '.join(unknown)}; suites: {', '.join(names)}")
    return suites + (text_suites(cfg, Path(collect_dir)) if cfg.evaluate.retention else [])


def task_suites(cfg: Config, collect_dir: Path) -> list[Suite]:
    if not cfg.evaluate.tasks:
        return []
    held_out = _held_out(collect_dir, "prompts")
    if held_out is None:
        raise UserError(
            f"evaluate needs held-out prompts in {collect_dir / 'prompts'}; add a task source to "
            "data.sources or empty evaluate.tasks"
        )
    suites = []
    for task in cfg.evaluate.tasks:
        items = [task_item(r) for r in held_out if r["task"] == task][: cfg.evaluate.max_examples]
        if not items:
            raise UserError(f"evaluate.tasks lists '{task}' but the collect stage holds no held-out {task} prompts")
        suites.append(Suite(task, "task", items, generation_settings(cfg, task)))
    return suites


def file_suites(cfg: Config) -> list[Suite]:
    """One suite per evaluate.files entry (JSONL/JSON/CSV... with prompt, answer, task), read like data sources."""

    from trainpipe.config import SourceConfig
    from trainpipe.data.sources import load_sources

    suites = []
    for path in cfg.evaluate.files:
        loaded = load_sources([SourceConfig(path=path, use="prompts")], cfg.data, os.getcwd())
        records = loaded.records.get("prompts", [])[: cfg.evaluate.max_examples]
        for number, rec in enumerate(records, start=1):
            if rec["task"] not in known_scorers():
                raise UserError(
                    f"{path}: record {number}: field 'task': expected one of "
                    f"{', '.join(known_scorers())}; got {rec['task']!r}"
                )
        name = f"file:{Path(path).stem}"
        suites.append(Suite(name, "task", [task_item(r) for r in records], generation_settings(cfg, name), "file"))
    return suites


def text_suites(cfg: Config, collect_dir: Path) -> list[Suite]:
    """General text for perplexity, as a dev and a test suite: collect's cpt eval split (the user's own general
    text) when each part holds enough documents, else the built-in general-prose passages. Task text would not do:
    training on it lowers its perplexity, which says nothing about retention. Each suite's note tells the report
    which source it used; evaluate.max_examples caps each part."""
    from trainpipe.evaluation.retention import split_parts

    cap = cfg.evaluate.max_examples
    cpt = _held_out(collect_dir, "cpt")
    docs = split_parts(
        [{"id": r["id"], "text": r["text"]} for r in (cpt if cpt is not None else []) if r["text"].strip()]
    )
    if all(len(d[:cap]) >= MIN_TEXT_DOCS for d in docs.values()):
        return [
            _text(cfg, part, found[:cap], f"{_count(cap, len(found))} documents from collect's cpt eval split")
            for part, found in docs.items()
        ]
    if cpt is None:
        reason = "collect holds no cpt eval split"
    else:
        reason = (
            f"collect's cpt eval split holds {sum(map(len, docs.values()))} non-empty document(s), "
            f"too few for an interval on each of dev and test"
        )
    return [
        _text(cfg, part, found[:cap], f"{_count(cap, len(found))} built-in general-prose passages ({reason})")
        for part, found in split_parts(general_items()).items()
        if len(found[:cap]) >= MIN_TEXT_DOCS
    ]


def _text(cfg: Config, part: str, items: list[dict], source: str) -> Suite:
    name = {"dev": RETENTION_TEXT_DEV, "test": RETENTION_TEXT_TEST}[part]
    return Suite(
        name, "text", items, {"max_tokens": cfg.evaluate.text_max_tokens}, RETENTION, f"{name}: {source}", part
    )


def _count(cap: int, total: int) -> str:
    return f"{cap} of {total} (evaluate.max_examples)" if cap < total else str(total)


def retention_settings(cfg: Config) -> dict:
    # Always greedy: every model's answer is then reproducible, so a paired difference is the model's, not chance's.
    return {"max_new_tokens": cfg.evaluate.retention_max_new_tokens, "temperature": 0.0, "samples": 1, "seed": 0}


def retention_suites(cfg: Config, items: list[dict] | None = None) -> list[Suite]:
    """The built-in retention items (or `items`) as a dev and a test suite (a part with no items is left out)."""
    from trainpipe.evaluation.retention import candidate_items, split_parts

    names = {"dev": RETENTION_DEV, "test": RETENTION_TEST}
    found = candidate_items() if items is None else items
    return [
        Suite(names[part], "task", got, retention_settings(cfg), RETENTION, part=part)
        for part, got in split_parts(found).items()
        if got
    ]


def _held_out(collect_dir: Path, use: str):

    return load_split(collect_dir, use, "eval") if has_use(collect_dir, use) else None


def task_item(record: dict) -> dict:
    """A held-out prompt record as an evaluation item."""
    return {"id": record["id"], "prompt": record["prompt"], "answer": record["answer"], "task": record["task"]}
