"""Background replacement: why alpha is not enough, and foreground colour estimation.

To put a matted object on a new background B' we need ``alpha * F + (1 - alpha) * B'``, with the
object's *own* colour F. A matting method gives alpha only. The tempting shortcut, using the
observed image I as F, is wrong wherever 0 < alpha < 1: there ``I = alpha F + (1 - alpha) B``
still contains the old background, which then shows up as a fringe of the old background's
colour, a **halo**, around hair and soft edges (a blue rim when an ID photo's blue background is
replaced by red).

:func:`estimate_foreground` recovers F with *blur fusion* (Forte & Pitié, "Approximate Fast
Foreground Colour Estimation", ICIP 2021): estimate smooth local averages of the foreground and
of the background colours from the pixels where each is visible,

    F_hat = blur(alpha I) / blur(alpha),    B_hat = blur((1 - alpha) I) / blur(1 - alpha),

then correct F_hat so that the compositing equation holds at every pixel:

    F = F_hat + alpha (I - alpha F_hat - (1 - alpha) B_hat).

A second pass with a small window refines it (the paper uses box blurs of radius 90 and then 6
on megapixel images; :func:`default_radii` scales them to the image size).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from course_lib.matting.compositing import (
    as_trimap,
    check_same_size,
    composite,
    validate_alpha,
    validate_image,
)


def default_radii(height: int, width: int) -> tuple[int, int]:
    """Box-blur radii of the two blur-fusion passes for an image of this size.

    Forte & Pitié use 90 and 6 pixels on images of about 1000-2000 pixels; here the first radius
    is 1/8 of the shorter side (at least 3) and the second 1/15 of the first (at least 1).
    """
    r1 = max(3, min(height, width) // 8)
    return r1, max(1, round(r1 / 15))


def _box_blur(x: torch.Tensor, radius: int) -> torch.Tensor:
    # Mean over the (2r+1)^2 window, counting only pixels inside the image.
    return F.avg_pool2d(x, 2 * radius + 1, stride=1, padding=radius, count_include_pad=False)


def _fusion_pass(image: torch.Tensor, fg: torch.Tensor, bg: torch.Tensor, alpha: torch.Tensor,
                 radius: int) -> tuple[torch.Tensor, torch.Tensor]:
    tiny = 1e-5
    f_hat = _box_blur(fg * alpha, radius) / (_box_blur(alpha, radius) + tiny)
    b_hat = _box_blur(bg * (1 - alpha), radius) / (_box_blur(1 - alpha, radius) + tiny)
    f = f_hat + alpha * (image - alpha * f_hat - (1 - alpha) * b_hat)
    return f.clamp(0, 1), b_hat


def estimate_foreground(image: torch.Tensor, alpha: torch.Tensor, background: torch.Tensor | None = None,
                        radii: tuple[int, int] | None = None, min_alpha: float = 0.05) -> torch.Tensor:
    """Foreground colours F of a matted image.

    Args:
        image: (N, 3, H, W) or (3, H, W) in [0, 1].
        alpha: (N, 1, H, W) or (1, H, W) in [0, 1] (estimated or true).
        background: the background colours if they are known: a plain backdrop such as an ID
            photo's blue or a white page, as (3, 1, 1) / (N, 3, 1, 1), or a full image. Then F is
            solved from the compositing equation, ``F = (I - (1 - alpha) B) / alpha``, wherever
            ``alpha >= min_alpha`` (below that the division amplifies every error and blur fusion
            takes over). ``None``: two passes of blur fusion (Forte & Pitie 2021).
        radii: box-blur radii of the two blur-fusion passes (default :func:`default_radii`).

    Returns:
        F with the shape of ``image``, in [0, 1]. Where alpha = 1 it equals the image; where
        alpha = 0 it is a smooth extrapolation of nearby foreground colours (invisible there).
    """
    validate_image(image)
    validate_alpha(alpha)
    check_same_size(image=image, alpha=alpha)
    single = image.dim() == 3
    x, a = (image[None], alpha[None]) if single else (image, alpha)
    r1, r2 = radii or default_radii(*x.shape[-2:])
    if r1 < 1 or r2 < 1:
        raise ValueError(f"radii must be positive ints, got {(r1, r2)}")
    f, b = _fusion_pass(x, x, x, a, r1)
    f, _ = _fusion_pass(x, f, b, a, r2)
    if background is not None:
        bg = background if background.dim() == 4 else background[None]
        if bg.shape[-2:] != (1, 1):
            check_same_size(image=x, background=bg)
        solved = ((x - (1 - a) * bg) / a.clamp_min(min_alpha)).clamp(0, 1)
        f = torch.where(a >= min_alpha, solved, f)
    return f[0] if single else f


def plain_background_colour(image: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
    """The median colour of the definite-background pixels ((3, 1, 1) or (N, 3, 1, 1)): a plain backdrop's colour."""
    t = as_trimap(trimap)
    single = image.dim() == 3
    x, tt = (image[None], t[None]) if single else (image, t)
    out = []
    for img, tri in zip(x, tt):
        pixels = img[:, tri[0] == 0]
        if pixels.shape[1] == 0:
            raise ValueError("the trimap has no definite-background pixel (value 0): no backdrop colour to measure")
        out.append(pixels.median(dim=1).values)
    colours = torch.stack(out)[..., None, None]
    return colours[0] if single else colours


def replace_background(image: torch.Tensor, alpha: torch.Tensor, new_background: torch.Tensor,
                       foreground: str | torch.Tensor = "estimate") -> torch.Tensor:
    """Composite the matted object over ``new_background``.

    Args:
        image, alpha: the photo and its matte (see :func:`estimate_foreground`).
        new_background: same shape as ``image``, or (3, 1, 1) / (N, 3, 1, 1) for a solid colour.
        foreground: ``"estimate"`` (blur fusion, no halo), ``"image"`` (the naive shortcut F = I,
            which leaves a halo of the old background) or a tensor of foreground colours.

    Returns:
        the new composite, shape of ``image``, in [0, 1].
    """
    if isinstance(foreground, torch.Tensor):
        fg = foreground
    elif foreground == "estimate":
        fg = estimate_foreground(image, alpha)
    elif foreground == "image":
        validate_image(image)
        fg = image
    else:
        raise ValueError(f"foreground must be 'estimate', 'image' or a tensor, got {foreground!r}")
    bg = new_background
    if bg.shape[-2:] == (1, 1):
        bg = bg.expand_as(image)
    return composite(fg, bg, alpha).clamp(0, 1)


def solid_colour(colour: tuple[float, float, float], like: torch.Tensor) -> torch.Tensor:
    """A background of one colour with the shape of ``like`` ((3, H, W) or (N, 3, H, W))."""
    c = torch.tensor(colour, dtype=like.dtype, device=like.device)
    if c.numel() != 3 or float(c.min()) < 0 or float(c.max()) > 1:
        raise ValueError(f"colour must be 3 values in [0, 1], got {colour}")
    shape = (3, 1, 1) if like.dim() == 3 else (1, 3, 1, 1)
    return c.view(shape).expand_as(like).contiguous()
