"""Planted-solution k-SAT: clauses are drawn so a hidden assignment satisfies them all.

score() accepts any satisfying assignment parsed from the completion; answer is JSON {"n", "clauses"}.
"""

from __future__ import annotations

import json
import random

from trainpipe.tasks import answers
from trainpipe.tasks.base import TaskItem, generate_items

_NOT, _OR = "\u00ac", " \u2228 "


def sat_shape(difficulty: int) -> tuple[int, int, int]:
    """(variables n, literals per clause k, clauses m). Difficulty 4 is the wide-clause setting
    (k=10 of n=15); beyond it, 3-SAT at the 4.26 clause ratio on ever more variables."""
    if difficulty == 1:
        return 4, 2, 6
    if difficulty == 2:
        return 6, 3, 12
    if difficulty == 3:
        return 10, 3, int(4.26 * 10)
    if difficulty == 4:
        return 15, 10, int(4.26 * 15)
    n = 15 + 5 * (difficulty - 4)
    return n, 3, int(4.26 * n)


def satisfies(clauses: list[list[int]], values: dict[int, bool]) -> bool:
    """Every clause has a true literal; variables missing from values count as False."""
    return all(any(values.get(abs(lit), False) == (lit > 0) for lit in clause) for clause in clauses)


def planted_instance(rng: random.Random, n: int, k: int, m: int) -> tuple[dict[int, bool], list[list[int]]]:
    """A hidden assignment and m distinct clauses it satisfies (literals sorted by variable)."""
    hidden = {v: rng.random() < 0.5 for v in range(1, n + 1)}
    clauses: list[list[int]] = []
    seen: set[tuple[int, ...]] = set()
    while len(clauses) < m:
        chosen = sorted(rng.sample(range(1, n + 1), k))
        clause = [v if rng.random() < 0.5 else -v for v in chosen]
        if satisfies([clause], hidden) and tuple(clause) not in seen:
            seen.add(tuple(clause))
            clauses.append(clause)
    return hidden, clauses


def render_clause(clause: list[int]) -> str:
    return "(" + _OR.join(f"x{lit}" if lit > 0 else f"{_NOT}x{-lit}" for lit in clause) + ")"


def render_assignment(values: dict[int, bool]) -> str:
    return ", ".join(f"x{v}={values[v]}" for v in sorted(values))


def constant_solvable(clauses: list[list[int]], n: int) -> bool:
    """True when all-False or all-True satisfies every clause (a guessable instance)."""
    return any(satisfies(clauses, {v: value for v in range(1, n + 1)}) for value in (False, True))


def _make(rng: random.Random, difficulty: int) -> tuple[str, str, str]:
    n, k, m = sat_shape(difficulty)
    # Short clauses: redraw instances a constant answer solves, or RL learns to answer all-False.
    # Wide clauses (k=10 of 15) are nearly always constant-solvable; there the point is reading them.
    for _ in range(1000):
        hidden, clauses = planted_instance(rng, n, k, m)
        if k > 3 or not constant_solvable(clauses, n):
            break
    example = ", ".join(f"x{v}=<True/False>" for v in range(1, min(n, 3) + 1))
    prompt = (
        f"Find a True/False value for each of the variables x1..x{n} that makes every clause below true.\n"
        f"Each clause is an OR ({_OR.strip()}) of literals; {_NOT} means NOT.\n\n"
        + "\n".join(render_clause(c) for c in clauses)
        + f'\n\nGive the final answer on its own line as "Answer: {example}, ..." listing all {n} variables.'
    )
    answer = json.dumps({"n": n, "clauses": clauses}, separators=(",", ":"))
    return prompt, answer, f"Answer: {render_assignment(hidden)}"


class SatTask:
    name = "sat"

    def generate(self, seed: int, n: int, difficulty: int) -> list[TaskItem]:
        return generate_items(self.name, seed, n, difficulty, _make)

    def score(self, completion: str, answer: str) -> float:
        clauses = json.loads(answer)["clauses"]
        values = answers.parse_assignment(completion)
        # No assignment at all is no answer, even when all-False happens to satisfy the formula.
        return 1.0 if values and satisfies(clauses, values) else 0.0

    def format_ok(self, completion: str) -> bool:
        visible = answers.strip_think(completion)
        return any(
            line.strip().lstrip("*#>_ ").lower().startswith("answer") and answers.parse_assignment(line)
            for line in visible.splitlines()
        )
