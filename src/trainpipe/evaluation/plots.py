"""PNG plots for the evaluation report (matplotlib, Agg backend): accuracy per suite and model with interval bars
(perplexity beside it for text suites), and the loss/reward curves each training stage logged."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402

from trainpipe.evaluation.curves import Curve  # noqa: E402

ACCURACY_PNG = "accuracy.png"
CURVES_PNG = "training_curves.png"


def accuracy_plot(results: dict[str, dict[str, dict]], level: float, path: Path) -> Path:
    """Grouped bars: one group per task suite, one bar per model, error bars spanning the interval."""
    models = list(results)
    first = results[models[0]]
    task_suites = [s for s, r in first.items() if r["kind"] in ("task", "environment")]  # environment: success
    text_suites = [s for s, r in first.items() if r["kind"] == "text"]
    widths = [max(4.0, 1.1 * len(task_suites) * max(1, len(models)) * 0.45)] + [3.5] * bool(text_suites)
    fig, axes = plt.subplots(
        1, len(widths), figsize=(sum(widths) + 1, 4.5), squeeze=False, gridspec_kw={"width_ratios": widths}
    )
    ax = axes[0][0]
    bar = 0.8 / max(1, len(models))
    for m, model in enumerate(models):
        xs = [i + (m - (len(models) - 1) / 2) * bar for i in range(len(task_suites))]
        rs = [results[model][s] for s in task_suites]
        means = [r["mean"] for r in rs]
        err = [[r["mean"] - r["lo"] for r in rs], [r["hi"] - r["mean"] for r in rs]]
        bars = ax.bar(xs, means, bar, yerr=err, capsize=3, label=model)
        ax.bar_label(bars, fmt="%.2f", padding=2, fontsize=7)  # a zero bar is otherwise invisible
    ax.set_xticks(range(len(task_suites)), [f"{s}\n(n={first[s]['n']})" for s in task_suites])
    ax.set_ylim(0, 1.18)  # headroom above 1.0 for the value labels and the legend
    ax.set_ylabel("accuracy (mean score)")
    ax.set_title(f"Accuracy with {round(level * 100)}% Jeffreys intervals")
    ax.legend(fontsize="small", loc="upper center", ncol=max(1, len(models)), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    if text_suites:
        _perplexity_panel(axes[0][1], results, models, text_suites[0])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _perplexity_panel(ax, results, models: list[str], suite: str) -> None:
    values = [results[m][suite]["perplexity"] or 0.0 for m in models]
    bars = ax.bar(range(len(models)), values, color=[f"C{i}" for i in range(len(models))])
    ax.bar_label(bars, fmt="%.1f", padding=2, fontsize=7)
    ax.set_xticks(range(len(models)), models)
    ax.set_ylabel("perplexity (lower is better)")
    ax.set_title(f"{suite} (n={results[models[0]][suite]['n']})")
    ax.grid(axis="y", alpha=0.3)


def curves_plot(curves: dict[str, dict[str, Curve]], path: Path) -> Path | None:
    """One panel per (stage, metric); None when no stage left a curve."""
    panels = [(stage, name, points) for stage, metrics in curves.items() for name, points in metrics.items()]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.8), squeeze=False)
    for ax, (stage, name, points) in zip(axes[0], panels):
        steps, values = zip(*points)
        ax.plot(steps, values, marker="o" if len(points) < 30 else None, markersize=3)
        ax.set_title(f"{stage}: {name}")
        ax.set_xlabel("step")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
