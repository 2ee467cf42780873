import json

import pytest

from trainpipe.tasks.abd import AbductionTask, proposed_stdin

TASK = AbductionTask()

PINNED_PROGRAM = "s = input().strip()\ns = s[::2] + s[1::2]\nprint(s)"
PINNED_ANSWER = json.dumps({"program": PINNED_PROGRAM, "output": "vwals\n"})


def test_pinned_first_item():
    item = TASK.generate(seed=0, n=1, difficulty=1)[0]
    assert item.prompt == (
        "Here is a Python program:\n\n```python\n" + PINNED_PROGRAM + "\n```\n\n"
        "When run, it printed exactly:\n\n```\nvwals\n```\n\n"
        "What did it read from standard input? Give the exact input between <INPUT> and </INPUT> tags:\n"
        "<INPUT>\n...\n</INPUT>"
    )
    assert item.answer == PINNED_ANSWER
    assert item.solution == "<INPUT>\nvlwsa\n</INPUT>"


@pytest.mark.parametrize("difficulty", [1, 2, 3, 4])
def test_solutions_score_one(difficulty):
    items = TASK.generate(seed=5, n=4, difficulty=difficulty)
    for item in items:
        assert TASK.format_ok(item.solution)
        assert TASK.score(item.solution, item.answer) == 1.0


def test_difficulty_sets_pipeline_length():
    for difficulty, least in ((1, 30), (3, 15)):
        pipelines = 0
        for item in TASK.generate(seed=2, n=30, difficulty=difficulty):
            lines = json.loads(item.answer)["program"].split("\n")
            if lines[0].startswith(("n =", "nums =")) or lines[-1] == "print(s)":
                pipelines += 1
                assert len(lines) == difficulty + 2
                assert all(a != b for a, b in zip(lines[1:-1], lines[2:-1]))
        assert pipelines >= least


@pytest.mark.parametrize(
    "completion, expected",
    [
        ("<INPUT>vlwsa</INPUT>", 1.0),
        ("The input was:\n<INPUT>\nvlwsa\n</INPUT>\n", 1.0),
        ("<input>\n  vlwsa  \n\n</input>", 1.0),  # the program strips its input line
        ("<INPUT>vwals</INPUT>", 0.0),
        ("<INPUT>wrong</INPUT>\n<INPUT>vlwsa</INPUT>", 1.0),
        ("<INPUT>vlwsa</INPUT>\n<INPUT>wrong</INPUT>", 0.0),
        ("<think><INPUT>vlwsa</INPUT></think>", 0.0),
        ("vlwsa", 0.0),
        ("<INPUT>vlwsa", 0.0),
        ("<INPUT>" + "a" * 20_000 + "</INPUT>", 0.0),
    ],
)
def test_score(completion, expected):
    assert TASK.score(completion, PINNED_ANSWER) == expected


def test_many_to_one_programs_accept_any_valid_input():
    answer = json.dumps({"program": "a, b = map(int, input().split())\nprint(a + b, a * b)", "output": "9 20\n"})
    assert TASK.score("<INPUT>4 5</INPUT>", answer) == 1.0
    assert TASK.score("<INPUT>5 4</INPUT>", answer) == 1.0
    assert TASK.score("<INPUT>3 6</INPUT>", answer) == 0.0
    assert TASK.score("<INPUT>four five</INPUT>", answer) == 0.0  # program crashes: no credit


def test_proposed_stdin_normalises_block():
    assert proposed_stdin("<INPUT>\r\n1 2\r\n3\r\n</INPUT>") == "1 2\n3\n"
    assert proposed_stdin("no tags") is None


def test_format_ok():
    assert TASK.format_ok("<INPUT>\n1\n</INPUT>")
    assert not TASK.format_ok("INPUT: 1")
    assert not TASK.format_ok("<think><INPUT>1</INPUT></think>")
