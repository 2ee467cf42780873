"""Reward components on hand-written completions, and how the blend weights them."""

import math

import pytest

from trainpipe.config import RewardConfig, RlConfig
from trainpipe.errors import UserError
from trainpipe.rl.rewards import (
    EnvReward,
    ExternalReward,
    FormatReward,
    LengthReward,
    StepsReward,
    TaskReward,
    build_rewards,
    char_f1,
    completion_text,
    raw_external,
    scale_score,
)


def chat(text):
    return [{"role": "assistant", "content": text}]


PROMPTS = [[{"role": "user", "content": "What is 2 + 3?"}]] * 4
COMPLETIONS = [chat("2 + 3 = 5\nAnswer: 5"), chat("I think it is 6"), chat("Answer: 5."), chat("no idea")]
ROWS = {"task": ["arithmetic"] * 4, "answer": ["5"] * 4}


def test_completion_text_reads_strings_and_assistant_turns():
    assert completion_text("plain") == "plain"
    turns = [
        {"role": "assistant", "content": "a"},
        {"role": "tool", "content": "x"},
        {"role": "assistant", "content": "b"},
    ]
    assert completion_text(turns) == "ab"


def test_task_reward_is_the_family_score():
    got = TaskReward(RewardConfig("task"))(PROMPTS, COMPLETIONS, **ROWS)
    assert got == [1.0, 0.0, 1.0, 0.0]


def test_task_and_format_rewards_skip_rows_without_a_task():
    rows = {"task": ["arithmetic", None], "answer": ["5", None]}
    assert TaskReward(RewardConfig("task"))(PROMPTS[:2], COMPLETIONS[:2], **rows) == [1.0, None]
    assert FormatReward(RewardConfig("format"))(PROMPTS[:2], COMPLETIONS[:2], **rows) == [1.0, None]


def test_steps_reward_credits_the_gold_steps_stated_and_skips_families_without_them():
    rows = {"task": ["arithmetic", "arithmetic", "sat", None], "answer": ["5", "5", "x1=1", None]}
    gold = "tens: 0 + 0 = 0\nones: 2 + 3 = 5\n0 + 5 = 5\n2 + 3 = 5\nAnswer: 5"  # the task's worked 2 + 3
    true_but_useless = "tens: 2 + 0 = 2\nones: 3 + 0 = 3\n0 + 5 = 5\n2 + 3 = 5\nAnswer: 5"  # true, not its steps
    completions = [chat(gold), chat(true_but_useless)] + COMPLETIONS[:2]
    got = StepsReward(RewardConfig("steps"))(PROMPTS, completions, **rows)
    assert got == [1.0, 0.5, None, None]


def test_format_reward_checks_the_answer_line_not_correctness():
    got = FormatReward(RewardConfig("format"))(PROMPTS, COMPLETIONS, **ROWS)
    assert got == [1.0, 0.0, 1.0, 0.0]


def test_length_reward_penalises_tokens_beyond_target():
    reward = LengthReward(RewardConfig("length", target_length=4))
    ids = [[1] * 3, [1] * 4, [1] * 6, [1] * 20]
    assert reward(PROMPTS, COMPLETIONS, completion_ids=ids) == [0.0, 0.0, -0.5, -1.0]


def test_length_reward_without_token_ids_is_an_error_not_a_word_count():
    with pytest.raises(ValueError, match="counts model tokens, but the trainer passed no completion_ids"):
        LengthReward(RewardConfig("length", target_length=4))(PROMPTS, COMPLETIONS)


def test_length_reward_counts_only_model_tokens_of_multi_turn_rollouts():
    reward = LengthReward(RewardConfig("length", target_length=2))
    steps = [[0, 0, 0, -1, -1, -1, 1], [0, -1, -1, -1, -1, -1, -1]]  # 4 and 1 model tokens, 6 and 6 glue tokens
    assert reward(PROMPTS[:2], COMPLETIONS[:2], completion_ids=[[1] * 7] * 2, token_step=steps) == [-1.0, 0.0]


def test_char_f1_is_one_for_identical_zero_for_disjoint_and_partial_between():
    assert char_f1("Answer: 42", "answer:42") == pytest.approx(1.0)  # case and whitespace are ignored
    assert char_f1("xyz", "abc") == 0.0
    # "cat" vs "cart": unigrams 3 common (P=1, R=3/4), bigrams "ca" (1/2, 1/3), trigrams none.
    expected = (2 * 1 * 0.75 / 1.75 + 2 * 0.5 * (1 / 3) / (0.5 + 1 / 3) + 0.0) / 3
    assert char_f1("cat", "cart") == pytest.approx(expected)


def test_external_reward_is_scaled_score_times_similarity_to_reference():
    reward = ExternalReward(RewardConfig("external"))
    rows = {"external": [1.0, -0.5, 1.0, None], "reference": ["Paris", "Paris", "Paris", "Paris"]}
    got = reward(PROMPTS, [chat("Paris"), chat("Paris"), chat("xyz"), chat("Paris")], **rows)
    assert got == [pytest.approx(1.0), pytest.approx(-0.5), 0.0, None]


def test_scale_score_maps_range_to_minus_one_one_and_clips():
    assert scale_score(0.0, 0, 10) == -1.0
    assert scale_score(5.0, 0, 10) == 0.0
    assert scale_score(10.0, 0, 10) == 1.0
    assert scale_score(12.0, 0, 10) == 1.0
    assert scale_score(None, 0, 10) is None and scale_score(math.nan, 0, 10) is None
    with pytest.raises(UserError, match="high"):
        scale_score(1.0, 5, 5)


def test_raw_external_reads_column_then_meta_key():
    assert raw_external({"reward": 7.0, "meta": "{}"}, "reward") == 7.0
    assert raw_external({"reward": None, "meta": '{"meta_eval_score": 3}'}, "meta_eval_score") == 3.0
    assert raw_external({"reward": None, "meta": '{"x": "bad"}'}, "x") is None


def test_env_reward_passes_the_episode_return_through():
    assert EnvReward(RewardConfig("env"))(PROMPTS[:2], COMPLETIONS[:2], env_reward=[1.0, 0.25]) == [1.0, 0.25]


def test_blend_weights_external_by_one_minus_alpha_and_the_rest_by_alpha():
    rl = RlConfig(
        blend_alpha=0.25,
        rewards=[
            RewardConfig("task", weight=2.0),
            RewardConfig("external", weight=1.0),
            RewardConfig("length", weight=0.4),
        ],
    )
    funcs, weights = build_rewards(rl)
    assert [f.__name__ for f in funcs] == ["task", "external", "length"]
    # TRL sums weight × component: r = 0.75 · external + 0.25 · (2 · task + 0.4 · length).
    assert weights == pytest.approx([0.5, 0.75, 0.1])


def test_a_zero_weight_component_is_scored_but_weighs_nothing():
    """{name: task, weight: 0} beside a trained reward: TRL scores and logs it, and its weight leaves it out of r."""
    funcs, weights = build_rewards(RlConfig(rewards=[RewardConfig("format"), RewardConfig("task", weight=0.0)]))
    assert [f.__name__ for f in funcs] == ["format", "task"]
    assert weights == [1.0, 0.0]


@pytest.mark.parametrize(
    "rewards, alpha, message",
    [
        ([RewardConfig("bleu")], 1.0, "unknown reward 'bleu'"),
        ([RewardConfig("task"), RewardConfig("task")], 1.0, "once"),
        ([RewardConfig("task")], 0.5, "no 'external' entry"),
        ([RewardConfig("external", low=3, high=1)], 0.0, "must be above low"),
        ([RewardConfig("task", weight=0.0), RewardConfig("length", weight=0.0)], 1.0, "every weight is 0"),
        ([RewardConfig("task"), RewardConfig("external", weight=0.0)], 0.0, "every weight is 0"),
        ([RewardConfig("external")], 1.0, "every weight is 0 .*set rl.blend_alpha below 1"),
    ],
)
def test_bad_reward_configs_are_user_errors(rewards, alpha, message):
    with pytest.raises(UserError, match=message):
        build_rewards(RlConfig(rewards=rewards, blend_alpha=alpha))
