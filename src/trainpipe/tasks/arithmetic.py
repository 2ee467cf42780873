"""Integer arithmetic problems with a difficulty knob (operand size and count).

generate() builds expression trees; score() compares the final integer in a completion.
"""
from __future__ import annotations

import random
from typing import Union

from trainpipe.tasks import answers
from trainpipe.tasks.base import TaskItem, generate_items

# An expression is an int leaf or (op, left, right).
Expr = Union[int, tuple]

_APPLY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}


def _shape(difficulty: int) -> tuple[int, int, str]:
    """(number of operands, largest operand, allowed operators) for a difficulty."""
    if difficulty == 1:
        return 2, 99, "+-"
    if difficulty == 2:
        return 2, 999, "+-*"
    if difficulty == 3:
        return 3, 999, "+-*"
    return difficulty, 10 ** min(difficulty, 6) - 1, "+-*"


def _tree(rng: random.Random, leaves: int, top: int, ops: str) -> Expr:
    if leaves == 1:
        return rng.randint(2, top)
    left = rng.randint(1, leaves - 1)
    return (rng.choice(ops), _tree(rng, left, top, ops), _tree(rng, leaves - left, top, ops))


def evaluate(expr: Expr) -> int:
    if isinstance(expr, int):
        return expr
    op, left, right = expr
    return _APPLY[op](evaluate(left), evaluate(right))


def render(expr: Expr, top: bool = True) -> str:
    """Infix text; every inner operation is parenthesised so no precedence rules are needed."""
    if isinstance(expr, int):
        return f"({expr})" if expr < 0 and not top else str(expr)
    op, left, right = expr
    text = f"{render(left, False)} {op} {render(right, False)}"
    return text if top else f"({text})"


def _reduce_once(expr: Expr) -> Expr:
    """Evaluate the leftmost operation whose operands are both numbers."""
    op, left, right = expr
    if isinstance(left, int) and isinstance(right, int):
        return _APPLY[op](left, right)
    if not isinstance(left, int):
        return (op, _reduce_once(left), right)
    return (op, left, _reduce_once(right))


def worked_solution(expr: Expr) -> str:
    """`e0 = e1 = ... = value` one reduction per step, then the Answer line."""
    steps = [render(expr)]
    while not isinstance(expr, int):
        expr = _reduce_once(expr)
        steps.append(render(expr))
    return f"{' = '.join(steps)}\nAnswer: {expr}"


def _make(rng: random.Random, difficulty: int) -> tuple[str, str, str]:
    leaves, top, ops = _shape(difficulty)
    expr = _tree(rng, leaves, top, ops)
    prompt = f'What is {render(expr)}? Give the final answer on its own line as "Answer: <number>".'
    return prompt, str(evaluate(expr)), worked_solution(expr)


class ArithmeticTask:
    name = "arithmetic"

    def generate(self, seed: int, n: int, difficulty: int) -> list[TaskItem]:
        return generate_items(self.name, seed, n, difficulty, _make)

    def score(self, completion: str, answer: str) -> float:
        got = answers.final_int(completion)
        return 1.0 if got is not None and got == int(answer) else 0.0

    def format_ok(self, completion: str) -> bool:
        return answers.has_answer_int_line(completion)
