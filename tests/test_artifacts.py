import json
import os
import subprocess
import sys

import pytest

from trainpipe import artifacts
from trainpipe.errors import UserError


def test_publish_replaces_atomically_and_writes_manifest_last(tmp_path):
    dest = tmp_path / "models" / "sft"
    dest.mkdir(parents=True)
    (dest / "old.bin").write_text("old")
    tmp = artifacts.temp_dir_for(dest)
    (tmp / "new.bin").write_text("new")
    artifacts.publish(tmp, dest, {"fingerprint": "abc"})
    assert sorted(p.name for p in dest.iterdir()) == ["manifest.json", "new.bin"]
    assert artifacts.read_manifest(dest)["fingerprint"] == "abc"
    assert not list(dest.parent.glob(".sft.*"))


def test_merge_mode_keeps_other_files(tmp_path):
    dest = tmp_path / "logs" / "evaluate"
    dest.mkdir(parents=True)
    (dest / "run.log").write_text("log")
    tmp = artifacts.temp_dir_for(dest)
    (tmp / "metrics.json").write_text("{}")
    artifacts.publish(tmp, dest, {"fingerprint": "f"}, mode="merge")
    assert sorted(p.name for p in dest.iterdir()) == ["manifest.json", "metrics.json", "run.log"]


def test_corrupt_manifest_means_not_done(tmp_path):
    (tmp_path / "manifest.json").write_text("{trunc")
    assert artifacts.read_manifest(tmp_path) is None
    (tmp_path / "manifest.json").write_text(json.dumps({"no": "fingerprint"}))
    assert artifacts.read_manifest(tmp_path) is None


def test_recover_restores_output_cut_between_renames(tmp_path):
    dest = tmp_path / "sft"
    old = tmp_path / ".sft.old-999999"
    old.mkdir()
    (old / "manifest.json").write_text(json.dumps({"fingerprint": "x"}))
    artifacts.recover(dest)
    assert artifacts.read_manifest(dest)["fingerprint"] == "x"


def test_fingerprint_is_order_independent_for_dicts():
    assert artifacts.fingerprint({"a": 1, "b": 2}) == artifacts.fingerprint({"b": 2, "a": 1})
    assert artifacts.fingerprint({"a": 1}) != artifacts.fingerprint({"a": 2})


def test_lock_names_holder_and_is_released_when_holder_dies(tmp_path):
    lock = tmp_path / ".sft.lock"
    code = (
        "import sys, time; from trainpipe import artifacts; from pathlib import Path\n"
        "with artifacts.stage_lock(Path(sys.argv[1]), 'sft'):\n print('held', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(UserError, match=rf"stage sft is running in pid {proc.pid} since"):
            with artifacts.stage_lock(lock, "sft"):
                pass
    finally:
        proc.kill()
        proc.wait()
    with artifacts.stage_lock(lock, "sft"):  # the dead holder's lock is taken over
        assert f"pid {os.getpid()}" in lock.read_text()
