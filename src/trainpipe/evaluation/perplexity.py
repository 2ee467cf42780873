"""Per-document negative log-likelihood of held-out text under a causal LM (for perplexity suites)."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F


@torch.inference_mode()
def document_nll(
    model, tokenizer, texts: Sequence[str], max_tokens: int = 256, batch_size: int = 16
) -> list[tuple[float, int]]:
    """(summed NLL in nats, predicted tokens) per text; each text is cut to its first `max_tokens` tokens.

    The first token has no context to be predicted from, so a text of t tokens scores t - 1 of them.
    """
    model.eval()
    encoded = [tokenizer(t, add_special_tokens=True)["input_ids"][:max_tokens] for t in texts]
    order = sorted(range(len(texts)), key=lambda i: -len(encoded[i]))
    out: list[tuple[float, int]] = [(0.0, 0)] * len(texts)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        width = max(len(encoded[i]) for i in idx)
        ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for r, i in enumerate(idx):
            ids[r, : len(encoded[i])] = torch.tensor(encoded[i], dtype=torch.long)
            mask[r, : len(encoded[i])] = 1
        ids, mask = ids.to(model.device), mask.to(model.device)
        logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
        nll = F.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none") * mask[:, 1:]
        for r, i in enumerate(idx):
            out[i] = (float(nll[r].sum()), max(0, len(encoded[i]) - 1))
    return out
