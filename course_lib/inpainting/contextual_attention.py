"""Contextual attention (Yu et al. 2018, DeepFill v1), and a colour map to see where it copies from.

Yu, Lin, Yang, Shen, Lu, Huang, "Generative Image Inpainting with Contextual Attention", CVPR 2018,
Sec. 4.1, and the official release (JiahuiYu/generative_inpainting, ``inpaint_ops.py``,
``contextual_attention``; the same function serves DeepFill v1 and v2).

The layer fills the hole of a feature map by copying features from the known part of the same
map (the *background*), softly:

1. **Match.** Cut the background into 3x3 patches, one centred at every position, and use them as
   convolution kernels: convolving the *foreground* (the features to be completed) with a kernel
   gives, at every position, the dot product of the foreground patch there with that background
   patch. Dividing each kernel by its norm makes it a cosine-like similarity (the release
   normalises the background patches; the paper's Eq. 1 also normalises the foreground patch,
   which only rescales all scores of one position and so acts like a per-position temperature).
2. **Exclude the hole.** Background patches that overlap the hole contain no real information;
   their scores are zeroed before and their weights after the softmax, so they get no weight.
3. **Propagate** (``fuse``). Add the scores of diagonal neighbours (foreground ``p + d`` with
   background ``q + d``, d = -1, 0, 1), horizontally, then vertically: a match is trusted more
   when the neighbouring positions match the neighbouring patches too, which favours coherent,
   larger copied regions.
4. **Scaled softmax** over all background patches at each position (scale 10 in the release).
5. **Paste.** A transposed convolution with the background patches (at full resolution, 2r x 2r
   with stride r for ``rate`` r) as kernels writes every patch where it is attended, weighted
   by its attention; overlapping pastes are averaged (each pixel receives 4 of them, hence / 4).

With ``rate = 2`` (as both DeepFill networks use it) matching runs on the features downsampled by
2, and the pasted patches are the 4x4 full-resolution patches around the matched positions.

Mask convention: **1 = hole** (as the release's, and the course's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_lib._validate import check_4d, check_nonempty, check_positive_int, check_tensor


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'SAME' padding (before, after) of one axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def extract_patches(x: torch.Tensor, kernel: int, stride: int = 1) -> torch.Tensor:
    """All ``kernel x kernel`` patches of (N, C, H, W) with TF 'SAME' padding: (N, L, C, k, k).

    Patch ``l`` is the one at output position ``(l // W', l % W')`` of a 'SAME' convolution with
    this kernel and stride (``W' = ceil(W / stride)``); zeros pad the border.
    """
    n, c, h, w = x.shape
    top, bottom = _same_padding(h, kernel, stride)
    left, right = _same_padding(w, kernel, stride)
    x = F.pad(x, (left, right, top, bottom))
    patches = F.unfold(x, kernel, stride=stride)  # (N, C*k*k, L)
    return patches.transpose(1, 2).reshape(n, -1, c, kernel, kernel)


def _downsample(x: torch.Tensor, rate: int) -> torch.Tensor:
    """Nearest-neighbour downsampling by ``rate`` (keeps pixels 0, r, 2r, ... as TF's resize does)."""
    return x if rate == 1 else x[..., ::rate, ::rate]


def _fuse(scores: torch.Tensor, size: tuple[int, int], k: int) -> torch.Tensor:
    """Attention propagation: sum scores along diagonals of the (foreground, background) grid.

    ``scores``: (L_f, L_b) for one image, L_f = L_b = h * w positions in row-major order. First
    with row-major indices (neighbours along rows), then with column-major indices (along columns).
    """
    h, w = size
    eye = torch.eye(k, dtype=scores.dtype, device=scores.device)[None, None]
    s = F.conv2d(scores[None, None], eye, padding=k // 2)[0, 0]
    s = s.reshape(h, w, h, w).permute(1, 0, 3, 2).reshape(h * w, h * w)  # to column-major order
    s = F.conv2d(s[None, None], eye, padding=k // 2)[0, 0]
    return s.reshape(w, h, w, h).permute(1, 0, 3, 2).reshape(h * w, h * w)


@dataclass
class AttentionResult:
    """What :func:`contextual_attention` returns.

    * ``output``: (N, C, H, W) the pasted features;
    * ``attention``: (N, L, h, w) weight of background patch ``l`` at each (downsampled)
      foreground position, ``h = H / rate``; zero for patches that touch the hole;
    * ``offsets``: (N, 2, h, w) (row, column) of the most attended patch minus the position itself
      (a displacement field: where each position copies from), in downsampled pixels.
    """

    output: torch.Tensor
    attention: torch.Tensor
    offsets: torch.Tensor


def contextual_attention(foreground: torch.Tensor, background: torch.Tensor, hole: torch.Tensor | None = None,
                         ksize: int = 3, rate: int = 2, fuse_k: int = 3, softmax_scale: float = 10.0,
                         fuse: bool = True) -> AttentionResult:
    """Contextual attention of the DeepFill release (see the module docstring for the steps).

    Args:
        foreground: (N, C, H, W) features to complete (DeepFill passes the same map as both).
        background: (N, C, H, W) features to copy from.
        hole: (N, 1, H, W) or (1, 1, H, W), **1 = hole**: background patches touching it get no
            weight. ``None``: every patch may be used. (The release takes one mask for the whole
            batch; here each image may have its own.)
        ksize: size of the matched patches (3). rate: matching resolution divisor (2).
        fuse_k: size of the propagation kernel (3). softmax_scale: softmax temperature (10).
        fuse: whether to propagate the scores.

    ``H`` and ``W`` must be divisible by ``rate``. Every image needs at least one background patch
    clear of the hole: with none there is nothing to copy from, and the output would be all zeros
    (a ``ValueError`` here; :class:`ContextualAttention` inside a network keeps the release's zeros,
    see there).
    """
    hole = _check_arguments(foreground, background, hole, ksize, rate, fuse_k, softmax_scale, "contextual_attention")
    return _attend(foreground, background, hole, ksize, rate, fuse_k, softmax_scale, fuse)


def _check_arguments(foreground: torch.Tensor, background: torch.Tensor, hole: torch.Tensor | None, ksize: int,
                     rate: int, fuse_k: int, softmax_scale: float, where: str) -> torch.Tensor:
    """Shapes, dtypes and settings (metadata only, no value read back); returns the hole, zeros if ``None``."""
    check_4d(foreground, "foreground", where)
    check_tensor(background, "background", where, "an (N, C, H, W) tensor")
    if foreground.shape != background.shape:
        raise ValueError(f"{where}: foreground and background must be (N, C, H, W) of the same shape, "
                         f"got {tuple(foreground.shape)} and {tuple(background.shape)}")
    for name, t in (("foreground", foreground), ("background", background)):
        if not t.is_floating_point():
            raise TypeError(f"{where}: {name} must be float features, got dtype {t.dtype}; convert with .float()")
        check_nonempty(t, name, where)
    check_positive_int(rate, "rate", where)
    for name, k in (("ksize", ksize), ("fuse_k", fuse_k)):
        if check_positive_int(k, name, where) % 2 == 0:
            raise ValueError(f"{where}: {name} must be odd (its window is centred on a position; 3 in the release), "
                             f"got {k}")
    if not isinstance(softmax_scale, (int, float)) or not math.isfinite(softmax_scale) or softmax_scale <= 0:
        raise ValueError(f"{where}: softmax_scale must be a positive finite number (10 in the release), "
                         f"got {softmax_scale!r}")
    n, c, h_full, w_full = foreground.shape
    if h_full % rate or w_full % rate:
        raise ValueError(f"{where}: feature size {(h_full, w_full)} must be divisible by rate = {rate}")
    if hole is None:
        return foreground.new_zeros(1, 1, h_full, w_full)
    check_tensor(hole, "hole", where, "an (N, 1, H, W) tensor")
    if hole.dim() != 4 or hole.shape[1] != 1 or hole.shape[-2:] != (h_full, w_full) or hole.shape[0] not in (1, n):
        raise ValueError(f"{where}: hole must be (N, 1, H, W) or (1, 1, H, W) matching the features {(n, h_full, w_full)}, "
                         f"got {tuple(hole.shape)}")
    return hole


def _attend(foreground: torch.Tensor, background: torch.Tensor, hole: torch.Tensor, ksize: int, rate: int,
            fuse_k: int, softmax_scale: float, fuse: bool, require_context: bool = True) -> AttentionResult:
    """The computation of :func:`contextual_attention`, on checked arguments.

    ``require_context``: raise ``ValueError`` if an image has no usable background patch. That
    reads a value back (a host-device sync on a GPU), which the network module avoids.
    """
    n, c, h_full, w_full = foreground.shape
    hole = hole.to(foreground.dtype).expand(n, -1, -1, -1)
    # Full-resolution patches to paste: 2r x 2r, one every r pixels.
    raw = extract_patches(background, 2 * rate, stride=rate)  # (N, L, C, 2r, 2r)
    f, b, m = _downsample(foreground, rate), _downsample(background, rate), _downsample(hole, rate)
    h, w = f.shape[-2:]
    patches = extract_patches(b, ksize)  # (N, L, C, k, k), L = h * w
    usable = (extract_patches(m, ksize).flatten(2).mean(2) == 0).to(f.dtype)  # (N, L): patch misses the hole
    if require_context:
        empty = (usable.sum(1) == 0).nonzero().flatten().tolist()
        if empty:
            raise ValueError(
                f"contextual_attention: the hole leaves no {ksize}x{ksize} background patch (at rate {rate}) entirely "
                f"outside it in image(s) {empty}, so there is nothing to copy from and the output would be all zeros; "
                "use a smaller hole, or a mask with 1 = hole and 0 = known (not the reverse)"
            )
    outputs, attentions, offsets = [], [], []
    for i in range(n):
        kernels = patches[i]
        norms = kernels.flatten(1).norm(dim=1).clamp_min(1e-4).view(-1, 1, 1, 1)
        scores = F.conv2d(f[i:i + 1], kernels / norms, padding=ksize // 2)[0]  # (L, h, w)
        if fuse:
            fused = _fuse(scores.reshape(h * w, h * w).t(), (h, w), fuse_k)  # rows: foreground positions
            scores = fused.t().reshape(h * w, h, w)
        mm = usable[i].view(-1, 1, 1)
        attention = torch.softmax(scores * mm * softmax_scale, dim=0) * mm
        best = attention.argmax(dim=0)  # (h, w) index of the most attended background patch
        offsets.append(torch.stack([torch.div(best, w, rounding_mode="floor"), best % w]))
        # Paste: every patch, weighted by its attention, at full resolution; 4 pastes overlap per pixel.
        pasted = F.conv_transpose2d(attention[None], raw[i], stride=rate)
        top, _ = _same_padding(h_full, 2 * rate, rate)
        left, _ = _same_padding(w_full, 2 * rate, rate)
        outputs.append(pasted[..., top:top + h_full, left:left + w_full] / 4.0)
        attentions.append(attention)
    grid = torch.stack(torch.meshgrid(torch.arange(h, device=f.device), torch.arange(w, device=f.device),
                                      indexing="ij"))
    return AttentionResult(torch.cat(outputs), torch.stack(attentions), torch.stack(offsets) - grid)


class ContextualAttention(nn.Module):
    """:func:`contextual_attention` as a module (no parameters); ``forward(x, hole)`` attends ``x`` to itself.

    Returns ``(output, offsets)``; the last call's full :class:`AttentionResult` is kept in ``.last``.
    """

    def __init__(self, ksize: int = 3, rate: int = 2, fuse_k: int = 3, softmax_scale: float = 10.0,
                 fuse: bool = True) -> None:
        super().__init__()
        self.ksize, self.rate, self.fuse_k, self.softmax_scale, self.fuse = ksize, rate, fuse_k, softmax_scale, fuse
        self.last: AttentionResult | None = None

    def forward(self, x: torch.Tensor, hole: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Inside a network, at every training step: only the metadata checks. A hole that covers
        # every patch gives zeros, as in the release, instead of an error that would need a
        # host-device sync per step (and would stop training on one unlucky random mask).
        hole = _check_arguments(x, x, hole, self.ksize, self.rate, self.fuse_k, self.softmax_scale, "ContextualAttention")
        result = _attend(x, x, hole, self.ksize, self.rate, self.fuse_k, self.softmax_scale, self.fuse,
                         require_context=False)
        self.last = result
        return result.output, result.offsets

    def extra_repr(self) -> str:
        return f"ksize={self.ksize}, rate={self.rate}, fuse_k={self.fuse_k}, softmax_scale={self.softmax_scale}, fuse={self.fuse}"


def flow_to_color(offsets: torch.Tensor, max_norm: float | None = None) -> torch.Tensor:
    """(N, 2, h, w) displacements (row, column) -> (N, 3, h, w) colours in [0, 1], like an optical-flow map.

    The direction of a displacement sets the hue (right = red, down = yellow-green, left = cyan,
    up = blue-purple) and its length the saturation: white means "copies from where it is",
    vivid colours "copies from far away". ``max_norm`` (default: the largest length in the batch)
    is the length shown fully saturated. (The release uses the Middlebury colour wheel; this is
    the same idea with a plain HSV wheel.)
    """
    if offsets.dim() != 4 or offsets.shape[1] != 2:
        raise ValueError(f"offsets must be (N, 2, h, w), got {tuple(offsets.shape)}")
    dy, dx = offsets[:, 0].double(), offsets[:, 1].double()
    length = torch.sqrt(dx**2 + dy**2)
    scale = float(length.max()) if max_norm is None else float(max_norm)
    saturation = (length / scale).clamp(0, 1) if scale > 0 else torch.zeros_like(length)
    hue = (torch.atan2(dy, dx) / (2 * math.pi)) % 1.0
    from matplotlib.colors import hsv_to_rgb

    hsv = torch.stack([hue, saturation, torch.ones_like(hue)], dim=-1).numpy()
    rgb = torch.from_numpy(np.ascontiguousarray(hsv_to_rgb(hsv))).float()  # (N, h, w, 3)
    return rgb.permute(0, 3, 1, 2).contiguous()


def color_wheel(size: int = 65) -> torch.Tensor:
    """(3, size, size) legend of :func:`flow_to_color`: the colour of each displacement from the centre."""
    r = torch.arange(size, dtype=torch.float32) - size // 2
    dy, dx = torch.meshgrid(r, r, indexing="ij")
    colours = flow_to_color(torch.stack([dy, dx])[None], max_norm=size // 2)[0]
    outside = (dx**2 + dy**2) > (size // 2) ** 2
    return torch.where(outside, torch.ones_like(colours), colours)
