"""Agent trajectories played in a real environment: a noisy expert walks GridWorld episodes, and each episode
becomes a canonical sft trajectory record through the trajectory format, with every observation and reward as
the environment returned it. Reads a `kind: environment` source; returns sft records.
"""

from __future__ import annotations

import random

from trainpipe.config import SourceConfig
from trainpipe.data import formats
from trainpipe.errors import UserError
from trainpipe.tasks.environments import COLLECT_SEEDS_START, ENVIRONMENTS, EVAL_SEEDS_START


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


def source_label(src: SourceConfig) -> str:
    return f"environment:{src.environment}:{src.difficulty}"


def environment_records(src: SourceConfig, data_seed: int) -> list[dict]:
    """The canonical sft trajectory records of one environment source, in episode-seed order."""
    players = [name for name, spec in ENVIRONMENTS.items() if spec.expert]
    if src.environment not in players:
        raise UserError(
            f"data.sources: a source with kind=environment needs 'environment' "
            f"({', '.join(players)}); got {src.environment!r}"
        )
    if src.difficulty < 1:
        raise UserError(
            f"data.sources ({source_label(src)}): difficulty: expected an integer ≥ 1; got {src.difficulty}"
        )
    spec = ENVIRONMENTS[src.environment]
    turns = src.max_turns or spec.default_turns(src.difficulty)
    seed = data_seed if src.seed is None else src.seed
    name = source_label(src)
    ctx = formats.Ctx(name, "episode", name)
    rows = [spec.expert(s, src.difficulty, src.noise, turns) for s in episode_seeds(seed, src.n)[: src.limit or None]]
    return [formats.normalise(row, "trajectory", "sft", ctx) for row in rows]
