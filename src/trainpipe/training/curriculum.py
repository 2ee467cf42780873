"""Curriculum order for SFT: a difficulty key per training example, and a sampler that starts on the easiest
share of the data and grows its pool linearly to all of it; each epoch's order is a pure function of (seed, epoch).
"""

from __future__ import annotations

import math
import random
from typing import Optional, Sequence

from torch.utils.data import Sampler


def difficulty_key(rec: dict, meta: dict, steps: int, field: Optional[str]) -> list[float]:
    """Ascending key (smaller = easier). Default: steps shown, then lower record reward = harder
    (no reward sorts as hardest); with `field`: that number, from the record or else its meta JSON."""
    if field:
        value = rec.get(field) if rec.get(field) is not None else meta.get(field)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"expected a finite number in '{field}' (record or meta); got {value!r}")
        return [float(value)]
    reward = rec.get("reward")
    return [float(steps), math.inf if reward is None else -float(reward)]


class CurriculumSampler(Sampler[int]):
    """Yields len(difficulty) indices per epoch, so epochs keep one length and the Trainer's resume
    arithmetic (epoch = step // steps per epoch, then skip batches) lands on the same samples.

    At position p of epoch e the pool is the easiest ceil(ratio·n) examples, ratio growing linearly from
    start_ratio to 1 over warmup_epochs (fractions of an epoch count). Examples are dealt from a shuffled
    deck of the pool; newly admitted ones are shuffled into what is left of the deck.
    """

    def __init__(self, difficulty: Sequence, start_ratio: float, warmup_epochs: float, seed: int = 0):
        if not 0.0 < start_ratio <= 1.0:
            raise ValueError(f"start_ratio must be in (0, 1], got {start_ratio}")
        self.n = len(difficulty)
        keys = [tuple(d) if isinstance(d, (list, tuple)) else (d,) for d in difficulty]
        # Index as the last key keeps equal difficulties in dataset order: the same order on every rank.
        self.order = sorted(range(self.n), key=lambda i: (keys[i], i))
        self.start_ratio, self.warmup_epochs, self.seed, self.epoch = start_ratio, warmup_epochs, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n

    def pool_size(self, epoch: int, position: int) -> int:
        if self.warmup_epochs <= 0:
            return self.n
        progress = min(1.0, (epoch + position / self.n) / self.warmup_epochs)
        ratio = self.start_ratio + (1.0 - self.start_ratio) * progress
        # The epsilon keeps 0.3 * 10 (= 3.0000000000000004) from rounding up to 4.
        return max(1, min(self.n, math.ceil(ratio * self.n - 1e-9)))

    def __iter__(self):
        # A string seed is hashed with SHA-512 by `random`, independent of PYTHONHASHSEED and the rank.
        rng = random.Random(f"curriculum:{self.seed}:{self.epoch}")
        deck: list[int] = []
        admitted = 0
        for position in range(self.n):
            size = self.pool_size(self.epoch, position)
            for idx in self.order[admitted:size]:
                deck.insert(rng.randrange(len(deck) + 1), idx)
            admitted = max(admitted, size)
            if not deck:
                deck = self.order[:admitted]
                rng.shuffle(deck)
            yield deck.pop()
