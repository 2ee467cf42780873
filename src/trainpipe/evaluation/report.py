"""Write logs/evaluate/metrics.json (stable schema) and report.md (model × suite table with intervals)."""
from __future__ import annotations

from pathlib import Path

from trainpipe import artifacts
from trainpipe.config import EvaluateConfig

SCHEMA_VERSION = 1


def write_report(out: Path, results: dict[str, dict[str, dict]], ev: EvaluateConfig) -> dict:
    """results: model -> suite -> result. Returns the stage metrics (compact)."""
    table = {m: {s: {k: v for k, v in r.items() if k not in ("scores", "examples")} for s, r in suites.items()}
             for m, suites in results.items()}
    metrics = {"schema_version": SCHEMA_VERSION, "level": ev.level, "results": table}
    artifacts.write_json_atomic(Path(out) / "metrics.json", {**metrics, "examples": {
        m: {s: r.get("examples", []) for s, r in suites.items()} for m, suites in results.items()}})
    (Path(out) / "report.md").write_text(markdown(table, ev.level), encoding="utf-8")
    last = list(table)[-1]
    first_suite = next(iter(table[last]), None)
    compact = {"models": list(table), "suites": list(table[last])}
    if first_suite:
        compact[f"{last}/{first_suite}"] = round(table[last][first_suite]["mean"], 4)
        compact["key_metric"] = f"{last}/{first_suite}"
    return compact


def markdown(table: dict[str, dict[str, dict]], level: float) -> str:
    pct = int(round(level * 100))
    lines = ["# Evaluation report", "",
             f"Accuracy (mean score) per model and suite, with {pct}% Jeffreys intervals.", "",
             "| model | suite | accuracy | interval | n | mean completion tokens |",
             "|---|---|---|---|---|---|"]
    for model, suites in table.items():
        for suite, r in suites.items():
            lines.append(f"| {model} | {suite} | {r['mean']:.3f} | [{r['lo']:.3f}, {r['hi']:.3f}] | {r['n']} "
                         f"| {r['mean_completion_tokens']:.1f} |")
    return "\n".join(lines) + "\n"
