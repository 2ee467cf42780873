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
    return {tuple(tokens[i:i + 5]) for i in range(len(tokens) - 4)}


def test_builtin_pool_is_large_distinct_and_disjoint_from_retention():
    pool = replay.builtin_prompts()
    assert len(pool) == len(set(pool)) == 720
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
    assert replay.user_header(tokenizer) == ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, "
                                             "trained by Hugging Face<|im_end|>\n<|im_start|>user\n")


def test_replay_examples_follow_the_task_examples_columns(tokenizer):
    convs = [{"messages": [{"role": "user", "content": f"Say {w}."}, {"role": "assistant", "content": w}]}
             for w in ("one", "two", "three", "four")]
    plain = replay.replay_examples(convs, tokenizer, 512, [{"input_ids": [1], "labels": [1]}])
    assert [set(e) for e in plain] == [{"input_ids", "labels"}] * 4
    answer = tokenizer.decode([t for t in plain[0]["labels"] if t != -100])
    assert answer == "one<|im_end|>"
    rich = replay.replay_examples(convs, tokenizer, 512, [{"input_ids": [1], "labels": [1], "token_weights": [1.0],
                                                           "difficulty": d} for d in (1, 5, 9, 13)])
    assert [e["difficulty"] for e in rich] == [1, 5, 9, 13]  # spread over the curriculum
    assert all(e["token_weights"] == [1.0] * len(e["input_ids"]) for e in rich)
    assert replay.replay_examples(convs, tokenizer, 5, []) == []  # longer than max_length: skipped


def test_sft_mixes_in_replay_answers_from_the_starting_model(smoke_cfg, tmp_path):
    cfg = smoke_cfg("sft.max_steps=2", "sft.replay.ratio=0.25", "sft.replay.max_new_tokens=8")
    run_stage(cfg, "collect")
    m = run_stage(cfg, "sft")["metrics"]
    [cache] = (tmp_path / "data_cache" / "replay").glob("replay-*.jsonl")
    convs = [json.loads(line) for line in cache.read_text().splitlines()]
    n_records = m["examples"]
    # Answers that run past max_new_tokens are dropped, so at most ratio x records are kept.
    assert m["replay_examples"] == len(convs) <= round(0.25 * n_records)
    assert all(c["messages"][0]["content"] in replay.builtin_prompts() for c in convs)
    stamp = cache.stat().st_mtime_ns
    run_stage(cfg, "sft", force=True)
    assert cache.stat().st_mtime_ns == stamp  # the rerun read the cache


def test_negative_replay_ratio_is_refused(smoke_cfg):
    cfg = smoke_cfg("sft.max_steps=1", "sft.replay.ratio=-1")
    run_stage(cfg, "collect")
    with pytest.raises(UserError, match="sft.replay.ratio: expected a number >= 0"):
        run_stage(cfg, "sft")
