"""logs/evaluate/report.html: one self-contained page per run (inline style and script, plots as data URIs, nothing
fetched) with the gate, the models, every suite per model with its interval, the comparisons, notes, plots and every
item with each model's completion, filterable to the items that got better or worse between two chosen models."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import jinja2

from trainpipe.evaluation.compare import describe

REPORT_HTML = "report.html"
_TEMPLATES = Path(__file__).with_name("templates")


def write_html(folder: Path, metrics: dict, rows: list[dict], changes: dict) -> Path:
    """Render the page from metrics.json's content, the item rows and the per-pair item changes (evaluation.items)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    models = [m["name"] for m in metrics["models"]]
    page = env.get_template("report.html.j2").render(
        m=metrics,
        models=models,
        default_pair=_default_pair(metrics, models),
        suites=[_suite_view(s, metrics) for s in metrics["suites"]],
        comparisons=[_comparison_view(c, metrics["results"]) for c in metrics["comparisons"]],
        plots=[_plot(Path(folder) / p) for p in metrics["plots"]],
        rows=[_row_view(r, models) for r in rows],
        data={"changes": changes},
    )
    path = Path(folder) / REPORT_HTML
    path.write_text(page, encoding="utf-8")
    return path


def _default_pair(metrics: dict, models: list[str]) -> tuple[str, str]:
    """(from, to) shown first: base and the gate's candidate, else base and the next model."""
    later = metrics["gate"]["candidate"] or (models[1] if len(models) > 1 else models[0])
    return models[0], later


def _suite_view(suite: dict, metrics: dict) -> dict:
    return {
        **suite,
        "rows": [_result_view(m["name"], metrics["results"][m["name"]][suite["name"]]) for m in metrics["models"]],
    }


def _result_view(model: str, r: dict) -> dict:
    """One model on one suite, formatted; `bar` places the interval and the mean on [0, 1] (not for text)."""
    view = {"model": model, "n": r["n"], "seconds": r.get("seconds"), "kl": _fmt(r.get("kl_to_base"), ".4f")}
    if r["kind"] == "text":
        return {
            **view,
            "score": _fmt(r["mean_nll"], ".3f"),
            "interval": f"[{_fmt(-r['hi'], '.3f')}, {_fmt(-r['lo'], '.3f')}]",
            "perplexity": _fmt(r["perplexity"], ".2f"),
            "bar": None,
        }
    passk = ", ".join(f"@{k} {v:.3f}" for k, v in r["pass_at"].items() if k != "1")
    view |= {
        "score": f"{r['mean']:.3f}",
        "interval": f"[{r['lo']:.3f}, {r['hi']:.3f}]",
        "passk": passk or "–",
        "tokens": _fmt(r["mean_completion_tokens"], ".1f"),
        "format": _fmt(r["format_rate"], ".2f"),
        "bar": {"lo": 100 * r["lo"], "width": 100 * (r["hi"] - r["lo"]), "mean": 100 * r["mean"]},
    }
    if r["kind"] == "environment":
        view["returns"] = f"{r['mean_return']:+.3f} [{r['return_lo']:+.3f}, {r['return_hi']:+.3f}]"
    return view


def _comparison_view(comp: dict, results: dict) -> dict:
    a, b = comp["model"], comp["baseline"]
    suites = []
    for suite, v in comp["suites"].items():
        ra, rb = results[a][suite], results[b][suite]
        change = f"{ra['perplexity'] - rb['perplexity']:+.2f} ppl" if ra["kind"] == "text" else f"{v['delta']:+.3f}"
        suites.append(
            {
                "name": suite,
                "later": describe(ra),
                "earlier": describe(rb),
                "change": change,
                "outcome": v["outcome"],
                "paired": v.get("paired"),
            }
        )
    return {**comp, "rows": suites}


def _plot(path: Path) -> dict:
    return {
        "name": path.stem.replace("_", " "),
        "src": "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii"),
    }


def _row_view(row: dict, models: list[str]) -> dict:
    reference = row["reference"]
    if reference is not None and not isinstance(reference, str):
        reference = json.dumps(reference, ensure_ascii=False)
    return {
        **row,
        "reference": reference,
        "answers": [{"model": m, **_answer(row["kind"], row["models"].get(m))} for m in models],
    }


def _answer(kind: str, record: dict | None) -> dict:
    """A model's record for one item in words: the score it is paired on, a verdict, its texts."""
    if record is None:
        return {"score": "–", "verdict": "not scored", "tone": "", "texts": []}
    if kind == "text":
        per_token = record["nll"] / max(1, record["tokens"])
        return {
            "score": f"{per_token:.3f}",
            "verdict": f"NLL/token over {record['tokens']} tokens",
            "tone": "",
            "texts": [],
        }
    tone = "good" if record["score"] >= 1 else "bad" if record["score"] <= 0 else "part"
    if kind == "environment":
        verdict = (
            f"{'goal reached' if record['correct'] else 'goal not reached'}, return {record['return']:+.2f}, "
            f"{record['turns']} turns"
        )
    elif record["samples"] > 1:
        verdict = f"{record['correct']} of {record['samples']} samples correct"
    else:
        verdict = "correct" if record["correct"] else "wrong"
    if record.get("format_ok") is False:
        verdict += ", format not followed"
    texts = record.get("completions") or ([record["completion"]] if record.get("completion") is not None else [])
    return {"score": f"{record['score']:.2f}", "verdict": verdict, "tone": tone, "texts": texts}


def _fmt(value, spec: str) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)
