"""Tests for training.losses against cross-entropies, sigmoids and softmaxes computed by hand with math."""

import math

import pytest
import torch
import torch.nn.functional as F

from trainpipe.training.losses import (
    nlirg_loss,
    nlirg_weights,
    shift,
    step_advantages,
    step_weights,
    token_ce,
    weighted_ce,
)

X = -100  # ignored label


def ce(row, y):
    return math.log(sum(math.exp(v) for v in row)) - row[y]


def softmax(row):
    z = sum(math.exp(v) for v in row)
    return [math.exp(v) / z for v in row]


def sig(x):
    return 1.0 / (1.0 + math.exp(-x))


def w_nlirg(ell):
    if ell <= 3.0:
        return sig(1.7 * (ell - 1.2))
    return sig(-(ell - 6.2)) if ell < 15.0 else 0.0


# Row b, position t predicts labels[b][t + 1]; the last position of each row is dropped by the shift.
ROWS = [
    [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
    [[20.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
]
LABELS = [[X, 0, 1, 1], [X, 1, 1, X]]
# (b, t, target) of each trained position, and its CE by hand
TRAINED = [(0, 0, 0), (0, 1, 1), (0, 2, 1), (1, 0, 1), (1, 1, 1)]
CE = {(b, t): ce(ROWS[b][t], y) for b, t, y in TRAINED}


def batch():
    return torch.tensor(ROWS, requires_grad=True), torch.tensor(LABELS)


def test_hand_ce_values_cover_every_nlirg_branch():
    assert CE[(0, 0)] == pytest.approx(math.log(3))
    assert CE[(0, 1)] == pytest.approx(math.log(math.exp(2) + 2))  # low branch, < 3
    assert 3 < CE[(0, 2)] < 15 and CE[(1, 0)] > 15


def test_shift_views():
    logits, labels = batch()
    w = torch.arange(8.0).view(2, 4)
    lg, lb, ws = shift(logits, labels, w)
    assert lg.shape == (2, 3, 3) and lb.tolist() == [[0, 1, 1], [1, 1, X]]
    assert ws.tolist() == [[1.0, 2.0, 3.0], [5.0, 6.0, 7.0]]
    with pytest.raises(ValueError):
        shift(logits, labels[:, :3])


def test_token_ce_hand_values_and_mask():
    logits, labels = batch()
    loss, mask = token_ce(logits, labels)
    assert loss.dtype == torch.float32 and loss.shape == (2, 3)
    assert mask.tolist() == [[True, True, True], [True, True, False]]
    for (b, t), v in CE.items():
        assert loss[b, t].item() == pytest.approx(v, rel=1e-6)
    assert loss[1, 2].item() == 0.0


def test_token_ce_upcasts_bf16():
    logits, labels = batch()
    loss, _ = token_ce(logits.detach().bfloat16(), labels)
    assert loss.dtype == torch.float32


@pytest.mark.parametrize("ell", [0.0, 1.2, 3.0, 3.0001, 6.2, 14.99, 15.0, 20.0])
def test_nlirg_weights_branches(ell):
    expected = {
        0.0: 1 / (1 + math.exp(1.7 * 1.2)),
        1.2: 0.5,
        3.0: 1 / (1 + math.exp(-1.7 * 1.8)),
        3.0001: 1 / (1 + math.exp(3.0001 - 6.2)),
        6.2: 0.5,
        14.99: 1 / (1 + math.exp(14.99 - 6.2)),
        15.0: 0.0,
        20.0: 0.0,
    }[ell]
    got = nlirg_weights(torch.tensor([ell], dtype=torch.float64))
    assert got.item() == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_nlirg_weights_detached_and_custom_consts():
    ell = torch.tensor([2.0], requires_grad=True)
    w = nlirg_weights(ell, low_center=2.0)
    assert not w.requires_grad and w.item() == pytest.approx(0.5)
    with pytest.raises(ValueError):
        nlirg_weights(ell, low_max=16.0)


def expected_grad(denom):
    """Manual gradient of sum(w * l) / D with w constant: w * (softmax - onehot) / D per trained position."""
    g = [[[0.0] * 3 for _ in range(4)] for _ in range(2)]
    for b, t, y in TRAINED:
        p = softmax(ROWS[b][t])
        w = w_nlirg(CE[(b, t)])
        for v in range(3):
            g[b][t][v] = w * (p[v] - (1.0 if v == y else 0.0)) / denom
    return torch.tensor(g)


def weighted_sum():
    return sum(w_nlirg(v) * v for v in CE.values())


@pytest.mark.parametrize("mode,denom", [("cpt", 5), ("sft", 4)])  # 5 label tokens; 4 with w*l != 0 (one cut)
def test_nlirg_loss_value_and_grad(mode, denom):
    logits, labels = batch()
    loss = nlirg_loss(logits, labels, mode)
    assert loss.item() == pytest.approx(weighted_sum() / denom, rel=1e-5)
    loss.backward()
    torch.testing.assert_close(logits.grad, expected_grad(denom), rtol=1e-4, atol=1e-7)


def test_nlirg_loss_cpt_uses_num_items():
    logits, labels = batch()
    loss = nlirg_loss(logits, labels, "cpt", num_items_in_batch=torch.tensor(10))
    assert loss.item() == pytest.approx(weighted_sum() / 10, rel=1e-5)


def test_nlirg_loss_sft_accumulation_scaling():
    # 4 nonzero of 5 label tokens here, batch total 20 -> D = 4 * 20 / 5 = 16
    logits, labels = batch()
    loss = nlirg_loss(logits, labels, "sft", num_items_in_batch=20)
    assert loss.item() == pytest.approx(weighted_sum() / 16, rel=1e-5)


def test_nlirg_loss_multiplies_token_weights_and_keeps_its_denominator():
    # Step or score weights used to be dropped under NLIRG: a zero-weight step still trained.
    logits, labels = batch()
    w = torch.ones(2, 4)
    w[0, 1:] = 0.0  # labels[0, 1:] are the three trained tokens of row 0 (TRAINED (0, t) predicts labels[0, t + 1])
    loss = nlirg_loss(logits, labels, "sft", token_weights=w)
    row1 = sum(w_nlirg(v) * v for (b, _), v in CE.items() if b == 1)
    assert loss.item() == pytest.approx(row1 / 4, rel=1e-5)  # D: the 4 tokens NLIRG keeps, as without weights
    assert nlirg_loss(logits, labels, "sft", token_weights=torch.ones(2, 4)).item() == pytest.approx(
        nlirg_loss(logits, labels, "sft").item(), rel=1e-6
    )


def test_nlirg_loss_rejects_bad_mode():
    logits, labels = batch()
    with pytest.raises(ValueError):
        nlirg_loss(logits, labels, "rl")


@pytest.mark.parametrize("mode", ["sft", "cpt"])
def test_nlirg_loss_no_trained_tokens_is_graph_zero(mode):
    logits = torch.randn(1, 3, 4, requires_grad=True)
    for n_items in (None, 0):
        loss = nlirg_loss(logits, torch.tensor([[X, X, X]]), mode, num_items_in_batch=n_items)
        assert loss.item() == 0.0 and loss.requires_grad
        loss.backward()
        assert torch.count_nonzero(logits.grad) == 0


def test_nlirg_loss_sft_all_cut_is_zero():
    logits = torch.tensor([[[30.0, 0.0], [0.0, 0.0]]], requires_grad=True)
    loss = nlirg_loss(logits, torch.tensor([[X, 1]]), "sft")  # CE ~ 30 >= cutoff
    assert loss.item() == 0.0 and loss.requires_grad


def accumulate(full_logits, labels, mode, n_items):
    """Loss and grad summed over one-row micro-batches, each given the full batch's label count."""
    total, grads = 0.0, []
    for b in range(full_logits.shape[0]):
        part = full_logits[b : b + 1].detach().clone().requires_grad_(True)
        loss = nlirg_loss(part, labels[b : b + 1], mode, num_items_in_batch=n_items)
        loss.backward()
        total += loss.item()
        grads.append(part.grad)
    return total, torch.cat(grads)


def test_cpt_gradient_accumulation_matches_full_batch():
    logits, labels = batch()
    full = nlirg_loss(logits, labels, "cpt")
    full.backward()
    total, grad = accumulate(logits, labels, "cpt", n_items=5)
    assert total == pytest.approx(full.item(), rel=1e-6)
    torch.testing.assert_close(grad, logits.grad)


def test_sft_gradient_accumulation_matches_full_batch_with_equal_statistics():
    # each row: 2 label tokens, one low-loss (kept) and one with CE ~ 20 (cut) -> nonzero fraction 1/2 in both
    rows = [[[0.0, 0.0, 0.0], [20.0, 0.0, 0.0], [0.0] * 3], [[1.0, 0.0, 0.0], [0.0, 20.0, 0.0], [0.0] * 3]]
    logits = torch.tensor(rows, requires_grad=True)
    labels = torch.tensor([[X, 2, 1], [X, 0, 0]])
    full = nlirg_loss(logits, labels, "sft")
    kept = [ce(rows[0][0], 2), ce(rows[1][0], 0)]
    assert full.item() == pytest.approx(sum(w_nlirg(v) * v for v in kept) / 2, rel=1e-5)
    full.backward()
    total, grad = accumulate(logits, labels, "sft", n_items=4)
    assert total == pytest.approx(full.item(), rel=1e-6)
    torch.testing.assert_close(grad, logits.grad)


def test_weighted_ce_ones_equals_cross_entropy_mean():
    logits, labels = batch()
    loss = weighted_ce(logits, labels, torch.ones(2, 4))
    ref = F.cross_entropy(logits[:, :-1].reshape(-1, 3), labels[:, 1:].reshape(-1), ignore_index=X)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)
    assert loss.item() == pytest.approx(sum(CE.values()) / 5, rel=1e-6)


def test_weighted_ce_hand_weights_and_num_items():
    logits, labels = batch()
    # weight of label token labels[b][t]; position 0 never used, and the ignored label's weight does not matter
    w = torch.tensor([[9.0, 0.5, 2.0, 1.0], [9.0, 0.0, 1.5, 7.0]])
    num = 0.5 * CE[(0, 0)] + 2.0 * CE[(0, 1)] + 1.0 * CE[(0, 2)] + 0.0 * CE[(1, 0)] + 1.5 * CE[(1, 1)]
    assert weighted_ce(logits, labels, w).item() == pytest.approx(num / 5, rel=1e-6)
    assert weighted_ce(logits, labels, w, num_items_in_batch=8).item() == pytest.approx(num / 8, rel=1e-6)
    empty = weighted_ce(logits, torch.full((2, 4), X), w)
    assert empty.item() == 0.0 and empty.requires_grad


def test_weighted_ce_grad_does_not_flow_into_weights():
    logits, labels = batch()
    w = torch.ones(2, 4, requires_grad=True)
    weighted_ce(logits, labels, w).backward()
    assert w.grad is None and logits.grad is not None


def test_step_weights_cases():
    assert step_weights(None, 3) == [1.0, 1.0, 1.0]
    assert step_weights([], 2) == [1.0, 1.0]
    assert step_weights([None, None], 2) == [1.0, 1.0]
    assert step_weights([1, 2, 3], 3) == pytest.approx([0.5, 1.0, 1.5])
    assert step_weights([-1, -1], 2) == [1.0, 1.0]
    assert step_weights([0, 0], 2) == [1.0, 1.0]
    assert step_weights([3, -1], 2) == pytest.approx([3.0, 0.0])
    assert step_weights([3, -1], 2, allow_negative=True) == pytest.approx([3.0, -1.0])
    # missing turn reward -> neutral 1.0; mean over present rewards (2, 6) = 4
    assert step_weights([2, None, 6], 3) == pytest.approx([0.5, 1.0, 1.5])


def test_step_weights_rejects_bad_input():
    with pytest.raises(ValueError):
        step_weights([1, 2], 3)
    with pytest.raises(ValueError):
        step_weights([1, float("nan")], 2)


def test_step_advantages_cases():
    # rewards mean 2 -> scales 0.5, 1.5; A = 2
    assert step_advantages(2.0, [1, 3], [-1, 0, 0, 1, -1]) == pytest.approx([0.0, 1.0, 1.0, 3.0, 0.0])
    # non-positive mean -> A for every step token
    assert step_advantages(2.0, [-1, -2], [0, 1, -1]) == pytest.approx([2.0, 2.0, 0.0])
    # mean 1: signs kept, step 1 gets -A
    assert step_advantages(2.0, [3, -1], [0, 1]) == pytest.approx([6.0, -2.0])
    assert step_advantages(-1.0, [], [0, 0, -1]) == pytest.approx([-1.0, -1.0, 0.0])
    with pytest.raises(ValueError):
        step_advantages(1.0, [1, 2], [0, 2])


def test_kl_to_reference_on_hand_computed_distributions():
    import math

    from trainpipe.training.losses import kl_to_reference

    # One row, 3 positions, vocab 2; labels train positions 1 and 2 (predicted from logits 0 and 1).
    ref = torch.log(torch.tensor([[[0.5, 0.5], [0.9, 0.1], [0.3, 0.7]]]))
    model = torch.log(torch.tensor([[[0.25, 0.75], [0.9, 0.1], [0.5, 0.5]]]))
    labels = torch.tensor([[-100, 1, -100]])
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)  # only logits row 0 is trained
    assert kl_to_reference(model, ref, labels).item() == pytest.approx(expected, rel=1e-5)
    both = torch.tensor([[-100, 1, 0]])
    assert kl_to_reference(model, ref, both).item() == pytest.approx(expected / 2, rel=1e-5)  # row 1: KL 0
    assert kl_to_reference(ref, ref, both).item() == pytest.approx(0.0, abs=1e-7)
    assert kl_to_reference(model, ref, torch.full((1, 3), -100)).item() == 0.0
