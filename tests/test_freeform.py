"""Free-form masks: the DeepFill v2 release's brush-stroke generator, its statistics, bad input."""

import math

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from course_lib.inpainting.freeform import (
    DEEPFILL_V2,
    MEASURED_HOLE_RATIO_256,
    BrushStrokeParams,
    box_mask,
    brush_stroke_mask,
    free_form_mask,
    hole_ratio_statistics,
    scaled_params,
)
from course_lib.inpainting.patches import PhotoPatches


def release_style_mask(h: int, w: int, rs: np.random.RandomState) -> np.ndarray:
    """An independent transcription of the release's procedure (generative_inpainting v2.0.0,
    inpaint_ops.py brush_stroke_mask), drawn with the legacy RandomState as the release does:
    1-3 strokes of 4-11 segments, angles alternating around 2*pi/5 +- up to 2*pi/15, lengths
    N(r, r // 2) clipped to [0, 2r] with r = sqrt(H^2 + W^2) / 8, widths int(U(12, 40)), round joints."""
    r = math.sqrt(h * h + w * w) / 8
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(rs.randint(1, 4)):
        n = rs.randint(4, 12)
        lo = 2 * math.pi / 5 - rs.uniform(0, 2 * math.pi / 15)
        hi = 2 * math.pi / 5 + rs.uniform(0, 2 * math.pi / 15)
        angles = [2 * math.pi - rs.uniform(lo, hi) if i % 2 == 0 else rs.uniform(lo, hi) for i in range(n)]
        pts = [(int(rs.randint(0, w)), int(rs.randint(0, h)))]
        for a in angles:
            length = np.clip(rs.normal(r, r // 2), 0, 2 * r)
            pts.append((int(np.clip(pts[-1][0] + length * math.cos(a), 0, w)),
                        int(np.clip(pts[-1][1] + length * math.sin(a), 0, h))))
        width = int(rs.uniform(12, 40))
        draw.line(pts, fill=1, width=width)
        for x, y in pts:
            draw.ellipse((x - width // 2, y - width // 2, x + width // 2, y + width // 2), fill=1)
    return np.asarray(canvas, dtype=np.float32)


def test_release_parameters():
    # generative_inpainting v2.0.0, inpaint_ops.py brush_stroke_mask: randint(1, 4) strokes,
    # randint(4, 12) vertices, mean angle 2pi/5, angle range 2pi/15, widths uniform(12, 40).
    p = DEEPFILL_V2
    assert (p.min_strokes, p.max_strokes, p.min_vertices, p.max_vertices) == (1, 3, 4, 11)
    assert p.mean_angle == pytest.approx(2 * math.pi / 5) and p.angle_range == pytest.approx(2 * math.pi / 15)
    assert (p.min_width, p.max_width, p.reference_size) == (12, 40, 256)


def test_masks_are_binary_deterministic_and_one_means_hole():
    a = brush_stroke_mask(64, np.random.default_rng(3))
    b = brush_stroke_mask(64, np.random.default_rng(3))
    c = brush_stroke_mask(64, np.random.default_rng(4))
    assert a.shape == (1, 64, 64) and a.dtype == torch.float32
    assert set(torch.unique(a).tolist()) <= {0.0, 1.0} and 0 < a.mean() < 1
    assert torch.equal(a, b) and not torch.equal(a, c)
    rect = brush_stroke_mask((48, 80), np.random.default_rng(0))
    assert rect.shape == (1, 48, 80)


def test_union_with_box_contains_the_strokes_and_a_box_of_96_to_128():
    strokes = brush_stroke_mask(256, np.random.default_rng(7))
    union = free_form_mask(256, np.random.default_rng(7), with_box=True)  # strokes are drawn first
    assert torch.equal(union * strokes, strokes) and union.sum() > strokes.sum()
    for seed in range(30):  # release: 128x128 box, each side pulled in by 0..16 px (max_delta 32)
        box = box_mask(256, np.random.default_rng(seed))[0]
        rows, cols = int(box.any(1).sum()), int(box.any(0).sum())
        assert 96 <= rows <= 128 and 96 <= cols <= 128 and box.sum() == rows * cols


def test_mean_hole_ratio_matches_the_release_procedure():
    # Measured with 20,000 masks at 256x256 (hole_ratio_statistics, seed 0): strokes 15.1%,
    # strokes + box 31.0% (course_lib.inpainting.freeform.MEASURED_HOLE_RATIO_256).
    n = 600
    ours = hole_ratio_statistics(256, n=n, seed=1)
    assert abs(ours["mean"] - MEASURED_HOLE_RATIO_256["strokes"]) < 0.012  # ~3.5 standard errors
    union = hole_ratio_statistics(256, n=n, seed=1, with_box=True)
    assert abs(union["mean"] - MEASURED_HOLE_RATIO_256["strokes+box"]) < 0.012
    # The release's own procedure (legacy RandomState) gives the same distribution.
    rs = np.random.RandomState(2018)  # the release seeds np.random with 2018
    release = np.mean([release_style_mask(256, 256, rs).mean() for _ in range(n)])
    assert abs(release - MEASURED_HOLE_RATIO_256["strokes"]) < 0.012
    assert ours["min"] > 0 and ours["max"] < 0.6 and ours["q1"] < ours["median"] < ours["q3"]


def test_smaller_images_keep_the_proportions():
    small = hole_ratio_statistics(64, n=400, seed=0)
    assert abs(small["mean"] - MEASURED_HOLE_RATIO_256["strokes"]) < 0.025
    wide = hole_ratio_statistics(64, n=200, seed=0, params=scaled_params(width_factor=2.0))
    assert wide["mean"] > small["mean"] * 1.5


def test_bad_input():
    with pytest.raises(TypeError, match="numpy Generator"):
        brush_stroke_mask(64, 0)
    with pytest.raises(ValueError, match="at least 2x2"):
        brush_stroke_mask(1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="min_width"):
        BrushStrokeParams(min_width=0)
    with pytest.raises(ValueError, match="min_vertices"):
        BrushStrokeParams(min_vertices=5, max_vertices=4)
    with pytest.raises(ValueError, match="does not fit"):
        box_mask(16, np.random.default_rng(0), margin=8)
    with pytest.raises(ValueError, match="n must be"):
        hole_ratio_statistics(64, n=0)
    with pytest.raises(ValueError, match="width_factor"):
        scaled_params(width_factor=0)


def test_photo_patches_are_cheap_deterministic_crops():
    ds = PhotoPatches(size=32, length=10, seed=0)
    a, b = ds[3], PhotoPatches(size=32, length=10, seed=0)[3]
    assert a.shape == (3, 32, 32) and torch.equal(a, b) and 0 <= a.min() and a.max() <= 1
    assert not torch.equal(ds[3], PhotoPatches(size=32, length=10, seed=1)[3])
    with pytest.raises(ValueError, match="source_size"):
        PhotoPatches(size=32, source_size=16)
    with pytest.raises(ValueError, match="unknown"):
        PhotoPatches(size=32, sources=("nope",))
