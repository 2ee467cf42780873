import itertools
import json
import random

import pytest

from trainpipe.tasks.sat import SatTask, constant_solvable, planted_instance, render_clause, sat_shape, satisfies

TASK = SatTask()

PINNED_CLAUSES = [[-1, 2], [-2, -3], [2, 4], [3, 4], [1, -2], [-2, 4]]


def test_pinned_first_item():
    item = TASK.generate(seed=0, n=1, difficulty=1)[0]
    assert item.prompt == (
        "Find a True/False value for each of the variables x1..x4 that makes every clause below true.\n"
        "Each clause is an OR (\u2228) of literals; \u00ac means NOT.\n\n"
        "(\u00acx1 \u2228 x2)\n(\u00acx2 \u2228 \u00acx3)\n(x2 \u2228 x4)\n(x3 \u2228 x4)\n"
        "(x1 \u2228 \u00acx2)\n(\u00acx2 \u2228 x4)\n\n"
        'Give the final answer on its own line as "Answer: x1=<True/False>, x2=<True/False>, '
        'x3=<True/False>, ..." listing all 4 variables.'
    )
    assert json.loads(item.answer) == {"n": 4, "clauses": PINNED_CLAUSES}
    assert item.solution == "Answer: x1=False, x2=False, x3=True, x4=True"


@pytest.mark.parametrize(
    "difficulty, shape",
    [
        (1, (4, 2, 6)),
        (2, (6, 3, 12)),
        (3, (10, 3, 42)),
        (4, (15, 10, 63)),
        (5, (20, 3, 85)),
    ],
)
def test_shapes_and_planted_solutions(difficulty, shape):
    assert sat_shape(difficulty) == shape
    n, k, m = shape
    for item in TASK.generate(seed=11, n=8, difficulty=difficulty):
        spec = json.loads(item.answer)
        clauses = spec["clauses"]
        assert spec["n"] == n and len(clauses) == m
        assert len({tuple(c) for c in clauses}) == m
        for clause in clauses:
            variables = [abs(lit) for lit in clause]
            assert len(clause) == k and variables == sorted(set(variables))
            assert all(1 <= v <= n for v in variables)
        assert TASK.score(item.solution, item.answer) == 1.0
        assert TASK.format_ok(item.solution)
        assert constant_solvable(clauses, n) == (k > 3)
        assert item.prompt.count("\n(") == m


def test_planted_instance_satisfies_hidden():
    hidden, clauses = planted_instance(random.Random(5), 8, 3, 30)
    assert len(clauses) == 30 and satisfies(clauses, hidden)


def test_render_clause():
    assert render_clause([1, -3, 4]) == "(x1 \u2228 \u00acx3 \u2228 x4)"


def test_any_satisfying_assignment_scores():
    answer = json.dumps({"n": 4, "clauses": PINNED_CLAUSES})
    solutions = []
    for bits in itertools.product([False, True], repeat=4):
        values = dict(zip(range(1, 5), bits))
        text = "Answer: " + ", ".join(f"x{v}={values[v]}" for v in (3, 1, 4, 2))
        solutions.append(TASK.score(text, answer))
    # (x1,x2,x3,x4) in FFTT, TTFT, FFFT satisfy the pinned formula.
    assert solutions.count(1.0) == 3
    assert TASK.score("Answer: x1=True, x2=True, x3=False, x4=True", answer) == 1.0
    assert TASK.score("Answer: x1=True, x2=True, x3=True, x4=True", answer) == 0.0


@pytest.mark.parametrize(
    "completion, expected",
    [
        ("x1 = false\nx4 = 1\nx2=0 X3=true", 1.0),
        ("Answer: x3=1, x4=1", 1.0),  # unassigned x1, x2 are False
        ("x1=True, x2=True, x4=True\nAnswer: x3=True, x4=True", 1.0),  # only the part after Answer: counts
        ("Answer: x1=False, x2=False, x3=True, x4=True, x4=False", 0.0),  # later overrides earlier
        ("<think>Answer: x3=True, x4=True</think>", 0.0),
        ("Answer: x2=True", 0.0),
        ("Answer: x4=True", 1.0),  # FFFT happens to satisfy it
        ("", 0.0),
        ("Answer: none", 0.0),
    ],
)
def test_score_parsing(completion, expected):
    assert TASK.score(completion, json.dumps({"n": 4, "clauses": PINNED_CLAUSES})) == expected


def test_empty_answer_scores_zero_even_when_all_false_satisfies():
    answer = json.dumps({"n": 2, "clauses": [[-1, -2]]})
    assert TASK.score("I give up", answer) == 0.0
    assert TASK.score("Answer: x1=False", answer) == 1.0


def test_format_ok():
    assert TASK.format_ok("reasoning\n**Answer:** x1=True, x2=False")
    assert not TASK.format_ok("x1=True, x2=False")
    assert not TASK.format_ok("Answer: True, False")
    assert not TASK.format_ok("<think>Answer: x1=True</think>")
