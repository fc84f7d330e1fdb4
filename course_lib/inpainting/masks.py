"""Hole masks: the convention, validation, and the rectangular masks of Context Encoder and Global & Local.

Convention of the whole course: a mask is a float tensor of shape (1, H, W) (or (N, 1, H, W))
with **1 = missing pixel (hole)** and **0 = known pixel**. (Partial convolution's paper uses the
opposite, 1 = valid; ``course_lib.inpainting`` converts where it implements that paper.)

Free-form (brush-stroke) masks are in :mod:`course_lib.inpainting.freeform`.
"""

from __future__ import annotations

import numpy as np
import torch

from course_lib._validate import check_positive_int


def center_mask(size: int, hole: int) -> torch.Tensor:
    """(1, size, size): a centred ``hole x hole`` square (Context Encoder: 64 in 128)."""
    # Each argument on its own first, so that a bad size is not reported as a bad hole.
    size = check_positive_int(size, "size", "center_mask", minimum=2)
    hole = check_positive_int(hole, "hole", "center_mask")
    if hole >= size:
        raise ValueError(f"center_mask: hole must be smaller than size = {size} (a hole covering the whole image "
                         f"leaves no context), got hole = {hole}")
    top = (size - hole) // 2
    mask = torch.zeros(1, size, size)
    mask[:, top:top + hole, top:top + hole] = 1.0
    return mask


def random_rect_mask(size: int | tuple[int, int], min_side: int, max_side: int,
                     rng: np.random.Generator) -> torch.Tensor:
    """(1, H, W): one axis-aligned rectangle with sides drawn from [min_side, max_side], anywhere inside.

    Global & Local (Iizuka et al. 2017, Sec. 4) trains on 256x256 crops with holes whose sides are
    drawn from [96, 128].
    """
    h, w = (size, size) if isinstance(size, int) else size
    if not 0 < min_side <= max_side <= min(h, w):
        raise ValueError(f"need 0 < min_side <= max_side <= {min(h, w)}, got min_side={min_side}, max_side={max_side}")
    rh, rw = (int(v) for v in rng.integers(min_side, max_side + 1, size=2))
    top, left = int(rng.integers(0, h - rh + 1)), int(rng.integers(0, w - rw + 1))
    mask = torch.zeros(1, h, w)
    mask[:, top:top + rh, left:left + rw] = 1.0
    return mask


def hole_ratio(mask: torch.Tensor) -> torch.Tensor:
    """Fraction of missing pixels per mask: (1, H, W) -> scalar tensor, (N, 1, H, W) -> (N,)."""
    return mask.flatten(-3).float().mean(-1)


def validate_mask(mask: torch.Tensor, image: torch.Tensor | None = None, allow_empty: bool = False,
                  allow_full: bool = False) -> None:
    """Raise ``ValueError`` unless ``mask`` is a binary (N, 1, H, W) or (1, H, W) mask matching ``image``.

    A mask with no hole (nothing to inpaint) or one that covers everything (no context to inpaint
    from) is an error unless allowed.
    """
    if not isinstance(mask, torch.Tensor) or mask.dim() not in (3, 4) or mask.shape[-3] != 1:
        shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"mask must be a (1, H, W) or (N, 1, H, W) tensor with 1 = hole, got {shape}")
    if mask.numel() == 0:
        raise ValueError(f"mask is empty (shape {tuple(mask.shape)}): it needs at least one pixel, "
                         "with the image's height and width")
    if image is not None:
        if not isinstance(image, torch.Tensor):
            raise TypeError(f"image must be a (C, H, W) or (N, C, H, W) tensor, got {type(image).__name__}")
        if image.shape[-2:] != mask.shape[-2:]:
            raise ValueError(f"mask is {tuple(mask.shape[-2:])} but the image is {tuple(image.shape[-2:])}: "
                             "they must have the same height and width")
        if image.dim() == 4 and mask.dim() == 4 and mask.shape[0] not in (1, image.shape[0]):
            raise ValueError(f"{mask.shape[0]} masks for {image.shape[0]} images")
    values = torch.unique(mask)
    if not bool(((values == 0) | (values == 1)).all()):
        odd = [round(float(v), 3) for v in values if v not in (0, 1)][:3]
        raise ValueError(f"mask must be binary (0 = known, 1 = hole); found values like {odd}. "
                         "Threshold it first, e.g. (mask > 0.5).float()")
    ratios = hole_ratio(mask if mask.dim() == 4 else mask[None])
    if not allow_empty and bool((ratios == 0).any()):
        raise ValueError("a mask has no hole: there is nothing to inpaint (pass allow_empty=True if intended)")
    if not allow_full and bool((ratios == 1).any()):
        raise ValueError("a mask covers the whole image: there is no context to inpaint from")
