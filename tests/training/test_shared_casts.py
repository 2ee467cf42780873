"""share_input_casts: under bf16 autocast every linear input is cast once, not once per consumer, with the same
loss and the same LoRA gradients as autocast's own per-consumer casts; restore_frozen_linears removes it."""

from __future__ import annotations

import copy

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from trainpipe.models import hardware
from trainpipe.models.load import build_tiny_random


class CastCounter(TorchDispatchMode):
    """Counts the fp32 -> bf16 copies made while active."""

    def __init__(self):
        super().__init__()
        self.casts = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.ops.aten._to_copy.default and kwargs.get("dtype") == torch.bfloat16:
            self.casts += int(args[0].dtype == torch.float32)
        return func(*args, **kwargs)


def lora_model(tokenizer):
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    base = build_tiny_random(tokenizer, seed=3)
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", lora_dropout=0.0))
    for name, p in model.named_parameters():  # nonzero B, so every adapter's path carries gradient
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.05)
    hardware.lower_frozen_linears(model)
    return model


def step(model, ids):
    model.zero_grad()
    counter = CastCounter()
    with counter, torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(input_ids=ids, labels=ids, use_cache=False).loss
    with counter:
        loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    return loss.detach(), grads, counter.casts


def test_shared_casts_equal_autocast_with_fewer_copies(tokenizer):
    ids = torch.tensor([tokenizer("What is 12 + 30? Answer: 42. The sky is blue today.")["input_ids"]])
    plain = lora_model(tokenizer)
    shared = copy.deepcopy(plain)
    loss_plain, grads_plain, casts_plain = step(plain, ids)
    assert hardware.share_input_casts(shared) > 0
    loss_shared, grads_shared, casts_shared = step(shared, ids)
    assert torch.equal(loss_plain, loss_shared)  # the same rounding of the same tensors
    assert grads_plain.keys() == grads_shared.keys() and len(grads_plain) > 0
    for name, g in grads_plain.items():
        assert torch.allclose(g, grads_shared[name], rtol=1e-4, atol=1e-6), name
    layers = len(shared.get_base_model().model.layers)
    # q, k, v, gate, up and their adapters: autocast casts each layer's two normalised inputs 10 times, we twice
    assert casts_plain - casts_shared >= 8 * layers

    hardware.restore_frozen_linears(shared)
    assert not any(m._forward_pre_hooks for m in shared.modules())


def test_shared_casts_do_nothing_outside_autocast(tokenizer):
    model = lora_model(tokenizer)
    hardware.restore_frozen_linears(model)  # an fp32 model again
    hardware.share_input_casts(model)
    ids = torch.tensor([tokenizer("Name a colour.")["input_ids"]])
    with torch.no_grad():
        out = model(input_ids=ids).logits
    assert out.dtype == torch.float32
