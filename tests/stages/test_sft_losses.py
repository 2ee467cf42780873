"""SFT loss choices on the tiny model: DFT (TRL's loss_type="dft") weights each token's CE by its own probability,
so from the same start its training loss is below the plain CE's, and it still trains the weights."""

import pytest

from trainpipe.errors import UserError
from trainpipe.pipeline import run_stage


def _first_loss(smoke_cfg, root, *extra):
    cfg = smoke_cfg(f"paths.root={root}", "sft.max_steps=1", "sft.lora.enabled=false", *extra)
    run_stage(cfg, "collect")
    return run_stage(cfg, "sft")["metrics"]["train_loss"]


def test_dft_loss_is_probability_weighted_ce(smoke_cfg, tmp_path):
    ce = _first_loss(smoke_cfg, tmp_path / "ce", "sft.loss=ce")
    dft = _first_loss(smoke_cfg, tmp_path / "dft", "sft.loss=dft")
    # A random model gives each target token a probability near 1/vocab, so p·CE is far below CE.
    assert 0 < dft < 0.1 * ce


def test_dft_refuses_token_weights(smoke_cfg, tmp_path):
    cfg = smoke_cfg(
        "sft.max_steps=1",
        "sft.loss=dft",
        "sft.agent.step_weights=true",
        "data.sources=[{kind: environment, environment: grid, n: 20, difficulty: 1}]",
        "evaluate.tasks=[]",
    )
    run_stage(cfg, "collect")
    with pytest.raises(UserError, match="sft.loss=dft takes no token weights"):
        run_stage(cfg, "sft")
