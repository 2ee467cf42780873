import os
import signal
import subprocess
import sys
import time

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from conftest import REPO
from trainpipe import artifacts
from trainpipe.pipeline import run_stage

MODEL_FILES = {
    "chat_template.jinja",
    "config.json",
    "generation_config.json",
    "manifest.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
}


def test_sft_trains_publishes_plain_hf_folder(smoke_cfg, tmp_path):
    cfg = smoke_cfg("sft.max_steps=4", "sft.save_steps=2")
    run_stage(cfg, "collect")
    manifest = run_stage(cfg, "sft")
    out = tmp_path / "models" / "sft"
    assert {p.name for p in out.iterdir()} == MODEL_FILES
    m = manifest["metrics"]
    assert m["steps"] == 4 and m["model_kind"] == "merged" and m["trained_tokens"] > 0
    base = load_file(tmp_path / "models" / "base" / "model.safetensors")
    tuned = load_file(out / "model.safetensors")
    changed = [k for k in base if not torch.equal(base[k], tuned[k])]
    assert any("q_proj" in k for k in changed)  # LoRA merged into attention weights
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.generation_config.eos_token_id == model.generation_config.pad_token_id == 2
    assert (tmp_path / "logs" / "sft" / "tensorboard").is_dir()
    assert any((tmp_path / "checkpoints" / "sft").glob("checkpoint-*/COMPLETE"))


def test_time_budget_stops_after_the_step_under_way_saves_and_publishes(smoke_cfg, tmp_path):
    # a budget of a microsecond runs out during the first step: that step ends, is checkpointed and published,
    # and the remaining 49 steps are not trained
    cfg = smoke_cfg("sft.max_steps=4", "sft.save_steps=100", "sft.max_minutes=0.00000002")
    run_stage(cfg, "collect")
    m = run_stage(cfg, "sft")["metrics"]
    assert m["steps"] == 1 and m["stopped_by_time_budget"] == 1
    assert (tmp_path / "checkpoints" / "sft" / "checkpoint-1" / "trainer_state.json").is_file()
    assert (tmp_path / "models" / "sft" / "model.safetensors").is_file()
    # going on from the stop without a budget: the run reaches its own end and says so
    cfg = smoke_cfg("sft.max_steps=4", "sft.save_steps=100", "sft.resume=checkpoint-1")
    m = run_stage(cfg, "sft", force=True)["metrics"]
    assert m["steps"] == 4 and m["stopped_by_time_budget"] is None and m["resumed_from"].endswith("checkpoint-1")


def test_sft_keeps_adapter_when_asked(smoke_cfg, tmp_path):
    cfg = smoke_cfg("sft.max_steps=2", "sft.merge_adapters=false")
    run_stage(cfg, "collect")
    assert run_stage(cfg, "sft")["metrics"]["model_kind"] == "adapter"
    names = {p.name for p in (tmp_path / "models" / "sft").iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors"} <= names and "model.safetensors" not in names
    assert AutoModelForCausalLM.from_pretrained(tmp_path / "models" / "sft") is not None


def _sft_cmd(root, *extra):
    return [
        sys.executable,
        str(REPO / "scripts" / "3_train_sft.py"),
        "--config",
        str(REPO / "configs" / "smoke.yaml"),
        f"paths.root={root}",
        "sft.max_steps=12",
        "sft.save_steps=3",
        "sft.logging_steps=1",
        *extra,
    ]


def test_sigkill_then_rerun_resumes_and_matches_uninterrupted_run(smoke_cfg, tmp_path):
    killed_root, clean_root = tmp_path / "killed", tmp_path / "clean"
    for root in (killed_root, clean_root):
        run_stage(smoke_cfg(f"paths.root={root}"), "collect")
    proc = subprocess.Popen(_sft_cmd(killed_root), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpts = killed_root / "checkpoints" / "sft"
    deadline = time.time() + 300
    while time.time() < deadline and not list(ckpts.glob("checkpoint-6/COMPLETE")):
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list(ckpts.glob("checkpoint-*/COMPLETE")), "no complete checkpoint before the kill"
    assert artifacts.read_manifest(killed_root / "models" / "sft") is None  # nothing published
    assert subprocess.run(_sft_cmd(killed_root), cwd=REPO, capture_output=True).returncode == 0
    resumed = artifacts.read_manifest(killed_root / "models" / "sft")["metrics"]
    assert resumed["resumed_from"] and resumed["resumed_from"].rsplit("-", 1)[-1] in {"6", "9"}
    assert resumed["steps"] == 12
    assert subprocess.run(_sft_cmd(clean_root), cwd=REPO, capture_output=True).returncode == 0
    a = load_file(killed_root / "models" / "sft" / "model.safetensors")
    b = load_file(clean_root / "models" / "sft" / "model.safetensors")
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)


def test_changed_config_refuses_to_resume_unfinished_run(smoke_cfg, tmp_path):
    root = tmp_path
    run_stage(smoke_cfg(), "collect")
    ckpt = root / "checkpoints" / "sft" / "checkpoint-3"
    ckpt.mkdir(parents=True)
    (ckpt / "COMPLETE").write_text("3")
    artifacts.write_json_atomic(root / "checkpoints" / "sft" / "owner.json", {"fingerprint": "someoneelse"})
    proc = subprocess.run(_sft_cmd(root), cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2 and "unfinished run with a different config" in proc.stderr


def test_sft_score_prefix_and_filter_condition_the_published_model_on_the_top_score(smoke_cfg, tmp_path):
    import json

    from transformers import AutoTokenizer

    from trainpipe.models.chat import encode_prompt

    colours = ["red", "green", "blue", "gold", "pink", "grey", "teal", "navy", "plum", "lime", "rose", "sand"]
    src = tmp_path / "scored.jsonl"
    src.write_text(
        "".join(
            json.dumps(
                {
                    "conversation": [
                        {"role": "user", "content": f"Describe the colour {c}."},
                        {"role": "assistant", "content": f"{c.title()} is a colour; many things are {c}."},
                    ],
                    "meta_eval_score": 1 + i % 5,
                    "score_reason": "r",
                }
            )
            + "\n"
            for i, c in enumerate(colours)
        ),
        encoding="utf-8",
    )
    cfg = smoke_cfg(
        f"data.sources=[{{path: {src}}}]",
        "data.eval_fraction=0",
        "sft.max_steps=1",
        "sft.score.mode=prefix",
        "sft.score.min_score=2",
        "sft.score.high=5",
    )
    run_stage(cfg, "collect")
    m = run_stage(cfg, "sft")["metrics"]
    trained = sum(1 + i % 5 >= 2 for i in range(len(colours)))
    assert m["score_filtered"] == len(colours) - trained and m["examples"] == m["scored_records"] == trained
    assert m["score_high"] == 5.0
    # Evaluation, RL and the deployed folder render prompts with the published tokenizer: the top score's line.
    published = AutoTokenizer.from_pretrained(tmp_path / "models" / "sft")
    text = published.decode(encode_prompt(published, [{"role": "user", "content": "Hi"}]))
    assert text == "<|im_start|>system\nscore: 5<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
