"""Shared-prefill group generation (rl.generation): what TRL's own path generates, greedy; independent samples per
row when sampling; TRL's path wherever it does not apply."""

import pytest
import torch
from test_algorithms import tiny_dir  # noqa: F401 (fixture)
from test_logprobs import build
from trl import GRPOTrainer, RLOOTrainer

from trainpipe.rl import generation


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    yield


def prompts(tokenizer):
    texts = ["What is 2 + 3?", "Name a colour that is often used for the sky at noon, please."]
    ids = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": t}], add_generation_prompt=True, tokenize=True, return_dict=True
        )["input_ids"]
        for t in texts
    ]
    return [ids[0], ids[1], ids[0], ids[1], ids[1], ids[0]]  # groups need not be consecutive


def test_distinct_prompts_and_row_index():
    assert generation.distinct([[1, 2], [3], [1, 2], [3], [4]]) == ([[1, 2], [3], [4]], [0, 1, 0, 1, 2])


@pytest.mark.parametrize("algorithm, base, extra", [("grpo", GRPOTrainer, (6,)), ("rloo", RLOOTrainer, ())])
def test_shared_prefill_samples_what_trl_generation_samples(tmp_path, tiny_dir, algorithm, base, extra):  # noqa: F811
    # Same logits and the same random draws (sampling consumes the generator per step for the whole batch, and
    # the shared prefill draws nothing), so the same seed gives the same sampled completions.
    trainer = build(tmp_path, tiny_dir, algorithm)
    rows = prompts(trainer.processing_class)
    assert trainer._shared_prefill_applies(rows, None, {}) and trainer.generation_config.do_sample
    torch.manual_seed(3)
    ours = trainer._generate_single_turn(rows, None, {}, *extra)
    torch.manual_seed(3)
    theirs = base._generate_single_turn(trainer, rows, None, {}, *extra)
    assert ours == theirs
    ours = ours[0] if algorithm == "grpo" else ours
    assert len({t for c in ours for t in c}) > 6  # varied tokens, not one repeated


def test_continuing_from_the_shared_cache_gives_the_full_prefill_logits(tmp_path, tiny_dir):  # noqa: F811
    from transformers import GenerationConfig

    trainer = build(tmp_path, tiny_dir, "grpo")
    model, pad_id = trainer.model, trainer.processing_class.pad_token_id
    rows = prompts(trainer.processing_class)
    config = GenerationConfig(
        do_sample=False,
        max_new_tokens=4,
        min_new_tokens=4,
        output_logits=True,
        return_dict_in_generate=True,
        pad_token_id=pad_id,
    )
    with torch.no_grad():
        ids, mask, cache = generation.shared_prefill(model, rows, pad_id, "cpu")
        ours = model.generate(input_ids=ids, attention_mask=mask, past_key_values=cache, generation_config=config)
        full = model.generate(input_ids=ids, attention_mask=mask, generation_config=config)
        # The check can tell: rows 0 and 1 hold different prompts, so their caches swapped give other logits.
        _, _, swapped = generation.shared_prefill(model, rows, pad_id, "cpu")
        swapped.reorder_cache(torch.tensor([1, 0, 2, 3, 4, 5]))
        wrong = model.generate(input_ids=ids, attention_mask=mask, past_key_values=swapped, generation_config=config)
    assert torch.equal(ours.sequences, full.sequences)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(ours.logits, full.logits))
    assert not torch.allclose(wrong.logits[0][:2], full.logits[0][:2], atol=1e-4)


def test_sampled_rows_of_one_prompt_are_independent(tmp_path, tiny_dir):  # noqa: F811
    trainer = build(tmp_path, tiny_dir, "grpo")
    rows = prompts(trainer.processing_class)
    torch.manual_seed(0)
    ours, _ = trainer._generate_single_turn(rows, None, {}, 6)
    # A random model over a 49k vocabulary: copies of one prompt must not share their samples.
    assert len({tuple(c) for c in (ours[0], ours[2], ours[5])}) == 3
    assert len(ours) == 6 and all(1 <= len(c) <= 6 for c in ours)


def test_trl_path_where_sharing_does_not_apply(tmp_path, tiny_dir, monkeypatch):  # noqa: F811
    trainer = build(tmp_path, tiny_dir, "grpo")
    rows = prompts(trainer.processing_class)
    assert not trainer._shared_prefill_applies(rows[:2], None, {})  # nothing repeats
    assert not trainer._shared_prefill_applies(rows, [None, "img"] * 3, {})
    assert not trainer._shared_prefill_applies([[5], [5]], None, {})
    trainer.model.train()
    monkeypatch.setattr(trainer.model.config, "attention_dropout", 0.1)
    assert not trainer._shared_prefill_applies(rows, None, {})
    calls = []
    monkeypatch.setattr(generation, "generate_shared", lambda *a, **k: calls.append(a))
    completions, _ = trainer._generate_single_turn(rows, None, {}, 6)
    assert len(completions) == 6 and calls == []
