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
    assert (item.answer, item.solution) == (str(value), f"{a} {op} {b} = {value}\nAnswer: {value}")
    assert item.id == "arithmetic-1-0-0"


def test_rendering_and_worked_steps():
    expr = ("*", ("+", 47, 38), ("-", 5, 9))
    assert render(expr) == "(47 + 38) * (5 - 9)"
    assert evaluate(expr) == -340
    assert worked_solution(expr) == "(47 + 38) * (5 - 9) = 85 * (5 - 9) = 85 * (-4) = -340\nAnswer: -340"
    assert worked_solution(("+", 47, 38)) == "47 + 38 = 85\nAnswer: 85"


@pytest.mark.parametrize("difficulty, count, top, ops", [
    (1, 2, 99, "+-"), (2, 2, 999, "+-*"), (3, 3, 999, "+-*"), (4, 4, 9999, "+-*"), (5, 5, 99999, "+-*"),
])
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


@pytest.mark.parametrize("completion, expected", [
    ("85", 1.0), ("Answer: 85", 1.0), ("answer: 85.", 1.0), ("Answer:  85 ", 1.0), ("**Answer:** 85", 1.0),
    ("47 + 38 = 85\nAnswer: 86", 0.0), ("Answer: 86\nAnswer: 85", 1.0), ("I get 85, not 84", 0.0),
    ("<think>85</think>Answer: 84", 0.0), ("<think>84</think>Answer: 85", 1.0), ("Answer: 85.0", 0.0),
    ("eighty-five", 0.0), ("", 0.0),
])
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
