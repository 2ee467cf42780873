"""Golden numbers: the first logged losses and gradient norms (and GRPO's rewards) of tiny-random CPT, SFT, GRPO
and DPO stage runs, against values stored here.

trainpipe overrides private TRL and transformers methods (SFT's compute_loss, collator and sampler, GRPO's
generation, log-probs and scoring); a library upgrade that changes what they compute must fail here, not drift
silently. Runs are fp32 on CPU with one thread, so the numbers do not depend on bf16 support or thread count.
To regenerate after an intended change: run this file (`pytest tests/training/test_golden.py`); each failing
test prints the values it got, as a dict to paste over its GOLDEN entry.
"""

import json

import pytest
import torch

from trainpipe.pipeline import run_stage

STEPS = 3  # each step is logged (logging_steps=1); the last one saves the checkpoint whose state is read
RUN = ("max_steps=3", "save_steps=3", "logging_steps=1", "precision=fp32", "num_threads=1", "warmup_ratio=0")

GOLDEN = {
    "sft": {
        "loss": [10.843050003051758, 10.795364379882812, 10.752117156982422],
        "grad_norm": [0.8108111619949341, 0.7721397280693054, 0.8079556822776794],
    },
    "cpt": {
        "loss": [10.779562950134277, 10.612278938293457, 10.533827781677246],
        "grad_norm": [0.9593897461891174, 0.5836268067359924, 0.7031034827232361],
    },
    # GRPO's loss is zero up to rounding (on-policy ratios of 1, group advantages summing to zero); its gradient
    # is not, so grad_norm carries the loss computation.
    "grpo": {
        # regenerated 2026-12-02: decoding draws tokens by inverse CDF now (rl.generation), other draws than
        # multinomial's from the same distribution
        "reward": [-0.2322005331516266, -0.17478033900260925, -0.26564842462539673],
        "rewards/external/mean": [0.03559892624616623, 0.1504393219947815, -0.03129684925079346],
        "grad_norm": [0.4849805235862732, 0.56595778465271, 0.6750606894493103],
        "entropy": [10.7898588180542, 10.789875030517578, 10.78987979888916],
    },
    "dpo": {
        "loss": [0.6931471824645996, 0.6906208992004395, 0.6932779550552368],
        "grad_norm": [0.22568480670452118, 0.21023063361644745, 0.2144613265991211],
    },
}

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="the golden numbers are CPU ones")


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    yield


def run_args(section: str) -> list[str]:
    return [f"{section}.{setting}" for setting in RUN]


def history(root, stage: str) -> list[dict]:
    """The per-step logs in the final checkpoint's trainer state."""
    state = json.loads((root / "checkpoints" / stage / f"checkpoint-{STEPS}" / "trainer_state.json").read_text())
    return [h for h in state["log_history"] if "loss" in h]


def assert_golden(logs: list[dict], want: dict[str, list[float]]) -> None:
    got = {key: [h[key] for h in logs] for key in want}
    assert len(logs) == STEPS and got == {k: pytest.approx(v, rel=1e-4) for k, v in want.items()}, f"got {got!r}"


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_sft_losses(smoke_cfg, tmp_path):
    cfg = smoke_cfg("data.sources=[{kind: task, task: arithmetic, n: 40, difficulty: 1}]", *run_args("sft"))
    run_stage(cfg, "collect")
    run_stage(cfg, "sft")
    assert_golden(history(tmp_path, "sft"), GOLDEN["sft"])


def test_cpt_losses(smoke_cfg, tmp_path):
    words = ["bana", "keso", "limta", "dor", "pimo", "vasu", "telr", "gonta"]
    text = tmp_path / "c.txt"
    text.write_text("\n\n".join(" ".join(words[(i * 7 + j * 3) % 8] for j in range(12 + i)) for i in range(20)) + "\n")
    cfg = smoke_cfg(
        f"data.sources=[{{kind: task, task: arithmetic, n: 20}}, {{path: {text}}}]",
        "cpt.enabled=true",
        "cpt.max_length=32",
        "cpt.batch_size=4",
        "cpt.learning_rate=5e-3",
        *run_args("cpt"),
    )
    run_stage(cfg, "collect")
    run_stage(cfg, "cpt")
    assert_golden(history(tmp_path, "cpt"), GOLDEN["cpt"])


def test_grpo_rewards_and_gradients(smoke_cfg, tmp_path):
    # The external reward's completion-dependent similarity term gives a random model's completions different
    # rewards, so the group advantages (and the gradient) are not zero.
    colours = ["red", "green", "blue", "gold", "pink", "grey", "teal", "navy", "plum", "lime", "rose", "sand"]
    scored = write_jsonl(
        tmp_path / "scored.jsonl",
        [
            {
                "conversation": [
                    {"role": "user", "content": f"Describe the colour {c}."},
                    {"role": "assistant", "content": f"{c.title()} is a colour; many things are {c}."},
                ],
                "meta_eval_score": 2 + i % 8,
            }
            for i, c in enumerate(colours)
        ],
    )
    cfg = smoke_cfg(
        f"data.sources=[{{kind: file, path: {scored}, format: scored_conversation}}]",
        "sft.enabled=false",
        "rl.enabled=true",
        "rl.batch_size=4",
        "rl.num_generations=2",
        "rl.max_completion_length=6",
        "rl.learning_rate=1e-3",
        "rl.rewards=[{name: external, low: 0, high: 10}, {name: length, target_length: 4}]",
        "rl.blend_alpha=0.5",
        *run_args("rl"),
    )
    run_stage(cfg, "collect")
    run_stage(cfg, "rl")
    logs = history(tmp_path, "rl")
    assert [h["loss"] for h in logs] == pytest.approx([0.0] * STEPS, abs=1e-4)
    assert_golden(logs, GOLDEN["grpo"])


def test_dpo_losses(smoke_cfg, tmp_path):
    pairs = write_jsonl(
        tmp_path / "pairs.jsonl",
        [
            {"prompt": f"What is {i} + 2?", "chosen": f"Answer: {i + 2}", "rejected": f"Answer: {i + 9}"}
            for i in range(10)
        ],
    )
    cfg = smoke_cfg(
        f"data.sources=[{{kind: file, path: {pairs}, format: preference}}]",
        "sft.enabled=false",
        "rl.enabled=true",
        "rl.algorithm=dpo",
        "rl.batch_size=2",
        "rl.learning_rate=1e-3",
        *run_args("rl"),
    )
    run_stage(cfg, "collect")
    run_stage(cfg, "rl")
    logs = history(tmp_path, "rl")
    assert logs[0]["loss"] == pytest.approx(0.6931472)  # log 2: the policy starts as its own reference
    assert_golden(logs, GOLDEN["dpo"])
