"""Pick precision, checkpointing, threads and GPU-only kernels from the hardware, so defaults never fall into slow
emulated bf16 and GPU options degrade to a logged no-op where they cannot run."""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import statistics
import time
import weakref
from pathlib import Path

import torch

log = logging.getLogger("trainpipe.training")


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            flags = fh.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


ISA_LEVELS = ("amx_bf16", "avx512_bf16", "avx512f", "avx2")  # best first: which matmul kernels oneDNN can pick


@functools.lru_cache(maxsize=1)
def describe() -> dict:
    """The machine the numbers come from: CPU model, its best matmul instruction set, the CUDA device. Kernels
    differ in rounding (an AMX CPU and an AVX512-BF16 CPU give different bf16 logits), so greedy completions, and
    with them evaluation figures, can differ between machines with identical packages and seeds."""
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        info = ""
    cpu = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), None)
    flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), []))
    return {
        "cpu": cpu,
        "isa": next((i for i in ISA_LEVELS if i in flags), None),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


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
    """The dtype inference loads a model in (evaluation, replay answers): 'auto' is bf16 where the hardware
    computes it natively (a CUDA GPU with bf16, an AVX512-BF16/AMX CPU: about 2x faster generation there), else fp32."""
    if choice == "auto":
        return torch.bfloat16 if bf16_ok() else torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[choice]


def use_gradient_checkpointing(choice: str, n_params: int) -> bool:
    """Checkpointing trades ~30% compute for memory; on a CPU memory is rarely the limit, on a GPU it is past ~1B."""
    if choice != "auto":
        return choice == "on"
    return torch.cuda.is_available() and n_params > 1_000_000_000


def procs_running(stat_text: str) -> int | None:
    """The instantaneous count of runnable threads in /proc/stat's text (this process included)."""
    for line in stat_text.splitlines():
        if line.startswith("procs_running "):
            return int(line.split()[1])
    return None


def busy_cores(samples: int = 5, interval: float = 0.04) -> float:
    """Cores other work keeps busy now: the median of a few /proc/stat runnable counts, minus this process.
    The load average would lag by a minute: a stage that starts right after another finished (SFT, then
    evaluate) would still see the previous stage's load and halve its own threads for nothing."""

    counts = []
    for i in range(samples):
        try:
            count = procs_running(Path("/proc/stat").read_text())
        except OSError:
            count = None
        if count is None:  # no /proc (macOS): the load average is all there is
            return max(0.0, os.getloadavg()[0] - 1.0)
        counts.append(count)
        if i + 1 < samples:
            time.sleep(interval)
    return max(0.0, statistics.median(counts) - 1.0)


def configure_threads(n: int) -> int:
    """Set torch's intra-op CPU threads: n > 0 as given; 0 = one per core, but only as many as the cores other
    work leaves idle. OpenMP threads spin at each barrier, so one thread that shares its core stalls all the
    others: on 2 cores under a load average of 8, 2 threads trained ~5x slower than 1 (bench/README.md)."""

    if n <= 0 and torch.cuda.is_available():
        return torch.get_num_threads()
    if n <= 0 and "OMP_NUM_THREADS" not in os.environ and os.environ.get("OMP_WAIT_POLICY", "").lower() != "passive":
        cores = torch.get_num_threads()
        busy = busy_cores()
        n = max(1, cores - round(busy))
        if n < cores:
            log.info("CPU busy (%.1f other runnable threads on %d cores): training with %d thread(s)", busy, cores, n)
    if n > 0:
        torch.set_num_threads(n)
    return torch.get_num_threads()


def _installed(module: str) -> bool:

    return importlib.util.find_spec(module) is not None


def use_liger(requested: bool) -> bool:
    """Liger's Triton kernels need CUDA and the liger-kernel package; without either, train without them."""
    if requested and not (torch.cuda.is_available() and _installed("liger_kernel")):
        log.warning("liger_kernel=true needs CUDA and the liger-kernel package; continuing without Liger kernels")
        return False
    return requested


def apply_flash_attention(model, requested: bool) -> str:
    """Switch a loaded model to FlashAttention-2 when asked and possible; returns the attention in use."""
    current = getattr(model.config, "_attn_implementation", None) or "default"
    if not requested:
        return current
    if not (torch.cuda.is_available() and _installed("flash_attn")):
        log.warning("flash_attention=true needs CUDA and the flash-attn package; continuing with %s", current)
        return current
    try:
        model.set_attn_implementation("flash_attention_2")
    except (ImportError, ValueError) as exc:  # e.g. a GPU older than Ampere, or a model without FA2 support
        log.warning("FlashAttention-2 unavailable (%s); continuing with %s", exc, current)
        return current
    return "flash_attention_2"


# Attribute that holds the full-precision originals of the weights `lower_frozen_linears` cast.
_FROZEN_ORIGINALS = "_trainpipe_frozen_originals"
# Attribute that holds the hook handles of `share_input_casts`.
_SHARED_CASTS = "_trainpipe_shared_casts"


def lower_frozen_linears(model, dtype: torch.dtype = torch.bfloat16) -> int:
    """Store the frozen weights of `model`'s linear layers (a LoRA base) in `dtype`, keeping the originals aside
    for `restore_frozen_linears`. Under autocast to `dtype` every forward casts each frozen weight anew (autocast
    caches casts of trainable weights only): once per decoded token in generation, as much time as the matmuls on
    a CPU. Stored in `dtype`, the matmuls see the same rounded weights and the casts are gone. A weight shared
    with the input embeddings (tied LM head) stays as it is, so the residual stream keeps its precision.
    Only for code that runs the model under autocast. Returns the number of weights cast."""
    tied = model.get_input_embeddings().weight if hasattr(model, "get_input_embeddings") else None
    originals = getattr(model, _FROZEN_ORIGINALS, {})
    for module in model.modules():
        weight = getattr(module, "weight", None)
        if not isinstance(module, torch.nn.Linear) or weight is None or weight.requires_grad or weight is tied:
            continue
        if weight.dtype == dtype or not weight.dtype.is_floating_point:
            continue
        originals[module] = weight.data
        weight.data = weight.data.to(dtype)
    setattr(model, _FROZEN_ORIGINALS, originals)
    return len(originals)


def restore_frozen_linears(model) -> int:
    """Put back the full-precision weights `lower_frozen_linears` set aside (before merging or saving), and
    remove the shared input casts of `share_input_casts`."""
    originals = getattr(model, _FROZEN_ORIGINALS, None) or {}
    for module, weight in originals.items():
        module.weight.data = weight
    if hasattr(model, _FROZEN_ORIGINALS):
        delattr(model, _FROZEN_ORIGINALS)
    for handle in getattr(model, _SHARED_CASTS, ()):
        handle.remove()
    if hasattr(model, _SHARED_CASTS):
        delattr(model, _SHARED_CASTS)
    return len(originals)


class _SharedCast(torch.autograd.Function):
    """Hands a consumer the one low-precision copy of `x` its siblings share; the backward casts this consumer's
    gradient back to x's dtype on its own, exactly as autocast's per-consumer cast does, so gradients still sum
    in x's precision."""

    @staticmethod
    def forward(ctx, x, low):
        ctx.dtype = x.dtype
        return low.view_as(low)

    @staticmethod
    def backward(ctx, grad):
        return grad.to(ctx.dtype), None


class _CastCache:
    """One low-precision copy per live input tensor, dropped when that tensor is freed."""

    def __init__(self):
        self.copies: dict[int, tuple] = {}

    def get(self, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        key = id(x)
        hit = self.copies.get(key)
        if hit is not None and hit[0]() is x and hit[1] == x._version:
            return hit[2]
        low = x.detach().to(dtype)
        if hit is None:
            weakref.finalize(x, self.copies.pop, key, None)
        self.copies[key] = (weakref.ref(x), x._version, low)
        return low


def share_input_casts(model, dtype: torch.dtype = torch.bfloat16) -> int:
    """Under autocast every linear layer casts its input anew: q, k, v and their LoRA A matrices (and gate, up
    and theirs) each cast the same normalised hidden states, ten copies per decoder layer that autocast never
    caches. These hooks give every frozen (lowered) linear and LoRA layer one shared `dtype` copy per input
    tensor instead: the forward is bit-identical (the same rounding of the same tensor) and so are the
    per-consumer gradient casts of the backward (`_SharedCast`). Call after `lower_frozen_linears`; undone by
    `restore_frozen_linears`. Returns the number of layers hooked."""
    cache = _CastCache()

    def pre_hook(module, args):
        x = args[0] if args else None
        if (
            not isinstance(x, torch.Tensor)
            or x.dtype == dtype
            or not x.is_floating_point()
            or not torch.is_autocast_enabled(x.device.type)
            or torch.get_autocast_dtype(x.device.type) != dtype
        ):
            return None
        low = cache.get(x, dtype)
        return (_SharedCast.apply(x, low) if x.requires_grad else low, *args[1:])

    hooked = getattr(model, _SHARED_CASTS, [])
    targets = list(getattr(model, _FROZEN_ORIGINALS, {}))  # frozen linears, LoRA base layers among them
    for module in model.modules():  # and each adapter's A matrix, which reads the same input as its base layer
        if isinstance(getattr(module, "lora_A", None), torch.nn.ModuleDict):
            targets += [a for a in module.lora_A.values() if isinstance(a, torch.nn.Linear)]
    # Each consumer is hooked by itself, so each gets its own _SharedCast node and its gradient is cast back to
    # fp32 before the sum, as under autocast (hooking the LoRA wrapper instead would sum base and adapter in bf16).
    hooked += [module.register_forward_pre_hook(pre_hook) for module in targets]
    setattr(model, _SHARED_CASTS, hooked)
    return len(hooked)
