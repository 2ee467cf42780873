import json

from trainpipe.data.store import load_split
from trainpipe.evaluation.general_text import PASSAGES
from trainpipe.evaluation.retention import candidate_items

from trainpipe.pipeline import run_stage
from trainpipe.tasks import get_task


def test_collect_writes_splits_stats_and_contamination(smoke_cfg, tmp_path):
    src = tmp_path / "alpaca.jsonl"
    src.write_text("\n".join(json.dumps({"instruction": f"Say the word number {i}", "input": "",
                                         "output": f"word{i} is here"}) for i in range(30)) + "\n")
    cfg = smoke_cfg(f"data.sources=[{{kind: task, task: arithmetic, n: 120}}, {{path: {src}}}]")
    manifest = run_stage(cfg, "collect")
    out = tmp_path / "data_cache" / "collect"
    assert sorted(p.name for p in out.iterdir()) == ["contamination.json", "manifest.json", "prompts", "sft",
                                                     "stats.json"]
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
    clean = [{"instruction": f"Say the word number {i}", "input": "", "output": f"word{i} is here"}
             for i in range(30)]
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
    cfg = smoke_cfg("data.sources=[{kind: task, task: arithmetic, n: 150, use: prompts}, "
                    "{kind: task, task: arithmetic, n: 40, use: sft}]", "data.eval_max=40")
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
    cfg = smoke_cfg("data.sources=[{kind: task, task: arithmetic, n: 150, use: prompts}, "
                    "{kind: task, task: arithmetic, n: 12, use: sft}]", "data.eval_max=40")
    run_stage(cfg, "collect")
    report = json.loads((tmp_path / "data_cache" / "collect" / "contamination.json").read_text())
    assert 1 <= report["sft:eval"]["total"] <= 3 and report["sft:eval"]["overlapping"] == 0
    assert report["prompts:eval"]["overlapping"] == 0


def test_task_solutions_share_step_facts_but_only_prompts_identify_an_item():
    from trainpipe.stages.collect import _texts

    task = {"source": "task:arithmetic:1", "messages": [{"role": "user", "content": "What is 47 + 38?"},
                                                        {"role": "assistant", "content": "ones: 7 + 8 = 15"}]}
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
    cfg = smoke_cfg(f"data.sources=[{{kind: datasets, path: {folder}, split: extra, weight: 3}}, "
                    "{kind: task, task: arithmetic, n: 40, weight: 1}]", "data.eval_fraction=0.25")
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

    cfg = smoke_cfg("data.sources=[{kind: task, task: arithmetic, n: 20, weight: 2}, "
                    "{kind: task, task: arithmetic, n: 20, seed: 5, weight: 1}]")
    with pytest.raises(UserError, match="two sources named task:arithmetic:1 have different weights"):
        run_stage(cfg, "collect")


def test_upsampled_copies_survive_dedup(smoke_cfg, tmp_path):
    # Mixing used to run before dedup, which removed the very copies a weight above the others asked for.
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("".join(json.dumps({"instruction": f"Spell {i}", "input": "", "output": f"s{i}"}) + "\n"
                         for i in range(10)))
    b.write_text("".join(json.dumps({"instruction": f"Count {i}", "input": "", "output": f"c{i}"}) + "\n"
                         for i in range(30)))
    run_stage(smoke_cfg(f"data.sources=[{{path: {a}, weight: 3}}, {{path: {b}, weight: 1}}]",
                        "data.eval_fraction=0"), "collect")
    got = _sources(load_split(tmp_path / "data_cache" / "collect", "sft", "train"))
    assert got == {str(a): 30, str(b): 10}
