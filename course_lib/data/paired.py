"""Paired procedural data for pix2pix and pix2pixHD (lectures 04 and 05): no downloads, any size.

Four datasets, each deterministic from ``(seed, index)`` (a held-out split is another seed):

* :class:`ProceduralFacades`: *labels -> facade*. A label map of wall, windows, doors, balconies,
  cornices, sills, shop fronts and sky (the classes of the CMP Facade Database, which the pix2pix
  paper uses), rendered into a photo-like facade with brick or plaster texture, sunlight, shadows
  and sensor noise. The wall, frame and door colours are random and *not* in the label map, so the
  task is multimodal: the lesson of lecture 04 is what L1 does with that.
* :class:`EdgesToShapes`: *edges -> shapes*. Shaded spheres, boxes and cylinders; the input is the
  output of an edge detector (``skimage.feature.canny``) run on the rendering. That is how the
  pix2pix authors made edges2shoes/edges2handbags: paired data for the price of an edge detector.
* :class:`GreyToColour`: *grey -> colour* on crops of the photos bundled with scikit-image.
* :class:`StreetScenes`: label **and instance** maps of small street scenes for pix2pixHD
  (lecture 05): rows of touching buildings and bumper-to-bumper cars, so that two objects of the
  same class often share a border that only the instance map shows. Every building and car has
  its own random colour (what pix2pixHD's instance-wise feature encoder learns to control).

Items are dicts; images are float32 tensors in **[-1, 1]**, label and instance maps int64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

from course_lib.data.procedural import ProceduralDataset


# --------------------------------------------------------------------------- helpers
def _check_size(size: int, low: int = 16) -> None:
    if not isinstance(size, int) or size < low:
        raise ValueError(f"size must be an int >= {low} pixels, got {size!r}")


def _to_tensor(img: np.ndarray) -> torch.Tensor:
    """(H, W, 3) or (H, W) float array in [0, 1] -> (C, H, W) tensor in [-1, 1]."""
    if img.ndim == 2:
        img = img[..., None]
    return torch.from_numpy(np.clip(img, 0.0, 1.0).astype(np.float32).transpose(2, 0, 1).copy()) * 2 - 1


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Value noise in about [-1, 1]: a ``cells x cells`` random grid, bilinearly upsampled to ``shape``."""
    grid = rng.uniform(-1, 1, size=(cells + 1, cells + 1))
    zoom = ((shape[0] - 1) / cells + 1e-9, (shape[1] - 1) / cells + 1e-9)
    out = ndimage.zoom(grid, zoom, order=1)
    return out[: shape[0], : shape[1]]


def label_colours(labels: torch.Tensor | np.ndarray, palette: np.ndarray) -> torch.Tensor:
    """Label map (H, W) or (N, H, W) of class ids -> colour image(s) (3, H, W)/(N, 3, H, W) in [-1, 1]."""
    lab = labels.numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    pal = np.asarray(palette, np.float32)
    if lab.min() < 0 or lab.max() >= len(pal):
        raise ValueError(f"label ids must be in [0, {len(pal) - 1}], got [{int(lab.min())}, {int(lab.max())}]")
    rgb = pal[lab] * 2 - 1  # (..., H, W, 3), numpy indexing: fast for small maps
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(rgb, -1, -3)))


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    """One HSV colour (all in [0, 1]) as an RGB array in [0, 1]."""
    import colorsys

    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v), np.float32)


@dataclass(frozen=True)
class Rect:
    """Pixel rectangle ``[top, bottom) x [left, right)``."""

    top: int
    bottom: int
    left: int
    right: int

    def sl(self) -> tuple[slice, slice]:
        return slice(self.top, self.bottom), slice(self.left, self.right)

    @property
    def ok(self) -> bool:
        return self.bottom > self.top and self.right > self.left


# --------------------------------------------------------------------------- labels -> facade
#: the classes of :class:`ProceduralFacades` (a subset of the CMP Facade Database's 12)
FACADE_CLASSES = ("background", "wall", "window", "door", "balcony", "cornice", "sill", "shop")
#: label colours in the style of pix2pix's facades data (a blue-to-red ramp), RGB in [0, 1]
FACADE_PALETTE = np.array([
    [0.00, 0.00, 0.67],  # background: dark blue
    [0.00, 0.33, 1.00],  # wall: blue
    [0.00, 0.85, 1.00],  # window: cyan
    [1.00, 0.67, 0.00],  # door: orange
    [0.33, 1.00, 0.67],  # balcony: green
    [1.00, 1.00, 0.00],  # cornice: yellow
    [0.67, 1.00, 0.33],  # sill: light green
    [1.00, 0.00, 0.00],  # shop: red
], np.float32)


@dataclass
class FacadeLayout:
    """What :meth:`ProceduralFacades.layout` draws: the label map and the rectangles behind it."""

    labels: np.ndarray  # (S, S) int64 class ids
    windows: list[Rect]
    doors: list[Rect]
    shops: list[Rect]
    balconies: list[Rect]
    cornices: list[Rect]
    building: Rect


class ProceduralFacades(ProceduralDataset):
    """Labels -> facade pairs: ``{"input": (3, S, S), "target": (3, S, S), "labels": (S, S)}``.

    ``input`` is the label map coloured with :data:`FACADE_PALETTE` (as in pix2pix's facades data),
    ``target`` the rendered facade, both in [-1, 1]; ``labels`` holds the class ids
    (:data:`FACADE_CLASSES`). The layout (floors, window grid, door, balconies, cornices) and the
    appearance (wall colour and texture, frame and door colours, sun direction, noise) are drawn
    from independent generators, so :meth:`appearances` can paint one layout in many ways.
    """

    classes = FACADE_CLASSES
    palette = FACADE_PALETTE
    label_nc = len(FACADE_CLASSES)

    def __init__(self, length: int = 1000, size: int = 64, seed: int = 0) -> None:
        super().__init__(length, seed)
        _check_size(size, 32)
        self.size = size

    # ---------------------------------------------------------------- layout
    def layout(self, rng: np.random.Generator) -> FacadeLayout:
        """A random facade layout at ``self.size`` (class ids, see :data:`FACADE_CLASSES`)."""
        s = self.size
        lab = np.full((s, s), 1, np.int64)
        top = int(round(rng.uniform(0.0, 0.2) * s))  # sky above the roof line
        left = int(round(rng.uniform(0.0, 0.12) * s)) if rng.random() < 0.35 else 0
        right = s - (int(round(rng.uniform(0.0, 0.12) * s)) if rng.random() < 0.35 else 0)
        lab[:top], lab[:, :left], lab[:, right:] = 0, 0, 0
        building = Rect(top, s, left, right)
        px = max(1, s // 48)  # thickness of cornices and sills
        cornices = [Rect(top, top + 2 * px, left, right)] if top > 0 else []
        height = s - top - 2 * px
        n_upper = int(rng.integers(2, 6))
        ground = int(height * rng.uniform(0.2, 0.28))
        floor_h = (height - ground) / n_upper
        n_cols = int(rng.integers(2, 6))
        col_w = (right - left) / n_cols
        win_w = max(2, int(col_w * rng.uniform(0.35, 0.62)))
        win_h = max(3, int(floor_h * rng.uniform(0.45, 0.68)))
        band = rng.random() < 0.5  # cornice bands between floors
        balcony_floors = {f for f in range(n_upper) if rng.random() < 0.3}
        windows: list[Rect] = []
        balconies: list[Rect] = []
        sills: list[Rect] = []
        for f in range(n_upper):
            y0 = top + 2 * px + int(round(f * floor_h))
            y1 = top + 2 * px + int(round((f + 1) * floor_h))
            if band and f > 0:
                cornices.append(Rect(y0, y0 + px, left, right))
            wy = y0 + int((y1 - y0 - win_h) * 0.55)
            for c in range(n_cols):
                cx = left + (c + 0.5) * col_w
                w = Rect(wy, wy + win_h, int(round(cx - win_w / 2)), int(round(cx - win_w / 2)) + win_w)
                windows.append(w)
                if f in balcony_floors:
                    b_top = w.bottom - max(2, win_h // 3)
                    balconies.append(Rect(b_top, min(w.bottom + px, y1), w.left - px, w.right + px))
                else:
                    sills.append(Rect(w.bottom, w.bottom + px, w.left - px // 2, w.right + (px + 1) // 2))
        g0 = s - ground
        if band or n_upper > 3:
            cornices.append(Rect(g0 - px, g0 + px, left, right))
        door_col = int(rng.integers(n_cols))
        doors, shops = [], []
        for c in range(n_cols):
            cx = left + (c + 0.5) * col_w
            if c == door_col:
                dw = max(3, int(win_w * rng.uniform(0.9, 1.2)))
                doors.append(Rect(g0 + int(ground * 0.2), s, int(round(cx - dw / 2)), int(round(cx - dw / 2)) + dw))
            elif rng.random() < 0.55:
                sw = max(3, int(col_w * rng.uniform(0.6, 0.8)))
                shops.append(Rect(g0 + int(ground * 0.25), s - max(1, ground // 8), int(round(cx - sw / 2)),
                                  int(round(cx - sw / 2)) + sw))
            else:
                gh = max(3, int(ground * 0.5))
                windows.append(Rect(g0 + int(ground * 0.3), g0 + int(ground * 0.3) + gh,
                                    int(round(cx - win_w / 2)), int(round(cx - win_w / 2)) + win_w))
        for cls, rects in ((5, cornices), (2, windows), (6, sills), (4, balconies), (3, doors), (7, shops)):
            for r in rects:
                r = Rect(max(r.top, building.top), min(r.bottom, s), max(r.left, left), min(r.right, right))
                if r.ok:
                    lab[r.sl()] = cls
        return FacadeLayout(lab, windows, doors, shops, balconies, cornices, building)

    # ---------------------------------------------------------------- appearance
    def paint(self, layout: FacadeLayout, rng: np.random.Generator) -> np.ndarray:
        """Render ``layout`` as an (S, S, 3) photo in [0, 1] with appearance drawn from ``rng``."""
        s = self.size
        lab = layout.labels
        yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / s
        img = np.zeros((s, s, 3), np.float32)
        # sky: a vertical gradient, clear blue or overcast grey
        if rng.random() < 0.7:
            sky_top, sky_low = _hsv(rng.uniform(0.55, 0.62), 0.55, 0.85), _hsv(0.58, 0.25, 0.97)
        else:
            grey = rng.uniform(0.7, 0.85)
            sky_top, sky_low = np.full(3, grey - 0.1, np.float32), np.full(3, grey, np.float32)
        img[:] = sky_top + (sky_low - sky_top) * np.clip(yy * 2.5, 0, 1)[..., None]
        # wall: a random colour (ochre, brick red, cream, grey, pastel...) times a texture
        kind = rng.choice(["ochre", "brick", "cream", "grey", "pastel", "pastel", "pastel"])
        wall = {
            "ochre": _hsv(rng.uniform(0.07, 0.12), rng.uniform(0.45, 0.7), rng.uniform(0.65, 0.85)),
            "brick": _hsv(rng.uniform(0.0, 0.04), rng.uniform(0.55, 0.75), rng.uniform(0.45, 0.65)),
            "cream": _hsv(rng.uniform(0.1, 0.15), rng.uniform(0.12, 0.3), rng.uniform(0.82, 0.95)),
            "grey": _hsv(0.0, 0.0, rng.uniform(0.5, 0.75)),
            "pastel": _hsv(rng.uniform(0.0, 1.0), rng.uniform(0.3, 0.55), rng.uniform(0.65, 0.88)),
        }[str(kind)]
        texture = 1 + 0.06 * smooth_noise(rng, (s, s), max(2, s // 8))
        if kind == "brick" or rng.random() < 0.2:  # courses of bricks: dark mortar lines
            course = max(2, s // 32)
            rows = np.arange(s)
            mortar_rows = (rows % course) == 0
            brick_w = 2 * course
            offset = (rows // course % 2) * course
            mortar_cols = ((np.arange(s)[None, :] + offset[:, None]) % brick_w) == 0
            texture = texture * np.where(mortar_rows[:, None] | mortar_cols, 0.8, 1.0)
        wall_img = wall[None, None, :] * texture[..., None]
        on_wall = lab != 0
        img[on_wall] = wall_img[on_wall]
        # cornices and sills: light stone, with a shadow on the wall below them
        stone = np.clip(wall * 0.4 + 0.6 * rng.uniform(0.8, 0.95), 0, 1)
        shadow = np.zeros((s, s), np.float32)
        for cls in (5, 6):
            mask = lab == cls
            img[mask] = stone * (0.95 + 0.05 * texture[mask, None])
            below = np.zeros_like(mask)
            below[1:] = mask[:-1]
            shadow += below & (lab == 1)
        # windows: dark glass reflecting the sky (lighter at the top), a frame, a mullion
        frame = [np.array([0.92, 0.92, 0.9], np.float32), np.array([0.15, 0.13, 0.12], np.float32),
                 _hsv(rng.uniform(0.25, 0.45), 0.5, 0.4), _hsv(0.02, 0.6, 0.4)][int(rng.integers(4))]
        glass = _hsv(rng.uniform(0.55, 0.65), rng.uniform(0.2, 0.5), rng.uniform(0.2, 0.35))
        for r in layout.windows + layout.shops:
            if not r.ok:
                continue
            h = r.bottom - r.top
            grad = np.linspace(1.6, 0.8, h, dtype=np.float32)[:, None, None]
            region = img[r.sl()]
            cls_here = lab[r.sl()]
            pane: np.ndarray = np.clip(glass * grad, 0, 1)
            if r in layout.shops:  # shop windows: warm interior light below
                pane = pane * 0.7 + 0.3 * np.array([1.0, 0.8, 0.45], np.float32) * np.linspace(0.3, 1.0, h)[:, None, None]
            pane = np.broadcast_to(pane, region.shape).copy()
            pane[0, :], pane[-1, :], pane[:, 0], pane[:, -1] = frame, frame, frame, frame
            if r.right - r.left >= 5:
                pane[:, (r.right - r.left) // 2] = frame
            keep = (cls_here == 2) | (cls_here == 7)
            region[keep] = pane[keep]
            shadow[r.top:r.top + max(1, h // 6), r.left:r.right] += 0.5 * (cls_here[: max(1, h // 6)] == 2)
        # doors: painted wood with darker panels
        door = [_hsv(0.07, 0.6, 0.35), _hsv(0.35, 0.55, 0.3), _hsv(0.0, 0.65, 0.4), _hsv(0.6, 0.4, 0.3)][int(rng.integers(4))]
        for r in layout.doors:
            region = img[r.sl()]
            panel = np.broadcast_to(door, region.shape).copy()
            w = r.right - r.left
            if w >= 4:
                panel[:, w // 2] *= 0.6
            panel[0, :] *= 0.5
            keep = lab[r.sl()] == 3
            region[keep] = panel[keep]
        # balconies: an iron railing (vertical bars) in front of a darker view of what is behind
        bars = (np.arange(s) % 2 == 0)
        mask = lab == 4
        railing = np.where(bars[None, :, None], np.float32(0.12), img * 0.55)
        img[mask] = railing[mask]
        top_rail = mask & ~np.vstack([np.zeros((1, s), bool), mask[:-1]])
        img[top_rail] = 0.1
        below = np.zeros_like(mask)
        below[1:] = mask[:-1]
        shadow += 1.2 * (below & ~mask & on_wall)
        # sunlight: a directional gradient over the building, the shadows, then sensor noise
        sun = 1 + rng.uniform(-0.25, 0.25) * (xx - 0.5) + rng.uniform(-0.2, 0.1) * (yy - 0.5)
        light = np.where(on_wall, sun * (1 - 0.35 * np.clip(shadow, 0, 1)), 1.0)
        img = img * light[..., None] * rng.uniform(0.9, 1.1)
        img = img + rng.normal(0, 0.02, size=img.shape).astype(np.float32)
        return np.clip(img, 0, 1)

    def generate(self, index: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        layout_rng, paint_rng = rng.spawn(2)
        lay = self.layout(layout_rng)
        labels = torch.from_numpy(lay.labels)
        return {"input": label_colours(labels, self.palette), "target": _to_tensor(self.paint(lay, paint_rng)),
                "labels": labels}

    def appearances(self, index: int, k: int, seed: int = 0) -> torch.Tensor:
        """Item ``index``'s layout painted ``k`` times with other random appearances: (k, 3, S, S) in [-1, 1].

        Every one of them is an equally valid target for the same input: the multimodality that
        an L1 loss averages away.
        """
        layout_rng, _ = self.rng(index).spawn(2)
        lay = self.layout(layout_rng)
        rngs = np.random.default_rng([self.seed, index, seed, 7]).spawn(k)
        return torch.stack([_to_tensor(self.paint(lay, r)) for r in rngs])


# --------------------------------------------------------------------------- edges -> shapes
class EdgesToShapes(ProceduralDataset):
    """Edges -> shaded objects: ``{"input": (1, S, S) edges, "target": (3, S, S) rendering}`` in [-1, 1].

    One to three spheres, boxes or cylinders with random colours, lit from a random direction,
    with soft shadows on a light floor. The input is ``skimage.feature.canny`` (sigma
    ``edge_sigma``) of the rendering's luminance, drawn as black lines (-1) on white (+1), as in
    pix2pix's edges2shoes data. Colours are not in the edges: another multimodal task.
    """

    def __init__(self, length: int = 1000, size: int = 64, seed: int = 0, edge_sigma: float = 1.0) -> None:
        super().__init__(length, seed)
        _check_size(size, 16)
        self.size, self.edge_sigma = size, float(edge_sigma)

    def render(self, rng: np.random.Generator) -> np.ndarray:
        """An (S, S, 3) rendering in [0, 1]."""
        s = self.size
        yy, xx = (np.mgrid[0:s, 0:s].astype(np.float32) + 0.5) / s
        floor_y = rng.uniform(0.55, 0.7)
        back = _hsv(rng.uniform(0, 1), rng.uniform(0.05, 0.2), rng.uniform(0.8, 0.95))
        floor = back * rng.uniform(0.75, 0.9)
        img = np.where((yy < floor_y)[..., None], back * (0.9 + 0.1 * yy[..., None]), floor[None, None])
        light = rng.uniform(-1, 1)  # light from the left (-1) or the right (+1)
        n = int(rng.integers(1, 4))
        centres = np.sort(rng.uniform(0.2, 0.8, size=n))
        for cx in centres[rng.permutation(n)]:
            kind = int(rng.integers(3))
            r = rng.uniform(0.1, 0.18) if n > 1 else rng.uniform(0.15, 0.25)
            base = floor_y + rng.uniform(0.0, 0.25)
            colour = _hsv(rng.uniform(0, 1), rng.uniform(0.4, 0.9), rng.uniform(0.6, 1.0))
            # a soft contact shadow on the floor
            sh = np.exp(-(((xx - cx - 0.3 * light * r) / (1.3 * r)) ** 2 + ((yy - base) / (0.25 * r)) ** 2))
            img = img * (1 - 0.45 * sh[..., None])
            if kind == 0:  # sphere: Lambertian shading plus a highlight
                cy = base - r
                dx, dy = (xx - cx) / r, (yy - cy) / r
                inside = dx**2 + dy**2 < 1
                dz = np.sqrt(np.clip(1 - dx**2 - dy**2, 0, 1))
                lx, ly, lz = 0.6 * light, -0.5, 0.62
                shade = np.clip(dx * lx + dy * ly + dz * lz, 0, 1)
                spec = np.clip(dx * lx + dy * ly + dz * lz, 0, 1) ** 30
                obj = colour * (0.25 + 0.75 * shade[..., None]) + 0.5 * spec[..., None]
            elif kind == 1:  # box: a front face and a lighter top face in oblique projection
                w, h, d = r * 1.6, r * rng.uniform(1.2, 2.0), r * 0.6
                front = (abs(xx - cx) < w / 2) & (yy > base - h) & (yy < base)
                top = (yy <= base - h) & (yy > base - h - d) & (xx > cx - w / 2 + (base - h - yy)) & \
                      (xx < cx + w / 2 + (base - h - yy))
                side = (xx >= cx + w / 2) & (xx < cx + w / 2 + d) & (yy < base - (xx - cx - w / 2)) & \
                       (yy > base - h - (xx - cx - w / 2))
                inside = front | top | side
                obj = np.where(top[..., None], colour * 1.0, np.where(side[..., None], colour * (0.45 + 0.2 * light),
                                                                      colour * (0.7 - 0.2 * light)))
            else:  # cylinder: horizontal cosine shading and an elliptical top
                w, h = r * 1.2, r * rng.uniform(1.5, 2.5)
                u = (xx - cx) / (w / 2)
                body = (abs(u) < 1) & (yy > base - h) & (yy < base)
                cap = ((xx - cx) / (w / 2)) ** 2 + ((yy - (base - h)) / (0.3 * w)) ** 2 < 1
                inside = body | cap
                shade = np.clip(np.sqrt(np.clip(1 - u**2, 0, 1)) * 0.8 + 0.4 * light * u, 0, 1)
                obj = np.where(cap[..., None], colour * 1.05, colour * (0.25 + 0.75 * shade[..., None]))
            img = np.where(inside[..., None], obj, img)
        img = img + rng.normal(0, 0.01, size=img.shape)
        return np.clip(img, 0, 1).astype(np.float32)

    def edges(self, rendering: np.ndarray) -> np.ndarray:
        """Canny edges of the luminance of an (S, S, 3) rendering: (S, S) bool."""
        from skimage.feature import canny

        grey = rendering @ np.array([0.299, 0.587, 0.114], np.float32)
        return canny(grey, sigma=self.edge_sigma, low_threshold=0.04, high_threshold=0.1)

    def generate(self, index: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        img = self.render(rng)
        edges = self.edges(img)
        return {"input": _to_tensor(1.0 - edges.astype(np.float32)), "target": _to_tensor(img)}


# --------------------------------------------------------------------------- grey -> colour
class GreyToColour(ProceduralDataset):
    """Grey -> colour on random crops of the bundled photos (``course_lib.data.PhotoCrops``).

    Items: ``{"input": (1, S, S) luminance, "target": (3, S, S) colour}`` in [-1, 1]. The luminance
    uses the ITU-R 601 weights (0.299, 0.587, 0.114), as ``skimage.color.rgb2gray``'s predecessor did.
    """

    def __init__(self, length: int = 1000, size: int = 64, seed: int = 0) -> None:
        super().__init__(length, seed)
        from course_lib.data.photos import PhotoCrops

        self.size = size
        self.crops = PhotoCrops(size=size, length=length, seed=seed)

    def generate(self, index: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        colour = self.crops[index]  # (3, S, S) in [0, 1]
        grey = (colour * torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)).sum(0, keepdim=True)
        return {"input": grey * 2 - 1, "target": colour * 2 - 1}


# --------------------------------------------------------------------------- street scenes (instances)
STREET_CLASSES = ("sky", "building", "road", "sidewalk", "car", "tree")
STREET_PALETTE = np.array([
    [0.27, 0.51, 0.71],  # sky (Cityscapes colours)
    [0.27, 0.27, 0.27],  # building
    [0.50, 0.25, 0.50],  # road
    [0.96, 0.14, 0.91],  # sidewalk
    [0.00, 0.00, 0.56],  # car
    [0.42, 0.56, 0.14],  # tree
], np.float32)


class StreetScenes(ProceduralDataset):
    """Label + instance maps -> street photo, for pix2pixHD (lecture 05).

    Items: ``{"labels": (S, S) int64 class ids (:data:`STREET_CLASSES`), "instances": (S, S) int64
    object ids (unique per object in the image; stuff classes have one id each), "target":
    (3, S, S) in [-1, 1], "input": (3, S, S) coloured label map in [-1, 1]}``.

    A row of 2 to 5 *touching* buildings, each with its own facade colour, and a queue of 2 to 4
    cars parked bumper to bumper, each with its own body colour, plus trees. A dark seam separates
    touching buildings and a dark outline surrounds every car: both sit on *instance* boundaries,
    which the label map alone does not show.
    """

    classes = STREET_CLASSES
    palette = STREET_PALETTE
    label_nc = len(STREET_CLASSES)

    def __init__(self, length: int = 1000, size: int = 64, seed: int = 0) -> None:
        super().__init__(length, seed)
        _check_size(size, 32)
        self.size = size

    def layout(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(labels, instances), each (S, S) int64."""
        s = self.size
        lab = np.zeros((s, s), np.int64)
        inst = np.zeros((s, s), np.int64)
        horizon = int(s * rng.uniform(0.5, 0.62))
        walk = horizon + max(2, int(s * rng.uniform(0.06, 0.1)))
        lab[horizon:walk], inst[horizon:walk] = 3, 1
        lab[walk:], inst[walk:] = 2, 2
        next_id = 3
        # touching buildings: widths that sum to the image width, heights drawn per building
        n_b = int(rng.integers(2, 6))
        cuts = np.sort(rng.uniform(0.12, 0.88, size=n_b - 1))
        edges = np.round(np.concatenate([[0], cuts, [1]]) * s).astype(int)
        same_height = rng.random() < 0.4  # equal roof lines: only the instance map shows the seams
        roof = int(s * rng.uniform(0.05, 0.3))
        for i in range(n_b):
            if edges[i + 1] - edges[i] < 2:
                continue
            top = roof if same_height else int(s * rng.uniform(0.05, 0.35))
            lab[top:horizon, edges[i]:edges[i + 1]] = 1
            inst[top:horizon, edges[i]:edges[i + 1]] = next_id
            next_id += 1
        # trees in front of the buildings
        yy, xx = np.mgrid[0:s, 0:s]
        for _ in range(int(rng.integers(0, 3))):
            cx, cy = rng.uniform(0.05, 0.95) * s, horizon - rng.uniform(0.15, 0.25) * s
            rad = rng.uniform(0.06, 0.1) * s
            canopy = (xx - cx) ** 2 + (yy - cy) ** 2 < rad**2
            trunk = (abs(xx - cx) < max(1, s / 64)) & (yy >= cy) & (yy < walk - 1)
            m = canopy | trunk
            lab[m], inst[m] = 5, next_id
            next_id += 1
        # a queue of cars, bumper to bumper, on the road next to the sidewalk
        n_c = int(rng.integers(2, 5))
        car_h = s * rng.uniform(0.1, 0.14)
        base = walk + car_h + rng.uniform(0.0, 0.12) * s
        x = rng.uniform(-0.1, 0.3) * s
        for _ in range(n_c):
            w = s * rng.uniform(0.2, 0.28)
            body = (xx >= x) & (xx < x + w) & (yy >= base - car_h * 0.55) & (yy < base)
            cabin = (xx >= x + 0.2 * w) & (xx < x + 0.8 * w) & (yy >= base - car_h) & (yy < base - car_h * 0.5)
            m = (body | cabin) & (yy < s)
            lab[m], inst[m] = 4, next_id
            next_id += 1
            x += w  # the next car touches this one
        return lab, inst

    def paint(self, lab: np.ndarray, inst: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """An (S, S, 3) photo in [0, 1]; every building and car gets its own colour from ``rng``."""
        s = self.size
        yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / s
        img = np.zeros((s, s, 3), np.float32)
        sky = _hsv(rng.uniform(0.56, 0.6), rng.uniform(0.35, 0.5), 0.9)
        img[:] = sky * (0.8 + 0.3 * yy[..., None])
        noise = smooth_noise(rng, (s, s), max(2, s // 8))
        road = rng.uniform(0.28, 0.36)
        img[lab == 2] = road * (1 + 0.08 * noise[lab == 2, None])
        dash = (lab == 2) & (np.abs(yy - (yy[lab == 2].mean() if (lab == 2).any() else 0.9) - 0.05) < 0.012) & \
               ((xx * 8) % 1 < 0.5)
        img[dash] = 0.85
        walk = rng.uniform(0.6, 0.75)
        tiles = np.where((np.arange(s) % max(3, s // 16) == 0)[None, :], 0.85, 1.0)
        img[lab == 3] = (walk * np.broadcast_to(tiles, (s, s)))[lab == 3, None]
        win_period = max(3, s // 16)
        rows, cols = np.arange(s)[:, None], np.arange(s)[None, :]
        outline = np.zeros((s, s), bool)
        for i in np.unique(inst):
            m = inst == i
            cls = int(lab[m][0])
            if cls == 1:  # a building: its own colour, a grid of dark windows aligned with its corner
                colour = _hsv(rng.uniform(0, 1), rng.uniform(0.15, 0.45), rng.uniform(0.55, 0.85))
                top, left = np.nonzero(m.any(1))[0].min(), np.nonzero(m.any(0))[0].min()
                win_mask = (((rows - top - 1) % win_period) >= win_period // 2) & \
                           (((cols - left - 1) % win_period) >= win_period // 2)
                facade = np.where(win_mask[..., None], colour * 0.35, colour * (0.95 + 0.05 * noise[..., None]))
                img[m] = facade[m]
            elif cls == 4:  # a car: body colour, dark glass on the cabin, wheels
                colour = _hsv(rng.uniform(0, 1), rng.uniform(0.0, 0.9), rng.uniform(0.3, 1.0))
                img[m] = colour * (1.0 - 0.3 * yy[m, None] + 0.15)
                rows = np.nonzero(m.any(1))[0]
                top, bottom = rows.min(), rows.max()
                glass = m & (np.arange(s)[:, None] < top + (bottom - top) * 0.35)
                img[glass] = np.array([0.2, 0.25, 0.3], np.float32)
                wheels = m & (np.arange(s)[:, None] >= bottom - max(1, (bottom - top) // 5))
                img[wheels] = 0.05
            elif cls == 5:
                img[m] = _hsv(rng.uniform(0.22, 0.33), 0.6, rng.uniform(0.35, 0.55)) * (1 + 0.2 * noise[m, None])
            if cls in (1, 4):  # the seam / outline along this object's instance boundary
                outline |= m & ~ndimage.binary_erosion(m, border_value=1)
        img[outline] *= 0.3
        img = img + rng.normal(0, 0.015, size=img.shape).astype(np.float32)
        return np.clip(img, 0, 1)

    def generate(self, index: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        layout_rng, paint_rng = rng.spawn(2)
        lab, inst = self.layout(layout_rng)
        labels = torch.from_numpy(lab)
        return {"labels": labels, "instances": torch.from_numpy(inst), "input": label_colours(labels, self.palette),
                "target": _to_tensor(self.paint(lab, inst, paint_rng))}


# --------------------------------------------------------------------------- a fixed training set
class InMemory(torch.utils.data.Dataset):
    """The first ``length`` items of a dataset, each computed once (on first use) and then kept.

    A procedural dataset renders every item on demand; when training revisits the same few hundred
    items (CMP Facades has 400 training pairs), rendering each only once is faster. ``mirror=True``
    flips an item horizontally with probability 1/2 every time it is read (pix2pix's mirroring),
    drawing from torch's RNG, so that the trainer's per-sample seeds make it reproducible. Items are
    dicts of tensors; :attr:`tensors` stacks all of them (computing the missing ones).
    """

    def __init__(self, dataset: torch.utils.data.Dataset, length: int | None = None, mirror: bool = False) -> None:
        n = len(dataset) if length is None else length  # type: ignore[arg-type]
        if n <= 0 or n > len(dataset):  # type: ignore[arg-type]
            raise ValueError(f"length must be in [1, {len(dataset)}], got {n}")  # type: ignore[arg-type]
        self.dataset, self.length, self.mirror = dataset, n, mirror
        self._items: list[dict[str, torch.Tensor] | None] = [None] * n

    def __len__(self) -> int:
        return self.length

    def item(self, index: int) -> dict[str, torch.Tensor]:
        """Item ``index`` as computed by the wrapped dataset (never mirrored)."""
        if not -self.length <= index < self.length:
            raise IndexError(f"index {index} is out of range for a dataset of length {self.length}")
        index %= self.length
        cached = self._items[index]
        if cached is None:
            cached = self.dataset[index]
            if not isinstance(cached, dict):
                raise TypeError(f"InMemory expects items that are dicts of tensors, got {type(cached).__name__}")
            # keep the tensors only: a folder data set's "path" string cannot be stacked or mirrored
            cached = {k: v for k, v in cached.items() if isinstance(v, torch.Tensor)}
            self._items[index] = cached
        return cached

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = dict(self.item(index))
        if self.mirror and bool(torch.rand(()) < 0.5):
            item = {k: v.flip(-1) for k, v in item.items()}
        return item

    @property
    def tensors(self) -> dict[str, torch.Tensor]:
        """All items stacked: ``{key: (length, ...)}``."""
        items = [self.item(i) for i in range(self.length)]
        return {k: torch.stack([it[k] for it in items]) for k in items[0]}


# --------------------------------------------------------------------------- pix2pixHD's folder layout
def _read_ids(path) -> np.ndarray:
    """A label or instance map stored as a greyscale/16-bit/32-bit PNG: (H, W) int64 ids."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("RGB", "RGBA"):
                raise ValueError(f"{path} is a colour image; label and instance maps must hold one integer id "
                                 "per pixel (mode L, I;16 or I), not colours")
            arr = np.asarray(im)
    except (OSError, SyntaxError) as exc:
        raise ValueError(f"could not read {path}: {exc}; the file is corrupt or not an image") from exc
    return arr.astype(np.int64)


class LabelInstanceFolder(torch.utils.data.Dataset):
    """pix2pixHD's data layout: ``root/<split>_label/``, ``root/<split>_inst/``, ``root/<split>_img/``.

    Files are matched by sorted order (the reference does the same), e.g. Cityscapes'
    ``*_gtFine_labelIds.png``, ``*_gtFine_instanceIds.png`` and ``*_leftImg8bit.png``. Each map is
    resized with nearest-neighbour sampling (ids must never be interpolated), the photo with
    antialiasing, to ``(height, width)``; ``flip=True`` mirrors all three with probability 1/2
    (drawn from torch's RNG). Without ``<split>_inst`` every label region is its own instance.

    Items: ``{"labels": (H, W), "instances": (H, W)}`` int64 and ``"target": (3, H, W)`` in [-1, 1].
    Every file's header is checked when the loader is built (``verify``), so a corrupt file fails
    before training; ``skip_corrupt=True`` leaves out, with a warning, the items with a bad file.
    """

    def __init__(self, root, split: str = "train", size: tuple[int, int] | None = None, flip: bool = False,
                 verify: bool = True, skip_corrupt: bool = False) -> None:
        from pathlib import Path

        from course_lib.data.folders import list_images

        root = Path(root)
        self.labels = list_images(root / f"{split}_label")
        self.images = list_images(root / f"{split}_img")
        inst = root / f"{split}_inst"
        self.instances = list_images(inst) if inst.is_dir() else None
        if not self.labels:
            raise ValueError(f"no label maps in {root / (split + '_label')}: pix2pixHD's layout is "
                             f"{split}_label/ (class ids), {split}_img/ (photos) and optionally {split}_inst/ "
                             "(instance ids) under root; check root and split")
        counts = {"labels": len(self.labels), "images": len(self.images)}
        if self.instances is not None:
            counts["instances"] = len(self.instances)
        if len(set(counts.values())) != 1:
            raise ValueError(f"{root}: the folders hold different numbers of files {counts}; every label map "
                             "needs its photo (and instance map)")
        self.root, self.split = root, split
        if verify or skip_corrupt:
            self.verify(decode=False, skip_corrupt=skip_corrupt)
        self.size, self.flip = size, flip

    def verify(self, decode: bool = True, skip_corrupt: bool = False) -> None:
        """Check every label map, photo and instance map (``decode=False``: headers only).

        Raises a ``ValueError`` listing the unreadable files; ``skip_corrupt`` drops the items
        (all files of one index, so the pairing by order is kept) with a warning instead.
        """
        from course_lib.data.folders import readable_only

        instances = self.instances if self.instances is not None else [None] * len(self.labels)
        items = readable_only(list(zip(self.labels, self.images, instances)),
                              f"LabelInstanceFolder({self.root}, split={self.split!r})",
                              files_of=lambda item: [p for p in item if p is not None],
                              decode=decode, skip_corrupt=skip_corrupt)
        self.labels, self.images = [item[0] for item in items], [item[1] for item in items]
        if self.instances is not None:
            self.instances = [item[2] for item in items if item[2] is not None]  # (all of them)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        import torch.nn.functional as F

        from course_lib.data.folders import read_image

        lab = torch.from_numpy(_read_ids(self.labels[index]))
        inst = torch.from_numpy(_read_ids(self.instances[index])) if self.instances is not None else lab.clone()
        img = read_image(self.images[index])
        if not lab.shape == inst.shape == img.shape[-2:]:
            raise ValueError(f"item {index}: label {tuple(lab.shape)}, instance {tuple(inst.shape)} and photo "
                             f"{tuple(img.shape[-2:])} sizes differ ({self.labels[index].name})")
        if self.size is not None:
            maps = torch.stack([lab, inst])[None].float()
            lab, inst = F.interpolate(maps, size=self.size, mode="nearest")[0].long()
            img = F.interpolate(img[None], size=self.size, mode="bilinear", antialias=True, align_corners=False)[0]
        item = {"labels": lab, "instances": inst, "target": img.clamp(0, 1) * 2 - 1}
        if self.flip and bool(torch.rand(()) < 0.5):
            item = {k: v.flip(-1) for k, v in item.items()}
        return item
