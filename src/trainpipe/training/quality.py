"""Data quality scorer: flags trained tokens the current model predicts confidently and disagrees with (likely label
errors), ranks SFT records by it and drops the worst. Reads records and a model; writes logs/<stage>/quality.jsonl.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from trainpipe.models.chat import IGNORE, encode_chat
from trainpipe.training.losses import shift

log = logging.getLogger("trainpipe.quality")
WINDOW = 3
Z_LOSS = 0.6  # flag when the smoothed loss is this many std above the record's mean ...
Z_ENTROPY = -0.6  # ... and the smoothed entropy this many std below it


def rolling_mean(x: Tensor, window: int = WINDOW) -> Tensor:
    """Centred rolling mean of a 1-D tensor; at the edges the mean runs over the values that exist.

    Centred rather than trailing so a wrong token lifts its neighbours on both sides alike (a wrong number
    spans several digit tokens)."""
    if window < 1 or window % 2 == 0:
        raise ValueError(f"window must be a positive odd number, got {window}")
    if x.numel() == 0:
        return x.float()
    kernel = torch.ones(1, 1, window, dtype=torch.float32)
    pad = window // 2
    sums = torch.nn.functional.conv1d(x.float()[None, None], kernel, padding=pad)[0, 0]
    counts = torch.nn.functional.conv1d(torch.ones_like(x, dtype=torch.float32)[None, None], kernel, padding=pad)[0, 0]
    return sums / counts


def zscore(x: Tensor) -> Tensor:
    """(x − mean) / std (population std) within the tensor; all zeros when it has no spread."""
    x = x.float()
    if x.numel() == 0:
        return x
    std = x.std(unbiased=False)
    if std < 1e-8:
        return torch.zeros_like(x)
    return (x - x.mean()) / std


@dataclass
class TokenScores:
    flags: Tensor  # bool per trained token
    score: float  # mean |z_loss − z_entropy| over flagged tokens, 0 when none


def score_tokens(loss: Tensor, entropy: Tensor, window: int = WINDOW) -> TokenScores:
    """Smooth, z-score within the record, flag confident disagreement, and score the record."""
    z_loss, z_ent = zscore(rolling_mean(loss, window)), zscore(rolling_mean(entropy, window))
    flags = (z_loss > Z_LOSS) & (z_ent < Z_ENTROPY)
    score = float((z_loss - z_ent).abs()[flags].mean()) if bool(flags.any()) else 0.0
    return TokenScores(flags, score)


def flagged_runs(flags: list[bool]) -> list[tuple[int, int]]:
    """[start, end) index runs of consecutive flagged positions."""
    runs, start = [], None
    for i, f in enumerate(list(flags) + [False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            runs.append((start, i))
            start = None
    return runs


@torch.no_grad()
def per_token_stats(model, batch: list[dict], pad_id: int) -> list[tuple[Tensor, Tensor, Tensor]]:
    """(loss, entropy, label ids) of each example's trained tokens, in order, from one padded forward pass."""
    width = max(len(e["input_ids"]) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for r, e in enumerate(batch):
        n = len(e["input_ids"])
        ids[r, :n], labels[r, :n], mask[r, :n] = torch.tensor(e["input_ids"]), torch.tensor(e["labels"]), 1
    device = next(model.parameters()).device
    logits = model(input_ids=ids.to(device), attention_mask=mask.to(device), use_cache=False).logits
    lg, lb = shift(logits, labels.to(device))
    out = []
    for r in range(len(batch)):
        keep = lb[r] != IGNORE
        # Only trained positions, and one float32 log-softmax for both numbers: prompts are most of the tokens.
        logp = torch.log_softmax(lg[r][keep].float(), dim=-1)
        loss = -logp.gather(-1, lb[r][keep][:, None])[:, 0]
        probs = logp.exp()
        entropy = -torch.special.xlogy(probs, probs).sum(-1)
        out.append((loss.cpu(), entropy.cpu(), lb[r][keep].cpu()))
    return out


def score_examples(model, tokenizer, examples: list[dict], batch_size: int = 4) -> list[dict]:
    """One report row per example ({"id", "input_ids", "labels"}), ranked worst first (ties by id)."""
    rows = []
    model.eval()
    order = sorted(range(len(examples)), key=lambda i: len(examples[i]["input_ids"]))  # little padding per batch
    for start in range(0, len(order), batch_size):
        chunk = [examples[i] for i in order[start : start + batch_size]]
        for ex, (loss, ent, ids) in zip(chunk, per_token_stats(model, chunk, tokenizer.pad_token_id)):
            ts = score_tokens(loss, ent)
            spans = [tokenizer.decode(ids[s:e].tolist()) for s, e in flagged_runs(ts.flags.tolist())]
            rows.append(
                {
                    "id": ex["id"],
                    "score": round(ts.score, 6),
                    "flagged": int(ts.flags.sum()),
                    "trained": int(loss.numel()),
                    "spans": spans,
                }
            )
    rows.sort(key=lambda r: (-r["score"], r["id"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def worst_ids(rows: list[dict], fraction: float) -> set[str]:
    """Ids of the worst `fraction` of all rows; records with nothing flagged (score 0) are never dropped."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"data.quality.drop_top must be in [0, 1), got {fraction}")
    n = int(fraction * len(rows))
    return {r["id"] for r in rows[:n] if r["score"] > 0}


def screen(records, model_path, tokenizer, cfg, report_path: Path):
    """Score SFT records against the model at model_path, write the ranked report, return the records kept."""
    from trainpipe.models.load import load_model

    examples = []
    for rec in records:
        enc = encode_chat(tokenizer, rec["messages"])
        # Records build_examples will reject anyway (too long, nothing trained) are left for it to report.
        if len(enc.input_ids) <= cfg.data.max_length and any(lab != IGNORE for lab in enc.labels):
            examples.append({"id": rec["id"], "input_ids": enc.input_ids, "labels": enc.labels})
    model = load_model(model_path, cfg.model, dtype=torch.float32)
    rows = score_examples(model, tokenizer, examples, cfg.sft.batch_size)
    drop = worst_ids(rows, cfg.data.quality.drop_top)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    with open(report_path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps({**row, "dropped": row["id"] in drop}, ensure_ascii=False) + "\n")
    log.info(
        "quality: scored %d records, %d flagged, dropped %d; report %s",
        len(rows),
        sum(r["score"] > 0 for r in rows),
        len(drop),
        report_path,
    )
    return records.select([i for i, r in enumerate(records) if r["id"] not in drop]) if drop else records
