"""Experiment trackers by config (`tracking.report_to`): TensorBoard, Weights & Biases, MLflow, or none.

Each stage that trains or evaluates opens one tracker run per backend before it starts (project, run name
`<run_name>-<stage>`, tags, and the stage's config with secrets redacted), so the trainer's own reporting
callbacks log into that run instead of opening their own; evaluate logs its metrics, report and plots into its
run. TensorBoard needs no run: the trainer writes logs/<stage>/tensorboard/ itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from trainpipe.config import TrackingConfig
from trainpipe.errors import UserError
from trainpipe.secrets import redact_obj

log = logging.getLogger("trainpipe.tracking")

BACKENDS = ("tensorboard", "wandb", "mlflow")


def check(tracking: TrackingConfig) -> None:
    """Refuse an unknown backend, and one whose package is not installed, before any stage runs."""

    for name in tracking.report_to:
        if name not in BACKENDS:
            raise UserError(f"tracking.report_to: unknown tracker {name!r}; expected any of {', '.join(BACKENDS)}")
        try:
            __import__(name)  # each backend's package has the backend's name
        except ImportError:
            raise UserError(f"tracking.report_to: {name} needs the {name} package (pip install {name})") from None


@contextlib.contextmanager
def stage_run(tracking: TrackingConfig, stage: str, config: dict, logs: Path, main_process: bool = True):
    """Open one run per configured backend for `stage` (main process only) and close them afterwards; yields the
    list of open backends. `config` is logged as the run's parameters after secret redaction."""

    opened: list[str] = []
    if not main_process:
        yield opened
        return
    check(tracking)
    name = f"{tracking.run_name}-{stage}" if tracking.run_name else stage
    params = redact_obj(config)
    try:
        if "wandb" in tracking.report_to:
            _open_wandb(tracking, stage, name, params, logs)
            opened.append("wandb")
        if "mlflow" in tracking.report_to:
            _open_mlflow(tracking, stage, name, params, logs)
            opened.append("mlflow")
        yield opened
    finally:
        _close(opened)


def _open_wandb(tracking: TrackingConfig, stage: str, name: str, params: dict, logs: Path) -> None:
    import wandb

    folder = Path(os.environ.get("WANDB_DIR") or logs)  # wandb's run folder (offline runs too): logs/<stage>
    folder.mkdir(parents=True, exist_ok=True)
    wandb.init(
        project=tracking.project,
        name=name,
        job_type=stage,
        tags=list(tracking.tags),
        config=params,
        dir=str(folder),
        reinit="finish_previous",
    )


def _open_mlflow(tracking: TrackingConfig, stage: str, name: str, params: dict, logs: Path) -> None:
    import mlflow

    if tracking.mlflow_uri:
        mlflow.set_tracking_uri(tracking.mlflow_uri)
    if mlflow.get_experiment_by_name(tracking.project) is None:
        # a local store keeps run files under logs/mlflow, not in MLflow's default ./mlruns of the working directory
        local = not mlflow.get_tracking_uri().startswith(("http:", "https:", "databricks"))
        mlflow.create_experiment(
            tracking.project, artifact_location=(logs.parent / "mlflow").resolve().as_uri() if local else None
        )
    mlflow.set_experiment(tracking.project)
    mlflow.start_run(run_name=name, tags={"stage": stage, **{t: "true" for t in tracking.tags}})
    flat = _flatten(params)
    items = list(flat.items())
    for i in range(0, len(items), 100):  # MLflow takes at most 100 params per call
        mlflow.log_params(dict(items[i : i + 100]))


def _close(opened: list[str]) -> None:
    if "wandb" in opened:
        import wandb

        wandb.finish()
    if "mlflow" in opened:
        import mlflow

        mlflow.end_run()


def _flatten(obj, prefix: str = "") -> dict[str, str]:
    """Dotted keys, values as strings cut to MLflow's 250-character limit for a parameter."""
    if isinstance(obj, dict):
        out: dict[str, str] = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: str(obj)[:250]}


def log_evaluation(opened: list[str], scalars: dict[str, float], files: list[Path]) -> None:
    """Evaluate's metrics (suite means per model, gate) and its files (report, metrics.json, plots) into the
    stage's open runs."""
    if "wandb" in opened:
        import wandb

        wandb.log(scalars)
        for path in files:
            if path.suffix == ".png":
                wandb.log({f"plots/{path.stem}": wandb.Image(str(path))})
        artifact = wandb.Artifact("evaluation", type="evaluation")
        for path in files:
            artifact.add_file(str(path))
        wandb.log_artifact(artifact)
    if "mlflow" in opened:
        import mlflow

        mlflow.log_metrics(scalars)
        for path in files:
            mlflow.log_artifact(str(path))


def evaluation_scalars(metrics: dict) -> dict[str, float]:
    """`<model>/<suite>` → mean (perplexity for text suites) for every model and suite, and the gate as 0/1."""
    out = {}
    for model, suites in metrics["results"].items():
        for suite, result in suites.items():
            value = result.get("perplexity") if result.get("kind") == "text" else result.get("mean")
            if isinstance(value, (int, float)):
                out[f"{model}/{suite}"] = float(value)
    for model, tasks in (metrics.get("harness") or {}).items():  # lm-eval's scores, beside ours
        for task, result in tasks.items():
            out |= {f"{model}/lm_eval/{task}/{m}": v["value"] for m, v in result["metrics"].items()}
    out["gate_passed"] = float(bool(metrics["gate"]["passed"]))
    return out
