"""Agent trajectories played in a real environment: a noisy expert walks GridWorld episodes, and each episode
becomes a canonical sft trajectory record through the trajectory format, with every observation and reward as
the environment returned it. Reads a `kind: environment` source; returns sft records.
"""
from __future__ import annotations

import random

from trainpipe.config import SourceConfig
from trainpipe.data import formats
from trainpipe.errors import UserError
from trainpipe.rl.environments import COLLECT_SEEDS_START, EVAL_SEEDS_START, MOVES, GridWorld, grid_turns

# Which way each axis must go, as a move and as words for the thought.
_X = {1: ("right", "x must grow"), -1: ("left", "x must shrink")}
_Y = {1: ("down", "y must grow"), -1: ("up", "y must shrink")}


def episode_seeds(seed: int, n: int) -> list[int]:
    """n distinct episode seeds in [COLLECT_SEEDS_START, EVAL_SEEDS_START), drawn one by one, so the first k
    seeds of a larger n are the seeds of n = k (growing a source never changes its earlier episodes)."""
    rng = random.Random(f"env-collect:{seed}")
    seen: set[int] = set()
    out: list[int] = []
    while len(out) < n:
        s = rng.randrange(COLLECT_SEEDS_START, EVAL_SEEDS_START)
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def expert_step(agent: tuple[int, int], goal: tuple[int, int], prefer_x: bool) -> tuple[str, str]:
    """(move, reason) toward the goal: along the preferred axis while it still differs, then the other one."""
    dx, dy = goal[0] - agent[0], goal[1] - agent[1]
    use_x = dx != 0 and (prefer_x or dy == 0)
    if use_x:
        return _X[1 if dx > 0 else -1]
    return _Y[1 if dy > 0 else -1]


def _thought(agent: tuple[int, int], goal: tuple[int, int], reason: str, move: str, noisy: bool) -> str:
    where = f"I am at ({agent[0]}, {agent[1]}) and the goal is at ({goal[0]}, {goal[1]})"
    # The thought names only the move taken, so the reply's first move word is its action.
    return f"{where}: {reason}, but I try {move} instead." if noisy else f"{where}: {reason}, so I move {move}."


def grid_episode(seed: int, difficulty: int, noise: float, max_turns: int) -> dict:
    """One episode as a structured trajectory row (instruction, steps, reward, task_id, meta keys).

    The expert's axis preference and its noise draws come from the episode seed; with probability `noise` a step
    takes one of the three other moves instead. GridWorld computes every observation and reward.
    """
    env = GridWorld(difficulty, max_turns)
    rng = random.Random(f"grid-expert:{seed}")
    prefer_x = rng.random() < 0.5
    instruction = env.reset(seed)
    start, goal = env.agent, env.goal
    steps, done = [], False
    while not done:
        move, reason = expert_step(env.agent, env.goal, prefer_x)
        noisy = rng.random() < noise
        if noisy:
            move = rng.choice([m for m in MOVES if m != move])
        thought = _thought(env.agent, env.goal, reason, move, noisy)
        observation, reward, done = env.step(move)
        steps.append({"thought": thought, "action": move, "observation": observation, "reward": reward})
    return {"instruction": instruction, "steps": steps, "reward": sum(s["reward"] for s in steps),
            "task_id": f"grid-{seed}", "environment": "grid", "seed": seed, "difficulty": difficulty,
            "noise": noise, "success": env.agent == env.goal, "start": list(start), "goal": list(goal)}


# name -> episode player (seed, difficulty, noise, max_turns) -> trajectory row, and its default turn budget
PLAYERS = {"grid": (grid_episode, grid_turns)}


def source_label(src: SourceConfig) -> str:
    return f"environment:{src.environment}:{src.difficulty}"


def environment_records(src: SourceConfig, data_seed: int) -> list[dict]:
    """The canonical sft trajectory records of one environment source, in episode-seed order."""
    if src.environment not in PLAYERS:
        raise UserError(f"data.sources: a source with kind=environment needs 'environment' "
                        f"({', '.join(PLAYERS)}); got {src.environment!r}")
    if src.difficulty < 1:
        raise UserError(f"data.sources ({source_label(src)}): difficulty: expected an integer ≥ 1; "
                        f"got {src.difficulty}")
    play, default_turns = PLAYERS[src.environment]
    turns = src.max_turns or default_turns(src.difficulty)
    seed = data_seed if src.seed is None else src.seed
    name = source_label(src)
    ctx = formats.Ctx(name, "episode", name)
    rows = [play(s, src.difficulty, src.noise, turns) for s in episode_seeds(seed, src.n)[: src.limit or None]]
    return [formats.normalise(row, "trajectory", "sft", ctx) for row in rows]
