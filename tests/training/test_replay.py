"""Self-generated replay: the built-in pool, prompt drawing, the template's user header, example encoding, and the
SFT stage mixing the starting model's own answers into training (cached, so a rerun does not generate again)."""

import json

import pytest

from trainpipe.errors import UserError
from trainpipe.evaluation.retention import candidate_items
from trainpipe.pipeline import run_stage
from trainpipe.training import replay


def _words(text: str) -> set[tuple[str, ...]]:
    tokens = text.lower().replace("?", " ").replace(".", " ").split()
    return {tuple(tokens[i : i + 5]) for i in range(len(tokens) - 4)}


def test_builtin_pool_is_large_distinct_and_disjoint_from_retention():
    pool = replay.builtin_prompts()
    assert len(pool) == len(set(pool)) == 1200
    retention = set().union(*(_words(it["prompt"]) for it in candidate_items()))
    shared = [p for p in pool if _words(p) & retention]
    assert shared == []


def test_pick_prompts_is_seeded_and_refuses_more_than_the_pool():
    pool = [f"p{i}" for i in range(10)]
    assert replay.pick_prompts(pool, 4, 0) == replay.pick_prompts(pool, 4, 0)
    assert replay.pick_prompts(pool, 4, 0) != replay.pick_prompts(pool, 4, 1)
    assert len(set(replay.pick_prompts(pool, 10, 0))) == 10
    with pytest.raises(UserError, match="holds 10"):
        replay.pick_prompts(pool, 11, 0)


def test_user_header_is_the_template_text_before_the_user_content(tokenizer):
    assert replay.user_header(tokenizer) == (
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, "
        "trained by Hugging Face<|im_end|>\n<|im_start|>user\n"
    )


def test_replay_examples_follow_the_task_examples_columns(tokenizer):
    convs = [
        {"messages": [{"role": "user", "content": f"Say {w}."}, {"role": "assistant", "content": w}]}
        for w in ("one", "two", "three", "four")
    ]
    plain = replay.replay_examples(convs, tokenizer, 512, [{"input_ids": [1], "labels": [1]}])
    assert [set(e) for e in plain] == [{"input_ids", "labels"}] * 4
    answer = tokenizer.decode([t for t in plain[0]["labels"] if t != -100])
    assert answer == "one<|im_end|>"
    rich = replay.replay_examples(
        convs,
        tokenizer,
        512,
        [{"input_ids": [1], "labels": [1], "token_weights": [1.0], "difficulty": d} for d in (1, 5, 9, 13)],
    )
    assert [e["difficulty"] for e in rich] == [1, 5, 9, 13]  # spread over the curriculum
    assert all(e["token_weights"] == [1.0] * len(e["input_ids"]) for e in rich)
    assert replay.replay_examples(convs, tokenizer, 5, []) == []  # longer than max_length: skipped
    cut = replay.replay_examples([{**convs[0], "complete": False}], tokenizer, 512, [])
    assert tokenizer.decode([t for t in cut[0]["labels"] if t != -100]) == "one"  # no end of turn trained


@pytest.fixture
def worded_answers(monkeypatch):
    """The tiny random model answers greedily with blank lines, which replay drops; the stage tests give it
    words instead, with the model still loaded and the prompts still drawn by the stage."""
    seen = []

    def fake(model, tokenizer, prompts, max_new_tokens, batch_size=16):
        seen.extend(prompts)
        return [
            {
                "messages": [{"role": "user", "content": p}, {"role": "assistant", "content": f"Answer {i}."}],
                "complete": i % 2 == 0,
            }
            for i, p in enumerate(prompts)
        ]

    monkeypatch.setattr(replay, "answer", fake)
    return seen


def test_blank_answers_are_dropped(tokenizer):
    from trainpipe.training.generation import Completion

    class Model:  # generate_completions' contract, answered without a network
        device = "cpu"

    import trainpipe.training.generation as generation

    done = [[Completion("\n\n", 2)], [Completion(" Hi there. ", 3)], [Completion("Long", 8)]]
    original = generation.generate_completions
    generation.generate_completions = lambda *a, **k: done
    try:
        convs = replay.answer(Model(), tokenizer, ["a", "b", "c"], 8)
    finally:
        generation.generate_completions = original
    assert [(c["messages"][1]["content"], c["complete"]) for c in convs] == [("Hi there.", True), ("Long", False)]


def test_sft_mixes_in_replay_answers_from_the_starting_model(smoke_cfg, tmp_path, worded_answers):
    cfg = smoke_cfg("sft.max_steps=2", "sft.replay.ratio=0.25", "sft.replay.max_new_tokens=8")
    run_stage(cfg, "collect")
    m = run_stage(cfg, "sft")["metrics"]
    [cache] = (tmp_path / "data_cache" / "replay").glob("replay-*.jsonl")
    convs = [json.loads(line) for line in cache.read_text().splitlines()]
    n_records = m["examples"]
    assert m["replay_examples"] == len(convs) == round(0.25 * n_records)
    assert all(c["messages"][0]["content"] in replay.builtin_prompts() for c in convs)
    stamp = cache.stat().st_mtime_ns
    run_stage(cfg, "sft", force=True)
    assert cache.stat().st_mtime_ns == stamp  # the rerun read the cache


def test_negative_replay_ratio_is_refused(smoke_cfg):
    cfg = smoke_cfg("sft.max_steps=1", "sft.replay.ratio=-1")
    run_stage(cfg, "collect")
    with pytest.raises(UserError, match="sft.replay.ratio: expected a number >= 0"):
        run_stage(cfg, "sft")


def test_replay_kl_term_trains_and_is_logged(smoke_cfg, tmp_path, worded_answers):
    cfg = smoke_cfg(
        "sft.max_steps=2",
        "sft.logging_steps=1",
        "sft.replay.ratio=0.5",
        "sft.replay.max_new_tokens=8",
        "sft.replay.kl_weight=1.0",
        "sft.batch_size=16",
    )
    run_stage(cfg, "collect")
    m = run_stage(cfg, "sft")["metrics"]
    assert m["replay_examples"] > 0 and m["steps"] == 2
    events = (tmp_path / "logs" / "sft" / "run.log").read_text()
    assert "replay_kl" in events


def test_replay_kl_needs_lora(smoke_cfg, worded_answers):
    cfg = smoke_cfg(
        "sft.max_steps=1",
        "sft.replay.ratio=0.5",
        "sft.replay.max_new_tokens=8",
        "sft.replay.kl_weight=1.0",
        "sft.lora.enabled=false",
    )
    run_stage(cfg, "collect")
    with pytest.raises(UserError, match="sft.replay.kl_weight > 0 needs sft.lora.enabled=true"):
        run_stage(cfg, "sft")


def test_replay_ce_off_needs_the_kl_term(smoke_cfg, worded_answers):
    cfg = smoke_cfg("sft.max_steps=1", "sft.replay.ratio=0.5", "sft.replay.ce=false")
    run_stage(cfg, "collect")
    with pytest.raises(UserError, match="sft.replay.ce=false trains replay answers by the KL term alone"):
        run_stage(cfg, "sft")
    assert worded_answers == []  # refused before any generation


def _encoded(tokenizer, question, answer):
    from trainpipe.models.chat import encode_chat

    enc = encode_chat(tokenizer, [{"role": "user", "content": question}, {"role": "assistant", "content": answer}])
    return {"input_ids": list(enc.input_ids), "labels": list(enc.labels)}


def test_kl_only_replay_rows_are_out_of_the_ce_and_in_the_kl(tokenizer, tmp_path):
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTConfig as TrlSFTConfig

    from trainpipe.models.chat import IGNORE
    from trainpipe.models.load import build_tiny_random
    from trainpipe.training.sft_trainer import TrainpipeSFTTrainer, WeightedCollator

    task = _encoded(tokenizer, "What is 2 + 2?", "tens: 0 + 0 = 0\nAnswer: 4")
    rep = _encoded(tokenizer, "Write one sentence about owls.", "Owls hunt at night and see well in the dark.")
    args = TrlSFTConfig(
        output_dir=str(tmp_path),
        use_cpu=True,
        report_to=[],
        max_length=None,
        bf16=False,
        remove_unused_columns=False,
        per_device_train_batch_size=2,
        max_steps=1,
        save_strategy="no",
    )
    trainer = TrainpipeSFTTrainer(
        model=build_tiny_random(tokenizer, seed=0),
        args=args,
        train_dataset=Dataset.from_list([task, rep]),
        processing_class=tokenizer,
        data_collator=WeightedCollator(pad_token_id=0),
        replay_kl=1.0,
        peft_config=LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM"),
    )
    collate, model = trainer.data_collator, trainer.model.train()

    def loss(*examples):
        return trainer.compute_loss(model, collate([dict(e) for e in examples])).item()

    batch = collate([{**task, "replay": 0}, {**rep, "replay": 2}])
    assert (batch["labels"][1] == IGNORE).all()  # no CE on the KL-only row...
    assert batch["replay_labels"][1].tolist()[: len(rep["labels"])] == rep["labels"]  # ...but its KL positions
    assert torch.equal(batch["labels"][0], batch["replay_labels"][0])
    # A fresh adapter leaves the model equal to the start model: the KL is 0, so the task row's CE is all that is left.
    assert loss({**task, "replay": 0}, {**rep, "replay": 2}) == pytest.approx(loss({**task, "replay": 0}), rel=1e-5)
    with_ce = loss({**task, "replay": 0}, {**rep, "replay": 1})
    assert abs(with_ce - loss({**task, "replay": 0})) > 1e-3  # flag 1 also trains the replay CE
    # After a step away from the start model, the KL-only row adds a positive KL.
    for p in model.parameters():
        if p.requires_grad:
            p.data.add_(0.05 * torch.randn_like(p))
    assert loss({**task, "replay": 0}, {**rep, "replay": 2}) > loss({**task, "replay": 0}) + 1e-6
