"""Validate a user config tree against the dataclass schema, collecting every problem before failing.

Reads a YAML file plus dotted overrides; returns typed dataclass objects or raises UserError.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import types
import typing
from typing import Any, Literal, Union

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from trainpipe.errors import UserError

# Values that must lie in a range; checked after types (key suffix → (predicate, expectation)).
RANGES: dict[str, tuple[typing.Callable[[Any], bool], str]] = {
    "learning_rate": (lambda v: v > 0, "a positive number"),
    "batch_size": (lambda v: v >= 1, "an integer ≥ 1"),
    "grad_accum": (lambda v: v >= 1, "an integer ≥ 1"),
    "epochs": (lambda v: v > 0, "a positive number"),
    "eval_fraction": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "max_length": (lambda v: v >= 8, "an integer ≥ 8"),
    "warmup_ratio": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "drop_top": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "save_steps": (lambda v: v >= 1, "an integer ≥ 1"),
    "max_minutes": (lambda v: v >= 0, "a number of minutes ≥ 0 (0: no time limit)"),
    "save_total_limit": (lambda v: v >= 1, "an integer ≥ 1"),
    "num_generations": (lambda v: v >= 2, "an integer ≥ 2"),
    "level": (lambda v: 0 < v < 1, "a number in (0, 1)"),
    "blend_alpha": (lambda v: 0 <= v <= 1, "a number in [0, 1]"),
    "n": (lambda v: v >= 1, "an integer ≥ 1"),
    "start_ratio": (lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "overlap_steps": (lambda v: v >= 0, "an integer ≥ 0"),
    "noise": (lambda v: 0 <= v <= 1, "a number in [0, 1]"),
    "max_turns": (lambda v: v >= 1, "an integer ≥ 1"),
    "env_max_turns": (lambda v: v >= 1, "an integer ≥ 1"),
    "env_difficulty": (lambda v: v >= 1, "an integer ≥ 1"),
    "env_turn_tokens": (lambda v: v >= 1, "an integer ≥ 1"),
    "num_processes": (lambda v: v >= 1, "an integer ≥ 1"),
    "num_machines": (lambda v: v >= 1, "an integer ≥ 1"),
    "machine_rank": (lambda v: v >= 0, "an integer ≥ 0"),
    "main_process_port": (lambda v: 0 < v < 65536, "a TCP port (1-65535)"),
    "wait_seconds": (lambda v: v > 0, "a number of seconds > 0"),
}


def load_and_check(schema: type, path: str | None, overrides: list[str]) -> Any:
    problems: list[str] = []
    lines: dict[str, int] = {}
    user: dict = {}
    if path:
        user, lines = _read_yaml(path)
    over_keys: set[str] = set()
    for item in overrides:
        key, sep, _ = item.partition("=")
        if not sep or not key.strip():
            problems.append(f"override '{item}': expected dotted.key=value")
            continue
        over_keys.add(key.strip().lstrip("+"))
    if problems:
        raise UserError("invalid config:\n  " + "\n  ".join(problems))
    try:
        merged = OmegaConf.merge(OmegaConf.create(user), OmegaConf.from_dotlist(overrides))
        plain = OmegaConf.to_container(merged, resolve=True)
    except OmegaConfBaseException as exc:
        raise UserError(f"invalid config: {exc}") from None

    where = _Where(path, lines, over_keys, _dotted_keys(schema))
    _check(schema, plain, "", problems, where)
    if problems:
        raise UserError("invalid config:\n  " + "\n  ".join(problems))
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), plain))
    except OmegaConfBaseException as exc:
        raise UserError(f"invalid config: {exc}") from None


@dataclasses.dataclass
class _Where:
    """Names where a key came from (file:line, or the override) and where else the schema has a key of that name."""

    path: str | None
    lines: dict[str, int]
    over_keys: set[str]
    known: list[str]  # every dotted key of the schema (list items as [])

    def __call__(self, key: str) -> str:
        if any(key == k or key.startswith(k + ".") or key.startswith(k + "[") for k in self.over_keys):
            return f"override {key}"
        line = self.lines.get(key)
        return f"{self.path}:{line}: {key}" if line else key

    def elsewhere(self, key: str) -> list[str]:
        """Keys of other sections with the same name at the same depth (rl.packing -> cpt.packing, sft.packing)."""
        parts = key.split(".")
        return [k for k in self.known if k.split(".")[-1] == parts[-1] and len(k.split(".")) == len(parts)]


def _dotted_keys(tp: type, prefix: str = "") -> list[str]:
    out = []
    for f in dataclasses.fields(tp):
        key = f"{prefix}.{f.name}" if prefix else f.name
        out.append(key)
        hint = typing.get_type_hints(tp)[f.name]
        inner = [a for a in (hint, *typing.get_args(hint)) if dataclasses.is_dataclass(a)]
        if inner:
            out += _dotted_keys(inner[0], key + ("[]" if typing.get_origin(hint) is list else ""))
    return out


def _read_yaml(path: str) -> tuple[dict, dict[str, int]]:
    if not os.path.exists(path):
        raise UserError(f"config file not found: {path}")
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        node = yaml.compose(text)
        data = OmegaConf.to_container(OmegaConf.create(text), resolve=False) if node is not None else {}
    except (yaml.YAMLError, UnicodeDecodeError, OmegaConfBaseException) as exc:
        raise UserError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of config sections at the top level")
    lines: dict[str, int] = {}
    _node_lines(node, "", lines)
    return data, lines


def _node_lines(node: Any, prefix: str, out: dict[str, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value in node.value:
            key = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            out[key] = key_node.start_mark.line + 1
            _node_lines(value, key, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            out[f"{prefix}[{i}]"] = value.start_mark.line + 1
            _node_lines(value, f"{prefix}[{i}]", out)


def _check(tp: Any, value: Any, key: str, problems: list[str], where) -> None:
    """Append a message for every mismatch between `value` and the annotation `tp`."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if value is None or value == "???":
        if not (origin in (Union, types.UnionType) and type(None) in args):
            problems.append(f"{where(key)}: missing required value")
        return
    if dataclasses.is_dataclass(tp):
        _check_fields(tp, value, key, problems, where)
    elif origin in (Union, types.UnionType):
        _check([a for a in args if a is not type(None)][0], value, key, problems, where)
    elif origin is Literal:
        if value not in args:
            problems.append(f"{where(key)}: expected one of {', '.join(map(str, args))}; got {value!r}")
    elif origin is list:
        if not isinstance(value, list):
            problems.append(f"{where(key)}: expected a list; got {value!r}")
            return
        for i, item in enumerate(value):
            _check(args[0], item, f"{key}[{i}]", problems, where)
    elif origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{where(key)}: expected a mapping; got {value!r}")
            return
        for k, v in value.items():
            _check(args[1], v, f"{key}.{k}", problems, where)
    elif not _scalar_ok(tp, value):
        problems.append(f"{where(key)}: expected {tp.__name__}; got {value!r}")
    else:
        _check_range(key, value, problems, where)


def _check_fields(tp: type, value: Any, key: str, problems: list[str], where) -> None:
    if not isinstance(value, dict):
        problems.append(f"{where(key)}: expected a mapping; got {value!r}")
        return
    hints = typing.get_type_hints(tp)
    names = [f.name for f in dataclasses.fields(tp)]
    for k, v in value.items():
        sub = f"{key}.{k}" if key else str(k)
        if k not in hints:
            problems.append(f"{where(sub)}: unknown key{_suggestion(key, str(k), names, where.elsewhere(sub))}")
            continue
        _check(hints[k], v, sub, problems, where)


def _suggestion(section: str, key: str, names: list[str], elsewhere: list[str]) -> str:
    """A close name in the same section, and the other sections that have this exact key (a setting of one
    stage given to another: rl.packing is an sft and cpt setting)."""
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    others = f"{key} is a setting of {', '.join(k.rsplit('.', 1)[0] for k in elsewhere)} only" if elsewhere else ""
    if close:
        return f"; did you mean '{(section + '.') if section else ''}{close[0]}'?" + (f" ({others})" if others else "")
    return f"; did you mean '{elsewhere[0]}'? ({others})" if elsewhere else ""


def _scalar_ok(tp: Any, value: Any) -> bool:
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        if isinstance(value, str):
            try:
                float(value)
                return True
            except ValueError:
                return False
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    return True


def _check_range(key: str, value: Any, problems: list[str], where) -> None:
    rule = RANGES.get(key.rsplit(".", 1)[-1])
    if rule is None or isinstance(value, (str, bool)):
        return
    ok, expected = rule
    if not ok(value):
        problems.append(f"{where(key)}: expected {expected}; got {value!r}")
