"""Trackers by config: SFT and evaluate log into W&B (offline) and MLflow (sqlite store), read back through each
package's own reader: W&B's `wandb leet inspect --json` of the run's transaction log, MLflow's MlflowClient."""

import json
import subprocess
import sys

import pytest

from trainpipe.errors import UserError
from trainpipe.pipeline import run_stage

pytest.importorskip("wandb")
pytest.importorskip("mlflow")

SECRET = "hf_trackingtestsecretvalue0123456789"


def _wandb_records(run_file) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "wandb", "leet", "inspect", "--json", str(run_file)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.fixture
def tracked(smoke_cfg, tmp_path, monkeypatch, one_thread):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_DIR", raising=False)
    monkeypatch.setenv("HF_TOKEN", SECRET)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = smoke_cfg(
        "tracking.report_to=[tensorboard,wandb,mlflow]",
        "tracking.run_name=t1",
        "tracking.tags=[ci]",
        f"tracking.mlflow_uri={uri}",
        "sft.max_steps=4",
        "sft.logging_steps=1",
        "evaluate.retention=false",
    )
    for stage in ("collect", "sft", "evaluate"):
        run_stage(cfg, stage)
    return cfg, tmp_path, uri


def test_sft_and_evaluate_log_into_wandb_and_mlflow(tracked):
    import mlflow

    cfg, root, uri = tracked
    state = json.loads(next((root / "checkpoints" / "sft").glob("checkpoint-4/trainer_state.json")).read_text())
    losses = [h["loss"] for h in state["log_history"] if "loss" in h]
    metrics = json.loads((root / "logs" / "evaluate" / "metrics.json").read_text())
    sft_score = metrics["results"]["sft"]["arithmetic"]["mean"]

    client = mlflow.tracking.MlflowClient(uri)
    exp = client.get_experiment_by_name("trainpipe")
    runs = {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}
    assert set(runs) == {"t1-sft", "t1-evaluate"}
    logged = [
        m.value
        for m in client.get_metric_history(runs["t1-sft"].info.run_id, "train/loss")
        or client.get_metric_history(runs["t1-sft"].info.run_id, "loss")
    ]
    assert logged == pytest.approx(losses)
    assert runs["t1-sft"].data.tags["stage"] == "sft" and runs["t1-sft"].data.tags["ci"] == "true"
    assert runs["t1-sft"].data.params["sft.learning_rate"] == "0.001"
    ev = runs["t1-evaluate"]
    assert ev.data.metrics["sft/arithmetic"] == pytest.approx(sft_score)
    assert {a.path for a in client.list_artifacts(ev.info.run_id)} >= {"report.md", "metrics.json", "accuracy.png"}
    assert ev.info.artifact_uri.startswith((root / "logs" / "mlflow").as_uri())  # not ./mlruns of the cwd

    run_files = sorted((root / "logs").glob("*/wandb/offline-run-*/run-*.wandb"))
    assert [f.parts[-4] for f in run_files] == ["evaluate", "sft"]
    records = {f.parts[-4]: _wandb_records(f) for f in run_files}
    run = next(r["run"] for r in records["sft"] if r["type"] == "run")
    assert run["display_name"] == "t1-sft" and run["project"] == "trainpipe" and run["tags"] == ["ci"]
    history = [r["history"]["item"] for r in records["sft"] if r["type"] == "history"]
    assert [h["train/loss"] for h in history if "train/loss" in h] == pytest.approx(losses)
    ev_history = [r["history"]["item"] for r in records["evaluate"] if r["type"] == "history"]
    assert any(h.get("sft/arithmetic") == pytest.approx(sft_score) for h in ev_history)


def test_no_secret_reaches_a_tracker(tracked):
    _, root, _ = tracked
    stores = [root / "mlflow.db", *(root / "logs").rglob("*.wandb"), *(root / "logs").rglob("wandb/**/*.*")]
    assert stores and not any(SECRET.encode() in p.read_bytes() for p in stores if p.is_file())


def test_unknown_or_missing_tracker_is_refused_before_the_stage_runs(smoke_cfg, tmp_path):
    cfg = smoke_cfg("tracking.report_to=[wandbb]", "sft.max_steps=1")
    run_stage(cfg, "collect")
    with pytest.raises(UserError, match="unknown tracker 'wandbb'"):
        run_stage(cfg, "sft")
    assert not (tmp_path / "models" / "sft").exists()
