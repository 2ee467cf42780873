"""Assemble logs/evaluate/metrics.json (stable, versioned schema) and write it with report.md: model × suite
tables with intervals, comparisons, the dominance verdicts and the gate result."""

from __future__ import annotations

from pathlib import Path

from trainpipe import artifacts
from trainpipe.evaluation import harness
from trainpipe.evaluation.compare import describe
from trainpipe.evaluation.results import Evaluation

SCHEMA_VERSION = 2
# Per-item records stay in the cache and items.jsonl (evaluation.items); metrics.json carries summaries and a few
# examples.
_SUMMARY_KEYS = (
    "kind",
    "n",
    "mean",
    "std",
    "lo",
    "hi",
    "successes",
    "pass_at",
    "mean_completion_tokens",
    "format_rate",
    "perplexity",
    "mean_nll",
    "seconds",
    "mean_return",
    "return_lo",
    "return_hi",
    "kl_to_base",
)


def build_metrics(run: Evaluation) -> dict:
    """metrics.json's content. Models and suites are lists because their order means something (pipeline
    order, config order); JSON objects are written with sorted keys."""
    return {
        "schema_version": SCHEMA_VERSION,
        "level": run.level,
        "models": [
            {"name": m, "role": run.roles[m], "path": str(p), "fingerprint": fp} for m, (p, fp) in run.models.items()
        ],
        "suites": [
            {
                "name": s.name,
                "kind": s.kind,
                "group": s.group,
                "n": len(s.items),
                "settings": s.settings,
                "fingerprint": s.fingerprint,
            }
            for s in run.suites
        ],
        "results": {
            m: {s: {k: r.get(k) for k in _SUMMARY_KEYS} for s, r in per.items()} for m, per in run.results.items()
        },
        "comparisons": run.comparisons,
        "gate": run.gate,
        "plots": run.plots,
        "notes": run.notes,
        "examples": {m: {s: r.get("examples", []) for s, r in per.items()} for m, per in run.results.items()},
    }


def write_report(folder: Path, metrics: dict) -> None:
    artifacts.write_json_atomic(Path(folder) / "metrics.json", metrics)
    (Path(folder) / "report.md").write_text(markdown(metrics), encoding="utf-8")


def compact(metrics: dict) -> dict:
    """The few numbers the stage manifest and `--status` show: the candidate's score per suite, the gate."""
    gate = metrics["gate"]
    candidate = gate["candidate"] or "base"
    results = metrics["results"][candidate]
    scores = {
        f"{candidate}/{s['name']}": round(results[s["name"]]["mean"], 4)
        for s in metrics["suites"]
        if s["kind"] in ("task", "environment")
    }
    out = {
        "models": [m["name"] for m in metrics["models"]],
        "suites": [s["name"] for s in metrics["suites"]],
        **scores,
        "gate_passed": gate["passed"],
    }
    if scores:
        out["key_metric"] = next(iter(scores))
    return out


def markdown(metrics: dict) -> str:
    gate = metrics["gate"]
    lines = ["# Evaluation report", "", _gate_line(gate), ""]
    lines += ["## Models", "", "| model | role | fingerprint | path |", "|---|---|---|---|"]
    lines += [f"| {m['name']} | {m['role']} | {m['fingerprint']} | {m['path']} |" for m in metrics["models"]]
    if hw := metrics.get("hardware"):
        lines += [
            "",
            f"Machine: {hw.get('cpu') or 'unknown CPU'} ({hw.get('isa') or 'no AVX2'})"
            + (f", GPU {hw['cuda']}" if hw.get("cuda") else "")
            + ". Greedy completions depend on the machine's kernels; compare figures from one machine.",
        ]
    lines += [
        "",
        *_results_table(metrics),
        *_returns_table(metrics),
        *_divergence_table(metrics),
        "",
        *harness.table(metrics),
        "## Comparisons",
        "",
        "Outcome: win / loss when the intervals separate, else tie (this drives dominance and the gate). The "
        "paired column counts the items both models answered that got better or worse and gives the exact "
        "two-sided sign-test p-value (McNemar's test on 0/1 scores; per-document NLL for text suites): it "
        "detects changes on one item set that intervals are too wide to separate.",
        "",
    ]
    for comp in metrics["comparisons"]:
        lines += _comparison(comp, metrics["results"])
    lines += rl_health_section(metrics.get("rl_health"))
    lines += reward_model_section(metrics.get("reward_model"))
    if metrics["notes"]:
        lines += ["## Notes", "", *[f"- {n}" for n in metrics["notes"]], ""]
    if metrics["plots"]:
        lines += ["## Plots", "", *[f"![{Path(p).stem}]({p})" for p in metrics["plots"]], ""]
    return "\n".join(lines)


def rl_health_section(health: dict | None) -> list[str]:
    """The rl stage's training telemetry (rl/health.py): its warnings, then first, last and mean of each signal."""
    if not health:
        return []
    lines = [
        "## RL health",
        "",
        "What the rl stage logged while it trained (thresholds in src/trainpipe/rl/health.py).",
        "",
    ]
    lines += [f"- **Warning** ({w['signal']}): {w['message']}." for w in health["warnings"]] or ["No warnings."]
    lines += ["", "| signal | logged as | first | last | mean | logged steps |", "|---|---|---|---|---|---|"]
    lines += [
        f"| {name} | `{s['key']}` | {s['first']:.4g} | {s['last']:.4g} | {s['mean']:.4g} | {s['n']} |"
        for name, s in health["signals"].items()
    ]
    return lines + [""]


def reward_model_section(rm: dict | None) -> list[str]:
    """The reward model the rl stage trained (rl.reward_model): how often it ranks a held-out pair right."""
    if not rm:
        return []
    source = (
        "the policy's own samples scored by the task verifier"
        if rm["pairs"] == "verified"
        else "collect's preference records"
    )
    return [
        "## Reward model",
        "",
        f"{rm['train_pairs'] + rm['heldout_pairs']} pairs from {source}, {rm['gold_chosen']} of them with the "
        f"gold solution as the chosen answer; trained on {rm['train_pairs']} (mean training loss "
        f"{rm['train_loss']:.4g}), kept in models/rl/{rm['path']}/.",
        "",
        f"Held-out pair accuracy: {rm['heldout_accuracy']:.3f} ({rm['heldout_wins']} of {rm['heldout_pairs']} "
        f"pairs ranked chosen above rejected), {rm['level']:.0%} interval [{rm['heldout_lo']:.3f}, "
        f"{rm['heldout_hi']:.3f}]" + (" (excludes 0.5)." if rm["heldout_lo"] > 0.5 else "."),
        "",
    ]


def _gate_line(gate: dict) -> str:
    state = "enabled" if gate["enabled"] else "disabled (report only)"
    if gate["candidate"] is None:
        return f"Gate ({state}): no trained model to judge; only the base model was evaluated."
    if gate["passed"]:
        return f"Gate ({state}, rule {gate['rule']}, margin {gate['margin']}): **passed** for {gate['candidate']}."
    return (
        f"Gate ({state}, rule {gate['rule']}, margin {gate['margin']}): **FAILED** for {gate['candidate']}: "
        + "; ".join(gate["reasons"])
        + "."
    )


def _results_table(metrics: dict) -> list[str]:
    pct = round(metrics["level"] * 100)
    lines = [
        "## Results",
        "",
        f"Accuracy is the mean item score (pass@1 when sampling) with its {pct}% Jeffreys interval. "
        "Text suites show perplexity (lower is better); they are compared on per-document NLL.",
        "",
        f"| model | suite | accuracy | {pct}% interval | n | mean tokens | pass@k | format ok | perplexity |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for model in (m["name"] for m in metrics["models"]):
        for suite in (s["name"] for s in metrics["suites"]):
            r = metrics["results"][model][suite]
            if r["kind"] == "text":
                lines.append(f"| {model} | {suite} | – | – | {r['n']} | – | – | – | {_num(r['perplexity'], 2)} |")
                continue
            passk = ", ".join(f"@{k} {v:.3f}" for k, v in r["pass_at"].items() if k != "1") or "–"
            lines.append(
                f"| {model} | {suite} | {r['mean']:.3f} | [{r['lo']:.3f}, {r['hi']:.3f}] | {r['n']} | "
                f"{r['mean_completion_tokens']:.1f} | {passk} | {_num(r['format_rate'], 2)} | – |"
            )
    return lines


def _returns_table(metrics: dict) -> list[str]:
    """Environment suites: their accuracy above is the success rate; here the mean return beside it."""
    env = [s["name"] for s in metrics["suites"] if s["kind"] == "environment"]
    if not env:
        return []
    pct = round(metrics["level"] * 100)
    lines = [
        "",
        "Environment suites: accuracy above is the success rate (episodes that reached the goal). "
        f"Return is each episode's summed step reward, clipped to [−1, 1], with its {pct}% t interval.",
        "",
        f"| model | suite | success | mean return | {pct}% interval | n |",
        "|---|---|---|---|---|---|",
    ]
    for model in (m["name"] for m in metrics["models"]):
        for suite in env:
            r = metrics["results"][model][suite]
            lines.append(
                f"| {model} | {suite} | {r['mean']:.3f} | {r['mean_return']:+.3f} | "
                f"[{r['return_lo']:+.3f}, {r['return_hi']:+.3f}] | {r['n']} |"
            )
    return lines


def _divergence_table(metrics: dict) -> list[str]:
    """KL(model ‖ base) per held-out task suite: how far training moved the model where it was trained."""
    from trainpipe.evaluation.divergence import KL_ITEMS

    rows = [
        f"| {m['name']} | {s['name']} | {r['kl_to_base']:.4f} |"
        for m in metrics["models"]
        for s in metrics["suites"]
        if (r := metrics["results"][m["name"]][s["name"]]).get("kl_to_base") is not None
    ]
    if not rows:
        return []
    return [
        "",
        "KL to base: mean KL(model ‖ base) in nats per token over each model's own completion (its first "
        f"sample) of the first {KL_ITEMS} prompts of a held-out task suite, full vocabulary, both models "
        "teacher-forced. It grows with how far training moved the model: a predictor of forgetting.",
        "",
        "| model | suite | KL to base (nats/token) |",
        "|---|---|---|",
        *rows,
    ]


def _comparison(comp: dict, results: dict) -> list[str]:
    a, b = comp["model"], comp["baseline"]
    relation = {"candidate": "candidate vs base", "stage": "stage vs previous", "extra": "extra model vs base"}
    lines = [
        f"### {a} vs {b} ({relation[comp['relation']]}): {comp['verdict']}",
        "",
        f"{a} dominates {b}: {_yes(comp['dominates'])}; {b} dominates {a}: {_yes(comp['dominated'])}; "
        f"better by the Affine margin rule: {_yes(comp['affine_better'])}.",
        "",
        f"| suite | {a} | {b} | change | outcome for {a} | paired: items better / worse, sign-test p |",
        "|---|---|---|---|---|---|",
    ]
    for suite, v in comp["suites"].items():
        ra, rb = results[a][suite], results[b][suite]
        change = f"{ra['perplexity'] - rb['perplexity']:+.2f} ppl" if ra["kind"] == "text" else f"{v['delta']:+.3f}"
        test = v.get("paired")
        pair = f"{test['better']} / {test['worse']} of {test['n']}, p = {test['p']:.3g}" if test else "–"
        lines.append(f"| {suite} | {describe(ra)} | {describe(rb)} | {change} | {v['outcome']} | {pair} |")
    return lines + [""]


def _num(value, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
