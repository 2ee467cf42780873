"""Out of disk: a write failing mid-stage or mid-publish (ENOSPC, or a real file-size limit in a subprocess) ends
with one clear line and exit status 2; the previous good output stays byte for byte, and nothing half-written stays."""

import errno
import os
import resource
import subprocess
import sys

import pytest

from conftest import REPO
from trainpipe import artifacts
from trainpipe.cli import stage_main
from trainpipe.pipeline import run_stage
from trainpipe.training import checkpoints

SMOKE = str(REPO / "configs" / "smoke.yaml")


def _snapshot(folder):
    return {str(p.relative_to(folder)): artifacts.file_digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _leftovers(dest):
    return list(dest.parent.glob(f".{dest.name}.*-*"))


@pytest.mark.parametrize("where", ["stage", "publish"])
def test_enospc_in_collect_keeps_previous_output(where, smoke_cfg, tmp_path, monkeypatch, capsys):
    run_stage(smoke_cfg(), "collect")
    dest = tmp_path / "data_cache" / "collect"
    before = _snapshot(dest)
    real = artifacts.write_json_atomic
    name = "stats.json" if where == "stage" else "manifest.json"  # inside the stage's temp folder / the last write

    def full(path, obj):
        if path.name == name:
            with open(path, "w") as fh:
                fh.write('{"half": ')  # a partial write, then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, obj)

    monkeypatch.setattr(artifacts, "write_json_atomic", full)
    capsys.readouterr()
    code = stage_main("collect", ["--config", SMOKE, f"paths.root={tmp_path}", "data.eval_max=10"])
    err = capsys.readouterr().err
    assert code == 2 and "error: out of disk space" in err and "No space left on device" in err
    assert "Traceback" not in err and "--- Logging error ---" not in err
    assert _snapshot(dest) == before and not _leftovers(dest)
    assert "disk full" in (tmp_path / "logs" / "collect" / "run.log").read_text()  # with the traceback


def test_file_size_limit_in_a_real_training_process(smoke_cfg, tmp_path):
    cfg = ["sft.max_steps=2", "sft.save_steps=2"]
    run_stage(smoke_cfg(*cfg), "collect")
    run_stage(smoke_cfg(*cfg), "sft")
    dest = tmp_path / "models" / "sft"
    before = _snapshot(dest)
    limit = 2 * 1024 * 1024  # above logs and LoRA weights, below the checkpoint's 3.5 MB tokenizer.json

    def small_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "3_train_sft.py"),
            "--config",
            SMOKE,
            f"paths.root={tmp_path}",
            "--force",
            *cfg,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        preexec_fn=small_disk,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "error: out of disk space (File too large" in proc.stderr and "Traceback" not in proc.stderr
    assert _snapshot(dest) == before and not _leftovers(dest)
    ckpts = checkpoints.list_checkpoints(tmp_path / "checkpoints" / "sft")
    assert ckpts and not any(ok for *_, ok in ckpts)  # the half-saved checkpoint is not marked complete
    assert "File too large" in (tmp_path / "logs" / "sft" / "run.log").read_text()
