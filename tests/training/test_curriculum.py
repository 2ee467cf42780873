"""Curriculum: difficulty keys per example, the growing-pool sampler, and exact resume through the HF Trainer."""

from __future__ import annotations

import json
import math

import pytest
import torch

from trainpipe.config import SftConfig
from trainpipe.errors import DataError
from trainpipe.training.curriculum import CurriculumSampler, difficulty_key
from trainpipe.training.sft_data import build_examples


def rec(steps: int, reward=None, meta=None, **extra):
    msgs = [{"role": "user", "content": f"task with {steps} steps, reward {reward}"}]
    for j in range(steps):
        msgs += [{"role": "assistant", "content": f"Action: a{j}"}, {"role": "user", "content": f"Observation: o{j}"}]
    return {"messages": msgs[:-1], "reward": reward, "meta": json.dumps(meta or {}), **extra}


def curriculum_cfg(field=None) -> SftConfig:
    sft = SftConfig()
    sft.agent.curriculum, sft.agent.curriculum_field = True, field
    return sft


def test_default_difficulty_is_steps_then_lower_reward_harder(tokenizer):
    recs = [rec(3, 1.0), rec(1, 0.5), rec(3, -2.0), rec(2)]
    examples, _ = build_examples(recs, tokenizer, curriculum_cfg(), 512)
    assert [e["difficulty"] for e in examples] == [[3.0, -1.0], [1.0, -0.5], [3.0, 2.0], [2.0, math.inf]]
    sampler = CurriculumSampler([e["difficulty"] for e in examples], 1.0, 0.0)
    assert sampler.order == [1, 3, 0, 2]


def test_difficulty_field_from_record_or_meta(tokenizer):
    recs = [rec(1, meta={"level": 7}), rec(1, weight=2.0, meta={"level": 1}), rec(2, meta={"level": 0.5})]
    examples, _ = build_examples(recs, tokenizer, curriculum_cfg("level"), 512)
    assert [e["difficulty"] for e in examples] == [[7.0], [1.0], [0.5]]
    assert difficulty_key({"weight": 2.0}, {"weight": 9}, 1, "weight") == [2.0]  # the record's own column wins
    with pytest.raises(
        DataError,
        match=r"field 'level': expected a finite number in 'level' \(record or meta\); "
        r"got 'hard'",
    ):
        build_examples([rec(1, meta={"level": "hard"})], tokenizer, curriculum_cfg("level"), 512)
    _, report = build_examples([rec(1), rec(1, meta={"level": 2})], tokenizer, curriculum_cfg("level"), 512, "skip")
    assert (report["examples"], report["skipped"]) == (1, 1)


def test_pool_grows_linearly_from_start_ratio_to_all():
    s = CurriculumSampler(list(range(10)), start_ratio=0.3, warmup_epochs=2.0)
    assert [s.pool_size(0, p) for p in (0, 1, 5, 9)] == [3, 4, 5, 7]  # ceil(10·(0.3 + 0.7·p/20))
    assert [s.pool_size(e, 0) for e in (1, 2, 5)] == [7, 10, 10]
    assert CurriculumSampler(list(range(10)), 0.3, 0.0).pool_size(0, 0) == 10


def test_every_sample_comes_from_the_current_pool_and_late_epochs_are_permutations():
    difficulty = [9, 3, 7, 1, 5, 0, 8, 2, 6, 4]  # index i has rank difficulty[i]
    s = CurriculumSampler(difficulty, start_ratio=0.2, warmup_epochs=1.0, seed=5)
    rank = {i: d for i, d in enumerate(difficulty)}
    s.set_epoch(0)
    first = list(s)
    assert len(first) == len(s) == 10
    assert all(rank[i] < s.pool_size(0, p) for p, i in enumerate(first))
    assert [s.pool_size(0, p) for p in range(10)] == [2, 3, 4, 5, 6, 6, 7, 8, 9, 10]
    assert first[0] in (5, 3)  # one of the two easiest opens the epoch
    for epoch in (1, 2):
        s.set_epoch(epoch)
        assert sorted(s) == list(range(10))


def test_order_is_a_pure_function_of_seed_and_epoch():
    def epoch_order(seed, epoch):
        s = CurriculumSampler(list(range(50)), 0.3, 1.5, seed=seed)
        s.set_epoch(epoch)
        return list(s)

    assert epoch_order(0, 1) == epoch_order(0, 1)
    assert epoch_order(0, 0) != epoch_order(0, 1) != epoch_order(1, 1)


def _recording_trainer(tokenizer, examples, out, steps):
    from datasets import Dataset
    from trl import SFTConfig

    from trainpipe.models.load import build_tiny_random
    from trainpipe.training.sft_trainer import TrainpipeSFTTrainer, WeightedCollator

    class Recording(TrainpipeSFTTrainer):
        seen: list = []

        def compute_loss(self, model, inputs, *args, **kwargs):
            rows = [r[m.bool()].tolist() for r, m in zip(inputs["input_ids"], inputs["attention_mask"])]
            self.seen.append([index[tuple(r)] for r in rows])
            return super().compute_loss(model, inputs, *args, **kwargs)

    index = {tuple(e["input_ids"]): i for i, e in enumerate(examples)}
    args = SFTConfig(
        output_dir=str(out),
        max_steps=steps,
        per_device_train_batch_size=2,
        learning_rate=1e-3,
        save_strategy="steps",
        save_steps=3,
        report_to=[],
        use_cpu=True,
        max_length=None,
        remove_unused_columns=False,
        seed=3,
        disable_tqdm=True,
        logging_steps=100,
    )
    trainer = Recording(
        model=build_tiny_random(tokenizer, 0),
        args=args,
        train_dataset=Dataset.from_list(examples),
        processing_class=tokenizer,
        data_collator=WeightedCollator(pad_token_id=tokenizer.pad_token_id),
        curriculum={"start_ratio": 0.25, "warmup_epochs": 1.5},
    )
    trainer.seen = []
    return trainer


def test_trainer_follows_the_sampler_and_resumes_exactly(tokenizer, tmp_path, one_thread):
    recs = [rec(1 + i % 4, reward=float(i)) for i in range(8)]
    examples, _ = build_examples(recs, tokenizer, curriculum_cfg(), 512)
    full = _recording_trainer(tokenizer, examples, tmp_path, steps=8)  # 4 steps per epoch, 2 epochs
    sampler = full._get_train_sampler()
    assert isinstance(sampler, CurriculumSampler) and sampler.seed == 3
    expected = []
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        order = list(sampler)
        expected += [order[i : i + 2] for i in range(0, 8, 2)]
    full.train()
    assert full.seen == expected
    # Resume mid-epoch 1 from checkpoint-6: the last two batches and the final weights are the same.
    resumed = _recording_trainer(tokenizer, examples, tmp_path, steps=8)
    resumed.train(resume_from_checkpoint=str(tmp_path / "checkpoint-6"))
    assert resumed.seen == expected[6:]
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    full.curriculum = None
    assert not isinstance(full._get_train_sampler(), CurriculumSampler)
