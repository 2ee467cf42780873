"""Grid-world trajectories from the noisy expert: they replay exactly in a fresh GridWorld, the noiseless expert
always reaches the goal, generation is deterministic and prefix-stable, and seed ranges never overlap."""

import json

import pytest

from trainpipe.config import SourceConfig
from trainpipe.data.env_trajectories import environment_records, episode_seeds
from trainpipe.data.store import load_split
from trainpipe.errors import UserError
from trainpipe.pipeline import run_stage
from trainpipe.tasks.environments import (
    COLLECT_SEEDS_START,
    EVAL_SEEDS_START,
    GridWorld,
    expert_step,
    grid_turns,
    parse_move,
)


def grid(n=40, difficulty=1, noise=0.25, **kw):
    return SourceConfig(kind="environment", environment="grid", n=n, difficulty=difficulty, noise=noise, **kw)


def steps_of(rec):
    """(thought + action text, action, observation or None) per assistant turn of a rendered trajectory."""
    msgs, out = rec["messages"], []
    for i, m in enumerate(msgs):
        if m["role"] == "assistant":
            action = m["content"].split("\nAction: ")[1]
            nxt = msgs[i + 1]["content"] if i + 1 < len(msgs) else None
            out.append((m["content"], action, nxt))
    return out


@pytest.mark.parametrize("difficulty,noise", [(1, 0.25), (2, 0.5)])
def test_trajectories_replay_exactly_in_a_fresh_environment(difficulty, noise):
    records = environment_records(grid(difficulty=difficulty, noise=noise), 0)
    assert len(records) == 40
    for rec in records:
        meta = json.loads(rec["meta"])
        env = GridWorld(difficulty, grid_turns(difficulty))
        assert rec["messages"][0] == {"role": "user", "content": env.reset(meta["seed"])}
        rewards = []
        for text, action, shown in steps_of(rec):
            observation, reward, done = env.step(action)
            rewards.append(reward)
            assert shown == f"Observation: {observation}"
            # The thought names exactly the move taken, so the first move word of the turn is its action.
            assert parse_move(text) == action
        assert done and rec["step_rewards"] == rewards
        assert rec["reward"] == pytest.approx(sum(rewards))
        assert meta["success"] == (env.agent == env.goal) and rec["task_id"] == f"grid-{meta['seed']}"


def test_noise_makes_varied_step_rewards_and_honest_thoughts():
    records = environment_records(grid(n=60, noise=0.5), 0)
    rewards = [r for rec in records for r in rec["step_rewards"]]
    assert min(rewards) < 0 < max(rewards) and 0.0 in rewards  # away, toward, and into a wall
    noisy = [text for rec in records for text, _, _ in steps_of(rec) if "instead" in text]
    assert noisy and all(", but I try " in t for t in noisy)
    assert any(not json.loads(rec["meta"])["success"] for rec in records)


def test_noiseless_expert_always_reaches_the_goal_by_the_shortest_path():
    for difficulty in (1, 3):
        for rec in environment_records(grid(n=50, difficulty=difficulty, noise=0.0), 7):
            meta = json.loads(rec["meta"])
            assert meta["success"] and rec["reward"] == pytest.approx(1.0)
            shortest = abs(meta["start"][0] - meta["goal"][0]) + abs(meta["start"][1] - meta["goal"][1])
            assert len(rec["step_rewards"]) == shortest and all(r > 0 for r in rec["step_rewards"])


def test_expert_finishes_its_preferred_axis_first():
    assert expert_step((0, 0), (2, 1), prefer_x=True) == ("right", "x must grow")
    assert expert_step((0, 0), (2, 1), prefer_x=False) == ("down", "y must grow")
    assert expert_step((2, 2), (2, 0), prefer_x=True) == ("up", "y must shrink")
    assert expert_step((2, 0), (0, 0), prefer_x=False) == ("left", "x must shrink")


def test_generation_is_deterministic_prefix_stable_and_seeded():
    first = environment_records(grid(n=30), 0)
    assert first == environment_records(grid(n=30), 0)
    assert environment_records(grid(n=10), 0) == first[:10]
    assert environment_records(grid(n=10, limit=4), 0) == first[:4]
    assert environment_records(grid(n=10, seed=0), 5) == first[:10]  # the source's seed wins over data.seed
    assert environment_records(grid(n=10), 1) != first[:10]


def test_episode_seeds_are_distinct_and_in_the_collect_range():
    seeds = episode_seeds(0, 2000)
    assert len(set(seeds)) == 2000
    assert all(COLLECT_SEEDS_START <= s < EVAL_SEEDS_START for s in seeds)  # RL: [0, rl.env_episodes)


def test_bad_environment_sources_are_user_errors(smoke_cfg):
    with pytest.raises(UserError, match="kind=environment needs 'environment'"):
        environment_records(SourceConfig(kind="environment", n=3), 0)
    with pytest.raises(UserError, match="difficulty: expected an integer ≥ 1; got 0"):
        environment_records(grid(difficulty=0), 0)
    with pytest.raises(UserError, match=r"data.sources\[0\].noise: expected a number in \[0, 1\]; got 1.5"):
        smoke_cfg("data.sources=[{kind: environment, environment: grid, noise: 1.5}]")
    with pytest.raises(UserError, match=r"data.sources\[0\].environment: expected one of grid; got 'maze'"):
        smoke_cfg("data.sources=[{kind: environment, environment: maze}]")


def test_collect_splits_episodes_by_seed(smoke_cfg, tmp_path):
    cfg = smoke_cfg(
        "data.sources=[{kind: environment, environment: grid, n: 80, noise: 0.25}]", "data.eval_fraction=0.25"
    )
    manifest = run_stage(cfg, "collect")
    out = tmp_path / "data_cache" / "collect"
    train, held = (load_split(out, "sft", split) for split in ("train", "eval"))
    seeds = {split: {json.loads(r["meta"])["seed"] for r in recs} for split, recs in (("train", train), ("eval", held))}
    assert seeds["train"] and seeds["eval"] and not seeds["train"] & seeds["eval"]
    # Identical episodes (same layout, same noise draws) are dropped as duplicates, never split across.
    kept = len(train) + len(held)
    assert kept + manifest["metrics"]["dropped_duplicates"]["sft"] == 80
    assert all(r["source"] == "environment:grid:1" and r["step_rewards"] for r in train)
