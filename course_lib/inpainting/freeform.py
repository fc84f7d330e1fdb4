"""Free-form masks: the random brush strokes DeepFill v2 is trained with, optionally unioned with a box.

Yu et al. 2019, "Free-Form Image Inpainting with Gated Convolution", Sec. 3.4 and Algorithm 1, and
the official release (JiahuiYu/generative_inpainting v2.0.0, ``inpaint_ops.py``:
``brush_stroke_mask``, ``random_bbox``, ``bbox2mask``; ``inpaint_model.py`` unions the two). For a
256x256 image the release draws

* 1 to 3 strokes (``np.random.randint(1, 4)``);
* per stroke, 4 to 11 segments (``randint(4, 12)``) from a uniformly random start point;
* segment angles alternating around +-2*pi/5: a range ``[2*pi/5 - a, 2*pi/5 + b]`` with ``a, b``
  uniform in ``[0, 2*pi/15]`` is drawn per stroke; even segments turn one way
  (``2*pi - angle``), odd ones the other, which makes zig-zags rather than circles;
* segment lengths from a normal distribution with mean ``r = sqrt(H^2 + W^2) / 8`` (45.3 px at
  256) and standard deviation ``r // 2``, clipped to ``[0, 2 r]``; vertices clipped to the image;
* one brush width per stroke, ``int(uniform(12, 40))`` pixels; the polyline is drawn with that
  width and a disk of the same diameter at every vertex (round joints);
* a random horizontal and vertical flip.

The training mask of the release is this stroke mask **unioned** with a rectangle: a 128x128 box
at a uniformly random position whose sides then shrink by up to ``max_delta // 2 = 16`` pixels on
each side, so the box's sides are 96 to 128 pixels.

Measured with 20,000 masks at 256x256 (``tests/test_freeform.py`` repeats a smaller run): the
strokes alone cover **15.1%** of the image on average (standard deviation 8.0%), strokes +
box **31.0%** (6.8%) (see
:data:`MEASURED_HOLE_RATIO_256`).

Two places where the course departs from the release's code, neither changing the statistics:
the release calls ``mask.transpose(FLIP_...)`` without using the result, so its flips do nothing;
we apply them (as intended). And its ``h, w = mask.size`` swaps height and width (PIL sizes are
``(W, H)``), which only matters for non-square images; we use the right axes.

Brush widths are given in pixels of a 256-pixel image; for other sizes they are scaled by
``min(H, W) / 256`` (the segment lengths already scale with the diagonal), so a 64x64 mask looks
like a 256x256 one shrunk. Convention: **1 = hole**, as everywhere in the course.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch
from PIL import Image, ImageDraw

#: mean hole ratio of the release's masks at 256x256, measured by :func:`hole_ratio_statistics`
#: with 20,000 masks (seed 0); the standard error of each mean is below 0.001.
MEASURED_HOLE_RATIO_256 = {"strokes": 0.151, "strokes+box": 0.310}


@dataclass(frozen=True)
class BrushStrokeParams:
    """Parameters of the brush-stroke generator, in pixels of a ``reference_size`` image.

    The defaults are the DeepFill v2 release's (``inpaint_ops.py``, ``brush_stroke_mask``).
    ``max_vertices`` is inclusive (the release's ``randint(4, 12)`` gives 4..11), as are the stroke
    counts (``randint(1, 4)`` gives 1..3).
    """

    min_strokes: int = 1
    max_strokes: int = 3
    min_vertices: int = 4
    max_vertices: int = 11
    mean_angle: float = 2 * math.pi / 5
    angle_range: float = 2 * math.pi / 15
    min_width: float = 12.0
    max_width: float = 40.0
    reference_size: int = 256

    def __post_init__(self) -> None:
        if not 1 <= self.min_strokes <= self.max_strokes:
            raise ValueError(f"need 1 <= min_strokes <= max_strokes, got {self.min_strokes}, {self.max_strokes}")
        if not 1 <= self.min_vertices <= self.max_vertices:
            raise ValueError(f"need 1 <= min_vertices <= max_vertices, got {self.min_vertices}, {self.max_vertices}")
        if not 0 < self.min_width <= self.max_width:
            raise ValueError(f"need 0 < min_width <= max_width, got {self.min_width}, {self.max_width}")


#: the DeepFill v2 release's parameters
DEEPFILL_V2 = BrushStrokeParams()


def _size(size: int | tuple[int, int]) -> tuple[int, int]:
    h, w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if h < 2 or w < 2:
        raise ValueError(f"mask size must be at least 2x2, got {(h, w)}")
    return h, w


def _clip(value: float, low: float, high: float) -> float:
    return min(max(float(value), low), high)


def _check_rng(rng: object) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {type(rng).__name__}")


def brush_stroke_mask(size: int | tuple[int, int], rng: np.random.Generator,
                      params: BrushStrokeParams = DEEPFILL_V2) -> torch.Tensor:
    """(1, H, W) float mask of random brush strokes (1 = hole), deterministic given ``rng``.

    Args:
        size: ``H`` (square) or ``(H, W)``.
        rng: ``np.random.default_rng(seed)``; the same generator state gives the same mask.
        params: the generator's parameters (default: the DeepFill v2 release's).
    """
    _check_rng(rng)
    h, w = _size(size)
    scale = min(h, w) / params.reference_size  # brush widths are given for a 256-pixel image
    average_radius = math.sqrt(h * h + w * w) / 8
    canvas = Image.new("L", (w, h), 0)  # PIL sizes are (width, height)
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(params.min_strokes, params.max_strokes + 1))):
        num_vertex = int(rng.integers(params.min_vertices, params.max_vertices + 1))
        angle_min = params.mean_angle - rng.uniform(0, params.angle_range)
        angle_max = params.mean_angle + rng.uniform(0, params.angle_range)
        # Alternate the turning direction so that a stroke zig-zags instead of curling up.
        angles = [2 * math.pi - rng.uniform(angle_min, angle_max) if i % 2 == 0 else rng.uniform(angle_min, angle_max)
                  for i in range(num_vertex)]
        vertices = [(int(rng.integers(0, w)), int(rng.integers(0, h)))]
        for angle in angles:
            # The release uses `average_radius // 2` (floor division) as the standard deviation.
            length = _clip(rng.normal(average_radius, average_radius // 2), 0, 2 * average_radius)
            x = _clip(vertices[-1][0] + length * math.cos(angle), 0, w)
            y = _clip(vertices[-1][1] + length * math.sin(angle), 0, h)
            vertices.append((int(x), int(y)))
        width = max(1, int(rng.uniform(params.min_width * scale, params.max_width * scale)))
        draw.line(vertices, fill=1, width=width)
        r = width // 2
        for vx, vy in vertices:  # round joints and ends
            draw.ellipse((vx - r, vy - r, vx + r, vy + r), fill=1)
    mask = np.asarray(canvas, dtype=np.float32)
    if rng.normal() > 0:  # the release draws these two flips but discards them (see module docstring)
        mask = mask[:, ::-1]
    if rng.normal() > 0:
        mask = mask[::-1, :]
    return torch.from_numpy(np.ascontiguousarray(mask))[None]


def box_mask(size: int | tuple[int, int], rng: np.random.Generator, box: float = 128 / 256,
             max_delta: float = 32 / 256, margin: int = 0) -> torch.Tensor:
    """(1, H, W): the release's random rectangle (``random_bbox`` + ``bbox2mask``), 1 = hole.

    A ``box * H`` by ``box * W`` rectangle (128x128 at 256) at a uniformly random position at least
    ``margin`` pixels from the border, whose top/bottom and left/right sides each move inwards by a
    random amount in ``[0, max_delta * size // 2]`` pixels (0..16 at 256).
    """
    _check_rng(rng)
    h, w = _size(size)
    if not 0 < box < 1 or not 0 <= max_delta < box:
        raise ValueError(f"need 0 < box < 1 and 0 <= max_delta < box (fractions of the size), got {box}, {max_delta}")
    bh, bw = max(1, round(box * h)), max(1, round(box * w))
    if h - 2 * margin - bh <= 0 or w - 2 * margin - bw <= 0:
        raise ValueError(f"a {bh}x{bw} box with margin {margin} does not fit in {h}x{w}")
    top = int(rng.integers(margin, h - margin - bh))  # tf.random.uniform's maxval is exclusive
    left = int(rng.integers(margin, w - margin - bw))
    dh = int(rng.integers(0, round(max_delta * h) // 2 + 1))
    dw = int(rng.integers(0, round(max_delta * w) // 2 + 1))
    mask = torch.zeros(1, h, w)
    mask[:, top + dh:top + bh - dh, left + dw:left + bw - dw] = 1.0
    return mask


def free_form_mask(size: int | tuple[int, int], rng: np.random.Generator, with_box: bool = True,
                   params: BrushStrokeParams = DEEPFILL_V2) -> torch.Tensor:
    """(1, H, W): DeepFill v2's training mask, brush strokes unioned with a random box (1 = hole).

    ``with_box=False`` gives the strokes alone (the irregular masks on their own).
    """
    strokes = brush_stroke_mask(size, rng, params)
    if not with_box:
        return strokes
    return torch.maximum(strokes, box_mask(size, rng))


def hole_ratio_statistics(size: int | tuple[int, int], n: int = 1000, seed: int = 0, with_box: bool = False,
                          params: BrushStrokeParams = DEEPFILL_V2) -> dict[str, float]:
    """Mean, standard deviation, min, max and quartiles of the hole ratio of ``n`` random masks.

    Mask ``i`` is drawn with ``np.random.default_rng([seed, i])``, as :class:`MaskedImages` does.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    ratios = np.array([float(free_form_mask(size, np.random.default_rng([seed, i]), with_box, params).mean())
                       for i in range(n)])
    q1, median, q3 = np.quantile(ratios, [0.25, 0.5, 0.75])
    return {"mean": float(ratios.mean()), "std": float(ratios.std()), "min": float(ratios.min()),
            "q1": float(q1), "median": float(median), "q3": float(q3), "max": float(ratios.max()), "n": n}


def scaled_params(params: BrushStrokeParams = DEEPFILL_V2, width_factor: float = 1.0) -> BrushStrokeParams:
    """A copy of ``params`` with brush widths multiplied by ``width_factor`` (for the brush-size slider)."""
    if width_factor <= 0:
        raise ValueError(f"width_factor must be positive, got {width_factor}")
    return replace(params, min_width=params.min_width * width_factor, max_width=params.max_width * width_factor)
