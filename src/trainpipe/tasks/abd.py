"""Abduction: given a small generated program and what it printed, recover the stdin it read.

Programs are pipelines of `difficulty` transforms over an int, an int list or a string, plus a few
many-to-one templates; score() runs the program on the proposed input in the sandbox.
"""

from __future__ import annotations

import json
import random
import string

from trainpipe.tasks import answers
from trainpipe.tasks.base import TaskItem, generate_items
from trainpipe.tasks.sandbox import run_python, run_trusted

# Longer proposed inputs are not answers to these programs; refusing them keeps scoring cheap.
MAX_INPUT_CHARS = 10_000


def _int_op(rng: random.Random, d: int) -> str:
    kind = rng.choice(("add", "sub", "mul", "square") if d > 1 else ("add", "sub", "mul"))
    if kind == "add":
        return f"n = n + {rng.randint(1, 10 * d)}"
    if kind == "sub":
        return f"n = n - {rng.randint(1, 10 * d)}"
    if kind == "mul":
        return f"n = n * {rng.randint(2, 3 + d)}"
    return "n = n * n"


def _list_op(rng: random.Random, d: int) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return f"nums = [x * {rng.randint(2, 2 + d)} + {rng.randint(1, 5 * d)} for x in nums]"
    if kind == 1:
        return "nums = nums[::-1]"
    if kind == 2:
        return "nums = sorted(nums)"
    if kind == 3:
        return "nums = [x + i for i, x in enumerate(nums)]"
    if kind == 4:
        return "nums = [sum(nums[:i + 1]) for i in range(len(nums))]"
    shift = rng.randint(1, 2)
    return f"nums = nums[{shift}:] + nums[:{shift}]"


def _str_op(rng: random.Random, d: int) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return "s = s[::-1]"
    if kind == 1:
        key = rng.randint(1, 25)
        return f"s = ''.join(chr((ord(c) - 97 + {key}) % 26 + 97) if c.islower() else c for c in s)"
    if kind == 2:
        shift = rng.randint(1, 3)
        return f"s = s[{shift}:] + s[:{shift}]"
    if kind == 3:
        return "s = s[::2] + s[1::2]"
    return "s = ''.join(c * 2 for c in s)"


def _letters(rng: random.Random, length: int, alphabet: str = string.ascii_lowercase) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def _pipeline(rng: random.Random, d: int) -> tuple[str, str]:
    """(program, hidden stdin) for a chain of d transforms over one value."""
    kind = rng.choice(("int", "list", "str"))
    if kind == "int":
        head, op, tail = "n = int(input())", _int_op, "print(n)"
        hidden = str(rng.randint(1, 10 ** (d + 1)))
    elif kind == "list":
        head, op, tail = "nums = list(map(int, input().split()))", _list_op, "print(' '.join(map(str, nums)))"
        hidden = " ".join(str(rng.randint(0, 9 * d + 9)) for _ in range(3 + d))
    else:
        head, op, tail = "s = input().strip()", _str_op, "print(s)"
        hidden = _letters(rng, 3 + 2 * d)
    steps: list[str] = []
    while len(steps) < d:
        step = op(rng, d)
        if not steps or step != steps[-1]:  # a repeated reverse or sort would be a no-op step
            steps.append(step)
    return "\n".join([head, *steps, tail]), hidden


def _many_to_one(rng: random.Random, d: int) -> tuple[str, str]:
    """(program, hidden stdin) for templates whose output has several valid inputs."""
    if rng.random() < 0.5:
        top = 10 * 4**d
        hidden = f"{rng.randint(2, top)} {rng.randint(2, top)}"
        return "a, b = map(int, input().split())\nprint(a + b, a * b)", hidden
    first, second = rng.sample(string.ascii_lowercase[:6], 2)
    hidden = _letters(rng, 4 + 2 * d, string.ascii_lowercase[:6])
    program = f"s = input().strip()\nprint(s.count('{first}'), s.count('{second}'), len(s))"
    return program, hidden


def _make(rng: random.Random, difficulty: int) -> tuple[str, str, str]:
    use_pipeline = difficulty == 1 or rng.random() < 0.75
    program, hidden = (_pipeline if use_pipeline else _many_to_one)(rng, difficulty)
    output = run_trusted(program, hidden + "\n")
    prompt = (
        "Here is a Python program:\n\n```python\n" + program + "\n```\n\n"
        "When run, it printed exactly:\n\n```\n" + output.rstrip("\n") + "\n```\n\n"
        "What did it read from standard input? Give the exact input between <INPUT> and </INPUT> tags:\n"
        "<INPUT>\n...\n</INPUT>"
    )
    answer = json.dumps({"program": program, "output": output})
    return prompt, answer, f"<INPUT>\n{hidden}\n</INPUT>"


def proposed_stdin(completion: str) -> str | None:
    """The last <INPUT> block as stdin (surrounding newlines dropped, one final newline), or None."""
    block = answers.last_tagged(completion, "INPUT")
    if block is None or len(block) > MAX_INPUT_CHARS:
        return None
    return block.replace("\r\n", "\n").strip("\n") + "\n"


class AbductionTask:
    name = "abd"

    def generate(self, seed: int, n: int, difficulty: int) -> list[TaskItem]:
        return generate_items(self.name, seed, n, difficulty, _make)

    def score(self, completion: str, answer: str) -> float:
        spec = json.loads(answer)
        stdin = proposed_stdin(completion)
        if stdin is None:
            return 0.0
        result = run_python(spec["program"], stdin)
        if result.returncode != 0 or result.timed_out or result.output_truncated:
            return 0.0
        same = answers.normalize_output(result.stdout) == answers.normalize_output(spec["output"])
        return 1.0 if same else 0.0

    def format_ok(self, completion: str) -> bool:
        return answers.last_tagged(completion, "INPUT") is not None
