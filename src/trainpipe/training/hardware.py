"""Pick precision and gradient checkpointing from the hardware, so defaults never fall into slow emulated bf16."""
from __future__ import annotations

import functools

import torch


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            flags = fh.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def bf16_ok() -> bool:
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return cpu_has_native_bf16()


def training_precision(choice: str) -> str:
    """'auto' → bf16 where the hardware computes it natively (CUDA Ampere+, AMX/AVX512-BF16 CPUs), else fp32."""
    if choice != "auto":
        return choice
    return "bf16" if bf16_ok() else "fp32"


def model_dtype(choice: str) -> torch.dtype:
    if choice == "auto":
        return torch.bfloat16 if torch.cuda.is_available() and bf16_ok() else torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[choice]


def use_gradient_checkpointing(choice: str, n_params: int) -> bool:
    """Checkpointing trades ~30% compute for memory; on a CPU memory is rarely the limit, on a GPU it is past ~1B."""
    if choice != "auto":
        return choice == "on"
    return torch.cuda.is_available() and n_params > 1_000_000_000
