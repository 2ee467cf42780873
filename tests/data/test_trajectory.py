"""The plain-text "Step N" parser on messy real-looking responses, and the conversation rendering."""

from __future__ import annotations

from trainpipe.data.trajectory import looks_like_trajectory, parse_steps, trajectory_messages


def step(thought="", action="", observation="", reward=None):
    return {"thought": thought, "action": action, "observation": observation, "reward": reward}


MARKDOWN_AGENT = """I'll work through this carefully.

**Step 1**
**Thought:** The config file is probably under /etc.
I should list the directory first.
**Action:** ls /etc/app


**Observation:** config.yaml
logs/

step 2 - Thought: Read the config.
Action: cat /etc/app/config.yaml
Reward: 0.5

### Step 3:
Thought: The port is 8080.
Final Answer: 8080
"""


def test_markdown_headers_preamble_multiline_and_final_answer():
    assert parse_steps(MARKDOWN_AGENT) == [
        step(
            "I'll work through this carefully.\n\nThe config file is probably under /etc.\n"
            "I should list the directory first.",
            "ls /etc/app",
            "config.yaml\nlogs/",
        ),
        step("Read the config.", "cat /etc/app/config.yaml", reward=0.5),
        step("The port is 8080.", "Final Answer: 8080"),
    ]


REACT_WEB = """Step 1: I need the population of Lyon.
Action: search[Lyon population]
Action Input: 2021 census
Observation: Lyon has 522,250 inhabitants (2021).
It is the third-largest city.
Thought: That answers it.
Step 2)
   - Thought: double-check with another source
   - Action: lookup[INSEE Lyon]
   - Obs: 522,228
Final Answer: about 522,000
"""


def test_react_text_with_unlabelled_first_thought_and_unnumbered_rounds():
    assert parse_steps(REACT_WEB) == [
        step(
            "I need the population of Lyon.",
            "search[Lyon population]\nAction Input: 2021 census",
            "Lyon has 522,250 inhabitants (2021).\nIt is the third-largest city.",
        ),
        step("That answers it."),
        step("double-check with another source", "lookup[INSEE Lyon]", "522,228"),
        step("", "Final Answer: about 522,000"),
    ]


SHELL_SESSION = """STEP 1.
Thought: run the tests



Action: pytest -q
Observation:
FAILED test_io.py::test_read - KeyError: 'path'
1 failed, 12 passed

Step 2:
Thought: fix the key lookup in io.py
Action: edit io.py
Step 3:
Step 4 — Thought: rerun
Action: pytest -q
Observation: 13 passed
Reward: not-a-number
"""


def test_missing_observation_blank_lines_empty_step_and_odd_reward():
    assert parse_steps(SHELL_SESSION) == [
        step("run the tests", "pytest -q", "FAILED test_io.py::test_read - KeyError: 'path'\n1 failed, 12 passed"),
        step("fix the key lookup in io.py", "edit io.py"),
        step("rerun", "pytest -q", "13 passed\nReward: not-a-number"),
    ]


def test_text_without_steps_parses_to_nothing():
    assert parse_steps("Just an answer.\nThought: hmm") == []
    assert looks_like_trajectory(MARKDOWN_AGENT) is True
    # A recipe has numbered steps but no Thought/Action labels: it stays an ordinary answer.
    assert looks_like_trajectory("Step 1: Preheat the oven.\nStep 2: Bake.") is False
    assert parse_steps("Step 2 of the plan is to wait.") == []


def test_trajectory_messages():
    steps = [step("look", "ls", "a.txt"), step("", "cat a.txt", ""), step("done", "Final Answer: a")]
    assert trajectory_messages("Find", "in cwd", steps) == [
        {"role": "user", "content": "Find\n\nin cwd"},
        {"role": "assistant", "content": "Thought: look\nAction: ls"},
        {"role": "user", "content": "Observation: a.txt"},
        {"role": "assistant", "content": "Action: cat a.txt"},
        {"role": "assistant", "content": "Thought: done\nFinal Answer: a"},
    ]
    assert trajectory_messages("Find", "", [{"thought": "t"}]) == [
        {"role": "user", "content": "Find"},
        {"role": "assistant", "content": "Thought: t"},
    ]
