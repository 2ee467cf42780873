"""Evaluate stage: every model the pipeline produced on every suite (held-out tasks, eval files, retention),
with intervals, comparisons, plots and the gate. Reads data_cache/collect and model folders; writes
logs/evaluate/{metrics.json,report.md,report.html,items.jsonl,*.png} and caches (model, suite) results in
logs/evaluate/cache/."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from trainpipe import artifacts
from trainpipe.config import Config
from trainpipe.data.readers import expand_paths
from trainpipe.errors import GateFailure, UserError
from trainpipe.evaluation import harness
from trainpipe.evaluation.cache import evaluate_cached, for_config
from trainpipe.evaluation.curves import stage_curves
from trainpipe.evaluation.report import build_metrics, compact, write_report
from trainpipe.evaluation.results import RETENTION, Evaluation
from trainpipe.models.load import base_fingerprint
from trainpipe.stages import Stage, StageIO, model_stages

log = logging.getLogger("trainpipe.evaluate")


def run(cfg: Config, io: StageIO) -> dict:
    """Every model on every suite, then comparisons, the gate, and the reports: one step per line."""
    _check_settings(cfg)
    job = _plan(cfg, io)  # the models and suites, harness tasks resolved before any model loads
    _score(cfg, io, job)  # every model on every suite (cached per pair), KL to base
    _judge(cfg, job)  # comparisons along the chain and the gate's verdict on the candidate
    metrics = _metrics(cfg, io, job)  # metrics.json: summaries, plots, machine, RL health, lm-eval both ways
    _write(io, job, metrics)  # report.md, report.html, items.jsonl, and the trackers
    _verdict(cfg, io, job)  # log the outcome; a failed gate stops the pipeline before deploy
    return compact(metrics)


def _plan(cfg: Config, io: StageIO) -> Evaluation:
    from trainpipe.evaluation.environment_suite import layout_notes
    from trainpipe.evaluation.suites import load_suites, retention_suites

    ev = cfg.evaluate
    models = model_list(cfg, io)
    suites = load_suites(cfg, io.upstream["collect"])
    notes = layout_notes(suites, io.upstream["collect"])
    if ev.retention:  # stable sort: config order within a group, the retention Q&A (dev, test) before the text
        suites = sorted(suites + retention_suites(cfg), key=lambda s: (s.group == RETENTION, s.kind == "text"))
    notes += [s.note for s in suites if s.note]  # e.g. where the retention text came from
    chain = [m for m in ("base", *model_stages()) if m in models]
    return Evaluation(
        models,
        suites,
        ev.level,
        notes,
        chain,
        for_config(io.logs / "cache", cfg),
        harness.resolve(ev.harness_tasks, suites),
    )


def _score(cfg: Config, io: StageIO, run: Evaluation) -> None:
    from trainpipe.evaluation.divergence import add_kl_to_base
    from trainpipe.evaluation.retention import retention_notes

    run.results = {
        name: evaluate_cached(cfg, run.cache, name, path, fp, run.suites) for name, (path, fp) in run.models.items()
    }
    add_kl_to_base(cfg, io.logs / "cache" / "kl_to_base", run.models, run.suites, run.results)  # predicts forgetting
    run.notes += retention_notes(run.results, run.suites)


def _judge(cfg: Config, run: Evaluation) -> None:
    from trainpipe.evaluation.compare import compare_models, gate_verdict

    ev = cfg.evaluate
    extras = [m for m in run.models if m not in run.chain]
    run.comparisons = compare_models(run.results, run.chain, extras, ev.gate_margin)
    run.gate = {
        "enabled": ev.gate,
        **gate_verdict(run.results, run.candidate, ev.gate_rule, ev.gate_margin, ev.gate_text_margin, ev.gate_p),
    }


def _metrics(cfg: Config, io: StageIO, run: Evaluation) -> dict:
    from trainpipe.models.hardware import describe

    run.plots = _plots(cfg, io, run.results)
    metrics = build_metrics(run)
    metrics["hardware"] = describe()  # greedy figures depend on the machine's kernels, so the report names it
    if health := _rl_metric(io, "health"):
        metrics["rl_health"] = health  # the rl stage's telemetry summary and warnings, for the report
    if learned := _rl_metric(io, "reward_model"):
        metrics["reward_model"] = learned  # the rl stage's reward model: held-out pair accuracy and its interval
    # every task suite as an lm-eval task, so the numbers can be reproduced with lm-evaluation-harness
    stop = _stop_text(cfg, run.models)
    metrics["lm_eval_tasks"] = harness.export(run.suites, io.out / "lm_eval", stop, io.logs / "lm_eval")
    # lm-eval's own tasks (evaluate.harness_tasks) on every model: their scores beside ours
    metrics["harness"] = harness.run_cached(
        cfg, run.harness_plan, run.models, run.suites, stop, io.logs / "cache" / "harness", run.cache.runtime
    )
    return metrics


def _write(io: StageIO, run: Evaluation, metrics: dict) -> None:
    from trainpipe import tracking
    from trainpipe.evaluation.items import ITEMS_JSONL, item_rows, pair_changes, write_items
    from trainpipe.evaluation.report_html import write_html

    write_report(io.out, metrics)
    rows = item_rows(run.suites, run.results)  # every item with every model's completion, beside the summary
    write_items(io.out, rows)
    write_html(io.out, metrics, rows, pair_changes(rows, run.results))
    tracking.log_evaluation(
        io.tracker_runs,
        tracking.evaluation_scalars(metrics),
        [io.out / f for f in ("report.md", "report.html", ITEMS_JSONL, "metrics.json", *run.plots)],
    )


def _verdict(cfg: Config, io: StageIO, run: Evaluation) -> None:
    for comp in run.comparisons:
        log.info("evaluate: %s vs %s: %s", comp["model"], comp["baseline"], comp["verdict"])
    if not run.gate["passed"]:
        log.warning(
            "evaluate: gate %s: %s", "FAILED" if cfg.evaluate.gate else "would fail", "; ".join(run.gate["reasons"])
        )
        if cfg.evaluate.gate:
            _fail_gate(io, run.gate)


def _check_settings(cfg: Config) -> None:
    """Settings that can only fail later, checked before any model is loaded."""
    from trainpipe.evaluation.vllm_backend import check_available

    for key in ("gate_margin", "gate_text_margin"):
        if getattr(cfg.evaluate, key) < 0:
            raise UserError(f"evaluate.{key}: expected a number >= 0; got {getattr(cfg.evaluate, key)}")
    if not 0 < cfg.evaluate.gate_p <= 1:
        raise UserError(f"evaluate.gate_p: expected a p-value level in (0, 1]; got {cfg.evaluate.gate_p}")
    if cfg.evaluate.backend == "vllm":
        check_available()


def model_list(cfg: Config, io: StageIO) -> dict[str, tuple[Path, str]]:
    """name -> (folder, fingerprint) for base, every model stage that ran, and extra configured folders."""
    out = {"base": (Path(io.models["base"]), base_fingerprint(cfg.model))}
    for stage in model_stages():
        if stage in io.upstream:
            manifest = artifacts.read_manifest(io.upstream[stage])
            out[stage] = (io.upstream[stage], manifest["fingerprint"])
    for extra in cfg.evaluate.models:
        path = Path(os.path.expanduser(extra))
        if not path.is_dir():
            raise UserError(f"evaluate.models: {extra} is not a model folder")
        if path.name in out:
            raise UserError(f"evaluate.models: {extra} shares its name with model '{path.name}'; rename the folder")
        out[path.name] = (path, artifacts.tree_digest(path))
    return out


def _rl_metric(io: StageIO, key: str) -> dict | None:
    """A summary the rl stage put in its manifest's metrics: `health` (telemetry and warnings, online
    algorithms) or `reward_model` (rl.reward_model.train)."""
    for folder in io.upstream.values():
        if found := ((artifacts.read_manifest(folder) or {}).get("metrics") or {}).get(key):
            return found
    return None


def _stop_text(cfg: Config, models: dict) -> str:
    """The end-of-turn text generation stops at (the base tokenizer's end of sequence token)."""
    from trainpipe.models.load import load_tokenizer

    return load_tokenizer(models["base"][0], cfg.model).eos_token


def _plots(cfg: Config, io: StageIO, results: dict) -> list[str]:
    from trainpipe.evaluation.plots import ACCURACY_PNG, CURVES_PNG, accuracy_plot, curves_plot

    made = [accuracy_plot(results, cfg.evaluate.level, io.out / ACCURACY_PNG)]
    made.append(curves_plot(stage_curves(io.layout, model_stages()), io.out / CURVES_PNG))
    return [p.name for p in made if p is not None]


def _fail_gate(io: StageIO, gate: dict) -> None:
    """Leave the report where the user looks for it, and withdraw the old manifest so deploy cannot ship
    the rejected model on the strength of an earlier evaluation."""
    io.logs.mkdir(parents=True, exist_ok=True)
    for item in io.out.iterdir():
        if item.is_file():
            shutil.copy2(item, io.logs / item.name)
    (io.logs / artifacts.MANIFEST).unlink(missing_ok=True)
    raise GateFailure(
        f"evaluate gate rejected {gate['candidate']}: {'; '.join(gate['reasons'])}. "
        f"See {io.logs / 'report.md'}; set evaluate.gate=false to accept it anyway"
    )


def input_files(cfg: Config) -> list[Path]:
    """Eval files and extra model folders: their content changes results, so it is part of the fingerprint."""

    files = [Path(f) for p in cfg.evaluate.files for f in expand_paths(p, os.getcwd())]
    for entry in cfg.evaluate.harness_tasks:  # local lm-eval task folders: their YAML and data change the scores
        folder = Path(os.path.expanduser(entry))
        files += sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    for extra in cfg.evaluate.models:
        folder = Path(os.path.expanduser(extra))
        files += sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    return files


STAGE = Stage(
    name="evaluate",
    reads=("collect", "cpt", "sft", "rl"),
    config_sections=("model", "evaluate"),
    run=run,
    output="logs/evaluate",
    script="5_evaluate.py",
    needs_base=True,
    publish_mode="merge",
    input_files=input_files,
    tracked=True,
)
