"""Chunking long trajectories at step boundaries with the real template: layout, context masks, weights, budgets."""

from __future__ import annotations

import pytest

from trainpipe.config import SftConfig
from trainpipe.errors import DataError
from trainpipe.models.chat import IGNORE
from trainpipe.training.agent import chunk_trajectory, split_steps, token_count
from trainpipe.training.sft_data import build_examples

INSTRUCTION = [{"role": "system", "content": "You are an agent."}, {"role": "user", "content": "Open the vault."}]


def turn(j):
    return f"Thought: t{j}\nAction: a{j}"


def trajectory(n=6, long_observation_at=None):
    msgs = list(INSTRUCTION)
    for j in range(n):
        obs = "Observation: " + ("much " * 200 if j == long_observation_at else f"o{j}")
        msgs += [{"role": "assistant", "content": turn(j)}, {"role": "user", "content": obs}]
    return msgs


@pytest.fixture(scope="module")
def sizes(tokenizer):
    """(header tokens H, tokens per step S): every step of `trajectory()` renders to the same S tokens."""
    header, steps = split_steps(trajectory())
    counts = [token_count(tokenizer, header + [m for s in steps[:k] for m in s]) for k in range(7)]
    deltas = {b - a for a, b in zip(counts, counts[1:])}
    assert len(deltas) == 1
    return counts[0], deltas.pop()


def cfg(**agent) -> SftConfig:
    sft = SftConfig()
    sft.agent.chunking = True
    for key, value in agent.items():
        setattr(sft.agent, key, value)
    return sft


def layout(chunks):
    return [(c.first_step, c.steps, sorted(c.trained_turns)) for c in chunks]


@pytest.mark.parametrize(
    "overlap, expected",
    [
        (0, [(0, 3, [0, 1, 2]), (3, 3, [0, 1, 2])]),
        (1, [(0, 3, [0, 1, 2]), (2, 3, [1, 2]), (4, 2, [1])]),
        (2, [(0, 3, [0, 1, 2]), (1, 3, [2]), (2, 3, [2]), (3, 3, [2])]),
    ],
)
def test_chunks_hold_instruction_overlap_context_and_new_steps(tokenizer, sizes, overlap, expected):
    h, s = sizes
    budget = h + 3 * s
    msgs = trajectory()
    chunks = chunk_trajectory(tokenizer, msgs, budget, overlap)
    assert layout(chunks) == expected
    examples, report = build_examples([{"messages": msgs}], tokenizer, cfg(overlap_steps=overlap), budget)
    assert report == {
        "examples": len(expected),
        "skipped": 0,
        "chunked_records": 1,
        "trained_tokens": sum(sum(lab != IGNORE for lab in e["labels"]) for e in examples),
    }
    trained_steps = []
    for chunk, ex in zip(chunks, examples):
        assert chunk.messages[:2] == INSTRUCTION and len(ex["input_ids"]) <= budget
        shown = range(chunk.first_step, chunk.first_step + chunk.steps)
        new = [chunk.first_step + t for t in sorted(chunk.trained_turns)]
        trained_steps += new
        text = tokenizer.decode(ex["input_ids"])
        assert all(turn(j) in text and f"Observation: o{j}" in text for j in shown)
        trained = tokenizer.decode([t for t, lab in zip(ex["input_ids"], ex["labels"]) if lab != IGNORE])
        assert trained == "".join(turn(j) + "<|im_end|>" for j in new)
    assert trained_steps == list(range(6))  # every step trained exactly once, in order


def test_context_shrinks_before_a_step_is_refused(tokenizer, sizes):
    h, s = sizes
    chunks = chunk_trajectory(tokenizer, trajectory(), h + s, overlap_steps=2)
    assert layout(chunks) == [(j, 1, [0]) for j in range(6)]


def test_short_trajectory_is_one_unchanged_example(tokenizer, sizes):
    h, s = sizes
    msgs = trajectory(2)
    chunks = chunk_trajectory(tokenizer, msgs, h + 2 * s, 1)
    assert [(c.messages, c.trained_turns, c.first_step, c.steps) for c in chunks] == [(msgs, None, 0, 2)]
    chunked, _ = build_examples([{"messages": msgs}], tokenizer, cfg(), h + 2 * s)
    plain, _ = build_examples([{"messages": msgs}], tokenizer, SftConfig(), h + 2 * s)
    assert chunked == plain


def test_chunk_weights_come_from_the_whole_trajectory(tokenizer, sizes):
    h, s = sizes
    rewards = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]  # mean 3.5
    rec = {"messages": trajectory(), "step_rewards": rewards}
    examples, _ = build_examples([rec], tokenizer, cfg(step_weights=True, overlap_steps=1), h + 3 * s)
    chunks = chunk_trajectory(tokenizer, rec["messages"], h + 3 * s, 1)
    for chunk, ex in zip(chunks, examples):
        got = {}
        for t, lab, w in zip(ex["input_ids"], ex["labels"], ex["token_weights"]):
            if lab != IGNORE:
                got.setdefault(w, []).append(t)
        new = [chunk.first_step + t for t in sorted(chunk.trained_turns)]
        assert {w: tokenizer.decode(ids) for w, ids in got.items()} == {
            rewards[j] / 3.5: turn(j) + "<|im_end|>" for j in new
        }


def test_a_step_over_budget_is_an_error_or_a_skip(tokenizer, sizes):
    h, s = sizes
    bad = {"id": "bad1", "source": "traj.jsonl", "messages": trajectory(long_observation_at=1)}
    good = {"messages": trajectory()}
    with pytest.raises(
        DataError,
        match=r"traj.jsonl\): field 'messages': step 2 with the instruction is over "
        rf"{h + 3 * s} tokens; raise data.max_length",
    ):
        build_examples([good, bad], tokenizer, cfg(), h + 3 * s)
    examples, report = build_examples([good, bad], tokenizer, cfg(), h + 3 * s, on_bad_record="skip")
    assert (len(examples), report["skipped"], report["chunked_records"]) == (3, 1, 1)
    assert report["skip_examples"] == [
        f"sft record bad1 (source traj.jsonl): field 'messages': step 2 with the "
        f"instruction is over {h + 3 * s} tokens; raise data.max_length"
    ]


def test_without_chunking_a_long_trajectory_is_a_bad_record(tokenizer, sizes):
    h, s = sizes
    with pytest.raises(DataError, match=rf"at most {h + 3 * s} tokens; got {h + 6 * s} \(sft.agent.chunking"):
        build_examples([{"messages": trajectory()}], tokenizer, SftConfig(), h + 3 * s)


def test_unmasked_observations_of_context_steps_stay_masked(tokenizer, sizes):
    h, s = sizes
    sft = cfg(overlap_steps=1, mask_observations=False)
    examples, _ = build_examples([{"messages": trajectory()}], tokenizer, sft, h + 3 * s)
    trained = [tokenizer.decode([t for t, lab in zip(e["input_ids"], e["labels"]) if lab != IGNORE]) for e in examples]
    step = "{}<|im_end|>Observation: o{}<|im_end|>".format
    assert trained == [
        "".join(step(turn(j), j) for j in (0, 1, 2)),
        "".join(step(turn(j), j) for j in (3, 4)),
        step(turn(5), 5),
    ]
