"""Built-in retention Q&A content: everyday prompts with checkable answers in five categories (instruction
following, output formats, everyday facts, short reasoning, multi-turn chat), built from word lists and templates
written for this project. Pure data; an id names its category, template and slot, so adding an item never moves
another one, and no item is two-number addition or subtraction (the default training task).

The yield of each kind on the embedded SmolLM2-135M-Instruct (base-correct of all, greedy, 32 new tokens; 567 of
811 in all) is in the comment above it. An item counts only once the base model answers it, and a template it
passes mostly by chance measures noise, so kinds it mostly failed are left out: "reply with exactly the word X",
changing a word's case, word and letter counts, alphabetical order, sorting numbers, yes/no questions (it answers
"No" to all), past tenses, analogies, odd one out, next in a sequence, days and months before or after, colours,
animal sounds. Where a reply that repeats the question could pass, the checker reads the option named first and the
question comes in both orders."""

from __future__ import annotations

from trainpipe.evaluation.retention_items.chat import chat
from trainpipe.evaluation.retention_items.facts import facts
from trainpipe.evaluation.retention_items.formats import formats
from trainpipe.evaluation.retention_items.instruct import instruct
from trainpipe.evaluation.retention_items.reasoning import reasoning

CATEGORIES = ("instruct", "format", "fact", "reason", "chat")


def all_items() -> list[dict]:
    """Every built-in candidate, category by category."""
    return [*instruct(), *formats(), *facts(), *reasoning(), *chat()]
