"""Answer checkers for items outside the task families (retention Q&A, user eval files) and the scorer
that routes an item to its task family or checker. Pure functions; nothing here touches disk."""

from __future__ import annotations

import json
import re
from typing import Callable

from trainpipe.tasks import TASKS
from trainpipe.tasks.answers import strip_think

_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")
# Quotes, trailing punctuation and markdown emphasis a chat model wraps around a one-word reply.
_WRAPPING = " \t\n\"'`*_.!,;:"


def _visible(completion: str) -> str:
    return strip_think(completion).strip()


def check_exact(completion: str, answer: str) -> float:
    """The whole reply, case-insensitive and without wrapping quotes or punctuation, is the answer."""
    return float(_visible(completion).strip(_WRAPPING).lower() == answer.strip(_WRAPPING).lower())


def _has_phrase(text: str, phrase: str, flags: int) -> bool:
    # Word boundaries stop "cold" matching "scold"; \b fails next to non-word characters, hence lookarounds.
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text, flags) is not None


def check_word(completion: str, answer: str) -> float:
    """The answer appears as a whole word or phrase, ignoring case."""
    return float(_has_phrase(_visible(completion), answer.strip(), re.IGNORECASE))


def check_word_case(completion: str, answer: str) -> float:
    """The answer appears as a whole word or phrase with the same letter case (formatting prompts)."""
    return float(_has_phrase(_visible(completion), answer.strip(), 0))


def check_number(completion: str, answer: str) -> float:
    """The first number in the reply equals the answer (thousands separators allowed)."""
    found = _NUMBER.search(_visible(completion))
    if found is None:
        return 0.0
    return float(abs(float(found.group().replace(",", "")) - float(answer)) < 1e-9)


def check_json(completion: str, answer: str) -> float:
    """The first {...} object in the reply parses to the same JSON value as the answer."""
    text = _visible(completion)
    start = text.find("{")
    if start < 0:
        return 0.0
    try:
        value, _ = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        return 0.0
    return float(value == json.loads(answer))


def _first_of(text: str, options: list[str]) -> str | None:
    """The option mentioned first in the text (whole words, ignoring case, a plural 's' allowed)."""
    found = [
        (m.start(), o)
        for o in options
        if (m := re.search(rf"(?<!\w){re.escape(o)}(?:e?s)?(?!\w)", text, re.IGNORECASE))
    ]
    return min(found)[1] if found else None


_QUOTED_LETTER = re.compile(r"""(?<!\w)["'*]([A-Za-z])["'*](?!\w)""")


def check_letter(completion: str, answer: str) -> float:
    """The reply is the letter, or the first letter it quotes is ("The first letter of 'apple' is 'A'."), either case.
    Unquoted single letters are not read: "a" and "I" are words."""
    text = _visible(completion)
    bare = text.strip(_WRAPPING)
    found = bare if len(bare) == 1 else (m.group(1) if (m := _QUOTED_LETTER.search(text)) else None)
    return float(found is not None and found.lower() == answer.strip().lower())


def check_choice(completion: str, answer: str) -> float:
    """answer is "right|other|...": the option the reply names first is the right one (a reply that restates
    both options in the question's order names the first one, so prompts ask in both orders)."""
    options = [o.strip() for o in answer.split("|")]
    return float(_first_of(_visible(completion), options) == options[0])


CHECKS: dict[str, Callable[[str, str], float]] = {
    "exact": check_exact,
    "word": check_word,
    "word_case": check_word_case,
    "number": check_number,
    "json": check_json,
    "choice": check_choice,
    "letter": check_letter,
}


def known_scorers() -> list[str]:
    return [*TASKS, *CHECKS]


def score_item(task: str, completion: str, answer: str) -> float:
    """Score one completion with the item's task family, or with the checker of that name."""
    if task in TASKS:
        return float(TASKS[task].score(completion, answer))
    return CHECKS[task](completion, answer)


def format_ok(task: str, completion: str) -> bool | None:
    """Whether the completion follows the family's answer format; None for checkers (no format)."""
    return bool(TASKS[task].format_ok(completion)) if task in TASKS else None
