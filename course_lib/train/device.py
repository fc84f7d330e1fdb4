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


def cpu_info() -> tuple[str, frozenset[str]]:
    """(model name, feature flags) of this machine's CPU, as ``lscpu`` reports them (Linux).

    Elsewhere the name comes from :mod:`platform` and the flags are empty.
    """
    import platform
    from pathlib import Path

    name, flags = platform.processor() or platform.machine(), frozenset[str]()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                name = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = frozenset(value.split())
    return name, flags


def cpu_bf16_matmul() -> str | None:
    """The CPU's bf16 matrix unit, or ``None`` when bf16 would only be emulated.

    ``"amx_bf16"`` (Intel Sapphire Rapids and later: tile matrix units) or ``"avx512_bf16"``
    (bf16 dot products). Without either, PyTorch converts bf16 back to fp32 around every
    kernel and bf16 autocast runs 5-30x slower than fp32 (measured with ``make bench`` on an AMD
    EPYC without them); with AMX, pix2pix at 256 px ran 1.51x faster.
    """
    flags = cpu_info()[1]
    for unit in ("amx_bf16", "avx512_bf16"):
        if unit in flags:
            return unit
    return None


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


def cpu_precision_for_long_runs(requested: PrecisionName | None, device: torch.device) -> PrecisionName | None:
    """The precision of a paper-size run on a CPU: bf16 when the CPU has AMX bf16 units.

    Notebooks (quick mode) always stay in fp32 so that their results repeat exactly; the
    command-line trainer's long runs may trade that for speed. Only AMX is fast enough to be
    worth it by default (``avx512_bf16`` alone was not measured faster here). An explicit
    ``requested`` precision always wins.
    """
    if requested not in (None, "auto") or device.type != "cpu":
        return requested
    return "bf16" if cpu_bf16_matmul() == "amx_bf16" else requested


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
