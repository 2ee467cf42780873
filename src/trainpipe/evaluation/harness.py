"""Every built-in task suite as an lm-evaluation-harness task, so a user can reproduce evaluate's numbers with
lm-eval: logs/evaluate/lm_eval/ holds one task YAML and one JSONL per suite plus utils.py, whose scorer is
trainpipe's own (the same verifier per item). Run it with

    lm_eval --model hf --model_args pretrained=models/sft --include_path logs/evaluate/lm_eval \
        --tasks trainpipe_arithmetic --apply_chat_template

Greedy decoding with the suite's token budget, stopping at the tokenizer's end of turn, as evaluate does. Items
with earlier chat turns (multi-turn retention items) have no lm-eval form (doc_to_text is a single user turn) and
are left out; the YAML says how many.
"""
from __future__ import annotations

import json
from pathlib import Path

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
        data.write_text("".join(json.dumps({k: i[k] for k in ("id", "prompt", "answer", "task")}) + "\n"
                                for i in items), encoding="utf-8")
        name = PREFIX + suite.name
        (folder / f"{suite.name}.yaml").write_text(_task_yaml(name, published.resolve() / data.name, suite, stop,
                                                             len(suite.items) - len(items)), encoding="utf-8")
        names.append(name)
    return names


def _task_yaml(name: str, data_file: Path, suite, stop: str, left_out: int) -> str:
    note = f"# {left_out} multi-turn item(s) of {suite.name} are left out (no single-turn form)\n" if left_out else ""
    return (f"# {suite.name} from trainpipe's evaluate stage; run with --apply_chat_template\n{note}"
            f"task: {name}\n"
            "dataset_path: json\n"
            "dataset_kwargs:\n"
            "  data_files:\n"
            f"    test: {json.dumps(str(data_file))}\n"
            "test_split: test\n"
            "output_type: generate_until\n"
            "doc_to_text: \"{{prompt}}\"\n"
            "doc_to_target: \"{{answer}}\"\n"
            "generation_kwargs:\n"
            f"  until: [{json.dumps(stop)}]\n"
            f"  max_gen_toks: {int(suite.settings.get('max_new_tokens', 64))}\n"
            "  do_sample: false\n"
            "process_results: !function utils.process_results\n"
            "metric_list:\n"
            "  - metric: acc\n"
            "    aggregation: mean\n"
            "    higher_is_better: true\n")
