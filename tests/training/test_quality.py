"""Quality scorer: smoothing, z-scores, flags and record scores on hand-computed tensors, then end to end in SFT."""

import json
import math
from types import SimpleNamespace

import pytest
import torch

from trainpipe.data.store import load_split
from trainpipe.pipeline import run_stage
from trainpipe.training.losses import token_ce
from trainpipe.training.quality import (
    flagged_runs,
    per_token_stats,
    rolling_mean,
    score_examples,
    score_tokens,
    worst_ids,
    zscore,
)


def test_rolling_mean_is_centred_and_shrinks_at_the_edges():
    got = rolling_mean(torch.tensor([1.0, 2.0, 3.0, 10.0]))
    assert got.tolist() == pytest.approx([1.5, 2.0, 5.0, 6.5])
    assert rolling_mean(torch.tensor([4.0])).tolist() == [4.0]


def test_zscore_uses_population_std_and_is_zero_without_spread():
    s = math.sqrt(2.0 / 3.0)
    assert zscore(torch.tensor([1.0, 2.0, 3.0])).tolist() == pytest.approx([-1 / s, 0.0, 1 / s])
    assert zscore(torch.tensor([5.0, 5.0, 5.0])).tolist() == [0.0, 0.0, 0.0]


def _by_hand(loss, ent):
    def smooth(x):
        return [sum(x[max(0, i - 1) : i + 2]) / len(x[max(0, i - 1) : i + 2]) for i in range(len(x))]

    def z(x):
        m = sum(x) / len(x)
        sd = math.sqrt(sum((v - m) ** 2 for v in x) / len(x))
        return [(v - m) / sd for v in x]

    zl, zh = z(smooth(loss)), z(smooth(ent))
    flags = [a > 0.6 and b < -0.6 for a, b in zip(zl, zh)]
    picked = [abs(a - b) for a, b, f in zip(zl, zh, flags) if f]
    return flags, (sum(picked) / len(picked) if picked else 0.0)


def test_confident_disagreement_is_flagged_and_scored():
    loss = [1.0, 1.0, 1.0, 8.0, 1.0, 1.0, 1.0]
    ent = [3.0, 3.0, 3.0, 0.2, 3.0, 3.0, 3.0]
    ts = score_tokens(torch.tensor(loss), torch.tensor(ent))
    flags, score = _by_hand(loss, ent)
    assert ts.flags.tolist() == flags == [False, False, True, True, True, False, False]
    # smoothed loss z = 1.1547 and smoothed entropy z = -1.1547 on the three flagged tokens
    assert ts.score == pytest.approx(score) == pytest.approx(4 / math.sqrt(3), rel=1e-5)


def test_uncertain_errors_and_flat_records_are_not_flagged():
    unsure = score_tokens(
        torch.tensor([1.0, 1.0, 1.0, 8.0, 1.0, 1.0, 1.0]), torch.tensor([1.0, 1.0, 1.0, 6.0, 1.0, 1.0, 1.0])
    )  # high loss, but high entropy too
    assert not unsure.flags.any() and unsure.score == 0.0
    flat = score_tokens(torch.tensor([2.0, 2.0, 2.0]), torch.tensor([1.0, 1.0, 1.0]))
    assert not flat.flags.any() and flat.score == 0.0


def test_mixed_record_matches_hand_computation():
    loss = [0.5, 2.0, 0.1, 6.0, 7.0, 0.3, 0.2, 4.0]
    ent = [2.0, 1.5, 2.5, 0.5, 0.4, 2.0, 3.0, 2.5]
    ts = score_tokens(torch.tensor(loss), torch.tensor(ent))
    flags, score = _by_hand(loss, ent)
    assert ts.flags.tolist() == flags and any(flags)
    assert ts.score == pytest.approx(score, rel=1e-5)


def test_flagged_runs():
    assert flagged_runs([False, True, True, False, True]) == [(1, 3), (4, 5)]
    assert flagged_runs([False, False]) == []


def test_worst_ids_drops_a_fraction_but_never_unflagged_records():
    rows = [{"id": "a", "score": 3.0}, {"id": "b", "score": 2.0}, {"id": "c", "score": 0.0}, {"id": "d", "score": 0.0}]
    assert worst_ids(rows, 0.5) == {"a", "b"}
    assert worst_ids(rows, 0.25) == {"a"}
    assert worst_ids(rows, 0.0) == set()
    assert worst_ids(rows[2:] + rows[2:], 0.5) == set()
    with pytest.raises(ValueError):
        worst_ids(rows, 1.0)


class OracleLM(torch.nn.Module):
    """Predicts every next token of `truth` confidently (logit 8) except where it is unsure (logit 1)."""

    def __init__(self, truth, unsure, vocab=40):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.truth, self.unsure, self.vocab = truth, unsure, vocab

    def forward(self, input_ids, attention_mask=None, use_cache=False):
        logits = torch.zeros(*input_ids.shape, self.vocab)
        for t in range(input_ids.shape[1] - 1):
            logits[:, t, self.truth[t + 1]] = 1.0 if t + 1 in self.unsure else 8.0
        return SimpleNamespace(logits=logits)


def test_score_examples_ranks_the_planted_label_error_first(tokenizer):
    truth = list(range(10, 22))
    wrong = truth[:7] + [30] + truth[8:]  # label error at position 7 where the model is confident
    model = OracleLM(truth, unsure={3, 4, 10})
    prompt = [-100] * 2
    examples = [
        {"id": "clean", "input_ids": truth, "labels": prompt + truth[2:]},
        {"id": "noisy", "input_ids": wrong, "labels": prompt + wrong[2:]},
    ]
    fake_tok = SimpleNamespace(pad_token_id=0, decode=lambda ids: " ".join(map(str, ids)))
    rows = score_examples(model, fake_tok, examples, batch_size=2)
    assert [r["id"] for r in rows] == ["noisy", "clean"] and [r["rank"] for r in rows] == [1, 2]
    assert rows[0]["trained"] == 10 and rows[0]["score"] > 0 and "30" in " ".join(rows[0]["spans"])
    assert rows[1]["score"] == 0.0 and rows[1]["spans"] == []
    alone = score_examples(model, fake_tok, examples[1:], batch_size=1)
    assert alone[0]["score"] == pytest.approx(rows[0]["score"])


def test_per_token_stats_match_the_loss_functions_under_padding():
    torch.manual_seed(0)
    table = torch.randn(50, 50) * 3

    class TableLM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, input_ids, attention_mask=None, use_cache=False):
            return SimpleNamespace(logits=table[input_ids])

    batch = [
        {"input_ids": [1, 2, 3, 4, 5, 6], "labels": [-100, -100, 3, 4, -100, 6]},
        {"input_ids": [7, 8, 9], "labels": [-100, 8, 9]},
    ]
    got = per_token_stats(TableLM(), batch, pad_id=0)
    for ex, (loss, ent, ids) in zip(batch, got):
        logits, labels = table[torch.tensor([ex["input_ids"]])], torch.tensor([ex["labels"]])
        want_loss, mask = token_ce(logits, labels)
        probs = torch.softmax(logits[:, :-1], dim=-1)  # the distribution predicting each next label
        want_ent = -(probs * probs.log()).sum(-1)
        assert torch.allclose(loss, want_loss[mask], atol=1e-6) and torch.allclose(ent, want_ent[mask], atol=1e-6)
        assert ids.tolist() == [t for t in ex["labels"][1:] if t != -100]


def test_per_token_entropy_with_masked_vocab_is_finite():
    class MaskedLM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, input_ids, attention_mask=None, use_cache=False):
            return SimpleNamespace(logits=torch.tensor([[[0.0, float("-inf"), 0.0], [0.0, 0.0, 0.0]]]))

    ((_, ent, _),) = per_token_stats(MaskedLM(), [{"input_ids": [0, 1], "labels": [-100, 0]}], pad_id=0)
    assert ent.tolist() == [pytest.approx(math.log(2))]


def test_sft_stage_writes_ranked_report_and_drops_worst(smoke_cfg, tmp_path):
    cfg = smoke_cfg(
        "data.quality.score=true",
        "data.quality.drop_top=0.25",
        "sft.max_steps=1",
        "data.sources=[{kind: task, task: arithmetic, n: 40}]",
    )
    run_stage(cfg, "collect")
    n_train = len(load_split(tmp_path / "data_cache" / "collect", "sft", "train"))
    manifest = run_stage(cfg, "sft")
    rows = [json.loads(line) for line in (tmp_path / "logs" / "sft" / "quality.jsonl").read_text().splitlines()]
    assert len(rows) == n_train and [r["rank"] for r in rows] == list(range(1, n_train + 1))
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    flagged = sum(r["score"] > 0 for r in rows)
    n_drop = min(int(0.25 * n_train), flagged)
    assert n_drop > 0 and [r["dropped"] for r in rows] == [True] * n_drop + [False] * (n_train - n_drop)
    assert all(r["spans"] for r in rows if r["score"] > 0)
    assert manifest["metrics"]["examples"] == n_train - n_drop
    assert manifest["config"]["data.quality"] == {"score": True, "drop_top": 0.25}
