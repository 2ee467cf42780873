import json
import random
import time

import pytest

from trainpipe.tasks import ded
from trainpipe.tasks.ded import DeductionTask

TASK = DeductionTask()

VOWELS = "s = input()\nprint(sum(1 for c in s.lower() if c in 'aeiou'))"
PINNED_TESTS = [
    {"input": "N RzH Z", "output": "0\n"},
    {"input": "dCTxlZ KfU GPxYUCa", "output": "3\n"},
    {"input": "GbdcN", "output": "0\n"},
    {"input": "WByC bV GiIBZk", "output": "2\n"},
]
PINNED_ANSWER = json.dumps({"tests": PINNED_TESTS})


def test_pinned_first_item():
    item = TASK.generate(seed=0, n=1, difficulty=1)[0]
    assert item.prompt == (
        "Write a complete Python 3 program that reads standard input and writes standard output.\n\n"
        "The input is one line of text. Print how many of its characters are one of the letters "
        "a, e, i, o, u, in upper or lower case.\n\n"
        "Example input:\n```\nN RzH Z\n```\nExample output:\n```\n0\n```\n\n"
        "Reply with the whole program in a single ```python code block."
    )
    assert json.loads(item.answer) == {"tests": PINNED_TESTS}
    assert item.solution == f"```python\n{VOWELS}\n```"


@pytest.mark.parametrize("template", ded._TEMPLATES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("difficulty", [1, 4])
def test_every_template_reference_passes_in_the_sandbox(template, difficulty):
    rng = random.Random(f"{template.__name__}-{difficulty}")
    statement, code, make_input = template(rng, difficulty)
    tests = [{"input": make_input(rng), "output": None} for _ in range(3)]
    for test in tests:
        test["output"] = ded.run_trusted(code, test["input"] + "\n")
    assert TASK.score(f"```python\n{code}\n```", json.dumps({"tests": tests})) == 1.0


@pytest.mark.parametrize("difficulty", [1, 2, 3, 4])
def test_generated_solutions_score_one(difficulty):
    items = TASK.generate(seed=9, n=3, difficulty=difficulty)
    for item in items:
        assert len(json.loads(item.answer)["tests"]) == 3 + difficulty
        assert TASK.format_ok(item.solution)
        assert TASK.score(item.solution, item.answer) == 1.0


def test_fizz_reference_output():
    statement, code, _ = ded._fizz(random.Random(0), 1)
    assert statement == (
        "The input is one integer N. For each i from 1 to N print one line: FizzPing if i is "
        "divisible by both 3 and 4, Fizz if only by 3, Ping if only by 4, otherwise i itself."
    )
    assert ded.run_trusted(code, "12\n") == "1\n2\nFizz\nPing\n5\nFizz\n7\nPing\nFizz\n10\n11\nFizzPing\n"


def test_pairs_reference_output():
    _, code, _ = ded._pairs(random.Random(3), 4)
    assert ded.run_trusted(code, "3\n5 -2\n7 7\n0 9\n") == "-2\n7\n0\n"


@pytest.mark.parametrize(
    "completion, expected",
    [
        (f"```python\n{VOWELS}\n```", 1.0),
        (f"Here you go:\n```python\n{VOWELS}\n```\nDone.", 1.0),
        (f"```python\nprint(0)\n```\n```python\n{VOWELS}\n```", 1.0),  # the last block counts
        (f"```python\n{VOWELS}\n```\n```python\nprint(0)\n```", 0.0),
        (f"<think>```python\n{VOWELS}\n```</think>", 0.0),
        (VOWELS, 0.0),
        ("```python\nprint(0)\n```", 0.0),  # passes two tests, fails the rest
        ("```python\nimport sys\nsys.exit(1)\n```", 0.0),
        (f"```python\n{VOWELS}\nraise SystemExit(2)\n```", 0.0),  # right output, bad exit status
        ("```python\nimport os\nos.system('echo 0')\n```", 0.0),
    ],
)
def test_score(completion, expected):
    assert TASK.score(completion, PINNED_ANSWER) == expected


def test_trailing_whitespace_is_ignored():
    code = "s = input()\nprint(str(sum(1 for c in s.lower() if c in 'aeiou')) + '   ')\nprint()"
    assert TASK.score(f"```python\n{code}\n```", PINNED_ANSWER) == 1.0


def test_infinite_loop_scores_zero_after_one_timeout():
    start = time.monotonic()
    assert TASK.score("```python\nwhile True:\n    pass\n```", PINNED_ANSWER) == 0.0
    assert time.monotonic() - start < 7.5  # one 2 s sandbox timeout, then stop (4+ tests would take ≥ 8 s)


def test_format_ok():
    assert TASK.format_ok("```python\nprint(1)\n```")
    assert not TASK.format_ok("```\nprint(1)\n```")
    assert not TASK.format_ok("print(1)")
