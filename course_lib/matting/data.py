"""Matting data without downloads: procedural foregrounds with exact alpha over bundled photos, and the logo.

Real matting ground truth is expensive (Composition-1k's 431 training foregrounds were pulled by
hand in front of simple backgrounds, then composited over COCO photos: Xu et al. 2017, Sec. 3).
The course does the same with foregrounds it *renders*, so their alpha is exact:

* a **body**: a union of ellipses with a one-pixel anti-aliased edge (a hard but sub-pixel edge);
* **hair-like strands**: thin curves (0.5-1.5 px wide) growing out of the body, each partly
  transparent, exactly the structures that a trimap band cannot describe;
* a **semi-transparent veil**: a soft-edged region of constant partial opacity (glass, smoke, tulle);
* **motion blur** (sometimes): the whole layer smeared along a line, which turns hard edges into
  wide ramps of partial alpha.

Layers are stacked with the *over* operator on premultiplied colours and the blur is applied to
premultiplied colour and alpha (see :mod:`course_lib.matting.compositing`), so F and alpha stay
consistent. The background is a random crop of a bundled photograph (``PhotoCrops``) or, for the
ID-photo application, a solid colour. Items carry everything a matting method and its losses
need: ``image``, ``alpha``, ``fg``, ``bg``, ``trimap``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from scipy import ndimage

from course_lib.data.photos import (
    SCENE_PHOTOS,
    center_crop_resize,
    load_logo,
    random_photo_crop,
)
from course_lib.data.procedural import ProceduralDataset
from course_lib.matting.trimap import make_trimap

Item = dict[str, torch.Tensor]

#: classic ID-photo background colours (RGB in [0, 1])
ID_PHOTO_COLOURS = {"blue": (0.26, 0.55, 0.87), "red": (0.82, 0.11, 0.13), "white": (1.0, 1.0, 1.0)}


# ----------------------------------------------------------------------------- rasterisers
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5  # pixel centres
    return xx, yy


def ellipse_coverage(size: int, cx: float, cy: float, rx: float, ry: float, angle: float,
                     softness: float = 1.0) -> np.ndarray:
    """(size, size) coverage in [0, 1] of a rotated ellipse, edge ramp ``softness`` pixels wide."""
    xx, yy = _grid(size)
    c, s = math.cos(angle), math.sin(angle)
    u = ((xx - cx) * c + (yy - cy) * s) / rx
    v = (-(xx - cx) * s + (yy - cy) * c) / ry
    r = np.sqrt(u * u + v * v)
    # Signed distance to the boundary, approximately, in pixels (exact for circles).
    dist = (1.0 - r) * min(rx, ry)
    return np.clip(dist / max(softness, 1e-6) + 0.5, 0.0, 1.0)


def polyline_coverage(size: int, points: np.ndarray, width: float) -> np.ndarray:
    """(size, size) coverage of a polyline ``points`` (K, 2) (x, y) drawn ``width`` pixels wide.

    The coverage of a pixel is the overlap of the stroke's cross-section with the pixel (a
    one-pixel box filter across the stroke): strands thinner than a pixel come out as partial alpha.
    """
    xx, yy = _grid(size)
    lo = np.floor(points.min(0) - width - 1).astype(int).clip(0, size)
    hi = np.ceil(points.max(0) + width + 2).astype(int).clip(0, size)
    out = np.zeros((size, size))
    if lo[0] >= hi[0] or lo[1] >= hi[1]:
        return out
    px = xx[lo[1]:hi[1], lo[0]:hi[0]][..., None]
    py = yy[lo[1]:hi[1], lo[0]:hi[0]][..., None]
    a, b = points[:-1], points[1:]
    d = b - a
    length2 = np.maximum((d * d).sum(1), 1e-12)
    t = np.clip(((px - a[:, 0]) * d[:, 0] + (py - a[:, 1]) * d[:, 1]) / length2, 0.0, 1.0)
    dx = px - (a[:, 0] + t * d[:, 0])
    dy = py - (a[:, 1] + t * d[:, 1])
    dist = np.sqrt(dx * dx + dy * dy).min(-1)
    # Coverage across the stroke: the overlap of [d - w/2, d + w/2] with the pixel's [-1/2, 1/2]
    # (a one-pixel box filter). Summed over a column of pixels it gives exactly the width w.
    cov = np.clip(np.minimum(0.5, dist + width / 2) - np.maximum(-0.5, dist - width / 2), 0.0, 1.0)
    out[lo[1]:hi[1], lo[0]:hi[0]] = cov
    return out


def motion_blur_kernel(length: float, angle: float) -> np.ndarray:
    """Normalised line kernel (an anti-aliased segment ``length`` pixels long) for motion blur."""
    half = int(math.ceil(length / 2)) + 1
    size = 2 * half + 1
    dx, dy = math.cos(angle) * length / 2, math.sin(angle) * length / 2
    pts = np.array([[half + 0.5 - dx, half + 0.5 - dy], [half + 0.5 + dx, half + 0.5 + dy]])
    k = polyline_coverage(size, pts, 1.0)
    return k / k.sum()


def _over(top_col: np.ndarray, top_a: np.ndarray, pre: np.ndarray, acc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Porter-Duff *over* on premultiplied colours: layer (straight colour, alpha) over (pre, acc)."""
    return top_col * top_a + (1 - top_a) * pre, top_a + (1 - top_a) * acc


def _colour_field(size: int, rng: np.random.Generator, base: np.ndarray, amount: float = 0.25) -> np.ndarray:
    """(3, size, size) smooth colour: ``base`` plus a random linear ramp and soft blotches."""
    xx, yy = _grid(size)
    ramp = (rng.uniform(-1, 1, (3, 1, 1)) * (xx / size - 0.5) + rng.uniform(-1, 1, (3, 1, 1)) * (yy / size - 0.5))
    blotch = ndimage.gaussian_filter(rng.normal(0, 1, (3, size, size)), sigma=(0, size / 10, size / 10))
    blotch /= max(np.abs(blotch).max(), 1e-6)
    return np.clip(base[:, None, None] + amount * ramp + 0.5 * amount * blotch, 0.0, 1.0)


# ----------------------------------------------------------------------------- foregrounds
def render_foreground(size: int, rng: np.random.Generator, strands: tuple[int, int] = (6, 16),
                      veil_p: float = 0.6, blur_p: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """One random foreground layer: ``(F (3, S, S) straight colours, alpha (S, S))`` in [0, 1].

    See the module docstring for the ingredients; ``strands`` is the range of the number of
    strands, ``veil_p`` / ``blur_p`` the probabilities of a veil and of motion blur.
    """
    s = size
    body_col = rng.uniform(0.15, 0.95, 3)
    hair_col = np.clip(body_col * rng.uniform(0.3, 0.9) + rng.uniform(-0.1, 0.2, 3), 0, 1)
    pre = np.zeros((3, s, s))
    acc = np.zeros((s, s))

    # Veil: a large soft ellipse with constant partial opacity, at the bottom of the stack.
    if rng.random() < veil_p:
        opacity = rng.uniform(0.25, 0.7)  # the draws in this order (the generated data depend on it)
        (vx, vy), (vrx, vry) = rng.uniform(0.3, 0.7, 2) * s, rng.uniform(0.2, 0.38, 2) * s
        veil_a = opacity * ellipse_coverage(s, vx, vy, vrx, vry, rng.uniform(0, math.pi),
                                            softness=rng.uniform(1.5, 4.0))
        veil_col = _colour_field(s, rng, rng.uniform(0.3, 1.0, 3), 0.15)
        pre, acc = _over(veil_col, veil_a, pre, acc)

    # Body: a union of ellipses with a one-pixel anti-aliased edge.
    cx, cy = rng.uniform(0.38, 0.62, 2) * s
    body = np.zeros((s, s))
    for k in range(int(rng.integers(1, 4))):
        ox, oy = (rng.uniform(-0.12, 0.12, 2) * s) if k else (0.0, 0.0)
        rx, ry = rng.uniform(0.1, 0.22, 2) * s
        cov = ellipse_coverage(s, cx + ox, cy + oy, rx, ry, rng.uniform(0, math.pi), 1.0)
        body = np.maximum(body, cov)
    body_field = _colour_field(s, rng, body_col)
    pre, acc = _over(body_field, body, pre, acc)

    # Strands: smooth random curves rooted on the body's boundary, growing outward.
    hair = np.zeros((s, s))
    hair_pre = np.zeros((3, s, s))
    for _ in range(int(rng.integers(strands[0], strands[1] + 1))):
        theta = rng.uniform(0, 2 * math.pi)
        # Walk outward from the centre until we leave the body: that is the root.
        r = 0.0
        while r < s:
            px = min(max(int(cx + r * math.cos(theta)), 0), s - 1)
            py = min(max(int(cy + r * math.sin(theta)), 0), s - 1)
            if body[py, px] <= 0.5:
                break
            r += 0.5
        root = np.array([cx + (r - 1.5) * math.cos(theta), cy + (r - 1.5) * math.sin(theta)])
        length = rng.uniform(0.12, 0.32) * s
        n = 16
        heading = theta + rng.normal(0, 0.35)
        bend = rng.normal(0, 0.08)
        pts = [root]
        for _k in range(n):
            heading += bend + rng.normal(0, 0.05)
            pts.append(pts[-1] + length / n * np.array([math.cos(heading), math.sin(heading)]))
        cov = polyline_coverage(s, np.array(pts), rng.uniform(0.5, 1.5)) * rng.uniform(0.55, 1.0)
        col = np.clip(hair_col + rng.normal(0, 0.06, 3), 0, 1)[:, None, None]
        hair_pre, hair = _over(col * np.ones((1, s, s)), cov, hair_pre, hair)
    # The strands layer (premultiplied hair_pre, alpha hair) goes over body and veil.
    pre = hair_pre + (1 - hair) * pre
    acc = hair + (1 - hair) * acc

    # Motion blur acts on premultiplied colour and alpha alike (blurring straight colours is wrong).
    if rng.random() < blur_p:
        kernel = motion_blur_kernel(rng.uniform(3, 0.12 * s + 3), rng.uniform(0, math.pi))
        pre = np.stack([ndimage.convolve(c, kernel, mode="constant") for c in pre])
        acc = ndimage.convolve(acc, kernel, mode="constant")

    acc = np.clip(acc, 0.0, 1.0)
    # Straight colour where the layer exists; elsewhere the body's colour field (any colour is
    # valid where alpha = 0, but a smooth one keeps the compositional loss well behaved).
    fg = np.where(acc > 1e-4, pre / np.maximum(acc, 1e-4), body_field)
    return np.clip(fg, 0.0, 1.0).astype(np.float32), acc.astype(np.float32)


def photo_crop(size: int, rng: np.random.Generator, scale: tuple[float, float] = (0.3, 0.8)) -> torch.Tensor:
    """A random crop of a bundled scene photo as a background: (3, size, size) in [0, 1]."""
    return random_photo_crop(size, rng, SCENE_PHOTOS, scale)


class MattingComposites(ProceduralDataset):
    """Procedural foregrounds with exact alpha composited over bundled photos (or a solid colour).

    Args:
        length, seed: see :class:`~course_lib.data.ProceduralDataset` (held-out data: another seed).
        size: image side in pixels.
        radius: trimap erosion radius in pixels, an int or a ``(low, high)`` range drawn per item.
        background: ``"photo"`` (random crops of the bundled photos) or the name of an ID-photo
            colour in :data:`ID_PHOTO_COLOURS` (``"blue"``, ``"red"``, ``"white"``).
        plain_p: with ``background="photo"``, the probability that an item gets a plain backdrop
            of a random colour instead (studio portraits, ID photos), so that a model trained on
            the set has seen uniform backgrounds too.
        augment: re-draw the trimap radius from ``radius`` and flip left-right with torch's RNG
            at every access (training); otherwise items are fixed.
        cache: keep rendered items in memory (they are deterministic), so epochs cost nothing.
        strands, veil_p, blur_p: see :func:`render_foreground`.

    Items: ``{"image": (3, S, S), "fg": (3, S, S), "bg": (3, S, S), "alpha": (1, S, S),
    "trimap": (1, S, S)}``, all float in [0, 1]; the trimap has values 0 / 0.5 / 1 and
    ``image = alpha * fg + (1 - alpha) * bg`` exactly.
    """

    def __init__(self, length: int = 1000, size: int = 64, seed: int = 0,
                 radius: int | tuple[int, int] = (2, 6), background: str = "photo", augment: bool = False,
                 cache: bool = True, strands: tuple[int, int] = (6, 16), veil_p: float = 0.6,
                 blur_p: float = 0.3, plain_p: float = 0.0) -> None:
        super().__init__(length, seed)
        if not isinstance(size, int) or size < 16:
            raise ValueError(f"size must be an int >= 16 pixels, got {size!r}")
        lo, hi = (radius, radius) if isinstance(radius, int) else tuple(radius)
        if not 0 <= lo <= hi:
            raise ValueError(f"radius must be an int >= 0 or a range (low, high) with 0 <= low <= high, got {radius!r}")
        if background != "photo" and background not in ID_PHOTO_COLOURS:
            raise ValueError(f"background must be 'photo' or one of {sorted(ID_PHOTO_COLOURS)}, got {background!r}")
        if not 0.0 <= plain_p <= 1.0:
            raise ValueError(f"plain_p is a probability in [0, 1], got {plain_p!r}")
        self.size, self.radius, self.background, self.plain_p = size, (int(lo), int(hi)), background, plain_p
        self.augment, self.cache = augment, cache
        self.strands, self.veil_p, self.blur_p = strands, veil_p, blur_p
        self._items: dict[int, Item] = {}

    def generate(self, index: int, rng: np.random.Generator) -> Item:
        if self.cache and index in self._items:
            item = self._items[index]
        else:
            fg, alpha = render_foreground(self.size, rng, self.strands, self.veil_p, self.blur_p)
            if self.background == "photo" and self.plain_p > 0 and rng.random() < self.plain_p:
                bg = torch.from_numpy(rng.uniform(0.05, 1.0, 3)).float().view(3, 1, 1).expand(3, self.size, self.size)
            elif self.background == "photo":
                bg = photo_crop(self.size, rng)
            else:
                bg = torch.tensor(ID_PHOTO_COLOURS[self.background]).view(3, 1, 1).expand(3, self.size, self.size)
            fg_t, a_t = torch.from_numpy(fg), torch.from_numpy(alpha)[None]
            bg = bg.float().contiguous()
            item = {"image": (a_t * fg_t + (1 - a_t) * bg).clamp(0, 1), "fg": fg_t, "bg": bg, "alpha": a_t,
                    "radius": torch.tensor(int(rng.integers(self.radius[0], self.radius[1] + 1)))}
            if self.cache:
                self._items[index] = item
        out = {k: v for k, v in item.items() if k != "radius"}
        radius = int(item["radius"])
        if self.augment:
            radius = int(torch.randint(self.radius[0], self.radius[1] + 1, ()))
            if bool(torch.rand(()) < 0.5):
                out = {k: v.flip(-1) for k, v in out.items()}
        out["trimap"] = make_trimap(out["alpha"], radius)
        return out


def collate(items: list[Item]) -> Item:
    """Stack a list of items into a batch (``torch.utils.data.default_collate``)."""
    return torch.utils.data.default_collate(items)


# ----------------------------------------------------------------------------- the logo
def logo_example(size: int = 96, radius: int = 3) -> dict[str, Any]:
    """scikit-image's logo as a *real* matting example, with a trimap from a coarse user mask.

    The logo's alpha channel is fully opaque in scikit-image 0.26 (every value is 255), so it
    is not a matte. What is real is the picture itself: a coloured disk drawn, with anti-aliased
    edges, on a white page. It is exactly the situation of a photo on a plain background: the
    disk's rim mixes the disk's colours with white, and nobody knows the true alpha. We give it a
    trimap the way a user would: a circle fitted to the non-white pixels (the coarse
    segmentation), eroded and dilated by ``radius`` pixels.

    Returns ``{"image": (3, S, S), "trimap": (1, S, S), "mask": (1, S, S) the coarse circle,
    "opaque_alpha_channel": bool}``, image in [0, 1], downscaled to ``size`` (closed-form matting
    needs a small image).
    """
    rgb, alpha_channel = load_logo()
    h, w = rgb.shape[-2:]
    non_white = (rgb.min(0).values < 0.94).numpy()
    ys, xs = np.nonzero(non_white)
    # The disk touches the bounding box of the non-white pixels on all four sides.
    cx, cy = (xs.min() + xs.max() + 1) / 2, (ys.min() + ys.max() + 1) / 2
    r = ((xs.max() - xs.min() + 1) + (ys.max() - ys.min() + 1)) / 4
    image = center_crop_resize(rgb, size)
    scale = size / min(h, w)
    xx, yy = _grid(size)
    inside = ((xx - cx * scale) ** 2 + (yy - cy * scale) ** 2) <= (r * scale) ** 2
    mask = torch.from_numpy(inside.astype(np.float32))[None]
    return {"image": image, "trimap": make_trimap(mask, radius), "mask": mask,
            "opaque_alpha_channel": bool((alpha_channel == 1).all())}
