"""Collect stage: load every configured source and task generator into canonical, validated, de-duplicated
datasets with stable held-out splits, plus stats and a contamination report.

Reads data.sources; writes data_cache/collect/<use>/ (datasets train/eval), stats.json and contamination.json.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from trainpipe import artifacts
from trainpipe.config import Config, DataConfig, SourceConfig
from trainpipe.errors import UserError
from trainpipe.models.chat import chat_ids
from trainpipe.stages import Stage, StageIO

log = logging.getLogger("trainpipe.collect")
TASK_SOURCE = "task:"  # source names of generated task items: task:<family>:<difficulty>
GENERATED = ("task", "environment")  # source kinds generated here rather than read from files


def run(cfg: Config, io: StageIO) -> dict:
    from trainpipe.data import hygiene
    from trainpipe.data.sources import load_sources

    data = cfg.data
    tokenizer = _tokenizer(cfg, io)
    loaded = load_sources([s for s in data.sources if s.kind not in GENERATED], data, os.getcwd(),
                          count_tokens=_token_counter(tokenizer, skip_sft=cfg.sft.agent.chunking))
    by_use = dict(loaded.records)
    task_prompts, task_sft = _task_records(cfg)
    by_use.setdefault("prompts", []).extend(task_prompts)
    by_use.setdefault("sft", []).extend(task_sft)
    by_use["sft"].extend(_environment_records(cfg))
    weights = _source_weights(data)
    dropped, splits = {}, {}
    # prompts first: generated tasks' SFT answers follow their prompt's split
    for use, records in sorted(by_use.items(), key=lambda kv: kv[0] != "prompts"):
        if not records:
            continue
        # Dedup and split before mixing: an upsampled copy is a duplicate by content, and the held-out part
        # measures the data as it is, so source weights shape the training part only.
        records, dropped[use] = hygiene.dedup(records, use, data.dedup) if data.dedup != "none" else (records, 0)
        train, held = _split(use, records, data, splits.get("prompts"))
        splits[use] = (_mix_sources(train, weights, data.seed), held)
    contamination = _contamination(splits, data)
    stats = _stats(splits, loaded, dropped, tokenizer)
    for use, (train, held) in splits.items():
        _save(io.out / use, use, train, held)
    artifacts.write_json_atomic(io.out / "stats.json", stats)
    artifacts.write_json_atomic(io.out / "contamination.json", contamination)
    io.logs.mkdir(parents=True, exist_ok=True)
    artifacts.write_json_atomic(io.logs / "stats.json", stats)
    return {"counts": stats["counts"], "skipped": loaded.skipped, "dropped_duplicates": dropped,
            "contamination": contamination, "key_metric": "records", "records": sum(
                len(t) + len(e) for t, e in splits.values())}


def _tokenizer(cfg: Config, io: StageIO):
    from trainpipe.models.load import EMBEDDED, TINY, embedded_tokenizer, ensure_base, load_tokenizer

    if cfg.model.base in (EMBEDDED, TINY):
        return embedded_tokenizer()  # same tokenizer; avoids converting weights just to count tokens
    return load_tokenizer(ensure_base(cfg.model, io.layout), cfg.model)


def _token_counter(tokenizer, skip_sft: bool = False):
    """Tokens of a record with the model's chat template; long SFT trajectories are exempt when SFT chunks them."""
    def count(record: dict) -> int:
        if "messages" in record:
            if skip_sft:
                return 0
            return len(chat_ids(tokenizer, record["messages"]))
        text = record.get("text") or record.get("prompt") or ""
        return len(tokenizer(text if isinstance(text, str) else str(text), add_special_tokens=False)["input_ids"])
    return count


def _source_weights(data: DataConfig) -> dict[str, float]:
    """Each source's mixing weight under the name its records carry in `source` (every kind of source)."""
    from trainpipe.data.env_trajectories import source_label
    from trainpipe.data.sources import source_name

    out: dict[str, float] = {}
    for src in data.sources:
        name = (task_source_name(src) if src.kind == "task" else source_label(src) if src.kind == "environment"
                else source_name(src))
        if out.get(name, src.weight) != src.weight:
            raise UserError(f"data.sources: two sources named {name} have different weights ({out[name]} and "
                            f"{src.weight}); their records cannot be told apart, so give them one weight")
        out[name] = src.weight
    return out


def task_source_name(src: SourceConfig) -> str:
    return f"{TASK_SOURCE}{src.task}:{src.difficulty}"


def _mix_sources(records: list[dict], weights: dict[str, float], seed: int) -> list[dict]:
    """The records mixed by their sources' weights (hygiene.mix); unchanged when every weight is equal."""
    from trainpipe.data.hygiene import mix

    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(r["source"], []).append(r)
    found = {weights.get(name, 1.0) for name in groups}
    if len(found) == 1 and 0.0 not in found:
        return records
    return mix([(g, weights.get(name, 1.0), None) for name, g in groups.items()], seed)


def _task_records(cfg: Config) -> tuple[list[dict], list[dict]]:
    """Generated tasks give RL/eval prompts and gold SFT conversations that share one id (and so one split)."""
    from trainpipe.data.records import record_id
    from trainpipe.tasks import get_task

    prompts, sft = [], []
    for src in (s for s in cfg.data.sources if s.kind == "task"):
        if not src.task:
            raise UserError("data.sources: a source with kind=task needs 'task' (arithmetic, sat, abd, ded)")
        seed = cfg.data.seed if src.seed is None else src.seed
        items = get_task(src.task).generate(seed, src.n, src.difficulty)[: src.limit or None]
        name = task_source_name(src)
        for item in items:
            rid = record_id({"prompt": item.prompt, "task": item.task, "answer": item.answer})
            if src.use in ("auto", "prompts"):
                prompts.append({"id": rid, "source": name, "prompt": item.prompt, "task": item.task,
                                "answer": item.answer})
            if src.use in ("auto", "sft"):
                sft.append({"id": rid, "source": name, "weight": 1.0, "reward": None, "step_rewards": [],
                            "task_id": rid, "meta": "{}", "messages": [
                                {"role": "user", "content": item.prompt},
                                {"role": "assistant", "content": item.solution}]})
    return prompts, sft


def _environment_records(cfg: Config) -> list[dict]:
    """Trajectories a noisy expert played in a real environment; each episode has its own seed, so the
    stable hash split puts every seed in exactly one of train and eval."""
    from trainpipe.data.env_trajectories import environment_records

    return [r for src in cfg.data.sources if src.kind == "environment"
            for r in environment_records(src, cfg.data.seed)]


def _split(use: str, records: list[dict], data: DataConfig, prompt_split) -> tuple[list[dict], list[dict]]:
    from trainpipe.data.hygiene import split_records

    if use == "sft" and prompt_split is not None:
        # A generated task's gold answer must sit in the same split as its prompt, or eval leaks into training.
        held_ids = {r["id"] for r in prompt_split[1]}
        task_ids = {r["id"] for r in prompt_split[0]} | held_ids
        tied = [r for r in records if r.get("task_id") in task_ids]
        free = [r for r in records if r.get("task_id") not in task_ids]
        train, held = split_records(free, data.eval_fraction, data.eval_max, data.seed)
        return ([r for r in tied if r["task_id"] not in held_ids] + train,
                [r for r in tied if r["task_id"] in held_ids] + held)
    group = (lambda r: r["task"]) if use == "prompts" else None
    return split_records(records, data.eval_fraction, data.eval_max, data.seed, group)


def _texts(use: str, records: list[dict]) -> list[str]:
    if use == "sft":
        return ["\n".join(m["content"] for m in r["messages"] if _identifying(r, m)) for r in records]
    if use == "cpt":
        return [r["text"] for r in records]
    if use == "prompts":
        return [r["prompt"] for r in records]
    return []


def _identifying(record: dict, msg: dict) -> bool:
    """A generated task item is identified by its prompt: its worked solution is a function of the prompt and
    shares step facts ("7 + 8 = 15") with other items by design, which is not leakage of the item."""
    return msg["role"] != "assistant" or not record["source"].startswith(TASK_SOURCE)


def _contamination(splits: dict, data: DataConfig) -> dict:
    from trainpipe.data.hygiene import contamination_report

    train_texts = [t for use in ("sft", "cpt") if use in splits for t in _texts(use, splits[use][0])]
    uses = [use for use in ("prompts", "sft", "cpt") if use in splits]
    eval_sets = {f"{use}:eval": _texts(use, splits[use][1]) for use in uses}
    # Each source's template is learned from all its records (train and held-out, every use), per eval set
    # from the sources it draws on: a small held-out split cannot show the template on its own.
    by_source: dict[str, list[str]] = {}
    for use in uses:
        for part in splits[use]:
            for r, text in zip(part, _texts(use, part)):
                by_source.setdefault(r["source"], []).append(text)
    templates = {f"{use}:eval": [by_source[s] for s in dict.fromkeys(r["source"] for r in splits[use][1])]
                 for use in uses}
    report = contamination_report(train_texts, {k: v for k, v in eval_sets.items() if v}, data.contamination_ngram,
                                  templates=templates)
    report |= _retention_contamination(splits, data)
    bad = {k: v for k, v in report.items() if v["share"] > data.contamination_max}
    if bad:
        detail = ", ".join(f"{k}: {v['overlapping']}/{v['total']}" for k, v in bad.items())
        raise UserError(f"contamination check failed: held-out records share {data.contamination_ngram}-grams with "
                        f"training data ({detail}); above data.contamination_max={data.contamination_max}")
    return report


def _retention_contamination(splits: dict, data: DataConfig) -> dict:
    """The built-in retention Q&A and general-text passages against everything training sees (sft and cpt text,
    and the prompts RL trains on): a retention suite measures what training did not teach. Each training source's
    own template is masked, so a generated task's fixed instructions are not taken for shared content."""
    from trainpipe.data.hygiene import contamination_report
    from trainpipe.evaluation.general_text import PASSAGES
    from trainpipe.evaluation.retention import candidate_items

    by_source: dict[str, list[str]] = {}
    for use in (u for u in ("sft", "cpt", "prompts") if u in splits):
        train = splits[use][0]
        for r, text in zip(train, _texts(use, train)):
            by_source.setdefault(r["source"], []).append(text)
    sources = list(by_source.values())
    retention = {"retention:qa": ["\n".join([*(m["content"] for m in i.get("history", [])), i["prompt"]])
                                  for i in candidate_items()],
                 "retention:text": list(PASSAGES)}
    return contamination_report([t for texts in sources for t in texts], retention, data.contamination_ngram,
                                templates={name: sources for name in retention})


def _stats(splits: dict, loaded, dropped: dict, tokenizer) -> dict:
    import numpy as np

    counter = _token_counter(tokenizer)
    counts, lengths = {}, {}
    for use, (train, held) in splits.items():
        counts[use] = {"train": len(train), "eval": len(held)}
        lens = [counter(r) for r in train[:2000]] if use in ("sft", "cpt", "prompts") else []
        if lens:
            lengths[use] = {f"p{q}": int(np.percentile(lens, q)) for q in (50, 90, 99)} | {"max": max(lens)}
    return {"counts": counts, "token_lengths": lengths, "per_source": loaded.per_source,
            "skipped": loaded.skipped, "dropped_duplicates": dropped}


def _save(folder: Path, use: str, train: list[dict], held: list[dict]) -> None:
    from trainpipe.data.store import save_splits

    save_splits(folder, use, {"train": train, "eval": held})


def input_files(cfg: Config) -> list[Path]:
    from trainpipe.data.readers import expand_paths

    files: list[Path] = []
    for src in cfg.data.sources:
        if src.kind in GENERATED or not src.path:
            continue
        if os.path.isdir(src.path):
            files += sorted(p for p in Path(src.path).rglob("*") if p.is_file())
        elif src.kind == "file":
            try:
                files += [Path(f) for f in expand_paths(src.path, os.getcwd())]
            except UserError:
                continue  # reported with its file name when the stage reads it
    return files


STAGE = Stage(name="collect", reads=(), config_sections=("data", "model", "sft.agent.chunking"), run=run,
              output="data_cache/collect", script="1_collect_data.py", input_files=input_files)

