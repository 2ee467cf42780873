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
