"""Where and how numerically a model trains: CUDA with mixed precision and channels-last memory
when a GPU is present, the CPU in bfloat16 where it computes bfloat16 natively (AVX512-BF16 or AMX)
and in float32 otherwise, unless the config asks for a precision."""

from __future__ import annotations

import contextlib
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch


@dataclass(frozen=True)
class Device:
    """A torch device with its precision policy."""

    device: torch.device
    autocast_dtype: torch.dtype | None  # None: full float32

    @property
    def channels_last(self) -> bool:
        """Mixed-precision convolutions run fastest on channels-last tensors (cuDNN and oneDNN alike)."""
        return self.device.type == "cuda" or self.autocast_dtype is not None

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def needs_grad_scaler(self) -> bool:
        """float16 gradients underflow without loss scaling; bfloat16 does not need it."""
        return self.autocast_dtype == torch.float16

    def model(self, model: torch.nn.Module) -> torch.nn.Module:
        model = model.to(self.device)
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

    def batch(self, images: torch.Tensor) -> torch.Tensor:
        images = images.to(self.device, non_blocking=True)
        return images.contiguous(memory_format=torch.channels_last) if self.channels_last else images


def cpu_computes_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX tiles, as torch detects them).

    Elsewhere torch emulates bfloat16 (conversions around float32 arithmetic, generic kernels), and a
    ResNet-18 trains about ten times slower than in float32 (2 threads, 64×64: an AVX-512 Xeon
    without AVX512-BF16 9 against 101 images/s, an AVX2 AMD EPYC 8.2 against 84.7), so ``precision: auto``
    keeps such a CPU in float32. The answer depends on the machine, never on the config: ``auto``
    names the model as ``auto``."""
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


# The /proc/cpuinfo flags that decide which kernels torch runs (AVX-512 or AVX2 vector paths,
# bfloat16 native or emulated).
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def cpu_description() -> dict[str, Any]:
    """The CPU kind, as far as it decides torch's float results and speed: the model name, the
    flags of ``CPU_FLAGS`` (from /proc/cpuinfo), torch's kernel level (``get_cpu_capability``,
    which ``ATEN_CPU_CAPABILITY`` can lower) and whether bfloat16 is native. CPU training is
    bit-identical only on the same CPU kind, so training and benchmark records carry it."""
    info: dict[str, str] = {}
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())  # the first processor's
    flags = set(info.get("flags", "").split())
    return {
        "model": info.get("model name") or platform.processor() or platform.machine(),
        "flags": {flag: flag in flags for flag in CPU_FLAGS},
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "computes_bfloat16": cpu_computes_bfloat16(),
    }


def select_device(name: str = "auto", precision: str = "auto") -> Device:
    """``name`` ``auto``: CUDA when present, else the CPU. ``precision`` ``auto``: bfloat16 autocast on
    CUDA where supported (else float16), and on a CPU that computes bfloat16 natively
    (``cpu_computes_bfloat16``), float32 on other CPUs; ``float32``: no autocast; ``bfloat16``:
    bfloat16 autocast on either device, emulated (and slow) on other CPUs."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if precision == "float32":
        return Device(device, None)
    if precision == "bfloat16":
        return Device(device, torch.bfloat16)
    if precision != "auto":
        raise ValueError(f"precision {precision!r}: allowed auto, float32, bfloat16")
    if device.type == "cuda":
        return Device(device, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    return Device(device, torch.bfloat16 if cpu_computes_bfloat16() else None)


def emulated_bfloat16_warning(device: Device) -> str | None:
    """The warning for bfloat16 autocast on a CPU that emulates it (None where nothing is wrong):
    asked explicitly, ``precision: bfloat16`` still trains there, but much slower than float32."""
    if device.device.type != "cpu" or device.autocast_dtype != torch.bfloat16 or cpu_computes_bfloat16():
        return None
    return (
        "warning: precision bfloat16 on a CPU without AVX512-BF16 or AMX: bfloat16 is emulated here and trains "
        "about 10x slower than float32; precision: auto would choose float32"
    )
