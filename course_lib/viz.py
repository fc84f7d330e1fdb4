"""Figures: image grids, side-by-side comparisons and loss curves.

Every image function takes ``value_range``: ``(0, 1)`` or ``(-1, 1)`` (or any ``(low, high)``).
There is no default and no guessing: an image that falls outside the range you name raises an
error instead of being displayed with silently wrong colours.

Functions return the matplotlib ``Figure``. In a notebook, assign it (``fig = show_images(...)``)
so that it is displayed once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from torchvision.utils import make_grid

from course_lib._validate import check_positive_int, describe

ValueRange = tuple[float, float]
UNIT: ValueRange = (0.0, 1.0)
SYMMETRIC: ValueRange = (-1.0, 1.0)


def check_range(images: torch.Tensor, value_range: ValueRange, name: str = "images", tol: float = 1e-3) -> None:
    """Raise ``ValueError`` if ``images`` fall outside ``value_range`` (by more than ``tol``)."""
    if not (isinstance(value_range, (tuple, list)) and len(value_range) == 2 and value_range[0] < value_range[1]):
        raise ValueError(f"value_range must be (low, high) with low < high, e.g. (0, 1) or (-1, 1); got {value_range!r}")
    lo, hi = float(images.min()), float(images.max())
    if not np.isfinite(lo) or not np.isfinite(hi):
        raise ValueError(f"{name} contain NaN or inf values")
    if lo < value_range[0] - tol or hi > value_range[1] + tol:
        hint = ""
        if value_range[0] >= 0 and lo < 0:
            hint = " They look like [-1, 1] images: pass value_range=(-1, 1)."
        elif hi > 1.5 and value_range[1] <= 1:
            hint = " They look like 0-255 images: divide by 255 first."
        raise ValueError(
            f"{name} span [{lo:.3g}, {hi:.3g}], outside the value_range {tuple(value_range)} you gave.{hint}"
        )


def to_unit(images: torch.Tensor, value_range: ValueRange) -> torch.Tensor:
    """Map images from ``value_range`` to [0, 1] (after checking the range)."""
    images = images.detach().float().cpu()
    check_range(images, value_range)
    lo, hi = value_range
    return ((images - lo) / (hi - lo)).clamp(0, 1)


def _as_batch(images: torch.Tensor | Sequence[torch.Tensor], where: str = "viz") -> torch.Tensor:
    """A tensor or a list of (C, H, W) tensors as one non-empty (N, C, H, W) batch with C = 1 or 3."""
    if not isinstance(images, torch.Tensor) and isinstance(images, Iterable) and type(images).__module__ != "numpy":
        images = list(images)  # a list, tuple or generator of (C, H, W) tensors
    if isinstance(images, torch.Tensor):
        batch = images if images.dim() == 4 else images[None]
    elif isinstance(images, list) and all(isinstance(im, torch.Tensor) for im in images):
        if not images:
            raise ValueError(f"{where}: images is an empty list; pass at least one image")
        shapes = {tuple(im.shape) for im in images}
        if len(shapes) > 1:
            raise ValueError(f"{where}: the images of a list must all have the same shape, got {sorted(shapes)}; "
                             "resize them first")
        batch = torch.stack([im.detach().float().cpu() for im in images])
    else:
        raise TypeError(f"{where}: images must be a tensor or a list of tensors, got {describe(images)}")
    if batch.dim() != 4 or batch.shape[1] not in (1, 3):
        raise ValueError(f"images must be (N, C, H, W) or (C, H, W) with C = 1 or 3; got {tuple(batch.shape)}")
    if batch.numel() == 0:
        raise ValueError(f"{where}: there is nothing to show, the batch of images is empty "
                         f"(shape {tuple(batch.shape)}); pass at least one non-empty image")
    return batch


def to_numpy_image(image: torch.Tensor, value_range: ValueRange) -> np.ndarray:
    """(C, H, W) tensor -> (H, W) or (H, W, 3) float array in [0, 1] for ``imshow``."""
    if not isinstance(image, torch.Tensor) or image.dim() != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"image must be (C, H, W) with C = 1 or 3; got {describe(image)}")
    arr = to_unit(image, value_range).permute(1, 2, 0).numpy()
    return arr[..., 0] if arr.shape[-1] == 1 else arr


def image_grid(images: torch.Tensor | Sequence[torch.Tensor], value_range: ValueRange, nrow: int = 8,
               padding: int = 2) -> torch.Tensor:
    """Tile images into one (3, H, W) tensor in [0, 1] (``torchvision.utils.make_grid``)."""
    check_positive_int(nrow, "nrow", "image_grid")
    check_positive_int(padding, "padding", "image_grid", minimum=0)
    batch = to_unit(_as_batch(images, "image_grid"), value_range)
    return make_grid(batch, nrow=nrow, padding=padding, pad_value=1.0)


def _imshow(ax: Any, image: torch.Tensor, value_range: ValueRange, title: str | None = None) -> None:
    arr = to_numpy_image(image, value_range)
    ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def show_images(
    images: torch.Tensor | Sequence[torch.Tensor],
    value_range: ValueRange,
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
    scale: float = 1.8,
    suptitle: str | None = None,
) -> plt.Figure:
    """Show images (N, C, H, W) in a grid of subplots, with optional titles."""
    batch = _as_batch(images, "show_images")
    if ncols is not None:
        check_positive_int(ncols, "ncols", "show_images")
    check_range(batch, value_range)  # before creating a figure, so a mistake leaves no empty plot
    n = batch.shape[0]
    if titles is not None and len(titles) != n:
        raise ValueError(f"got {len(titles)} titles for {n} images")
    ncols = ncols or min(n, 8)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(scale * ncols, scale * nrows + (0.3 if suptitle else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < n:
            _imshow(ax, batch[i], value_range, titles[i] if titles else None)
        else:
            ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    fig.tight_layout()
    return fig


def show_rows(
    rows: Mapping[str, torch.Tensor],
    value_range: ValueRange,
    max_cols: int = 8,
    scale: float = 1.6,
    col_titles: Sequence[str] | None = None,
    suptitle: str | None = None,
) -> plt.Figure:
    """Side-by-side comparison: one row per entry (e.g. input / output / target), samples in columns."""
    if not rows:
        raise ValueError("rows is empty")
    check_positive_int(max_cols, "max_cols", "show_rows")
    batches = {k: _as_batch(v, f"show_rows (row {k!r})")[:max_cols] for k, v in rows.items()}
    for label, batch in batches.items():
        check_range(batch, value_range, name=f"row {label!r}")
    ncols = max(b.shape[0] for b in batches.values())
    fig, axes = plt.subplots(len(batches), ncols, figsize=(scale * ncols + 0.8, scale * len(batches)),
                             squeeze=False)
    for r, (label, batch) in enumerate(batches.items()):
        for c in range(ncols):
            ax = axes[r, c]
            if c < batch.shape[0]:
                title = col_titles[c] if (col_titles and r == 0 and c < len(col_titles)) else None
                _imshow(ax, batch[c], value_range, title)
            else:
                ax.axis("off")
        axes[r, 0].set_ylabel(label, fontsize=9)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    fig.tight_layout()
    return fig


def plot_history(history: Any, keys: Sequence[str] | None = None, ax: Any = None, logy: bool = False) -> plt.Figure:
    """Loss curves from a :class:`course_lib.train.History` (all logged keys by default)."""
    keys = list(keys) if keys is not None else sorted(history.values)
    missing = [k for k in keys if k not in history.values]
    if missing:
        raise KeyError(f"not logged: {missing}; logged keys: {sorted(history.values)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.2))
    else:
        fig = ax.figure
    for k in keys:
        ax.plot(history.value_steps[k], history.values[k], label=k)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if logy:
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def save_figure(fig: plt.Figure, path: str | Path, dpi: int = 100) -> Path:
    """Save ``fig`` as PNG (folders created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path
