"""Post-processing and classical baselines: Poisson blending, biharmonic inpainting, mean-colour fill.

* :func:`poisson_blend`: Pérez, Gangnet & Blake, "Poisson Image Editing" (SIGGRAPH 2003). Inside
  the hole, find the image ``f`` whose Laplacian equals the Laplacian of a *source* (e.g. a
  network's prediction) and whose values on the hole's border equal the *target* (the known
  pixels). The source keeps its details, but its colours are bent so that they meet the known
  pixels without a seam. Global & Local (Iizuka et al. 2017, Sec. 3.4 and their ``inpaint.lua``)
  post-processes with fast marching followed by OpenCV's Poisson ``seamlessClone``.
* :func:`biharmonic_inpaint`: scikit-image's ``inpaint_biharmonic`` (Damelin & Hoang 2018): the
  smoothest surface (biharmonic, :math:`\\Delta^2 f = 0`) through the known pixels. No learning and
  no texture, a strong baseline for small holes.
* :func:`mean_fill`: every hole pixel gets the mean colour of the known pixels of its image, the
  *trivial baseline* that every learned method of the course must beat inside the holes.

All three take (C, H, W) or (N, C, H, W) float images in any value range and masks with
1 = hole, and return the same shape. A mask without a hole returns the image unchanged; a mask
that covers everything raises ``ValueError`` (no context: see :mod:`course_lib.inpainting.common`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from course_lib._validate import check_finite, describe
from course_lib.inpainting.common import check_image_mask, composite


def mean_fill(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Fill each hole with the per-channel mean of its image's known pixels (the trivial baseline).

    ``image`` (C, H, W) or (N, C, H, W), ``mask`` 1 = hole. Known pixels are returned unchanged.
    """
    images, masks, batched = check_image_mask(image, mask)
    check_finite(images, "image", "mean_fill")  # one NaN would spread to the whole fill
    known = 1 - masks
    mean = (images * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True)
    out = composite(images, masks, mean.expand_as(images))
    return out if batched else out[0]


def biharmonic_inpaint(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """scikit-image's biharmonic inpainting, one image at a time (a classical baseline).

    ``image`` (C, H, W) or (N, C, H, W) float, ``mask`` 1 = hole. Cost grows with the hole's area
    (one sparse solve per connected hole): a 32x32 hole takes milliseconds, 128x128 about a second.
    """
    from skimage.restoration import inpaint_biharmonic

    images, masks, batched = check_image_mask(image, mask)
    check_finite(images, "image", "biharmonic_inpaint")
    out = images.clone()
    for i in range(images.shape[0]):
        hole = masks[i, 0].cpu().numpy() > 0.5
        if not hole.any():
            continue
        arr = images[i].detach().cpu().double().permute(1, 2, 0).numpy()
        filled = inpaint_biharmonic(arr, hole, channel_axis=-1)
        out[i] = torch.from_numpy(filled).permute(2, 0, 1).to(out)
    out = composite(images, masks, out)
    return out if batched else out[0]


def _poisson_system(hole: np.ndarray) -> tuple[np.ndarray, np.ndarray, sp.csc_matrix, list]:
    """The discrete Poisson system of a (H, W) boolean hole with Dirichlet values outside it.

    For each hole pixel p with in-image neighbours N_p:  |N_p| f_p - sum_{q in N_p, q in hole} f_q
    = sum_{q in N_p} v_pq + sum_{q in N_p, q known} target_q. Returns the hole pixels' coordinates,
    the index map, the sparse matrix, and per direction the arrays the right-hand side needs.
    """
    h, w = hole.shape
    ys, xs = np.nonzero(hole)
    index = -np.ones((h, w), dtype=np.int64)
    index[ys, xs] = np.arange(ys.size)
    diag = np.zeros(ys.size)
    rows, cols = [], []
    directions = []
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        qy, qx = ys + dy, xs + dx
        inside = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
        diag += inside
        p_in = np.flatnonzero(inside)
        qy_in, qx_in = qy[p_in], qx[p_in]
        q_hole = hole[qy_in, qx_in]
        rows.append(p_in[q_hole])
        cols.append(index[qy_in[q_hole], qx_in[q_hole]])
        directions.append((p_in, qy_in, qx_in, q_hole))
    n = ys.size
    rows_all, cols_all = np.concatenate(rows), np.concatenate(cols)
    matrix = sp.coo_matrix((np.r_[diag, -np.ones(rows_all.size)],
                            (np.r_[np.arange(n), rows_all], np.r_[np.arange(n), cols_all])), shape=(n, n))
    return ys, xs, matrix.tocsc(), directions


def poisson_blend(source: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Seamless cloning: inside the hole, the gradients of ``source``; on its border, ``target``.

    Solves the discrete Poisson equation (Pérez et al. 2003, Eq. 7 with the guidance field
    ``v_pq = source_p - source_q``) with a sparse LU factorisation (``scipy.sparse.linalg.splu``),
    once per image and shared by the colour channels. Neighbours outside the image are left out,
    so a hole may touch the image border.

    Args:
        source: (C, H, W) or (N, C, H, W), e.g. a network's raw prediction over the whole image
            (its own gradients across the hole's border, not the seam of a pasted composite).
        target: the same shape; its known pixels (mask 0) are kept and fix the border values.
        mask: 1 = hole, the region that is re-solved.

    Returns:
        ``target`` outside the hole and the blended solution inside, same shape as ``target``.
    """
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"poisson_blend: target must be a (C, H, W) or (N, C, H, W) tensor, got {describe(target)}")
    if not isinstance(source, torch.Tensor) or source.shape != target.shape:
        got = tuple(source.shape) if isinstance(source, torch.Tensor) else type(source).__name__
        raise ValueError(f"source must have the target's shape {tuple(target.shape)}, got {got}")
    targets, masks, batched = check_image_mask(target, mask, name="target")
    # The solve mixes every hole pixel with all others: one NaN would fill the whole hole with NaN.
    check_finite(source, "source", "poisson_blend")
    check_finite(targets, "target", "poisson_blend")
    sources = source if batched else source[None]
    out = targets.clone()
    for i in range(targets.shape[0]):
        hole = masks[i, 0].detach().cpu().numpy() > 0.5
        if not hole.any():
            continue
        src = sources[i].detach().cpu().double().permute(1, 2, 0).numpy()  # (H, W, C)
        dst = targets[i].detach().cpu().double().permute(1, 2, 0).numpy()
        ys, xs, matrix, directions = _poisson_system(hole)
        rhs = np.zeros((ys.size, src.shape[-1]))
        for p_in, qy, qx, q_hole in directions:
            # guidance: the source's difference between p and its neighbour q
            rhs[p_in] += src[ys[p_in], xs[p_in]] - src[qy, qx]
            # Dirichlet boundary: a known neighbour contributes its target value
            known = ~q_hole
            rhs[p_in[known]] += dst[qy[known], qx[known]]
        solution = spla.splu(matrix).solve(rhs)
        result = dst.copy()
        result[ys, xs] = solution
        out[i] = torch.from_numpy(result).permute(2, 0, 1).to(out)
    return out if batched else out[0]
