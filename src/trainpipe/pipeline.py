"""`run_stage`: guard upstream outputs, skip when up to date, run, publish the manifest
last.

Reads upstream manifests under paths.root; writes each stage's output folder and logs/<stage>/.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from pathlib import Path

from trainpipe import artifacts
from trainpipe.artifacts import Layout
from trainpipe.config import Config, section
from trainpipe.errors import StageOrderError
from trainpipe.models.load import base_fingerprint
from trainpipe.runlog import stage_logging
from trainpipe.secrets import redact_obj
from trainpipe.stages import ORDER, Stage, StageIO, model_stages, output, stages

log = logging.getLogger("trainpipe")


def enabled(cfg: Config, name: str) -> bool:
    sec = getattr(cfg, name, None)
    return bool(getattr(sec, "enabled", True))


def model_source(cfg: Config, before: str) -> str:
    """The model a stage consumes: the last enabled model stage ahead of it, else 'base'."""
    chain = [s for s in model_stages() if ORDER.index(s) < ORDER.index(before) and enabled(cfg, s)]
    return chain[-1] if chain else "base"


def upstream_names(cfg: Config, stage: Stage) -> list[str]:
    names = [r for r in stage.reads if r in stages() and enabled(cfg, r)]
    if stage.needs_model and (src := model_source(cfg, stage.name)) != "base" and src not in names:
        names.append(src)
    return names


def compute_fingerprint(cfg: Config, stage: Stage, upstream_fps: dict[str, str]) -> tuple[str, dict]:
    sections = {s: artifacts.to_plain(section(cfg, s)) for s in stage.config_sections}
    for sec in sections.values():
        if isinstance(sec, dict):
            sec.pop("resume", None)  # where to resume from never changes what is produced
            if sec.get("max_minutes") == 0:  # no time budget: the run is the one made before budgets existed
                sec.pop("max_minutes")
    files = {str(p): artifacts.file_digest(p) for p in (stage.input_files(cfg) if stage.input_files else [])}
    base = base_fingerprint(cfg.model) if stage.uses_base else None
    return artifacts.fingerprint(stage.name, sections, upstream_fps, files, base), sections


def expected_fingerprints(cfg: Config) -> dict[str, str | None]:
    """What each stage's fingerprint would be if the whole chain ran now (for --status)."""
    out: dict[str, str | None] = {}
    for name, stage in stages().items():
        if not enabled(cfg, name):
            out[name] = None
            continue
        ups = {u: out.get(u) or "missing" for u in upstream_names(cfg, stage)}
        out[name] = compute_fingerprint(cfg, stage, ups)[0]
    return out


def run_stage(cfg: Config, name: str, force: bool = False, argv: list[str] | None = None) -> dict:
    """Run one stage (or skip it when up to date); returns its manifest."""
    stage = stages()[name]
    layout = Layout(Path(cfg.paths.root).resolve())
    dest = layout.output(stage)
    if not enabled(cfg, name):
        log.info("stage %s is disabled; its input passes through", name)
        return {"stage": name, "state": "disabled"}
    ranks = _ranks()
    main = ranks is None or ranks.is_main_process
    # Lock first: a second writer refused here must not touch the running one's logs or config.resolved.yaml.
    # Under accelerate launch only the main process locks, logs to run.log and publishes; the others train.
    with (
        artifacts.stage_lock(dest.parent / f".{dest.name}.lock", name) if main else _quiet(),
        stage_logging(layout.logs(name), cfg, name, argv) if main else contextlib.nullcontext(),
    ):
        _on_main(ranks, lambda: artifacts.recover(dest))  # the others read manifests after it, never during
        upstream = _upstream_manifests(cfg, layout, stage)
        fp, sections = compute_fingerprint(cfg, stage, {u: m["fingerprint"] for u, m in upstream.items()})
        current = artifacts.read_manifest(dest)
        if current and current.get("fingerprint") == fp and not force:
            log.info("stage %s is up to date (fingerprint %s); skipping (use --force to rerun)", name, fp)
            return {**current, "state": "skipped"}
        return _execute(cfg, stage, layout, upstream, fp, sections, force)


def _upstream_manifests(cfg: Config, layout: Layout, stage: Stage) -> dict[str, dict]:
    found = {}
    for up in upstream_names(cfg, stage):
        manifest = artifacts.read_manifest(output(layout, up))
        if manifest is None:
            raise StageOrderError(
                f"stage {stage.name} needs the output of stage {up}, which is missing or incomplete "
                f"({output(layout, up)}); run stage {up} first (e.g. python scripts/run_full_pipeline.py --only {up})"
            )
        found[up] = manifest
    return found


def _execute(cfg, stage, layout, upstream, fp, sections, force) -> dict:
    from trainpipe.models.load import ensure_base

    name, dest = stage.name, layout.output(stage)
    started = time.time()
    log.info("stage %s: running (fingerprint %s)", name, fp)
    models = {"base": None}
    ranks = _ranks()
    if stage.uses_base:
        models["base"] = _on_main(ranks, lambda: ensure_base(cfg.model, layout))
    for up in model_stages():
        if up in upstream:
            models[up] = output(layout, up)
    src = model_source(cfg, name)
    tmp = _on_main(ranks, lambda: artifacts.temp_dir_for(dest))  # one folder, named by the main process
    io = StageIO(
        name,
        layout,
        tmp,
        layout.logs(name),
        layout.checkpoints(name),
        {u: output(layout, u) for u in upstream},
        models,
        models.get(src) if stage.needs_model else None,
        fp,
        force,
        published=dest,
    )
    try:
        with _tracked(cfg, stage, sections, io, ranks) as opened:
            io = dataclasses.replace(io, report_to=tuple(cfg.tracking.report_to), tracker_runs=tuple(opened))
            metrics = stage.run(cfg, io) or {}
    except BaseException:
        import shutil

        if ranks is None or ranks.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)  # nothing half-written stays behind (it may be what filled the disk)
        raise
    manifest = {
        "stage": name,
        "fingerprint": fp,
        "config": sections,
        "upstream": {u: m["fingerprint"] for u, m in upstream.items()},
        "model_in": src if stage.needs_model else None,
        "metrics": metrics,
        "started_at": _iso(started),
        "finished_at": _iso(time.time()),
        "seconds": round(time.time() - started, 2),
        "versions": artifacts.library_versions(),
        "git_commit": artifacts.git_commit(Path(__file__).parent),
        "hardware": _hardware(),
    }

    manifest = redact_obj(manifest)
    _on_main(ranks, lambda: artifacts.publish(tmp, dest, manifest, stage.publish_mode))
    log.info("stage %s: published %s in %.1f s", name, dest, manifest["seconds"])
    return {**manifest, "state": "ran"}


def _tracked(cfg, stage: Stage, sections: dict, io: StageIO, ranks):
    """The stage's tracker runs (main process only), or nothing for an untracked stage."""
    from trainpipe import tracking

    if not stage.tracked:
        return contextlib.nullcontext([])
    return tracking.stage_run(cfg.tracking, stage.name, sections, io.logs, ranks is None or ranks.is_main_process)


def _hardware() -> dict:
    from trainpipe.models.hardware import describe

    return describe()


def _ranks():
    """accelerate's process state when several processes run this stage (accelerate launch, torchrun), else None."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    import torch
    from accelerate import PartialState

    # cpu as the trainer's use_cpu will have it: the state is a singleton and refuses a second opinion
    return PartialState(cpu=not torch.cuda.is_available())


def _on_main(ranks, fn):
    """Run `fn` on the main process alone; the others wait for it and receive its result."""
    if ranks is None:
        return fn()
    from accelerate.utils import broadcast_object_list

    box = [fn() if ranks.is_main_process else None]
    broadcast_object_list(box, from_process=0)
    return box[0]


@contextlib.contextmanager
def _quiet():
    """Non-main ranks log warnings only: the main process speaks for the run."""
    logger = logging.getLogger("trainpipe")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t))


def status_rows(cfg: Config) -> list[dict]:
    layout = Layout(Path(cfg.paths.root).resolve())
    expected = expected_fingerprints(cfg)
    rows = []
    for name, stage in stages().items():
        manifest = artifacts.read_manifest(layout.output(stage))
        if expected[name] is None:
            state = "disabled"
        elif manifest is None:
            state = "missing"
        else:
            state = "done" if manifest["fingerprint"] == expected[name] else "stale"
        rows.append(
            {
                "stage": name,
                "state": state,
                "fingerprint": (manifest or {}).get("fingerprint", ""),
                "finished_at": (manifest or {}).get("finished_at", ""),
                "key_metric": _key_metric((manifest or {}).get("metrics", {})),
            }
        )
    return rows


def out_of_date(cfg: Config, name: str) -> bool:
    """Whether run_stage would run `name` now: its output is missing, or was built from other settings or other
    upstream outputs than those published now (--status instead compares with a rerun of the whole chain)."""
    stage = stages()[name]
    layout = Layout(Path(cfg.paths.root).resolve())
    current = artifacts.read_manifest(layout.output(stage))
    try:
        upstream = _upstream_manifests(cfg, layout, stage)
    except StageOrderError:
        return True
    fp = compute_fingerprint(cfg, stage, {u: m["fingerprint"] for u, m in upstream.items()})[0]
    return current is None or current.get("fingerprint") != fp


def _key_metric(metrics: dict) -> str:
    key = metrics.get("key_metric")
    return f"{key}={metrics.get(key)}" if key and key in metrics else ""
