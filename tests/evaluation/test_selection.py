"""Checkpoint selection: the choice rule on hand-made dev results, and the SFT stage holding task prompts back,
keeping every checkpoint, scoring them on dev suites only and publishing the chosen checkpoint's weights."""

import pytest
import torch
from tests.conftest import make_config

from trainpipe.errors import UserError
from trainpipe.evaluation import selection
from trainpipe.evaluation.results import summarize_items
from trainpipe.pipeline import run_stage


def _task(scores: list[float]) -> dict:
    return summarize_items(
        [
            {"id": f"i{k}", "score": s, "samples": 1, "correct": int(s), "tokens": 1, "format_ok": None}
            for k, s in enumerate(scores)
        ],
        0.8,
    )


def _results(task: dict[str, int], kept: dict[str, int], n: int = 40) -> dict:
    """Per model: `task[m]` of n dev task items right, and the first `kept[m]` of n retention items right."""
    return {
        m: {
            selection.TASK_DEV: _task([1.0] * task[m] + [0.0] * (n - task[m])),
            "retention_dev": _task([1.0] * kept[m] + [0.0] * (n - kept[m])),
        }
        for m in task
    }


def test_choice_is_the_best_task_score_among_candidates_that_keep_retention(smoke_cfg):
    cfg = smoke_cfg()
    # step-3 has the best task score but loses 12 retention items (a paired loss); step-2 keeps retention.
    res = _results(
        {"start": 5, "step-1": 10, "step-2": 20, "step-3": 30}, {"start": 30, "step-1": 30, "step-2": 29, "step-3": 18}
    )
    chosen, rows = selection.choose(res, cfg)
    assert chosen == "step-2"
    assert [r["eligible"] for r in rows] == [True, True, False]
    assert "loses suite retention_dev" in rows[2]["reasons"][0]
    assert [r["front"] for r in rows[:2]] == [True, True]  # neither dominates: step-1 keeps one more item


def test_ties_go_to_better_retention_then_the_later_step(smoke_cfg):
    cfg = smoke_cfg()
    res = _results(
        {"start": 5, "step-1": 20, "step-2": 20, "step-3": 20}, {"start": 30, "step-1": 30, "step-2": 30, "step-3": 29}
    )
    chosen, rows = selection.choose(res, cfg)
    assert chosen == "step-2"  # step-3 is dominated (same task, one item fewer kept); step-1 ties and is earlier
    assert [r["front"] for r in rows] == [True, True, False]


def test_no_candidate_keeping_every_dev_suite_chooses_none(smoke_cfg):
    cfg = smoke_cfg()
    res = _results({"start": 5, "step-1": 30}, {"start": 30, "step-1": 10})
    assert selection.choose(res, cfg)[0] is None


def _adapter(folder) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def test_sft_select_scores_every_checkpoint_on_dev_and_publishes_the_chosen(tmp_path, monkeypatch):
    picked = {}

    def first(results, cfg):  # the real rule picks among near-identical random checkpoints; take the earliest
        names = [n for n in results if n != selection.START]
        picked["results"] = results
        return names[0], [{"candidate": n} for n in names]

    monkeypatch.setattr(selection, "choose", first)
    cfg = make_config(
        tmp_path,
        "sft.max_steps=4",
        "sft.save_steps=2",
        "sft.save_total_limit=1",
        "sft.select.enabled=true",
        "sft.select.task_items=6",
        "sft.merge_adapters=false",
    )
    run_stage(cfg, "collect")
    m = run_stage(cfg, "sft")["metrics"]
    sel = m["selection"]
    assert sel["chosen"] == "step-2" and [r["candidate"] for r in sel["rows"]] == ["step-2", "step-4"]
    assert sel["suites"] == [selection.TASK_DEV, "retention_dev", "retention_text_dev"]
    results = picked["results"]
    assert len(results["start"][selection.TASK_DEV]["items"]) == 6
    assert not {s for r in results.values() for s in r} & {"retention_test", "retention_text_test"}
    ckpts = tmp_path / "checkpoints" / "sft"
    assert (ckpts / "checkpoint-2").is_dir()  # kept despite save_total_limit=1: selection needs every checkpoint
    published, chosen, last = (
        _adapter(p) for p in (tmp_path / "models" / "sft", ckpts / "checkpoint-2", ckpts / "checkpoint-4")
    )
    assert published.keys() == chosen.keys()
    assert all(torch.equal(published[k], chosen[k]) for k in chosen)
    assert any(not torch.equal(published[k], last[k]) for k in last)
    # The held-back prompts left training: their gold conversations are not among the examples trained on.
    from trainpipe.data.store import load_split

    train = load_split(tmp_path / "data_cache" / "collect", "sft", "train")
    held = {i["id"] for i in results["start"][selection.TASK_DEV]["items"]}
    assert len(held) == 6 and held <= set(train["id"])
    assert m["examples"] == len(train) - 6


def test_sft_select_needs_task_prompts(tmp_path):
    cfg = make_config(tmp_path, "sft.max_steps=1", "sft.select.enabled=true", "evaluate.tasks=[]")
    run_stage(cfg, "collect")
    with pytest.raises(UserError, match="sft.select.task_items: expected >= 1 held-back prompts"):
        run_stage(cfg, "sft")
