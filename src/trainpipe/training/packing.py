"""Pack tokenised documents into fixed-length rows for CPT, with position ids that restart at every document,
so transformers builds a block-diagonal causal mask and no token attends across a document boundary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

import torch
from trl import pack_dataset
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from trainpipe.training.losses import token_ce


def tokenize_documents(texts: Iterable[str], tokenizer) -> list[list[int]]:
    """Token ids of each non-empty text plus EOS, so the model learns where a document ends (as TRL does)."""
    docs = []
    for text in texts:
        if text and text.strip():
            docs.append(tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id])
    return docs


def pack_documents(docs: list[list[int]], max_length: int, packing: bool = True):
    """A datasets.Dataset of rows of at most max_length tokens; no token is dropped.

    packing: TRL's best-fit-decreasing packing ('bfd_split': longer documents are cut into max_length
    pieces first), with a `seq_lengths` column giving the documents of each row. Otherwise one piece per row.
    """
    from datasets import Dataset

    if max_length < 2:
        raise ValueError(f"max_length must be at least 2, got {max_length}")
    pieces = [d[i : i + max_length] for d in docs for i in range(0, len(d), max_length)]
    if not packing:
        return Dataset.from_dict({"input_ids": pieces})
    return pack_dataset(Dataset.from_dict({"input_ids": pieces}), max_length, strategy="bfd_split")


@dataclass
class PackedRowsCollator(DataCollatorForLanguageModeling):
    """TRL's collator keeping rows apart: [B, L] ids, per-document position ids and no attention mask.

    transformers (masking_utils.find_packed_sequence_indices) turns restarting position ids into a per-row
    block-diagonal mask for mask-based kernels (eager, sdpa, flex), when no attention_mask and no KV cache is given.
    TRL's padding-free mode flattens the batch into one [1, B*L] row instead, which varlen flash kernels
    need but which costs mask-based kernels (B*L)^2 attention instead of B*L^2.
    """

    return_position_ids: bool = True

    def torch_call(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        out = super().torch_call(examples)
        # Padding (the short last row) then gets position 0 runs of its own, so it never joins a document.
        out.pop("attention_mask")
        # A document's first label would be predicted from the previous document's last token.
        out["labels"][out["position_ids"] == 0] = -100
        return out


def uses_varlen_kernel(model) -> bool:
    """Flash-attention kernels read packing from a flattened batch (cu_seq_lens), not from a mask."""
    return "flash" in str(getattr(model.config, "_attn_implementation", ""))


def collator_for(model, pad_token_id: int, packing: bool):
    """The collator matching the model's attention kernel; TRL builds padding-free ones itself (padding_free=True)."""
    if not packing:
        return DataCollatorForLanguageModeling(pad_token_id=pad_token_id)
    if uses_varlen_kernel(model):
        return DataCollatorForLanguageModeling(pad_token_id=pad_token_id, padding_free=True)
    return PackedRowsCollator(pad_token_id=pad_token_id)


@torch.no_grad()
def perplexity(model, dataset, collator, batch_size: int = 8) -> float | None:
    """exp(mean token cross-entropy) over the dataset's trained labels; None when there is nothing to score."""
    if dataset is None or len(dataset) == 0:
        return None
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    device = next(model.parameters()).device
    for start in range(0, len(dataset), batch_size):
        batch = collator([dict(r) for r in dataset.select(range(start, min(start + batch_size, len(dataset))))])
        batch = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
        labels = batch.pop("labels")
        # use_cache=False matters: with a KV cache transformers skips packed-sequence detection entirely.
        logits = model(**batch, use_cache=False).logits
        loss, mask = token_ce(logits, labels)
        total += float(loss.sum())
        count += int(mask.sum())
    model.train(was_training)
    return math.exp(total / count) if count else None
