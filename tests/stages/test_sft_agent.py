"""The SFT stage on a file of structured agent trajectories with every agent feature on at once:
multi-turn + observation masking + step weights + chunking + curriculum, on the tiny random model."""

from __future__ import annotations

import json

import torch
from safetensors.torch import load_file

from trainpipe.pipeline import run_stage


def trajectory(k: int, n_steps: int) -> dict:
    wordy = 3 if n_steps > 4 else 1
    steps = [
        {
            "thought": f"Check part {j} of service {k}.",
            "action": f"inspect --unit {k}-{j}",
            "observation": f"unit {k}-{j}: " + ("status nominal, latency 12ms, " * wordy).strip(),
            "reward": float(1 + (j + k) % 3),
        }
        for j in range(n_steps)
    ]
    steps[-1] = {"thought": "Everything is checked.", "action": f"Final Answer: service {k} is healthy", "reward": 2.0}
    return {"instruction": f"Audit service {k}.", "steps": steps, "reward": round(0.1 * k, 1), "level": 10 - k}


def test_agent_trajectories_train_with_every_feature_combined(smoke_cfg, tmp_path, one_thread):
    src = tmp_path / "trajectories.jsonl"
    # Seven short trajectories (105 / 156 tokens) and three of 537 tokens, over the 256-token budget.
    rows = [trajectory(k, 2 + k % 2) for k in range(7)] + [trajectory(k, 8) for k in range(7, 10)]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    # Some records must be held out (an empty eval split does not reload); the synthetic trajectories share
    # long n-grams by design, so the contamination gate is opened.
    common = [f"data.sources=[{{path: {src}}}]", "data.eval_fraction=0.3", "data.contamination_max=1.0"]
    # Collect keeps whole trajectories (its own length check must not drop what SFT will chunk).
    counts = run_stage(smoke_cfg(*common, "data.max_length=1024"), "collect")["metrics"]["counts"]
    assert counts == {"sft": {"train": 8, "eval": 2}}
    cfg = smoke_cfg(
        *common,
        "sft.agent.step_weights=true",
        "sft.agent.chunking=true",
        "sft.agent.overlap_steps=1",
        "sft.agent.curriculum=true",
        "sft.agent.curriculum_field=level",
        "sft.agent.start_ratio=0.5",
        "sft.max_steps=4",
        "sft.batch_size=4",
        "sft.save_steps=2",
    )
    assert cfg.data.max_length == 256
    metrics = run_stage(cfg, "sft")["metrics"]
    # Collect held out one short and one long trajectory; the other two long ones became 4 chunks each
    # (chunk layouts are pinned in test_agent_chunking.py): 6 + 8 examples.
    assert {k: metrics[k] for k in ("examples", "skipped", "chunked_records", "steps", "trained_tokens")} == {
        "examples": 14,
        "skipped": 0,
        "chunked_records": 2,
        "steps": 4,
        "trained_tokens": 642,
    }
    base = load_file(tmp_path / "models" / "base" / "model.safetensors")
    tuned = load_file(tmp_path / "models" / "sft" / "model.safetensors")
    changed = [k for k in base if not torch.equal(base[k], tuned[k])]
    assert any("q_proj" in k for k in changed)
    log = (tmp_path / "logs" / "sft" / "run.log").read_text()
    assert "curriculum sampler: 14 examples, easiest 7 first, all by epoch 1.0 (seed 0)" in log
