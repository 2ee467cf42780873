"""Checkpoint discovery and completeness: a checkpoint counts only once a marker follows its fsynced files.

Reads/writes checkpoints/<stage>/checkpoint-N/ (HF Trainer state), checkpoints/<stage>/owner.json and its .lock.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch
from transformers import TrainerCallback

from trainpipe import artifacts
from trainpipe.errors import UserError

log = logging.getLogger("trainpipe.checkpoints")
MARKER = "COMPLETE"
OWNER = "owner.json"
LOCK = ".lock"
_STEP = re.compile(r"^checkpoint-(\d+)$")


def list_checkpoints(folder: Path) -> list[tuple[int, Path, bool]]:
    """(step, path, complete) for every checkpoint-N folder, oldest first."""
    out = []
    if Path(folder).is_dir():
        for p in Path(folder).iterdir():
            if (m := _STEP.match(p.name)) and p.is_dir():
                out.append((int(m.group(1)), p, (p / MARKER).exists()))
    return sorted(out)


def latest_complete(folder: Path) -> Path | None:
    done = [p for _, p, ok in list_checkpoints(folder) if ok]
    return done[-1] if done else None


def drop_incomplete(folder: Path) -> None:
    for _, p, ok in list_checkpoints(folder):
        if not ok:
            log.info("removing incomplete checkpoint %s", p)
            shutil.rmtree(p, ignore_errors=True)


@contextmanager
def locked(ckpt_dir: Path, stage: str) -> Iterator[None]:
    """One trainer per checkpoint folder, even when two paths.root share it (e.g. through a symlink), where the
    stage lock beside each root's output cannot see the other writer. The lock file lives inside the folder."""
    ckpt_dir = Path(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    with artifacts.stage_lock(ckpt_dir / LOCK, stage):
        yield


def _clear(ckpt_dir: Path) -> None:
    """Empty the folder but keep it and its lock file: the lock is held while this runs, and the folder
    may be a symlink that rmtree would refuse."""
    for item in Path(ckpt_dir).iterdir():
        if item.name == LOCK:
            continue
        if item.is_dir() and not item.is_symlink():
            shutil.rmtree(item, ignore_errors=True)
        else:
            item.unlink(missing_ok=True)


def prepare_resume(ckpt_dir: Path, resume: str, fingerprint: str, published_fp: str | None, force: bool) -> str | None:
    """Decide what to resume from: a checkpoint path, or None to start fresh (clearing old state)."""
    ckpt_dir = Path(ckpt_dir)
    if resume not in ("auto", "never"):
        return _given_checkpoint(ckpt_dir, resume, fingerprint, force)
    owner = _read_owner(ckpt_dir)
    has_state = bool(list_checkpoints(ckpt_dir))
    finished = owner is not None and owner == published_fp  # the checkpoints of the run already published
    if has_state and owner != fingerprint and not (force or resume == "never" or finished):
        raise UserError(
            f"{ckpt_dir} holds checkpoints of an unfinished run with a different config or data "
            f"(fingerprint {owner}, now {fingerprint}); rerun with --force to start fresh, or restore the old config"
        )
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    if force or resume == "never" or owner != fingerprint:
        _clear(ckpt_dir)
    artifacts.write_json_atomic(ckpt_dir / OWNER, {"fingerprint": fingerprint})
    drop_incomplete(ckpt_dir)
    latest = latest_complete(ckpt_dir)
    if latest is not None:
        log.info("resuming from %s", latest)
    return str(latest) if latest else None


def resolve_checkpoint_path(ckpt_dir: Path, resume: str) -> Path:
    """An absolute path as given; a relative one under the stage's checkpoint folder ("checkpoint-40"), else
    under the run's root (`paths.root`, two levels up: "checkpoints/sft/checkpoint-40"), never the working dir."""
    path = Path(resume).expanduser()
    if path.is_absolute():
        return path
    inside = ckpt_dir / path
    return inside if inside.exists() else ckpt_dir.parent.parent / path


def _given_checkpoint(ckpt_dir: Path, resume: str, fingerprint: str, force: bool) -> str:
    """resume=PATH: a complete checkpoint, of this config unless --force. Outside trainpipe (no owner file beside
    it) an HF checkpoint has no marker and no fingerprint; inside, it must have both."""
    path = resolve_checkpoint_path(ckpt_dir, resume)
    ours = (path.parent / OWNER).exists()
    if not (path / MARKER).exists() and (ours or not (path / "trainer_state.json").exists()):
        raise UserError(f"resume={resume}: {path} is not a complete checkpoint directory")
    owner = _read_owner(path.parent) if ours else None
    if ours and owner != fingerprint and not force:
        raise UserError(
            f"resume={resume}: {path} is a checkpoint of another config or data (fingerprint {owner}, "
            f"now {fingerprint}); restore that config, or rerun with --force to train on it anyway"
        )
    if path.parent.resolve() == ckpt_dir.resolve():  # new checkpoints land beside it: they belong to this config
        artifacts.write_json_atomic(ckpt_dir / OWNER, {"fingerprint": fingerprint})
    return str(path)


def _read_owner(ckpt_dir: Path) -> str | None:
    try:
        return json.loads((ckpt_dir / OWNER).read_text())["fingerprint"]
    except (OSError, ValueError, KeyError):
        return None


class CompleteMarker(TrainerCallback):
    """Marks each saved checkpoint complete after fsync, then keeps the newest `keep` complete ones.

    HF's own rotation runs before the new checkpoint is known to be whole, so it could delete the only
    complete one; the trainer therefore gets save_total_limit=None and rotation happens here instead."""

    def __init__(self, keep: int):
        self.keep = keep

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return control
        path = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if path.is_dir():
            artifacts.fsync_tree(path)
            artifacts.crash_window("CHECKPOINT")
            with open(path / MARKER, "w") as fh:
                fh.write(str(state.global_step))
                fh.flush()
                os.fsync(fh.fileno())
            artifacts.fsync_dir(path)
            rotate(Path(args.output_dir), self.keep)
        return control


def rotate(folder: Path, keep: int) -> None:
    """Delete all but the newest `keep` complete checkpoints (keep ≥ 1, so never the only one). The marker
    goes first: a deletion cut short leaves an incomplete folder, never a 'complete' one missing files."""
    done = [p for _, p, ok in list_checkpoints(folder) if ok]
    for old in done[: max(0, len(done) - max(1, keep))]:
        (old / MARKER).unlink(missing_ok=True)
        shutil.rmtree(old, ignore_errors=True)


class AlreadyFinished(Exception):
    """Raised by FinishGuard: the checkpoint the run resumed from already holds its last step."""


class FinishGuard(TrainerCallback):
    """Stops a run resumed from its final checkpoint before it trains anything. Resumed at max_steps in the middle
    of an epoch, HF Trainer skips the trained batches and trains the next one before it checks max_steps, so the
    model would be one step past the uninterrupted run's."""

    def on_step_begin(self, args, state, control, **kwargs):
        if 0 < state.max_steps <= state.global_step:
            raise AlreadyFinished(f"global step {state.global_step} of {state.max_steps}")
        return control


class TimeBudget(TrainerCallback):
    """Stops training once `seconds` of this run's training have passed (train.max_minutes): the step under way
    finishes, then a checkpoint is saved and train() returns as after the last step. Under several processes rank
    0's clock decides for all, so every rank stops at the same step."""

    def __init__(self, seconds: float):
        self.seconds, self.started, self.stopped_at = seconds, None, None

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.monotonic()
        return control

    def on_step_end(self, args, state, control, **kwargs):
        over = time.monotonic() - self.started >= self.seconds
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            flag = torch.tensor([float(over)], device=args.device)
            torch.distributed.broadcast(flag, src=0)
            over = bool(flag.item())
        if over and state.global_step < state.max_steps:
            control.should_training_stop = control.should_save = True
            self.stopped_at = state.global_step
        return control


def mean_logged_loss(state) -> float:
    """The run's training loss from its logged history, for a run that had nothing left to train."""
    losses = [h["loss"] for h in state.log_history if "loss" in h]
    return sum(losses) / len(losses) if losses else float("nan")
