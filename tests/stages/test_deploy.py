"""Deploy stage on tiny-random: collect → sft (adapter) → evaluate → deploy (merged + adapter, pushed to an
emulated Hub); base-only releases, verification failures and bad settings; weights evaluate did not judge are
refused."""

from __future__ import annotations

import json

import pytest
import torch
from huggingface_hub import ModelCard, constants
from safetensors.torch import load_file

from deploy.hub_emulator import HubEmulator
from trainpipe import artifacts
from trainpipe.cli import with_fresh_inputs
from trainpipe.deploy import export
from trainpipe.errors import UserError
from trainpipe.pipeline import run_stage
from trainpipe.stages import ORDER

TOKEN = "hf_StageTestTokenAbcdefghijklmnop567"
MERGED = [
    "README.md",
    "chat_template.jinja",
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
]


def files_under(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_deploy_after_sft_and_evaluate_builds_verifies_and_pushes(smoke_cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub = HubEmulator().start()
    cfg = smoke_cfg(
        "sft.max_steps=1",
        "sft.warmup_ratio=0",
        "sft.merge_adapters=false",
        "evaluate.max_examples=4",
        "deploy.format=both",
        "deploy.push=true",
        "deploy.repo_id=me/tiny",
        f"deploy.endpoint={hub.url}",
        "deploy.base_model=me/tiny-base",
    )
    try:
        for stage in ("collect", "sft", "evaluate"):
            run_stage(cfg, stage)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # only the push goes online, to 127.0.0.1
        monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)  # weights go through the emulator's LFS
        result = run_stage(cfg, "deploy")
    finally:
        hub.stop()
    final, root = tmp_path / "models" / "final", tmp_path

    assert result["state"] == "ran"
    assert files_under(final) == sorted(
        [*MERGED, "manifest.json", "adapter/adapter_config.json", "adapter/adapter_model.safetensors"]
    )
    manifest = artifacts.read_manifest(final)
    evaluation = json.loads((root / "logs" / "evaluate" / "metrics.json").read_text())["results"]["sft"]
    accuracy = round(evaluation["arithmetic"]["mean"], 4)
    assert {
        k: manifest["metrics"][k] for k in ("source", "format", "dtype", "verified", "pushed", "url", "shards")
    } == {
        "source": "sft",
        "format": "both",
        "dtype": "float32",
        "verified": True,
        "pushed": True,
        "url": f"{hub.url}/me/tiny",
        "shards": 1,
    }
    assert manifest["metrics"]["key_metric"] == "sft/arithmetic" and manifest["metrics"]["sft/arithmetic"] == accuracy
    assert manifest["upstream"].keys() == {"sft", "evaluate"} and manifest["config"]["deploy"]["repo_id"] == "me/tiny"

    # The adapter was merged: weights moved away from the base, and the adapter names the hub base.
    base, merged = load_file(root / "models/base/model.safetensors"), load_file(final / "model.safetensors")
    assert base.keys() == merged.keys() and any(not torch.equal(base[k], merged[k]) for k in base)
    assert json.loads((final / "adapter/adapter_config.json").read_text())["base_model_name_or_path"] == "me/tiny-base"
    data = ModelCard.load(final / "README.md").data
    assert data.base_model == "me/tiny-base"
    assert {r.dataset_type: r.metric_value for r in data.eval_results}["arithmetic"] == accuracy
    assert {r.dataset_type for r in data.eval_results} == set(evaluation)

    assert hub.files == {name: (final / name).read_bytes() for name in files_under(final) if name != "manifest.json"}
    assert hub.calls("/api/repos/create")[0].json() == {"name": "tiny", "organization": "me", "visibility": "private"}
    leaks = [p for p in root.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert leaks == []
    assert run_stage(cfg, "deploy")["state"] == "skipped"


def test_base_release_bad_settings_and_failed_verification(smoke_cfg, tmp_path, monkeypatch):
    only_deploy = ("sft.enabled=false", "evaluate.enabled=false")
    final = tmp_path / "models" / "final"
    with pytest.raises(UserError, match="deploy.source=sft, but stage sft is disabled"):
        run_stage(smoke_cfg(*only_deploy, "deploy.source=sft"), "deploy")
    with pytest.raises(UserError, match="needs a LoRA adapter"):
        run_stage(smoke_cfg(*only_deploy, "deploy.format=adapter"), "deploy")
    with pytest.raises(UserError, match="needs deploy.repo_id"):
        run_stage(smoke_cfg(*only_deploy, "deploy.push=true"), "deploy")

    real, calls = export.probe, []

    def drifting_probe(model, tokenizer):  # the reloaded folder "generates" something else
        calls.append(1)
        found = real(model, tokenizer)
        return found if len(calls) == 1 else export.Probe(found.tokens[:-1] + [found.tokens[-1] + 1], found.logits)

    monkeypatch.setattr(export, "probe", drifting_probe)
    cfg = smoke_cfg(*only_deploy, "deploy.dtype=bfloat16")
    with pytest.raises(export.VerificationError):
        run_stage(cfg, "deploy")
    assert not final.exists() and len(calls) == 2
    monkeypatch.undo()

    manifest = run_stage(cfg, "deploy")
    assert files_under(final) == sorted([*MERGED, "manifest.json"])
    assert {k: manifest["metrics"][k] for k in ("source", "format", "dtype", "pushed", "url", "key_metric")} == {
        "source": "base",
        "format": "merged",
        "dtype": "bfloat16",
        "pushed": False,
        "url": None,
        "key_metric": "verified",
    }
    assert json.loads((final / "config.json").read_text())["dtype"] == "bfloat16"
    assert ModelCard.load(final / "README.md").data.eval_results is None
    assert "Not evaluated (the evaluate stage was disabled)." in (final / "README.md").read_text()


def _card_results(final, metric: str | None = None) -> dict:
    return {
        r.dataset_type: r.metric_value
        for r in ModelCard.load(final / "README.md").data.eval_results or []
        if metric in (None, r.metric_type)
    }


def test_a_release_never_carries_another_models_numbers(smoke_cfg, tmp_path):
    """The stale-release repro: a full run, then `3_train_sft.py sft.learning_rate=1e-2 sft.max_steps=2` and
    `6_deploy.py` with the same overrides, without evaluate in between."""
    small = (
        "sft.max_steps=1",
        "sft.warmup_ratio=0",
        "evaluate.max_examples=4",
        "evaluate.max_new_tokens=4",
        "evaluate.retention_max_new_tokens=4",
    )
    for stage in ORDER:
        run_stage(smoke_cfg(*small), stage)
    final, metrics_file = tmp_path / "models" / "final", tmp_path / "logs" / "evaluate" / "metrics.json"
    released = {name: (final / name).read_bytes() for name in files_under(final)}
    old_ppl = _card_results(final, "perplexity")  # the one number a tiny random model moves on
    assert old_ppl

    retrained = smoke_cfg(*small, "sft.learning_rate=1e-2", "sft.max_steps=2")
    new_sft = run_stage(retrained, "sft")["fingerprint"]
    with pytest.raises(
        UserError,
        match=r"evaluate judged sft with fingerprint \w+, but .*models/sft now holds "
        f"fingerprint {new_sft}.*rerun evaluate: python scripts/5_evaluate.py",
    ) as err:
        run_stage(retrained, "deploy")
    assert err.value.exit_code == 2
    assert {name: (final / name).read_bytes() for name in files_under(final)} == released
    assert [p.name for p in final.parent.iterdir() if p.name.startswith(".final.tmp")] == []

    # run_full_pipeline.py --only deploy (or --from deploy) runs evaluate first; then the card is the new model's.
    assert with_fresh_inputs(retrained, ["deploy"]) == ["evaluate", "deploy"]
    run_stage(retrained, "evaluate")
    assert with_fresh_inputs(retrained, ["deploy"]) == ["deploy"]
    assert run_stage(retrained, "deploy")["state"] == "ran"
    metrics = json.loads(metrics_file.read_text())
    assert {m["name"]: m["fingerprint"] for m in metrics["models"]}["sft"] == new_sft
    new_ppl = _card_results(final, "perplexity")
    assert new_ppl == {s: round(metrics["results"]["sft"][s]["perplexity"], 4) for s in old_ppl}
    assert all(new_ppl[s] != old_ppl[s] for s in old_ppl)

    # Results missing for the shipped model are refused the same way.
    released = {name: (final / name).read_bytes() for name in files_under(final)}
    metrics["models"] = [m for m in metrics["models"] if m["name"] != "sft"]
    metrics_file.write_text(json.dumps(metrics))
    with pytest.raises(UserError, match="evaluate holds no results for sft, the model deploy would ship"):
        run_stage(retrained, "deploy", force=True)
    assert {name: (final / name).read_bytes() for name in files_under(final)} == released

    # With evaluate disabled the card carries no numbers, not even the ones still lying in logs/evaluate.
    run_stage(smoke_cfg(*small, "sft.learning_rate=1e-2", "sft.max_steps=2", "evaluate.enabled=false"), "deploy")
    assert _card_results(final) == {}
    assert "Not evaluated (the evaluate stage was disabled)." in (final / "README.md").read_text()
