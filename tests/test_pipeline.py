import subprocess
import sys

import pytest

from conftest import REPO
from trainpipe import artifacts
from trainpipe.errors import StageOrderError
from trainpipe.pipeline import expected_fingerprints, run_stage, status_rows


def test_skip_when_up_to_date_and_force_reruns(smoke_cfg):
    cfg = smoke_cfg()
    first = run_stage(cfg, "collect")
    assert first["state"] == "ran"
    again = run_stage(cfg, "collect")
    assert again["state"] == "skipped" and again["fingerprint"] == first["fingerprint"]
    forced = run_stage(cfg, "collect", force=True)
    assert forced["state"] == "ran" and forced["fingerprint"] == first["fingerprint"]


def test_guard_names_the_stage_to_run_first(smoke_cfg):
    with pytest.raises(StageOrderError, match="run stage collect first"):
        run_stage(smoke_cfg(), "sft")


def test_changing_a_section_changes_only_downstream_fingerprints(smoke_cfg):
    before = expected_fingerprints(smoke_cfg())
    after = expected_fingerprints(smoke_cfg("sft.learning_rate=0.01"))
    changed = {name for name in before if before[name] != after[name]}
    assert "collect" not in changed and {"sft", "evaluate"} <= changed
    assert before["cpt"] is None and before["rl"] is None  # disabled stages


def test_a_time_budget_is_in_the_fingerprint_and_none_leaves_it_as_before_budgets(smoke_cfg):
    from trainpipe.pipeline import compute_fingerprint
    from trainpipe.stages import stages

    none, budget = smoke_cfg("sft.max_minutes=0"), smoke_cfg("sft.max_minutes=5")
    assert expected_fingerprints(none)["sft"] != expected_fingerprints(budget)["sft"]
    _, sections = compute_fingerprint(none, stages()["sft"], {})
    assert "max_minutes" not in sections["sft"] and "learning_rate" in sections["sft"]


def test_status_table_moves_from_missing_to_done_to_stale(smoke_cfg):
    cfg = smoke_cfg()
    states = {r["stage"]: r["state"] for r in status_rows(cfg)}
    assert states["collect"] == "missing" and states["cpt"] == "disabled"
    run_stage(cfg, "collect")
    assert {r["stage"]: r["state"] for r in status_rows(cfg)}["collect"] == "done"
    stale = {r["stage"]: r["state"] for r in status_rows(smoke_cfg("data.seed=5"))}
    assert stale["collect"] == "stale"


def test_resolved_config_and_run_log_are_written(smoke_cfg, tmp_path):
    run_stage(smoke_cfg(), "collect")
    resolved = (tmp_path / "logs" / "collect" / "config.resolved.yaml").read_text()
    assert "base: tiny-random" in resolved and f"root: {tmp_path}" in resolved
    assert "stage collect: published" in (tmp_path / "logs" / "collect" / "run.log").read_text()


def test_cli_bad_config_exits_2_without_traceback(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "1_collect_data.py"),
            "--config",
            str(REPO / "configs" / "smoke.yaml"),
            f"paths.root={tmp_path}",
            "sft.learnin_rate=1",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 2
    assert "sft.learnin_rate: unknown key; did you mean 'sft.learning_rate'?" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "data_cache" / "collect").exists()


def test_cli_missing_upstream_exits_2(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "3_train_sft.py"),
            "--config",
            str(REPO / "configs" / "smoke.yaml"),
            f"paths.root={tmp_path}",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 2 and "run stage collect first" in proc.stderr


def test_manifest_records_provenance(smoke_cfg, tmp_path):
    run_stage(smoke_cfg(), "collect")
    manifest = artifacts.read_manifest(tmp_path / "data_cache" / "collect")
    assert manifest["stage"] == "collect" and manifest["config"]["data"]["seed"] == 0
    assert "torch" in manifest["versions"] and manifest["seconds"] >= 0
    assert set(manifest["hardware"]) == {"cpu", "isa", "cuda"}  # figures depend on the machine's kernels


def test_training_stages_launch_through_accelerate_with_multi_node_arguments(tmp_path):
    import argparse

    from trainpipe.cli import _stage_command
    from trainpipe.config import load_config

    args = argparse.Namespace(config=str(REPO / "configs" / "smoke.yaml"), force=False, overrides=["x.y=1"])
    single = load_config(args.config, [])
    assert _stage_command(single, "sft", args)[1:3] == [str(REPO / "scripts" / "3_train_sft.py"), "--config"]
    cfg = load_config(
        args.config,
        [
            "launch.num_processes=16",
            "launch.num_machines=2",
            "launch.machine_rank=1",
            "launch.main_process_ip=10.0.0.1",
            "launch.main_process_port=29500",
        ],
    )
    cmd = _stage_command(cfg, "sft", args)
    flags = dict(zip(cmd[3::2], cmd[4::2]))
    assert cmd[1:3] == ["-m", "accelerate.commands.launch"]
    assert flags["--num_processes"] == "16" and flags["--num_machines"] == "2" and flags["--machine_rank"] == "1"
    assert flags["--main_process_ip"] == "10.0.0.1" and flags["--main_process_port"] == "29500"
    assert cmd[-1] == "x.y=1" and str(REPO / "scripts" / "3_train_sft.py") in cmd
    # evaluate and collect never run under accelerate: one process does the whole job
    assert _stage_command(cfg, "evaluate", args)[1] == str(REPO / "scripts" / "5_evaluate.py")


def test_scripts_holds_the_numbered_stages_and_the_full_pipeline_only():
    from trainpipe.stages import ORDER as STAGES

    names = sorted(p.name for p in (REPO / "scripts").iterdir() if p.suffix == ".py")
    assert len(names) == len(STAGES) + 1 and "run_full_pipeline.py" in names
    numbered = [n for n in names if n != "run_full_pipeline.py"]
    assert [n.split("_", 1)[0] for n in numbered] == [str(i) for i in range(1, len(STAGES) + 1)]
