"""Trimaps: where the alpha is known (0 or 1) and where a matting method must estimate it.

A trimap splits the image into definite background (0), definite foreground (1) and an
*unknown* band (0.5) around the boundary. Users paint trimaps by hand; benchmarks and training
sets make them from the ground-truth matte by morphology (Deep Image Matting, Xu et al. 2017,
Sec. 4: "trimaps are randomly dilated from the ground truth alpha mattes"):

* definite foreground = the fully opaque pixels, **eroded** by a disk of radius r;
* definite background = the fully transparent pixels, eroded by the same disk (i.e. everything
  outside the *dilated* non-zero part of the matte);
* unknown = the rest: every partly transparent pixel plus a margin of about r pixels on both
  sides, so the band around a hard edge is about ``2 r + 1`` pixels wide.

The wider the band, the less the trimap says and the more a method must infer, but a band that
is too thin misses hair and other soft structures. :func:`fill_unknown` gives the two
trimap-only baselines that every matting method must beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

from course_lib.matting.compositing import Array, as_trimap, validate_alpha

#: half an 8-bit level: alpha > 1 - OPAQUE_TOL is "opaque", alpha < OPAQUE_TOL is "transparent"
OPAQUE_TOL = 1.0 / 510


def disk(radius: int) -> np.ndarray:
    """Boolean disk footprint of the given radius, shape (2 r + 1, 2 r + 1)."""
    if not isinstance(radius, (int, np.integer)) or radius < 0:
        raise ValueError(f"radius must be a non-negative int (pixels), got {radius!r}")
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    return (xx * xx + yy * yy) <= radius * radius + 1e-9


def _as_2d_list(alpha: Array) -> tuple[list[np.ndarray], tuple[int, ...]]:
    a = alpha.detach().cpu().numpy() if isinstance(alpha, torch.Tensor) else np.asarray(alpha)
    shape = a.shape
    if a.ndim < 2:
        raise ValueError(f"alpha must be (H, W), (1, H, W) or (N, 1, H, W), got shape {shape}")
    if a.ndim >= 3 and a.shape[-3] != 1:
        raise ValueError(f"alpha must have one channel, got shape {shape} (channels = {a.shape[-3]})")
    return list(a.reshape(-1, *shape[-2:])), shape


def make_trimap(alpha: Array, radius: int, footprint: str = "disk") -> torch.Tensor:
    """Trimap from an alpha matte by erosion: 0 background, 0.5 unknown, 1 foreground.

    Args:
        alpha: matte in [0, 1], shape (H, W), (1, H, W) or (N, 1, H, W) (tensor or array).
        radius: erosion radius in pixels (0: only the partly transparent pixels are unknown).
        footprint: ``"disk"`` (default) or ``"square"`` (a (2r+1) x (2r+1) box).

    Returns:
        float tensor of the same shape as ``alpha`` with values in {0, 0.5, 1}.

    Pixels with ``alpha > 1 - 1/510`` count as opaque and ``alpha < 1/510`` as transparent
    (they round to 255 and 0 in an 8-bit file). The image border does not erode: what lies
    outside the image is treated like its neighbours.
    """
    validate_alpha(alpha if isinstance(alpha, (torch.Tensor, np.ndarray)) else np.asarray(alpha))
    if footprint not in ("disk", "square"):
        raise ValueError(f"footprint must be 'disk' or 'square', got {footprint!r}")
    fp = disk(radius) if footprint == "disk" else np.ones((2 * radius + 1,) * 2, dtype=bool)
    planes, shape = _as_2d_list(alpha)
    out = []
    for a in planes:
        opaque = a > 1 - OPAQUE_TOL
        clear = a < OPAQUE_TOL
        if radius > 0:
            # border_value=1: the image edge is not a boundary of the object.
            opaque = ndimage.binary_erosion(opaque, fp, border_value=1)
            clear = ndimage.binary_erosion(clear, fp, border_value=1)
        t = np.full(a.shape, 0.5, dtype=np.float32)
        t[opaque] = 1.0
        t[clear] = 0.0
        out.append(t)
    return torch.from_numpy(np.stack(out).reshape(shape))


def unknown_fraction(trimap: Array) -> float:
    """Fraction of the pixels that are unknown."""
    return float((as_trimap(trimap) == 0.5).float().mean())


def fill_unknown(trimap: Array, mode: str = "nearest") -> torch.Tensor:
    """Trimap-only baselines: an alpha matte that uses nothing but the trimap.

    Args:
        trimap: values 0/0.5/1 (or 0/128/255), shape (H, W), (1, H, W) or (N, 1, H, W).
        mode: ``"half"``: every unknown pixel gets 0.5; ``"nearest"``: every unknown pixel gets
            the value of the nearest known pixel (Euclidean distance), i.e. a hard cut through
            the middle of the band.

    Returns:
        float tensor of the trimap's shape with values in [0, 1].
    """
    if mode not in ("half", "nearest"):
        raise ValueError(f"mode must be 'half' or 'nearest', got {mode!r}")
    t = as_trimap(trimap)
    if mode == "half":
        return t.clone()
    planes, shape = _as_2d_list(t)
    out = []
    for p in planes:
        unknown = p == 0.5
        if unknown.all():
            out.append(np.full(p.shape, 0.5, dtype=np.float32))
            continue
        # Indices of the nearest known pixel for every pixel (distance to the nearest zero of `unknown`).
        _, (iy, ix) = ndimage.distance_transform_edt(unknown, return_indices=True)
        out.append(p[iy, ix].astype(np.float32))
    return torch.from_numpy(np.stack(out).reshape(shape))


@dataclass
class TrimapStudy:
    """What a trimap of a given radius leaves to do (see :func:`trimap_study`)."""

    radius: int
    trimap: torch.Tensor         # (1, H, W), values 0 / 0.5 / 1
    unknown_fraction: float      # of the image
    baseline: torch.Tensor       # (1, H, W), the nearest-known-pixel matte
    sad_nearest: float           # SAD / 1000 of the nearest baseline over the unknown region
    sad_half: float              # SAD / 1000 of the "unknown = 0.5" baseline


def trimap_study(alpha: torch.Tensor, radius: int) -> TrimapStudy:
    """Trimap of radius ``radius`` for a (1, H, W) matte, its unknown fraction and the baselines' SAD.

    The computation behind lecture 11's band-width slider: a wider band covers more of the
    soft structure but leaves more pixels to estimate.
    """
    from course_lib.matting.metrics import sad

    if alpha.dim() != 3 or alpha.shape[0] != 1:
        raise ValueError(f"alpha must be one (1, H, W) matte, got shape {tuple(alpha.shape)}")
    t = make_trimap(alpha, radius)
    near = fill_unknown(t, "nearest")
    return TrimapStudy(radius, t, unknown_fraction(t), near, sad(near, alpha, t), sad(fill_unknown(t, "half"), alpha, t))
