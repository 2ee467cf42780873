"""Task item record, the TaskFamily protocol, and deterministic, prefix-stable item generation.

Nothing here reads or writes files; families build on generate_items().
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Protocol

from trainpipe.errors import UserError

# Draws allowed per index before concluding the (family, difficulty) space is used up.
MAX_DRAWS_PER_ITEM = 2000


@dataclass(frozen=True)
class TaskItem:
    id: str
    task: str
    prompt: str
    answer: str
    solution: str
    difficulty: int


class TaskFamily(Protocol):
    name: str

    def generate(self, seed: int, n: int, difficulty: int) -> list[TaskItem]: ...

    def score(self, completion: str, answer: str) -> float: ...

    def format_ok(self, completion: str) -> bool: ...

    # Optional: step_score(completion, prompt) -> float in [0, 1] or None, how much of the prompt's gold worked
    # solution the completion states (the rl reward `steps`); families without worked steps leave it out.


# A maker draws one candidate item from rng: (prompt, answer, solution).
Maker = Callable[[random.Random, int], "tuple[str, str, str]"]


def check_request(task: str, n: int, difficulty: int) -> None:
    """Reject counts and difficulties no family can serve, with a message the user can act on."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise UserError(f"task '{task}': n must be a non-negative integer, got {n!r}")
    if isinstance(difficulty, bool) or not isinstance(difficulty, int) or difficulty < 1:
        raise UserError(f"task '{task}': difficulty must be an integer >= 1, got {difficulty!r}")


def generate_items(task: str, seed: int, n: int, difficulty: int, make: Maker) -> list[TaskItem]:
    """n distinct items; item i depends only on (task, seed, difficulty, i) and items before it.

    Each index owns an rng seeded from a string (stable across processes, unlike hash()), and
    redraws from it while its prompt repeats an earlier one, so a longer request extends a
    shorter one instead of reshuffling it.
    """
    check_request(task, n, difficulty)
    seen: set[str] = set()
    items: list[TaskItem] = []
    for index in range(n):
        rng = random.Random(f"{task}:{difficulty}:{seed}:{index}")
        for _ in range(MAX_DRAWS_PER_ITEM):
            prompt, answer, solution = make(rng, difficulty)
            if prompt not in seen:
                break
        else:
            raise UserError(
                f"task '{task}' difficulty {difficulty}: only {len(items)} distinct items found, {n} requested"
            )
        seen.add(prompt)
        items.append(TaskItem(f"{task}-{difficulty}-{seed}-{index}", task, prompt, answer, solution, difficulty))
    return items
