"""One writer at a time: real pipeline processes on the same paths.root (or sharing a checkpoint folder) are refused
with the holder's pid, leave the running one's files alone, and a dead holder's locks are taken over."""

import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import REPO
from trainpipe import artifacts
from trainpipe.errors import UserError
from trainpipe.pipeline import run_stage
from trainpipe.training import checkpoints

SFT = [sys.executable, str(REPO / "scripts" / "3_train_sft.py"), "--config", str(REPO / "configs" / "smoke.yaml")]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _wait_for(predicate, proc, seconds=300):
    deadline = time.time() + seconds
    while time.time() < deadline and proc.poll() is None and not predicate():
        time.sleep(0.1)
    assert proc.poll() is None and predicate(), "the first writer never got going"


def test_second_writer_is_refused_and_a_dead_writers_locks_are_taken_over(smoke_cfg, tmp_path):
    root, other = tmp_path / "root", tmp_path / "other"
    run_stage(smoke_cfg(f"paths.root={root}"), "collect")
    ckpts = root / "checkpoints" / "sft"
    first = subprocess.Popen(
        [*SFT, f"paths.root={root}", "sft.max_steps=400", "sft.save_steps=1000"],
        cwd=REPO,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        holder = f"pid {first.pid} since "
        _wait_for(lambda: holder in _text(ckpts / checkpoints.LOCK), first)  # training: both locks held
        resolved = (root / "logs" / "sft" / "config.resolved.yaml").read_text()
        # A second root whose checkpoint folder is the first one's (a symlink to a shared volume): only the
        # checkpoint lock can see the first writer.
        shutil.copytree(root / "data_cache", other / "data_cache")
        (other / "checkpoints").mkdir(parents=True)
        (other / "checkpoints" / "sft").symlink_to(ckpts)
        shared = subprocess.Popen(
            [*SFT, f"paths.root={other}", "sft.max_steps=400", "sft.save_steps=1000"],
            cwd=REPO,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        same = subprocess.run(
            [*SFT, f"paths.root={root}", "sft.learning_rate=5e-4"],
            cwd=REPO,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=300,
        )
        shared_err = shared.communicate(timeout=300)[1]
        assert first.poll() is None
    finally:
        first.kill()
        first.wait()
    for code, err in ((same.returncode, same.stderr), (shared.returncode, shared_err)):
        lines = [line for line in err.splitlines() if line.startswith("error:")]
        assert code == 2 and len(lines) == 1 and "Traceback" not in err
        assert lines[0].startswith(f"error: stage sft is running in pid {first.pid} since 20")
    # The refused writer on the same root touched none of the running one's files.
    assert (root / "logs" / "sft" / "config.resolved.yaml").read_text() == resolved
    assert "5e-4" not in (root / "logs" / "sft" / "run.log").read_text()
    assert holder in _text(root / "models" / ".sft.lock")
    assert artifacts.read_manifest(root / "models" / "sft") is None
    # The holder is dead (SIGKILL): its stale locks are taken over without any cleanup.
    with artifacts.stage_lock(root / "models" / ".sft.lock", "sft"), checkpoints.locked(ckpts, "sft"):
        assert _text(ckpts / checkpoints.LOCK).startswith(f"pid {os.getpid()} since ")


def _text(path):
    try:
        return path.read_text()
    except OSError:
        return ""


def test_shared_base_model_lock_waits_for_a_live_holder(tmp_path):
    lock = tmp_path / ".base.lock"
    code = (
        "import sys, time; from pathlib import Path; from trainpipe import artifacts\n"
        "with artifacts.stage_lock(Path(sys.argv[1]), 'base-model'):\n print('held', flush=True); time.sleep(2)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UserError, match=f"stage base-model is running in pid {holder.pid} since"):
            with artifacts.stage_lock(lock, "base-model"):
                pass
        started = time.time()
        with artifacts.stage_lock(lock, "base-model", wait=60):  # another stage's conversion: wait, then go on
            assert 0.3 < time.time() - started < 30 and lock.read_text().startswith(f"pid {os.getpid()} since")
    finally:
        holder.kill()
        holder.wait()
