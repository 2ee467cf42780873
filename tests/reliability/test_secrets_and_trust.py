"""Secrets and trust: credentials from the environment, a .env file and config overrides never reach any file under
paths.root; local models load from safetensors only, with trust_remote_code off unless configured."""

import ast
import io
import json
import logging
import os
import pickle
import subprocess
import sys

import pytest

from conftest import REPO
from trainpipe.cli import stage_main
from trainpipe.config import ModelConfig
from trainpipe.errors import UserError
from trainpipe.models import load
from trainpipe.pipeline import run_stage
from trainpipe.secrets import REDACTED, RedactingFilter, redact

SMOKE = str(REPO / "configs" / "smoke.yaml")
HF = "hf_" + "Q7wErTy8uIoP3aSdFgH4jKlZ9xCvBnM2qW"  # shaped like a real token: hf_ + 34 letters and digits
IN_OVERRIDE = "hf_" + "Zx8CvB7nM6aS5dF4gH3jK2lQ1wE9rT0yUi"
IN_DOTENV = "dotenv-s3cret-Value-42"
IN_URL = "urlPassw0rd-Secret-77"
SECRETS = (HF, IN_OVERRIDE, IN_DOTENV, IN_URL)
OVERRIDES = [
    f"model.revision={IN_OVERRIDE}",
    f"deploy.endpoint=https://bot:{IN_URL}@hub.example.org",
    f"deploy.commit_message=release {IN_DOTENV}",
    "sft.max_steps=2",
    "sft.save_steps=1",
]


def test_credentials_are_redacted_in_every_file_a_stage_writes(tmp_path, monkeypatch, capsys):
    work, root = tmp_path / "work", tmp_path / "root"
    work.mkdir()
    (work / ".env").write_text(f"export SERVICE_API_KEY='{IN_DOTENV}'\nHF_HOME=/data/hf\n")
    monkeypatch.chdir(work)
    monkeypatch.setenv("HF_TOKEN", HF)
    argv = ["--config", SMOKE, f"paths.root={root}", *OVERRIDES]
    assert stage_main("collect", argv) == 0  # in this process
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "3_train_sft.py"), *argv],
        cwd=work,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    files = [p for p in root.rglob("*") if p.is_file()]
    assert len(files) > 40 and any(p.name == "training_args.bin" for p in files)  # checkpoints, logs, models, data
    leaks = [(str(p.relative_to(root)), s) for p in files for s in SECRETS if s.encode() in p.read_bytes()]
    assert leaks == []
    streams = capsys.readouterr().err + proc.stderr + proc.stdout
    assert not [s for s in SECRETS if s in streams]
    # Redacted, not merely absent: each value was written, in its place.
    resolved = (root / "logs" / "sft" / "config.resolved.yaml").read_text()
    assert f"revision: {REDACTED}" in resolved and f"https://bot:{REDACTED}@hub.example.org" in resolved
    assert f"release {REDACTED}" in resolved
    base = json.loads((root / "models" / "base" / "manifest.json").read_text())
    assert base["identity"]["revision"] == REDACTED
    sft = json.loads((root / "models" / "sft" / "manifest.json").read_text())
    assert sft["config"]["model"]["revision"] == REDACTED and sft["metrics"]["steps"] == 2


def test_tracebacks_and_other_credential_shapes_are_redacted(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_abcdefghij0123456789")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false-but-long")  # named like a token, but not a credential
    assert redact("push ghp_abcdefghij0123456789 false-but-long") == f"push {REDACTED} false-but-long"
    assert redact("Authorization: Bearer abc.def-123456") == f"Authorization: Bearer {REDACTED}"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("trainpipe.test.redaction")
    logger.addHandler(handler)
    try:
        raise RuntimeError(f"401 for https://huggingface.co/api?token={HF}")
    except RuntimeError:
        logger.exception("upload failed")
    finally:
        logger.removeHandler(handler)
    assert "RuntimeError: 401 for" in stream.getvalue() and HF not in stream.getvalue()


class _Payload:
    """Unpickling this runs code: it writes a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('ran')",)


def test_pickle_only_model_folder_is_refused_without_unpickling(smoke_cfg, tmp_path, capsys, tokenizer):
    folder, marker = tmp_path / "downloaded-model", tmp_path / "payload-ran"
    folder.mkdir()
    tokenizer.save_pretrained(folder)
    (folder / "config.json").write_text(
        json.dumps(
            {
                "model_type": "llama",
                "vocab_size": len(tokenizer),
                "hidden_size": 16,
                "intermediate_size": 32,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
            }
        )
    )
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(_Payload(marker)))
    run_stage(smoke_cfg(), "collect")
    capsys.readouterr()
    code = stage_main("sft", ["--config", SMOKE, f"paths.root={tmp_path}", f"model.base={folder}", "sft.max_steps=1"])
    err = capsys.readouterr().err
    assert code == 2 and "holds only pickle weights (pytorch_model.bin)" in err and "safetensors" in err
    assert not marker.exists()
    with pytest.raises(UserError, match="only pickle weights"):
        load.load_model(folder, ModelConfig(base=str(folder), trust_remote_code=True))
    assert not marker.exists()


def test_remote_code_is_off_unless_configured_and_local_loads_are_safetensors_only(tmp_path, monkeypatch):
    import transformers

    seen = []
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", lambda path, **kw: seen.append(kw))
    (tmp_path / "model.safetensors").write_bytes(b"")
    assert ModelConfig().trust_remote_code is False
    load.load_model(tmp_path, ModelConfig())
    load.load_model(tmp_path, ModelConfig(trust_remote_code=True))
    assert [(kw["trust_remote_code"], kw["use_safetensors"]) for kw in seen] == [(False, True), (True, True)]


def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
            yield node, owner, name, {k.arg: k.value for k in node.keywords}


def test_source_tree_never_unpickles_unsafely_or_trusts_remote_code():
    problems = []
    for path in sorted((REPO / "src" / "trainpipe").rglob("*.py")):
        for node, owner, name, kw in _calls(ast.parse(path.read_text(), str(path))):
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            literal = {k: v.value for k, v in kw.items() if isinstance(v, ast.Constant)}
            if name == "load" and owner == "torch" and literal.get("weights_only") is not True:
                problems.append(f"{where}: torch.load without weights_only=True")
            if owner in ("pickle", "dill", "joblib", "cloudpickle") and name in ("load", "loads"):
                problems.append(f"{where}: {owner}.{name}")
            if literal.get("trust_remote_code") is True or literal.get("use_safetensors") is False:
                problems.append(f"{where}: hard-coded trust_remote_code=True / use_safetensors=False")
    assert problems == [], problems
    # The scan itself must see calls: a torch.load without weights_only in a sample is caught.
    sample = ast.parse("import torch\ntorch.load('x.pt')\ntorch.load('y.pt', weights_only=True)\n")
    assert [kw.get("weights_only") is not None for _, o, n, kw in _calls(sample) if (o, n) == ("torch", "load")] == [
        False,
        True,
    ]
