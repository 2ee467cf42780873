"""Agent SFT end to end on the tiny random model: collect plays grid-world trajectories, SFT trains on them with
every agent feature combined (multi-turn, observation masking, step weights, chunking, curriculum), and evaluate
plays held-out grid episodes for base and sft."""

from __future__ import annotations

import json

import pytest
import torch

from trainpipe.evaluation.generate import HFBackend
from trainpipe.pipeline import run_stage

COMMON = (
    "data.sources=[{kind: environment, environment: grid, n: 40, difficulty: 1, noise: 0.25}]",
    # Few held-out trajectories mask little template text, and a 3x3 grid repeats layouts: the n-gram gate
    # is opened (the environment suite plays its own seeds, not these held-out records).
    "data.eval_fraction=0.2",
    "data.contamination_max=1.0",
    "data.max_length=200",
)
AGENT = (
    "sft.agent.mask_observations=true",
    "sft.agent.step_weights=true",
    "sft.agent.chunking=true",
    "sft.agent.curriculum=true",
    "sft.agent.start_ratio=0.5",
    "sft.max_steps=3",
    "sft.batch_size=8",
    "sft.save_steps=3",
)
EVAL = (
    "evaluate.tasks=[]",
    "evaluate.environments=[grid]",
    "evaluate.max_examples=6",
    "evaluate.env_turn_tokens=6",
    "evaluate.retention=false",
    "evaluate.batch_size=6",
)


@pytest.fixture
def one_thread():
    # Two shared CPU cores: intra-op threads that wait on each other cost more than they gain here.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_collect_sft_evaluate_on_grid_trajectories(smoke_cfg, tmp_path, monkeypatch, one_thread):
    cfg = smoke_cfg(*COMMON, *AGENT, *EVAL)
    counts = run_stage(cfg, "collect")["metrics"]["counts"]["sft"]
    sft = run_stage(cfg, "sft")["metrics"]
    # A 200-token budget (instruction 86 + one step about 76) splits every trajectory of two or more steps.
    assert sft["skipped"] == 0 and sft["chunked_records"] > 0 and sft["examples"] > counts["train"]
    assert sft["steps"] == 3
    log = (tmp_path / "logs" / "sft" / "run.log").read_text()
    assert f"curriculum sampler: {sft['examples']} examples" in log

    batches = []
    real = HFBackend.generate_chats

    def spy(self, conversations, max_new_tokens):
        batches.append((len(conversations), max_new_tokens))
        return real(self, conversations, max_new_tokens)

    monkeypatch.setattr(HFBackend, "generate_chats", spy)
    manifest = run_stage(cfg, "evaluate")
    assert batches[0] == (6, 6) and len(batches) <= 2 * 6  # two models, at most max_turns batches each

    out = tmp_path / "logs" / "evaluate"
    metrics = json.loads((out / "metrics.json").read_text())
    assert [(s["name"], s["kind"], s["group"], s["n"]) for s in metrics["suites"]] == [
        ("env:grid", "environment", "environment", 6)
    ]
    assert metrics["suites"][0]["settings"]["first_seed"] == 10**9
    for model in ("base", "sft"):
        r = metrics["results"][model]["env:grid"]
        assert r["kind"] == "environment" and r["n"] == 6
        assert 0 <= r["lo"] <= r["mean"] <= r["hi"] <= 1 and r["mean"] == r["successes"] / 6
        assert -1 <= r["return_lo"] <= r["mean_return"] <= r["return_hi"] <= 1
        assert 0 < r["mean_completion_tokens"] <= 6 * 6
    assert metrics["comparisons"][0]["model"] == "sft" and "env:grid" in metrics["comparisons"][0]["suites"]
    assert "held-out episodes (seeds 1000000000..1000000005, disjoint from collect and RL)" in metrics["notes"][0]
    assert manifest["metrics"]["key_metric"] == "sft/env:grid"
    report = (out / "report.md").read_text()
    assert "| sft | env:grid |" in report and "mean return" in report

    # The cache key covers the episodes: a second run generates nothing.
    batches.clear()
    assert run_stage(cfg, "evaluate", force=True)["state"] == "ran" and batches == []
