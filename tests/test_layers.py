"""The layer order, written once: a module may import its own layer and any layer below it, never one above.
Every `import trainpipe...` in src/ and scripts/ is parsed (function-level imports included), and an upward arrow
fails the test naming the file, line and both layers."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Top to bottom. Each entry is one layer: the trainpipe modules or packages in it.
LAYERS = [
    ("scripts",),
    ("cli",),
    ("pipeline",),
    ("stages",),
    ("evaluation", "deploy"),
    ("rl", "training"),
    ("data", "models"),
    ("tasks",),
    ("tracking", "runlog"),
    ("config", "config_train", "config_rl", "config_check", "artifacts", "errors", "secrets"),
]
RANK = {unit: rank for rank, layer in enumerate(LAYERS) for unit in layer}


def unit_of(module: str) -> str:
    """trainpipe.evaluation.report -> evaluation; trainpipe.cli -> cli."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "trainpipe"


def imports(path: Path):
    """(line, imported trainpipe unit) for every import of trainpipe in the file."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "trainpipe":
                yield from ((node.lineno, alias.name) for alias in node.names)
            elif node.module.startswith("trainpipe."):
                yield node.lineno, unit_of(node.module)
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, unit_of(a.name)) for a in node.names if a.name.startswith("trainpipe."))


def sources():
    for path in sorted((ROOT / "src" / "trainpipe").rglob("*.py")):
        rel = path.relative_to(ROOT / "src").with_suffix("")
        yield path, unit_of(".".join(p for p in rel.parts if p != "__init__"))
    for path in sorted((ROOT / "scripts").glob("*.py")):
        yield path, "scripts"


def upward_arrows() -> list[str]:
    found = []
    for path, unit in sources():
        if unit == "trainpipe":  # the package's __init__
            continue
        for line, target in imports(path):
            if target not in RANK or unit not in RANK:
                found.append(f"{path.relative_to(ROOT)}:{line}: {unit} -> {target}: a unit missing from LAYERS")
            elif RANK[target] < RANK[unit]:
                found.append(
                    f"{path.relative_to(ROOT)}:{line}: {unit} (layer {RANK[unit]}) imports {target} "
                    f"(layer {RANK[target]}), which is above it"
                )
    return found


def test_no_module_imports_a_layer_above_its_own():
    assert upward_arrows() == []


def test_every_unit_has_a_layer():
    units = {unit for _, unit in sources()} - {"trainpipe"}
    assert units <= set(RANK), sorted(units - set(RANK))


def test_an_upward_import_is_found_and_named(tmp_path, monkeypatch):
    """The check itself: a models module importing a stage is reported with its file and line."""
    fake = tmp_path / "src" / "trainpipe" / "models"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text("import os\n\nfrom trainpipe.stages.sft import STAGE\n")
    (tmp_path / "scripts").mkdir()
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert upward_arrows() == [
        "src/trainpipe/models/bad.py:3: models (layer 6) imports stages (layer 3), which is above it"
    ]


def test_modules_of_one_package_do_not_import_each_other_in_a_cycle():
    """Inside a package, shared types live in a leaf module (evaluation/results.py): no import cycle."""
    for package in ("evaluation", "training", "rl", "data", "models", "tasks", "stages", "deploy"):
        graph = {}
        for path in (ROOT / "src" / "trainpipe" / package).glob("*.py"):
            prefix = f"trainpipe.{package}."
            graph[path.stem] = {line_target for _, line_target in _package_imports(path, prefix)}
        assert _cycle(graph) is None, f"{package}: import cycle {' -> '.join(_cycle(graph))}"


def _package_imports(path: Path, prefix: str):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(prefix):
            yield node.lineno, node.module[len(prefix) :].split(".")[0]


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in `graph` (module -> modules it imports), or None."""

    def visit(node, path):
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in done and (found := visit(nxt, path + [nxt])):
                return found
        done.add(node)
        return None

    done: set[str] = set()
    return next((c for start in sorted(graph) if (c := visit(start, [start]))), None)


def test_the_cycle_finder_finds_one():
    assert _cycle({"runner": {"results", "environment_suite"}, "environment_suite": {"runner"}, "results": set()}) == [
        "environment_suite",
        "runner",
        "environment_suite",
    ]
    assert _cycle({"runner": {"results"}, "suites": {"results"}, "results": set()}) is None
