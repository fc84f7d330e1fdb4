"""Receptive fields: the analytic formula for a stack of layers, and the empirical field of a network.

Analytic (Araujo et al., "Computing Receptive Fields of Convolutional Neural Networks", Distill
2019; Dumoulin & Visin, "A guide to convolution arithmetic", 2016). Walking from the input to the
output, each layer with kernel ``k``, stride ``s``, dilation ``d`` and padding ``p`` updates

* the receptive field size ``r <- r + (k - 1) * d * j``  (a dilated kernel spans ``(k-1)d + 1`` inputs),
* the jump (input pixels between neighbouring units) ``j <- j * s``,
* the centre of the first unit ``start <- start + ((k - 1) * d / 2 - p) * j``,

starting from ``r = 1, j = 1, start = 0.5`` (the centre of input pixel 0). A transposed convolution
with stride ``s`` *up*-samples: ``j <- j / s`` and each output sees at most
``floor((k - 1) * d / s) + 1`` neighbouring inputs, so ``r <- r + floor((k - 1) * d / s) * j``.

Empirical: back-propagate from one output unit to the input; the input pixels with a non-zero
gradient are the unit's receptive field, and the gradient's magnitude is its *effective* receptive
field (Luo et al., "Understanding the Effective Receptive Field in Deep CNNs", NeurIPS 2016).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import torch
from torch import nn

from course_lib._validate import check_positive_int


@dataclass(frozen=True)
class LayerSpec:
    """Geometry of one layer: kernel size, stride, dilation, padding, and whether it is transposed."""

    kernel_size: int
    stride: int = 1
    dilation: int = 1
    padding: int = 0
    transposed: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        for field_name, low in (("kernel_size", 1), ("stride", 1), ("dilation", 1), ("padding", 0)):
            value = getattr(self, field_name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
                label = f" (layer {self.name!r})" if self.name else ""
                raise ValueError(
                    f"{field_name} must be an int >= {low}{label}, got {value!r}. "
                    + ("A kernel needs at least one tap." if field_name == "kernel_size" else "")
                )


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of the units of one layer, in input pixels.

    ``size``: side of the square region one unit sees; ``jump``: distance between the centres of
    neighbouring units; ``start``: centre of unit 0 (input pixel ``i`` has centre ``i + 0.5``).
    """

    size: float
    jump: float
    start: float

    def __str__(self) -> str:
        return f"RF {_fmt(self.size)} px, jump {_fmt(self.jump)}, start {_fmt(self.start)}"


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.3g}"


def _as_spec(layer: LayerSpec | tuple | dict) -> LayerSpec:
    if isinstance(layer, LayerSpec):
        return layer
    if isinstance(layer, dict):
        return LayerSpec(**layer)
    if isinstance(layer, tuple):
        return LayerSpec(*layer)
    raise TypeError(
        f"each layer must be a LayerSpec, a tuple (kernel_size, stride, dilation, padding) or a dict; "
        f"got {type(layer).__name__}"
    )


def receptive_field_table(layers: Iterable[LayerSpec | tuple | dict]) -> list[ReceptiveField]:
    """The receptive field after every layer (first entry: the input itself, size 1)."""
    rf = ReceptiveField(size=1, jump=1, start=0.5)
    table = [rf]
    for layer in layers:
        spec = _as_spec(layer)
        k, s, d, p = spec.kernel_size, spec.stride, spec.dilation, spec.padding
        if spec.transposed:
            jump = rf.jump / s
            size = rf.size + math.floor((k - 1) * d / s) * rf.jump
            start = rf.start + rf.jump * (p - (k - 1) * d / 2) / s
        else:
            jump = rf.jump * s
            size = rf.size + (k - 1) * d * rf.jump
            start = rf.start + ((k - 1) * d / 2 - p) * rf.jump
        rf = ReceptiveField(size=size, jump=jump, start=start)
        table.append(rf)
    return table


def receptive_field(layers: Iterable[LayerSpec | tuple | dict]) -> ReceptiveField:
    """Receptive field of the last layer of a stack (see the module docstring for the formula).

    >>> receptive_field([LayerSpec(3, dilation=d) for d in (1, 2, 4, 8, 16)]).size
    63
    """
    return receptive_field_table(layers)[-1]


_POINTWISE = (
    nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm, nn.LayerNorm, nn.ReLU, nn.LeakyReLU, nn.PReLU,
    nn.ELU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid, nn.Identity, nn.Dropout, nn.Dropout2d,
    nn.ReflectionPad2d, nn.ReplicationPad2d, nn.ZeroPad2d,
)


def _pair(x: int | tuple[int, ...], what: str, module: nn.Module) -> int:
    if isinstance(x, tuple):
        if len(set(x)) != 1:
            raise ValueError(f"{module} has a non-square {what} {x}; only square geometry is supported")
        return int(x[0])
    return int(x)


def layers_from_module(module: nn.Module) -> list[LayerSpec]:
    """The geometry of every spatial layer of ``module``, in registration order.

    Registration order is execution order for sequential networks (``nn.Sequential`` and the
    course's discriminators). Padding layers (``ReflectionPad2d``...) are skipped: padding moves
    ``start`` but never changes the size of the field. Raises ``ValueError`` for layers whose field
    is not local (global pooling, fully connected layers on feature maps).
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"layers_from_module expects an nn.Module, got {type(module).__name__}")
    specs: list[LayerSpec] = []
    for name, m in module.named_modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            specs.append(LayerSpec(
                _pair(m.kernel_size, "kernel", m), _pair(m.stride, "stride", m),
                _pair(m.dilation, "dilation", m),
                _pair(m.padding, "padding", m) if not isinstance(m.padding, str) else 0,
                transposed=isinstance(m, nn.ConvTranspose2d), name=name,
            ))
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            k = _pair(m.kernel_size, "kernel", m)
            s = _pair(m.stride if m.stride is not None else k, "stride", m)
            d = _pair(getattr(m, "dilation", 1), "dilation", m)
            specs.append(LayerSpec(k, s, d, _pair(m.padding, "padding", m), name=name))
        elif isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.Linear)):
            raise ValueError(
                f"layer {name!r} ({type(m).__name__}) mixes all positions: its receptive field is the "
                "whole input. Compute the field of the layers before it instead."
            )
    return specs


@dataclass
class EmpiricalRF:
    """Result of :func:`empirical_receptive_field`.

    ``heatmap``: (H, W) array, |d output unit / d input| summed over channels and samples,
    normalised to a maximum of 1 (the effective receptive field). ``size``: (height, width) of the
    bounding box of the non-zero gradient. ``bbox``: (top, left, bottom, right), inclusive.
    ``touches_border``: the field reaches the edge of the input, so the input may be too small
    to contain it (make ``input_size`` larger).
    """

    heatmap: np.ndarray
    size: tuple[int, int]
    bbox: tuple[int, int, int, int]
    position: tuple[int, int]
    touches_border: bool


def _first_in_channels(module: nn.Module) -> int:
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            return m.in_channels
    raise ValueError("could not infer the number of input channels; pass input_size=(C, H, W)")


def _explain_channels(module: nn.Module, shape: tuple[int, ...], exc: RuntimeError) -> None:
    """After ``module`` failed on a ``shape`` input: raise a clear error if the channel count is the cause.

    Checked only after a failure, because the first convolution *registered* is not always the
    first one *applied*; when it fails and its channels differ from ``input_size``'s, they are the
    likely culprit.
    """
    try:
        expected = _first_in_channels(module)
    except ValueError:
        return
    if expected != shape[0] and "channels" in str(exc):
        raise ValueError(
            f"empirical_receptive_field: input_size {shape} has {shape[0]} channels but the module's first "
            f"convolution takes {expected}; pass input_size=({expected}, {shape[1]}, {shape[2]}) "
            "(or an int H to infer the channels)"
        ) from exc


def empirical_receptive_field(
    module: nn.Module,
    input_size: int | Sequence[int],
    position: tuple[int, int] | None = None,
    n_samples: int = 4,
    seed: int = 0,
) -> EmpiricalRF:
    """Measure the receptive field of one output unit of ``module`` by back-propagation.

    Args:
        module: any network mapping (N, C, H, W) to (N, C', H', W') (a tuple output: the first).
        input_size: ``H`` (square, channels inferred from the first conv) or ``(C, H, W)``.
        position: the output unit ``(row, col)``; default the centre of the output map.
        n_samples: random inputs to average over, so that a ReLU that happens to be off for one
            input does not hide part of the field.
        seed: seed of the random inputs.

    The module runs in eval mode (batch norm must not mix positions through batch statistics)
    and is put back in its previous mode afterwards. Instance norm still mixes all positions of
    a map, so networks with it have a field as large as the input: that is a true property.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"empirical_receptive_field expects an nn.Module (a network), got {type(module).__name__}. "
            "Wrap a function in a module, or build the layers with torch.nn."
        )
    where = "empirical_receptive_field"
    shape: tuple[int, ...]  # (C, H, W)
    if isinstance(input_size, Integral) and not isinstance(input_size, bool):
        shape = (_first_in_channels(module), int(input_size), int(input_size))
    elif isinstance(input_size, (tuple, list)) and all(isinstance(v, Integral) and not isinstance(v, bool) for v in input_size):
        shape = tuple(int(v) for v in input_size)
        if len(shape) != 3:
            raise ValueError(f"input_size must be H or (C, H, W), got {tuple(input_size)}")
    else:
        raise TypeError(f"{where}: input_size must be an int H or a tuple (C, H, W) of ints, got {input_size!r}")
    if min(shape) <= 0:
        raise ValueError(f"input_size must be positive, got {shape}")
    check_positive_int(n_samples, "n_samples", where)
    if position is not None and not (isinstance(position, (tuple, list)) and len(position) == 2
                                     and all(isinstance(v, Integral) and not isinstance(v, bool) for v in position)):
        raise TypeError(f"{where}: position must be (row, col) of the output unit, two ints, got {position!r}")
    modes = {m: m.training for m in module.modules()}
    module.eval()
    try:
        param = next(module.parameters(), None)
        dtype = param.dtype if param is not None else torch.float32
        device = param.device if param is not None else torch.device("cpu")
        g = torch.Generator().manual_seed(seed)
        x = torch.randn((n_samples, *shape), generator=g, dtype=torch.float32).to(device, dtype)
        x.requires_grad_(True)
        try:
            out = module(x)
        except RuntimeError as exc:
            _explain_channels(module, shape, exc)
            raise
        if isinstance(out, (tuple, list)):
            out = out[0]
        if out.dim() != 4:
            raise ValueError(f"the module's output must be (N, C, H, W), got shape {tuple(out.shape)}")
        oh, ow = out.shape[-2:]
        row, col = position if position is not None else (oh // 2, ow // 2)
        if not (0 <= row < oh and 0 <= col < ow):
            raise ValueError(f"position {(row, col)} is outside the output map of size {(oh, ow)}")
        out[:, :, row, col].sum().backward()
        assert x.grad is not None  # x requires grad and the backward above reached it
        grad = x.grad.detach().abs().sum(dim=(0, 1)).double().cpu().numpy()
    finally:
        for m, was_training in modes.items():
            m.train(was_training)
    nz_rows = np.flatnonzero(grad.any(axis=1))
    nz_cols = np.flatnonzero(grad.any(axis=0))
    if nz_rows.size == 0:
        raise ValueError("the output unit does not depend on the input at all (zero gradient everywhere)")
    top, bottom, left, right = nz_rows[0], nz_rows[-1], nz_cols[0], nz_cols[-1]
    h, w = grad.shape
    touches = bool(top == 0 or left == 0 or bottom == h - 1 or right == w - 1)
    heatmap = grad / grad.max()
    return EmpiricalRF(
        heatmap=heatmap,
        size=(int(bottom - top + 1), int(right - left + 1)),
        bbox=(int(top), int(left), int(bottom), int(right)),
        position=(int(row), int(col)),
        touches_border=touches,
    )


def conv_stack(
    kernel_size: int, dilations: int | Sequence[int], depth: int | None = None, stride: int = 1, ones: bool = True
) -> nn.Sequential:
    """A linear stack of single-channel convolutions (no bias, no activation, no padding).

    ``dilations`` is one int repeated ``depth`` times, or one dilation per layer. With
    ``ones=True`` every weight is 1, so the gradient at an input pixel counts the paths from that
    pixel to the output unit: the effective receptive field of the geometry alone, which shows the
    Gaussian-like centre of a deep stack and the gridding holes of repeated dilation.
    """
    if isinstance(dilations, int):
        if not isinstance(depth, int) or depth < 1:
            raise ValueError(f"depth must be an int >= 1, got {depth!r}")
        dilations = [dilations] * depth
    elif depth is not None and depth != len(dilations):
        raise ValueError(f"depth={depth} but {len(dilations)} dilations were given")
    if len(dilations) == 0:
        raise ValueError("the stack needs at least one layer")
    layers = []
    for d in dilations:
        spec = LayerSpec(kernel_size, stride, d)  # validates the arguments
        conv = nn.Conv2d(1, 1, spec.kernel_size, spec.stride, dilation=spec.dilation, bias=False)
        if ones:
            nn.init.ones_(conv.weight)
        layers.append(conv)
    return nn.Sequential(*layers).double()


@dataclass
class Exploration:
    """What the receptive-field explorer shows for one setting of its sliders."""

    analytic: ReceptiveField
    empirical: EmpiricalRF
    input_size: int
    clipped: bool


def explore(
    kernel_size: int, dilation: int | Sequence[int], depth: int | None = None, stride: int = 1, max_input: int = 257
) -> Exploration:
    """Analytic and empirical (path-count) receptive field of a stack built by :func:`conv_stack`.

    The input is made just large enough to hold the field (at most ``max_input`` pixels; beyond
    that ``clipped`` is True and the measured field is cut by the border).
    """
    net = conv_stack(kernel_size, dilation, depth, stride)
    analytic = receptive_field(layers_from_module(net))
    # The convolutions are unpadded, so the input must hold at least one whole field.
    if analytic.size > max_input:
        raise ValueError(
            f"this stack's receptive field is {_fmt(analytic.size)} px, more than max_input={max_input}; "
            "reduce depth, dilation, kernel size or stride."
        )
    needed = int(analytic.size + 2 * analytic.jump + 2)  # the field plus a margin on each side
    size = min(max(needed, 9), max_input)
    emp = empirical_receptive_field(net, (1, size, size), n_samples=1)
    return Exploration(analytic=analytic, empirical=emp, input_size=size, clipped=needed > max_input)


def kernel_footprint(kernel_size: int, dilation: int = 1) -> np.ndarray:
    """Boolean (S, S) map of the input pixels one kernel touches, ``S = (kernel_size - 1) * dilation + 1``.

    A 3x3 kernel with dilation 2 covers the same 5x5 window as a 5x5 kernel with 9 instead of 25 taps.
    """
    LayerSpec(kernel_size, dilation=dilation)  # validates
    span = (kernel_size - 1) * dilation + 1
    grid = np.zeros((span, span), dtype=bool)
    grid[::dilation, ::dilation] = True
    return grid


def network_from_specs(specs: Sequence[LayerSpec], channels: int = 4, in_channels: int = 3, seed: int = 0) -> nn.Sequential:
    """A real network with the geometry of ``specs`` (narrow, LeakyReLU between layers).

    The receptive field depends only on the geometry, not on the widths, so a 4-channel copy of a
    256-channel network measures the same field at a fraction of the cost.
    """
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    c_in = in_channels
    for i, spec in enumerate(specs):
        conv_cls = nn.ConvTranspose2d if spec.transposed else nn.Conv2d
        layers.append(conv_cls(c_in, channels, spec.kernel_size, spec.stride, spec.padding, dilation=spec.dilation))
        if i < len(specs) - 1:
            layers.append(nn.LeakyReLU(0.2))
        c_in = channels
    return nn.Sequential(*layers)
