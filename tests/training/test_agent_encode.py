"""Agent trajectories on the real SmolLM2 ChatML template: rendering, observation masks, step weights."""

from __future__ import annotations

import math

import pytest
import torch

from trainpipe.config import SftConfig
from trainpipe.data.formats import Ctx, normalise
from trainpipe.errors import DataError
from trainpipe.models.chat import IGNORE
from trainpipe.training.agent import encode_turns
from trainpipe.training.losses import token_ce, weighted_ce
from trainpipe.training.sft_data import build_examples
from trainpipe.training.sft_trainer import WeightedCollator

ROW = {
    "instruction": "Print the greeting.",
    "input": "in /tmp",
    "reward": 0.5,
    "env": "sh",
    "steps": [
        {"thought": "List the files.", "action": "ls", "observation": "a.txt b.txt", "reward": 1.0},
        {"thought": "Read a.", "action": "cat a.txt", "observation": "hello", "reward": 3.0},
        {"thought": "Done.", "action": "Final Answer: hello", "reward": 2.0},
    ],
}
TURNS = [
    "Thought: List the files.\nAction: ls",
    "Thought: Read a.\nAction: cat a.txt",
    "Thought: Done.\nFinal Answer: hello",
]
OBSERVATIONS = ["Observation: a.txt b.txt", "Observation: hello"]


def record(**changes):
    rec = normalise(dict(ROW), "trajectory", "sft", Ctx("t.jsonl", 1, "t.jsonl"))
    return {**rec, **changes}


def agent_cfg(**agent) -> SftConfig:
    cfg = SftConfig()
    for key, value in agent.items():
        setattr(cfg.agent, key, value)
    return cfg


def one(tok, rec, **agent):
    examples, _ = build_examples([rec], tok, agent_cfg(**agent), 512)
    assert len(examples) == 1
    return examples[0]


def trained(tok, ex):
    return tok.decode([t for t, lab in zip(ex["input_ids"], ex["labels"]) if lab != IGNORE])


def test_trajectory_record_renders_one_turn_per_step(tokenizer):
    rec = record()
    assert rec["step_rewards"] == [1.0, 3.0, 2.0]
    text = tokenizer.apply_chat_template(rec["messages"], tokenize=False)
    assert text == (
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\nPrint the greeting.\n\nin /tmp<|im_end|>\n"
        f"<|im_start|>assistant\n{TURNS[0]}<|im_end|>\n<|im_start|>user\n{OBSERVATIONS[0]}<|im_end|>\n"
        f"<|im_start|>assistant\n{TURNS[1]}<|im_end|>\n<|im_start|>user\n{OBSERVATIONS[1]}<|im_end|>\n"
        f"<|im_start|>assistant\n{TURNS[2]}<|im_end|>\n"
    )


def test_masking_trains_exactly_each_assistant_turn_and_its_end_of_turn(tokenizer):
    ex = one(tokenizer, record())
    enc = encode_turns(tokenizer, record()["messages"])
    assert enc.labels == ex["labels"]
    per_turn = [
        tokenizer.decode(
            [t for t, j, lab in zip(enc.input_ids, enc.turn_of_token, enc.labels) if j == turn and lab != IGNORE]
        )
        for turn in range(3)
    ]
    assert per_turn == [t + "<|im_end|>" for t in TURNS]
    assert trained(tokenizer, ex) == "".join(per_turn)
    masked = tokenizer.decode([t for t, lab in zip(ex["input_ids"], ex["labels"]) if lab == IGNORE])
    assert "Print the greeting." in masked and all(o in masked for o in OBSERVATIONS)
    assert all(lab in (IGNORE, t) for t, lab in zip(ex["input_ids"], ex["labels"]))


def test_unmasked_observations_train_user_turns_that_start_with_observation(tokenizer):
    rec = record()
    # A user turn mid-trajectory that is not an observation (a nudge) stays masked.
    rec["messages"] = rec["messages"][:3] + [{"role": "user", "content": "Please hurry."}] + rec["messages"][3:]
    ex = one(tokenizer, rec, mask_observations=False)
    assert trained(tokenizer, ex) == (
        f"{TURNS[0]}<|im_end|>{OBSERVATIONS[0]}<|im_end|>{TURNS[1]}<|im_end|>"
        f"{OBSERVATIONS[1]}<|im_end|>{TURNS[2]}<|im_end|>"
    )


def weights_by_turn(tok, ex):
    """Decoded trained text of each distinct weight, in order of appearance."""
    groups: dict[float, list[int]] = {}
    for t, lab, w in zip(ex["input_ids"], ex["labels"], ex["token_weights"]):
        if lab != IGNORE:
            groups.setdefault(w, []).append(t)
        else:
            assert w == 0.0
    return {w: tok.decode(ids) for w, ids in groups.items()}


def test_step_weights_are_reward_over_mean_per_assistant_turn(tokenizer):
    ex = one(tokenizer, record(), step_weights=True)  # rewards 1, 3, 2: mean 2
    assert weights_by_turn(tokenizer, ex) == {
        0.5: TURNS[0] + "<|im_end|>",
        1.5: TURNS[1] + "<|im_end|>",
        1.0: TURNS[2] + "<|im_end|>",
    }
    # Unmasked observations weigh like the step they answer.
    ex = one(tokenizer, record(), step_weights=True, mask_observations=False)
    assert weights_by_turn(tokenizer, ex) == {
        0.5: f"{TURNS[0]}<|im_end|>{OBSERVATIONS[0]}<|im_end|>",
        1.5: f"{TURNS[1]}<|im_end|>{OBSERVATIONS[1]}<|im_end|>",
        1.0: f"{TURNS[2]}<|im_end|>",
    }


@pytest.mark.parametrize(
    "rewards, allow_negative, expected",
    [
        ([], False, [1.0, 1.0, 1.0]),  # no step rewards: 1, not 0
        ([-1.0, 0.0, 1.0], False, [1.0, 1.0, 1.0]),  # mean 0: 1
        ([-2.0, -1.0, -3.0], False, [1.0, 1.0, 1.0]),  # negative mean: 1
        ([-1.0, 1.0, 3.0], False, [0.0, 1.0, 3.0]),  # mean 1; -1 clipped at 0
        ([-1.0, 1.0, 3.0], True, [-1.0, 1.0, 3.0]),
        ([2.0, 6.0, 4.0], False, [0.5, 1.5, 1.0]),  # scale-free: twice the rewards, same weights
    ],
)
def test_step_weight_edge_cases(tokenizer, rewards, allow_negative, expected):
    ex = one(tokenizer, record(step_rewards=rewards), step_weights=True, allow_negative=allow_negative)
    enc = encode_turns(tokenizer, record()["messages"])
    assert ex["token_weights"] == [
        expected[j] if lab != IGNORE else 0.0 for j, lab in zip(enc.turn_of_token, enc.labels)
    ]


def test_step_rewards_of_the_wrong_length_are_a_data_error(tokenizer):
    with pytest.raises(DataError, match=r"field 'step_rewards': got 2 step rewards for 3 assistant turns"):
        one(tokenizer, record(step_rewards=[1.0, 2.0]), step_weights=True)


def test_weighted_loss_scale_is_independent_of_the_weights(tokenizer):
    recs = [record(), record(step_rewards=[5.0, 1.0, 0.0])]
    examples, _ = build_examples(recs, tokenizer, agent_cfg(step_weights=True), 512)
    batch = WeightedCollator(pad_token_id=tokenizer.pad_token_id)([dict(e) for e in examples])
    assert batch["token_weights"].shape == batch["labels"].shape
    assert torch.equal(batch["token_weights"][0] != 0, batch["labels"][0] != IGNORE)
    assert set(batch["token_weights"][1][batch["labels"][1] != IGNORE].tolist()) == {2.5, 0.5, 0.0}  # mean 2
    torch.manual_seed(0)
    logits = torch.randn(*batch["labels"].shape, 64)
    labels = batch["labels"].clone()
    labels[labels != IGNORE] %= 64
    ell, mask = token_ce(logits, labels)
    n = mask.sum()
    w = batch["token_weights"][:, 1:]
    assert math.isclose(
        float(weighted_ce(logits, labels, batch["token_weights"])), float((w * ell).sum() / n), rel_tol=1e-6
    )
    # Weights of 1 give plain token-mean CE; dividing by label tokens (not by sum(w)) keeps that scale.
    ones = torch.ones_like(batch["token_weights"])
    assert math.isclose(float(weighted_ce(logits, labels, ones)), float(ell[mask].mean()), rel_tol=1e-6)
