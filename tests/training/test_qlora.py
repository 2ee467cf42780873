"""QLoRA through bitsandbytes on the machine at hand (0.50 runs 4-bit and 8-bit on CPU): SFT trains an adapter on
a quantized base and publishes it merged into the full-precision base; without LoRA, and in rl, it is refused."""

import json

import pytest
import torch

from trainpipe.errors import UserError
from trainpipe.pipeline import run_stage

pytest.importorskip("bitsandbytes")


@pytest.mark.parametrize("bits", ["4bit", "8bit"])
def test_sft_on_a_quantized_base_publishes_full_precision_merged_weights(smoke_cfg, tmp_path, one_thread, bits):
    from safetensors.torch import load_file

    cfg = smoke_cfg(f"sft.lora.quantize={bits}", "sft.max_steps=3", "sft.learning_rate=1e-2", "sft.replay.ratio=0")
    run_stage(cfg, "collect")
    manifest = run_stage(cfg, "sft")
    assert manifest["metrics"]["steps"] == 3 and manifest["metrics"]["base_quantized"] == bits
    out = tmp_path / "models" / "sft"
    config = json.loads((out / "config.json").read_text())
    assert "quantization_config" not in config  # a plain model, not a bitsandbytes checkpoint
    trained = load_file(out / "model.safetensors")
    base = load_file(tmp_path / "models" / "base" / "model.safetensors")
    assert all(trained[k].dtype == torch.float32 for k in trained)
    name = next(k for k in base if k.endswith("layers.0.self_attn.q_proj.weight"))
    delta = (trained[name] - base[name]).abs()
    # the adapter moved the weights, by far less than a 4/8-bit rounding of them would
    assert 0 < delta.max() < base[name].abs().max()
    untouched = next(k for k in base if k.endswith("embed_tokens.weight"))
    assert torch.equal(trained[untouched], base[untouched])  # not rounded through the quantized copy


def test_quantize_without_lora_and_in_rl_is_refused(smoke_cfg):
    cfg = smoke_cfg("sft.lora.quantize=4bit", "sft.lora.enabled=false")
    run_stage(cfg, "collect")
    with pytest.raises(UserError, match="set sft.lora.enabled=true"):
        run_stage(cfg, "sft")
    from trainpipe.rl.algorithms import check

    with pytest.raises(UserError, match="rl.lora.quantize=8bit"):
        check(smoke_cfg("rl.lora.quantize=8bit").rl)
