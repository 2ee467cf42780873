"""Kill anywhere, resume exactly: the short (CI) run of bench/stress_kill_resume.py per training stage, checkpoint
rotation, and the refusal to resume an unfinished run under a changed config."""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
from types import SimpleNamespace

import pytest

from conftest import REPO
from trainpipe import artifacts
from trainpipe.cli import stage_main
from trainpipe.pipeline import run_stage
from trainpipe.training import checkpoints

# label -> (stage, online RL algorithm)
RUNS = {
    "sft": ("sft", "grpo"),
    "cpt": ("cpt", "grpo"),
    "rl-grpo": ("rl", "grpo"),
    "rl-rloo": ("rl", "rloo"),
    "rl-ppo": ("rl", "ppo"),
}


@pytest.fixture(scope="module")
def stress(tmp_path_factory):
    """bench/stress_kill_resume.py with 3 kills per training stage and online RL algorithm; the runs go side by
    side (each run's processes are single-threaded, so they share the CPUs well)."""
    base = tmp_path_factory.mktemp("stress")
    procs = {}
    for label, (stage, algorithm) in RUNS.items():
        with open(base / f"{label}.out", "w") as out:
            procs[label] = subprocess.Popen(
                [
                    sys.executable,
                    str(REPO / "bench" / "stress_kill_resume.py"),
                    "--stage",
                    stage,
                    "--algorithm",
                    algorithm,
                    "--kills",
                    "3",
                    "--seed",
                    "1",
                    "--steps",
                    "4",
                    "--root",
                    str(base / label),
                ],
                cwd=REPO,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
    try:
        codes = {stage: proc.wait(timeout=1800) for stage, proc in procs.items()}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # the stress run and the stage process it is driving
    return {label: (codes[label], (base / f"{label}.out").read_text(), base / label) for label in RUNS}


@pytest.mark.slow
@pytest.mark.parametrize("label", RUNS)
def test_three_kills_then_the_result_equals_an_uninterrupted_run(label, stress):
    code, output, root = stress[label]
    stage = RUNS[label][0]
    report = json.loads((root / f"stress-{label}.json").read_text())
    # One kill inside a checkpoint save, one mid-step, one inside publish; then a run to the end.
    assert report["failures"] == [] and report["mismatches"] == 0, output[-3000:]
    assert code == 0 and report["kills"] == 3 and report["completed_runs"] == 1
    assert report["kills_by_phase"].get("publish", 0) >= 1
    assert sum(n for p, n in report["kills_by_phase"].items() if p.startswith("checkpoint")) >= 1
    # Attempts that got as far as training resumed from the newest complete checkpoint (checked per attempt).
    assert report["resumes"] >= 2 and report["resumes"] + report["fresh_starts"] >= 3
    killed = root / "killed"
    assert not list(killed.glob(f"models/.{stage}.*-*")), "a leftover of a killed publish"
    assert [s for s, _, ok in checkpoints.list_checkpoints(killed / "checkpoints" / stage) if ok] == [2, 4]
    assert not [p for _, p, ok in checkpoints.list_checkpoints(killed / "checkpoints" / stage) if not ok]


def _save(folder, step, marker):
    ckpt = folder / f"checkpoint-{step}"
    ckpt.mkdir(parents=True)
    (ckpt / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    marker.on_save(
        SimpleNamespace(output_dir=str(folder)), SimpleNamespace(global_step=step, is_world_process_zero=True), None
    )


def _complete(folder):
    return [s for s, _, ok in checkpoints.list_checkpoints(folder) if ok]


def test_rotation_keeps_last_k_complete_and_never_the_only_one(tmp_path, monkeypatch):
    folder = tmp_path / "checkpoints" / "sft"
    keep2 = checkpoints.CompleteMarker(keep=2)
    for step in (2, 4, 6):
        _save(folder, step, keep2)
    assert _complete(folder) == [4, 6] and not (folder / "checkpoint-2").exists()
    # A killed save leaves checkpoint-8 without its marker: it never counts, and nothing older is rotated out for it.
    (folder / "checkpoint-8").mkdir()
    (folder / "checkpoint-8" / "optimizer.pt").write_bytes(b"half")
    assert checkpoints.latest_complete(folder).name == "checkpoint-6"
    # A save that fails before its marker (disk full while syncing) deletes nothing either.
    monkeypatch.setattr(
        checkpoints.artifacts, "fsync_tree", lambda p: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full"))
    )
    shutil.rmtree(folder / "checkpoint-8")
    with pytest.raises(OSError):
        _save(folder, 8, keep2)
    assert _complete(folder) == [4, 6]
    monkeypatch.undo()
    # keep=1: the new checkpoint is marked before the old one goes, so one complete checkpoint always exists.
    shutil.rmtree(folder / "checkpoint-8")
    _save(folder, 8, checkpoints.CompleteMarker(keep=1))
    assert _complete(folder) == [8] and sorted(p.name for p in folder.iterdir()) == ["checkpoint-8"]
    # The next run drops incomplete folders and resumes from the newest complete one; checkpoints nobody owns
    # are refused rather than wiped.
    (folder / "checkpoint-10").mkdir()
    with pytest.raises(checkpoints.UserError, match="unfinished run"):
        checkpoints.prepare_resume(folder, "auto", "fp", None, False)
    artifacts.write_json_atomic(folder / "owner.json", {"fingerprint": "fp"})
    assert checkpoints.prepare_resume(folder, "auto", "fp", None, False) == str(folder / "checkpoint-8")
    assert _complete(folder) == [8] and not (folder / "checkpoint-10").exists()


def _state(folder):
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.name != checkpoints.LOCK}


def test_changed_config_refuses_to_resume_via_cli_and_force_starts_fresh(smoke_cfg, tmp_path, capsys):
    argv = [
        "--config",
        str(REPO / "configs" / "smoke.yaml"),
        f"paths.root={tmp_path}",
        "sft.max_steps=2",
        "sft.save_steps=1",
    ]
    run_stage(smoke_cfg(), "collect")
    assert stage_main("sft", argv) == 0
    ckpts, out = tmp_path / "checkpoints" / "sft", tmp_path / "models" / "sft"
    old_fp = artifacts.read_manifest(out)["fingerprint"]
    shutil.rmtree(out)  # as if killed before publishing: an unfinished run with two complete checkpoints
    before = _state(ckpts)
    capsys.readouterr()

    assert stage_main("sft", [*argv, "sft.learning_rate=5e-4"]) == 2
    err = capsys.readouterr().err
    assert "holds checkpoints of an unfinished run with a different config" in err and "--force" in err
    assert "Traceback" not in err and f"fingerprint {old_fp}, now " in err
    assert _state(ckpts) == before  # nothing mixed in or deleted
    assert artifacts.read_manifest(out) is None and not list(out.parent.glob(".sft.tmp-*"))

    assert stage_main("sft", ["--force", *argv, "sft.learning_rate=5e-4"]) == 0
    manifest = artifacts.read_manifest(out)
    assert manifest["fingerprint"] != old_fp and manifest["metrics"]["resumed_from"] is None
    assert manifest["metrics"]["steps"] == 2
    assert json.loads((ckpts / "owner.json").read_text())["fingerprint"] == manifest["fingerprint"]


def test_resume_path_is_checked_against_the_config_and_resolved_under_the_checkpoint_folder(tmp_path, monkeypatch):
    folder = tmp_path / "checkpoints" / "sft"
    (folder / "checkpoint-4").mkdir(parents=True)
    (folder / "checkpoint-4" / checkpoints.MARKER).write_text("")
    artifacts.write_json_atomic(folder / checkpoints.OWNER, {"fingerprint": "old"})
    monkeypatch.chdir(tmp_path / "checkpoints")  # a working directory where neither relative form resolves
    for given in ("checkpoint-4", "checkpoints/sft/checkpoint-4", str(folder / "checkpoint-4")):
        with pytest.raises(
            checkpoints.UserError,
            match=f"resume={given}: .* another config or data "
            r"\(fingerprint old, now new\).*--force",
        ):
            checkpoints.prepare_resume(folder, given, "new", None, False)
    assert checkpoints.prepare_resume(folder, "checkpoint-4", "old", None, False) == str(folder / "checkpoint-4")
    # --force trains on it, and the folder's owner now names the config whose checkpoints will land there.
    got = checkpoints.prepare_resume(folder, "checkpoints/sft/checkpoint-4", "new", None, True)
    assert got == str(folder / "checkpoint-4")
    assert json.loads((folder / checkpoints.OWNER).read_text()) == {"fingerprint": "new"}
    with pytest.raises(checkpoints.UserError, match="checkpoint-9 is not a complete checkpoint directory"):
        checkpoints.prepare_resume(folder, "checkpoint-9", "new", None, False)
