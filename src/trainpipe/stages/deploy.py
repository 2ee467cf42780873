"""Deploy stage: build models/final (merged weights and/or adapter, tokenizer, card), verify it, optionally push.

Reads the last model stage that ran (or deploy.source), the base model, upstream manifests and
logs/evaluate/metrics.json; writes models/final/ and, with deploy.push, the Hub repo deploy.repo_id.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from trainpipe import artifacts
from trainpipe.config import Config, DeployConfig
from trainpipe.errors import UserError
from trainpipe.models.load import base_fingerprint
from trainpipe.stages import Stage, StageIO, model_stages, output, stages

log = logging.getLogger("trainpipe.deploy")


def run(cfg: Config, io: StageIO) -> dict:
    from trainpipe.deploy import card, export, push
    from trainpipe.models.load import load_tokenizer

    dcfg = cfg.deploy
    if dcfg.push:
        push.preflight(dcfg)  # a missing repo id or token should fail now, not after the export
    _check_gguf(dcfg)
    source, folder = pick_source(dcfg.source, io)
    evaluation = read_eval_metrics(io)
    check_evaluated(cfg, io, source, evaluation)  # before any weights are built or pushed
    log.info("deploy: releasing %s (%s) as %s", source, folder, dcfg.format)
    dtype = export.release_dtype(dcfg.dtype, io.models["base"])
    tokenizer = load_tokenizer(folder, cfg.model)
    model = export.load_source(folder, io.models, cfg.model)
    if dcfg.format in ("adapter", "both"):
        adapter_dir = io.out if dcfg.format == "adapter" else io.out / "adapter"
        model = export.export_adapter(
            model, tokenizer, adapter_dir, card.base_model_id(cfg), with_tokenizer=dcfg.format == "adapter"
        )
    merged = {}
    if dcfg.format in ("merged", "both"):
        merged = export.export_merged(model, tokenizer, io.out, dtype, dcfg.max_shard_size)
    del model
    ggufs = _write_gguf(dcfg, io, source)
    dtype_name = str(dtype).removeprefix("torch.")
    card.write_card(io.out, cfg, source, dcfg.format, dtype_name, stage_manifests(io), evaluation)
    if ggufs:
        from trainpipe.deploy import gguf_export

        with (io.out / "README.md").open("a", encoding="utf-8") as fh:
            fh.write(gguf_export.card_section(ggufs))
    url = push.push_folder(io.out, dcfg) if dcfg.push else None
    if url is None:
        log.info("deploy: release ready in %s (deploy.push=false, nothing uploaded)", io.published)
    else:
        log.info("deploy: %s is on the Hub at %s", io.published, url)
    metrics = {
        "source": source,
        "format": dcfg.format,
        "dtype": dtype_name,
        "verified": True,
        "pushed": url is not None,
        "url": url,
        "repo_id": dcfg.repo_id if url else None,
        "shards": merged.get("shards", 0),
        "gguf": [p.name for p in ggufs],
        "files": sorted(str(p.relative_to(io.out)) for p in io.out.rglob("*") if p.is_file()),
    }
    return {**metrics, **key_metric(evaluation, source)}


def _check_gguf(dcfg: DeployConfig) -> None:
    from trainpipe.deploy import gguf_export

    gguf_export.check_types(list(dcfg.gguf))
    if dcfg.gguf and dcfg.format == "adapter":
        raise UserError("deploy.gguf converts merged weights; set deploy.format=merged or both")


def _write_gguf(dcfg: DeployConfig, io: StageIO, source: str) -> list[Path]:
    """deploy.gguf: one GGUF file per type, from the merged weights just written (llama.cpp, Ollama)."""
    if not dcfg.gguf:
        return []
    from trainpipe.deploy import gguf_export

    stem = (dcfg.repo_id or f"trainpipe-{source}").split("/")[-1]
    return [gguf_export.write(io.out, io.out / f"{stem}-{t}.gguf", t, stem) for t in dcfg.gguf]


def pick_source(choice: str, io: StageIO) -> tuple[str, Path | str]:
    """deploy.source, or for auto the last model stage that ran; the base model when none did."""
    ran = [s for s in model_stages() if s in io.upstream]
    if choice == "auto":
        name = ran[-1] if ran else "base"
    elif choice in io.upstream:
        name = choice
    else:
        raise UserError(
            f"deploy.source={choice}, but stage {choice} is disabled ({choice}.enabled=false); "
            f"enable it or set deploy.source=auto (stages that ran: {', '.join(ran) or 'none'})"
        )
    return name, io.upstream.get(name) or io.models["base"]


def read_eval_metrics(io: StageIO) -> dict | None:
    folder = io.upstream.get("evaluate")  # absent when evaluate is disabled
    if folder is None:
        return None
    path = folder / "metrics.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read the evaluate results ({exc}); rerun the evaluate stage") from None


def check_evaluated(cfg: Config, io: StageIO, source: str, evaluation: dict | None) -> None:
    """Refuse to ship weights evaluate did not judge: the card's numbers must be the shipped weights' numbers.

    Compares the fingerprint evaluate recorded for `source` with that of the model about to be shipped (its stage
    manifest, or the base model's identity); with evaluate disabled the card carries no numbers at all."""
    if evaluation is None:
        return
    path = io.upstream["evaluate"] / "metrics.json"
    shipped = (
        base_fingerprint(cfg.model) if source == "base" else artifacts.read_manifest(io.upstream[source])["fingerprint"]
    )
    judged = {m.get("name"): m.get("fingerprint") for m in evaluation.get("models") or []}
    rerun = (
        "rerun evaluate: python scripts/5_evaluate.py with the same config and overrides (or "
        "python scripts/run_full_pipeline.py --from evaluate), then deploy; nothing was published or pushed"
    )
    if source not in judged or source not in (evaluation.get("results") or {}):
        raise UserError(f"{path}: evaluate holds no results for {source}, the model deploy would ship; {rerun}")
    if judged[source] != shipped:
        where = io.models["base"] if source == "base" else io.upstream[source]
        raise UserError(
            f"{path}: evaluate judged {source} with fingerprint {judged[source]}, but {where} now holds "
            f"fingerprint {shipped} (changed after evaluate ran), so the model card would carry another "
            f"model's numbers; {rerun}"
        )


def stage_manifests(io: StageIO) -> dict[str, dict]:
    """Manifests of collect (not an input, but the card describes the data) and every upstream stage, in pipeline
    order, for the card."""
    found = {"collect": artifacts.read_manifest(output(io.layout, "collect"))}
    found.update({name: artifacts.read_manifest(path) for name, path in io.upstream.items()})
    return {name: found[name] for name in stages() if found.get(name)}


def key_metric(evaluation: dict | None, source: str) -> dict:
    """Accuracy of the released model per task suite (key_metric: the first), or 'verified' when not evaluated."""
    suites = ((evaluation or {}).get("results") or {}).get(source) or {}
    scores = {
        f"{source}/{suite}": round(float(r["mean"]), 4)
        for suite, r in suites.items()
        if r.get("kind", "task") in ("task", "environment") and r.get("mean") is not None
    }
    return {**scores, "key_metric": next(iter(scores), "verified")}


# refresh: a release carries its own numbers, so --only/--from deploy reruns evaluate when its results are not
# those of the models published now (say sft was retrained after evaluate ran).
STAGE = Stage(
    name="deploy",
    reads=("evaluate", "sft", "rl", "cpt"),
    config_sections=("model", "deploy"),
    run=run,
    output="models/final",
    script="6_deploy.py",
    needs_base=True,
    refresh=("evaluate",),
)
