import re

import pytest

from trainpipe.tasks.arithmetic import ArithmeticTask, evaluate, render, worked_solution

TASK = ArithmeticTask()


def _operands(prompt: str) -> list[int]:
    expr = prompt.split("What is ", 1)[1].split("?", 1)[0]
    return [int(tok) for tok in re.findall(r"\d+", expr)]


def test_pinned_first_item():
    item = TASK.generate(seed=0, n=1, difficulty=1)[0]
    a, b = _operands(item.prompt)
    op = "+" if f"{a} + {b}" in item.prompt else "-"
    assert item.prompt == f'What is {a} {op} {b}? Give the final answer on its own line as "Answer: <number>".'
    value = a + b if op == "+" else a - b
    assert item.answer == str(value)
    assert item.solution.endswith(f"\n{a} {op} {b} = {value}\nAnswer: {value}")
    assert item.id == "arithmetic-1-0-0"


def test_rendering_and_worked_steps():
    expr = ("*", ("+", 47, 38), ("-", 5, 9))
    assert render(expr) == "(47 + 38) * (5 - 9)"
    assert evaluate(expr) == -340
    assert worked_solution(expr).split("\n") == [
        "tens: 40 + 30 = 70",
        "ones: 7 + 8 = 15",
        "70 + 15 = 85",
        "(47 + 38) * (5 - 9) = 85 * (5 - 9)",
        "flip: 9 - 5",
        "tens: 0 - 0 = 0",
        "ones: 9 - 5 = 4",
        "0 + 4 = 4",
        "85 * (5 - 9) = 85 * (-4)",
        "85 * (-4) = -340",
        "Answer: -340",
    ]


@pytest.mark.parametrize(
    "op, a, b, lines",
    [
        ("+", 54, 41, ["tens: 50 + 40 = 90", "ones: 4 + 1 = 5", "90 + 5 = 95"]),
        ("+", 99, 99, ["tens: 90 + 90 = 180", "ones: 9 + 9 = 18", "180 + 18 = 198"]),
        ("+", 5, 38, ["tens: 0 + 30 = 30", "ones: 5 + 8 = 13", "30 + 13 = 43"]),
        ("-", 56, 28, ["tens: 50 - 20 = 30", "ones: 6 - 8 = -2", "30 - 2 = 28"]),
        ("-", 65, 78, ["flip: 78 - 65", "tens: 70 - 60 = 10", "ones: 8 - 5 = 3", "10 + 3 = 13"]),
        ("-", 7, 92, ["flip: 92 - 7", "tens: 90 - 0 = 90", "ones: 2 - 7 = -5", "90 - 5 = 85"]),
        ("*", 12, 3, []),
        ("+", 100, 3, []),  # three digits: no tens-and-ones working
        ("+", -4, 3, []),  # a negative operand: none either
    ],
)
def test_tens_and_ones_working(op, a, b, lines):
    value = evaluate((op, a, b))
    assert worked_solution((op, a, b)).split("\n") == [*lines, f"{render((op, a, b))} = {value}", f"Answer: {value}"]


@pytest.mark.parametrize(
    "difficulty, count, top, ops",
    [
        (1, 2, 99, "+-"),
        (2, 2, 999, "+-*"),
        (3, 3, 999, "+-*"),
        (4, 4, 9999, "+-*"),
        (5, 5, 99999, "+-*"),
    ],
)
def test_difficulty_shapes(difficulty, count, top, ops):
    items = TASK.generate(seed=3, n=40, difficulty=difficulty)
    for item in items:
        operands = _operands(item.prompt)
        assert len(operands) == count
        assert all(2 <= x <= top for x in operands)
        expr = item.prompt.split("What is ", 1)[1].split("?", 1)[0]
        assert set(re.findall(r" ([-+*]) ", expr)) <= set(ops)
        assert TASK.score(item.solution, item.answer) == 1.0
        assert TASK.format_ok(item.solution)
    seen_ops = {op for item in items for op in re.findall(r" ([-+*]) ", item.prompt.split("?")[0])}
    assert seen_ops == set(ops)
    if difficulty >= 3:
        assert all("(" in item.prompt for item in items)


@pytest.mark.parametrize(
    "completion, expected",
    [
        ("85", 1.0),
        ("Answer: 85", 1.0),
        ("answer: 85.", 1.0),
        ("Answer:  85 ", 1.0),
        ("**Answer:** 85", 1.0),
        ("47 + 38 = 85\nAnswer: 86", 0.0),
        ("Answer: 86\nAnswer: 85", 1.0),
        ("I get 85, not 84", 0.0),
        ("<think>85</think>Answer: 84", 0.0),
        ("<think>84</think>Answer: 85", 1.0),
        ("Answer: 85.0", 0.0),
        ("eighty-five", 0.0),
        ("", 0.0),
    ],
)
def test_score(completion, expected):
    assert TASK.score(completion, "85") == expected


def test_score_handles_commas_and_negatives():
    assert TASK.score("Answer: 1,020", "1020") == 1.0
    assert TASK.score("Answer: -340", "-340") == 1.0
    assert TASK.score("Answer: 340", "-340") == 0.0


def test_format_ok():
    assert TASK.format_ok("blah\nAnswer: 12")
    assert not TASK.format_ok("the answer is 12")
    assert not TASK.format_ok("Answer: twelve")


def test_step_score_credits_the_gold_steps_the_completion_states():
    task = ArithmeticTask()
    for item in task.generate(seed=3, n=20, difficulty=3) + task.generate(seed=1, n=20, difficulty=1):
        assert task.step_score(item.solution, item.prompt) == 1.0
    prompt = 'What is 94 - 30? Give the final answer on its own line as "Answer: <number>".'
    right = "tens: 90 - 30 = 60\nones: 4 - 0 = 4\n60 + 4 = 64\n94 - 30 = 64\nAnswer: 64"
    # true equations that are not this problem's steps earn nothing: only "ones: 4 - 0 = 4" is a gold step
    gamed = "tens: 90 - 0 = 90\nones: 4 - 0 = 4\n90 + 4 = 94\n94 - 30 = 94\nAnswer: 94"
    assert task.step_score(gamed, prompt) == 0.25
    assert task.step_score(right + "\n" + right, prompt) == 0.5  # repeated or extra lines dilute the credit
    assert task.step_score("Answer: 64", prompt) == 0.0
    assert task.step_score(right, "What is the capital of France?") is None
    assert task.step_score("Answer: 5", "What is 5?") is None  # a bare number has no steps
