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


def place_steps(op: str, a: int, b: int) -> list[str]:
    """Tens and ones worked separately for + and - of operands in [0, 99], then joined: "tens: 50 + 40 = 90",
    "ones: 4 + 1 = 5", "90 + 5 = 95". Each step copies digits in reading order and does one single-digit
    operation, which a small model gets right far more often than a whole two-digit sum; a difference below zero is
    worked as the positive one, whose sign the next line adds. Empty for other operations and operands."""
    if op not in "+-" or not (0 <= a <= 99 and 0 <= b <= 99):
        return []
    if op == "-" and a < b:  # a negative result: the positive difference first ("flip: 78 - 65"), then the sign
        return [f"flip: {b} - {a}", *place_steps("-", b, a)]
    apply = _APPLY[op]
    tens, ones = apply(a // 10 * 10, b // 10 * 10), apply(a % 10, b % 10)
    joined = f"{tens} - {-ones}" if ones < 0 else f"{tens} + {ones}"
    return [
        f"tens: {a // 10 * 10} {op} {b // 10 * 10} = {tens}",
        f"ones: {a % 10} {op} {b % 10} = {ones}",
        f"{joined} = {tens + ones}",
    ]


def worked_solution(expr: Expr) -> str:
    """One reduction per step (with tens-and-ones working for two-digit + and -), then the Answer line."""
    lines = []
    while not isinstance(expr, int):
        before = render(expr)
        op, left, right = _leftmost_pair(expr)
        lines += place_steps(op, left, right)
        expr = _reduce_once(expr)
        lines.append(f"{before} = {render(expr)}")
    return "\n".join(lines + [f"Answer: {expr}"])


def _leftmost_pair(expr: tuple) -> tuple[str, int, int]:
    """The operation _reduce_once evaluates next."""
    op, left, right = expr
    if isinstance(left, int) and isinstance(right, int):
        return op, left, right
    return _leftmost_pair(left if not isinstance(left, int) else right)


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

    def step_score(self, completion: str) -> float:
        """The share of the completion's equations that hold (answers.equations); 0.0 with none, since every
        worked solution shows its steps. A wrong answer almost always comes from a false step: all 71 wrong
        greedy answers of the default run's SFT model on its 176 held-out items held one (bench/README.md)."""
        holding, checked = answers.equations(completion)
        return holding / checked if checked else 0.0
