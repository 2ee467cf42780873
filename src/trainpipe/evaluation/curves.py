"""Training curves of each model stage, read back from its logs: TensorBoard event files under
logs/<stage>/tensorboard, else the log_history of the newest complete checkpoints/<stage>/checkpoint-N."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from trainpipe.artifacts import Layout

log = logging.getLogger("trainpipe.evaluate")
# What the report plots, under one name whichever log it came from (TensorBoard tag → log_history key).
METRICS = {"train/loss": "loss", "train/reward": "reward", "eval/loss": "eval_loss"}

Curve = list[tuple[int, float]]


def stage_curves(layout: Layout, stages: tuple[str, ...]) -> dict[str, dict[str, Curve]]:
    """stage -> metric -> [(step, value)], for stages that left any of the METRICS behind."""
    out = {}
    for stage in stages:
        curves = tensorboard_curves(layout.logs(stage) / "tensorboard") or checkpoint_curves(layout.checkpoints(stage))
        if curves:
            out[stage] = curves
    return out


def tensorboard_curves(folder: Path) -> dict[str, Curve]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    # EventAccumulator logs every file it scans at INFO; that is noise in the stage log.
    logging.getLogger("tensorboard").setLevel(logging.WARNING)
    runs = sorted({p.parent for p in Path(folder).rglob("events.out.tfevents.*")}) if Path(folder).is_dir() else []
    merged: dict[str, dict[int, float]] = {}
    for run in runs:
        acc = EventAccumulator(str(run), size_guidance={"scalars": 0})  # 0: keep every point, not a sample
        acc.Reload()
        for tag in acc.Tags().get("scalars", []):
            if tag in METRICS:
                # A resumed run logs its steps again; by step, the later value wins.
                merged.setdefault(METRICS[tag], {}).update({e.step: e.value for e in acc.Scalars(tag)})
    return {name: sorted(points.items()) for name, points in merged.items()}


def checkpoint_curves(folder: Path) -> dict[str, Curve]:
    from trainpipe.training.checkpoints import latest_complete

    latest = latest_complete(folder)
    state = latest / "trainer_state.json" if latest else None
    if state is None or not state.exists():
        return {}
    try:
        history = json.loads(state.read_text(encoding="utf-8")).get("log_history", [])
    except ValueError:
        log.warning("evaluate: unreadable %s; no training curve for it", state)
        return {}
    out: dict[str, Curve] = {}
    for entry in history:
        for name in METRICS.values():
            if name in entry and "step" in entry:
                out.setdefault(name, []).append((int(entry["step"]), float(entry[name])))
    return out
