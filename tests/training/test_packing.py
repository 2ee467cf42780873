"""Packing for CPT: rows keep every token, positions restart per document, and no document sees another."""

import math

import pytest
import torch
from trl import SFTConfig
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from trainpipe.models.load import build_tiny_random
from trainpipe.training.losses import token_ce
from trainpipe.training.packing import (
    PackedRowsCollator,
    collator_for,
    pack_documents,
    perplexity,
    tokenize_documents,
)
from trainpipe.training.sft_trainer import TrainpipeSFTTrainer

X = -100


@pytest.fixture(scope="module")
def tiny(tokenizer):
    return build_tiny_random(tokenizer, seed=0).eval()


def test_tokenize_appends_eos_and_skips_blank_texts(tokenizer):
    docs = tokenize_documents(["hello world", "   ", "", "bye"], tokenizer)
    assert len(docs) == 2
    assert docs[0] == tokenizer("hello world", add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    assert docs[1][-1] == tokenizer.eos_token_id


def test_pack_keeps_every_token_and_splits_long_documents():
    docs = [list(range(100, 109)), [1, 2, 3], [7, 8], [50]]  # 9 tokens: pieces of 4, 4, 1
    packed = pack_documents(docs, max_length=4)
    rows = packed["input_ids"]
    assert all(len(r) <= 4 for r in rows)
    assert [sum(s) for s in packed["seq_lengths"]] == [len(r) for r in rows]
    assert sorted(t for r in rows for t in r) == sorted(t for d in docs for t in d)
    pieces = []
    for row, lengths in zip(rows, packed["seq_lengths"]):
        starts = [sum(lengths[:i]) for i in range(len(lengths))]
        pieces += [row[s : s + n] for s, n in zip(starts, lengths)]
    assert sorted(pieces) == sorted([[100, 101, 102, 103], [104, 105, 106, 107], [108], [1, 2, 3], [7, 8], [50]])
    assert len(rows) == 4  # 15 tokens in rows of 4: best fit leaves only one row short


def test_unpacked_rows_are_one_piece_each():
    rows = pack_documents([[1, 2, 3, 4, 5], [6]], max_length=3, packing=False)
    assert rows["input_ids"] == [[1, 2, 3], [4, 5], [6]] and "seq_lengths" not in rows.column_names


def test_row_collator_restarts_positions_and_masks_document_starts():
    batch = PackedRowsCollator(pad_token_id=0)(
        [
            {"input_ids": [11, 12, 13, 14, 15], "seq_lengths": [3, 2]},
            {"input_ids": [21, 22], "seq_lengths": [2]},
        ]
    )
    assert "attention_mask" not in batch
    assert batch["input_ids"].tolist() == [[11, 12, 13, 14, 15], [21, 22, 0, 0, 0]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 0, 1], [0, 1, 0, 0, 0]]
    assert batch["labels"].tolist() == [[X, 12, 13, X, 15], [X, 22, X, X, X]]


def _logits(model, batch):
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    with torch.no_grad():
        return model(**inputs, use_cache=False).logits


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
@pytest.mark.parametrize("flat", [False, True], ids=["rows", "padding_free"])
def test_packed_document_logits_match_document_alone(tiny, tokenizer, attn, flat):
    tiny.config._attn_implementation = attn
    a, b, c = tokenize_documents(
        [
            "The cat sat on the mat and purred softly.",
            "Quantum fields fluctuate in the vacuum, some say loudly.",
            "Short one.",
        ],
        tokenizer,
    )
    collate = (
        DataCollatorForLanguageModeling(pad_token_id=0, padding_free=True)
        if flat
        else PackedRowsCollator(pad_token_id=0)
    )
    alone = _logits(tiny, collate([{"input_ids": a, "seq_lengths": [len(a)]}]))[0]
    packed = collate(
        [
            {"input_ids": b + a, "seq_lengths": [len(b), len(a)]},
            {"input_ids": c + a + c, "seq_lengths": [len(c), len(a), len(c)]},
        ]
    )
    got = _logits(tiny, packed)
    if flat:  # one flattened row: A sits after B, then after C in the second example
        first, second = got[0, len(b) : len(b) + len(a)], got[0, len(b) + len(a) + len(c) :][: len(a)]
    else:
        first, second = got[0, len(b) :], got[1, len(c) : len(c) + len(a)]
    assert torch.allclose(first, alone, atol=1e-5) and torch.allclose(second, alone, atol=1e-5)
    tiny.config._attn_implementation = "sdpa"


def test_contamination_is_visible_without_position_restart_or_with_a_cache(tiny, tokenizer):
    """The check above can fail: leaking attention across documents moves A's logits far beyond 1e-5."""
    a, b = tokenize_documents(["The cat sat on the mat and purred softly.", "Quantum fields fluctuate."], tokenizer)
    alone = _logits(tiny, {"input_ids": torch.tensor([a])})[0]
    ids = torch.tensor([b + a])
    restart = torch.tensor([list(range(len(b))) + list(range(len(a)))])
    running = _logits(tiny, {"input_ids": ids, "position_ids": torch.arange(len(a) + len(b))[None]})
    assert (running[0, len(b) :] - alone).abs().max() > 1e-3
    with torch.no_grad():  # a KV cache switches transformers' packed-sequence detection off
        cached = tiny(input_ids=ids, position_ids=restart, use_cache=True).logits
    assert (cached[0, len(b) :] - alone).abs().max() > 1e-3


def test_trainer_step_feeds_block_diagonal_mask(tokenizer, tmp_path):
    """What a real TRL training step hands the attention layers is the per-row block-diagonal causal mask."""
    model = build_tiny_random(tokenizer, seed=1)
    rows = pack_documents([[5, 6, 7], [8, 9], [10, 11, 12, 13]], max_length=5)
    seen = []
    model.model.layers[0].register_forward_pre_hook(
        lambda mod, args, kwargs: seen.append(kwargs["attention_mask"].detach().clone()), with_kwargs=True
    )
    args = SFTConfig(
        output_dir=str(tmp_path),
        max_steps=1,
        per_device_train_batch_size=2,
        use_cpu=True,
        report_to=[],
        max_length=None,
        dataset_kwargs={"skip_prepare_dataset": True},
        remove_unused_columns=False,
        bf16=False,
        save_strategy="no",
        shuffle_dataset=False,
    )
    trainer = TrainpipeSFTTrainer(
        model=model,
        args=args,
        train_dataset=rows,
        processing_class=tokenizer,
        data_collator=PackedRowsCollator(pad_token_id=tokenizer.pad_token_id),
    )
    trainer.train()
    mask = seen[0]
    assert mask.shape[0] == 2 and mask.shape[-2:] == (5, 5)
    want = []
    for lengths in rows["seq_lengths"]:
        doc = torch.repeat_interleave(torch.arange(len(lengths)), torch.tensor(lengths))
        doc = torch.cat([doc, torch.arange(100, 100 + 5 - len(doc))])  # padding: a document per position
        want.append((doc[:, None] == doc[None, :]) & torch.ones(5, 5, dtype=torch.bool).tril())
    got = [mask[r, 0].bool() for r in range(2)]  # the sampler may have swapped the two rows
    assert (torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])) or (
        torch.equal(got[0], want[1]) and torch.equal(got[1], want[0])
    )
    assert not torch.equal(want[0], want[1])


def test_perplexity_of_packed_rows_equals_documents_scored_alone(tiny, tokenizer):
    docs = tokenize_documents(
        ["one two three four five", "six seven", "eight nine ten eleven twelve thirteen"], tokenizer
    )
    rows = pack_documents(docs, max_length=12)
    got = perplexity(tiny, rows, collator_for(tiny, 0, packing=True), batch_size=2)
    total, count = 0.0, 0
    for d in docs:  # within one piece every token after the first is scored, exactly as if alone
        for start in range(0, len(d), 12):
            piece = torch.tensor([d[start : start + 12]])
            loss, mask = token_ce(_logits(tiny, {"input_ids": piece}), piece)
            total, count = total + float(loss.sum()), count + int(mask.sum())
    assert got == pytest.approx(math.exp(total / count), rel=1e-5)
    unpacked = perplexity(tiny, pack_documents(docs, 12, packing=False), collator_for(tiny, 0, packing=False), 2)
    assert unpacked == pytest.approx(got, rel=1e-5)  # cpt.packing=false: padded rows, one piece each


def test_collator_choice_follows_attention_kernel(tiny):
    assert isinstance(collator_for(tiny, 0, packing=True), PackedRowsCollator)
    assert collator_for(tiny, 0, packing=False).padding_free is False
    tiny.config._attn_implementation = "flash_attention_2"
    try:
        chosen = collator_for(tiny, 0, packing=True)
    finally:
        tiny.config._attn_implementation = "sdpa"
    assert type(chosen) is DataCollatorForLanguageModeling and chosen.padding_free
