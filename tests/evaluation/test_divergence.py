"""KL(trained ‖ base): the per-position function on hand-computed distributions, and the completion-token average
on two tiny random models (positions, padding, batching)."""

import math

import pytest
import torch

from trainpipe.evaluation.divergence import completion_kl, token_kl


def test_token_kl_matches_hand_computed_values():
    p = torch.log(torch.tensor([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]]))
    q = torch.log(torch.tensor([[0.25, 0.75], [0.9, 0.1], [0.8, 0.2]]))
    kl = token_kl(p + 3.0, q - 1.0)  # logits: a constant shift changes nothing
    assert kl[0] == pytest.approx(0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75))  # 0.1438
    assert kl[1] == 0.0
    assert kl[2] == pytest.approx(0.2 * math.log(0.2 / 0.8) + 0.8 * math.log(0.8 / 0.2))  # 0.8318
    # Not symmetric: KL(q ‖ p) on the first row differs.
    assert token_kl(q, p)[0] == pytest.approx(0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5))


def test_completion_kl_counts_only_completion_tokens_and_ignores_padding(tokenizer):
    from trainpipe.models.chat import encode_prompt
    from trainpipe.models.load import build_tiny_random

    trained, base = build_tiny_random(tokenizer, 1).eval(), build_tiny_random(tokenizer, 2).eval()
    chats = [
        [{"role": "user", "content": "What is 2 + 3?"}],
        [
            {"role": "user", "content": "Name a colour."},
            {"role": "assistant", "content": "Red."},
            {"role": "user", "content": "Another, please, in one word."},
        ],
    ]
    completions = ["Answer: 5", "blue"]
    batched = completion_kl(trained, base, tokenizer, chats, completions, batch_size=2)
    alone = completion_kl(trained, base, tokenizer, chats, completions, batch_size=1)
    for (kl_b, n_b), (kl_a, n_a) in zip(batched, alone):
        assert n_b == n_a and kl_b == pytest.approx(kl_a, rel=1e-4)

    head = encode_prompt(tokenizer, chats[0])
    tail = tokenizer(completions[0], add_special_tokens=False)["input_ids"]
    ids = torch.tensor([head + tail])
    with torch.no_grad():
        per_position = token_kl(trained(input_ids=ids).logits[0], base(input_ids=ids).logits[0])
    expected = float(per_position[len(head) - 1 : len(head) + len(tail) - 1].sum())
    assert alone[0][1] == len(tail) and alone[0][0] == pytest.approx(expected, rel=1e-4) and expected > 0
    assert completion_kl(trained, trained, tokenizer, chats, completions) == [(0.0, n) for _, n in alone]
