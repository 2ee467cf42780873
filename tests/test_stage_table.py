"""One stage table: stages.ORDER and the STAGE declarations are the only places that spell out stage names.

Every other list of stages (model stages, scripts, output folders, what reruns first) derives from them, and a
stage's special treatment is a Stage field, not a comparison with its name.
"""

from __future__ import annotations

import ast
import typing
from pathlib import Path

from trainpipe.config import DeployConfig
from trainpipe.stages import ORDER, model_stages, stages

REPO = Path(__file__).resolve().parents[1]
NAMES = set(ORDER)
# Orchestration code is table-driven through and through: it may not name any stage at all.
ORCHESTRATION = ("src/trainpipe/cli.py", "src/trainpipe/pipeline.py", "src/trainpipe/stages/__init__.py")
# Data uses (data/records.py USES: cpt, sft, ...) and loss modes (sft, cpt) share names with the stages that consume
# them. A literal is about those, not about stages, when the name it is compared with, iterated into, bound to or
# annotates is (or ends in) one of these words: `use`, `src.use`, `ALLOWED_USES`, `mode`, `loss_mode`.
NOT_STAGE_WORDS = {"use", "uses", "mode"}


def stage_name_uses(source: str, rel: str) -> list[str]:
    """`path:line: source` of every place in `path` that spells out stage names as a list or special case:

    - a tuple, list or set literal with two or more string items, all of them stage names, or a dict literal
      whose keys are (e.g. ("cpt", "sft", "rl"), {"sft": "3_train_sft.py", "rl": ...});
    - a comparison with a stage name or with a literal holding one (name == "evaluate", s in ("sft", "rl"));
    - in cli.py, pipeline.py and scripts/, any stage name at all;
    except the table itself (stages.ORDER), the arguments of a Stage(...) declaration, a script's
    stage_main("<its own stage>") and literals about data uses or loss modes (NOT_STAGE_WORDS)."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    anywhere = rel in ORCHESTRATION or rel.startswith("scripts/")
    found = {}
    for node in ast.walk(tree):
        if not (_listed(node) or _compared(node) or (anywhere and _is_name(node))):
            continue
        if _exempt(node, parents, rel) or _subject_words(node, parents) & NOT_STAGE_WORDS:
            continue
        text = " ".join(ast.get_source_segment(source, node).split())
        found.setdefault(node.lineno, f"{rel}:{node.lineno}: {text[:100]}")
    return [found[line] for line in sorted(found)]


def _is_name(node) -> bool:
    return isinstance(node, ast.Constant) and node.value in NAMES


def _listed(node) -> bool:
    items = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None)
    if not isinstance(node, (ast.Tuple, ast.List, ast.Set, ast.Dict)) or items is None:
        return False
    strings = [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]
    return len(strings) >= 2 and all(s in NAMES for s in strings)


def _compared(node) -> bool:
    if not isinstance(node, ast.Compare):
        return False
    operands = [node.left, *node.comparators]
    return any(_is_name(o) or any(_is_name(e) for e in getattr(o, "elts", [])) for o in operands)


def _exempt(node, parents, rel: str) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Stage":
            return True  # a stage's own declaration
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "stage_main" and rel.startswith("scripts/"):
            return stages()[node.args[0].value].script == Path(rel).name  # a script runs its own stage
        if isinstance(node, ast.Assign) and rel == "src/trainpipe/stages/__init__.py":
            return [getattr(t, "id", None) for t in node.targets] == ["ORDER"]  # the table
    return False


def _subject_words(node, parents) -> set[str]:
    """Words of the names `node` is compared with, iterated into, bound to, or is the annotation or default of."""
    names: list[ast.AST] = []
    child = node
    while not names and child in parents:
        parent = parents[child]
        if isinstance(parent, ast.Compare):
            names = [o for o in (parent.left, *parent.comparators) if o is not child]
        elif isinstance(parent, (ast.comprehension, ast.For)):
            names = [parent.target]
        elif isinstance(parent, (ast.Assign, ast.AnnAssign)):
            names = getattr(parent, "targets", None) or [parent.target]
        elif isinstance(parent, ast.arg):
            names = [parent]
        elif isinstance(parent, ast.stmt):
            break
        child = parent
    if isinstance(node, ast.Compare):
        names = [o for o in (node.left, *node.comparators) if not _is_name(o) and not isinstance(o, ast.Tuple)]
    words: set[str] = set()
    for expr in names:
        for sub in ast.walk(expr):
            ident = getattr(sub, "id", None) or getattr(sub, "attr", None) or getattr(sub, "arg", None)
            words |= set(str(ident).lower().split("_")) if ident else set()
    return words


def test_no_stage_name_is_spelled_out_outside_the_stage_table():
    files = sorted((REPO / "src" / "trainpipe").rglob("*.py")) + sorted((REPO / "scripts").glob("*.py"))
    found = [
        hit
        for path in files
        for hit in stage_name_uses(path.read_text(encoding="utf-8"), path.relative_to(REPO).as_posix())
    ]
    assert found == [], (
        "stage names spelled out outside the stage table (derive them from trainpipe.stages.stages()):\n"
        + "\n".join(found)
    )


def test_the_check_finds_lists_and_special_cases():
    """The rule above on a module with one of each kind, and the data-use forms it must leave alone."""
    probe = (
        'TRAIN = ("cpt", "sft", "rl")\n'
        'SCRIPTS = {"sft": "3_train_sft.py", "rl": "4_train_rl.py"}\n'
        "def f(stage, use, names, src):\n"
        '    a = stage.name in ("evaluate", "deploy")\n'
        '    b = stage == "rl"\n'
        '    c = [s for s in ("collect", *names, "evaluate")]\n'
        '    d = use == "sft" or src.use in ("auto", "sft") or [use for use in ("sft", "cpt")]\n'
        '    return stages()["sft"], ("base", *names)\n'
    )
    assert stage_name_uses(probe, "src/trainpipe/stages/probe.py") == [
        'src/trainpipe/stages/probe.py:1: ("cpt", "sft", "rl")',
        'src/trainpipe/stages/probe.py:2: {"sft": "3_train_sft.py", "rl": "4_train_rl.py"}',
        'src/trainpipe/stages/probe.py:4: stage.name in ("evaluate", "deploy")',
        'src/trainpipe/stages/probe.py:5: stage == "rl"',
        'src/trainpipe/stages/probe.py:6: ("collect", *names, "evaluate")',
    ]
    assert stage_name_uses('def main():\n    return stage_main("sft")\n', "scripts/3_train_sft.py") == []
    assert stage_name_uses('def main():\n    return stage_main("sft")\n', "scripts/4_train_rl.py") == [
        'scripts/4_train_rl.py:2: "sft"'
    ]
    assert stage_name_uses('def f(names):\n    return names.index("collect")\n', "src/trainpipe/cli.py") == [
        'src/trainpipe/cli.py:2: "collect"'
    ]


def test_each_script_runs_the_stage_that_declares_it():
    for name, stage in stages().items():
        text = (REPO / "scripts" / stage.script).read_text(encoding="utf-8")
        assert f'stage_main("{name}")' in text, stage.script


def test_deploy_source_choices_are_the_model_stages():
    """config.py sits below the stage table and cannot import it, so its one list of stages is checked here."""
    choices = typing.get_args(typing.get_type_hints(DeployConfig)["source"])
    assert set(choices) == {"auto", *model_stages()}
