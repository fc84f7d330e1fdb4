"""Closed-form matting (Levin, Lischinski & Weiss, "A Closed-Form Solution to Natural Image Matting", TPAMI 2008).

The idea in three steps (the section numbers are the paper's):

1. **Colour-line model** (Sec. 3.1). In a small window the foreground colours lie on a line in
   RGB space, and so do the background colours. Then alpha is an *affine* function of the image
   colour inside the window: ``alpha_i = a^T I_i + b`` for all pixels i of the window, with one
   (a, b) per window.
2. **Eliminate a and b** (Sec. 3.2, Theorem 2). Minimising
   ``J = sum_k [ sum_{i in w_k} (alpha_i - a_k^T I_i - b_k)^2 + eps |a_k|^2 ]`` over every (a_k, b_k)
   leaves a quadratic form in alpha alone, ``J(alpha) = alpha^T L alpha``, with the *matting
   Laplacian*

       L_ij = sum_{k : (i, j) in w_k} ( delta_ij - (1 + (I_i - mu_k)^T (Sigma_k + eps/|w_k| I_3)^{-1} (I_j - mu_k)) / |w_k| )

   where ``mu_k`` and ``Sigma_k`` are the mean and the 3x3 covariance of the colours in window k
   (3x3 windows, |w_k| = 9) and ``eps`` regularises flat windows (1e-7 in the authors' code).
3. **Solve with the trimap** (Sec. 3.3). The known pixels are soft constraints of weight
   lambda (100 in the authors' code): ``(L + lambda D) alpha = lambda D t``, with D the diagonal
   mask of known pixels and t the trimap. L is sparse (at most 25 non-zeros per row for 3x3
   windows), so a sparse direct solver handles small images in well under a second.

Every pixel belongs to 9 windows, every window couples 81 pixel pairs: the system is large, so
the course uses it on small images only (``max_pixels``); the learned model of
:mod:`course_lib.matting.model` is what scales.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
import torch
from numpy.lib.stride_tricks import sliding_window_view

from course_lib.matting.compositing import as_trimap, check_same_size, validate_image

#: regularisation of the colour-line model and weight of the trimap constraints (Levin et al.'s code)
EPSILON = 1e-7
LAMBDA = 100.0
#: the largest image (in pixels) that closed_form_matting accepts by default: 128 x 128
MAX_PIXELS = 128 * 128


def matting_laplacian(image: np.ndarray, eps: float = EPSILON, radius: int = 1,
                      active: np.ndarray | None = None) -> scipy.sparse.csr_matrix:
    """The matting Laplacian of an (H, W, 3) image in [0, 1], as an (HW, HW) sparse matrix.

    Args:
        image: float array (H, W, 3).
        eps: regularisation (the eps of Eq. 12 in the paper).
        radius: window radius; 1 gives the paper's 3x3 windows.
        active: optional (H, W) boolean mask; only windows that contain at least one active
            pixel contribute (the authors skip windows lying entirely in the known region, whose
            terms only couple pixels that the constraints fix anyway).

    Pixels are numbered row by row (index = y * W + x). L is symmetric and positive
    semi-definite, and every row sums to 0 (constant alpha costs nothing).
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3), got {image.shape}")
    h, w, _ = image.shape
    d = 2 * radius + 1
    if h < d or w < d:
        raise ValueError(f"image {h}x{w} is smaller than one {d}x{d} window")
    n = d * d
    index = np.arange(h * w).reshape(h, w)
    win = sliding_window_view(index, (d, d)).reshape(-1, n)              # (K, n) pixel indices per window
    if active is not None:
        keep = active.reshape(-1)[win].any(1)
        win = win[keep]
    colours = image.reshape(-1, 3).astype(np.float64)[win]               # (K, n, 3)
    mu = colours.mean(1, keepdims=True)                                  # (K, 1, 3)
    centred = colours - mu
    cov = np.einsum("kni,knj->kij", centred, centred) / n                # (K, 3, 3)
    inv = np.linalg.inv(cov + (eps / n) * np.eye(3))
    # G_k[i, j] = (1 + (I_i - mu)^T inv (I_j - mu)) / n; window k adds delta_ij - G_k[i, j].
    g = (1.0 + (centred @ inv) @ centred.transpose(0, 2, 1)) / n          # (K, n, n)
    values = np.eye(n)[None] - g
    rows = np.repeat(win, n, axis=1).ravel()
    cols = np.tile(win, (1, n)).ravel()
    return scipy.sparse.coo_matrix((values.ravel(), (rows, cols)), shape=(h * w, h * w)).tocsr()


def closed_form_matting(image: torch.Tensor, trimap: torch.Tensor, eps: float = EPSILON,
                        lam: float = LAMBDA, max_pixels: int = MAX_PIXELS) -> torch.Tensor:
    """Alpha matte by closed-form matting.

    Args:
        image: (3, H, W) or (N, 3, H, W) in [0, 1].
        trimap: (1, H, W) or (N, 1, H, W), values 0/0.5/1 (or 0/128/255).
        eps, lam: see the module docstring (the paper's values by default).
        max_pixels: refuse larger images (the sparse solve grows quickly); raise it knowingly.

    Returns:
        alpha (same leading shape as ``trimap``), float in [0, 1]; known pixels keep the trimap's values.
    """
    validate_image(image)
    t = as_trimap(trimap)
    check_same_size(image=image, trimap=t)
    if t.shape[-3] != 1:
        raise ValueError(f"trimap must have one channel, got shape {tuple(t.shape)}")
    h, w = image.shape[-2:]
    if h * w > max_pixels:
        raise ValueError(
            f"image is {h}x{w} = {h * w} pixels; closed_form_matting is limited to max_pixels={max_pixels} "
            "(the sparse system has 25 non-zeros per pixel). Downscale the image, or pass a larger "
            "max_pixels if you have the time and memory."
        )
    batched = image.dim() == 4
    imgs = image if batched else image[None]
    tris = t if batched else t[None]
    if imgs.shape[0] != tris.shape[0]:
        raise ValueError(f"size mismatch: {imgs.shape[0]} images but {tris.shape[0]} trimaps")
    out = [_solve_one(img.permute(1, 2, 0).double().numpy(), tri[0].double().numpy(), eps, lam)
           for img, tri in zip(imgs, tris)]
    alpha = torch.from_numpy(np.stack(out)).float()[:, None]
    return alpha if batched else alpha[0]


def _solve_one(image: np.ndarray, trimap: np.ndarray, eps: float, lam: float) -> np.ndarray:
    known = trimap != 0.5
    if known.all():
        return trimap.copy()
    laplacian = matting_laplacian(image, eps, active=~known)
    d = lam * known.ravel().astype(np.float64)
    system = (laplacian + scipy.sparse.diags(d)).tocsc()
    alpha = scipy.sparse.linalg.spsolve(system, d * trimap.ravel())
    alpha = np.clip(alpha.reshape(trimap.shape), 0.0, 1.0)
    return np.where(known, trimap, alpha)

