"""PatchMatch (Barnes, Shechtman, Finkelstein & Goldman, SIGGRAPH 2009) and inpainting built on it.

**Nearest-neighbour field (NNF).** For every ``p x p`` patch of an image A, find the most similar
patch of an image B (sum of squared differences, SSD). Exhaustive search costs
``|A| * |B| * p^2`` operations; PatchMatch finds nearly the same field in a few passes by
exploiting that neighbouring patches tend to have neighbouring matches (Barnes et al., Sec. 3):

1. **random initialisation**: each patch of A gets a random (valid) patch of B; among millions of
   guesses a few are already good;
2. **propagation**: a patch tries the match of its left (and upper) neighbour, shifted by one
   pixel: ``f(x - 1, y) + (1, 0)``. A good guess thus spreads along the whole image in one pass.
   Odd passes go the other way (right and lower neighbours);
3. **random search**: around the current match, try random candidates in windows of radius
   ``w, w/2, w/4, ..., 1`` (``w`` = the size of B, ``alpha = 1/2``).

*Vectorisation.* The paper scans pixels one by one. Here a pass sweeps the **columns** in order,
updating a whole column at once from the column before it, then sweeps the **rows** the same
way; each step is one NumPy operation over a column or a row, so a good match still crosses the
image in one pass. Random search updates all pixels at once.

**Inpainting.** The hole is filled coarse to fine (Wexler, Shechtman & Irani, "Space-Time
Completion of Video", PAMI 2007; the algorithm behind Photoshop's Content-Aware Fill that Barnes et
al. accelerate): at the coarsest pyramid level the hole is first filled smoothly, then repeat
(an EM-like loop) (a) compute the NNF from patches that overlap the hole to patches of the known
region, (b) *vote*: each hole pixel becomes the average of the pixels that all overlapping
matched patches put there. The NNF is upsampled to initialise the next finer level.

Images are (C, H, W) tensors (or (H, W, C) NumPy arrays for the NNF functions), any value range;
masks use the course convention 1 = hole.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from course_lib.inpainting.common import check_image_mask, composite


# ----------------------------------------------------------------------------- helpers
def _as_hwc(image: torch.Tensor | np.ndarray, name: str) -> np.ndarray:
    """(C, H, W) tensor or (H, W, C) / (H, W) array -> float32 (H, W, C) array."""
    if isinstance(image, torch.Tensor):
        if image.dim() != 3:
            raise ValueError(f"{name} must be a (C, H, W) tensor, got shape {tuple(image.shape)}")
        return image.detach().cpu().float().permute(1, 2, 0).numpy()
    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3:
        raise ValueError(f"{name} must be an (H, W, C) array, got shape {arr.shape}")
    return arr


def _check_patch(patch_size: int, *shapes: tuple[int, ...]) -> int:
    if not isinstance(patch_size, int) or patch_size < 1 or patch_size % 2 == 0:
        raise ValueError(f"patch_size must be an odd int >= 1 (a patch has a centre pixel), got {patch_size!r}")
    for shape in shapes:
        if min(shape[:2]) < patch_size:
            raise ValueError(f"an image of size {shape[:2]} is smaller than one {patch_size}x{patch_size} patch")
    return patch_size // 2


def patch_vectors(image: np.ndarray, patch_size: int) -> np.ndarray:
    """(H, W, C) -> (H, W, C * patch_size**2): the patch centred on every pixel, as one vector.

    The image is padded by reflection so that every pixel has a patch (source patches that reach
    over the border are excluded by :func:`valid_sources` instead).
    """
    r = patch_size // 2
    padded = np.pad(image, ((r, r), (r, r), (0, 0)), mode="reflect" if min(image.shape[:2]) > r else "edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, (patch_size, patch_size), axis=(0, 1))
    h, w = image.shape[:2]
    return np.ascontiguousarray(windows.reshape(h, w, -1), dtype=np.float32)


def valid_sources(hole: np.ndarray, patch_size: int) -> np.ndarray:
    """(H, W) bool: centres whose whole patch lies inside the image and contains no hole pixel."""
    r = patch_size // 2
    h, w = hole.shape
    valid = ~ndimage.binary_dilation(hole, structure=np.ones((patch_size, patch_size), bool)) if hole.any() \
        else np.ones((h, w), bool)
    border = np.zeros((h, w), bool)
    border[r:h - r, r:w - r] = True
    return valid & border


@dataclass
class NNF:
    """A nearest-neighbour field: for every pixel of A, the centre ``(y, x)`` of its match in B.

    ``field``: (H_a, W_a, 2) int64; ``distance``: (H_a, W_a) SSD of each match divided by the
    number of values in a patch (a mean squared difference per pixel and channel);
    ``history``: the mean of ``distance`` after the initialisation and after every pass.
    """

    field: np.ndarray
    distance: np.ndarray
    history: list[float] = dataclasses.field(default_factory=list)  # (the attribute `field` shadows the function)


class _Matcher:
    """PatchMatch on precomputed patch vectors (the engine behind the public functions)."""

    def __init__(self, a: np.ndarray, b: np.ndarray, valid: np.ndarray, rng: np.random.Generator) -> None:
        self.a, self.b, self.valid, self.rng = a, b, valid, rng
        self.hb, self.wb = valid.shape
        self.dims = a.shape[-1]
        self.valid_yx = np.argwhere(valid)
        if self.valid_yx.size == 0:
            raise ValueError("B has no valid source patch: the hole (or the patch size) leaves no patch "
                             "that lies fully inside the image and outside the hole")

    def distance(self, ya: np.ndarray | slice, xa: np.ndarray | slice, cand: np.ndarray) -> np.ndarray:
        """SSD between A's patches at (ya, xa) and B's patches at ``cand`` (..., 2); inf where invalid."""
        cy = np.clip(cand[..., 0], 0, self.hb - 1)
        cx = np.clip(cand[..., 1], 0, self.wb - 1)
        diff = self.a[ya, xa] - self.b[cy, cx]
        d = np.einsum("...k,...k->...", diff, diff)
        ok = (cand[..., 0] == cy) & (cand[..., 1] == cx) & self.valid[cy, cx]
        return np.where(ok, d, np.inf)

    def random_field(self, shape: tuple[int, ...]) -> np.ndarray:
        picks = self.rng.integers(0, len(self.valid_yx), size=shape)
        return self.valid_yx[picks].astype(np.int64)

    def improve(self, nnf: np.ndarray, dist: np.ndarray, ya, xa, cand: np.ndarray) -> None:
        d = self.distance(ya, xa, cand)
        better = d < dist[ya, xa]
        if better.any():
            sub_n, sub_d = nnf[ya, xa], dist[ya, xa]
            sub_n[better], sub_d[better] = cand[better], d[better]
            nnf[ya, xa], dist[ya, xa] = sub_n, sub_d

    def propagate(self, nnf: np.ndarray, dist: np.ndarray, reverse: bool) -> None:
        h, w = dist.shape
        step = -1 if reverse else 1
        # column sweep: column x tries the match of column x - step, shifted by step
        cols = range(w - 2, -1, -1) if reverse else range(1, w)
        for x in cols:
            cand = nnf[:, x - step].copy()
            cand[:, 1] += step
            self.improve(nnf, dist, slice(None), x, cand)
        rows = range(h - 2, -1, -1) if reverse else range(1, h)
        for y in rows:
            cand = nnf[y - step].copy()
            cand[:, 0] += step
            self.improve(nnf, dist, y, slice(None), cand)

    def random_search(self, nnf: np.ndarray, dist: np.ndarray, alpha: float = 0.5) -> None:
        radius = float(max(self.hb, self.wb))
        while radius >= 1:
            r = int(radius)
            cand = nnf + self.rng.integers(-r, r + 1, size=nnf.shape)
            cand[..., 0] = np.clip(cand[..., 0], 0, self.hb - 1)  # the window is clamped to B
            cand[..., 1] = np.clip(cand[..., 1], 0, self.wb - 1)
            self.improve(nnf, dist, slice(None), slice(None), cand)
            radius *= alpha

    def run(self, init: np.ndarray | None, iterations: int) -> NNF:
        ha, wa = self.a.shape[:2]
        nnf = self.random_field((ha, wa)) if init is None else init.astype(np.int64).copy()
        dist = self.distance(slice(None), slice(None), nnf)
        bad = ~np.isfinite(dist)
        if bad.any():  # an initial guess that is not a valid source: replace it by a random one
            nnf[bad] = self.random_field((int(bad.sum()),))
            bad_y, bad_x = np.nonzero(bad)
            dist[bad] = self.distance(bad_y, bad_x, nnf[bad])
        history = [float(dist.mean()) / self.dims]
        for it in range(iterations):
            self.propagate(nnf, dist, reverse=it % 2 == 1)
            self.random_search(nnf, dist)
            history.append(float(dist.mean()) / self.dims)
        return NNF(nnf, dist / self.dims, history)


# ----------------------------------------------------------------------------- public NNF functions
def nearest_neighbour_field(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray, patch_size: int = 7,
                            iterations: int = 5, seed: int = 0, source_valid: np.ndarray | None = None,
                            init: np.ndarray | None = None) -> NNF:
    """Approximate nearest-neighbour field from the patches of ``a`` to those of ``b`` (PatchMatch).

    Args:
        a, b: (C, H, W) tensors or (H, W, C) arrays with the same number of channels.
        patch_size: odd side of the square patches (Barnes et al. use 7).
        iterations: passes of propagation + random search (the paper: 4-5 suffice).
        seed: seed of the random initialisation and search.
        source_valid: (H_b, W_b) bool, the centres of B allowed as matches; default: all whose
            patch lies fully inside B.
        init: (H_a, W_a, 2) starting field (e.g. from a coarser level) instead of a random one.
    """
    a_img, b_img = _as_hwc(a, "a"), _as_hwc(b, "b")
    if a_img.shape[-1] != b_img.shape[-1]:
        raise ValueError(f"a has {a_img.shape[-1]} channels but b has {b_img.shape[-1]}")
    _check_patch(patch_size, a_img.shape, b_img.shape)
    if not isinstance(iterations, int) or iterations < 0:
        raise ValueError(f"iterations must be an int >= 0, got {iterations!r}")
    valid = valid_sources(np.zeros(b_img.shape[:2], bool), patch_size)
    if source_valid is not None:
        if source_valid.shape != b_img.shape[:2]:
            raise ValueError(f"source_valid is {source_valid.shape} but b is {b_img.shape[:2]}")
        valid = valid & source_valid.astype(bool)
    if init is not None and init.shape != (*a_img.shape[:2], 2):
        raise ValueError(f"init must be ({a_img.shape[0]}, {a_img.shape[1]}, 2), got {init.shape}")
    matcher = _Matcher(patch_vectors(a_img, patch_size), patch_vectors(b_img, patch_size), valid,
                       np.random.default_rng(seed))
    return matcher.run(init, iterations)


def exact_nearest_neighbour_field(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray,
                                  patch_size: int = 7, source_valid: np.ndarray | None = None) -> NNF:
    """The exact field by exhaustive search (``|A| x |B|`` distances): for small images and checks only."""
    a_img, b_img = _as_hwc(a, "a"), _as_hwc(b, "b")
    _check_patch(patch_size, a_img.shape, b_img.shape)
    valid = valid_sources(np.zeros(b_img.shape[:2], bool), patch_size)
    if source_valid is not None:
        valid = valid & source_valid.astype(bool)
    pa = torch.from_numpy(patch_vectors(a_img, patch_size)).double().flatten(0, 1)
    pb_all = torch.from_numpy(patch_vectors(b_img, patch_size)).double()
    yx = np.argwhere(valid)
    pb = pb_all[yx[:, 0], yx[:, 1]]
    d = (pa * pa).sum(1, keepdim=True) + (pb * pb).sum(1)[None] - 2 * pa @ pb.T
    best = d.argmin(1).numpy()
    ha, wa = a_img.shape[:2]
    nnf = yx[best].reshape(ha, wa, 2).astype(np.int64)
    dist = d.min(1).values.clamp_min(0).numpy().reshape(ha, wa) / pa.shape[1]
    return NNF(nnf, dist, [float(dist.mean())])


def reconstruct_from_nnf(b: torch.Tensor | np.ndarray, nnf: NNF | np.ndarray, patch_size: int = 7) -> np.ndarray:
    """Rebuild A from B's patches: every pixel averages what all overlapping matched patches put there.

    Returns an (H_a, W_a, C) array. With the exact field of A = B this returns B itself.
    """
    b_img = _as_hwc(b, "b")
    field_ = nnf.field if isinstance(nnf, NNF) else nnf
    ha, wa = field_.shape[:2]
    ys, xs = np.mgrid[0:ha, 0:wa]
    return _vote(b_img, field_, (0, 0), ys.ravel(), xs.ravel(), patch_size).reshape(ha, wa, -1)


def _vote(b_img: np.ndarray, field_: np.ndarray, origin: tuple[int, int], ys: np.ndarray, xs: np.ndarray,
          patch_size: int) -> np.ndarray:
    """Values at pixels (ys, xs) (image coordinates) voted by the patches of ``field_``.

    ``field_`` covers targets from ``origin`` (top, left) on; a pixel x receives, from each target
    patch centred at c = x - o that lies in the field, the pixel ``b[field(c) + o]``.
    """
    r = patch_size // 2
    hf, wf = field_.shape[:2]
    hb, wb = b_img.shape[:2]
    total = np.zeros((ys.size, b_img.shape[-1]), np.float64)
    count = np.zeros(ys.size, np.float64)
    for oy in range(-r, r + 1):
        for ox in range(-r, r + 1):
            cy, cx = ys - oy - origin[0], xs - ox - origin[1]
            ok = (cy >= 0) & (cy < hf) & (cx >= 0) & (cx < wf)
            src = field_[cy[ok], cx[ok]] + (oy, ox)
            sy, sx = np.clip(src[:, 0], 0, hb - 1), np.clip(src[:, 1], 0, wb - 1)
            total[ok] += b_img[sy, sx]
            count[ok] += 1
    return (total / np.maximum(count, 1)[:, None]).astype(np.float32)


# ----------------------------------------------------------------------------- inpainting
def _downsample(img: np.ndarray, known: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half-size image (averaging known pixels only) and hole (a coarse pixel is a hole if any fine one is)."""
    h, w = hole.shape
    size = ((h + 1) // 2, (w + 1) // 2)
    t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None]
    k = torch.from_numpy(known.astype(np.float32))[None, None]
    num = F.adaptive_avg_pool2d(t * k, size)
    den = F.adaptive_avg_pool2d(k, size)
    small = (num / den.clamp_min(1e-8))[0].permute(1, 2, 0).numpy()
    small_hole = F.adaptive_max_pool2d(torch.from_numpy(hole.astype(np.float32))[None, None], size)[0, 0].numpy() > 0
    return np.ascontiguousarray(small), small_hole


def _smooth_fill(img: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Fill the hole by normalised Gaussian convolution of the known pixels (a smooth first guess)."""
    known = (~hole).astype(np.float32)
    extent = max(np.ptp(np.nonzero(hole)[0]) + 1, np.ptp(np.nonzero(hole)[1]) + 1)
    sigma = max(extent / 2.0, 1.0)
    num = np.stack([ndimage.gaussian_filter(img[..., c] * known, sigma, mode="nearest") for c in range(img.shape[-1])], -1)
    den = ndimage.gaussian_filter(known, sigma, mode="nearest")[..., None]
    out = img.copy()
    out[hole] = (num / np.maximum(den, 1e-8))[hole]
    return out


@dataclass
class _Level:
    image: np.ndarray
    hole: np.ndarray


def _active_box(hole: np.ndarray, r: int) -> tuple[int, int, int, int]:
    """Bounding box (top, left, bottom, right exclusive) of the centres whose patch overlaps the hole."""
    ys, xs = np.nonzero(hole)
    h, w = hole.shape
    return max(ys.min() - r, 0), max(xs.min() - r, 0), min(ys.max() + r + 1, h), min(xs.max() + r + 1, w)


def _upsample_field(field_: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Coarse full-image field -> fine one: a fine pixel inherits its parent's match, doubled."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w]
    parent = field_[np.minimum(ys // 2, field_.shape[0] - 1), np.minimum(xs // 2, field_.shape[1] - 1)]
    fine = parent * 2 + np.stack([ys % 2, xs % 2], -1)
    fine[..., 0] = np.clip(fine[..., 0], 0, h - 1)
    fine[..., 1] = np.clip(fine[..., 1], 0, w - 1)
    return fine


def _inpaint_one(img: np.ndarray, hole: np.ndarray, patch_size: int, levels: int | None, em_iterations: int,
                 pm_iterations: int, rng: np.random.Generator) -> np.ndarray:
    r = patch_size // 2
    pyramid = [_Level(img, hole)]
    while True:
        coarsest = pyramid[-1]
        ys, xs = np.nonzero(coarsest.hole)
        extent = max(np.ptp(ys), np.ptp(xs)) + 1
        if min(coarsest.hole.shape) // 2 < 3 * patch_size:  # a smaller level would hold too few patches
            break
        if (levels is None and extent <= patch_size) or (levels is not None and len(pyramid) >= levels):
            break
        pyramid.append(_Level(*_downsample(coarsest.image, ~coarsest.hole, coarsest.hole)))
    field_: np.ndarray | None = None
    estimate = _smooth_fill(pyramid[-1].image, pyramid[-1].hole)
    for depth in range(len(pyramid) - 1, -1, -1):
        level = pyramid[depth]
        hole_l = level.hole
        valid = valid_sources(hole_l, patch_size)
        if not valid.any():
            raise ValueError(f"the hole leaves no {patch_size}x{patch_size} patch of known pixels to copy "
                             "from: use a smaller patch_size or a smaller hole")
        ys, xs = np.nonzero(hole_l)
        top, left, bottom, right = _active_box(hole_l, r)
        if field_ is not None:  # finer level: initialise from the coarse field and vote once
            field_ = _upsample_field(field_, hole_l.shape)
            # a parent's match may reach into the (finer) hole: give those pixels a random valid match,
            # so that no vote ever copies a hole pixel
            bad = ~valid[field_[..., 0], field_[..., 1]]
            choices = np.argwhere(valid)
            field_[bad] = choices[rng.integers(0, len(choices), size=int(bad.sum()))]
            estimate = level.image.copy()
            estimate[ys, xs] = _vote(level.image, field_[top:bottom, left:right], (top, left), ys, xs, patch_size)
        else:
            field_ = np.zeros((*hole_l.shape, 2), np.int64)
            field_[..., 0], field_[..., 1] = np.mgrid[0:hole_l.shape[0], 0:hole_l.shape[1]]
            field_[top:bottom, left:right] = -1  # no guess yet: random initialisation below
        for _ in range(em_iterations):
            patches = patch_vectors(estimate, patch_size)
            matcher = _Matcher(patches[top:bottom, left:right], patches, valid, rng)
            init = field_[top:bottom, left:right]
            nnf = matcher.run(None if (init < 0).any() else init, pm_iterations)
            field_[top:bottom, left:right] = nnf.field
            estimate[ys, xs] = _vote(estimate, nnf.field, (top, left), ys, xs, patch_size)
    return estimate


def inpaint_patchmatch(image: torch.Tensor, mask: torch.Tensor, patch_size: int = 7, levels: int | None = None,
                       em_iterations: int = 4, pm_iterations: int = 3, seed: int = 0) -> torch.Tensor:
    """Fill the hole with patches copied from the rest of the image (PatchMatch, coarse to fine).

    Args:
        image: (C, H, W) or (N, C, H, W) float, any value range.
        mask: (1, H, W) or (N, 1, H, W), 1 = hole. No hole: the image is returned unchanged.
        patch_size: odd patch side (7 as in Barnes et al.).
        levels: pyramid levels; default: halve until the hole is about one patch wide.
        em_iterations: NNF + vote rounds per level; pm_iterations: PatchMatch passes per round.
        seed: seed of PatchMatch's random choices.

    Returns:
        The completed image(s), same shape; known pixels are unchanged.
    """
    images, masks, batched = check_image_mask(image, mask)
    _check_patch(patch_size, tuple(images.shape[-2:]))
    if levels is not None and (not isinstance(levels, int) or levels < 1):
        raise ValueError(f"levels must be None or an int >= 1, got {levels!r}")
    rng = np.random.default_rng(seed)
    out = images.clone()
    for i in range(images.shape[0]):
        hole = masks[i, 0].detach().cpu().numpy() > 0.5
        if not hole.any():
            continue
        img = _as_hwc(images[i], "image")
        filled = _inpaint_one(img, hole, patch_size, levels, em_iterations, pm_iterations, rng)
        out[i] = torch.from_numpy(filled).permute(2, 0, 1).to(out)
    out = composite(images, masks, out)
    return out if batched else out[0]
