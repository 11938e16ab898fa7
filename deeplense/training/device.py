"""Where and how numerically a model trains: CUDA with mixed precision and channels-last memory
when a GPU is present, the CPU in float32 otherwise, unless the config asks for a precision."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

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


def select_device(name: str = "auto", precision: str = "auto") -> Device:
    """``name`` ``auto``: CUDA when present, else the CPU. ``precision`` ``auto``: bfloat16 autocast on
    CUDA where supported (else float16), float32 on the CPU; ``float32``: no autocast; ``bfloat16``:
    bfloat16 autocast on either device."""
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
    return Device(device, None)
