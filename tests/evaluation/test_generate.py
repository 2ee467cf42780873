"""Batched generation and perplexity on the tiny random model: padding must not change any result."""

import pytest
import torch

from trainpipe.evaluation.perplexity import document_nll
from trainpipe.training.generation import _lengths, generate_completions

PROMPTS = ["Hi", "What is 12 + 30? Give the final answer.", "Name a colour.", "Say something long about the sea."]


@pytest.fixture(scope="module")
def tiny(tokenizer):
    from trainpipe.models.load import build_tiny_random

    return build_tiny_random(tokenizer, seed=0)


def test_lengths_stop_at_the_first_end_token():
    new = torch.tensor([[5, 2, 7], [5, 6, 7], [2, 2, 2]])
    assert _lengths(new, 2) == [1, 3, 0]
    assert _lengths(new, None) == [3, 3, 3]


def test_batched_greedy_equals_one_by_one(tiny, tokenizer):
    batched = generate_completions(tiny, tokenizer, PROMPTS, max_new_tokens=6, batch_size=4)
    single = generate_completions(tiny, tokenizer, PROMPTS, max_new_tokens=6, batch_size=1)
    assert batched == single
    assert all(len(per) == 1 and 0 <= per[0].tokens <= 6 for per in batched)
    assert generate_completions(tiny, tokenizer, PROMPTS[:2], max_new_tokens=6, batch_size=2) == batched[:2]


def test_backend_takes_plain_prompts_and_chats_alike(tiny, tokenizer):
    from trainpipe.evaluation.generate import HFBackend, as_chats
    from trainpipe.training.generation import chat_completions

    chat = [
        {"role": "user", "content": "My name is Sam."},
        {"role": "assistant", "content": "Hi Sam."},
        {"role": "user", "content": "What is my name?"},
    ]
    assert as_chats(["Hi", chat]) == [[{"role": "user", "content": "Hi"}], chat]
    backend = HFBackend.__new__(HFBackend)
    backend.model, backend.tokenizer, backend.batch_size = tiny, tokenizer, 2
    settings = {"max_new_tokens": 5, "temperature": 0.0, "samples": 1}
    assert backend.generate(["Hi", chat], settings) == chat_completions(tiny, tokenizer, as_chats(["Hi", chat]), 5, 2)
    assert backend.generate(["Hi"], settings) == generate_completions(tiny, tokenizer, ["Hi"], 5, 2)


def test_sampling_gives_k_completions_and_is_reproducible(tiny, tokenizer):
    def texts():
        done = generate_completions(tiny, tokenizer, PROMPTS[:2], max_new_tokens=5, temperature=1.0, samples=3, seed=7)
        return [[c.text for c in per] for per in done]

    a, b = texts(), texts()
    assert a == b and [len(x) for x in a] == [3, 3]
    assert len(set(a[0])) > 1  # a random model at temperature 1 does not repeat itself three times


def test_document_nll_matches_unbatched_loss(tiny, tokenizer):
    texts = ["The sea is wide and deep.", "Short.", "A somewhat longer sentence about numbers like 12 and 30."]
    got = document_nll(tiny, tokenizer, texts, max_tokens=64, batch_size=3)
    for text, (nll, count) in zip(texts, got):
        ids = torch.tensor([tokenizer(text)["input_ids"]])
        with torch.no_grad():
            loss = tiny(input_ids=ids, labels=ids).loss.item()
        assert count == ids.shape[1] - 1
        assert nll == pytest.approx(loss * count, rel=1e-4)
    capped = document_nll(tiny, tokenizer, texts[2:], max_tokens=4)
    assert capped[0][1] == 3


def test_greedy_decode_loop_equals_generate(tokenizer, monkeypatch):
    """Greedy completions through models.decoding (finished rows leave the batch) equal generate's, text and
    token counts, and a row that ends early leaves the batch while the others go on."""
    from trainpipe.models.load import build_tiny_random
    from trainpipe.training import generation

    tiny = build_tiny_random(tokenizer, seed=0)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():  # larger random weights: rows that differ from one another (the seeded one repeats a token)
        for p in tiny.parameters():
            if p.dim() == 2:
                p.normal_(0, 0.3, generator=g)

    fast = generate_completions(tiny, tokenizer, PROMPTS, max_new_tokens=8, batch_size=4)
    monkeypatch.setattr(generation, "greedy_rows", lambda *a, **k: None)
    slow = generate_completions(tiny, tokenizer, PROMPTS, max_new_tokens=8, batch_size=4)
    assert fast == slow
    monkeypatch.undo()
    batch = generation._left_pad(
        [generation.encode_prompt(tokenizer, [{"role": "user", "content": p}]) for p in PROMPTS],
        tokenizer.pad_token_id,
        "cpu",
    )
    with torch.inference_mode():
        plain = tiny.generate(**batch, max_new_tokens=8, do_sample=False, pad_token_id=tokenizer.pad_token_id)
        new = plain[:, batch["input_ids"].size(1) :].tolist()
        # a token some rows produce and some do not plays EOS: those rows end there, the others run on
        stop = next(t for row in new for t in row if any(t not in other for other in new))
        widths = []
        hook = tiny.model.embed_tokens.register_forward_hook(lambda m, a, o: widths.append(a[0].size(0)))
        rows = generation.greedy_rows(tiny, batch, 8, stop)
        hook.remove()
        ref = tiny.generate(
            **batch, max_new_tokens=8, do_sample=False, eos_token_id=stop, pad_token_id=tokenizer.pad_token_id
        )[:, batch["input_ids"].size(1) :].tolist()
    for row, expected in zip(rows, ref):
        cut = expected.index(stop) + 1 if stop in expected else len(expected)
        assert row == expected[:cut]
    assert any(r[-1] == stop for r in rows) and any(len(r) == 8 and stop not in r for r in rows)
    assert min(widths[1:]) < len(PROMPTS)  # the finished rows left the batch
