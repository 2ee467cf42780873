"""Collect stage: load every configured source and task generator into canonical, validated, de-duplicated
datasets with stable held-out splits, plus stats and a contamination report.

Reads data.sources; writes data_cache/collect/<use>/ (datasets train/eval), stats.json and contamination.json.
Records stream from the readers to per-use spool files and from there to the splits (data/spool.py), so memory
holds digests, row numbers and the held-out records, not the data; the checks read the written splits back.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from trainpipe import artifacts
from trainpipe.config import Config, DataConfig, SourceConfig
from trainpipe.data.readers import expand_paths
from trainpipe.data.store import read_batches, read_records
from trainpipe.errors import UserError
from trainpipe.evaluation.general_text import PASSAGES
from trainpipe.models.chat import chat_ids
from trainpipe.stages import Stage, StageIO
from trainpipe.tasks import get_task

log = logging.getLogger("trainpipe.collect")
TASK_SOURCE = "task:"  # source names of generated task items: task:<family>:<difficulty>
GENERATED = ("task", "environment")  # source kinds generated here rather than read from files
STATS_SAMPLE = 2000  # training records whose token lengths the stats report


@dataclass
class Part:
    """One use written: its train file (read again by the checks), its held-out records (few) and its dropped copies."""

    train: Path
    train_count: int
    held: list[dict]
    dropped: int


def run(cfg: Config, io: StageIO) -> dict:
    data = cfg.data
    tokenizer = _tokenizer(cfg, io)
    work = io.out / ".work"  # spooled records and shuffle buckets; inside the temp output, so a failure removes it
    try:
        spools, loaded = _spool(cfg, tokenizer, work)
        weights = _source_weights(data)
        parts: dict[str, Part] = {}
        # prompts first: generated tasks' SFT answers follow their prompt's split
        for use in sorted(spools, key=lambda u: u != "prompts"):
            parts[use] = _write_use(spools[use], data, weights, parts.get("prompts"), io.out / use, work)
        contamination = _contamination(parts, data)
        stats = _stats(parts, loaded, tokenizer)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    artifacts.write_json_atomic(io.out / "stats.json", stats)
    artifacts.write_json_atomic(io.out / "contamination.json", contamination)
    io.logs.mkdir(parents=True, exist_ok=True)
    artifacts.write_json_atomic(io.logs / "stats.json", stats)
    return {
        "counts": stats["counts"],
        "skipped": loaded.skipped,
        "dropped_duplicates": stats["dropped_duplicates"],
        "contamination": contamination,
        "key_metric": "records",
        "records": sum(p.train_count + len(p.held) for p in parts.values()),
    }


def _spool(cfg: Config, tokenizer, work: Path):
    """Every source's records spooled by use as they are read: the files first, then generated tasks and episodes."""
    from trainpipe.data.sources import stream_sources
    from trainpipe.data.spool import Spool

    spools: dict = {}
    dedup = cfg.data.dedup

    def sink(use: str, record: dict) -> None:
        if use not in spools:
            spools[use] = Spool(work, use, dedup)
        spools[use].add(record)

    loaded = stream_sources(
        [s for s in cfg.data.sources if s.kind not in GENERATED],
        cfg.data,
        os.getcwd(),
        sink,
        count_tokens=_token_counter(tokenizer, skip_sft=cfg.sft.agent.chunking),
    )
    task_prompts, task_sft = _task_records(cfg)
    for use, records in (("prompts", task_prompts), ("sft", task_sft), ("sft", _environment_records(cfg))):
        for record in records:
            sink(use, record)
    for spool in spools.values():
        spool.close()
    return spools, loaded


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
        name = (
            task_source_name(src)
            if src.kind == "task"
            else source_label(src)
            if src.kind == "environment"
            else source_name(src)
        )
        if out.get(name, src.weight) != src.weight:
            raise UserError(
                f"data.sources: two sources named {name} have different weights ({out[name]} and "
                f"{src.weight}); their records cannot be told apart, so give them one weight"
            )
        out[name] = src.weight
    return out


def task_source_name(src: SourceConfig) -> str:
    return f"{TASK_SOURCE}{src.task}:{src.difficulty}"


def _needs_mixing(sources: dict[str, int], weights: dict[str, float]) -> bool:
    """Whether the sources' weights reshape the training part (hygiene.mix); not when every weight is equal."""
    found = {weights.get(name, 1.0) for name in sources}
    return bool(sources) and not (len(found) == 1 and 0.0 not in found)


def _task_records(cfg: Config) -> tuple[list[dict], list[dict]]:
    """Generated tasks give RL/eval prompts and gold SFT conversations that share one id (and so one split)."""
    from trainpipe.data.records import record_id

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
                prompts.append(
                    {"id": rid, "source": name, "prompt": item.prompt, "task": item.task, "answer": item.answer}
                )
            if src.use in ("auto", "sft"):
                sft.append(
                    {
                        "id": rid,
                        "source": name,
                        "weight": 1.0,
                        "reward": None,
                        "step_rewards": [],
                        "task_id": rid,
                        "meta": "{}",
                        "messages": [
                            {"role": "user", "content": item.prompt},
                            {"role": "assistant", "content": item.solution},
                        ],
                    }
                )
    return prompts, sft


def _environment_records(cfg: Config) -> list[dict]:
    """Trajectories a noisy expert played in a real environment; each episode has its own seed, so the
    stable hash split puts every seed in exactly one of train and eval."""
    from trainpipe.data.env_trajectories import environment_records

    return [r for src in cfg.data.sources if src.kind == "environment" for r in environment_records(src, cfg.data.seed)]


def _write_use(spool, data: DataConfig, weights: dict[str, float], prompts, folder: Path, work: Path) -> Part:
    """Split one use's spooled records into train/eval, then mix the training part by source weight.

    Dedup and split come before mixing: an upsampled copy is a duplicate by content, and the held-out part measures
    the data as it is, so source weights shape the training part only."""
    from trainpipe.data.spool import mix_split, write_split

    held, tied = _split(spool, data, prompts)
    sources = write_split(spool, folder, held, tied)
    spool.path.unlink()
    train_count = sum(sources.values())
    if _needs_mixing(sources, weights):
        train_count = mix_split(folder, spool.use, weights, data.seed, work)
    return Part(folder / "train.parquet", train_count, list(read_records(folder / "eval.parquet")), spool.dropped)


def _split(spool, data: DataConfig, prompts):
    """The spool rows held out (hygiene.HeldOut; prompts per task) and, for sft once there are prompts, their ids."""
    from trainpipe.data.hygiene import HeldOut

    chosen = HeldOut(data.eval_fraction, data.eval_max, data.seed)
    if spool.use == "sft" and prompts is not None:
        # A generated task's gold answer must sit in the same split as its prompt, or eval leaks into training.
        held_prompts = {r["id"] for r in prompts.held}
        tied = {r["id"] for r in read_records(prompts.train, columns=["id"])} | held_prompts
        held = set()
        for i, r in enumerate(spool.columns(["id", "task_id"])):
            if r["task_id"] not in tied:
                chosen.offer(i, r["id"])
            elif r["task_id"] in held_prompts:
                held.add(i)
        return held | chosen.indexes(), tied
    columns = ["id", "task"] if spool.use == "prompts" else ["id"]
    for i, r in enumerate(spool.columns(columns)):
        chosen.offer(i, r["id"], r.get("task"))
    return chosen.indexes(), None


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


TEXT_COLUMNS = {"sft": ["source", "messages"], "cpt": ["source", "text"], "prompts": ["source", "prompt"]}


def _records_and_texts(use: str, part: Part, held: bool = True):
    """(record, text, is_train) of one use: the training part read back in batches, then the held-out records."""

    for batch in read_batches(part.train, TEXT_COLUMNS[use]):
        records = batch.to_pylist()
        yield from ((r, t, True) for r, t in zip(records, _texts(use, records)))
    if held:
        yield from ((r, t, False) for r, t in zip(part.held, _texts(use, part.held)))


def _contamination(parts: dict[str, Part], data: DataConfig) -> dict:
    """Held-out records and the built-in retention material against training text (hygiene.Overlap), streamed.

    Each source's template is learned from all its records (train and held-out, every use), per eval set from the
    sources it draws on: a small held-out split cannot show the template on its own. The retention Q&A and
    general-text passages are checked against everything training sees (sft and cpt text, and the prompts RL trains
    on), with each training source's template (its training records) masked, so a generated task's fixed
    instructions are not taken for shared content."""
    from trainpipe.data.hygiene import Overlap, eval_boilerplate

    uses = [use for use in ("prompts", "sft", "cpt") if use in parts]
    templates = _templates(parts, uses)
    eval_sets = {f"{use}:eval": _texts(use, parts[use].held) for use in uses if parts[use].held}
    boilers = {
        f"{use}:eval": eval_boilerplate(eval_sets[f"{use}:eval"]).union(
            *(templates.bigrams(("all", s)) for s in dict.fromkeys(r["source"] for r in parts[use].held))
        )
        for use in uses
        if f"{use}:eval" in eval_sets
    }
    retention = _retention_sets()
    trained = [g for g in templates.texts if g[0] == "train"]
    boilers |= {
        name: eval_boilerplate(texts).union(*(templates.bigrams(g) for g in trained))
        for name, texts in retention.items()
    }
    check = Overlap(eval_sets | retention, data.contamination_ngram, boilers)
    for use in uses:
        names = None if use in ("sft", "cpt") else list(retention)
        for _, text, _ in _records_and_texts(use, parts[use], held=False):
            check.add(text, names)
    report = check.report()
    bad = {k: v for k, v in report.items() if v["share"] > data.contamination_max}
    if bad:
        detail = ", ".join(f"{k}: {v['overlapping']}/{v['total']}" for k, v in bad.items())
        raise UserError(
            f"contamination check failed: held-out records share {data.contamination_ngram}-grams with "
            f"training data ({detail}); above data.contamination_max={data.contamination_max}"
        )
    return report


def _templates(parts: dict[str, Part], uses: list[str]):
    """Each source's boilerplate over all its records ("all", source) and over its training records ("train", source),
    in hygiene.Boilerplate's two passes over the written splits."""
    from trainpipe.data.hygiene import Boilerplate

    found = Boilerplate()
    for pass_ in (found.first, found.second):
        for use in uses:
            for record, text, train in _records_and_texts(use, parts[use]):
                pass_(text, ("all", record["source"]), *([("train", record["source"])] if train else []))
    return found


def _retention_sets() -> dict[str, list[str]]:
    from trainpipe.evaluation.retention import candidate_items

    return {
        "retention:qa": [
            "\n".join([*(m["content"] for m in i.get("history", [])), i["prompt"]]) for i in candidate_items()
        ],
        "retention:text": list(PASSAGES),
    }


def _stats(parts: dict[str, Part], loaded, tokenizer) -> dict:
    import numpy as np

    counter = _token_counter(tokenizer)
    counts, lengths = {}, {}
    for use, part in parts.items():
        counts[use] = {"train": part.train_count, "eval": len(part.held)}
        sample = read_records(part.train, STATS_SAMPLE) if use in ("sft", "cpt", "prompts") else ()
        lens = [counter(r) for r in sample]
        if lens:
            lengths[use] = {f"p{q}": int(np.percentile(lens, q)) for q in (50, 90, 99)} | {"max": max(lens)}
    return {
        "counts": counts,
        "token_lengths": lengths,
        "per_source": loaded.per_source,
        "skipped": loaded.skipped,
        "dropped_duplicates": {use: p.dropped for use, p in parts.items()},
    }


def input_files(cfg: Config) -> list[Path]:

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


STAGE = Stage(
    name="collect",
    reads=(),
    config_sections=("data", "model", "sft.agent.chunking"),
    run=run,
    output="data_cache/collect",
    script="1_collect_data.py",
    input_files=input_files,
)
