"""Device selection and mixed precision that is a no-op on CPU."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Literal

import torch

PrecisionName = Literal["auto", "fp32", "bf16", "fp16"]


def select_device(device: str | torch.device | None = None, verbose: bool = True) -> torch.device:
    """Pick ``cuda``, then ``mps``, then ``cpu`` (or the device you name) and say which.

    Raises a ``ValueError`` when the named device does not exist on this machine.
    """
    if device is None:
        if torch.cuda.is_available():
            dev = torch.device("cuda")
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            dev = torch.device("mps")
        else:
            dev = torch.device("cpu")
    else:
        dev = torch.device(device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device={str(device)!r} was requested but this machine has no CUDA GPU; "
                "pass device=None to choose automatically or device='cpu'."
            )
        if dev.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(f"device={str(device)!r} was requested but MPS is not available.")
    if verbose:
        print(f"device: {describe_device(dev)}")
    return dev


def describe_device(device: torch.device) -> str:
    """One human-readable line about ``device`` (name, memory or thread count)."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        return f"cuda:{index} ({props.name}, {props.total_memory / 2**30:.0f} GiB)"
    if device.type == "mps":
        return "mps (Apple GPU)"
    return f"cpu ({torch.get_num_threads()} torch threads)"


def resolve_precision(precision: PrecisionName, device: torch.device) -> Literal["fp32", "bf16", "fp16"]:
    """Turn ``"auto"`` into a concrete choice for ``device``.

    ``auto`` means bf16 on GPUs that support it (no loss scaling needed), fp16 on older GPUs,
    and fp32 on CPU and MPS so that quick mode stays deterministic and exact.
    """
    if precision not in ("auto", "fp32", "bf16", "fp16"):
        raise ValueError(f"precision must be 'auto', 'fp32', 'bf16' or 'fp16'; got {precision!r}")
    if precision != "auto":
        if precision == "fp16" and device.type == "cpu":
            raise ValueError("precision='fp16' is not supported on CPU; use 'bf16' or 'fp32'.")
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


class Precision:
    """Autocast context plus the matching gradient scaler.

    >>> prec = Precision(torch.device("cpu"))          # fp32: both are no-ops
    >>> with prec.autocast():
    ...     pass
    """

    def __init__(self, device: torch.device, precision: PrecisionName = "auto") -> None:
        self.device = device
        self.name = resolve_precision(precision, device)
        self.dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[self.name]
        # Only fp16 needs loss scaling: bf16 has fp32's exponent range.
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.name == "fp16")

    @property
    def enabled(self) -> bool:
        return self.name != "fp32"

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        with torch.autocast(device_type=self.device.type, dtype=self.dtype):
            yield

    def __repr__(self) -> str:
        return f"Precision({self.name} on {self.device})"
