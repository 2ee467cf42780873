"""Thread choice on a CPU: an instantaneous runnable count (not the lagging load average) decides how many
intra-op threads a stage takes; explicit settings always win."""

from pathlib import Path

import pytest
import torch

from trainpipe.models import hardware

STAT = """cpu  10 0 10 100 0 0 0 0 0 0
ctxt 12345
procs_running 3
procs_blocked 0
"""


def test_procs_running_is_read_from_proc_stat_text():
    assert hardware.procs_running(STAT) == 3
    assert hardware.procs_running("cpu 1 2 3\n") is None


def test_busy_cores_takes_the_median_and_leaves_out_this_process(monkeypatch, tmp_path):
    counts = iter(["procs_running 1\n", "procs_running 9\n", "procs_running 2\n"])  # one spike: median 2
    monkeypatch.setattr(hardware.Path, "read_text", lambda self: next(counts))
    assert hardware.busy_cores(samples=3, interval=0.0) == 1.0


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("busy,expected", [(0.0, 2), (0.6, 1), (1.0, 1), (5.0, 1)])
def test_auto_threads_leave_busy_cores_alone(monkeypatch, restore_threads, busy, expected):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.setattr(hardware.torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(hardware, "busy_cores", lambda: busy)
    torch.set_num_threads(2)  # "one per core" on a 2-core machine
    assert hardware.configure_threads(0) == expected


def test_explicit_thread_count_is_used_as_given(monkeypatch, restore_threads):
    monkeypatch.setattr(hardware, "busy_cores", lambda: 7.0)
    assert hardware.configure_threads(1) == 1


def test_describe_names_the_best_matmul_instruction_set_the_cpu_has():
    info = hardware.describe()
    flags = Path("/proc/cpuinfo").read_text().split()
    assert info["isa"] == next((i for i in hardware.ISA_LEVELS if i in flags), None)
    assert (info["isa"] in ("amx_bf16", "avx512_bf16")) == hardware.cpu_has_native_bf16()


def test_result_cache_keys_differ_between_machines(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from trainpipe.evaluation.cache import for_config

    cfg = SimpleNamespace(evaluate=SimpleNamespace(backend="hf"), model=SimpleNamespace(dtype="float32"))
    suite = SimpleNamespace(fingerprint="s")
    here = for_config(tmp_path, cfg).path("m", suite)
    monkeypatch.setattr(hardware, "describe", lambda: {"cpu": "other", "isa": "avx2", "cuda": None})
    assert for_config(tmp_path, cfg).path("m", suite) != here
