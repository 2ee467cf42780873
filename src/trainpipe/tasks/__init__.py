"""Verifiable task families (arithmetic, abduction, deduction, SAT) and lookup by name.

Families generate prompts with gold answers and score completions; nothing here touches disk.
"""

from __future__ import annotations

from trainpipe.errors import UserError
from trainpipe.tasks.abd import AbductionTask
from trainpipe.tasks.arithmetic import ArithmeticTask
from trainpipe.tasks.base import TaskFamily, TaskItem
from trainpipe.tasks.ded import DeductionTask
from trainpipe.tasks.sat import SatTask

TASKS: dict[str, TaskFamily] = {
    "arithmetic": ArithmeticTask(),
    "abd": AbductionTask(),
    "ded": DeductionTask(),
    "sat": SatTask(),
}


def get_task(name: str) -> TaskFamily:
    """The registered family called `name`; unknown names are a user error listing the known ones."""
    try:
        return TASKS[name]
    except (KeyError, TypeError):
        raise UserError(f"unknown task {name!r}; known: {', '.join(TASKS)}") from None


__all__ = ["TASKS", "TaskFamily", "TaskItem", "get_task"]
