"""Integer arithmetic problems with a difficulty knob (operand size and count).

generate() builds expression trees; score() compares the final integer in a completion.
"""

from __future__ import annotations

import ast
import random
import re
from collections import Counter
from typing import Union

from trainpipe.tasks import answers
from trainpipe.tasks.base import TaskItem, generate_items

# An expression is an int leaf or (op, left, right).
Expr = Union[int, tuple]

_APPLY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}
_AST_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}
# The expression of a prompt _make wrote: digits, operators, parentheses (at most a few hundred characters).
_PROMPT = re.compile(r"What is ([\d\s+\-*()]{1,400})\?")


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

    def step_score(self, completion: str, prompt: str) -> float | None:
        """How much of the gold worked solution the completion states: matched lines / max(gold lines, stated
        lines), the Answer line left to score(); None when the prompt holds no expression of this family.
        Anchored to the problem on purpose: a reward for equations that merely hold was gamed within 28 GRPO
        steps ("tens: 90 - 0 = 90" is true and useless; greedy accuracy fell 0.597 -> 0.528, bench/README.md)."""
        expr = parse_prompt(prompt)
        gold = Counter(worked_solution(expr).splitlines()[:-1]) if expr is not None else None
        if not gold:  # no expression, or a bare number: no steps to credit
            return None
        stated = Counter(_steps(completion))
        matched = sum((gold & stated).values())
        return matched / max(sum(gold.values()), sum(stated.values()))


def _steps(completion: str) -> list[str]:
    """The completion's non-empty lines, whitespace-normalised, without its Answer lines."""
    lines = (" ".join(line.split()) for line in answers.strip_think(completion).splitlines())
    return [line for line in lines if line and not line.lower().startswith("answer")]


def parse_prompt(prompt: str) -> Expr | None:
    """The expression of a prompt this family wrote ("What is 12 - (3 * 4)? ..."), or None."""
    match = _PROMPT.search(prompt)
    if match is None:
        return None
    try:
        return _expr(ast.parse(match.group(1), mode="eval").body)
    except (SyntaxError, ValueError, RecursionError):
        return None


def _expr(node) -> Expr:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return -_expr(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _AST_OPS:
        return (_AST_OPS[type(node.op)], _expr(node.left), _expr(node.right))
    raise ValueError(node)
