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
def test_shared_prefill_decodes_what_trl_generation_decodes(tmp_path, tiny_dir, algorithm, base, extra):  # noqa: F811
    # Greedy (the same logits give the same tokens): our decode loop, rows leaving the batch as they end, against
    # TRL's own generate path on every copy of every prompt.
    trainer = build(tmp_path, tiny_dir, algorithm)
    trainer.generation_config.do_sample = False
    rows = prompts(trainer.processing_class)
    assert trainer._shared_prefill_applies(rows, None, {}) and generation.decodable(trainer.generation_config)
    ours = trainer._generate_single_turn(rows, None, {}, *extra)
    theirs = base._generate_single_turn(trainer, rows, None, {}, *extra)
    assert ours == theirs
    # Ours decoded on the merged copy in the trainer's precision (fp32 too: no adapter matmuls per token).
    assert trainer._decode_copy.dtype == (torch.bfloat16 if trainer.args.bf16 else torch.float32)


def test_sampled_token_frequencies_follow_the_warped_distribution():
    from transformers import GenerationConfig

    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]])).repeat(40_000, 1)
    torch.manual_seed(0)
    plain = generation.sample_tokens(logits, GenerationConfig(do_sample=True, temperature=1.0, top_k=0))
    assert torch.allclose(torch.bincount(plain, minlength=4) / 40_000, torch.tensor([0.5, 0.3, 0.15, 0.05]), atol=0.01)
    # temperature 2 flattens p to p^(1/2) renormalised; top-k 2 keeps the two largest; top-p 0.7 keeps 0.5 + 0.3
    hot = generation.sample_tokens(logits, GenerationConfig(do_sample=True, temperature=2.0, top_k=0))
    want = torch.tensor([0.5, 0.3, 0.15, 0.05]).sqrt()
    assert torch.allclose(torch.bincount(hot, minlength=4) / 40_000, want / want.sum(), atol=0.01)
    for cfg in (dict(top_k=2), dict(top_k=0, top_p=0.7)):
        kept = generation.sample_tokens(logits, GenerationConfig(do_sample=True, temperature=1.0, **cfg))
        assert torch.allclose(torch.bincount(kept, minlength=4) / 40_000, torch.tensor([0.625, 0.375, 0, 0]), atol=0.01)


def test_finished_rows_leave_the_decode_batch(tmp_path, tiny_dir, monkeypatch):  # noqa: F811
    """A row whose sampled token is EOS stops there and the next forward passes run without it."""
    from transformers import GenerationConfig

    trainer = build(tmp_path, tiny_dir, "grpo")
    model, pad_id = trainer.model, trainer.processing_class.pad_token_id
    rows = prompts(trainer.processing_class)
    script = iter([[5, 9, 5, 5, 5, 5], [6, 6, 9, 6, 6], [7, 7, 7, 9]])  # token per active row, 9 = EOS
    monkeypatch.setattr(generation, "sample_tokens", lambda logits, config: torch.tensor(next(script)))
    widths = []
    hook = model.get_base_model().model.embed_tokens.register_forward_hook(lambda m, a, o: widths.append(a[0].size(0)))
    with torch.no_grad():
        ids, mask, cache = generation.shared_prefill(model, rows, pad_id, "cpu")
        out = generation.decode(model, ids, mask, cache, GenerationConfig(max_new_tokens=3, do_sample=True), [9])
    hook.remove()
    assert widths[1:] == [6, 5, 4]  # after the prefill: all rows, then one fewer per EOS
    assert out == [[5, 6, 7], [9], [5, 6, 7], [5, 9], [5, 6, 7], [5, 6, 9]]


def test_other_sampling_settings_go_to_generate():
    from transformers import GenerationConfig

    assert generation.decodable(GenerationConfig(max_new_tokens=4, do_sample=True, temperature=0.7, top_p=0.9))
    extras = (
        dict(repetition_penalty=1.1),
        dict(min_p=0.1),
        dict(num_beams=2),
        dict(suppress_tokens=[3]),
        dict(forced_eos_token_id=2),
        dict(stop_strings=["\n"]),
    )
    for extra in extras:
        assert not generation.decodable(GenerationConfig(max_new_tokens=4, do_sample=True, **extra))


def test_bf16_decode_copy_follows_the_policy(tmp_path, tiny_dir):  # noqa: F811
    """The decoding copy carries the LoRA update merged in bf16, also over a base lowered to bf16, and follows the
    adapter after it changes."""
    from trainpipe.models import hardware

    trainer = build(tmp_path, tiny_dir, "grpo")
    policy = trainer.model
    ids = torch.tensor([prompts(trainer.processing_class)[1]])

    def policy_logits():
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            return policy(input_ids=ids).logits.float()

    copy = generation.DecodeCopy(policy, torch.bfloat16)
    q_proj = policy.get_base_model().model.layers[0].self_attn.q_proj.base_layer
    original = q_proj.weight.detach().clone()
    assert hardware.lower_frozen_linears(policy) > 0
    assert q_proj.weight.dtype == torch.bfloat16
    for step in range(2):
        with torch.no_grad():
            for name, p in policy.named_parameters():
                if "lora_B" in name:
                    p.normal_(0, 0.05, generator=torch.Generator().manual_seed(step))
        model = copy.refresh(policy)
        assert all(p.dtype == torch.bfloat16 for p in model.parameters())
        with torch.no_grad():
            mine = model(input_ids=ids).logits.float()
        want = policy_logits()
        assert (mine.argmax(-1) == want.argmax(-1)).float().mean() > 0.9
        assert (mine - want).abs().mean() < 0.05 * want.abs().mean()
        if step == 0:
            first = mine
    assert not torch.allclose(first, mine)  # it followed the adapter's change
    assert hardware.restore_frozen_linears(policy) > 0
    assert q_proj.weight.dtype == torch.float32 and torch.equal(q_proj.weight, original)  # merges use the originals


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
