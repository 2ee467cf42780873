"""SFT under `accelerate launch` with 2 CPU processes (gloo) matches 1 process at the same global batch, and only
the main process locks, logs and publishes; plus the chunked LM-head CE that both runs train with."""

import json
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from conftest import REPO
from trainpipe import artifacts
from trainpipe.pipeline import run_stage
from trainpipe.training.sft_trainer import ChunkedLinearCE

TRAIN = ["sft.max_steps=4", "sft.save_steps=2", "sft.logging_steps=1", "sft.precision=fp32"]


def _pipeline(root, *overrides):
    cmd = [
        sys.executable,
        str(REPO / "scripts" / "run_full_pipeline.py"),
        "--config",
        str(REPO / "configs" / "smoke.yaml"),
        "--only",
        "sft",
        f"paths.root={root}",
        *TRAIN,
        *overrides,
    ]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_cpu_processes_match_one_process_with_the_same_global_batch(smoke_cfg, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    for root in (one, two):
        run_stage(smoke_cfg(f"paths.root={root}"), "collect")
    single = _pipeline(one, "sft.batch_size=4")
    assert single.returncode == 0, single.stderr[-3000:]
    ddp = _pipeline(
        two,
        "sft.batch_size=2",
        "launch.num_processes=2",
        f"launch.accelerate_config={REPO / 'configs' / 'accelerate' / 'ddp_cpu.yaml'}",
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]

    m1 = artifacts.read_manifest(one / "models" / "sft")["metrics"]
    m2 = artifacts.read_manifest(two / "models" / "sft")["metrics"]
    assert (m1["processes"], m2["processes"]) == (1, 2)
    assert m1["steps"] == m2["steps"] == 4
    assert m1["tokens_seen"] == m2["tokens_seen"] > 0  # counted over both ranks: the same 16 examples
    assert m2["train_loss"] == pytest.approx(m1["train_loss"], abs=1e-4)
    assert m2["last_logged_loss"] == pytest.approx(m1["last_logged_loss"], abs=1e-4)

    base = load_file(one / "models" / "base" / "model.safetensors")
    w1, w2 = (
        load_file(one / "models" / "sft" / "model.safetensors"),
        load_file(two / "models" / "sft" / "model.safetensors"),
    )
    moved = max((w1[k] - base[k]).abs().max().item() for k in base)
    apart = max((w1[k] - w2[k]).abs().max().item() for k in base)
    assert moved > 1e-4  # training changed the merged weights...
    assert apart <= 1e-3 * moved  # ...and both runs changed them alike (measured: ~1e-7 of the update, fp32)

    # The main process alone published, wrote run.log and left nothing behind.
    assert not list((two / "models").glob(".sft.*-*")) and not (two / "models" / "sft.gathered").exists()
    log = (two / "logs" / "sft" / "run.log").read_text()
    assert log.count("stage sft: running") == 1 and log.count("stage sft: published") == 1
    assert (two / "checkpoints" / "sft" / "checkpoint-4" / "COMPLETE").exists()
    owner = json.loads((two / "checkpoints" / "sft" / "owner.json").read_text())
    assert owner["fingerprint"] == artifacts.read_manifest(two / "models" / "sft")["fingerprint"]

    # Rerun: every rank sees the same manifest and skips; none waits for a publish that never comes.
    again = _pipeline(
        two,
        "sft.batch_size=2",
        "launch.num_processes=2",
        f"launch.accelerate_config={REPO / 'configs' / 'accelerate' / 'ddp_cpu.yaml'}",
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert (two / "logs" / "sft" / "run.log").read_text().count("is up to date") == 1


@pytest.mark.parametrize("grad_weight", [True, False], ids=["full", "frozen_head"])
def test_chunked_ce_matches_cross_entropy_in_value_and_gradients(grad_weight):
    torch.manual_seed(0)
    hidden = torch.randn(37, 16, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(50, 16, dtype=torch.float64, requires_grad=grad_weight)
    targets = torch.randint(0, 50, (37,))
    targets[:5] = (hidden[:5] @ weight.t()).argmax(-1)  # some rows predicted right, for the accuracy count
    total, correct = ChunkedLinearCE.apply(hidden, weight, targets, 8)  # 37 rows: 4 full chunks and a ragged one
    (0.5 * total).backward()
    got_h, got_w = hidden.grad.clone(), weight.grad.clone() if grad_weight else None
    hidden.grad = weight.grad = None
    logits = hidden @ weight.t()
    want = F.cross_entropy(logits, targets, reduction="sum")
    (0.5 * want).backward()
    assert total.item() == pytest.approx(want.item(), rel=1e-6)
    assert correct.item() == (logits.argmax(-1) == targets).sum().item() >= 5
    assert torch.allclose(got_h, hidden.grad, atol=1e-6)
    if grad_weight:
        assert torch.allclose(got_w, weight.grad, atol=1e-6)


@pytest.mark.parametrize("grad_weight", [True, False], ids=["full", "frozen_head"])
def test_chunked_ce_under_bf16_autocast_matches_bf16_logits(grad_weight):
    """Under autocast the head is cast to bf16 once per batch (a frozen one is not cached by autocast): value and
    gradients equal the CE of bf16 GEMM logits, up to bf16 rounding of the gradient GEMMs."""
    torch.manual_seed(0)
    hidden = torch.randn(37, 16, requires_grad=True)
    weight = torch.randn(50, 16, requires_grad=grad_weight)
    targets = torch.randint(0, 50, (37,))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        total, _ = ChunkedLinearCE.apply(hidden, weight, targets, 8)
        total.backward()
        logits = hidden @ weight.t()
    assert logits.dtype == torch.bfloat16
    got_h, got_w = hidden.grad.clone(), weight.grad.clone() if grad_weight else None
    hidden.grad = weight.grad = None
    h, w = hidden.detach().clone().requires_grad_(), weight.detach().clone().requires_grad_(grad_weight)
    want = F.cross_entropy((h.bfloat16() @ w.bfloat16().t()).float(), targets, reduction="sum")
    want.backward()
    assert total.item() == pytest.approx(want.item(), rel=1e-3)
    assert torch.allclose(got_h, h.grad, rtol=0.02, atol=0.02)
    if grad_weight:
        assert torch.allclose(got_w, w.grad, rtol=0.02, atol=0.05)


def test_trainer_chunked_loss_equals_trl_fused_loss(tokenizer, tmp_path):
    from datasets import Dataset
    from trl import SFTConfig

    from trainpipe.models.chat import encode_chat
    from trainpipe.models.load import build_tiny_random
    from trainpipe.training.sft_trainer import TrainpipeSFTTrainer, WeightedCollator

    convs = [
        [{"role": "user", "content": "What is 2 + 3?"}, {"role": "assistant", "content": "2 + 3 = 5\nAnswer: 5"}],
        [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue."}],
    ]
    examples = [{"input_ids": e.input_ids, "labels": e.labels} for e in (encode_chat(tokenizer, c) for c in convs)]
    batch = WeightedCollator(pad_token_id=0)([dict(e) for e in examples])
    losses = {}
    for kernel in ("chunked", "trl"):
        model = build_tiny_random(tokenizer, seed=5)
        args = SFTConfig(
            output_dir=str(tmp_path / kernel),
            use_cpu=True,
            report_to=[],
            max_length=None,
            bf16=False,
            remove_unused_columns=False,
        )
        trainer = TrainpipeSFTTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(examples),
            processing_class=tokenizer,
            data_collator=WeightedCollator(pad_token_id=0),
            ce_kernel=kernel,
        )
        assert trainer.ce_kernel == kernel
        trainer.model.train()
        loss = trainer.compute_loss(trainer.model, dict(batch), num_items_in_batch=None)
        loss.backward()
        grad = trainer.model.model.layers[0].mlp.down_proj.weight.grad.clone()
        losses[kernel] = (loss.item(), grad)
    assert losses["chunked"][0] == pytest.approx(losses["trl"][0], rel=1e-5)
    assert torch.allclose(losses["chunked"][1], losses["trl"][1], atol=1e-6, rtol=1e-4)


def _sft_weights(smoke_cfg, root, *overrides):
    cfg = smoke_cfg(f"paths.root={root}", *TRAIN, *overrides)
    run_stage(cfg, "collect")
    metrics = run_stage(cfg, "sft")["metrics"]
    return metrics, load_file(root / "models" / "sft" / "model.safetensors")


def test_accumulation_and_padding_free_packing_train_like_one_padded_batch(smoke_cfg, tmp_path, monkeypatch):
    """Batch 4 = batch 2 x accumulation 2 (the loss is normalised by the window's labelled tokens, not averaged
    per micro-batch), and padding-free packing, whose documents share one row and attend only to themselves."""
    from trainpipe.training.sft_trainer import WeightedCollator

    shapes = []
    collate = WeightedCollator.torch_call

    def recording(self, examples):
        out = collate(self, examples)
        shapes.append((len(examples), *out["input_ids"].shape))
        return out

    monkeypatch.setattr(WeightedCollator, "torch_call", recording)
    m_ref, ref = _sft_weights(smoke_cfg, tmp_path / "ref", "sft.batch_size=4")
    m_acc, acc = _sft_weights(smoke_cfg, tmp_path / "acc", "sft.batch_size=2", "sft.grad_accum=2")
    shapes.clear()
    m_pack, pack = _sft_weights(smoke_cfg, tmp_path / "pack", "sft.batch_size=4", "sft.packing=true")
    assert shapes and all(n == 4 and rows == 1 for n, rows, _ in shapes)  # 4 documents flattened into one row
    base = load_file(tmp_path / "ref" / "models" / "base" / "model.safetensors")
    moved = max((ref[k] - base[k]).abs().max().item() for k in base)
    assert moved > 1e-4
    for metrics, weights in ((m_acc, acc), (m_pack, pack)):
        assert metrics["train_loss"] == pytest.approx(m_ref["train_loss"], abs=1e-4)
        assert max((weights[k] - ref[k]).abs().max().item() for k in base) <= 1e-3 * moved


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _machine(root, rank: int, port: int, *overrides) -> list[str]:
    return [
        sys.executable,
        str(REPO / "scripts" / "run_full_pipeline.py"),
        "--config",
        str(REPO / "configs" / "smoke.yaml"),
        f"paths.root={root}",
        "sft.max_steps=2",
        "sft.precision=fp32",
        "launch.num_processes=2",
        "launch.num_machines=2",
        f"launch.machine_rank={rank}",
        "launch.main_process_ip=127.0.0.1",
        f"launch.main_process_port={port}",
        f"launch.accelerate_config={REPO / 'configs' / 'accelerate' / 'ddp_cpu.yaml'}",
        *overrides,
    ]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_two_machines_sharing_a_root_run_each_stage_once_and_train_together(tmp_path):
    # Both machines used to run collect, evaluate and deploy: the second one's stage lock refused it (exit 2)
    # and machine 0 then waited forever at the training rendezvous.
    import time

    port = _free_port()
    second = subprocess.Popen(
        _machine(tmp_path, 1, port), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    time.sleep(1.0)  # machine 1 starts first, so it has to wait for machine 0's collect
    first = subprocess.run(_machine(tmp_path, 0, port), cwd=REPO, capture_output=True, text=True, timeout=800)
    out1 = second.communicate(timeout=300)[0]
    assert first.returncode == 0, first.stderr[-3000:]
    assert second.returncode == 0, out1[-3000:]
    assert "== collect: runs on machine 0; machine 1 waits for its output" in out1
    assert "== evaluate: runs on machine 0 (this is machine 1)" in out1
    for stage in ("collect", "sft", "evaluate", "deploy"):
        log = (tmp_path / "logs" / stage / "run.log").read_text()
        assert log.count(f"stage {stage}: running") == 1, stage
    assert artifacts.read_manifest(tmp_path / "models" / "sft")["metrics"]["processes"] == 2


def test_a_second_machine_without_machine_zero_stops_with_a_clear_message(tmp_path):
    got = subprocess.run(
        _machine(tmp_path, 1, _free_port(), "launch.wait_seconds=1"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert got.returncode == 2, got.stderr[-2000:]
    assert "machine 1 waited 1 s for stage collect from machine 0 and found it missing" in got.stderr
    assert "Traceback" not in got.stderr


@pytest.mark.parametrize("kind", ["fsdp2", "zero2"])
def test_sharded_configs_on_a_cpu_only_machine_are_refused_not_run_as_ddp(smoke_cfg, tmp_path, kind):
    # accelerate 1.15 turns FSDP and DeepSpeed into MULTI_CPU data parallelism where no accelerator exists; the
    # run used to succeed, replicating the model it was told to shard.
    if torch.accelerator.is_available():
        pytest.skip("this machine has an accelerator")
    run_stage(smoke_cfg(), "collect")
    got = _pipeline(
        tmp_path,
        "sft.batch_size=2",
        "launch.num_processes=2",
        f"launch.accelerate_config={REPO / 'configs' / 'accelerate' / f'{kind}.yaml'}",
    )
    assert got.returncode == 2 and "Traceback" not in got.stderr, got.stderr[-2000:]
    assert "which accelerate runs only on GPUs" in got.stderr and "ddp_cpu.yaml" in got.stderr
    assert not (tmp_path / "models" / "sft").exists()


def test_a_stage_launched_for_fsdp_that_runs_unsharded_stops(monkeypatch):
    from types import SimpleNamespace

    from accelerate.utils import DistributedType

    from trainpipe.errors import UserError
    from trainpipe.training.driver import check_sharding

    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    with pytest.raises(UserError, match="asks for FSDP, but accelerate runs this stage as MULTI_CPU"):
        check_sharding(SimpleNamespace(distributed_type=DistributedType.MULTI_CPU))
    check_sharding(SimpleNamespace(distributed_type=DistributedType.FSDP))
