"""Deduction: write a stdin→stdout Python program from a generated statement and example.

Each template carries its reference program; expected outputs come from running it at generation
time, and score() runs the completion's last ```python block on every test in the sandbox.
"""

from __future__ import annotations

import json
import random
import string
from typing import Callable

from trainpipe.tasks import answers
from trainpipe.tasks.base import TaskItem, generate_items
from trainpipe.tasks.sandbox import run_python, run_trusted

# Programs longer than this are not plausible answers; refusing them keeps scoring cheap.
MAX_CODE_CHARS = 20_000

InputMaker = Callable[[random.Random], str]
Spec = tuple[str, str, InputMaker]  # (statement, reference program, test-input generator)


def _variant(rng: random.Random, d: int, count: int) -> int:
    """Harder difficulties unlock more variants of a template: d=1 only the first."""
    return rng.randrange(min(count, d))


def _int_line(rng: random.Random, d: int) -> str:
    low = -10 * d if d > 1 else 0
    return " ".join(str(rng.randint(low, 10 * d + 10)) for _ in range(rng.randint(1, 4 + 2 * d)))


def _sum_list(rng: random.Random, d: int) -> Spec:
    head = "nums = list(map(int, input().split()))\n"
    variant = _variant(rng, d, 4)
    if variant == 0:
        what, body = "the sum of the integers", "print(sum(nums))"
    elif variant == 1:
        t = rng.randint(0, 5 * d)
        what, body = f"the sum of the integers that are greater than {t}", f"print(sum(x for x in nums if x > {t}))"
    elif variant == 2:
        k = rng.randint(2, 5)
        what, body = f"the sum of the integers divisible by {k}", f"print(sum(x for x in nums if x % {k} == 0))"
    else:
        what, body = "the sum of the squares of the integers", "print(sum(x * x for x in nums))"
    statement = f"The input is one line of space-separated integers. Print {what} (0 if there are none)."
    return statement, head + body, lambda r: _int_line(r, d)


def _count_letters(rng: random.Random, d: int) -> Spec:
    letters = "aeiou" if _variant(rng, d, 2) == 0 else "".join(sorted(rng.sample(string.ascii_lowercase, 3)))
    shown = ", ".join(letters)
    statement = (
        f"The input is one line of text. Print how many of its characters are one of the letters "
        f"{shown}, in upper or lower case."
    )
    code = f"s = input()\nprint(sum(1 for c in s.lower() if c in '{letters}'))"

    def make_input(r: random.Random) -> str:
        words = [
            "".join(r.choice(string.ascii_letters) for _ in range(r.randint(1, 7))) for _ in range(r.randint(1, 2 + d))
        ]
        return " ".join(words)

    return statement, code, make_input


def _pairs(rng: random.Random, d: int) -> Spec:
    variant = _variant(rng, d, 4)
    k = rng.randint(1, 9)
    what, expr = (
        ("the larger of the two", "max(a, b)"),
        ("the smaller of the two", "min(a, b)"),
        (f"the larger of the two plus {k}", f"max(a, b) + {k}"),
        ("the larger minus the smaller", "abs(a - b)"),
    )[variant]
    statement = (
        f"The first input line holds an integer N. Each of the next N lines holds two integers a and b. "
        f"For each pair print {what}, one result per line."
    )
    code = f"n = int(input())\nfor _ in range(n):\n    a, b = map(int, input().split())\n    print({expr})"

    def make_input(r: random.Random) -> str:
        rows = [f"{r.randint(-10 * d, 20 * d)} {r.randint(-10 * d, 20 * d)}" for _ in range(r.randint(1, 2 + d))]
        return "\n".join([str(len(rows)), *rows])

    return statement, code, make_input


def _fizz(rng: random.Random, d: int) -> Spec:
    a, b = rng.sample(range(2, 3 + 2 * d), 2)
    w1, w2 = rng.sample(["Fizz", "Buzz", "Ping", "Pong", "Zap", "Bop"], 2)
    statement = (
        f"The input is one integer N. For each i from 1 to N print one line: {w1}{w2} if i is divisible "
        f"by both {a} and {b}, {w1} if only by {a}, {w2} if only by {b}, otherwise i itself."
    )
    code = (
        f"n = int(input())\nfor i in range(1, n + 1):\n    word = ''\n    if i % {a} == 0:\n"
        f"        word += '{w1}'\n    if i % {b} == 0:\n        word += '{w2}'\n    print(word or i)"
    )
    return statement, code, lambda r: str(r.randint(1, 10 + 10 * d))


def _words(rng: random.Random, d: int) -> Spec:
    variant = _variant(rng, d, 3)
    what, expr = (
        ("the words in reverse order", "' '.join(reversed(words))"),
        ("every word reversed, keeping the word order", "' '.join(w[::-1] for w in words)"),
        ("the words sorted by length, ties kept in input order", "' '.join(sorted(words, key=len))"),
    )[variant]
    statement = f"The input is one line of words separated by single spaces. Print {what}, separated by single spaces."
    code = f"words = input().split()\nprint({expr})"

    def make_input(r: random.Random) -> str:
        return " ".join(
            "".join(r.choice(string.ascii_lowercase) for _ in range(r.randint(1, 6)))
            for _ in range(r.randint(1, 3 + d))
        )

    return statement, code, make_input


_TEMPLATES = (_sum_list, _count_letters, _pairs, _fizz, _words)


def _make(rng: random.Random, difficulty: int) -> tuple[str, str, str]:
    statement, code, make_input = rng.choice(_TEMPLATES)(rng, difficulty)
    tests = [
        {"input": stdin, "output": run_trusted(code, stdin + "\n")}
        for stdin in (make_input(rng) for _ in range(3 + difficulty))
    ]
    example = tests[0]
    prompt = (
        "Write a complete Python 3 program that reads standard input and writes standard output.\n\n"
        f"{statement}\n\nExample input:\n```\n{example['input']}\n```\n"
        f"Example output:\n```\n{example['output'].rstrip()}\n```\n\n"
        "Reply with the whole program in a single ```python code block."
    )
    return prompt, json.dumps({"tests": tests}), f"```python\n{code}\n```"


def passes(code: str, test: dict) -> bool:
    """The program exits cleanly within limits and prints the expected output."""
    result = run_python(code, test["input"] + "\n")
    if result.returncode != 0 or result.timed_out or result.output_truncated:
        return False
    return answers.normalize_output(result.stdout) == answers.normalize_output(test["output"])


class DeductionTask:
    name = "ded"

    def generate(self, seed: int, n: int, difficulty: int) -> list[TaskItem]:
        return generate_items(self.name, seed, n, difficulty, _make)

    def score(self, completion: str, answer: str) -> float:
        tests = json.loads(answer)["tests"]
        code = answers.last_python_block(completion)
        if code is None or len(code) > MAX_CODE_CHARS:
            return 0.0
        # all() stops at the first failure, so a wrong program costs one sandbox run, not all.
        return 1.0 if all(passes(code, test) for test in tests) else 0.0

    def format_ok(self, completion: str) -> bool:
        return answers.last_python_block(completion) is not None
