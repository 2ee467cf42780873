import json

import pytest

from trainpipe.data.store import load_split
from trainpipe.evaluation.general_text import PASSAGES
from trainpipe.evaluation.retention import candidate_items
from trainpipe.pipeline import run_stage
from trainpipe.tasks import get_task


def test_collect_writes_splits_stats_and_contamination(smoke_cfg, tmp_path):
    src = tmp_path / "alpaca.jsonl"
    src.write_text(
        "\n".join(
            json.dumps({"instruction": f"Say the word number {i}", "input": "", "output": f"word{i} is here"})
            for i in range(30)
        )
        + "\n"
    )
    cfg = smoke_cfg(f"data.sources=[{{kind: task, task: arithmetic, n: 120}}, {{path: {src}}}]")
    manifest = run_stage(cfg, "collect")
    out = tmp_path / "data_cache" / "collect"
    assert sorted(p.name for p in out.iterdir()) == [
        "contamination.json",
        "manifest.json",
        "prompts",
        "sft",
        "stats.json",
    ]
    prompts = {split: load_split(out, "prompts", split) for split in ("train", "eval")}
    sft = {split: load_split(out, "sft", split) for split in ("train", "eval")}
    assert len(prompts["train"]) + len(prompts["eval"]) == 120
    assert 0 < len(prompts["eval"]) <= 20  # eval_max from the smoke config
    assert len(sft["train"]) + len(sft["eval"]) == 150
    # a generated task's gold solution sits in the same split as its prompt
    held = {r["id"] for r in prompts["eval"]}
    assert {r["task_id"] for r in sft["eval"] if r["task_id"]} == held
    assert not held & {r["task_id"] for r in sft["train"]}
    stats = json.loads((out / "stats.json").read_text())
    assert stats["counts"]["prompts"] == {"train": len(prompts["train"]), "eval": len(prompts["eval"])}
    assert stats["token_lengths"]["sft"]["max"] >= stats["token_lengths"]["sft"]["p50"] > 10
    assert manifest["metrics"]["contamination"]["prompts:eval"]["overlapping"] == 0
    for name, total in (("retention:qa", len(candidate_items())), ("retention:text", len(PASSAGES))):
        assert manifest["metrics"]["contamination"][name] == {"overlapping": 0, "total": total, "share": 0.0}


def test_training_data_holding_retention_material_fails_the_contamination_check(smoke_cfg, tmp_path):
    # A general chat file that happens to hold every eighth built-in retention prompt and a few of the built-in
    # passages: the retention suites would then measure what training taught, so collect refuses it.
    import pytest

    from trainpipe.errors import UserError

    leaked = [{"instruction": i["prompt"], "input": "", "output": i["answer"]} for i in candidate_items()[::8]]
    leaked += [{"instruction": "Write a short passage.", "input": "", "output": p} for p in PASSAGES[:12]]
    clean = [{"instruction": f"Say the word number {i}", "input": "", "output": f"word{i} is here"} for i in range(30)]
    src = tmp_path / "chat.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in leaked + clean))
    with pytest.raises(UserError, match=r"contamination check failed: .*retention:qa: \d+/\d+.*retention:text"):
        run_stage(smoke_cfg(f"data.sources=[{{path: {src}}}]"), "collect")
    src.write_text("".join(json.dumps(r) + "\n" for r in clean))  # without them it passes
    report = run_stage(smoke_cfg(f"data.sources=[{{path: {src}}}]"), "collect")["metrics"]["contamination"]
    assert report["retention:qa"]["overlapping"] == report["retention:text"]["overlapping"] == 0


def test_generated_answers_score_one(smoke_cfg, tmp_path):
    run_stage(smoke_cfg(), "collect")
    sft = load_split(tmp_path / "data_cache" / "collect", "sft", "train")
    prompts = {r["id"]: r for r in load_split(tmp_path / "data_cache" / "collect", "prompts", "train")}
    task = get_task("arithmetic")
    for rec in list(sft)[:20]:
        assert task.score(rec["messages"][1]["content"], prompts[rec["task_id"]]["answer"]) == 1.0


def test_empty_eval_split_round_trips(smoke_cfg, tmp_path):
    run_stage(smoke_cfg("data.eval_fraction=0"), "collect")
    out = tmp_path / "data_cache" / "collect"
    assert len(load_split(out, "sft", "eval")) == 0 and len(load_split(out, "sft", "train")) == 120
    assert load_split(out, "sft", "eval").column_names == load_split(out, "sft", "train").column_names


def test_record_longer_than_max_length_is_a_clear_error(smoke_cfg, tmp_path):
    src = tmp_path / "long.jsonl"
    src.write_text(json.dumps({"instruction": "hi", "input": "", "output": "word " * 400}) + "\n")
    import pytest

    from trainpipe.errors import DataError

    with pytest.raises(DataError, match=r"long.jsonl:1: .*max_length|long.jsonl:1: .*256"):
        run_stage(smoke_cfg(f"data.sources=[{{path: {src}}}]"), "collect")


def test_cold_start_sources_label_a_prefix_of_the_prompt_pool(smoke_cfg, tmp_path):
    # Few labels, many prompts: a prompt-only pool plus the first items of the same generator with answers.
    # The labelled items must be pool items and follow the pool's split, or held-out answers leak into SFT.
    cfg = smoke_cfg(
        "data.sources=[{kind: task, task: arithmetic, n: 150, use: prompts}, "
        "{kind: task, task: arithmetic, n: 40, use: sft}]",
        "data.eval_max=40",
    )
    run_stage(cfg, "collect")
    out = tmp_path / "data_cache" / "collect"
    prompts = {split: {r["id"] for r in load_split(out, "prompts", split)} for split in ("train", "eval")}
    sft = {split: list(load_split(out, "sft", split)) for split in ("train", "eval")}
    assert len(prompts["train"]) + len(prompts["eval"]) == 150
    assert len(sft["train"]) + len(sft["eval"]) == 40
    assert all(r["task_id"] in prompts[split] for split in ("train", "eval") for r in sft[split])
    first = {item.prompt for item in get_task("arithmetic").generate(0, 40, 1)}
    assert {r["messages"][0]["content"] for records in sft.values() for r in records} == first


def test_a_handful_of_labels_passes_the_contamination_check(smoke_cfg, tmp_path):
    # 12 labels leave one or two held-out SFT records: the check learns their template from the whole source.
    cfg = smoke_cfg(
        "data.sources=[{kind: task, task: arithmetic, n: 150, use: prompts}, "
        "{kind: task, task: arithmetic, n: 12, use: sft}]",
        "data.eval_max=40",
    )
    run_stage(cfg, "collect")
    report = json.loads((tmp_path / "data_cache" / "collect" / "contamination.json").read_text())
    assert 1 <= report["sft:eval"]["total"] <= 3 and report["sft:eval"]["overlapping"] == 0
    assert report["prompts:eval"]["overlapping"] == 0


def test_task_solutions_share_step_facts_but_only_prompts_identify_an_item():
    from trainpipe.stages.collect import _texts

    task = {
        "source": "task:arithmetic:1",
        "messages": [
            {"role": "user", "content": "What is 47 + 38?"},
            {"role": "assistant", "content": "ones: 7 + 8 = 15"},
        ],
    }
    user_file = {**task, "source": "file:mine.jsonl"}
    assert _texts("sft", [task, user_file]) == ["What is 47 + 38?", "What is 47 + 38?\nones: 7 + 8 = 15"]


def test_arithmetic_default_size_passes_the_contamination_check(smoke_cfg, tmp_path):
    # 1,200 items: every digit fact of the place-value working recurs across items; the prompts stay distinct.
    cfg = smoke_cfg("data.sources=[{kind: task, task: arithmetic, n: 1200, difficulty: 1}]")
    report = run_stage(cfg, "collect")["metrics"]["contamination"]
    assert report["sft:eval"]["overlapping"] == 0 and report["prompts:eval"]["overlapping"] == 0


def _sources(train) -> dict:
    from collections import Counter

    return dict(Counter(r["source"] for r in train))


def test_source_weights_shape_the_training_part_for_every_kind_of_source(smoke_cfg, tmp_path):
    # Weights used to be looked up by path alone: a datasets source with a split (records named path:split) and
    # task or environment sources silently trained at weight 1.
    from datasets import Dataset, DatasetDict

    folder = tmp_path / "chat_ds"
    rows = [{"instruction": f"Name the colour number {i}", "input": "", "output": f"colour {i}"} for i in range(40)]
    DatasetDict({"extra": Dataset.from_list(rows)}).save_to_disk(str(folder))
    cfg = smoke_cfg(
        f"data.sources=[{{kind: datasets, path: {folder}, split: extra, weight: 3}}, "
        "{kind: task, task: arithmetic, n: 40, weight: 1}]",
        "data.eval_fraction=0.25",
    )
    run_stage(cfg, "collect")
    out = tmp_path / "data_cache" / "collect"
    train, held = (load_split(out, "sft", part) for part in ("train", "eval"))
    name = f"{folder}:extra"
    raw = {name: 40, "task:arithmetic:1": 40}
    got = _sources(train)
    assert sum(got.values()) == 80 - len(held)  # as many records as the sources hold, reshared 3 : 1
    assert got[name] == round(3 * sum(got.values()) / 4)
    assert all(n <= raw[s] for s, n in _sources(held).items())  # the held-out part is not resampled
    assert len({r["id"] for r in held} & {r["id"] for r in train}) == 0


def test_two_sources_of_one_name_need_one_weight(smoke_cfg):
    import pytest

    from trainpipe.errors import UserError

    cfg = smoke_cfg(
        "data.sources=[{kind: task, task: arithmetic, n: 20, weight: 2}, "
        "{kind: task, task: arithmetic, n: 20, seed: 5, weight: 1}]"
    )
    with pytest.raises(UserError, match="two sources named task:arithmetic:1 have different weights"):
        run_stage(cfg, "collect")


def test_upsampled_copies_survive_dedup(smoke_cfg, tmp_path):
    # Mixing used to run before dedup, which removed the very copies a weight above the others asked for.
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(
        "".join(json.dumps({"instruction": f"Spell {i}", "input": "", "output": f"s{i}"}) + "\n" for i in range(10))
    )
    b.write_text(
        "".join(json.dumps({"instruction": f"Count {i}", "input": "", "output": f"c{i}"}) + "\n" for i in range(30))
    )
    run_stage(
        smoke_cfg(f"data.sources=[{{path: {a}, weight: 3}}, {{path: {b}, weight: 1}}]", "data.eval_fraction=0"),
        "collect",
    )
    got = _sources(load_split(tmp_path / "data_cache" / "collect", "sft", "train"))
    assert got == {str(a): 30, str(b): 10}


def test_bounded_buffers_change_nothing(smoke_cfg, tmp_path, monkeypatch):
    # The same weighted mix collected twice: with the default buffers, and with buffers so small that the split
    # files take many row groups, the mixing shuffle many buckets and the boilerplate count many chunks.
    import pyarrow.parquet as pq

    from trainpipe.data import hygiene, spool, store

    src = tmp_path / "a.jsonl"
    src.write_text(
        "".join(
            json.dumps({"instruction": f"Spell the word {i} backwards", "input": "", "output": f"s{i} t{i} u{i}"})
            + "\n"
            for i in range(300)
        )
    )
    sources = f"data.sources=[{{path: {src}, weight: 3}}, {{kind: task, task: arithmetic, n: 200, weight: 1}}]"
    outs = []
    for name in ("default", "small"):
        if name == "small":
            for module, attr, value in (
                (store, "ROW_GROUP_BYTES", 4000),
                (spool, "BUCKET_BYTES", 4000),
                (hygiene, "BOILERPLATE_CHUNK", 200),
            ):
                monkeypatch.setattr(module, attr, value)
        root = tmp_path / name
        run_stage(smoke_cfg(f"paths.root={root}", sources), "collect")
        outs.append(root / "data_cache" / "collect")
    default, small = outs
    for use in ("sft", "prompts"):
        for part in ("train", "eval"):
            assert pq.read_table(small / use / f"{part}.parquet").equals(
                pq.read_table(default / use / f"{part}.parquet")
            )
    assert pq.ParquetFile(default / "sft" / "train.parquet").num_row_groups == 1
    assert pq.ParquetFile(small / "sft" / "train.parquet").num_row_groups > 10
    for name in ("stats.json", "contamination.json"):
        assert (small / name).read_text() == (default / name).read_text()
    assert _sources(load_split(small, "sft", "train"))[str(src)] > 300  # upsampled 3 : 1, so the shuffle ran


_STREAM = """
import json, sys, tracemalloc
import pyarrow as pa
from trainpipe.config import load_config
from trainpipe.data import store
from trainpipe.errors import DataError
from trainpipe.pipeline import run_stage

store.ROW_GROUP_BYTES = 1 << 20  # row groups of 1 MB, so both files fill several
tracemalloc.start()
for line in sys.stdin:
    config, root, src = line.split()
    tracemalloc.reset_peak()
    try:
        run_stage(load_config(config, [f"paths.root={root}", f"data.sources=[{{path: {src}}}]"]), "collect")
        error = None
    except DataError as exc:
        error = str(exc)
    print(json.dumps({"python": tracemalloc.get_traced_memory()[1], "arrow": pa.default_memory_pool().max_memory(),
                      "error": error}), flush=True)
"""


@pytest.mark.slow
def test_collect_memory_does_not_grow_with_the_file(tmp_path):
    # In one fresh process: a 3 MB file (twice: the first run also pays for imports), then a 13 MB file whose last
    # line is bad, then the same file mended. Python's traced peak and Arrow's peak grow by little more than the
    # dedup digests (holding the records, as collect once did, grows Python's peak by several times the file).
    # The bad line is found after every record before it went by, named by file, line and field; nothing is
    # published.
    import random
    import re
    import subprocess
    import sys

    from conftest import REPO

    rng, words = random.Random(0), sorted(set(re.findall(r"[a-z]+", " ".join(PASSAGES).lower())))
    lines = [json.dumps({"text": f"record {i}: " + " ".join(rng.choices(words, k=90))}) + "\n" for i in range(20_000)]
    small, big, mended = tmp_path / "small.jsonl", tmp_path / "big.jsonl", tmp_path / "mended.jsonl"
    small.write_text("".join(lines[:5000]))
    big.write_text("".join(lines) + json.dumps({"text": 42}) + "\n")
    mended.write_text("".join(lines))
    grown = mended.stat().st_size - small.stat().st_size
    assert grown > 9_000_000
    config = REPO / "configs" / "smoke.yaml"
    runs = [
        (config, tmp_path / name, src)
        for name, src in (("warm", small), ("small", small), ("bad", big), ("mended", mended))
    ]
    proc = subprocess.run(
        [sys.executable, "-c", _STREAM],
        input="".join(f"{c} {r} {s}\n" for c, r, s in runs),
        capture_output=True,
        text=True,
        check=True,
    )
    _, base, bad, good = [json.loads(line) for line in proc.stdout.splitlines()]
    assert bad["error"] == f"{big}:20001: field 'text': expected a string; got number"
    assert not (tmp_path / "bad" / "data_cache" / "collect").exists()
    assert not list((tmp_path / "bad" / "data_cache").glob(".collect.tmp-*"))
    for run in (bad, good):
        assert run["python"] - base["python"] < grown / 4 and run["arrow"] - base["arrow"] < grown / 4
    out = tmp_path / "mended" / "data_cache" / "collect"
    assert (len(load_split(out, "cpt", "train")), len(load_split(out, "cpt", "eval"))) == (19_980, 20)
