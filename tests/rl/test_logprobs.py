"""The direct completion log-prob path (rl.logprobs) gives TRL's chunked-kernel results and gradients, for GRPO and
RLOO, and hands large or special cases back to TRL."""

import pytest
import torch
from test_algorithms import PROMPTS, SCORED, make_io, small_rl, tiny_dir, write_collect  # noqa: F401 (fixture)
from trl import GRPOTrainer, RLOOTrainer

from trainpipe.config import ModelConfig, RewardConfig
from trainpipe.rl import algorithms, logprobs


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    yield


def build(tmp_path, tiny_dir, algorithm):  # noqa: F811 (the fixture)
    from trainpipe.models.load import load_model, load_tokenizer

    tokenizer = load_tokenizer(tiny_dir, ModelConfig())
    model = load_model(tiny_dir, ModelConfig(), dtype=torch.float32)
    collect = write_collect(tmp_path, prompts=PROMPTS, sft=SCORED)
    rl = small_rl(
        algorithm=algorithm, temperature=0.7, rewards=[RewardConfig("task"), RewardConfig("external", low=0, high=10)]
    )
    trainer, _ = algorithms.build_trainer(rl, model, tokenizer, collect, make_io(tmp_path, tiny_dir))
    return trainer


def batch(vocab: int):
    """Left-padded prompts and right-padded completions, as the trainers build them (3 rows, 5 completion tokens)."""
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, vocab, (3, 12), generator=g)
    mask = torch.ones_like(ids)
    mask[0, :3] = 0  # prompt padding
    mask[1, -2:] = 0  # completion ended early
    mask[2, :1] = 0
    mask[2, -4:] = 0
    return ids, mask


def scores(trainer, method, ids, mask, batch_size=2):
    model = trainer.model
    model.zero_grad(set_to_none=True)
    logps, ent, _ = method(trainer, model, ids, mask, 5, batch_size=batch_size, compute_entropy=True)
    # Per-token weights, as advantages give them; entropies are logged and masked by, never differentiated.
    weights = torch.randn(logps.shape, generator=torch.Generator().manual_seed(2))
    (logps * weights).sum().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return logps.detach(), ent.detach(), grads


@pytest.mark.parametrize("algorithm, base", [("grpo", GRPOTrainer), ("rloo", RLOOTrainer)])
def test_direct_path_matches_trl_values_and_gradients(tmp_path, tiny_dir, algorithm, base):  # noqa: F811
    trainer = build(tmp_path, tiny_dir, algorithm)
    assert isinstance(trainer, logprobs.DirectLogprobsMixin)
    ids, mask = batch(trainer.model.get_output_embeddings().weight.shape[0])
    assert logprobs.use_direct(trainer.model, ids, 5, 2, {})
    ours = scores(trainer, type(trainer)._get_per_token_logps_and_entropies, ids, mask)
    theirs = scores(trainer, base._get_per_token_logps_and_entropies, ids, mask)
    keep = mask[:, -5:] == 1
    assert torch.allclose(ours[0], theirs[0], atol=1e-4) and (ours[0][~keep] == 0).all()
    assert torch.allclose(ours[1], theirs[1], atol=1e-4) and (ours[1][keep] > 0).all()
    assert ours[2].keys() == theirs[2].keys() and len(ours[2]) > 0  # the LoRA parameters
    for name, grad in ours[2].items():
        assert torch.allclose(grad, theirs[2][name], atol=1e-5, rtol=1e-3), name


def test_large_logits_and_extras_go_to_trl(tmp_path, tiny_dir, monkeypatch):  # noqa: F811
    trainer = build(tmp_path, tiny_dir, "grpo")
    ids, mask = batch(trainer.model.get_output_embeddings().weight.shape[0])
    assert not logprobs.use_direct(trainer.model, ids, 5, 2, {"pixel_values": torch.zeros(1)})
    calls = []
    monkeypatch.setattr(logprobs, "completion_logprobs", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(logprobs, "DIRECT_LOGITS_BUDGET", 2 * 6 * 1000)  # rows x vocab of this batch is larger
    assert logprobs.use_direct(trainer.model, ids, 5, 2, {})  # a frozen head forms no logits: no size limit
    assert not logprobs.use_direct(trainer.model, ids, 5, 2, {}, one_process=False)
    monkeypatch.setattr(logprobs, "frozen_head", lambda model: None)  # a trained head forms the logits
    assert not logprobs.use_direct(trainer.model, ids, 5, 2, {})
    logps, _, _ = trainer._get_per_token_logps_and_entropies(trainer.model, ids, mask, 5, batch_size=2)
    assert logps.shape == (3, 5) and calls == []


def grouped_batch(vocab: int):
    """Two distinct left-padded prompts, each repeated by three rows with their own right-padded completions, in a
    shuffled row order (as TRL splits a generation batch): 6 rows, 7 prompt + 5 completion tokens."""
    g = torch.Generator().manual_seed(1)
    prompts = torch.randint(3, vocab, (2, 7), generator=g)
    prompt_mask = torch.ones_like(prompts)
    prompt_mask[1, :3] = 0
    order = [0, 1, 1, 0, 1, 0]
    ids = torch.cat([prompts[order], torch.randint(3, vocab, (6, 5), generator=g)], dim=1)
    mask = torch.cat([prompt_mask[order], torch.ones(6, 5, dtype=torch.long)], dim=1)
    mask[2, -3:] = 0  # completions that ended early
    mask[3, -1:] = 0
    return ids, mask, order


def test_prompt_groups_find_each_distinct_prompt():
    ids, mask, order = grouped_batch(100)
    first, inverse = logprobs.prompt_groups(ids[:, :7], mask[:, :7])
    assert sorted(first.tolist()) == [0, 1]  # the first row of each prompt
    assert [order[first[i]] for i in inverse.tolist()] == order


def test_shared_prompt_path_matches_trl_values_and_gradients(tmp_path, tiny_dir, monkeypatch):  # noqa: F811
    """Rows that repeat a prompt run it once: the model sees 2 prompts + 6 × 4 completion tokens, not 6 × 12, and
    log-probs, entropies and LoRA gradients equal TRL's path."""
    trainer = build(tmp_path, tiny_dir, "grpo")
    ids, mask, _ = grouped_batch(trainer.model.get_output_embeddings().weight.shape[0])
    seen = []
    base = trainer.model.get_base_model()
    hook = base.model.embed_tokens.register_forward_hook(lambda m, a, o: seen.append(tuple(a[0].shape)))
    ours = scores(trainer, type(trainer)._get_per_token_logps_and_entropies, ids, mask, batch_size=6)
    hook.remove()
    assert seen == [(2, 7), (6, 4)]
    theirs = scores(trainer, GRPOTrainer._get_per_token_logps_and_entropies, ids, mask, batch_size=6)
    keep = mask[:, -5:] == 1
    assert torch.allclose(ours[0], theirs[0], atol=1e-4) and (ours[0][~keep] == 0).all()
    assert torch.allclose(ours[1], theirs[1], atol=1e-4)
    assert ours[2].keys() == theirs[2].keys() and len(ours[2]) > 0
    for name, grad in ours[2].items():
        assert torch.allclose(grad, theirs[2][name], atol=1e-5, rtol=1e-3), name


def test_linear_logprobs_match_log_softmax_values_entropies_and_gradients():
    """Blocks of 16 rows (37 rows: the last block is short), temperature 0.7: log-probs, entropies and the
    gradient with respect to the hidden states under per-row weights equal the logits path's; none reaches the
    frozen head."""
    g = torch.Generator().manual_seed(3)
    hidden = torch.randn(37, 8, generator=g, requires_grad=True)
    weight = torch.randn(50, 8, generator=g)
    targets = torch.randint(0, 50, (37,), generator=g)
    upstream = torch.randn(37, generator=g)
    logps, ent = logprobs.LinearLogprobs.apply(hidden, weight, targets, 0.7, 16, True)
    (logps * upstream).sum().backward()
    ours = hidden.grad.clone()
    hidden.grad = None
    logp_all = torch.log_softmax(hidden @ weight.t() / 0.7, dim=-1)
    expected = logp_all.gather(-1, targets[:, None]).squeeze(-1)
    (expected * upstream).sum().backward()
    assert torch.allclose(logps, expected.detach(), atol=1e-5)
    assert torch.allclose(ent, -(logp_all.exp() * logp_all).sum(-1).detach(), atol=1e-5)
    assert torch.allclose(ours, hidden.grad, atol=1e-5)
    assert not ent.requires_grad


@pytest.mark.parametrize("loss_type", ["dapo", "grpo", "bnpo"])
def test_rows_without_advantage_skip_the_loss_pass_with_the_same_loss_and_gradients(
    tmp_path,
    tiny_dir,
    loss_type,  # noqa: F811
):
    """Two of six rows carry advantage (one group of equal rewards, one mixed): the loss forward runs on those two
    only, and loss and LoRA gradients equal TRL's over all six rows. All-zero advantages still give a loss of 0."""
    trainer = build(tmp_path, tiny_dir, "grpo")
    trainer.loss_type = loss_type
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1
    ids, mask, _ = grouped_batch(trainer.model.get_output_embeddings().weight.shape[0])
    inputs = {
        "prompt_ids": ids[:, :7],
        "prompt_mask": mask[:, :7],
        "completion_ids": ids[:, 7:],
        "completion_mask": mask[:, 7:],
        "advantages": torch.tensor([0.0, 0.8, 0.0, 0.0, -0.5, 0.0]),
        "num_items_in_batch": mask[:, 7:].sum(),
    }

    def run(method, batch):
        trainer.model.zero_grad(set_to_none=True)
        loss = method(trainer, trainer.model, batch)
        loss.backward()
        return loss.detach(), {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}

    seen = []
    embed = trainer.model.get_base_model().model.embed_tokens
    hook = embed.register_forward_hook(lambda m, a, o: seen.append(a[0].shape[0]))
    ours = run(type(trainer)._compute_loss, inputs)
    hook.remove()
    assert seen == [1, 2]  # the two rows with signal share a prompt: one prompt pass, then their completions
    theirs = run(GRPOTrainer._compute_loss, inputs)
    assert torch.allclose(ours[0], theirs[0], atol=1e-6) and ours[0] != 0
    assert ours[1].keys() == theirs[1].keys() and len(ours[1]) > 0
    for name, grad in ours[1].items():
        assert torch.allclose(grad, theirs[1][name], atol=1e-6, rtol=1e-4), name
    assert trainer._metrics["train"]["rows_trained"] == [2 / 6]
    zero = run(type(trainer)._compute_loss, {**inputs, "advantages": torch.zeros(6)})
    assert zero[0] == 0 and all((g == 0).all() for g in zero[1].values())
