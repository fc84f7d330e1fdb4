"""Argument checks shared by the public entry points of ``course_lib``.

Every check raises ``TypeError`` (wrong kind of object or dtype) or ``ValueError`` (wrong shape,
size or values) with a message of the form ``"<where>: <name> <what was expected>, got <what was
given>; <what to do>"``, so that a student sees which call and which argument went wrong.

Cost. Checks of the *type*, *dtype* and *shape* read metadata only and are free. Checks of the
*values* (:func:`check_range`, :func:`check_finite`) reduce the whole tensor (one ``aminmax``)
and read two numbers back to Python: on a GPU that waits for every queued kernel (a host-device
sync). They belong in entry points that are called once per evaluation or figure (metrics,
compositing, plots), never unconditionally in a function that runs at every training step;
:class:`course_lib.style.VGGFeatures` explains the compromise it makes.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import torch

ValueRange = tuple[float, float]

#: values may exceed the range by this fraction of its width (rounding, resampling, float error)
RANGE_TOLERANCE = 1e-3


def describe(x: Any) -> str:
    """A short description of ``x`` for error messages: a tensor's shape and dtype, else its type."""
    if isinstance(x, torch.Tensor):
        return f"{x.dtype} tensor of shape {tuple(x.shape)}"
    shape = getattr(x, "shape", None)
    return type(x).__name__ + (f" of shape {tuple(shape)}" if shape is not None else "")


def check_tensor(x: Any, name: str, where: str, expected: str = "a torch.Tensor") -> None:
    """``TypeError`` unless ``x`` is a ``torch.Tensor`` (numpy arrays get a conversion hint)."""
    if not isinstance(x, torch.Tensor):
        hint = "; convert with torch.from_numpy(array)" if type(x).__module__ == "numpy" else ""
        raise TypeError(f"{where}: {name} must be {expected}, got {describe(x)}{hint}")


def check_4d(x: Any, name: str, where: str, channels: int | tuple[int, ...] | None = None) -> None:
    """``TypeError``/``ValueError`` unless ``x`` is an (N, C, H, W) tensor (with C in ``channels``)."""
    check_tensor(x, name, where, "an (N, C, H, W) tensor")
    if x.dim() != 4:
        hint = "; add a batch dimension with x[None]" if x.dim() == 3 else ""
        raise ValueError(f"{where}: {name} must be an (N, C, H, W) batch, got shape {tuple(x.shape)}{hint}")
    if channels is not None:
        allowed = (channels,) if isinstance(channels, int) else tuple(channels)
        if x.shape[1] not in allowed:
            want = " or ".join(map(str, allowed))
            raise ValueError(f"{where}: {name} must have {want} channels, got {x.shape[1]} "
                             f"(shape {tuple(x.shape)})")


def check_nonempty(x: torch.Tensor, name: str, where: str) -> None:
    """``ValueError`` if ``x`` has no element (a reduction over it would be NaN or fail)."""
    if x.numel() == 0:
        raise ValueError(f"{where}: {name} is empty (shape {tuple(x.shape)}); pass at least one element")


def check_float(x: torch.Tensor, name: str, where: str, value_range: ValueRange = (0.0, 1.0)) -> None:
    """``TypeError`` unless ``x`` has a floating-point dtype (networks and most maths need one).

    The usual culprit is an 8-bit image (``torch.uint8``, 0-255) straight from a file.
    """
    if not x.is_floating_point():
        lo, hi = value_range
        conversion = f"{name}.float() / 255" if (lo, hi) == (0.0, 1.0) else f"{name}.float() / 127.5 - 1"
        raise TypeError(
            f"{where}: {name} must be a floating-point tensor with values in [{lo:g}, {hi:g}], got dtype "
            f"{x.dtype}; convert 8-bit images (0-255) with {conversion}"
        )


def check_value_range(value_range: Any, where: str, name: str = "value_range") -> ValueRange:
    """Return ``value_range`` as two floats, or raise unless it is ``(low, high)`` with ``low < high``."""
    ok = (isinstance(value_range, (tuple, list)) and len(value_range) == 2
          and all(isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) for v in value_range))
    if not ok or not value_range[0] < value_range[1]:
        hint = "; the low end comes first" if ok and value_range[0] > value_range[1] else ""
        raise ValueError(f"{where}: {name} must be (low, high) with low < high, e.g. (0, 1) or (-1, 1); "
                         f"got {value_range!r}{hint}")
    return float(value_range[0]), float(value_range[1])


def _aminmax(x: torch.Tensor) -> tuple[float, float]:
    lo, hi = torch.aminmax(x.detach() if x.dtype != torch.bool else x.detach().to(torch.uint8))
    return float(lo), float(hi)


def check_finite(x: torch.Tensor, name: str, where: str, hint: str = "") -> None:
    """``ValueError`` if ``x`` contains NaN or inf (one reduction; see the module docstring on cost)."""
    check_nonempty(x, name, where)
    if x.is_floating_point() or x.is_complex():
        lo, hi = _aminmax(x)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"{where}: {name} contains NaN or inf values; "
                             + (hint or "find where they come from (a division by zero, log(0), a diverged network)"))


def check_range(x: torch.Tensor, name: str, where: str, value_range: ValueRange, *,
                range_arg: str | None = "value_range", tolerance: float = RANGE_TOLERANCE) -> tuple[float, float]:
    """``ValueError`` unless ``x`` is finite and within ``value_range`` (give or take ``tolerance``).

    ``tolerance`` is a fraction of the range's width. ``range_arg`` names the argument that sets
    the range, so that the message can suggest another value; ``None`` when the range is fixed
    (e.g. compositing works in [0, 1] only). Returns ``(min, max)`` of ``x``. One ``aminmax``.
    """
    check_nonempty(x, name, where)
    lo, hi = _aminmax(x)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{where}: {name} contains NaN or inf values; find where they come from "
                         "(a division by zero, log(0), a diverged network)")
    low, high = value_range
    slack = tolerance * (high - low)
    if low - slack <= lo and hi <= high + slack:
        return lo, hi
    what = (f"values up to {hi:g}" if lo >= low - slack else
            f"values down to {lo:g}" if hi <= high + slack else f"values in [{lo:g}, {hi:g}]")
    if high <= 1 and 1.5 < hi <= 255 * (1 + RANGE_TOLERANCE) and lo >= -slack:
        convert = "divide by 255" if low >= 0 else "convert with x / 127.5 - 1"
        todo = f"it looks like 0-255: {convert}" + (f" or pass {range_arg}=(0, 255)" if range_arg else "")
    elif low >= 0 and lo >= -1 - slack and hi <= 1 + slack:
        todo = ("it looks like [-1, 1]: " + (f"pass {range_arg}=(-1, 1) or " if range_arg else "")
                + "map it with (x + 1) / 2")
    else:
        todo = "clamp it or fix where it comes from" + (f", or pass the {range_arg} it uses" if range_arg else "")
    if range_arg:
        raise ValueError(f"{where}: {name} has {what} but {range_arg}=({low:g}, {high:g}); {todo}")
    raise ValueError(f"{where}: {name} must be in [{low:g}, {high:g}] but has {what}; {todo}")


def check_positive_int(value: Any, name: str, where: str, minimum: int = 1) -> int:
    """Return ``value`` as an ``int``, or raise unless it is an integer >= ``minimum`` (bools are not ints here)."""
    if not isinstance(value, Integral) or isinstance(value, bool):
        raise TypeError(f"{where}: {name} must be an int >= {minimum}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{where}: {name} must be an int >= {minimum}, got {value}")
    return int(value)
