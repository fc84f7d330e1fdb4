"""The compositing equation, straight and premultiplied alpha, and the checks every matting function uses.

A pixel of a composite is a mix of a foreground colour F and a background colour B,
weighted by the foreground's opacity alpha (Porter & Duff, "Compositing Digital Images", 1984;
Smith & Blinn, "Blue Screen Matting", 1996):

    C = alpha * F + (1 - alpha) * B                          (straight alpha)

Two ways to *store* a foreground layer exist, and mixing them up is a classic bug:

* **straight** (also "unassociated", "unpremultiplied"): the layer stores F and alpha
  separately. Where alpha = 0 the colour F is meaningless (and often garbage).
* **premultiplied** ("associated"): the layer stores ``F_pre = alpha * F`` and alpha. The
  composite is then ``C = F_pre + (1 - alpha) * B`` (Porter & Duff's *over* operator). Filtering
  (blur, resize, motion blur) is only correct on premultiplied colours: averaging straight
  colours lets the invisible colour of transparent pixels bleed into the result.

Conventions of :mod:`course_lib.matting`: images are float tensors in [0, 1], channels first,
(N, 3, H, W) or (3, H, W); alpha mattes are float in [0, 1] with one channel, (N, 1, H, W) or
(1, H, W). Trimaps: float with the three values 0 (background), 0.5 (unknown), 1 (foreground);
files store them as 0 / 128 / 255, which :func:`as_trimap` converts.
"""

from __future__ import annotations

import numpy as np
import torch

from course_lib._validate import check_range, describe

Array = torch.Tensor | np.ndarray

#: the three values of a trimap in [0, 1] and as stored in 8-bit files
TRIMAP_VALUES = (0.0, 0.5, 1.0)
TRIMAP_VALUES_8BIT = (0, 128, 255)


# ----------------------------------------------------------------------------- checks
def _minmax(x: Array) -> tuple[float, float]:
    if isinstance(x, torch.Tensor):
        return float(x.min()), float(x.max())
    return float(np.min(x)), float(np.max(x))


def validate_alpha(alpha: Array, name: str = "alpha", tol: float = 1e-4) -> None:
    """Raise ``ValueError``/``TypeError`` unless ``alpha`` is a floating-point matte in [0, 1].

    The most common mistake is an 8-bit matte (0-255) mixed with [0, 1] images; the message
    says so and how to convert.
    """
    dtype = alpha.dtype
    is_float = alpha.is_floating_point() if isinstance(alpha, torch.Tensor) else np.issubdtype(alpha.dtype, np.floating)
    if not is_float:
        raise TypeError(
            f"{name} must be a floating-point matte in [0, 1], got dtype {dtype}. An 8-bit matte "
            f"(0-255, as stored in PNG files) converts with `{name}.float() / 255` (numpy: `/ 255.0`)."
        )
    numel = alpha.size if isinstance(alpha, np.ndarray) else alpha.numel()
    if numel == 0:
        raise ValueError(f"{name} is empty")
    lo, hi = _minmax(alpha)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"{name} contains NaN or inf values")
    if hi > 1 + tol and hi <= 255 + tol and lo >= -tol:
        raise ValueError(
            f"{name} must be in [0, 1], but its values go up to {hi:g}: it looks like an 8-bit matte "
            f"in 0-255. Divide it by 255 before mixing it with [0, 1] images."
        )
    if lo < -tol or hi > 1 + tol:
        raise ValueError(f"{name} must be in [0, 1], got values in [{lo:g}, {hi:g}]; clamp it or fix its source.")


def validate_image(image: Array, name: str = "image", tol: float = 1e-4) -> None:
    """Raise unless ``image`` is a floating-point colour image in [0, 1] with 3 channels first."""
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor (3, H, W) or (N, 3, H, W), got {type(image).__name__}")
    if image.dim() not in (3, 4) or image.shape[-3] != 3:
        raise ValueError(f"{name} must have shape (3, H, W) or (N, 3, H, W), got {tuple(image.shape)}")
    if not image.is_floating_point():
        raise TypeError(f"{name} must be float in [0, 1], got {image.dtype}; convert 8-bit images with `.float() / 255`")
    lo, hi = _minmax(image)
    if lo < -tol or hi > 1 + tol:
        hint = " (it looks like 0-255: divide by 255)" if hi > 1.5 else ""
        raise ValueError(f"{name} must be in [0, 1], got values in [{lo:g}, {hi:g}]{hint}")


def check_same_size(**tensors: Array) -> None:
    """Raise ``ValueError`` naming the arguments unless all have the same height and width."""
    sizes = {k: tuple(v.shape[-2:]) for k, v in tensors.items()}
    if len(set(sizes.values())) > 1:
        listing = ", ".join(f"{k} {s[0]}x{s[1]}" for k, s in sizes.items())
        raise ValueError(f"size mismatch: {listing}. Resize or crop them to the same height and width.")


def as_trimap(trimap: Array) -> torch.Tensor:
    """A trimap as a float tensor with values 0, 0.5, 1 (accepts 0/0.5/1 or 8-bit 0/128/255).

    Raises ``ValueError`` listing the offending values for anything else (a resized trimap, a
    grey-level alpha matte passed by mistake, ...).
    """
    t = torch.as_tensor(np.asarray(trimap) if isinstance(trimap, np.ndarray) else trimap)
    if t.numel() == 0:
        raise ValueError("trimap is empty")
    values = torch.unique(t.double())
    vals = [float(v) for v in values]
    if set(vals) <= set(TRIMAP_VALUES):
        return t.float()
    if set(vals) <= set(map(float, TRIMAP_VALUES_8BIT)) and max(vals) > 1:
        return torch.where(t == 128, torch.tensor(0.5), (t == 255).float()).float()
    shown = ", ".join(f"{v:g}" for v in vals[:8]) + (" ..." if len(vals) > 8 else "")
    raise ValueError(
        f"a trimap must contain only 0, 0.5, 1 (or 0, 128, 255 in 8-bit files); got values {shown}. "
        "A resized trimap needs nearest-neighbour resampling; an alpha matte is not a trimap "
        "(make one with make_trimap(alpha, radius))."
    )


def unknown_mask(trimap: Array) -> torch.Tensor:
    """Boolean mask of the unknown region (trimap value 0.5 or 128)."""
    return as_trimap(trimap) == 0.5


def _check_colours(t: torch.Tensor, name: str, where: str, channels: tuple[int, ...] = (3,)) -> None:
    """Raise unless ``t`` is a float (C, H, W) or (N, C, H, W) tensor in [0, 1] with C in ``channels``.

    One ``aminmax`` per call (compositing is an entry point called on whole images, not a step of
    a training loop): an 8-bit foreground mixed with [0, 1] mattes gives composites up to 255.
    """
    if not isinstance(t, torch.Tensor) or not t.is_floating_point():
        raise TypeError(f"{where}: {name} must be a float tensor in [0, 1], got {describe(t)}"
                        + ("; convert 8-bit images with .float() / 255" if isinstance(t, torch.Tensor) else ""))
    if t.dim() not in (3, 4) or t.shape[-3] not in channels:
        want = " or ".join(map(str, channels))
        raise ValueError(f"{where}: {name} must have {want} channels first, (C, H, W) or (N, C, H, W); "
                         f"got shape {tuple(t.shape)}")
    check_range(t, name, where, (0.0, 1.0), range_arg=None)


def _check_matte(alpha: torch.Tensor, where: str) -> None:
    """:func:`validate_alpha` plus the shape: (1, H, W) or (N, 1, H, W)."""
    validate_alpha(alpha)
    if not isinstance(alpha, torch.Tensor):
        raise TypeError(f"{where}: alpha must be a torch.Tensor (1, H, W) or (N, 1, H, W), got {describe(alpha)}")
    if alpha.dim() not in (3, 4) or alpha.shape[-3] != 1:
        raise ValueError(f"{where}: alpha must have one channel, (1, H, W) or (N, 1, H, W); got {tuple(alpha.shape)}")


# ----------------------------------------------------------------------------- compositing
def composite(fg: torch.Tensor, bg: torch.Tensor, alpha: torch.Tensor, premultiplied: bool = False) -> torch.Tensor:
    """The compositing equation.

    Args:
        fg: foreground colours (N, 3, H, W) or (3, H, W) in [0, 1]; with ``premultiplied=True``
            these are ``alpha * F`` (each channel <= alpha).
        bg: background colours, same shape as ``fg`` (or broadcastable, e.g. (3, 1, 1) for a
            solid colour).
        alpha: (N, 1, H, W) or (1, H, W) in [0, 1].
        premultiplied: how ``fg`` is stored (see the module docstring).

    Returns:
        ``alpha * F + (1 - alpha) * B`` (straight) or ``F_pre + (1 - alpha) * B`` (premultiplied),
        same shape as ``fg``, in [0, 1].
    """
    _check_matte(alpha, "composite")
    _check_colours(fg, "fg", "composite")
    _check_colours(bg, "bg", "composite", channels=(1, 3))  # a grey background may have one channel
    check_same_size(fg=fg, alpha=alpha)
    if bg.shape[-2:] != (1, 1):
        check_same_size(fg=fg, bg=bg)
    if premultiplied:
        if float((fg - alpha).max()) > 1e-3:
            raise ValueError(
                "premultiplied fg has colour values above alpha; premultiplied colours satisfy "
                "F_pre = alpha * F <= alpha. Is this foreground stored straight? Use premultiplied=False."
            )
        return fg + (1 - alpha) * bg
    return alpha * fg + (1 - alpha) * bg


def premultiply(fg: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Straight -> premultiplied colours: ``alpha * F``."""
    _check_matte(alpha, "premultiply")
    _check_colours(fg, "fg", "premultiply")
    check_same_size(fg=fg, alpha=alpha)
    return fg * alpha


def unpremultiply(fg_pre: torch.Tensor, alpha: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Premultiplied -> straight colours: ``F_pre / alpha``, and 0 where alpha is (almost) 0.

    Where alpha is 0 the straight colour is undefined; 0 is a convention, not information.
    """
    _check_matte(alpha, "unpremultiply")
    _check_colours(fg_pre, "fg_pre", "unpremultiply")
    check_same_size(fg_pre=fg_pre, alpha=alpha)
    return torch.where(alpha > eps, fg_pre / alpha.clamp_min(eps), torch.zeros_like(fg_pre)).clamp(0, 1)


def explanations_of_a_pixel(colour: torch.Tensor, alphas: tuple[float, ...] = (1.0, 0.75, 0.5, 0.25)) -> list[dict]:
    """Several exact decompositions ``C = a F + (1 - a) B`` of one observed colour.

    Matting is under-constrained: per pixel, 3 equations (R, G, B) and 7 unknowns (alpha, F, B).
    For each ``a`` this picks a background B (the colour "pushed away" from C towards grey or its
    complement) and solves for F, keeping both in [0, 1]. Every row reproduces ``colour`` exactly.

    Args:
        colour: (3,) observed colour in [0, 1].

    Returns:
        a list of dicts ``{"alpha", "F", "B", "C"}`` with (3,) tensors.
    """
    c = torch.as_tensor(colour, dtype=torch.float64).reshape(3)
    if float(c.min()) < 0 or float(c.max()) > 1:
        raise ValueError(f"colour must be in [0, 1], got {c.tolist()}")
    out = []
    for a in alphas:
        if not 0 < a <= 1:
            raise ValueError(f"every alpha must be in (0, 1], got {a}")
        # Choose B on the line from C away from mid-grey, as far as F = (C - (1-a)B)/a stays in [0, 1].
        direction = torch.where(c >= 0.5, -torch.ones(3, dtype=c.dtype), torch.ones(3, dtype=c.dtype))
        best_b = c.clone()
        for t in np.linspace(1.0, 0.0, 101):
            b = (c + float(t) * direction).clamp(0, 1)
            f = (c - (1 - a) * b) / a
            if float(f.min()) >= -1e-9 and float(f.max()) <= 1 + 1e-9:
                best_b = b
                break
        f = ((c - (1 - a) * best_b) / a).clamp(0, 1)
        out.append({"alpha": a, "F": f.float(), "B": best_b.float(), "C": (a * f + (1 - a) * best_b).float()})
    return out


def fade(fg: torch.Tensor, bg: torch.Tensor, alpha: torch.Tensor, opacity: float) -> torch.Tensor:
    """Composite with the matte scaled by a global ``opacity`` in [0, 1] (0: background only, 1: full matte).

    The computation behind lecture 11's compositing slider.
    """
    if not 0.0 <= float(opacity) <= 1.0:
        raise ValueError(f"opacity must be in [0, 1], got {opacity}")
    return composite(fg, bg, alpha * float(opacity))
