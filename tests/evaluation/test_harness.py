"""Evaluate's task suites exported as lm-evaluation-harness tasks: lm-eval, run on those files, generates the
same completions and gives the same accuracy as trainpipe's evaluator on the same items."""

import json

import pytest

from trainpipe.pipeline import run_stage

pytest.importorskip("lm_eval")


def test_lm_eval_reproduces_evaluate_on_the_exported_suite(smoke_cfg, tmp_path, one_thread, monkeypatch):
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    cfg = smoke_cfg("sft.max_steps=2", "evaluate.retention=false", "evaluate.max_examples=8")
    for stage in ("collect", "sft", "evaluate"):
        run_stage(cfg, stage)
    logs = tmp_path / "logs" / "evaluate"
    metrics = json.loads((logs / "metrics.json").read_text())
    assert metrics["lm_eval_tasks"] == ["trainpipe_arithmetic"]
    items = [json.loads(line) for line in (logs / "lm_eval" / "arithmetic.jsonl").read_text().splitlines()]
    sft_results = [json.loads(f.read_text()) for f in (logs / "cache").glob(f"{metrics['models'][1]['fingerprint']}-*")]
    ours = next(d for d in sft_results if [i["id"] for i in d["items"]] == [i["id"] for i in items])

    out = simple_evaluate(
        model="hf",
        model_args=f"pretrained={tmp_path / 'models' / 'sft'},dtype=float32",
        tasks=["trainpipe_arithmetic"],
        task_manager=TaskManager(include_path=str(logs / "lm_eval")),
        apply_chat_template=True,
        log_samples=True,
        batch_size=8,
        device="cpu",
    )
    samples = {s["doc"]["id"]: s for s in out["samples"]["trainpipe_arithmetic"]}
    assert [samples[i["id"]]["resps"][0][0].strip() for i in ours["items"]] == [
        i["completion"].strip() for i in ours["items"]
    ]
    assert out["results"]["trainpipe_arithmetic"]["acc,none"] == pytest.approx(
        metrics["results"]["sft"]["arithmetic"]["mean"]
    )


MC_TASK = """task: tiny_mc
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: label
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
"""


def _mc_folder(folder):
    folder.mkdir()
    rows = [
        {"question": f"What is {a} plus {b}?", "choices": [str(a + b), str(a + b + 1)], "label": 0}
        for a, b in ((1, 2), (3, 4), (5, 1), (2, 2), (7, 1))
    ]
    (folder / "tiny_mc.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "tiny_mc.yaml").write_text(MC_TASK.format(data=json.dumps(str(folder / "tiny_mc.jsonl"))))
    return folder


def test_harness_tasks_scores_every_model_beside_ours(smoke_cfg, tmp_path, one_thread, monkeypatch, caplog):
    """evaluate.harness_tasks runs lm-eval in the stage: evaluate's own suites ('trainpipe') get lm-eval's
    accuracy equal to ours on the same items, a local task folder is scored on all its items, both land in
    metrics.json, the report and the tracker scalars, and a rerun reads them from the cache."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    folder = _mc_folder(tmp_path / "mc_tasks")
    cfg = smoke_cfg(
        "sft.max_steps=2",
        "evaluate.retention=false",
        "evaluate.max_examples=8",
        f"evaluate.harness_tasks=[trainpipe,{folder}]",
    )
    for stage in ("collect", "sft", "evaluate"):
        run_stage(cfg, stage)
    logs = tmp_path / "logs" / "evaluate"
    metrics = json.loads((logs / "metrics.json").read_text())
    assert set(metrics["harness"]) == {"base", "sft"}
    for model in ("base", "sft"):
        own = metrics["harness"][model]["trainpipe_arithmetic"]
        assert own["n"] == 8
        assert own["metrics"]["acc"]["value"] == pytest.approx(metrics["results"][model]["arithmetic"]["mean"])
        mc = metrics["harness"][model]["tiny_mc"]
        assert mc["n"] == 5 and 0.0 <= mc["metrics"]["acc"]["value"] <= 1.0
        lo, hi = mc["metrics"]["acc"]["lo"], mc["metrics"]["acc"]["hi"]
        assert lo < mc["metrics"]["acc"]["value"] < hi
    report = (logs / "report.md").read_text()
    assert "## lm-evaluation-harness" in report
    sft_acc = metrics["harness"]["sft"]["trainpipe_arithmetic"]["metrics"]["acc"]["value"]
    ours = metrics["results"]["sft"]["arithmetic"]["mean"]
    assert f"| sft | trainpipe_arithmetic | acc | {sft_acc:.3f} | " in report and f"| 8 | {ours:.3f} |" in report
    assert len(list((logs / "cache" / "harness").glob("*.json"))) == 2

    caplog.set_level("INFO", logger="trainpipe.evaluate")
    caplog.clear()
    run_stage(cfg, "evaluate", force=True)
    assert not [r for r in caplog.records if "on lm-eval" in r.getMessage()]  # both models from the cache
    assert json.loads((logs / "metrics.json").read_text())["harness"] == metrics["harness"]


def test_unknown_harness_task_is_refused_naming_it(smoke_cfg, tmp_path):
    from trainpipe.errors import UserError

    cfg = smoke_cfg("sft.enabled=false", "evaluate.retention=false", "evaluate.harness_tasks=[trainpipe_arithmetc]")
    run_stage(cfg, "collect")
    with pytest.raises(
        UserError,
        match=r"'trainpipe_arithmetc' is neither a task folder nor an lm-eval task or group; "
        r"did you mean trainpipe_arithmetic",
    ):
        run_stage(cfg, "evaluate")
