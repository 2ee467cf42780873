"""lm-evaluation-harness both ways.

Export: every built-in task suite as an lm-eval task, so a user can reproduce evaluate's numbers with lm-eval:
logs/evaluate/lm_eval/ holds one task YAML and one JSONL per suite plus utils.py, whose scorer is trainpipe's own
(the same verifier per item). Run it with

    lm_eval --model hf --model_args pretrained=models/sft --include_path logs/evaluate/lm_eval \
        --tasks trainpipe_arithmetic --apply_chat_template

Greedy decoding with the suite's token budget, stopping at the tokenizer's end of turn, as evaluate does. Items
with earlier chat turns (multi-turn retention items) have no lm-eval form (doc_to_text is a single user turn) and
are left out; the YAML says how many.

Import: `evaluate.harness_tasks` runs lm-eval tasks offline on every model evaluate scores (see `resolve` for the
entry forms); the scores go beside trainpipe's own in metrics.json, the report and the model card.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import tempfile
from importlib.metadata import version
from pathlib import Path

from trainpipe import artifacts
from trainpipe.errors import UserError

log = logging.getLogger("trainpipe.evaluate")
OWN = "trainpipe"  # the harness_tasks entry that stands for evaluate's own task suites, exported as above
CACHE_VERSION = 1
NOT_METRICS = {"sample_len", "alias"}  # what lm-eval reports beside the metrics in a task's results

PREFIX = "trainpipe_"
UTILS = '''"""Scoring for the trainpipe_* tasks: trainpipe's own verifier for each item (pip install trainpipe)."""
from trainpipe.evaluation.checks import score_item


def process_results(doc, results):
    return {"acc": score_item(doc["task"], results[0], doc["answer"])}
'''


def export(suites, folder: Path, stop: str, published: Path) -> list[str]:
    """Write the lm-eval form of every greedy task suite into `folder`, whose data files the YAMLs name by the
    absolute path the folder is published at (`published`; lm-eval resolves data_files from its working
    directory); returns the task names."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "utils.py").write_text(UTILS, encoding="utf-8")
    names = []
    for suite in suites:
        if suite.kind != "task" or suite.settings.get("samples", 1) != 1:
            continue
        items = [i for i in suite.items if not i.get("history")]
        data = folder / f"{suite.name}.jsonl"
        data.write_text(
            "".join(json.dumps({k: i[k] for k in ("id", "prompt", "answer", "task")}) + "\n" for i in items),
            encoding="utf-8",
        )
        name = PREFIX + suite.name
        (folder / f"{suite.name}.yaml").write_text(
            _task_yaml(name, published.resolve() / data.name, suite, stop, len(suite.items) - len(items)),
            encoding="utf-8",
        )
        names.append(name)
    return names


def _task_yaml(name: str, data_file: Path, suite, stop: str, left_out: int) -> str:
    note = f"# {left_out} multi-turn item(s) of {suite.name} are left out (no single-turn form)\n" if left_out else ""
    return (
        f"# {suite.name} from trainpipe's evaluate stage; run with --apply_chat_template\n{note}"
        f"task: {name}\n"
        "dataset_path: json\n"
        "dataset_kwargs:\n"
        "  data_files:\n"
        f"    test: {json.dumps(str(data_file))}\n"
        "test_split: test\n"
        "output_type: generate_until\n"
        'doc_to_text: "{{prompt}}"\n'
        'doc_to_target: "{{answer}}"\n'
        "generation_kwargs:\n"
        f"  until: [{json.dumps(stop)}]\n"
        f"  max_gen_toks: {int(suite.settings.get('max_new_tokens', 64))}\n"
        "  do_sample: false\n"
        "process_results: !function utils.process_results\n"
        "metric_list:\n"
        "  - metric: acc\n"
        "    aggregation: mean\n"
        "    higher_is_better: true\n"
    )


class Plan:
    """What `evaluate.harness_tasks` asks for: lm-eval task names, the local task folders that define some of them,
    and whether evaluate's own suites are among them (they are exported to a scratch folder for the run)."""

    def __init__(self, names: list[str], folders: list[Path], own: list[str]):
        self.names, self.folders, self.own = names, folders, own  # own: the names of evaluate's own suites


def resolve(entries: list[str], suites) -> Plan:
    """Each entry is `trainpipe` (evaluate's own task suites as lm-eval tasks) or one of them (`trainpipe_<suite>`),
    a local task folder (every task its YAML files declare), or the name of a task or group that lm-eval knows:
    built in (its data must already be in the datasets cache: the Hub is not reached) or declared in one of the
    folders given. Checked before any model is loaded; a wrong entry is a UserError naming it."""
    if not entries:
        return Plan([], [], [])
    try:
        from lm_eval.tasks import TaskManager
    except ImportError:
        raise UserError("evaluate.harness_tasks needs lm-evaluation-harness (pip install lm_eval)") from None
    available = [PREFIX + s.name for s in own_suites(suites)]
    own = available if OWN in entries else [e for e in entries if e in available]
    if OWN in entries and not own:
        raise UserError(
            "evaluate.harness_tasks: 'trainpipe' asks for evaluate's own task suites as lm-eval tasks, "
            "but no greedy task suite is configured (evaluate.tasks / evaluate.files)"
        )
    folders = [Path(os.path.expanduser(e)).resolve() for e in entries if _is_folder(e)]
    names = list(own)
    for folder in folders:
        declared = sorted(TaskManager(include_path=str(folder), include_defaults=False).all_tasks)
        if not declared:
            raise UserError(f"evaluate.harness_tasks: {folder} declares no lm-eval task (no task YAML in it)")
        names += declared
    if bare := [e for e in entries if e != OWN and e not in own and not _is_folder(e)]:
        known = TaskManager(include_path=[str(f) for f in folders] or None).all_tasks
        for name in (n for n in bare if n not in known):
            close = difflib.get_close_matches(name, [OWN, *available, *known], n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UserError(
                f"evaluate.harness_tasks: '{name}' is neither a task folder nor an lm-eval task or group{hint}"
            )
        names += bare
    return Plan(list(dict.fromkeys(names)), folders, own)


def _is_folder(entry: str) -> bool:
    return os.path.isdir(os.path.expanduser(entry))


def own_suites(suites) -> list:
    """The suites `export` writes as lm-eval tasks: greedy task suites."""
    return [s for s in suites if s.kind == "task" and s.settings.get("samples", 1) == 1]


def plan_key(plan: Plan, suites, stop: str, runtime: dict, limit: int) -> str:
    """What harness scores depend on besides the model: the tasks, the files that define them, evaluate's own
    suites when they are among them, the item limit, the machine and dtype, and lm-eval's version."""

    return artifacts.fingerprint(
        CACHE_VERSION,
        plan.names,
        [artifacts.tree_digest(f) for f in plan.folders],
        [s.fingerprint for s in own_suites(suites)] if plan.own else [],
        stop,
        runtime,
        limit,
        version("lm_eval"),
    )


def run_cached(cfg, plan: Plan, models: dict, suites, stop: str, cache_folder: Path, runtime: dict) -> dict:
    """model -> task -> scores, for every model; only models whose scores are not cached are run."""
    if not plan.names:
        return {}
    key = plan_key(plan, suites, stop, runtime, cfg.evaluate.max_examples)
    out = {}
    with tempfile.TemporaryDirectory(prefix="trainpipe-lm-eval-") as scratch:
        include = [str(f) for f in plan.folders]
        if plan.own:
            export(suites, Path(scratch), stop, Path(scratch))
            include.append(scratch)
        for name, (path, fp) in models.items():
            cached = cache_folder / f"{fp}-{key}.json"
            try:
                out[name] = json.loads(cached.read_text(encoding="utf-8"))
                continue
            except (OSError, ValueError):
                pass
            log.info("evaluate: %s on lm-eval %s", name, ", ".join(plan.names))
            out[name] = run_model(cfg, path, plan, include)
            cache_folder.mkdir(parents=True, exist_ok=True)
            artifacts.write_json_atomic(cached, out[name])
    return out


def run_model(cfg, path: Path, plan: Plan, include: list[str]) -> dict:
    """lm-eval's scores for one model, loaded as evaluate loads it (dtype from the hardware, left padding), with
    the tokenizer's chat template applied when it has one (as evaluate's own suites are asked). evaluate's own
    tasks run whole (their files hold exactly the items evaluate scored); others up to evaluate.max_examples."""
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    from trainpipe.evaluation.generate import HFBackend

    ev = cfg.evaluate
    hf = HFBackend(path, cfg.model, ev.batch_size)
    lm = HFLM(pretrained=hf.model, tokenizer=hf.tokenizer, batch_size=ev.batch_size)
    manager = TaskManager(include_path=include or None)
    scores = {}
    for limit, group in ((None, plan.own), (ev.max_examples, [n for n in plan.names if n not in plan.own])):
        if not group:
            continue
        out = simple_evaluate(
            model=lm,
            tasks=group,
            task_manager=manager,
            limit=limit,
            log_samples=False,
            apply_chat_template=bool(hf.tokenizer.chat_template),
            bootstrap_iters=1000,
            verbosity="WARNING",
        )
        scores |= {
            task: task_scores(values, out.get("n-samples", {}).get(task, {}), ev.level)
            for task, values in out["results"].items()
        }
    return scores


def task_scores(values: dict, counts: dict, level: float) -> dict:
    """lm-eval's `metric,filter` values as {metric: {value, stderr, lo, hi}} (a normal interval at `level` from
    lm-eval's standard error), with the number of items scored."""
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + level / 2))
    scores = {}
    for key, value in values.items():
        metric, _, filt = key.partition(",")
        if (
            metric.endswith("_stderr")
            or metric in NOT_METRICS
            or not isinstance(value, (int, float))
            or isinstance(value, bool)
        ):
            continue
        name = metric if filt in ("", "none") else f"{metric} ({filt})"
        se = values.get(f"{metric}_stderr,{filt}")
        se = float(se) if isinstance(se, (int, float)) else None
        scores[name] = {
            "value": float(value),
            "stderr": se,
            "lo": None if se is None else float(value) - z * se,
            "hi": None if se is None else float(value) + z * se,
        }
    return {"n": counts.get("effective"), "metrics": scores}


def table(metrics: dict) -> list[str]:
    """The lm-eval scores as a Markdown section (report and model card): every model, task and metric with its
    interval, and for evaluate's own suites trainpipe's score on the same items beside lm-eval's."""
    scores = metrics.get("harness") or {}
    if not scores:
        return []
    pct = round(metrics["level"] * 100)
    lines = [
        "## lm-evaluation-harness",
        "",
        f"Tasks from `evaluate.harness_tasks`, scored by lm-eval on every model (offline, greedy, chat template "
        f"applied), with a normal {pct}% interval from lm-eval's standard error. `trainpipe_*` tasks are "
        "evaluate's own suites; trainpipe's score on the same items stands beside.",
        "",
        f"| model | task | metric | lm-eval | {pct}% interval | n | trainpipe |",
        "|---|---|---|---|---|---|---|",
    ]
    for model, tasks in scores.items():
        for task, result in tasks.items():
            own = task.removeprefix(PREFIX) if task.startswith(PREFIX) else None
            ours = (metrics["results"].get(model) or {}).get(own)
            for metric, v in result["metrics"].items():
                interval = "–" if v["lo"] is None else f"[{v['lo']:.3f}, {v['hi']:.3f}]"
                mine = f"{ours['mean']:.3f}" if ours and metric == "acc" else "–"
                lines.append(
                    f"| {model} | {task} | {metric} | {v['value']:.3f} | {interval} | {result['n'] or '–'} | {mine} |"
                )
    return lines + [""]
