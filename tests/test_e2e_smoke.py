"""All stages on configs/smoke.yaml through run_full_pipeline.py; a second run skips every stage."""

import json
import subprocess
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow  # whole pipelines in subprocesses


def _pipeline(root, *args):
    return subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "run_full_pipeline.py"),
            "--config",
            str(REPO / "configs" / "smoke.yaml"),
            f"paths.root={root}",
            *args,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1500,
    )


def test_full_pipeline_then_everything_skipped(tmp_path):
    first = _pipeline(tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    for folder in ("data_cache/collect", "models/sft", "logs/evaluate", "models/final"):
        assert (tmp_path / folder / "manifest.json").exists(), folder
    metrics = json.loads((tmp_path / "logs" / "evaluate" / "metrics.json").read_text())
    assert {"base", "sft"} <= set(metrics["results"])
    assert (tmp_path / "models" / "final" / "README.md").exists()
    second = _pipeline(tmp_path)
    assert second.returncode == 0
    for stage in ("collect", "sft", "evaluate", "deploy"):
        assert f"stage {stage} is up to date" in second.stderr
    assert "running (fingerprint" not in second.stderr
    status = _pipeline(tmp_path, "--status")
    rows = {line.split()[0]: line.split()[1] for line in status.stdout.splitlines()[1:]}
    assert rows == {
        "collect": "done",
        "cpt": "disabled",
        "sft": "done",
        "rl": "disabled",
        "evaluate": "done",
        "deploy": "done",
    }


def test_changed_learning_rate_reruns_sft_and_downstream_only(tmp_path):
    assert _pipeline(tmp_path, "--to", "sft").returncode == 0
    rerun = _pipeline(tmp_path, "--to", "sft", "sft.learning_rate=0.002")
    assert "stage collect is up to date" in rerun.stderr
    assert "stage sft: running" in rerun.stderr
    only = _pipeline(tmp_path, "--only", "sft", "--force", "sft.learning_rate=0.002")
    assert only.returncode == 0 and "stage sft: running" in only.stderr and "stage collect" not in only.stderr
