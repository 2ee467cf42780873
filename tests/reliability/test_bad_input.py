"""Bad input, bad config: the real stage scripts, fed malformed files, damaged upstream outputs and wrongly typed
overrides, exit with status 2 and one paragraph naming the file/line/field or dotted key; nothing is published and
earlier good outputs stay as they were."""

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import REPO
from trainpipe import artifacts
from trainpipe.pipeline import run_stage

SMOKE = str(REPO / "configs" / "smoke.yaml")
SCRIPTS = {"collect": "1_collect_data.py", "cpt": "2_train_cpt.py", "sft": "3_train_sft.py", "rl": "4_train_rl.py"}
ALPACA = b'{"instruction": "Name a colour.", "output": "Teal."}\n'
HUGE = 5 * 1024 * 1024

# name: (file name, content, fragments the message must contain). Record-level checks are unit-tested in-process in
# tests/data/test_validation.py; these go through the real script, exit status and stderr included.
FILES = {
    "truncated_json": (
        "d.json",
        b'[{"instruction": "a", "output": "b"}, {"instruction": "c", "outp',
        ["d.json:1", "invalid JSON"],
    ),
    "truncated_jsonl": ("d.jsonl", ALPACA + b'{"instruction": "x", "outp', ["d.jsonl:2", "invalid JSON"]),
    "wrong_type": ("d.jsonl", ALPACA + b'{"instruction": 5, "output": "x"}\n', ["d.jsonl:2", "instruction"]),
    "binary_junk": ("d.jsonl", bytes(range(11, 256)) * 64, ["d.jsonl:1", "UTF-8"]),
    "binary_parquet": ("d.parquet", b"PAR1" + bytes(range(256)) * 16, ["d.parquet", "parquet"]),
    "empty_jsonl": ("d.jsonl", b"", ["d.jsonl", "no records"]),
    "empty_csv": ("d.csv", b"", ["d.csv", "no records"]),
    "huge_line_wrong_type": (
        "d.jsonl",
        b'{"instruction": "' + b"w " * (HUGE // 2) + b'", "output": 7}\n',
        ["d.jsonl:1", "output"],
    ),
    "huge_line_truncated": ("d.jsonl", ALPACA + b'{"instruction": "' + b"w" * HUGE, ["d.jsonl:2", "invalid JSON"]),
    "mixed_formats": ("d.jsonl", ALPACA + b'{"messages": [{"role": "user", "content": "hi"}]}\n', ["d.jsonl:2"]),
    "missing_field": ("d.jsonl", ALPACA + b'{"instruction": "no answer"}\n', ["d.jsonl:2", "field 'output'"]),
    "deep_nesting": ("d.json", b"[" * 100000, ["d.json", "JSON"]),
}
# name: (stage, overrides, fragments)
CONFIGS = {
    "float_as_text": ("sft", ["sft.learning_rate=abc"], ["sft.learning_rate", "float"]),
    "batch_zero": ("sft", ["sft.batch_size=0"], ["sft.batch_size", "≥ 1"]),
    "int_as_float": ("sft", ["sft.max_steps=1.5"], ["sft.max_steps", "int"]),
    "list_for_int": ("sft", ["sft.lora.r=[1,2]"], ["sft.lora.r"]),
    "typo_key": ("sft", ["sft.learnin_rate=1e-4"], ["sft.learnin_rate", "did you mean 'sft.learning_rate'"]),
    "bool_as_text": ("cpt", ["cpt.enabled=maybe"], ["cpt.enabled", "bool"]),
    "length_negative": ("cpt", ["cpt.max_length=-1"], ["cpt.max_length", "≥ 8"]),
    "one_generation": ("rl", ["rl.num_generations=1"], ["rl.num_generations", "≥ 2"]),
    "unknown_choice": ("rl", ["rl.algorithm=a2c"], ["rl.algorithm", "grpo"]),
    "nested_type": ("rl", ["rl.rewards=[{name: task, weight: heavy}]"], ["rl.rewards[0].weight"]),
    "fraction_range": ("collect", ["data.eval_fraction=1.5"], ["data.eval_fraction", "[0, 1)"]),
    "sources_scalar": ("collect", ["data.sources=5"], ["data.sources", "list"]),
    "source_without_path": ("collect", ["data.sources=[{kind: file}]"], ["data.sources", "path"]),
    "dtype_choice": ("collect", ["model.dtype=float8"], ["model.dtype", "bfloat16"]),
    "no_equals": ("sft", ["sft.max_steps"], ["sft.max_steps", "dotted.key=value"]),
}


def _run(stage, root, overrides, config=SMOKE):
    cmd = [sys.executable, str(REPO / "scripts" / SCRIPTS[stage]), "--config", config, f"paths.root={root}", *overrides]
    return subprocess.run(
        cmd, cwd=root.parent, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )


def _message(proc) -> str:
    """The error paragraph: from the 'error:' line to the end of stderr."""
    err = proc.stderr
    assert proc.returncode == 2, (proc.returncode, err[-2000:])
    assert "Traceback" not in err and "--- Logging error ---" not in err
    paragraph = err[err.index("error: ") :].strip()
    assert "\n\n" not in paragraph and len(paragraph.splitlines()) <= 20
    return paragraph


def _snapshot(folder):
    return {str(p.relative_to(folder)): artifacts.file_digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def good_collect(tmp_path_factory):
    root = tmp_path_factory.mktemp("good")
    from conftest import make_config

    run_stage(make_config(root), "collect")
    return root / "data_cache"


@pytest.fixture(scope="module")
def file_results(tmp_path_factory, good_collect):
    """Every malformed-file case through the real collect script, two at a time; odd cases over a good output."""

    def one(item):
        index, (name, (file_name, content, _)) = item
        root = tmp_path_factory.mktemp(name) / "root"
        root.mkdir()
        if index % 2:
            shutil.copytree(good_collect, root / "data_cache")
        before = _snapshot(root / "data_cache" / "collect") if index % 2 else None
        (root.parent / file_name).write_bytes(content)
        return name, (root, before, _run("collect", root, [f"data.sources=[{{path: {file_name}}}]"]))

    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(one, enumerate(FILES.items())))


@pytest.mark.parametrize("name", sorted(FILES))
def test_collect_refuses_malformed_file(name, file_results):
    root, before, proc = file_results[name]
    message = _message(proc)
    assert all(fragment in message for fragment in FILES[name][2]), message
    out = root / "data_cache" / "collect"
    if before is None:
        assert artifacts.read_manifest(out) is None
    else:
        assert _snapshot(out) == before  # the earlier good output, byte for byte
    assert not list(out.parent.glob(".collect.*-*")), "half-written output left behind"


@pytest.fixture(scope="module")
def config_results(tmp_path_factory):
    def one(name):
        root = tmp_path_factory.mktemp(name) / "root"
        return name, (root, _run(CONFIGS[name][0], root, CONFIGS[name][1]))

    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(one, CONFIGS))


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_stages_refuse_wrong_config_values(name, config_results):
    root, proc = config_results[name]
    message = _message(proc)
    assert all(fragment in message for fragment in CONFIGS[name][2]), message
    assert not list(root.rglob("manifest.json"))


def test_broken_yaml_config_names_the_file(tmp_path):
    config = tmp_path / "broken.yaml"
    config.write_text("sft:\n  learning_rate: [1e-4\n  epochs: 2\n")
    message = _message(_run("sft", tmp_path / "root", [], config=str(config)))
    assert str(config) in message and "YAML" in message


DAMAGE = {  # case: fragments the message must contain
    "missing": ["stage collect", "run stage collect first"],
    "manifest": ["stage collect", "run stage collect first"],
    "parquet": ["train.parquet", "rerun stage collect"],
    "model": ["broken-model", "cannot load model", "rerun that stage"],
    "tokenizer": ["broken-model", "cannot load the tokenizer"],
    "resume": ["checkpoint-3", "not a complete checkpoint"],
}


def _damaged_root(base, case, good_collect, tokenizer):
    """A root holding an earlier good sft output, with the damage `case` names, and the overrides that reach it."""
    root = base / "root"
    previous = root / "models" / "sft"
    previous.mkdir(parents=True)
    (previous / "model.safetensors").write_bytes(b"earlier weights")
    artifacts.write_json_atomic(previous / "manifest.json", {"fingerprint": "earlier", "stage": "sft"})
    overrides = ["sft.max_steps=1"]
    if case != "missing":
        shutil.copytree(good_collect, root / "data_cache")
    if case == "manifest":
        (root / "data_cache" / "collect" / "manifest.json").write_text('{"fingerprint": "abc", "sta')
    if case == "parquet":
        path = root / "data_cache" / "collect" / "sft" / "train.parquet"
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    if case in ("model", "tokenizer"):
        model = base / "broken-model"
        model.mkdir()
        if case == "model":
            tokenizer.save_pretrained(model)
        (model / "config.json").write_text(json.dumps({"model_type": "llama", "vocab_size": 64}))
        (model / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{trunc")
        overrides.append(f"model.base={model}")
    if case == "resume":
        half = root / "checkpoints" / "sft" / "checkpoint-3"
        half.mkdir(parents=True)
        (half / "trainer_state.json").write_text("{}")
        (half.parent / "owner.json").write_text('{"fingerprint": "x"}')
        overrides.append(f"sft.resume={half}")
    return root, overrides


@pytest.fixture(scope="module")
def damage_results(tmp_path_factory, good_collect, tokenizer):
    def one(case):
        root, overrides = _damaged_root(tmp_path_factory.mktemp(case), case, good_collect, tokenizer)
        before = _snapshot(root / "models" / "sft")
        return case, (root, before, _run("sft", root, overrides))

    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(one, DAMAGE))


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_training_stage_refuses_damaged_inputs(case, damage_results):
    """Missing or corrupt upstream outputs name the stage to rerun; a broken model folder or checkpoint is named."""
    root, before, proc = damage_results[case]
    message = _message(proc)
    assert all(fragment in message for fragment in DAMAGE[case]), message
    assert _snapshot(root / "models" / "sft") == before and not list((root / "models").glob(".sft.*-*"))
