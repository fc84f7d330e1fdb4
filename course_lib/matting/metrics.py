"""The four standard matting errors: SAD, MSE, gradient and connectivity, over the unknown region.

Definitions: Rhemann, Rother, Wang, Gelautz, Kohli, Rott, "A Perceptually Motivated Online
Benchmark for Image Matting", CVPR 2009 (the alphamatting.com benchmark: SAD, MSE, gradient and
connectivity errors). The details follow the evaluation code that Deep Image Matting (Xu et al.
2017) released with Composition-1k (``compute_sad_loss.m``, ``compute_mse_loss.m``,
``compute_gradient_loss.m``, ``compute_connectivity_error.m``, by Ning Xu), which later papers and
their Python ports (GCA-Matting ``utils/evaluate.py``, MMEditing ``metrics``) reproduce:

==============  =======================================================================  ========
metric          per image, summed over the unknown pixels (trimap == 0.5) only            scale
==============  =======================================================================  ========
SAD             sum |pred - gt|                                                           / 1000
MSE             mean (pred - gt)^2  (mean over the unknown pixels)                        none
gradient        sum (|grad pred| - |grad gt|)^2, first-order Gaussian derivative          / 1000
                filters with sigma = 1.4 on mattes min-max normalised to [0, 1]
connectivity    sum |phi(pred) - phi(gt)| with phi = 1 - d * [d >= 0.15],                 / 1000
                d = alpha - l, l = the threshold (steps of 0.1) at which the pixel leaves
                the largest 4-connected component where both mattes are >= the threshold
==============  =======================================================================  ========

The /1000 makes the numbers of large images readable; benchmark tables (Composition-1k,
Distinctions-646) report SAD, gradient and connectivity that way, MSE as it is. Every function
takes mattes in [0, 1] (the released code takes 0-255 and divides by 255 first). A batch
(N, 1, H, W) gives the mean of the per-image values, as the tables do.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import torch
from scipy import ndimage

from course_lib.matting.compositing import Array, as_trimap, validate_alpha

#: sigma of the Gaussian derivative filters of the gradient error (compute_gradient_loss.m)
GRADIENT_SIGMA = 1.4
#: threshold step and the 0.15 cut-off of the connectivity error (compute_connectivity_error.m)
CONNECTIVITY_STEP = 0.1
CONNECTIVITY_THETA = 0.15


def _planes(x: Array, name: str) -> np.ndarray:
    a = x.detach().cpu().double().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)
    if a.ndim < 2 or (a.ndim >= 3 and a.shape[-3] != 1) or a.ndim > 4:
        raise ValueError(f"{name} must be (H, W), (1, H, W) or (N, 1, H, W), got shape {a.shape}")
    return a.reshape(-1, *a.shape[-2:])


def _prepare(pred: Array, gt: Array, trimap: Array | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    for name, x in (("pred", pred), ("gt", gt)):
        validate_alpha(x if isinstance(x, (torch.Tensor, np.ndarray)) else np.asarray(x, dtype=np.float64), name)
    p, g = _planes(pred, "pred"), _planes(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"size mismatch: pred {p.shape[1:]} x {p.shape[0]} images, gt {g.shape[1:]} x {g.shape[0]} images")
    if trimap is None:
        region = np.ones_like(p, dtype=bool)
    else:
        region = _planes(as_trimap(trimap), "trimap") == 0.5
        if region.shape != p.shape:
            raise ValueError(f"size mismatch: trimap {region.shape[1:]} ({region.shape[0]} images), "
                             f"mattes {p.shape[1:]} ({p.shape[0]} images)")
    return p, g, region


def sad(pred: Array, gt: Array, trimap: Array | None) -> float:
    """Sum of absolute differences over the unknown region, divided by 1000.

    ``trimap=None`` sums over the whole image (only for comparison: benchmarks never do).
    """
    p, g, region = _prepare(pred, gt, trimap)
    return float(np.mean([(np.abs(pi - gi) * ri).sum() / 1000.0 for pi, gi, ri in zip(p, g, region)]))


def mse(pred: Array, gt: Array, trimap: Array | None) -> float:
    """Mean squared error over the unknown pixels (0 when a trimap has no unknown pixel)."""
    p, g, region = _prepare(pred, gt, trimap)
    vals = [float(((pi - gi) ** 2 * ri).sum() / ri.sum()) if ri.any() else 0.0 for pi, gi, ri in zip(p, g, region)]
    return float(np.mean(vals))


@cache
def gaussian_derivative_kernel(sigma: float = GRADIENT_SIGMA, epsilon: float = 1e-2) -> np.ndarray:
    """The 2-D filter of ``gaussgradient.m`` (G. Xiong), used by the gradient error.

    ``h[i, j] = g(i) * g'(j)`` with a Gaussian ``g`` of std ``sigma`` along the rows and its
    derivative along the columns, half-size ``ceil(sigma * sqrt(-2 ln(sqrt(2 pi) sigma eps)))``
    (4 for sigma = 1.4, a 9x9 filter), scaled to unit L2 norm. Convolving with it gives d/dx; its
    transpose gives d/dy.
    """
    half = math.ceil(sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * epsilon)))
    u = np.arange(-half, half + 1, dtype=np.float64)
    g = np.exp(-u ** 2 / (2 * sigma ** 2)) / (sigma * math.sqrt(2 * math.pi))
    dg = -u * g / sigma ** 2
    h = g[:, None] * dg[None, :]
    return h / np.sqrt((h * h).sum())


def gradient_magnitude(alpha: np.ndarray, sigma: float = GRADIENT_SIGMA) -> np.ndarray:
    """|grad alpha| of a 2-D matte after min-max normalisation (``mat2gray``), replicated borders."""
    lo, hi = float(alpha.min()), float(alpha.max())
    a = (alpha - lo) / (hi - lo) if hi > lo else np.zeros_like(alpha)
    hx = gaussian_derivative_kernel(sigma)
    gx = ndimage.convolve(a, hx, mode="nearest")
    gy = ndimage.convolve(a, hx.T, mode="nearest")
    return np.sqrt(gx ** 2 + gy ** 2)


def gradient_error(pred: Array, gt: Array, trimap: Array | None, sigma: float = GRADIENT_SIGMA) -> float:
    """Squared difference of the gradient magnitudes, summed over the unknown region, / 1000."""
    p, g, region = _prepare(pred, gt, trimap)
    vals = [((gradient_magnitude(pi, sigma) - gradient_magnitude(gi, sigma)) ** 2 * ri).sum() / 1000.0
            for pi, gi, ri in zip(p, g, region)]
    return float(np.mean(vals))


def connectivity_levels(pred: np.ndarray, gt: np.ndarray, step: float = CONNECTIVITY_STEP) -> np.ndarray:
    """The map ``l`` of the connectivity error (2-D mattes in [0, 1]).

    For thresholds t = step, 2 step, ..., 1: the pixels where both mattes are >= t form
    4-connected components; a pixel that is not in the largest one (any more) gets l = the
    previous threshold, the last level at which it was still connected to the main object.
    Pixels connected at every level get l = 1.
    """
    steps = np.arange(0.0, 1.0 + step / 2, step)
    levels = -np.ones(pred.shape, dtype=np.float64)
    four = ndimage.generate_binary_structure(2, 1)
    for i in range(1, len(steps)):
        both = (pred >= steps[i] - 1e-12) & (gt >= steps[i] - 1e-12)
        labels, n = ndimage.label(both, structure=four)
        omega = np.zeros(pred.shape, dtype=bool)
        if n:
            sizes = np.bincount(labels.ravel())[1:]
            omega = labels == (int(np.argmax(sizes)) + 1)
        newly_lost = (levels == -1) & ~omega
        levels[newly_lost] = steps[i - 1]
    levels[levels == -1] = 1.0
    return levels


def connectivity_error(pred: Array, gt: Array, trimap: Array | None, step: float = CONNECTIVITY_STEP,
                       theta: float = CONNECTIVITY_THETA) -> float:
    """Connectivity error over the unknown region, / 1000 (see :func:`connectivity_levels`).

    ``phi(a) = 1 - d * [d >= theta]`` with ``d = a - l``: a pixel that is much more opaque than the
    level at which it is still connected to the main object counts as disconnected. The error
    sums ``|phi(pred) - phi(gt)|``.
    """
    p, g, region = _prepare(pred, gt, trimap)
    vals = []
    for pi, gi, ri in zip(p, g, region):
        lv = connectivity_levels(pi, gi, step)
        dp, dg = pi - lv, gi - lv
        phi_p = 1 - dp * (dp >= theta)
        phi_g = 1 - dg * (dg >= theta)
        vals.append((np.abs(phi_p - phi_g) * ri).sum() / 1000.0)
    return float(np.mean(vals))


METRICS = {"SAD": sad, "MSE": mse, "Grad": gradient_error, "Conn": connectivity_error}


def matting_metrics(pred: Array, gt: Array, trimap: Array | None) -> dict[str, float]:
    """All four errors as a dict ``{"SAD", "MSE", "Grad", "Conn"}`` (lower is better)."""
    return {name: fn(pred, gt, trimap) for name, fn in METRICS.items()}


def format_table(rows: dict[str, dict[str, float]], title: str = "") -> str:
    """A plain-text table: one row per method, one column per metric."""
    names = list(next(iter(rows.values())))
    width = max(len(k) for k in rows) + 2
    lines = [title] if title else []
    lines.append(f"{'method':<{width}}" + "".join(f"{n:>10}" for n in names))
    for method, vals in rows.items():
        lines.append(f"{method:<{width}}" + "".join(f"{vals[n]:>10.4f}" for n in names))
    return "\n".join(lines)


def show_matte_comparison(mattes: dict[str, torch.Tensor], data: dict[str, torch.Tensor], indices: list[int],
                          names: tuple[str, ...] = ("SAD", "MSE", "Grad"), scale: float = 1.9, suptitle: str = ""):
    """A figure: one held-out composite per row; image | trimap | each matte | true alpha.

    ``mattes``: name -> (N, 1, H, W) in [0, 1]; ``data``: ``{"image" (N, 3, H, W), "trimap",
    "alpha" (N, 1, H, W)}``. Each matte column is titled with its errors ``names`` averaged over
    *all* N images (unknown region, lower is better), and each panel carries that image's SAD
    below it. Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    gt, tri = data["alpha"], data["trimap"]
    columns: list[tuple[str, torch.Tensor, dict[str, float] | None]] = [("image", data["image"], None),
                                                                         ("trimap", tri, None)]
    for name, alpha in mattes.items():
        if alpha.shape != gt.shape:
            raise ValueError(f"matte {name!r} has shape {tuple(alpha.shape)}, the true alpha {tuple(gt.shape)}")
        columns.append((name, alpha, matting_metrics(alpha, gt, tri)))
    columns.append(("true alpha", gt, None))
    fig, axes = plt.subplots(len(indices), len(columns), figsize=(scale * len(columns), scale * len(indices) + 0.9),
                             squeeze=False)
    for c, (name, batch, errors) in enumerate(columns):
        title = name if errors is None else name + "\n" + ", ".join(f"{k} {errors[k]:.3f}" for k in names[:2]) + (
            "\n" + ", ".join(f"{k} {errors[k]:.3f}" for k in names[2:]) if len(names) > 2 else "")
        axes[0, c].set_title(title, fontsize=8)
        for r, i in enumerate(indices):
            ax = axes[r, c]
            img = batch[i].detach().float().clamp(0, 1)
            ax.imshow(img.permute(1, 2, 0).numpy() if img.shape[0] == 3 else img[0].numpy(), cmap="gray",
                      vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if errors is not None:
                ax.set_xlabel(f"SAD {sad(batch[i], gt[i], tri[i]):.3f}", fontsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    fig.tight_layout()
    return fig
