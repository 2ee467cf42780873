"""Shared parsing of model completions: strip <think> reasoning, pull out final answers.

Pure string functions used by every task family's score() and format_ok(); none of them raise.
"""

from __future__ import annotations

import re

_THINK_OPEN = re.compile(r"<think>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think>", re.IGNORECASE)

# A comma-grouped integer (1,234,567) or a plain digit run, never a piece of a longer number or of
# a decimal ("85.5"). Starting only where no digit precedes keeps matching linear on long digit runs.
_INT = r"(?<!\d)(?<!\d[.,])[-\u2212]?(?:\d{1,3}(?:,\d{3})+|\d+)(?!,?\d|\.\d)"
_ANSWER_INT = re.compile(r"answer[ \t*_]*:[ \t*_$]*(" + _INT + r")", re.IGNORECASE)
_ANSWER_INT_LINE = re.compile(
    r"^[ \t*#>_]*answer[ \t*_]*:[ \t*_$]*(" + _INT + r")[ \t*_$]*\.?[ \t]*$", re.IGNORECASE | re.MULTILINE
)
_ANY_INT = re.compile(_INT)
_ANSWER_MARK = re.compile(r"answer[ \t*_]*:", re.IGNORECASE)
# Variable numbers are capped at 6 digits so int() never sees a pathological digit run.
_ASSIGN = re.compile(r"\bx(\d{1,6})\s*[=:]\s*(true|false|1|0)\b", re.IGNORECASE)
_PY_BLOCK = re.compile(r"```[ \t]*(?:python|py|python3)[ \t]*\r?\n(.*?)```", re.IGNORECASE | re.DOTALL)


def strip_think(text: str) -> str:
    """Drop reasoning: closed <think>…</think> blocks, an unclosed <think> to the end, and a
    stray </think> (chat templates that put the opening tag in the prompt) with all before it."""
    # Each search resumes where the previous one ended, so thousands of unclosed tags stay linear.
    kept, pos = [], 0
    while True:
        opened = _THINK_OPEN.search(text, pos)
        if opened is None:
            kept.append(text[pos:])
            break
        kept.append(text[pos : opened.start()])
        closed = _THINK_CLOSE.search(text, opened.end())
        if closed is None:
            break
        pos = closed.end()
    visible = "".join(kept)
    closers = list(_THINK_CLOSE.finditer(visible))
    return visible[closers[-1].end() :] if closers else visible


def _to_int(token: str) -> int | None:
    try:
        return int(token.replace(",", "").replace("\u2212", "-"))
    except ValueError:  # Python refuses str->int beyond 4300 digits; no answer is that long
        return None


def final_int(text: str) -> int | None:
    """The last `Answer: <int>` in the think-stripped text, else its last integer, else None."""
    visible = strip_think(text)
    tagged = list(_ANSWER_INT.finditer(visible))
    if tagged:
        return _to_int(tagged[-1].group(1))
    loose = list(_ANY_INT.finditer(visible))
    return _to_int(loose[-1].group(0)) if loose else None


def has_answer_int_line(text: str) -> bool:
    """True when the think-stripped text has a line of the form `Answer: <int>`."""
    return _ANSWER_INT_LINE.search(strip_think(text)) is not None


def parse_assignment(text: str) -> dict[int, bool]:
    """Variable assignments `xN=True/False` (also `= true`, `1/0`, `:`) after the last `Answer:`
    marker if there is one, else in the whole think-stripped text; later ones override earlier."""
    visible = strip_think(text)
    marks = list(_ANSWER_MARK.finditer(visible))
    if marks:
        tail = visible[marks[-1].end() :]
        # An "Answer:" with no assignments after it (e.g. a heading) must not hide the real ones.
        if _ASSIGN.search(tail):
            visible = tail
    values: dict[int, bool] = {}
    for match in _ASSIGN.finditer(visible):
        values[int(match.group(1))] = match.group(2).lower() in ("true", "1")
    return values


def last_tagged(text: str, tag: str) -> str | None:
    """Inner text of the last <TAG>…</TAG> block (tag name case-insensitive) outside <think>:
    from the last opening tag before the last closing tag, so stray openers cannot cost quadratic time."""
    visible = strip_think(text)
    closers = list(re.finditer(rf"</{re.escape(tag)}>", visible, re.IGNORECASE))
    if not closers:
        return None
    end = closers[-1].start()
    openers = list(re.compile(rf"<{re.escape(tag)}>", re.IGNORECASE).finditer(visible, 0, end))
    return visible[openers[-1].end() : end] if openers else None


def last_python_block(text: str) -> str | None:
    """Body of the last ```python fenced block outside <think>, or None."""
    blocks = _PY_BLOCK.findall(strip_think(text))
    return blocks[-1] if blocks else None


def normalize_output(text: str) -> str:
    """Program output compared modulo trailing spaces per line, CRLF, and trailing blank lines."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)
