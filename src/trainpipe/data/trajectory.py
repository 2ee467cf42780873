"""Agent trajectories: parse plain-text "Step N: Thought/Action/Observation" responses into steps,
and render steps as a conversation (assistant Thought/Action turns, user Observation turns).
"""

from __future__ import annotations

import re
from typing import Optional

from trainpipe.data.records import message

# "Step 1:", "step 2 -", "**Step 3**", "### Step 4: text", "Step 5)" at the start of a line. The separator
# (or the end of the line) after the number keeps prose such as "step 2 of the plan" from opening a step.
_STEP = re.compile(
    r"^[\s#>*_]*step\s*(\d+)\s*(?:\*\*|__)?\s*(?:[:.)\-\u2013\u2014]+|(?=\s*$))\s*(?:\*\*|__)?\s*(.*)$",
    re.IGNORECASE,
)
# "Thought:", "**Action:**", "- Observation:", "Final Answer:" ... at the start of a line.
_LABEL = re.compile(
    r"^[\s>*_-]*(thought|thinking|action input|action|observation|obs|final answer|reward)"
    r"\s*(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s?(.*)$",
    re.IGNORECASE,
)
_TARGET = {
    "thought": "thought",
    "thinking": "thought",
    "action": "action",
    "observation": "observation",
    "obs": "observation",
}
_FINAL = "Final Answer:"


def looks_like_trajectory(text: str) -> bool:
    """True when the text has a "Step N" header and a Thought/Action label: a recipe's "Step 1" alone is not enough."""
    lines = text.splitlines()
    return any(_STEP.match(line) for line in lines) and any(_LABEL.match(line) for line in lines)


def _new_step() -> dict:
    return {"thought": [], "action": [], "observation": [], "reward": None}


def _has(step: dict, *fields: str) -> bool:
    return any("".join(step[f]).strip() for f in fields)


def _labelled(steps: list[dict], name: str, rest: str, field: str) -> str:
    """Apply one labelled line to the open step; returns the field later unlabelled lines continue."""
    step = steps[-1]
    if name == "reward":
        try:
            step["reward"] = float(rest.strip())
            return field
        except ValueError:
            step[field].append(f"Reward: {rest}")
            return field
    if name == "action input":
        step["action"].append(f"Action Input: {rest}")
        return "action"
    target = "action" if name == "final answer" else _TARGET[name]
    # A label that can only start a new round opens the next step: ReAct text often repeats
    # Thought/Action/Observation without numbering each round.
    later = {"thought": ("action", "observation"), "action": ("observation",), "observation": ()}[target]
    if name == "final answer":
        later = ("action", "observation")
    if _has(step, *later):
        steps.append(_new_step())
        step = steps[-1]
    step[target].append(f"{_FINAL} {rest}" if name == "final answer" else rest)
    return target


def _clean(lines: list[str]) -> str:
    text = "\n".join(line.rstrip() for line in lines).strip()
    return re.sub(r"\n{3,}", "\n\n", text)


def parse_steps(text: str) -> list[dict]:
    """Steps {thought, action, observation, reward} of a "Step N:" text; [] when it has no step header.

    Text before the first step is kept as the start of the first thought; a "Final Answer:" line becomes
    the action "Final Answer: ..."; "Reward: x" sets the step's reward; empty steps are dropped.
    """
    steps: list[dict] = []
    preamble: list[str] = []
    field = "thought"
    for line in text.splitlines():
        header = _STEP.match(line)
        if header:
            steps.append(_new_step())
            field, line = "thought", header.group(2)
            if not line.strip():
                continue
        if not steps:
            preamble.append(line)
            continue
        label = _LABEL.match(line)
        if label:
            field = _labelled(steps, label.group(1).lower(), label.group(2), field)
        else:
            steps[-1][field].append(line)
    if steps and _clean(preamble):
        steps[0]["thought"] = preamble + [""] + steps[0]["thought"]
    parsed = [{k: (v if k == "reward" else _clean(v)) for k, v in s.items()} for s in steps]
    return [s for s in parsed if s["thought"] or s["action"] or s["observation"]]


def _assistant_text(thought: str, action: str) -> str:
    parts = [f"Thought: {thought}"] if thought else []
    if action:
        parts.append(action if action.startswith(_FINAL) else f"Action: {action}")
    return "\n".join(parts)


def observation_message(observation: str) -> dict:
    """The user turn that shows the agent an observation (training data and environment evaluation alike)."""
    return message("user", f"Observation: {observation}")


def trajectory_messages(instruction: str, input: Optional[str], steps: list[dict]) -> list[dict]:
    """[user: instruction (+ "\\n\\n" + input)], then per step an assistant turn "Thought: ...\\nAction: ..."
    and, when the observation is non-empty, a user turn "Observation: ...".

    An empty thought or action is left out of its turn; a final answer shows as "Final Answer: ...".
    """
    user = f"{instruction}\n\n{input}" if input else instruction
    messages = [message("user", user)]
    for step in steps:
        messages.append(message("assistant", _assistant_text(step.get("thought") or "", step.get("action") or "")))
        if step.get("observation"):
            messages.append(observation_message(step["observation"]))
    return messages
