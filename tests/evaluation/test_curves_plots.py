"""Training curves read back from TensorBoard events and trainer_state.json, and the PNG plots."""

import json

import matplotlib.image as mpimg
import pytest

from trainpipe.artifacts import Layout
from trainpipe.evaluation.curves import checkpoint_curves, stage_curves, tensorboard_curves
from trainpipe.evaluation.plots import accuracy_plot, curves_plot
from trainpipe.stages import model_stages


def _checkpoint(folder, step, history, complete=True):
    ckpt = folder / f"checkpoint-{step}"
    ckpt.mkdir(parents=True)
    (ckpt / "trainer_state.json").write_text(json.dumps({"log_history": history}))
    if complete:
        (ckpt / "COMPLETE").write_text("")


def test_checkpoint_curves_read_the_newest_complete_state(tmp_path):
    _checkpoint(tmp_path, 2, [{"loss": 3.0, "step": 1}])
    _checkpoint(
        tmp_path,
        4,
        [
            {"loss": 3.0, "step": 1},
            {"loss": 2.5, "reward": 0.1, "step": 2},
            {"eval_loss": 2.7, "step": 2},
            {"train_runtime": 9.0, "step": 4},
        ],
    )
    _checkpoint(tmp_path, 6, [{"loss": 9.9, "step": 6}], complete=False)  # cut short: never read
    assert checkpoint_curves(tmp_path) == {"loss": [(1, 3.0), (2, 2.5)], "reward": [(2, 0.1)], "eval_loss": [(2, 2.7)]}
    assert checkpoint_curves(tmp_path / "missing") == {}


def test_tensorboard_curves_merge_a_resumed_run(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    first = SummaryWriter(str(tmp_path))
    for step, value in [(1, 4.0), (2, 3.0), (3, 2.0)]:
        first.add_scalar("train/loss", value, step)
    first.add_scalar("train/learning_rate", 0.1, 1)  # not plotted
    first.close()
    resumed = SummaryWriter(str(tmp_path))
    for step, value in [(3, 2.2), (4, 1.5)]:
        resumed.add_scalar("train/loss", value, step)
    resumed.add_scalar("train/reward", 0.5, 4)
    resumed.close()
    got = tensorboard_curves(tmp_path)
    assert got == {"loss": [(1, 4.0), (2, 3.0), (3, pytest.approx(2.2)), (4, 1.5)], "reward": [(4, 0.5)]}


def test_stage_curves_prefer_tensorboard_and_fall_back_to_checkpoints(tmp_path):
    layout = Layout(tmp_path)
    _checkpoint(layout.checkpoints("sft"), 2, [{"loss": 3.0, "step": 2}])
    assert stage_curves(layout, model_stages()) == {"sft": {"loss": [(2, 3.0)]}}


def _result(mean, lo, hi, kind="task", perplexity=None):
    return {"kind": kind, "n": 10, "mean": mean, "lo": lo, "hi": hi, "perplexity": perplexity}


def test_plots_are_written_as_png(tmp_path):
    results = {
        m: {
            "arithmetic": _result(a, max(0, a - 0.1), min(1, a + 0.1)),
            "retention_test": _result(0.9, 0.8, 1.0),
            "retention_text_test": _result(-2.0, -2.1, -1.9, "text", p),
        }
        for m, a, p in (("base", 0.2, 7.4), ("sft", 0.6, 8.1))
    }
    png = accuracy_plot(results, 0.8, tmp_path / "accuracy.png")
    height, width = mpimg.imread(png).shape[:2]
    assert width > height > 300  # two panels side by side
    curves = curves_plot(
        {"sft": {"loss": [(1, 3.0), (2, 2.0)]}, "rl": {"reward": [(1, 0.1), (2, 0.4)]}}, tmp_path / "curves.png"
    )
    assert mpimg.imread(curves).shape[1] > 800  # one panel per curve
    assert curves_plot({}, tmp_path / "none.png") is None and not (tmp_path / "none.png").exists()


def test_a_forced_fresh_run_starts_fresh_curves(smoke_cfg, tmp_path):
    from trainpipe.artifacts import Layout
    from trainpipe.evaluation.curves import stage_curves
    from trainpipe.pipeline import run_stage

    cfg = smoke_cfg("sft.max_steps=4", "sft.logging_steps=1", "sft.save_steps=2")
    run_stage(cfg, "collect")
    run_stage(cfg, "sft")
    assert [s for s, _ in stage_curves(Layout(tmp_path), ("sft",))["sft"]["loss"]] == [1, 2, 3, 4]
    run_stage(smoke_cfg("sft.max_steps=2", "sft.logging_steps=1", "sft.save_steps=2"), "sft", force=True)
    assert [s for s, _ in stage_curves(Layout(tmp_path), ("sft",))["sft"]["loss"]] == [1, 2]  # not the old run's tail
