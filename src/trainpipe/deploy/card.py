"""Model card (README.md) of the release: Hub metadata with model-index results, and how the model was trained.

Reads the upstream stage manifests and logs/evaluate/metrics.json; writes README.md with huggingface_hub's
ModelCard tools. Every string passes through trainpipe.secrets.redact before it reaches disk.
"""

from __future__ import annotations

import os
from pathlib import Path

from trainpipe.config import Config
from trainpipe.evaluation import harness
from trainpipe.secrets import redact

# Names trainpipe accepts for embedded models, mapped to the Hub repository they come from.
KNOWN_BASES = {"smollm2-135m-instruct": "HuggingFaceTB/SmolLM2-135M-Instruct"}


def base_model_id(cfg: Config) -> str:
    """What the card and a shipped adapter name as the base: deploy.base_model, else derived from model.base."""
    if cfg.deploy.base_model:
        return cfg.deploy.base_model
    base = cfg.model.base
    if base in KNOWN_BASES:
        return KNOWN_BASES[base]
    if os.path.exists(os.path.expanduser(base)):
        return Path(base).name  # a local path means nothing on the Hub and would leak the machine's layout
    return base


def eval_results(metrics: dict | None, model: str):
    """One EvalResult per suite evaluate scored `model` on: accuracy (mean item score) for task suites,
    perplexity for held-out text suites."""
    from huggingface_hub import EvalResult

    suites = ((metrics or {}).get("results") or {}).get(model) or {}
    out = []
    for suite, r in suites.items():
        text = r.get("kind") == "text"
        value = r.get("perplexity") if text else r.get("mean")
        if value is None:
            continue
        metric = "perplexity" if text else "success rate" if r.get("kind") == "environment" else "accuracy"
        out.append(
            EvalResult(
                task_type="text-generation",
                task_name="Text Generation",
                dataset_type=suite,
                dataset_name=suite,
                dataset_split="eval",
                metric_type=metric,
                metric_name=metric,
                metric_value=round(float(value), 4),
            )
        )
    return out


def card_data(cfg: Config, source: str, fmt: str, manifests: dict[str, dict], metrics: dict | None):
    from huggingface_hub import ModelCardData

    name = (cfg.deploy.repo_id or f"trainpipe-{source}").split("/")[-1]
    results = eval_results(metrics, source)
    base = base_model_id(cfg)
    return ModelCardData(
        # The Hub rejects a card whose base_model is not a repo id (owner/name); the body still names the base.
        base_model=base if "/" in base else None,
        license=cfg.deploy.license,
        tags=_tags(manifests),
        datasets=_hub_datasets(manifests.get("collect")) or None,
        pipeline_tag="text-generation",
        library_name="peft" if fmt == "adapter" else "transformers",
        model_name=name,
        eval_results=results or None,
    )


def _trained(manifests: dict[str, dict]) -> list[str]:
    """The training stages among `manifests`, in their order: a manifest names the model it started from
    (model_in) only when its stage trains one."""
    return [stage for stage, manifest in manifests.items() if manifest.get("model_in")]


def _tags(manifests: dict[str, dict]) -> list[str]:
    trained = _trained(manifests)
    tags = ["trainpipe", *trained]
    tags += [a for s in trained if (a := _stage_cfg(manifests[s], s).get("algorithm"))]  # rl's method
    if any(_stage_cfg(manifests[s], s).get("lora", {}).get("enabled") for s in trained):
        tags.append("lora")
    return tags


def _hub_datasets(collect: dict | None) -> list[str]:
    """Hub dataset ids among the collected sources (local files and generated tasks have none)."""
    sources = (((collect or {}).get("config") or {}).get("data") or {}).get("sources") or []
    return sorted(
        {s["path"] for s in sources if s.get("kind") == "datasets" and s.get("path") and not os.path.exists(s["path"])}
    )


def _source_name(source: dict) -> str:
    """A collect source as the card names it: task family, played environment, Hub dataset id, or a local file's
    name only."""
    if source.get("task"):
        return source["task"]
    if source.get("kind") == "environment":
        return f"{source.get('environment')} episodes"
    path = source.get("path") or source.get("kind") or "?"
    return Path(path).name if os.path.exists(path) or source.get("kind") == "file" else path


def _stage_cfg(manifest: dict, stage: str) -> dict:
    return (manifest.get("config") or {}).get(stage) or {}


def _num(metrics: dict, key: str):
    """A number from a manifest's metrics, or None (absent, or redacted to a string)."""
    value = (metrics or {}).get(key)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _join(pairs: list[tuple[str, object]]) -> str:
    """'k v' pairs, skipping unknown values; an empty value keeps the key alone."""
    return ", ".join(f"{k} {v}" if v != "" else k for k, v in pairs if v is not None) or "–"


def training_rows(manifests: dict[str, dict]) -> list[str]:
    """Markdown table rows: what each stage did, on how much data, with what result, in how long."""
    rows = []
    if collect := manifests.get("collect"):
        counts = (collect.get("metrics") or {}).get("counts") or {}
        data = "; ".join(f"{use}: {c.get('train', 0)} train / {c.get('eval', 0)} eval" for use, c in counts.items())
        sources = (collect.get("config") or {}).get("data", {}).get("sources") or []
        what = ", ".join(_source_name(s) for s in sources)
        rows.append(
            f"| collect | sources: {what or '–'} | {data or '–'} "
            f"| {_num(collect.get('metrics'), 'records')} records | {collect.get('seconds', '–')} s |"
        )
    rows += [_train_row(stage, manifests[stage]) for stage in _trained(manifests)]
    return rows


def _train_row(stage: str, manifest: dict) -> str:
    c, m = _stage_cfg(manifest, stage), manifest.get("metrics") or {}
    lora = c.get("lora") or {}
    method = f"LoRA r={lora.get('r')} alpha={lora.get('alpha')}" if lora.get("enabled") else "full fine-tune"
    if c.get("algorithm"):  # rl
        method = f"{c['algorithm']}, {method}"
    length = f"max_steps {c['max_steps']}" if (c.get("max_steps") or -1) > 0 else f"epochs {c.get('epochs')}"
    settings = _join(
        [
            (method, ""),
            ("lr", c.get("learning_rate")),
            (length, ""),
            ("batch", c.get("batch_size")),
            ("grad_accum", c.get("grad_accum")),
            ("loss", c.get("loss")),
        ]
    )
    data = _join(
        [
            ("examples", _num(m, "examples")),
            ("trained tokens", _num(m, "trained_tokens")),
            ("tokens seen", _num(m, "tokens_seen")),
        ]
    )
    result = _join([("steps", _num(m, "steps")), ("train loss", _num(m, "train_loss"))])
    return (
        f"| {stage} (from {manifest.get('model_in') or 'base'}) | {settings} | {data} | {result} "
        f"| {manifest.get('seconds', '–')} s |"
    )


def evaluation_section(metrics: dict | None) -> list[str]:
    results = (metrics or {}).get("results") or {}
    if not results:
        return ["Not evaluated (the evaluate stage was disabled)."]
    pct = int(round(float(metrics.get("level", 0.8)) * 100))
    lines = [
        f"Held-out suites: accuracy with its {pct}% interval, or perplexity for text suites "
        "(`base` is the model before training).",
        "",
        "| model | suite | score | interval | n |",
        "|---|---|---|---|---|",
    ]
    for model, suites in results.items():
        for suite, r in suites.items():
            if r.get("kind") == "text":
                ppl = r.get("perplexity")
                lines.append(
                    f"| {model} | {suite} | perplexity {'–' if ppl is None else f'{ppl:.2f}'} | – | {r['n']} |"
                )
            else:
                what = "success" if r.get("kind") == "environment" else "accuracy"
                lines.append(
                    f"| {model} | {suite} | {what} {r['mean']:.3f} | [{r['lo']:.3f}, {r['hi']:.3f}] | {r['n']} |"
                )
    return lines


def usage_section(repo: str, fmt: str, base_id: str) -> list[str]:
    if fmt == "adapter":
        code = [
            "from peft import AutoPeftModelForCausalLM",
            "from transformers import AutoTokenizer",
            "",
            f'model = AutoPeftModelForCausalLM.from_pretrained("{repo}")',
            f'tokenizer = AutoTokenizer.from_pretrained("{repo}")',
        ]
    else:
        code = [
            "from transformers import AutoModelForCausalLM, AutoTokenizer",
            "",
            f'model = AutoModelForCausalLM.from_pretrained("{repo}")',
            f'tokenizer = AutoTokenizer.from_pretrained("{repo}")',
        ]
    code += [
        'messages = [{"role": "user", "content": "What is 12 + 30?"}]',
        'inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",'
        " return_dict=True)",
        "print(tokenizer.decode(model.generate(**inputs, max_new_tokens=64)[0]))",
    ]
    extra = (
        [
            "",
            f"The LoRA adapter alone (base `{base_id}`) is in `adapter/`: "
            f'`PeftModel.from_pretrained(base, "{repo}", subfolder="adapter")`.',
        ]
        if fmt == "both"
        else []
    )
    return ["```python", *code, "```", *extra]


def card_text(cfg: Config, source: str, fmt: str, dtype: str, manifests: dict[str, dict], metrics: dict | None) -> str:
    data = card_data(cfg, source, fmt, manifests, metrics)
    repo = cfg.deploy.repo_id or data.model_name
    base = base_model_id(cfg)
    versions = (manifests.get(source) or {}).get("versions") or {}
    origin = (
        f"Fine-tuned from `{base}` with trainpipe; released from stage **{source}**"
        if source != "base"
        else f"The base model `{base}` without further training"
    )
    weights = "a LoRA adapter" if fmt == "adapter" else f"{dtype} safetensors weights"
    body = [
        f"# {data.model_name}",
        "",
        f"{origin}, as {weights}.",
        "",
        "## Training",
        "",
        "| stage | settings | data | result | time |",
        "|---|---|---|---|---|",
        *training_rows(manifests),
        "",
        "## Evaluation",
        "",
        *evaluation_section(metrics),
        "",
        *harness.table(metrics or {}),
        "## Usage",
        "",
        *usage_section(repo, fmt, base),
        "",
        "## Reproducibility",
        "",
        *[
            f"- {s}: fingerprint `{m.get('fingerprint')}`, finished {m.get('finished_at', '–')}"
            for s, m in manifests.items()
        ],
        "- versions: " + (", ".join(f"{k} {v}" for k, v in sorted(versions.items())) or "–"),
    ]
    return redact(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(body) + "\n")


def write_card(
    out: Path, cfg: Config, source: str, fmt: str, dtype: str, manifests: dict[str, dict], metrics: dict | None
) -> Path:
    from huggingface_hub import ModelCard

    path = Path(out) / "README.md"
    ModelCard(card_text(cfg, source, fmt, dtype, manifests, metrics)).save(path)
    return path
