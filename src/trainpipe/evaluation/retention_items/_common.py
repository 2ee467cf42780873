"""What every retention item builder shares: the answer-style suffixes and the item record with its stable id."""

from __future__ import annotations

import re

_ONE_WORD = " Answer with one word."
_NUMBER = " Answer with just the number."
_LETTER = " Reply with just the letter."


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")


def _item(category: str, kind: str, slot, task: str, prompt: str, answer, history=None) -> dict:
    item = {"id": f"retention-{category}-{kind}-{_slug(slot)}", "prompt": prompt, "answer": str(answer), "task": task}
    if history:
        item["history"] = [{"role": role, "content": text} for role, text in history]
    return item
