"""Config accepts only what it uses: every field of the schema (config.py, config_train.py, config_rl.py, every section, recursively) is read by
code under src/trainpipe, and read on that section, not merely a field of the same name in another one.

The rule: the source is parsed (not run), every expression whose schema class can be told (see `Reads`) is typed,
and a field counts as read when it is loaded from an expression of its class or of a base class declaring it.
So `rl.packing` stays unread while sft reads `sft.packing`, and hashing a section into a stage's fingerprint
(config_sections) is not a read. the schema modules and config_check.py do not count: they handle every field by design.
"""

from __future__ import annotations

import ast
import dataclasses
import typing
from pathlib import Path

from trainpipe import config

SRC = Path(__file__).resolve().parents[1] / "src" / "trainpipe"
SKIP = (
    "config.py",
    "config_train.py",
    "config_rl.py",
    "config_check.py",
)  # the schema and its validation read every field by construction


def schema_classes() -> dict[str, type]:
    """Config and every dataclass reachable from it through field types (the classes a config file fills in)."""
    found: dict[str, type] = {}

    def visit(cls: type) -> None:
        if cls.__name__ not in found:
            found[cls.__name__] = cls
            for hint in typing.get_type_hints(cls).values():
                for inner in _dataclasses_in(hint):
                    visit(inner)

    visit(config.Config)
    return found


def _dataclasses_in(hint) -> list[type]:
    if dataclasses.is_dataclass(hint):
        return [hint]
    return [c for arg in typing.get_args(hint) for c in _dataclasses_in(arg)]


SCHEMA = schema_classes()
# Annotations may also name a dataclass base that no field holds (TrainConfig): reads on it count for every subclass.
CLASSES = {c.__name__: c for cls in SCHEMA.values() for c in cls.__mro__ if dataclasses.is_dataclass(c)}


@dataclasses.dataclass(frozen=True)
class ListOf:
    item: type


def _field_type(cls: type, name: str):
    """The schema class (or ListOf one) a field holds, else None."""
    hint = typing.get_type_hints(cls).get(name)
    if hint is None:
        return None
    if typing.get_origin(hint) is list and _dataclasses_in(hint):
        return ListOf(_dataclasses_in(hint)[0])
    inner = _dataclasses_in(hint)
    return inner[0] if inner and typing.get_origin(hint) is not dict else None


def _annotation(node) -> type | None:
    """The schema class an annotation names (`RlConfig`, "RlConfig", `SourceConfig | None`, Optional[...])."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        node = ast.parse(node.value, mode="eval").body
    for sub in ast.walk(node):
        name = getattr(sub, "id", None) or getattr(sub, "attr", None)
        if name in CLASSES:
            return CLASSES[name]
    return None


class Reads(ast.NodeVisitor):
    """Collects (class name, field) for each field read on an expression whose schema class is known.

    Types come from parameter annotations (an unannotated `cfg` is the Config), assignments, for loops and
    comprehensions over list fields (and generators filtering one), `next(x for x in <list field> ...)`,
    `self.<attr>` set in a method or declared in the body of the class or a base class in the same module, and
    `getattr(cfg, <computed name>)`, which is any section of Config. A read is an attribute load (`rl.packing`),
    `getattr(x, "packing")`, or `vars(x)` / `dataclasses.asdict(x)`, which read every field. Anything else
    (string keys of a saved config, a field's name on an unknown object, a Stage's config_sections) is no read.
    """

    def __init__(self):
        self.read: set[tuple[str, str]] = set()
        self.scopes: list[dict[str, object]] = [{}]
        self.class_attrs: list[dict[str, object]] = []
        self.module_classes: dict[str, dict[str, object]] = {}

    # -- scopes
    def visit_ClassDef(self, node):
        attrs = {}
        for base in node.bases:
            attrs.update(self.module_classes.get(getattr(base, "id", None), {}))
        self.module_classes[node.name] = attrs
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                if (cls := _annotation(stmt.annotation)) is not None:
                    attrs[stmt.target.id] = cls
        self.class_attrs.append(attrs)
        for stmt in node.body:  # first pass: what methods assign to self.<attr>
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                env = self._params(stmt)
                for sub in ast.walk(stmt):
                    if isinstance(sub, ast.Assign):
                        for target in sub.targets:
                            if isinstance(target, ast.Attribute) and getattr(target.value, "id", None) == "self":
                                if (tp := self._type(sub.value, env)) is not None:
                                    attrs[target.attr] = tp
        self.generic_visit(node)
        self.class_attrs.pop()

    def visit_FunctionDef(self, node):
        self.scopes.append(self._params(node))
        for sub in ast.walk(node):  # bind every local first: the order of statements does not matter here
            self._bind(sub, self.scopes[-1])
        self.generic_visit(node)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def _params(self, node) -> dict[str, object]:
        env: dict[str, object] = {}
        args = node.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            if (cls := _annotation(arg.annotation)) is not None:
                env[arg.arg] = cls
            elif arg.arg == "cfg" and arg.annotation is None:
                env[arg.arg] = config.Config
        return env

    def _bind(self, node, env) -> None:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if (tp := self._type(node.value, env)) is not None:
                env[node.targets[0].id] = tp
        elif isinstance(node, (ast.For, ast.comprehension)) and isinstance(node.target, ast.Name):
            if isinstance(tp := self._type(node.iter, env), ListOf):
                env[node.target.id] = tp.item

    # -- types
    def _type(self, node, env=None):
        env = self.scopes[-1] if env is None else env
        if isinstance(node, ast.Name):
            return env.get(node.id) or self.scopes[0].get(node.id)
        if isinstance(node, ast.Attribute):
            if getattr(node.value, "id", None) == "self" and self.class_attrs:
                return self.class_attrs[-1].get(node.attr)
            owner = self._type(node.value, env)
            return _field_type(owner, node.attr) if isinstance(owner, type) else None
        if isinstance(node, ast.Subscript) and isinstance(tp := self._type(node.value, env), ListOf):
            return tp.item
        if isinstance(node, (ast.GeneratorExp, ast.ListComp)) and isinstance(node.elt, ast.Name):
            loop = node.generators[0]
            tp = self._type(loop.iter, env)
            if getattr(loop.target, "id", None) == node.elt.id and isinstance(tp, ListOf):
                return tp
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "next" and node.args:
            gen = node.args[0]
            tp = self._type(gen.generators[0].iter, env) if isinstance(gen, ast.GeneratorExp) else None
            if isinstance(tp, ListOf):
                return tp.item
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "getattr" and len(node.args) >= 2:
            owner = self._type(node.args[0], env)
            if owner is config.Config and not isinstance(node.args[1], ast.Constant):
                return tuple(_field_type(config.Config, f.name) for f in dataclasses.fields(config.Config))
        return None

    # -- reads
    def _mark(self, tp, name: str) -> None:
        for cls in tp if isinstance(tp, tuple) else (tp,):
            if isinstance(cls, type) and name in _names(cls):
                self.read.add((cls.__name__, name))

    def visit_Attribute(self, node):
        if isinstance(node.ctx, ast.Load):
            self._mark(self._type(node.value), node.attr)
        self.generic_visit(node)

    def visit_Call(self, node):
        func = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if func == "getattr" and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
            self._mark(self._type(node.args[0]), node.args[1].value)
        if func in ("vars", "asdict") and node.args and isinstance(tp := self._type(node.args[0]), type):
            for f in dataclasses.fields(tp):
                self._mark(tp, f.name)
        self.generic_visit(node)

    def visit_comprehension(self, node):
        self._bind(node, self.scopes[-1])
        self.generic_visit(node)


def fields_read() -> set[tuple[str, str]]:
    reads = Reads()
    for path in sorted(SRC.rglob("*.py")):
        if path.name not in SKIP or path.parent != SRC:
            reads.scopes, reads.module_classes = [{}], {}
            reads.visit(ast.parse(path.read_text(encoding="utf-8")))
    return reads.read


def _names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def unread_fields(read: set[tuple[str, str]]) -> list[str]:
    """`Class.field` for every field of a schema class that neither it nor a base class declaring it is read on.

    A field inherited from TrainConfig is read for every training section when shared code reads it on a
    TrainConfig (driver.common_args), and for one section only when read on that section's class. A class used by
    several sections (LoraConfig, NlirgConfig) is one class: what reads one reads them all (shared code)."""
    missing = []
    for cls in SCHEMA.values():
        for f in dataclasses.fields(cls):
            owners = [c for c in cls.__mro__ if dataclasses.is_dataclass(c) and f.name in _names(c)]
            if not any((c.__name__, f.name) in read for c in owners):
                missing.append(f"{cls.__name__}.{f.name}")
    return sorted(missing)


def test_every_config_field_is_read_by_the_code_that_holds_it():
    missing = unread_fields(fields_read())
    assert not missing, "config fields no code reads (read them, or remove them):\n  " + "\n  ".join(missing)


def test_the_check_sees_reads_through_types_and_names_a_field_read_only_elsewhere():
    probe = (
        "def f(cfg, tc: 'TrainConfig', sft: SftConfig):\n"
        "    rl = cfg.rl\n"
        "    spec = next((r for r in rl.rewards if r.name == 'external'), None)\n"
        "    return tc.seed, sft.packing, rl.algorithm, spec.field, vars(sft.nlirg), getattr(cfg, x).enabled\n"
    )
    reads = Reads()
    reads.visit(ast.parse(probe))
    assert {
        ("TrainConfig", "seed"),
        ("SftConfig", "packing"),
        ("RlConfig", "algorithm"),
        ("RewardConfig", "name"),
        ("RewardConfig", "field"),
        ("NlirgConfig", "cutoff"),
        ("RlConfig", "enabled"),
        ("DeployConfig", "enabled"),
    } <= reads.read
    assert ("RlConfig", "packing") not in reads.read and ("CptConfig", "seed") not in reads.read
