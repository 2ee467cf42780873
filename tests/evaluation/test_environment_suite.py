"""Environment suites without a model: scripted players (an oracle, one that always says "up") go through the
real GridWorld in the agent-SFT chat format; scores, intervals, caching keys and settings checks."""

import re

import pytest
from scipy.stats import beta

from trainpipe.data.trajectory import trajectory_messages
from trainpipe.errors import UserError
from trainpipe.evaluation.environment_suite import action_text, environment_result, environment_suites, play
from trainpipe.evaluation.generate import Completion
from trainpipe.evaluation.runner import restate
from trainpipe.tasks.environments import COLLECT_SEEDS_START, EVAL_SEEDS_START

_WHERE = re.compile(r"You are at \((\d+), (\d+)\); the goal is at \((\d+), (\d+)\)")


def oracle_reply(observation: str) -> str:
    x, y, gx, gy = map(int, _WHERE.search(observation).groups())
    move = "right" if gx > x else "left" if gx < x else "down" if gy > y else "up"
    return f"Thought: I am at ({x}, {y}) and the goal is at ({gx}, {gy}), so I move {move}.\nAction: {move}"


class Scripted:
    """A stand-in for HFBackend.generate_chats that records every batch it was asked for."""

    def __init__(self, reply):
        self.reply, self.calls = reply, []

    def __call__(self, conversations, max_new_tokens):
        self.calls.append([list(c) for c in conversations])
        return [Completion(self.reply(c[-1]["content"]), 7) for c in conversations]


def suite_for(smoke_cfg, *overrides):
    [suite] = environment_suites(smoke_cfg("evaluate.environments=[grid]", "evaluate.max_examples=30", *overrides))
    return suite


def test_suite_plays_held_out_seeds_with_the_configured_budget(smoke_cfg):
    suite = suite_for(smoke_cfg, "evaluate.env_difficulty=2")
    assert (suite.name, suite.kind, suite.group, len(suite.items)) == ("env:grid", "environment", "environment", 30)
    assert [i["seed"] for i in suite.items] == list(range(EVAL_SEEDS_START, EVAL_SEEDS_START + 30))
    assert EVAL_SEEDS_START > COLLECT_SEEDS_START  # collect draws below, RL uses [0, rl.env_episodes)
    assert suite.settings == {
        "environment": "grid",
        "difficulty": 2,
        "max_turns": 8,
        "turn_tokens": 48,
        "temperature": 0.0,
        "first_seed": EVAL_SEEDS_START,
    }
    assert suite.items[0]["prompt"].startswith("You are on a 4x4 grid") and "Moves left: 8." in suite.items[0]["prompt"]
    others = ("evaluate.env_max_turns=5", "evaluate.env_turn_tokens=20", "evaluate.max_examples=29")
    prints = {suite.fingerprint} | {suite_for(smoke_cfg, "evaluate.env_difficulty=2", o).fingerprint for o in others}
    assert len(prints) == 4
    assert suite_for(smoke_cfg, "evaluate.env_difficulty=2").fingerprint == suite.fingerprint


def test_oracle_reaches_every_goal_in_the_training_chat_format(smoke_cfg):
    suite = suite_for(smoke_cfg)
    player = Scripted(oracle_reply)
    episodes = play(suite, player)
    result = environment_result(suite, episodes, 0.8)
    assert result["kind"] == "environment" and result["n"] == 30
    assert result["mean"] == 1.0 and result["mean_return"] == pytest.approx(1.0)
    assert (result["lo"], result["hi"]) == (pytest.approx(beta.ppf(0.1, 30.5, 0.5)), 1.0)
    assert result["format_rate"] == 1.0 and result["mean_completion_tokens"] > 7
    # Turn t of every unfinished episode is one batch, until the longest shortest path is walked.
    distances = [abs(i["layout"][0] - i["layout"][2]) + abs(i["layout"][1] - i["layout"][3]) for i in suite.items]
    assert [len(c) for c in player.calls] == [sum(d > t for d in distances) for t in range(max(distances))]
    # The second turn sees exactly what agent SFT trains on: instruction, Thought/Action, Observation.
    convo = next(c for c in player.calls[1])
    first = suite.items[[i["prompt"] for i in suite.items].index(convo[0]["content"])]
    move = convo[1]["content"].rsplit(" ", 1)[1]
    expected = trajectory_messages(
        first["prompt"],
        None,
        [
            {
                "thought": convo[1]["content"].split("\n")[0][len("Thought: ") :],
                "action": move,
                "observation": convo[2]["content"][len("Observation: ") :],
            }
        ],
    )
    assert convo == expected


def test_a_model_that_always_says_up_scores_lower(smoke_cfg):
    suite = suite_for(smoke_cfg)
    oracle = environment_result(suite, play(suite, Scripted(oracle_reply)), 0.8)
    up = environment_result(suite, play(suite, Scripted(lambda obs: "up")), 0.8)
    goal_above = sum(i["layout"][0] == i["layout"][2] and i["layout"][3] < i["layout"][1] for i in suite.items)
    assert goal_above > 0 and up["mean"] == pytest.approx(goal_above / 30) and up["mean"] < oracle["mean"]
    assert -1.0 <= up["mean_return"] < oracle["mean_return"]
    assert up["return_lo"] >= -1.0 and up["hi"] < oracle["lo"]
    stuck = [r for r in up["items"] if r["score"] == 0.0]
    assert stuck and all(r["turns"] == 6 for r in stuck)  # the whole budget (longest path 4 + 2) is spent
    assert up["examples"][0]["completion"].startswith("[assistant] up\n[user] Observation: ")
    assert [r["completion"] for r in up["items"][:5]] == [e["completion"] for e in up["examples"]]  # every transcript
    assert all(r["completion"].count("[assistant] up") == r["turns"] for r in up["items"])


def test_nonsense_replies_score_zero_and_fail_the_format(smoke_cfg):
    suite = suite_for(smoke_cfg, "evaluate.max_examples=4")
    result = environment_result(suite, play(suite, Scripted(lambda obs: "I am not sure.")), 0.8)
    assert result["mean"] == 0.0 and result["mean_return"] == 0.0 and result["format_rate"] == 0.0


def test_restate_recomputes_intervals_from_cached_items(smoke_cfg):
    suite = suite_for(smoke_cfg)
    result = environment_result(suite, play(suite, Scripted(lambda obs: "Action: down")), 0.8)
    wider = restate(result, 0.95)
    assert wider["mean"] == result["mean"] and wider["mean_return"] == result["mean_return"]
    assert wider["lo"] <= result["lo"] and wider["return_lo"] <= result["return_lo"]
    assert wider["kind"] == "environment"


@pytest.mark.parametrize(
    "reply,action",
    [
        ("Thought: x must grow, so I move right.\nAction: right", "right"),
        ("Thought: I could go up.\n**Action:** left", "left"),
        ("I would go down.", "I would go down."),
        ("Thought: up is wrong\nAction:", "Thought: up is wrong\nAction:"),
    ],
)
def test_the_action_line_is_what_the_environment_hears(reply, action):
    assert action_text(reply) == action


def test_bad_environment_settings_are_user_errors(smoke_cfg):
    with pytest.raises(UserError, match="evaluate.environments\\[0\\]: expected one of grid; got 'maze'"):
        smoke_cfg("evaluate.environments=[maze]")
    with pytest.raises(UserError, match="evaluate.env_max_turns: expected an integer ≥ 1; got 0"):
        smoke_cfg("evaluate.env_max_turns=0")
    with pytest.raises(UserError, match="evaluate.environments lists grid twice"):
        environment_suites(smoke_cfg("evaluate.environments=[grid, grid]"))
    with pytest.raises(UserError, match="environment suites always play greedily"):
        environment_suites(
            smoke_cfg("evaluate.environments=[grid]", "evaluate.sampling={'env:grid': {temperature: 0.5}}")
        )
