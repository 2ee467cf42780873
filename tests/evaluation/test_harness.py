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

    out = simple_evaluate(model="hf", model_args=f"pretrained={tmp_path / 'models' / 'sft'},dtype=float32",
                          tasks=["trainpipe_arithmetic"], task_manager=TaskManager(include_path=str(logs / "lm_eval")),
                          apply_chat_template=True, log_samples=True, batch_size=8, device="cpu")
    samples = {s["doc"]["id"]: s for s in out["samples"]["trainpipe_arithmetic"]}
    assert [samples[i["id"]]["resps"][0][0].strip() for i in ours["items"]] == [
        i["completion"].strip() for i in ours["items"]]
    assert out["results"]["trainpipe_arithmetic"]["acc,none"] == pytest.approx(
        metrics["results"]["sft"]["arithmetic"]["mean"])
