"""Procedurally generated painterly style images: style transfer without downloading a single painting.

Style transfer needs *style* images: paintings with strong colours, strokes and repeated local
structure. The course cannot ship WikiArt, so it paints its own. Every pattern is a pure function
of ``(kind, size, seed)`` (numpy's ``default_rng``), returned as a (3, size, size) float32 tensor
in **[0, 1]**:

==========  =========================================================================
kind        what it looks like
==========  =========================================================================
strokes     short thick brush strokes that follow a smooth flow field (impressionism)
swirls      noise smeared along a vortex field (line integral convolution): Van Gogh
mosaic      Voronoi tiles with dark grout, like the "mosaic" style of fast style transfer
waves       layered wave bands with light crests (a woodblock print)
dots        pointillist dots of the palette's colours over a smooth colour field
shards      overlapping flat-coloured triangles with dark outlines (cubism)
==========  =========================================================================

Each kind comes with a default palette; ``palette=`` takes another one from :data:`PALETTES`.
:class:`PainterlyStyles` is an endless data set of random patterns (random kind, palette and
seed) for arbitrary-style training (AdaIN); a held-out set of styles is simply another seed.
"""

from __future__ import annotations

import numpy as np
import torch

from course_lib.data.procedural import ProceduralDataset

#: colour palettes (RGB in [0, 1]); each pattern mixes the colours of one palette
PALETTES: dict[str, tuple[tuple[float, float, float], ...]] = {
    "starry": ((0.05, 0.10, 0.35), (0.10, 0.25, 0.60), (0.35, 0.55, 0.85), (0.95, 0.85, 0.30), (0.98, 0.95, 0.70)),
    "sunset": ((0.45, 0.05, 0.15), (0.85, 0.25, 0.10), (0.98, 0.60, 0.15), (0.99, 0.85, 0.45), (0.35, 0.10, 0.40)),
    "forest": ((0.08, 0.20, 0.08), (0.20, 0.45, 0.15), (0.55, 0.65, 0.20), (0.80, 0.70, 0.35), (0.35, 0.25, 0.10)),
    "candy": ((0.95, 0.35, 0.60), (0.30, 0.80, 0.85), (0.98, 0.90, 0.30), (0.55, 0.30, 0.80), (0.98, 0.98, 0.95)),
    "ocean": ((0.02, 0.15, 0.30), (0.05, 0.35, 0.55), (0.30, 0.65, 0.75), (0.85, 0.92, 0.95), (0.95, 0.88, 0.70)),
    "earth": ((0.30, 0.15, 0.07), (0.60, 0.35, 0.15), (0.85, 0.65, 0.35), (0.20, 0.20, 0.18), (0.92, 0.85, 0.70)),
}
#: pattern kinds and their default palette
KINDS: dict[str, str] = {
    "strokes": "sunset", "swirls": "starry", "mosaic": "candy", "waves": "ocean", "dots": "forest", "shards": "earth",
}


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [0, 1), shape (size, size) each: (y, x)."""
    c = (np.arange(size, dtype=np.float32) + 0.5) / size
    return np.meshgrid(c, c, indexing="ij")


def _smooth_noise(size: int, rng: np.random.Generator, cells: int = 4) -> np.ndarray:
    """A smooth random field in [0, 1]: bilinearly upsampled random values on a coarse grid."""
    coarse = torch.from_numpy(rng.random((1, 1, cells + 1, cells + 1), dtype=np.float32))
    fine = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True)
    f = fine[0, 0].numpy()
    return (f - f.min()) / max(float(f.max() - f.min()), 1e-6)


def _palette_map(values: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] (any shape) to colours by linear interpolation along the palette -> (..., 3)."""
    pos = np.clip(values, 0, 1) * (len(palette) - 1)
    lo = np.floor(pos).astype(int).clip(0, len(palette) - 2)
    t = (pos - lo)[..., None]
    return palette[lo] * (1 - t) + palette[lo + 1] * t


def _strokes(size: int, rng: np.random.Generator, palette: np.ndarray) -> np.ndarray:
    y, x = _grid(size)
    img = _palette_map(_smooth_noise(size, rng, 3), palette)
    angle_field = _smooth_noise(size, rng, 3) * 2 * np.pi
    n, length, width = 650, 0.11, 0.032  # relative units: the same strokes at every size
    for _ in range(n):
        cy, cx = rng.random(2)
        iy, ix = min(int(cy * size), size - 1), min(int(cx * size), size - 1)
        a = angle_field[iy, ix] + rng.normal(0, 0.2)
        colour = palette[rng.integers(len(palette))] * rng.uniform(0.85, 1.1)
        # a soft ellipse in the stroke's own frame, only evaluated in its bounding box
        r = int((length + width) * size) + 2
        y0, y1, x0, x1 = max(iy - r, 0), min(iy + r + 1, size), max(ix - r, 0), min(ix + r + 1, size)
        dy, dx = y[y0:y1, x0:x1] - cy, x[y0:y1, x0:x1] - cx
        u = dx * np.cos(a) + dy * np.sin(a)
        v = -dx * np.sin(a) + dy * np.cos(a)
        d = (u / length) ** 2 + (v / width) ** 2
        alpha = np.clip((1 - d) * 4, 0, 1)[..., None] * 0.9
        bristles = 0.9 + 0.1 * np.sin(v * size * 2.5 + rng.random() * 6)[..., None]  # streaks along the stroke
        img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - alpha) + np.clip(colour * bristles, 0, 1) * alpha
    return img


def _swirls(size: int, rng: np.random.Generator, palette: np.ndarray) -> np.ndarray:
    y, x = _grid(size)
    # flow field: the sum of a few vortices plus a gentle drift
    vy, vx = np.zeros_like(y), np.full_like(x, 0.3)
    for _ in range(4):
        cy, cx = rng.random(2)
        strength = rng.choice([-1, 1]) * rng.uniform(0.5, 1.5)
        dy, dx = y - cy, x - cx
        r2 = dy**2 + dx**2 + 0.01
        falloff = np.exp(-r2 / 0.08)
        vy += strength * dx * falloff / np.sqrt(r2)
        vx += -strength * dy * falloff / np.sqrt(r2)
    norm = np.sqrt(vy**2 + vx**2) + 1e-6
    vy, vx = vy / norm, vx / norm
    # line integral convolution: average white noise along the flow, forwards and backwards
    noise = torch.from_numpy(rng.random((1, 1, size, size), dtype=np.float32))
    acc = np.zeros((size, size), np.float32)
    steps, h = 12, 1.2 / size
    for direction in (1.0, -1.0):
        py, px = y.copy(), x.copy()
        for _ in range(steps):
            grid = torch.from_numpy(np.stack([px * 2 - 1, py * 2 - 1], -1)[None].astype(np.float32))
            acc += torch.nn.functional.grid_sample(noise, grid, align_corners=False, padding_mode="reflection")[0, 0].numpy()
            iy = np.clip((py * size).astype(int), 0, size - 1)
            ix = np.clip((px * size).astype(int), 0, size - 1)
            py = py + direction * h * vy[iy, ix]
            px = px + direction * h * vx[iy, ix]
    streaks = acc / (2 * steps)
    streaks = (streaks - streaks.mean()) / (streaks.std() + 1e-6)
    base = _smooth_noise(size, rng, 3)
    return _palette_map(np.clip(base + 0.18 * streaks, 0, 1), palette)


def _mosaic(size: int, rng: np.random.Generator, palette: np.ndarray) -> np.ndarray:
    y, x = _grid(size)
    n = 40
    seeds = rng.random((n, 2)).astype(np.float32)
    d2 = (y[..., None] - seeds[:, 0]) ** 2 + (x[..., None] - seeds[:, 1]) ** 2
    two = np.argsort(d2, axis=-1)[..., :2]
    a, b = seeds[two[..., 0]], seeds[two[..., 1]]
    da, db = np.take_along_axis(d2, two, -1).transpose(2, 0, 1)
    # exact distance to the border between the two nearest cells (the perpendicular bisector)
    edge = (db - da) / (2 * np.linalg.norm(a - b, axis=-1) + 1e-9)
    colours = palette[rng.integers(len(palette), size=n)] * rng.uniform(0.8, 1.1, size=(n, 1))
    img = np.clip(colours[two[..., 0]], 0, 1)
    grout = np.clip(edge * size / 1.2 - 0.5, 0, 1)[..., None]
    return img * grout + 0.08 * (1 - grout)


def _waves(size: int, rng: np.random.Generator, palette: np.ndarray) -> np.ndarray:
    y, x = _grid(size)
    tilt = rng.uniform(-0.5, 0.5)
    freq, amp = rng.uniform(1.5, 4), rng.uniform(0.02, 0.07)
    phase = (y + tilt * x + amp * np.sin(2 * np.pi * (freq * x + rng.random()))
             + 0.015 * np.sin(2 * np.pi * rng.uniform(7, 12) * x))
    bands = int(rng.integers(5, 10))
    band = np.floor(phase * bands)
    frac = phase * bands - band
    shades = rng.permutation(np.linspace(0.0, 0.8, bands + 3))
    img = _palette_map(shades[(band.astype(int) + 1) % len(shades)], palette)
    crest = np.exp(-((frac - 0.08) ** 2) / 0.004)[..., None]  # a light line at the top of every band
    return img * (1 - crest) + palette[-2] * crest


def _dots(size: int, rng: np.random.Generator, palette: np.ndarray) -> np.ndarray:
    y, x = _grid(size)
    img = _palette_map(_smooth_noise(size, rng, 3), palette) * 0.85
    n, radius = 1400, 0.02
    for cy, cx, k in zip(rng.random(n), rng.random(n), rng.integers(len(palette), size=n)):
        iy, ix = int(cy * size), int(cx * size)
        r = int(radius * size) + 2
        y0, y1, x0, x1 = max(iy - r, 0), min(iy + r + 1, size), max(ix - r, 0), min(ix + r + 1, size)
        d2 = (y[y0:y1, x0:x1] - cy) ** 2 + (x[y0:y1, x0:x1] - cx) ** 2
        alpha = np.clip((radius**2 - d2) / (radius**2) * 3, 0, 1)[..., None]
        img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - alpha) + palette[k] * alpha
    return img


def _shards(size: int, rng: np.random.Generator, palette: np.ndarray) -> np.ndarray:
    y, x = _grid(size)
    img = np.broadcast_to(palette[rng.integers(len(palette))], (size, size, 3)).copy()
    outline = np.zeros((size, size), np.float32)
    for _ in range(28):
        pts = rng.random((3, 2)) * 1.4 - 0.2
        inside = np.ones((size, size), bool)
        edge = np.full((size, size), np.inf, np.float32)
        for i in range(3):
            (ay, ax), (by, bx), (oy, ox) = pts[i], pts[(i + 1) % 3], pts[(i + 2) % 3]
            ny, nx = -(bx - ax), by - ay
            norm = np.hypot(ny, nx) + 1e-9
            s = ((y - ay) * ny + (x - ax) * nx) / norm
            side = np.sign((oy - ay) * ny + (ox - ax) * nx)
            inside &= s * side >= 0
            edge = np.minimum(edge, np.abs(s))
        colour = palette[rng.integers(len(palette))] * rng.uniform(0.85, 1.1)
        img[inside] = np.clip(colour, 0, 1)
        outline = np.where(inside, (edge < 1.2 / size).astype(np.float32), outline)
    return img * (1 - 0.85 * outline[..., None])


_PAINTERS = {"strokes": _strokes, "swirls": _swirls, "mosaic": _mosaic, "waves": _waves, "dots": _dots, "shards": _shards}


def painterly(kind: str, size: int = 256, seed: int = 0, palette: str | None = None) -> torch.Tensor:
    """A procedural painterly image, (3, size, size) float32 in [0, 1].

    Args:
        kind: one of :data:`KINDS` (``"strokes"``, ``"swirls"``, ``"mosaic"``, ``"waves"``, ``"dots"``, ``"shards"``).
        size: side in pixels (>= 16). Patterns are drawn in relative units, so the same seed gives
            the same picture at every size, only sharper.
        seed: selects the random layout.
        palette: a key of :data:`PALETTES` (default: the kind's own).
    """
    if kind not in _PAINTERS:
        raise ValueError(f"unknown pattern kind {kind!r}; choose one of {sorted(_PAINTERS)}")
    if not isinstance(size, int) or size < 16:
        raise ValueError(f"size must be an int >= 16, got {size!r}")
    name = palette or KINDS[kind]
    if name not in PALETTES:
        raise ValueError(f"unknown palette {name!r}; choose one of {sorted(PALETTES)}")
    rng = np.random.default_rng([seed, sorted(_PAINTERS).index(kind)])
    img = _PAINTERS[kind](size, rng, np.asarray(PALETTES[name], dtype=np.float32))
    return torch.from_numpy(np.ascontiguousarray(np.clip(img, 0, 1).transpose(2, 0, 1), dtype=np.float32))


class PainterlyStyles(ProceduralDataset):
    """An endless set of style images: random kind, palette and layout per item, (3, size, size) in [0, 1].

    ``kinds`` restricts the pattern kinds (default: all). Item ``i`` is the same on every machine;
    use another ``seed`` for held-out styles.
    """

    def __init__(self, size: int = 64, length: int = 1000, seed: int = 0, kinds: tuple[str, ...] | None = None) -> None:
        super().__init__(length, seed)
        self.kinds = tuple(kinds) if kinds is not None else tuple(KINDS)
        unknown = [k for k in self.kinds if k not in _PAINTERS]
        if unknown or not self.kinds:
            raise ValueError(f"unknown pattern kinds {unknown or '(none given)'}; choose from {sorted(_PAINTERS)}")
        self.size = size

    def generate(self, index: int, rng: np.random.Generator) -> torch.Tensor:
        kind = self.kinds[int(rng.integers(len(self.kinds)))]
        palette = sorted(PALETTES)[int(rng.integers(len(PALETTES)))]
        return painterly(kind, self.size, seed=int(rng.integers(2**31)), palette=palette)
