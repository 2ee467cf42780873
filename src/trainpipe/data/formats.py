"""Record formats: detect a raw row's format from its keys and normalise it into a canonical record.

Every check raises DataError naming the file, line, field (as the file spells it) and what was expected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, NoReturn, Optional

from trainpipe.data import records as R
from trainpipe.data.readers import Where, type_name
from trainpipe.data.trajectory import looks_like_trajectory, parse_steps, trajectory_messages
from trainpipe.errors import DataError

FORMATS = (
    "alpaca",
    "chat",
    "sharegpt",
    "text",
    "scored_conversation",
    "cpt",
    "preference",
    "kto",
    "prompts",
    "trajectory",
)
# The use each format feeds; text-like formats may also feed sft (the whole text is one assistant turn).
DEFAULT_USE = {"text": "cpt", "cpt": "cpt", "preference": "preference", "kto": "kto", "prompts": "prompts"}
ALLOWED_USES = {"text": ("cpt", "sft"), "cpt": ("cpt", "sft")}
# Speaker names seen in ShareGPT-style and scored conversations, mapped to canonical roles.
SPEAKERS = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "model": "assistant",
    "system": "system",
}


@dataclass
class Ctx:
    """Where a row came from, so every failure can name its file, line and field."""

    file: str
    where: Where
    source: str
    columns: dict[str, str] = field(default_factory=dict)  # canonical -> file column

    def fail(self, name: Optional[str], expected: str, reason: str) -> NoReturn:
        raise DataError(self.file, self.where, self._label(name), expected, reason)

    def _label(self, name: Optional[str]) -> Optional[str]:
        # Name the column the user wrote, not the canonical one it was mapped to.
        if name is None:
            return None
        cut = min((i for i in (name.find("["), name.find(".")) if i >= 0), default=len(name))
        head = name[:cut]
        return self.columns.get(head, head) + name[cut:]


def default_use(fmt: str) -> str:
    return DEFAULT_USE.get(fmt, "sft")


def resolve_use(fmt: str, declared: str) -> Optional[str]:
    """The use a format feeds given the source's `use` (auto picks the default); None when they conflict."""
    if declared == "auto":
        return default_use(fmt)
    return declared if declared in ALLOWED_USES.get(fmt, (default_use(fmt),)) else None


def rename_columns(row: dict, columns: dict[str, str]) -> dict:
    out = dict(row)
    for canonical, column in columns.items():
        if column in out:
            out[canonical] = out.pop(column)
    return out


def detect_format(row: dict) -> Optional[str]:
    """The format a row's keys say it is in; None when no format fits."""
    keys = set(row)
    by_key = (
        ("steps", "trajectory"),
        ("conversation", "scored_conversation"),
        ("conversations", "sharegpt"),
        ("messages", "chat"),
    )
    for key, fmt in by_key:
        if key in keys:
            return fmt
    if {"chosen", "rejected"} <= keys:
        return "preference"
    if {"completion", "label"} <= keys:
        return "kto"
    if "instruction" in keys:
        response = row.get("response", row.get("output"))
        return "trajectory" if isinstance(response, str) and looks_like_trajectory(response) else "alpaca"
    if {"prompt", "answer"} <= keys:
        return "prompts"
    if {"ID", "output"} <= keys:
        return "cpt"
    return "text" if "text" in keys else None


def check_same_format(row: dict, fmt: str, ctx: Ctx) -> None:
    """Fail when a row plainly belongs to another format than its file's first record."""
    found = detect_format(row)
    if found is None or found == fmt:
        return
    # An instruction/response row is alpaca or a text trajectory depending on its content; both may mix.
    if {found, fmt} == {"alpaca", "trajectory"} and "steps" not in row:
        return
    ctx.fail(
        None,
        f"expected a record in the file's format ({fmt}, from its first record); got one in the {found} format",
        "mixed_format",
    )


# ---- field checks ---------------------------------------------------------------------------------


def required(row: dict, name: str, ctx: Ctx) -> Any:
    if row.get(name) is None:
        ctx.fail(name, "expected a value; the field is missing", "missing_field")
    return row[name]


def text(value: Any, name: str, ctx: Ctx, trained: bool = False) -> str:
    """A string; `trained` text must also be non-blank (an empty target trains nothing)."""
    if not isinstance(value, str):
        ctx.fail(name, f"expected a string; got {type_name(value)}", "wrong_type")
    if trained and not value.strip():
        ctx.fail(name, "expected non-empty text", "empty_text")
    return value


def number(value: Any, name: str, ctx: Ctx) -> Optional[float]:
    """An optional number; numeric strings pass because CSV cells are strings."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    ctx.fail(name, f"expected a number; got {type_name(value)} {value!r:.40}", "wrong_type")


def boolean(value: Any, name: str, ctx: Ctx) -> bool:
    spelled = {"true": True, "false": False, "1": True, "0": False}
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in spelled:
        return spelled[value.strip().lower()]
    ctx.fail(name, f"expected true or false; got {type_name(value)} {value!r:.40}", "wrong_type")


def messages(
    value: Any,
    name: str,
    ctx: Ctx,
    role_key: str = "role",
    content_key: str = "content",
    speakers: Optional[dict] = None,
) -> list[dict]:
    """A list of turns -> canonical messages; assistant turns must carry text."""
    if not isinstance(value, list):
        ctx.fail(name, f"expected a list of messages; got {type_name(value)}", "wrong_type")
    roles = speakers or {r: r for r in R.ROLES}
    out = []
    for i, turn in enumerate(value):
        where = f"{name}[{i}]"
        if not isinstance(turn, dict):
            ctx.fail(
                where, f"expected an object with {role_key} and {content_key}; got {type_name(turn)}", "wrong_type"
            )
        role = turn.get(role_key)
        if role not in roles:
            ctx.fail(f"{where}.{role_key}", f"expected one of {', '.join(roles)}; got {role!r:.40}", "unknown_role")
        content = text(turn.get(content_key), f"{where}.{content_key}", ctx, trained=roles[role] == "assistant")
        out.append(R.message(roles[role], content))
    return out


def with_assistant(msgs: list[dict], name: str, ctx: Ctx) -> list[dict]:
    if not any(m["role"] == "assistant" for m in msgs):
        ctx.fail(name, "expected at least one assistant turn", "no_assistant")
    return msgs


def turns(value: Any, name: str, ctx: Ctx, role: str) -> list[dict]:
    """A plain string as one `role` turn, or a message list (preference and KTO fields)."""
    if isinstance(value, str):
        return [R.message(role, text(value, name, ctx, trained=role == "assistant"))]
    msgs = messages(value, name, ctx)
    return with_assistant(msgs, name, ctx) if role == "assistant" else msgs


def leftovers(row: dict, used: tuple[str, ...]) -> dict:
    return {k: v for k, v in row.items() if k not in used}


# ---- normalisers ------------------------------------------------------------------------------------


def _text_record(value: str, use: str, ctx: Ctx) -> dict:
    if use == "sft":
        return R.sft_record(ctx.source, [R.message("assistant", value)])
    return R.cpt_record(ctx.source, value)


def _text(row: dict, use: str, ctx: Ctx) -> dict:
    return _text_record(text(required(row, "text", ctx), "text", ctx, trained=True), use, ctx)


def _cpt(row: dict, use: str, ctx: Ctx) -> dict:
    return _text_record(text(required(row, "output", ctx), "output", ctx, trained=True), use, ctx)


def _alpaca(row: dict, use: str, ctx: Ctx) -> dict:
    key = "response" if "response" in row and "output" not in row else "output"
    instruction = text(required(row, "instruction", ctx), "instruction", ctx)
    extra = text(row.get("input") or "", "input", ctx)
    output = text(required(row, key, ctx), key, ctx, trained=True)
    user = f"{instruction}\n\n{extra}" if extra.strip() else instruction
    msgs = [R.message("user", user), R.message("assistant", output)]
    return R.sft_record(ctx.source, msgs, meta=leftovers(row, ("instruction", "input", key)))


def _chat(row: dict, use: str, ctx: Ctx) -> dict:
    msgs = with_assistant(messages(required(row, "messages", ctx), "messages", ctx), "messages", ctx)
    return R.sft_record(ctx.source, msgs, meta=leftovers(row, ("messages",)))


def _sharegpt(row: dict, use: str, ctx: Ctx) -> dict:
    value = required(row, "conversations", ctx)
    msgs = with_assistant(messages(value, "conversations", ctx, "from", "value", SPEAKERS), "conversations", ctx)
    return R.sft_record(ctx.source, msgs, meta=leftovers(row, ("conversations",)))


def _scored(row: dict, use: str, ctx: Ctx) -> dict:
    value = required(row, "conversation", ctx)
    msgs = with_assistant(messages(value, "conversation", ctx, speakers=SPEAKERS), "conversation", ctx)
    score = number(required(row, "meta_eval_score", ctx), "meta_eval_score", ctx)
    if score is None:
        ctx.fail("meta_eval_score", "expected a number; the field is empty", "missing_field")
    # The raw score stays in meta under its own name (sft.score reads it there, and so does an external reward
    # with field meta_eval_score); `weight` stays 1: how a score becomes a loss weight is sft.score's choice.
    meta = {**leftovers(row, ("conversation", R.SCORE_KEY)), R.SCORE_KEY: score}
    return R.sft_record(ctx.source, msgs, reward=score, meta=meta)


def _preference(row: dict, use: str, ctx: Ctx) -> dict:
    prompt = turns(required(row, "prompt", ctx), "prompt", ctx, "user")
    chosen = turns(required(row, "chosen", ctx), "chosen", ctx, "assistant")
    rejected = turns(required(row, "rejected", ctx), "rejected", ctx, "assistant")
    return R.preference_record(ctx.source, prompt, chosen, rejected)


def _kto(row: dict, use: str, ctx: Ctx) -> dict:
    prompt = turns(required(row, "prompt", ctx), "prompt", ctx, "user")
    completion = turns(required(row, "completion", ctx), "completion", ctx, "assistant")
    return R.kto_record(ctx.source, prompt, completion, boolean(required(row, "label", ctx), "label", ctx))


def _prompts(row: dict, use: str, ctx: Ctx) -> dict:
    prompt = text(required(row, "prompt", ctx), "prompt", ctx, trained=True)
    answer = required(row, "answer", ctx)
    # Numeric answers are common in JSON ("answer": 42); the reference is compared as text.
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        answer = str(answer)
    task = text(row.get("task") or "", "task", ctx)
    return R.prompt_record(ctx.source, prompt, task, text(answer, "answer", ctx))


def _step(value: Any, i: int, ctx: Ctx) -> dict:
    name = f"steps[{i}]"
    if not isinstance(value, dict):
        ctx.fail(name, f"expected an object with thought, action, observation; got {type_name(value)}", "wrong_type")
    step = {k: text(value.get(k) or "", f"{name}.{k}", ctx) for k in ("thought", "action", "observation")}
    if not (step["thought"].strip() or step["action"].strip()):
        ctx.fail(f"{name}.action", "expected a non-empty thought or action", "empty_text")
    step["reward"] = number(value.get("reward"), f"{name}.reward", ctx)
    return step


def _text_steps(row: dict, ctx: Ctx) -> list[dict]:
    key = "response" if "response" in row else "output"
    steps = parse_steps(text(required(row, key, ctx), key, ctx, trained=True))
    if not steps:
        ctx.fail(key, "expected 'Step N:' blocks with Thought/Action/Observation", "unparseable")
    return steps


def _trajectory(row: dict, use: str, ctx: Ctx) -> dict:
    instruction = text(required(row, "instruction", ctx), "instruction", ctx)
    extra = text(row.get("input") or "", "input", ctx)
    if "steps" in row:
        value = required(row, "steps", ctx)
        if not isinstance(value, list) or not value:
            ctx.fail("steps", f"expected a non-empty list of steps; got {type_name(value)}", "wrong_type")
        steps = [_step(s, i, ctx) for i, s in enumerate(value)]
    else:
        steps = _text_steps(row, ctx)
    rewards = [s["reward"] for s in steps]
    task_id = row.get("task_id")
    # Integer task ids are common and unambiguous; anything else is not an id.
    if isinstance(task_id, bool) or not isinstance(task_id, (str, int, type(None))):
        ctx.fail("task_id", f"expected a string; got {type_name(task_id)}", "wrong_type")
    used = ("instruction", "input", "steps", "response", "output", "task_id", "reward")
    return R.sft_record(
        ctx.source,
        trajectory_messages(instruction, extra.strip(), steps),
        reward=number(row.get("reward"), "reward", ctx),
        step_rewards=rewards if all(r is not None for r in rewards) else [],
        task_id=None if task_id is None else str(task_id),
        meta=leftovers(row, used),
    )


NORMALISERS: dict[str, Callable[[dict, str, Ctx], dict]] = {
    "alpaca": _alpaca,
    "chat": _chat,
    "sharegpt": _sharegpt,
    "text": _text,
    "scored_conversation": _scored,
    "cpt": _cpt,
    "preference": _preference,
    "kto": _kto,
    "prompts": _prompts,
    "trajectory": _trajectory,
}


def normalise(row: dict, fmt: str, use: str, ctx: Ctx) -> dict:
    """The canonical record of a (renamed) row in format `fmt` for `use`; DataError when it is unusable."""
    return NORMALISERS[fmt](row, use, ctx)
