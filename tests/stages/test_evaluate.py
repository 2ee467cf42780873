"""The evaluate stage on tiny-random: base, sft and an extra model across arithmetic, SAT and retention;
the cache reruns only what changed; the gate stops a model that lost to base (exit status 3)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from trainpipe import artifacts
from trainpipe.errors import GateFailure
from trainpipe.evaluation import general_text, runner
from trainpipe.evaluation.checks import CHECKS
from trainpipe.evaluation.generate import Completion
from trainpipe.evaluation.retention import candidate_items, part_of
from trainpipe.evaluation.suites import retention_suites
from trainpipe.pipeline import run_stage

SMALL = (
    "data.sources=[{kind: task, task: arithmetic, n: 40}, {kind: task, task: sat, n: 40}]",
    "data.eval_fraction=0.25",
    "evaluate.tasks=[arithmetic, sat]",
    "evaluate.max_examples=4",
    "evaluate.max_new_tokens=4",
    "evaluate.retention_max_new_tokens=4",
)


def _publish_model(root: Path, stage: str, seed: int, metrics: dict | None = None) -> None:
    """A tiny random model standing in for a trained stage output, with a manifest like the stage writes."""
    from trainpipe.models.load import build_tiny_random, embedded_tokenizer

    tok = embedded_tokenizer()
    dest = root / "models" / stage
    tmp = artifacts.temp_dir_for(dest)
    build_tiny_random(tok, seed).save_pretrained(tmp)
    tok.save_pretrained(tmp)
    artifacts.publish(tmp, dest, {"stage": stage, "fingerprint": f"{stage}-seed{seed}", "metrics": metrics or {}})


def _spy(monkeypatch) -> list[tuple[str, list[str]]]:
    calls = []
    real = runner.evaluate_model

    def spy(cfg, path, suites):
        calls.append((Path(path).name, [s.name for s in suites]))
        return real(cfg, path, suites)

    monkeypatch.setattr(runner, "evaluate_model", spy)
    return calls


def test_evaluates_every_model_on_every_suite_and_reruns_only_the_changed_one(smoke_cfg, tmp_path, monkeypatch):
    _publish_model(tmp_path / "extra", "mine", 2)
    cfg = smoke_cfg(*SMALL, f"evaluate.models=[{tmp_path / 'extra' / 'models' / 'mine'}]")
    run_stage(cfg, "collect")
    _publish_model(tmp_path, "sft", 1)
    ckpt = tmp_path / "checkpoints" / "sft" / "checkpoint-4"
    ckpt.mkdir(parents=True)
    (ckpt / "trainer_state.json").write_text(
        json.dumps({"log_history": [{"loss": 3.0, "step": 2}, {"loss": 2.0, "step": 4}]})
    )
    (ckpt / "COMPLETE").write_text("")
    calls = _spy(monkeypatch)
    manifest = run_stage(cfg, "evaluate")

    out = tmp_path / "logs" / "evaluate"
    assert {
        "metrics.json",
        "report.md",
        "report.html",
        "items.jsonl",
        "accuracy.png",
        "training_curves.png",
        "manifest.json",
    } <= {p.name for p in out.iterdir()}
    text = ["retention_text_dev", "retention_text_test"]
    every = ["arithmetic", "sat", "retention_dev", "retention_test", *text]
    assert calls == [("base", every), ("sft", every), ("mine", every)]
    metrics = json.loads((out / "metrics.json").read_text())
    dev, test = retention_suites(cfg)
    dev, test = dev.items, test.items
    assert metrics["schema_version"] == 2
    assert [(m["name"], m["role"]) for m in metrics["models"]] == [
        ("base", "base"),
        ("sft", "candidate"),
        ("mine", "extra"),
    ]
    assert [(s["name"], s["kind"], s["group"], s["n"]) for s in metrics["suites"]] == [
        ("arithmetic", "task", "task", 4),
        ("sat", "task", "task", 4),
        ("retention_dev", "task", "retention", len(dev)),
        ("retention_test", "task", "retention", len(test)),
        ("retention_text_dev", "text", "retention", 4),
        ("retention_text_test", "text", "retention", 4),
    ]
    for model in ("base", "sft", "mine"):
        arith = metrics["results"][model]["arithmetic"]
        assert arith["n"] == 4 and 0 <= arith["lo"] <= arith["mean"] <= arith["hi"] <= 1
        assert 0 <= arith["mean_completion_tokens"] <= 4
        assert metrics["results"][model]["retention_text_test"]["perplexity"] > 1
    # Every built-in everyday prompt is in, though a random model answers none of them.
    notes = [n for n in metrics["notes"] if n.startswith("retention Q&A") or " on retention_" in n]
    assert notes[0].startswith(
        f"retention Q&A: {len(candidate_items())} built-in everyday prompts (retention_dev "
        f"{len(dev)}, retention_test {len(test)}); base answers 0 correctly (instruct 0/"
    )
    assert (
        notes[1] == f"sft on retention_dev: keeps 0 of the 0 items base answers correctly and answers 0 of the "
        f"{len(dev)} it gets wrong"
    )
    assert len(notes) == 1 + 2 * 2  # sft and mine, dev and test
    # No cpt data was collected, so the perplexity suite reads the built-in general prose, and says so.
    dev_docs = sum(part_of(i["id"]) == "dev" for i in general_text.items())
    text_note = (
        f"retention_text_dev: 4 of {dev_docs} (evaluate.max_examples) built-in general-prose passages "
        "(collect holds no cpt eval split)"
    )
    assert text_note in metrics["notes"]
    assert [(c["model"], c["baseline"], c["relation"]) for c in metrics["comparisons"]] == [
        ("sft", "base", "candidate"),
        ("mine", "base", "extra"),
    ]
    assert metrics["gate"]["candidate"] == "sft" and metrics["gate"]["enabled"] is False
    assert manifest["metrics"]["key_metric"] == "sft/arithmetic"
    report = (out / "report.md").read_text()
    assert "| sft | sat |" in report and "### sft vs base (candidate vs base)" in report
    assert f"- {text_note}" in report
    assert "## RL health" not in report and "rl_health" not in metrics  # no rl stage ran
    from trainpipe.models.hardware import describe

    assert metrics["hardware"] == describe() and f"Machine: {describe()['cpu']}" in report
    assert len(list((out / "cache").glob("*.json"))) == 3 * 6
    # items.jsonl: every item of every suite beside each model's completion (its NLL, on text suites)
    rows = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert [r["suite"] for r in rows] == [s["name"] for s in metrics["suites"] for _ in range(s["n"])]
    for r in rows:
        assert set(r["models"]) == {"base", "sft", "mine"} and r["prompt"]
        kept = [rec["nll"] if r["kind"] == "text" else rec["completion"] for rec in r["models"].values()]
        assert all(isinstance(v, float if r["kind"] == "text" else str) for v in kept)

    calls.clear()
    _publish_model(tmp_path, "sft", 3)  # a retrained sft: only it is generated again
    assert run_stage(cfg, "evaluate")["state"] == "ran"
    assert calls == [("sft", every)]


def test_report_shows_the_rl_stage_health_warnings_and_reward_model(smoke_cfg, tmp_path):
    from trainpipe.rl.health import summarise

    history = [
        {"frac_reward_zero_std": 0.875, "completions/clipped_ratio": 0.25, "entropy": 1.5, "step": 1},
        {"frac_reward_zero_std": 1.0, "completions/clipped_ratio": 0.0, "entropy": 1.25, "step": 2},
    ]
    health = summarise(history)
    cfg = smoke_cfg(
        *SMALL, "evaluate.tasks=[arithmetic]", "evaluate.retention=false", "sft.enabled=false", "rl.enabled=true"
    )
    run_stage(cfg, "collect")
    learned = {
        "pairs": "verified",
        "train_pairs": 16,
        "heldout_pairs": 4,
        "heldout_wins": 4,
        "train_loss": 0.3,
        "gold_chosen": 20,
        "path": "reward_model",
        "heldout_accuracy": 1.0,
        "heldout_lo": 0.7281,
        "heldout_hi": 1.0,
        "level": 0.8,
    }
    _publish_model(tmp_path, "rl", 1, {"algorithm": "grpo", "health": health, "reward_model": learned})
    run_stage(cfg, "evaluate")
    out = tmp_path / "logs" / "evaluate"
    written = json.loads((out / "metrics.json").read_text())
    assert written["rl_health"] == health and written["reward_model"] == learned
    report = (out / "report.md").read_text()
    assert report[report.index("## Reward model") :].splitlines()[:5] == [
        "## Reward model",
        "",
        "20 pairs from the policy's own samples scored by the task verifier, 20 of them with "
        "the gold solution as the chosen answer; trained on 16 (mean training loss 0.3), kept in "
        "models/rl/reward_model/.",
        "",
        "Held-out pair accuracy: 1.000 (4 of 4 pairs ranked chosen above rejected), 80% interval [0.728, 1.000] "
        "(excludes 0.5).",
    ]
    section = report[report.index("## RL health") :]
    assert section.splitlines()[4:10] == [
        "- **Warning** (zero_std_groups): 94% of prompt groups had identical rewards, so their advantages were 0 "
        "and they taught nothing (why the loss sits at 0): raise rl.num_generations or rl.temperature, use easier "
        "prompts or SFT first, or add a graded reward (format, length) beside the task's right/wrong.",
        "",
        "| signal | logged as | first | last | mean | logged steps |",
        "|---|---|---|---|---|---|",
        "| entropy | `entropy` | 1.5 | 1.25 | 1.375 | 2 |",
        "| no_eos | `completions/clipped_ratio` | 0.25 | 0 | 0.125 | 2 |",
    ]


def _fake_evaluate(cfg, path, suites):
    """Base answers every item and predicts text well; any other model answers nothing and predicts badly."""
    good = Path(path).name == "base"
    out = {}
    for s in suites:
        if s.kind == "text":
            nll = [((1.0 if good else 3.0) + 0.1 * (i % 3)) * 10 for i in range(len(s.items))]
            out[s.name] = runner.text_result(s.items, [(v, 10) for v in nll], cfg.evaluate.level)
            continue
        texts = [
            (i["answer"] if i["task"] in CHECKS else f"Answer: {i['answer']}") if good else "no idea" for i in s.items
        ]
        out[s.name] = runner.task_result(s.items, [[Completion(t, 3)] for t in texts], cfg.evaluate.level)
    return out


def test_gate_stops_a_model_that_lost_to_base(smoke_cfg, tmp_path, monkeypatch):
    cfg = smoke_cfg(*SMALL, "evaluate.tasks=[arithmetic]")
    run_stage(cfg, "collect")
    _publish_model(tmp_path, "sft", 1)
    monkeypatch.setattr(runner, "evaluate_model", _fake_evaluate)
    passed = run_stage(cfg, "evaluate")  # gate off: reported, not enforced
    out = tmp_path / "logs" / "evaluate"
    metrics = json.loads((out / "metrics.json").read_text())
    sizes = {s["name"]: s["n"] for s in metrics["suites"]}
    dev = [i for i in candidate_items() if part_of(i["id"]) == "dev"]
    # Every built-in prompt is in, split by the stable hash of its id.
    assert (sizes["retention_dev"], sizes["retention_test"]) == (len(dev), len(candidate_items()) - len(dev))
    assert f"sft on retention_dev: keeps 0 of the {len(dev)} items base answers correctly" in " ".join(metrics["notes"])
    for part in ("retention_dev", "retention_test"):
        assert metrics["results"]["base"][part]["mean"] == 1.0
        assert metrics["results"]["sft"][part]["mean"] == 0.0
    assert passed["metrics"]["gate_passed"] is False and not metrics["gate"]["passed"]
    assert metrics["comparisons"][0]["verdict"] == "worse"

    with pytest.raises(GateFailure, match="evaluate gate rejected sft: sft is dominated by base"):
        run_stage(smoke_cfg(*SMALL, "evaluate.tasks=[arithmetic]", "evaluate.gate=true"), "evaluate")
    assert not (out / "manifest.json").exists()  # deploy cannot ship on an earlier evaluation
    assert "**FAILED** for sft" in (out / "report.md").read_text()


def test_gate_failure_exits_3_from_cached_results(smoke_cfg, tmp_path, monkeypatch):
    cfg = smoke_cfg(*SMALL, "evaluate.tasks=[arithmetic]")
    run_stage(cfg, "collect")
    _publish_model(tmp_path, "sft", 1)
    monkeypatch.setattr(runner, "evaluate_model", _fake_evaluate)
    run_stage(cfg, "evaluate")  # fills the cache with the broken model's results
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "5_evaluate.py"),
            "--config",
            str(REPO / "configs" / "smoke.yaml"),
            f"paths.root={tmp_path}",
            *SMALL,
            "evaluate.tasks=[arithmetic]",
            "evaluate.gate=true",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 3, proc.stderr
    assert "evaluate gate rejected sft" in proc.stderr and "sft loses suite retention_" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_settings_that_would_fail_late_are_refused_up_front(smoke_cfg):
    from trainpipe.errors import UserError
    from trainpipe.stages.evaluate import _check_settings

    with pytest.raises(UserError, match="evaluate.gate_margin: expected a number >= 0; got -0.1"):
        _check_settings(smoke_cfg("evaluate.gate_margin=-0.1"))
    _check_settings(smoke_cfg("evaluate.gate_margin=0.05"))


def test_kl_to_base_is_zero_for_a_copy_of_base_positive_for_another_model_and_cached(smoke_cfg, tmp_path, monkeypatch):
    import shutil

    from trainpipe.evaluation import divergence
    from trainpipe.models.load import ensure_base

    small = ("evaluate.max_examples=4", "evaluate.max_new_tokens=4", "evaluate.retention=false")
    cfg = smoke_cfg(*small)
    run_stage(cfg, "collect")
    twin = tmp_path / "extra" / "twin"
    shutil.copytree(ensure_base(cfg.model, artifacts.Layout(tmp_path)), twin)
    _publish_model(tmp_path, "sft", 1)
    calls, real = [], divergence._model_kl
    monkeypatch.setattr(divergence, "_model_kl", lambda cfg, path, *a: calls.append(path.name) or real(cfg, path, *a))
    cfg = smoke_cfg(*small, f"evaluate.models=[{twin}]")
    run_stage(cfg, "evaluate")

    out = tmp_path / "logs" / "evaluate"
    results = json.loads((out / "metrics.json").read_text())["results"]
    assert results["base"]["arithmetic"]["kl_to_base"] is None
    assert results["twin"]["arithmetic"]["kl_to_base"] == pytest.approx(0.0, abs=1e-7)
    assert results["sft"]["arithmetic"]["kl_to_base"] > 1e-4
    report = (out / "report.md").read_text()
    assert f"| sft | arithmetic | {results['sft']['arithmetic']['kl_to_base']:.4f} |" in report
    assert "| twin | arithmetic | 0.0000 |" in report
    assert calls == ["sft", "twin"] and len(list((out / "cache" / "kl_to_base").glob("*.json"))) == 2

    calls.clear()
    _publish_model(tmp_path, "sft", 3)  # a retrained sft: only its KL is computed again
    run_stage(cfg, "evaluate")
    assert calls == ["sft"]
