"""Multi-turn text environments: reset(seed) -> observation; step(action) -> (observation, reward, done).

Built in: GridWorld (offline, verifiable, difficulty knob) with its expert player, which writes collect's
trajectories. HttpEnvironment drives an AgentGym-style server by URL. ENVIRONMENTS is the one registry.
"""

from __future__ import annotations

import json
import math
import random
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from trainpipe.config import RlConfig
from trainpipe.errors import UserError


class Environment(Protocol):
    def reset(self, seed: int) -> str: ...

    def step(self, action: str) -> tuple[str, float, bool]: ...


MOVES = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}
# Episode seeds are split into disjoint ranges so no evaluated episode was ever trained on:
# RL trains on seeds [0, rl.env_episodes); collect's environment sources draw from [COLLECT_SEEDS_START,
# EVAL_SEEDS_START); evaluate plays EVAL_SEEDS_START, EVAL_SEEDS_START + 1, ...
COLLECT_SEEDS_START = 10**6
EVAL_SEEDS_START = 10**9


def grid_turns(difficulty: int) -> int:
    """Default moves per grid episode: the longest shortest path on the grid (2·(side − 1)) plus two spare."""
    return 2 * (difficulty + 1) + 2


_MOVE = re.compile(r"\b(up|down|left|right)\b", re.IGNORECASE)


def parse_move(action: str) -> str | None:
    """The first of up/down/left/right named in the reply, or None."""
    found = _MOVE.search(action)
    return found.group(1).lower() if found else None


class GridWorld:
    """Walk from a start cell to a goal on a side×side grid (side = difficulty + 2) within max_steps moves.

    Each step's reward is the progress it made, (d_before − d_after) / d_start in Manhattan distance, so the
    episode return is exactly 1 when the goal is reached, the fraction of the way covered otherwise, and moving
    away costs. A reply naming no move, or walking into the edge, leaves the agent where it is."""

    def __init__(self, difficulty: int = 1, max_steps: int = 4):
        if difficulty < 1 or max_steps < 1:
            raise UserError(f"grid environment: difficulty and max turns must be ≥ 1, got {difficulty}, {max_steps}")
        self.side, self.max_steps = difficulty + 2, max_steps
        self.agent = self.goal = (0, 0)
        self.steps, self.start_distance = 0, 1

    def reset(self, seed: int) -> str:
        rng = random.Random(f"grid:{self.side}:{seed}")
        cells = [(x, y) for x in range(self.side) for y in range(self.side)]
        self.agent, self.goal = rng.sample(cells, 2)
        self.steps, self.start_distance = 0, self.distance()
        return (
            f"You are on a {self.side}x{self.side} grid; x grows to the right and y grows downward. "
            f"{self._where()} Reply with one move: up, down, left or right."
        )

    def distance(self) -> int:
        return abs(self.agent[0] - self.goal[0]) + abs(self.agent[1] - self.goal[1])

    def _where(self) -> str:
        return (
            f"You are at ({self.agent[0]}, {self.agent[1]}); the goal is at ({self.goal[0]}, {self.goal[1]}). "
            f"Moves left: {self.max_steps - self.steps}."
        )

    def step(self, action: str) -> tuple[str, float, bool]:
        before, move = self.distance(), parse_move(action)
        if move:
            dx, dy = MOVES[move]
            x, y = self.agent[0] + dx, self.agent[1] + dy
            if 0 <= x < self.side and 0 <= y < self.side:
                self.agent = (x, y)
        self.steps += 1
        reward = (before - self.distance()) / self.start_distance
        if self.agent == self.goal:
            return "You reached the goal.", reward, True
        note = "" if move else "That is not a move. "
        return note + self._where(), reward, self.steps >= self.max_steps


class HttpEnvironment:
    """Client of an AgentGym-style environment server at `url`:
    POST /create -> {id}; POST /reset {id, data_idx}; POST /step {id, action} -> {observation, reward, done};
    GET /observation?id=... The instance key is `id` in AgentGym's servers and `env_idx` in some; see id_key."""

    def __init__(self, url: str, id_key: str = "id", timeout: float = 60.0):
        self.url, self.id_key, self.timeout = url.rstrip("/"), id_key, timeout
        self.env_id: Any = None

    def _call(self, path: str, payload: dict | None = None, query: dict | None = None) -> Any:
        target = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            target, data=data, method="GET" if query else "POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                out = json.loads(response.read().decode() or "null")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise UserError(f"environment server {self.url}: {path} failed ({exc})") from None
        if isinstance(out, dict) and out.get("error"):
            raise RuntimeError(f"environment server {self.url}{path}: {out['error']}")
        return out

    def reset(self, seed: int) -> str:
        if self.env_id is None:
            created = self._call("/create", {})
            self.env_id = created.get(self.id_key, created.get("id")) if isinstance(created, dict) else created
        out = self._call("/reset", {self.id_key: self.env_id, "data_idx": int(seed)})
        observation = out.get("observation") if isinstance(out, dict) else out
        if not isinstance(observation, str) or not observation:
            observation = self._call("/observation", query={self.id_key: self.env_id})
        return str(observation)

    def step(self, action: str) -> tuple[str, float, bool]:
        out = self._call("/step", {self.id_key: self.env_id, "action": action})
        if not isinstance(out, dict) or "observation" not in out:
            raise UserError(f"environment server {self.url}/step: expected observation, reward, done; got {out!r}")
        reward = out.get("reward")
        if isinstance(reward, bool) or not isinstance(reward, (int, float)) or not math.isfinite(reward):
            # A missing reward is not a zero one: the return would silently undercount the episode.
            raise UserError(
                f"environment server {self.url}/step: expected a numeric 'reward'; got {reward!r} (reply {out!r})"
            )
        return str(out["observation"]), float(reward), bool(out.get("done"))


# Which way each axis must go, as a move and as words for the thought.
_X = {1: ("right", "x must grow"), -1: ("left", "x must shrink")}
_Y = {1: ("down", "y must grow"), -1: ("up", "y must shrink")}


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
    return {
        "instruction": instruction,
        "steps": steps,
        "reward": sum(s["reward"] for s in steps),
        "task_id": f"grid-{seed}",
        "environment": "grid",
        "seed": seed,
        "difficulty": difficulty,
        "noise": noise,
        "success": env.agent == env.goal,
        "start": list(start),
        "goal": list(goal),
    }


@dataclass(frozen=True)
class EnvSpec:
    """One environment, everything each stage needs of it: collect plays its expert, RL and evaluate make
    instances; evaluate also asks whether an episode was solved and what its start layout was."""

    make: Callable[[int, int], Environment] | None  # (difficulty, max_turns) -> a fresh instance; None: configured
    default_turns: Callable[[int], int] | None = None  # difficulty -> moves per episode
    solved: Callable[[Environment], bool] | None = None  # whether the episode reached its goal
    layout: Callable[[Environment], list[int]] | None = None  # the start layout right after reset
    expert: Callable[[int, int, float, int], dict] | None = None  # (seed, difficulty, noise, turns) -> trajectory


# The environment registry. http has no offline instance: RL makes one from rl.env_url.
ENVIRONMENTS: dict[str, EnvSpec] = {
    "grid": EnvSpec(
        make=GridWorld,
        default_turns=grid_turns,
        solved=lambda env: env.agent == env.goal,
        layout=lambda env: [*env.agent, *env.goal],
        expert=grid_episode,
    ),
    "http": EnvSpec(make=None),
}


def environment_factory(rl: RlConfig) -> Callable[[], Environment]:
    """A callable making fresh instances of the configured environment."""
    if rl.environment not in ENVIRONMENTS:
        raise UserError(f"rl.environment={rl.environment!r}: unknown; known: {', '.join(ENVIRONMENTS)}")
    if (make := ENVIRONMENTS[rl.environment].make) is not None:
        return lambda: make(rl.env_difficulty, rl.env_max_turns)
    if not rl.env_url:
        raise UserError("rl.environment=http needs rl.env_url, the base URL of the environment server")
    return lambda: HttpEnvironment(rl.env_url, rl.env_id_key)
