"""Procedural *unpaired* domains whose hidden pairing the course can use to measure translations.

Real unpaired data sets (horse2zebra, summer2winter_yosemite, monet2photo) have no ground truth:
nobody can photograph the zebra that a given horse "should" become, so the CycleGAN paper judged
those results by eye and by user studies. The domains here are rendered from a *shared* layout
generator: training sees unrelated samples of the two domains (unpaired, like the real sets),
while held-out evaluation can render the same layout in both domains and compare a translation
with its true counterpart.

* :class:`SeasonScenes`: landscapes in summer (A) and winter (B), for CycleGAN. Summer has
  flowers in the grass that snow hides in winter, so the winter -> summer direction must invent
  information, and a cycle summer -> winter -> summer can only return the flowers if the winter
  image secretly carries them (the "steganography" failure, Chu et al. 2017).
* :class:`ShapesToTextures`: outline drawings (A) and textured, coloured objects (B), for MUNIT.
  The texture and colour of an object are free choices, so one outline has many correct
  translations: diversity is real and measurable.

Items are dicts of (3, size, size) float tensors in [-1, 1]; with ``paired=True`` the two domains
show the same layout and masks come along for evaluation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from course_lib.data.procedural import ProceduralDataset

# --------------------------------------------------------------------------- rendering helpers
_SUPERSAMPLE = 2  # render at twice the size, then average 2x2 blocks: anti-aliased edges


def _grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, n) x and y coordinates in [0, 1] at pixel centres."""
    c = (np.arange(n, dtype=np.float32) + 0.5) / n
    return np.meshgrid(c, c)


def _downsample(img: np.ndarray, factor: int) -> np.ndarray:
    """(C, n*f, n*f) -> (C, n, n) by averaging f x f blocks."""
    c, h, w = img.shape
    return img.reshape(c, h // factor, factor, w // factor, factor).mean(axis=(2, 4))


def _paint(canvas: np.ndarray, mask: np.ndarray, colour: Any) -> None:
    """In place: ``canvas = mask * colour + (1 - mask) * canvas`` (colour (3,) or (3, n, n))."""
    colour = np.asarray(colour, dtype=np.float32)
    if colour.ndim == 1:
        colour = colour[:, None, None]
    canvas *= 1 - mask[None]
    canvas += mask[None] * colour


def _to_tensor(img: np.ndarray) -> torch.Tensor:
    """(3, n, n) float in [0, 1] -> tensor in [-1, 1]."""
    return torch.from_numpy(np.clip(img, 0.0, 1.0).astype(np.float32) * 2 - 1)


def _check_size(size: int, minimum: int) -> None:
    if not isinstance(size, int) or size < minimum:
        raise ValueError(f"size must be an int of at least {minimum} pixels, got {size!r}")


# --------------------------------------------------------------------------- season scenes
class SeasonScenes(ProceduralDataset):
    """Landscapes rendered in summer (domain A) and in winter (domain B) from one layout.

    A layout is: a rolling horizon, a mountain ridge behind it, the sun, 2-4 trees (a trunk and a
    round or pointed crown) and 5-12 flowers in the grass. Summer paints it green and blue with
    coloured flowers; winter paints the same geometry snowy (white ground, snow on the upper half
    of each crown, a grey sky, white ridges) and the snow covers the flowers. Every difference
    between the domains is a change of colour in place (no geometry moves), except the flowers,
    which exist only in summer.

    Args:
        length: number of items.
        size: image side in pixels (>= 8).
        seed: selects the data set; held-out data = another seed.
        paired: ``False`` (training): item ``i`` is ``{"A": summer(L), "B": winter(L')}`` with
            *independent* layouts L, L' (unpaired). ``True`` (evaluation): ``{"A": summer(L),
            "B": winter(L), "flowers": (1, size, size) mask}``, the true counterparts.
    """

    def __init__(self, length: int = 1000, size: int = 32, seed: int = 0, paired: bool = False) -> None:
        super().__init__(length, seed)
        _check_size(size, 8)
        self.size, self.paired = size, paired

    # The layout: geometry and per-scene colours, drawn from ``rng``.
    @staticmethod
    def layout(rng: np.random.Generator) -> dict[str, Any]:
        n_trees = int(rng.integers(2, 5))
        n_flowers = int(rng.integers(5, 13))
        return {
            "horizon": rng.uniform(0.5, 0.65),
            "hills": (rng.uniform(0.02, 0.06), rng.uniform(1.0, 3.0), rng.uniform(0, 2 * np.pi)),
            "ridge": (rng.uniform(0.25, 0.4), rng.uniform(0.04, 0.1), rng.uniform(2.0, 5.0), rng.uniform(0, 2 * np.pi)),
            "sun": (rng.uniform(0.1, 0.9), rng.uniform(0.08, 0.25), rng.uniform(0.05, 0.09)),
            "trees": [(rng.uniform(0.08, 0.92), rng.uniform(0.1, 0.17), rng.uniform(0.12, 0.25),
                       bool(rng.integers(2))) for _ in range(n_trees)],
            "flowers": [(rng.uniform(0.03, 0.97), rng.uniform(0.05, 1.0), int(rng.integers(3)))
                        for _ in range(n_flowers)],
            "light": rng.uniform(0.85, 1.1),
        }

    def render(self, layout: dict[str, Any], season: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Render ``layout`` as ``"summer"`` or ``"winter"``: image (3, S, S) in [-1, 1] and flower mask (1, S, S)."""
        if season not in ("summer", "winter"):
            raise ValueError(f"season must be 'summer' or 'winter', got {season!r}")
        n = self.size * _SUPERSAMPLE
        x, y = _grid(n)
        summer = season == "summer"
        img = np.empty((3, n, n), np.float32)
        # Sky: a vertical gradient.
        top, bottom = (np.array([0.25, 0.5, 0.95]), np.array([0.65, 0.85, 1.0])) if summer else \
            (np.array([0.55, 0.58, 0.65]), np.array([0.8, 0.82, 0.86]))
        img[:] = top[:, None, None] + (bottom - top)[:, None, None] * y[None]
        sx, sy, sr = layout["sun"]
        sun = (np.hypot(x - sx, y - sy) < sr).astype(np.float32)
        _paint(img, sun, (1.0, 0.9, 0.3) if summer else (0.95, 0.95, 0.9))
        # Mountain ridge behind the hills.
        base, amp, freq, phase = layout["ridge"]
        ridge_line = base + amp * np.sin(freq * 2 * np.pi * x + phase) + 0.5 * amp * np.sin(2.3 * freq * 2 * np.pi * x)
        ridge = (y > ridge_line).astype(np.float32)
        _paint(img, ridge, (0.35, 0.45, 0.6) if summer else (0.93, 0.95, 1.0))
        # Ground below a rolling horizon, with a little shading towards the bottom.
        h_amp, h_freq, h_phase = layout["hills"]
        horizon = layout["horizon"] + h_amp * np.sin(h_freq * 2 * np.pi * x + h_phase)
        ground = (y > horizon).astype(np.float32)
        depth = np.clip((y - horizon) / (1 - horizon + 1e-6), 0, 1)
        if summer:
            colour = np.stack([0.3 - 0.1 * depth, 0.7 - 0.2 * depth, 0.25 - 0.1 * depth])
        else:
            colour = np.stack([0.97 - 0.1 * depth, 0.97 - 0.08 * depth, 1.0 - 0.03 * depth])
        _paint(img, ground, colour)
        # Flowers: small dots in the grass, hidden by snow in winter.
        flowers = np.zeros((n, n), np.float32)
        palette = [(0.95, 0.2, 0.2), (1.0, 0.9, 0.2), (0.95, 0.5, 0.9)]
        radius = max(0.022, 0.7 / self.size)
        for fx, fdepth, kind in layout["flowers"]:
            h = layout["horizon"] + h_amp * np.sin(h_freq * 2 * np.pi * fx + h_phase)
            fy = h + radius + fdepth * (1 - h - 2 * radius)
            dot = (np.hypot(x - fx, y - fy) < radius).astype(np.float32)
            flowers = np.maximum(flowers, dot)
            if summer:
                _paint(img, dot, palette[kind])
        # Trees: a trunk and a crown; in winter the upper half of the crown is white with snow.
        for tx, width, height, pointed in layout["trees"]:
            h = layout["horizon"] + h_amp * np.sin(h_freq * 2 * np.pi * tx + h_phase)
            foot = h + 0.04
            trunk = ((np.abs(x - tx) < width * 0.15) & (y < foot) & (y > foot - height)).astype(np.float32)
            _paint(img, trunk, (0.4, 0.25, 0.1) if summer else (0.3, 0.2, 0.12))
            cy = foot - height
            if pointed:  # a conifer: a triangle
                crown = ((y > cy - height * 0.6) & (y < cy + height * 0.4)
                         & (np.abs(x - tx) < (y - (cy - height * 0.6)) * width / height)).astype(np.float32)
            else:  # a broadleaf tree: an ellipse
                crown = (((x - tx) / width) ** 2 + ((y - cy) / (height * 0.5)) ** 2 < 1).astype(np.float32)
            _paint(img, crown, (0.1, 0.45, 0.15))
            if not summer:
                _paint(img, crown * (y < cy).astype(np.float32), (0.95, 0.97, 1.0))
            flowers *= 1 - np.maximum(crown, trunk)
        img *= layout["light"]
        image = _to_tensor(_downsample(img, _SUPERSAMPLE))
        mask = torch.from_numpy((_downsample(flowers[None], _SUPERSAMPLE) > 0.25).astype(np.float32))
        return image, mask

    def generate(self, index: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        layout = self.layout(rng)
        summer, flowers = self.render(layout, "summer")
        if self.paired:
            winter, _ = self.render(layout, "winter")
            return {"A": summer, "B": winter, "flowers": flowers}
        other = self.layout(np.random.default_rng([self.seed, index, 1]))
        winter, _ = self.render(other, "winter")
        return {"A": summer, "B": winter}

    def pairs(self, n: int | None = None) -> dict[str, torch.Tensor]:
        """The first ``n`` items stacked: ``{"A": (n, 3, S, S), "B": ..., "flowers": (n, 1, S, S)}``.

        Only for ``paired=True`` data sets (held-out evaluation with true counterparts).
        """
        if not self.paired:
            raise ValueError("pairs() needs true counterparts: build the data set with paired=True")
        n = len(self) if n is None else min(n, len(self))
        return torch.utils.data.default_collate([self[i] for i in range(n)])


# --------------------------------------------------------------------------- outlines -> textured objects
SHAPES = ("disk", "square", "triangle", "cross")
TEXTURES = ("solid", "stripes", "checker", "dots")
#: background of domain B in [0, 1]; objects never use colours this dark, so a pixel far from it
#: belongs to the object (see :func:`foreground_mask`)
B_BACKGROUND = (0.12, 0.12, 0.14)


def _shape_mask(x: np.ndarray, y: np.ndarray, kind: str, cx: float, cy: float, r: float, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    u, v = (x - cx) * c + (y - cy) * s, -(x - cx) * s + (y - cy) * c
    if kind == "disk":
        inside = u**2 + v**2 < r**2
    elif kind == "square":
        inside = (np.abs(u) < 0.8 * r) & (np.abs(v) < 0.8 * r)
    elif kind == "cross":
        inside = ((np.abs(u) < 0.3 * r) & (np.abs(v) < 1.05 * r)) | ((np.abs(v) < 0.3 * r) & (np.abs(u) < 1.05 * r))
    elif kind == "triangle":  # pointing up in its own frame
        inside = (v < 0.6 * r) & (v > -r + 1.7 * np.abs(u))
    else:
        raise ValueError(f"unknown shape {kind!r}; choose from {SHAPES}")
    return inside.astype(np.float32)


def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return np.array([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i], np.float32)


class ShapesToTextures(ProceduralDataset):
    """Outline drawings (domain A) and textured, coloured objects (domain B) of the same shapes.

    The *content* of an item is a shape (disk, square, triangle or cross), its position, size and
    rotation. Domain A draws it as a sketch: a dark outline with a light grey fill on paper (like a
    simpler edges2shoes). Domain B fills it with a *style*: a texture (solid, stripes, checker, dots), a
    main hue and a second colour, on a dark background. The style is independent of the content,
    so the A -> B translation is one-to-many: the situation MUNIT is built for.

    Args:
        length, size, seed: as for every procedural data set (size >= 16).
        paired: ``False``: ``{"A": outline(c), "B": textured(c', style)}`` with independent
            contents c, c'. ``True``: ``{"A": outline(c), "B": textured(c, style), "mask": (1, S, S)}``.
    """

    def __init__(self, length: int = 1000, size: int = 32, seed: int = 0, paired: bool = False) -> None:
        super().__init__(length, seed)
        _check_size(size, 16)
        self.size, self.paired = size, paired

    @staticmethod
    def content(rng: np.random.Generator) -> dict[str, Any]:
        r = rng.uniform(0.24, 0.34)
        return {"kind": SHAPES[int(rng.integers(len(SHAPES)))], "r": r,
                "cx": rng.uniform(r + 0.04, 0.96 - r), "cy": rng.uniform(r + 0.04, 0.96 - r),
                "angle": rng.uniform(0, np.pi / 2)}

    @staticmethod
    def style(rng: np.random.Generator) -> dict[str, Any]:
        hue = rng.uniform()
        return {"texture": TEXTURES[int(rng.integers(len(TEXTURES)))],
                "colour": _hsv_to_rgb(hue, rng.uniform(0.55, 0.95), rng.uniform(0.75, 1.0)),
                "second": _hsv_to_rgb((hue + rng.uniform(0.3, 0.7)) % 1.0, rng.uniform(0.3, 0.9), rng.uniform(0.7, 1.0)),
                "period": rng.uniform(0.14, 0.22), "phase": rng.uniform(0, 1)}

    def mask(self, content: dict[str, Any]) -> torch.Tensor:
        """(1, S, S) mask of the shape (1 inside)."""
        n = self.size * _SUPERSAMPLE
        x, y = _grid(n)
        m = _shape_mask(x, y, content["kind"], content["cx"], content["cy"], content["r"], content["angle"])
        return torch.from_numpy((_downsample(m[None], _SUPERSAMPLE) > 0.5).astype(np.float32))

    def outline(self, content: dict[str, Any]) -> torch.Tensor:
        """Domain A: the shape drawn in dark ink, filled light grey, on off-white paper, (3, S, S) in [-1, 1]."""
        n = self.size * _SUPERSAMPLE
        x, y = _grid(n)
        m = _shape_mask(x, y, content["kind"], content["cx"], content["cy"], content["r"], content["angle"])
        # The outline: pixels of the mask whose neighbourhood is not all inside (a ~2 px line).
        k = max(1, n // 32)
        padded = np.pad(m, k, mode="constant")
        eroded = np.ones_like(m)
        for dy in (-k, 0, k):
            for dx in (-k, 0, k):
                eroded = np.minimum(eroded, padded[k + dy:k + dy + n, k + dx:k + dx + n])
        line = m - eroded
        img = np.full((3, n, n), 0.96, np.float32)
        _paint(img, eroded, (0.78, 0.78, 0.78))
        _paint(img, line, (0.1, 0.1, 0.1))
        return _to_tensor(_downsample(img, _SUPERSAMPLE))

    def textured(self, content: dict[str, Any], style: dict[str, Any]) -> torch.Tensor:
        """Domain B: the shape filled with ``style``'s texture and colours, (3, S, S) in [-1, 1]."""
        n = self.size * _SUPERSAMPLE
        x, y = _grid(n)
        m = _shape_mask(x, y, content["kind"], content["cx"], content["cy"], content["r"], content["angle"])
        period, phase = style["period"], style["phase"]
        texture = style["texture"]
        if texture == "solid":
            pattern = np.zeros_like(x)
        elif texture == "stripes":
            pattern = (((y / period + phase) % 1.0) < 0.5).astype(np.float32)
        elif texture == "checker":
            pattern = ((np.floor(x / period + phase) + np.floor(y / period + phase)) % 2).astype(np.float32)
        elif texture == "dots":
            u, v = (x / period + phase) % 1.0 - 0.5, (y / period + phase) % 1.0 - 0.5
            pattern = (u**2 + v**2 < 0.09).astype(np.float32)
        else:
            raise ValueError(f"unknown texture {texture!r}; choose from {TEXTURES}")
        fill = style["colour"][:, None, None] * (1 - pattern[None]) + style["second"][:, None, None] * pattern[None]
        shade = 1.0 - 0.25 * np.hypot(x - content["cx"], y - content["cy"]) / content["r"]  # a little volume
        img = np.empty((3, n, n), np.float32)
        img[:] = np.asarray(B_BACKGROUND, np.float32)[:, None, None]
        _paint(img, m, fill * np.clip(shade, 0.6, 1.0)[None])
        return _to_tensor(_downsample(img, _SUPERSAMPLE))

    def generate(self, index: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        content = self.content(rng)
        style = self.style(rng)
        if self.paired:
            return {"A": self.outline(content), "B": self.textured(content, style), "mask": self.mask(content)}
        other = self.content(np.random.default_rng([self.seed, index, 1]))
        return {"A": self.outline(content), "B": self.textured(other, style)}

    def item_content(self, index: int) -> dict[str, Any]:
        """The content (shape, position, size, angle) of item ``index``."""
        return self.content(self.rng(index))

    def item_style(self, index: int) -> dict[str, Any]:
        """The style (texture, colours) of item ``index``'s B image."""
        rng = self.rng(index)
        self.content(rng)  # the content is drawn first from the same generator
        return self.style(rng)

    def true_variations(self, index: int, n: int, seed: int = 0) -> torch.Tensor:
        """``n`` correct B translations of item ``index``'s outline: its shape in ``n`` random styles, (n, 3, S, S)."""
        content = self.item_content(index)
        rng = np.random.default_rng([self.seed, index, 2, seed])
        return torch.stack([self.textured(content, self.style(rng)) for _ in range(n)])

    def pairs(self, n: int | None = None) -> dict[str, torch.Tensor]:
        """The first ``n`` items stacked (``paired=True`` only): ``{"A", "B", "mask"}``."""
        if not self.paired:
            raise ValueError("pairs() needs true counterparts: build the data set with paired=True")
        n = len(self) if n is None else min(n, len(self))
        return torch.utils.data.default_collate([self[i] for i in range(n)])


def foreground_mask(images: torch.Tensor, threshold: float = 0.35) -> torch.Tensor:
    """(N, 3, H, W) domain-B images in [-1, 1] -> (N, 1, H, W) float mask of the object.

    A pixel belongs to the object when its largest channel difference from the dark background
    :data:`B_BACKGROUND` exceeds ``threshold`` (in [-1, 1] units).
    """
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected (N, 3, H, W) images, got {tuple(images.shape)}")
    bg = torch.tensor(B_BACKGROUND, dtype=images.dtype, device=images.device).view(1, 3, 1, 1) * 2 - 1
    return ((images - bg).abs().amax(1, keepdim=True) > threshold).float()


def mask_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Intersection over union of two (N, 1, H, W) binary masks, one value per image, (N,)."""
    if a.shape != b.shape:
        raise ValueError(f"masks differ in shape: {tuple(a.shape)} and {tuple(b.shape)}")
    inter = (a * b).flatten(1).sum(1)
    union = ((a + b) > 0).float().flatten(1).sum(1)
    return inter / union.clamp_min(1)


# --------------------------------------------------------------------------- the CLI's data choice
def unpaired_dataset(data: str | os.PathLike | None, size: int, train: bool = True, paper: bool = False,
                     default: str = "seasons", length: int = 1000) -> tuple[Any, str]:
    """The data set named by the CLI's ``--data`` (see :func:`course_lib.translation.recipes.cyclegan`).

    ``None`` gives ``default`` (``"seasons"`` or ``"shapes"``, procedural); a registry name of an
    unpaired set is downloaded and read with :class:`~course_lib.data.UnpairedFolder`; any other
    string is a folder with ``trainA/`` and ``trainB/``. ``paper=True`` adds the papers' random
    jitter (resize to 286/256 of the size, random crop, mirror) to real data. Returns the data
    set and a one-line description.
    """
    from course_lib.data.download import REGISTRY, download
    from course_lib.data.folders import UnpairedFolder

    name = default if data is None else str(data)
    split = "train" if train else "test"
    if name == "seasons":
        return SeasonScenes(length=length, size=size, seed=0 if train else 1), "procedural summer <-> winter scenes"
    if name == "shapes":
        return ShapesToTextures(length=length, size=size, seed=0 if train else 1), "procedural outlines <-> textured shapes"
    if name in REGISTRY:
        spec = REGISTRY[name]
        if spec.layout != "unpaired":
            # "paired" and "paired-folders" (A/B folders matched by name) are both pix2pix data
            kind = "paired" if spec.layout.startswith("paired") else spec.layout
            raise ValueError(f"{name!r} is a {kind} data set; unpaired training needs one of "
                             f"{sorted(k for k, s in REGISTRY.items() if s.layout == 'unpaired')}")
        root = download(name)
        return UnpairedFolder(root, split, size=size, jitter=paper and train), f"{name} ({spec.description})"
    folder = Path(name).expanduser()
    if not folder.is_dir():
        raise ValueError(
            f"--data {name!r} is neither a procedural data set ('seasons', 'shapes'), nor a registered "
            f"unpaired data set ({', '.join(sorted(k for k, s in REGISTRY.items() if s.layout == 'unpaired'))}), "
            "nor an existing folder with trainA/ and trainB/."
        )
    return UnpairedFolder(folder, split, size=size, jitter=paper and train), f"folder {folder}"
