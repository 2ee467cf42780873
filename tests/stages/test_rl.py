"""The rl stage on the tiny random model: reads the SFT model, publishes models/rl/, logs rewards, resumes."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

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


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    yield


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def scored_file(tmp_path):
    colours = ["red", "green", "blue", "gold", "pink", "grey", "teal", "navy", "plum", "lime", "rose", "sand"]
    return write_jsonl(
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


def test_grpo_stage_trains_sft_model_publishes_and_resumes(smoke_cfg, tmp_path):
    # Scored conversations feed both SFT and the external reward, whose completion-dependent similarity term
    # gives a random model's completions different rewards (a task score would be 0 for all of them).
    source = f"{{kind: file, path: {scored_file(tmp_path)}, format: scored_conversation}}"
    cfg = smoke_cfg(
        f"data.sources=[{source}]",
        "sft.max_steps=1",
        "rl.enabled=true",
        "rl.max_steps=2",
        "rl.save_steps=1",
        "rl.logging_steps=1",
        "rl.batch_size=4",
        "rl.num_generations=2",
        "rl.max_completion_length=6",
        "rl.learning_rate=1e-3",
        "rl.warmup_ratio=0",
        "rl.rewards=[{name: external, low: 0, high: 10}, {name: length, target_length: 4}]",
        "rl.blend_alpha=0.5",
    )
    run_stage(cfg, "collect")
    run_stage(cfg, "sft")
    manifest = run_stage(cfg, "rl")
    out = tmp_path / "models" / "rl"
    assert {p.name for p in out.iterdir()} == MODEL_FILES
    assert manifest["model_in"] == "sft" and manifest["state"] == "ran"
    m = manifest["metrics"]
    assert m["algorithm"] == "grpo" and m["steps"] == 2 and m["model_kind"] == "merged"
    assert m["external_prompts"] == m["prompts"] > 0 and m["key_metric"] == "last_reward"
    # Completions are cut at 6 tokens, 2 beyond the target of 4: the length component is exactly −0.5.
    assert m["reward_components"]["length"] == pytest.approx(-0.5)
    assert -1.0 <= m["reward_components"]["external"] <= 1.0
    # TRL's logged total is the blend 0.5 · external + 0.5 · length (every row has both components).
    blend = 0.5 * m["reward_components"]["external"] + 0.5 * m["reward_components"]["length"]
    assert (m["first_reward"] + m["last_reward"]) / 2 == pytest.approx(blend, abs=1e-3)
    # A random model never ends a completion within 6 tokens: the health summary warns of it, in the log too.
    assert [w["signal"] for w in m["health"]["warnings"]] == ["no_eos"]
    assert m["health"]["signals"]["no_eos"]["mean"] == 1.0 and m["health"]["signals"]["zero_std_groups"]["mean"] == 0
    assert (
        "rl health: 100% of completions stopped at rl.max_completion_length"
        in (tmp_path / "logs" / "rl" / "run.log").read_text()
    )
    sft, rl = load_file(tmp_path / "models" / "sft" / "model.safetensors"), load_file(out / "model.safetensors")
    assert any(not torch.equal(sft[k], rl[k]) for k in sft)
    assert (tmp_path / "logs" / "rl" / "tensorboard").is_dir()

    # A run that died after checkpoint-1: no published model, no checkpoint-2. The rerun resumes from 1.
    ckpts = tmp_path / "checkpoints" / "rl"
    assert sorted(p.parent.name for p in ckpts.glob("checkpoint-*/COMPLETE")) == ["checkpoint-1", "checkpoint-2"]
    shutil.rmtree(out)
    shutil.rmtree(ckpts / "checkpoint-2")
    again = run_stage(cfg, "rl")["metrics"]
    assert again["resumed_from"].endswith("checkpoint-1") and again["steps"] == 2
    assert artifacts.read_manifest(out)["fingerprint"] == manifest["fingerprint"]


def test_dpo_stage_reads_a_preference_file_and_can_keep_the_adapter(smoke_cfg, tmp_path):
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
        "rl.max_steps=1",
        "rl.batch_size=2",
        "rl.merge_adapters=false",
        "rl.warmup_ratio=0",
    )
    run_stage(cfg, "collect")
    manifest = run_stage(cfg, "rl")
    m = manifest["metrics"]
    assert manifest["model_in"] == "base" and m["algorithm"] == "dpo" and m["model_kind"] == "adapter"
    assert m["pairs"] == len(load_pairs(tmp_path)) and m["loss_type"] == ["sigmoid"] and m["key_metric"] == "train_loss"
    names = {p.name for p in (tmp_path / "models" / "rl").iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors"} <= names and "model.safetensors" not in names


def load_pairs(root):
    from trainpipe.data.store import load_split

    return load_split(root / "data_cache" / "collect", "preference", "train")


PPO = (
    "sft.enabled=false",
    "rl.enabled=true",
    "rl.algorithm=ppo",
    "rl.batch_size=4",
    "rl.num_generations=2",
    "rl.logging_steps=1",
    "rl.warmup_ratio=0",
    "rl.ppo_epochs=2",
)


def test_ppo_value_model_learns_a_deterministic_return(smoke_cfg, tmp_path):
    # Two-token completions never reach EOS and score 0 on length (target 4), so each return is fixed: −1 (the
    # missing-EOS penalty) on the second token and γ·−1 = −0.5 on the first. The value model has to tell the state
    # after the generation prompt from the state after a sampled token; the policy barely moves (lr 1e-6).
    cfg = smoke_cfg(
        *PPO,
        "rl.max_steps=24",
        "rl.save_steps=24",
        "rl.max_completion_length=2",
        "rl.rewards=[{name: length, target_length: 4}]",
        "rl.ppo_missing_eos_penalty=1.0",
        "rl.learning_rate=1e-6",
        "rl.ppo_value_lr=1e-2",
        "rl.lr_scheduler=constant",
        "rl.ppo_gamma=0.5",
        "rl.ppo_lambda=1.0",
    )
    run_stage(cfg, "collect")
    m = run_stage(cfg, "rl")["metrics"]
    assert m["algorithm"] == "ppo" and m["steps"] == 24 and m["key_metric"] == "last_reward"
    history = json.loads((tmp_path / "checkpoints" / "rl" / "checkpoint-24" / "trainer_state.json").read_text())
    logged = [h for h in history["log_history"] if "value/loss" in h]
    losses = [h["value/loss"] for h in logged]
    # Explained variance is measured on each new generation (every ppo_epochs = 2 steps), before training on it.
    ev = [h["value/explained_variance"] for h in logged if h.get("value/explained_variance") is not None]
    assert len(losses) == 24 and len(ev) == 12
    assert sum(losses[-6:]) / 6 < 0.1 * losses[0]
    # The head starts at zero, so the first generation's values explain nothing (0); then better than the mean
    # return: this run's last 4 generations average 0.50.
    assert ev[0] == pytest.approx(0, abs=1e-6) and sum(ev[-4:]) / 4 > 0.1
    # The second epoch over a generation moves values away from the rollout's: the value clip engages.
    assert any(h["value/clip_fraction"] > 0 for h in logged)
    health = m["health"]
    assert health["signals"]["value_explained_variance"]["n"] == 12 and "zero_std_groups" not in health["signals"]
    assert (tmp_path / "checkpoints" / "rl" / "checkpoint-24" / "value_model.safetensors").is_file()


def test_ppo_stopped_and_rerun_from_its_checkpoint_equals_the_uninterrupted_run(smoke_cfg, tmp_path):
    # beta > 0 with adaptive KL: the reference's log-probs, the KL reward and the coefficient all resume too.
    cfg = smoke_cfg(
        *PPO,
        "rl.max_steps=4",
        "rl.save_steps=2",
        "rl.max_completion_length=4",
        "rl.learning_rate=1e-3",
        "rl.beta=0.1",
        "rl.kl_target=0.05",
        "rl.kl_horizon=100",
        "rl.rewards=[{name: length, target_length: 2}]",
    )
    run_stage(cfg, "collect")
    first = run_stage(cfg, "rl")["metrics"]
    out, ckpts = tmp_path / "models" / "rl", tmp_path / "checkpoints" / "rl"
    weights, value = load_file(out / "model.safetensors"), load_file(ckpts / "checkpoint-4" / "value_model.safetensors")
    history = json.loads((ckpts / "checkpoint-4" / "trainer_state.json").read_text())["log_history"]
    assert [h["kl_coef"] for h in history if "kl_coef" in h][0] == pytest.approx(0.1)
    # Stopped after checkpoint-2: nothing published, no checkpoint-4. The rerun resumes from 2.
    shutil.rmtree(out)
    shutil.rmtree(ckpts / "checkpoint-4")
    again = run_stage(cfg, "rl")["metrics"]
    assert first["resumed_from"] is None and again["resumed_from"].endswith("checkpoint-2") and again["steps"] == 4
    resumed = load_file(out / "model.safetensors")
    assert weights.keys() == resumed.keys() and all(torch.allclose(weights[k], resumed[k], atol=1e-6) for k in weights)
    value_again = load_file(ckpts / "checkpoint-4" / "value_model.safetensors")
    assert all(torch.allclose(value[k], value_again[k], atol=1e-6) for k in value)
    rerun = json.loads((ckpts / "checkpoint-4" / "trainer_state.json").read_text())["log_history"]
    a, b = _scalars(history), _scalars(rerun)
    assert len(a) == 14 and [x[:2] for x in b] == [x[:2] for x in a]  # kl only on the generating steps 1 and 3
    assert [x[2] for x in b] == pytest.approx([x[2] for x in a], rel=1e-4, abs=1e-6)


def _scalars(history: list[dict]) -> list[tuple]:
    return [
        (h["step"], k, h[k]) for h in history if "loss" in h for k in ("loss", "value/loss", "kl_coef", "kl") if k in h
    ]


# The random model's babble states no answer, so hard negatives (tests/rl/test_reward_model.py) would give no pair.
NO_HARD = "rl.reward_model.hard_negatives=false"
RM = (
    "sft.max_steps=2",
    "rl.enabled=true",
    "rl.reward_model.train=true",
    "rl.reward_model.max_pairs=20",
    "rl.reward_model.samples=2",
    "rl.reward_model.epochs=3",
    "rl.reward_model.learning_rate=1e-3",
    "rl.max_completion_length=8",
    "rl.rewards=[{name: model}]",
    "rl.batch_size=4",
    "rl.num_generations=2",
    "rl.max_steps=1",
    "rl.logging_steps=1",
    "rl.warmup_ratio=0",
)


def test_grpo_with_a_reward_model_trained_on_verified_pairs_as_its_only_reward(smoke_cfg, tmp_path):
    from transformers import AutoModelForSequenceClassification

    from trainpipe.evaluation.stats import jeffreys_interval

    cfg = smoke_cfg(*RM, "rl.max_steps=2", "rl.save_steps=1", NO_HARD)
    run_stage(cfg, "collect")
    run_stage(cfg, "sft")
    m = run_stage(cfg, "rl")["metrics"]
    rm = m["reward_model"]
    # 20 prompts, 2 samples each: the random model answers every one wrong, so each prompt gives a pair whose
    # chosen answer is the gold solution; round(0.2 · 20) = 4 are held out.
    assert (rm["pairs"], rm["train_pairs"], rm["heldout_pairs"], rm["gold_chosen"]) == ("verified", 16, 4, 20)
    # Gold worked solutions against a random model's babble: all 4 held-out pairs ranked right, 80% interval above 0.5.
    assert rm["heldout_wins"] == 4 and rm["heldout_accuracy"] == 1.0 and rm["level"] == 0.8
    lo, hi = jeffreys_interval(4, 4, 0.8)
    assert rm["heldout_lo"] > 0.5 and rm["train_loss"] < 0.69
    assert (rm["heldout_lo"], rm["heldout_hi"]) == (round(lo, 4), round(hi, 4))
    folder = tmp_path / "models" / "rl" / "reward_model"
    reward = AutoModelForSequenceClassification.from_pretrained(folder)
    assert reward.config.num_labels == 1 and reward.config.architectures == ["LlamaForSequenceClassification"]
    sft = load_file(tmp_path / "models" / "sft" / "model.safetensors")
    learned = load_file(folder / "model.safetensors")
    assert not torch.equal(sft["model.layers.0.mlp.up_proj.weight"], learned["model.layers.0.mlp.up_proj.weight"])
    assert list(m["reward_components"]) == ["model"] and m["reward_components"]["model"] != 0

    # Stopped after checkpoint-1: the rerun resumes the policy and reuses the reward model kept beside it.
    ckpts = tmp_path / "checkpoints" / "rl"
    assert load_file(ckpts / "reward_model" / "model.safetensors").keys() == learned.keys()
    files = {p.name for p in folder.iterdir()}
    shutil.rmtree(tmp_path / "models" / "rl")
    shutil.rmtree(ckpts / "checkpoint-2")
    again = run_stage(cfg, "rl")["metrics"]
    assert again["resumed_from"].endswith("checkpoint-1") and again["reward_model"] == rm
    reused = load_file(folder / "model.safetensors")
    assert {p.name for p in folder.iterdir()} == files
    assert all(torch.equal(learned[k], reused[k]) for k in learned)
    assert "rl: reusing the reward model in" in (tmp_path / "logs" / "rl" / "run.log").read_text()


@pytest.mark.parametrize("algorithm", ["rloo", "ppo"])
def test_rloo_and_ppo_reward_with_a_reward_model_trained_on_preference_records(smoke_cfg, tmp_path, algorithm):
    pairs = write_jsonl(
        tmp_path / "pairs.jsonl",
        [
            {"prompt": f"What is {i} + 2?", "chosen": f"Answer: {i + 2}", "rejected": "I do not know."}
            for i in range(12)
        ],
    )
    sources = f"[{{kind: task, task: arithmetic, n: 40}}, {{kind: file, path: {pairs}, format: preference}}]"
    cfg = smoke_cfg(
        *RM,
        f"data.sources={sources}",
        "sft.enabled=false",
        f"rl.algorithm={algorithm}",
        "rl.reward_model.pairs=preference",
        "rl.reward_model.epochs=1",
    )
    run_stage(cfg, "collect")
    m = run_stage(cfg, "rl")["metrics"]
    rm, collected = m["reward_model"], len(load_pairs(tmp_path))
    assert m["algorithm"] == algorithm and m["steps"] == 1 and list(m["reward_components"]) == ["model"]
    assert (rm["pairs"], rm["gold_chosen"], rm["train_pairs"] + rm["heldout_pairs"]) == ("preference", 0, collected)
    assert (tmp_path / "models" / "rl" / "reward_model" / "model.safetensors").is_file()


def test_cpo_stage_trains_on_preference_pairs_with_trl_default_loss(smoke_cfg, tmp_path):
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
        "rl.algorithm=cpo",
        "rl.max_steps=2",
        "rl.batch_size=2",
        "rl.warmup_ratio=0",
        "rl.learning_rate=1e-3",
    )
    run_stage(cfg, "collect")
    m = run_stage(cfg, "rl")["metrics"]
    assert m["algorithm"] == "cpo" and m["loss_type"] == "sigmoid" and m["steps"] == 2
    assert m["pairs"] == len(load_pairs(tmp_path)) and m["model_kind"] == "merged"
    base = load_file(tmp_path / "models" / "base" / "model.safetensors")
    rl = load_file(tmp_path / "models" / "rl" / "model.safetensors")
    assert any(not torch.equal(base[k], rl[k]) for k in base)


@pytest.mark.parametrize("judge", ["task", "model"])
def test_online_dpo_judged_by_the_verifier_or_the_learned_reward_model(smoke_cfg, tmp_path, judge):
    extra = (
        ("rl.reward_model.train=true", "rl.reward_model.max_pairs=8", "rl.reward_model.samples=2", NO_HARD)
        if (judge == "model")
        else ()
    )
    cfg = smoke_cfg(
        "sft.enabled=false",
        "rl.enabled=true",
        "rl.algorithm=online_dpo",
        "rl.max_steps=2",
        "rl.batch_size=2",
        "rl.max_completion_length=6",
        "rl.logging_steps=1",
        "rl.warmup_ratio=0",
        "rl.learning_rate=1e-3",
        f"rl.rewards=[{{name: {judge}}}]",
        *extra,
    )
    run_stage(cfg, "collect")
    m = run_stage(cfg, "rl")["metrics"]
    assert m["algorithm"] == "online_dpo" and m["loss_type"] == "sigmoid" and m["steps"] == 2
    assert m["prompts"] > 0 and ("reward_model" in m) == (judge == "model")
    history = json.loads((tmp_path / "checkpoints" / "rl" / "checkpoint-2" / "trainer_state.json").read_text())
    logged = [h for h in history["log_history"] if "objective/scores" in h]
    assert len(logged) == 2
    if judge == "task":  # the verifier scores every completion of a random model 0: no pair is told apart
        assert all(h["objective/scores"] == 0 and h["objective/scores_margin"] == 0 for h in logged)
    else:  # the reward model's scalar separates the two samples of each prompt: chosen above rejected
        assert all(h["objective/scores_margin"] > 0 and h["objective/scores"] != 0 for h in logged)
