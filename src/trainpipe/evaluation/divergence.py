"""KL(trained ‖ base) on held-out task prompts, a forgetting predictor: both models teacher-forced over each prompt
plus the trained model's own completion (from its task result records), full-vocabulary KL per completion token.
Reads the task results and both model folders; caches per (model, base, suite) in logs/evaluate/cache/kl_to_base/."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F

from trainpipe import artifacts
from trainpipe.evaluation.cache import ResultCache
from trainpipe.models.chat import encode_prompt

log = logging.getLogger("trainpipe.evaluate")
KL_ITEMS = 64  # first items of each suite: a stable mean in seconds on CPU
KL_VERSION = 1  # bump when the computation changes so cached values are recomputed
HELD_OUT = ("task", "file")  # suite groups whose prompts are held-out task prompts (retention is not)


def token_kl(logits_p: torch.Tensor, logits_q: torch.Tensor) -> torch.Tensor:
    """KL(softmax(p) ‖ softmax(q)) in nats for each row of (..., vocab) logits, over the full vocabulary."""
    logp = F.log_softmax(logits_p.float(), dim=-1)
    logq = F.log_softmax(logits_q.float(), dim=-1)
    # Mathematically >= 0; rounding can leave -1e-9 where the two rows agree.
    return (logp.exp() * (logp - logq)).sum(-1).clamp_min(0.0)


@torch.inference_mode()
def completion_kl(
    model, base, tokenizer, chats: list[list[dict]], completions: list[str], batch_size: int = 16
) -> list[tuple[float, int]]:
    """(summed KL in nats, completion tokens) per chat (messages ending in the user turn the completion answers),
    over the positions that predict completion tokens."""

    seqs = []
    for chat, completion in zip(chats, completions):
        head = encode_prompt(tokenizer, chat)
        seqs.append((head + tokenizer(completion, add_special_tokens=False)["input_ids"], len(head)))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out = []
    for start in range(0, len(seqs), batch_size):
        out += _batch_kl(model, base, seqs[start : start + batch_size], pad_id)
    return out


def _batch_kl(model, base, seqs: list[tuple[list[int], int]], pad_id: int) -> list[tuple[float, int]]:
    """Right padding, so real tokens keep their positions; causal attention never looks at the padding after."""
    width = max(len(ids) for ids, _ in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    target = torch.zeros((len(seqs), width), dtype=torch.bool)  # position t predicts token t + 1
    for r, (seq, head) in enumerate(seqs):
        ids[r, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[r, : len(seq)] = 1
        target[r, head - 1 : len(seq) - 1] = True
    ids, mask = ids.to(model.device), mask.to(model.device)
    p = model(input_ids=ids, attention_mask=mask).logits
    q = base(input_ids=ids.to(base.device), attention_mask=mask.to(base.device)).logits
    kl = torch.zeros(target.shape)
    kl[target] = token_kl(p[target.to(p.device)], q[target.to(q.device)].to(p.device)).cpu()
    return [(float(kl[r].sum()), int(target[r].sum())) for r in range(len(seqs))]


def add_kl_to_base(cfg, folder: Path, models: dict[str, tuple[Path, str]], suites, results: dict) -> None:
    """Set results[model][suite]["kl_to_base"] (mean nats per completion token) for every non-base model on every
    held-out task suite; only (model, suite) pairs missing from the cache load the models."""

    from trainpipe.models.hardware import model_dtype  # the resolved dtype: 'auto' differs by machine

    cache = ResultCache(folder, {"backend": cfg.evaluate.backend, "dtype": str(model_dtype(cfg.model.dtype))})
    base_path, base_fp = models["base"]
    held_out = [s for s in suites if s.kind == "task" and s.group in HELD_OUT]
    base = None
    for name, (path, fp) in models.items():
        if name == "base":
            continue
        key = artifacts.fingerprint("kl_to_base", KL_VERSION, KL_ITEMS, fp, base_fp)
        missing = [s for s in held_out if cache.get(key, s) is None]
        if missing:
            base = _load(base_path, cfg) if base is None else base  # once, and only when something is missing
            for suite, found in zip(missing, _model_kl(cfg, path, base, missing, results[name])):
                cache.put(key, suite, found)
        for suite in held_out:
            results[name][suite.name]["kl_to_base"] = cache.get(key, suite)["kl_to_base"]


def _model_kl(cfg, path: Path, base, suites, results: dict) -> list[dict]:
    """One result per suite: per-item (id, summed KL, tokens) and the token-weighted mean."""
    from trainpipe.evaluation.runner import item_messages
    from trainpipe.models.load import load_tokenizer

    model = _load(path, cfg)
    tokenizer = load_tokenizer(path, cfg.model)
    if model.config.vocab_size != base.config.vocab_size:  # another tokenizer: token-level KL means nothing
        log.warning("evaluate: %s has another vocabulary than base; no KL to base", path.name)
        return [{"kl_to_base": None, "tokens": 0, "items": []} for _ in suites]
    out = []
    for suite in suites:
        items = suite.items[:KL_ITEMS]
        done = {r["id"]: r.get("completion") for r in results[suite.name]["items"]}
        if any(done.get(i["id"]) is None for i in items):
            raise RuntimeError(f"evaluate: {suite.name} results hold no completions to score KL on")
        found = completion_kl(
            model,
            base,
            tokenizer,
            [item_messages(i) for i in items],
            [done[i["id"]] for i in items],
            cfg.evaluate.batch_size,
        )
        records = [{"id": i["id"], "kl": kl, "tokens": n} for i, (kl, n) in zip(items, found)]
        tokens = sum(r["tokens"] for r in records)
        mean = sum(r["kl"] for r in records) / tokens if tokens else None
        log.info(
            "evaluate: KL(%s ‖ base) on %s: %s nats/token over %d tokens",
            path.name,
            suite.name,
            "–" if mean is None else f"{mean:.4f}",
            tokens,
        )
        out.append({"kl_to_base": mean, "tokens": tokens, "items": records})
    return out


def _load(path: Path, cfg):
    from trainpipe.models.load import load_model

    model = load_model(path, cfg.model).eval()
    return model.to("cuda") if torch.cuda.is_available() else model
