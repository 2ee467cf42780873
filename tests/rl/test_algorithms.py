"""Each algorithm trains the tiny random model for two steps on hand-built collect data and moves its weights."""

from pathlib import Path

import pytest
import torch

from trainpipe.artifacts import Layout
from trainpipe.config import LoraConfig, ModelConfig, RewardConfig, RlConfig
from trainpipe.errors import UserError
from trainpipe.rl import algorithms, data
from trainpipe.stages import StageIO
from trainpipe.training import driver


def u(text):
    return [{"role": "user", "content": text}]


def a(text):
    return [{"role": "assistant", "content": text}]


PAIRS = [
    {"prompt": u(f"What is {i} + 1?"), "chosen": a(f"Answer: {i + 1}"), "rejected": a(f"Answer: {i + 7}")}
    for i in range(4)
]
KTO = [
    {"prompt": u(f"What is {i} + 1?"), "completion": a(f"Answer: {i + 1 + i % 2}"), "label": i % 2 == 0}
    for i in range(4)
]
# Scored conversations give the external reward a reference to compare against, so rewards vary across a group
# even for a random model's completions (a task score would be 0 for every one of them).
SCORED = [
    {
        "messages": u(f"Name a colour, {n}.") + a("The sky is blue."),
        "weight": 1.0,
        "reward": r,
        "step_rewards": [],
        "task_id": None,
        "meta": "{}",
    }
    for n, r in (("please", 9.0), ("now", 2.0))
]
PROMPTS = [{"id": "p1", "source": "t", "prompt": "What is 2 + 3?", "task": "arithmetic", "answer": "5"}]


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    yield


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from trainpipe.models.load import build_tiny_random, embedded_tokenizer

    tok = embedded_tokenizer()
    folder = tmp_path_factory.mktemp("tiny")
    build_tiny_random(tok, 0).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def write_collect(root: Path, **uses) -> Path:
    """A collect output folder holding `rows` as each use's train split (as the collect stage stores it)."""
    from trainpipe.data.store import save_splits

    for use, rows in uses.items():
        save_splits(root / "collect" / use, use, {"train": rows, "eval": rows[:1]})
    return root / "collect"


def make_io(root: Path, model_in: Path) -> StageIO:
    layout = Layout(root)
    return StageIO("rl", layout, root / "out", layout.logs("rl"), layout.checkpoints("rl"), {}, {}, model_in, "fp-test")


def small_rl(**overrides) -> RlConfig:
    # No warmup, so the very first step already moves the weights.
    base = dict(
        max_steps=2,
        batch_size=2,
        num_generations=2,
        max_completion_length=6,
        save_steps=1,
        logging_steps=1,
        learning_rate=1e-3,
        warmup_ratio=0.0,
        precision="fp32",
        lora=LoraConfig(r=4, alpha=8),
    )
    return RlConfig(**{**base, **overrides})


def train(rl: RlConfig, tiny_dir: Path, collect: Path, root: Path):
    """Train like the stage does; returns (metrics, report, max |Δw| after merging LoRA, trainer)."""
    from trainpipe.models.load import load_model, load_tokenizer

    tokenizer = load_tokenizer(tiny_dir, ModelConfig())
    model = load_model(tiny_dir, ModelConfig(), dtype=torch.float32)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    io = make_io(root, tiny_dir)
    trainer, report = algorithms.build_trainer(rl, model, tokenizer, collect, io)
    metrics = driver.train(trainer, rl, io)
    tuned = trainer.model.merge_and_unload() if hasattr(trainer.model, "merge_and_unload") else trainer.model
    after = tuned.state_dict()
    delta = max((after[k] - before[k]).abs().max().item() for k in before if k in after)
    return metrics, report, delta, trainer


@pytest.mark.parametrize(
    "algorithm, loss, trainer_name",
    [
        ("dpo", None, "DPOTrainer"),
        ("dpo", "simpo", "CPOTrainer"),
        ("orpo", None, "ORPOTrainer"),
        ("cpo", None, "CPOTrainer"),
    ],
)
def test_preference_algorithms_train_on_pairs(tmp_path, tiny_dir, algorithm, loss, trainer_name):
    collect = write_collect(tmp_path, preference=PAIRS)
    rl = small_rl(algorithm=algorithm, preference_loss=loss, max_steps=1)
    metrics, report, delta, trainer = train(rl, tiny_dir, collect, tmp_path)
    assert type(trainer).__name__ == trainer_name
    assert metrics["steps"] == 1 and report["pairs"] == 4 and delta > 0
    first = next(h for h in trainer.state.log_history if "loss" in h)
    if algorithm == "dpo" and loss is None:
        # Policy == reference at step 0, so the sigmoid DPO loss starts at exactly log 2; with LoRA no second
        # model is loaded: the reference is the input model itself with the adapter disabled.
        assert first["loss"] == pytest.approx(0.6931, abs=1e-3) and trainer.ref_model is None
    if loss == "simpo":
        assert trainer.loss_type == "simpo" and trainer.cpo_alpha == 0.0 and trainer.simpo_gamma == 0.5
    if algorithm == "cpo":  # TRL's default CPO loss: sigmoid preference term plus the chosen answer's NLL
        assert trainer.loss_type == "sigmoid" and trainer.cpo_alpha == 1.0 and report["loss_type"] == "sigmoid"


def test_kto_trains_on_labelled_completions(tmp_path, tiny_dir):
    collect = write_collect(tmp_path, kto=KTO)
    metrics, report, delta, _ = train(small_rl(algorithm="kto", max_steps=1), tiny_dir, collect, tmp_path)
    assert report == {"examples": 4, "desirable": 2, "loss_type": "kto"}
    assert metrics["steps"] == 1 and delta > 0


def test_kto_falls_back_to_unpaired_preference_pairs(tmp_path):
    collect = write_collect(tmp_path, preference=PAIRS)
    ds = data.kto_dataset(collect)
    assert len(ds) == 8 and sorted(ds["label"]) == [False] * 4 + [True] * 4
    assert set(ds.column_names) == {"prompt", "completion", "label"}


def test_rloo_trains_with_external_reward(tmp_path, tiny_dir):
    collect = write_collect(tmp_path, prompts=PROMPTS, sft=SCORED)
    rl = small_rl(
        algorithm="rloo", rewards=[RewardConfig("task"), RewardConfig("external", low=0, high=10)], blend_alpha=0.5
    )
    metrics, report, delta, trainer = train(rl, tiny_dir, collect, tmp_path)
    assert report == {"prompts": 3, "prompts_too_long": 0, "external_prompts": 2}
    assert metrics["steps"] == 2 and delta > 0
    logged = [h for h in trainer.state.log_history if "rewards/external/mean" in h]
    assert len(logged) == 2 and "rewards/task/mean" in logged[0]


def test_prompt_dataset_filters_tasks_and_drops_long_prompts(tmp_path, tokenizer):
    prompts = PROMPTS + [
        {"id": "p2", "source": "t", "prompt": "x=1 or y", "task": "sat", "answer": "x1=True"},
        {"id": "p3", "source": "t", "prompt": "long " * 300, "task": "arithmetic", "answer": "1"},
    ]
    collect = write_collect(tmp_path, prompts=prompts)
    ds, report = data.prompt_dataset(collect, RlConfig(tasks=["arithmetic"], max_prompt_length=64), tokenizer)
    assert report == {"prompts": 1, "prompts_too_long": 1, "external_prompts": 0}
    assert ds[0]["prompt"] == u("What is 2 + 3?") and ds[0]["answer"] == "5"
    with pytest.raises(UserError, match="only for"):
        data.prompt_dataset(collect, RlConfig(tasks=["ded"]), tokenizer)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only refusal")
def test_vllm_without_cuda_is_a_clear_user_error():
    with pytest.raises(UserError, match="needs a CUDA GPU"):
        algorithms.check(RlConfig(use_vllm=True))


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"loss_type": "ppo_clip"}, "GRPO offers grpo, dapo"),
        ({"algorithm": "dpo", "preference_loss": "kto"}, "dpo offers sigmoid"),
        ({"algorithm": "orpo", "preference_loss": "ipo"}, "orpo has no loss variants"),
        ({"algorithm": "cpo", "preference_loss": "simpo"}, "cpo has no loss variants"),
        ({"algorithm": "online_dpo", "preference_loss": "hinge"}, "online_dpo offers sigmoid, ipo"),
        ({"algorithm": "online_dpo", "use_vllm": True}, "online_dpo generates with transformers"),
    ],
)
def test_unknown_loss_variants_fail_before_training(overrides, message):
    with pytest.raises(UserError, match=message):
        algorithms.check(RlConfig(**overrides))


def test_group_size_must_divide_the_generation_batch():
    with pytest.raises(UserError, match="multiple of rl.num_generations"):
        algorithms.check(RlConfig(batch_size=6, num_generations=4))


def test_missing_preference_data_names_the_fix(tmp_path):
    with pytest.raises(UserError, match="format: preference"):
        data.preference_dataset(write_collect(tmp_path, kto=KTO))
