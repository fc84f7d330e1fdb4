import numpy as np
import pytest
import torch

from course_lib.data import PhotoCrops
from course_lib.inpainting import (
    MaskedImages,
    center_mask,
    hole_ratio,
    random_rect_mask,
    validate_mask,
)


def test_center_and_random_rect_masks():
    m = center_mask(128, 64)  # Context Encoder: a 64x64 hole in 128x128
    assert m.shape == (1, 128, 128) and float(hole_ratio(m)) == 0.25 and m[0, 64, 64] == 1 and m[0, 0, 0] == 0
    rng = np.random.default_rng(0)
    for _ in range(20):  # Global & Local: sides in [96, 128] in 256x256 crops
        r = random_rect_mask(256, 96, 128, rng)
        rows, cols = r[0].any(1).sum(), r[0].any(0).sum()
        assert 96 <= rows <= 128 and 96 <= cols <= 128 and r.sum() == rows * cols
    with pytest.raises(ValueError, match="min_side"):
        random_rect_mask(64, 70, 80, rng)


def test_validate_mask_errors():
    image = torch.zeros(3, 32, 32)
    validate_mask(center_mask(32, 8), image)
    with pytest.raises(ValueError, match="same height and width"):
        validate_mask(center_mask(16, 8), image)
    with pytest.raises(ValueError, match="must be binary"):
        validate_mask(center_mask(32, 8) * 0.5, image)
    with pytest.raises(ValueError, match="no hole"):
        validate_mask(torch.zeros(1, 32, 32), image)
    with pytest.raises(ValueError, match="covers the whole image"):
        validate_mask(torch.ones(1, 32, 32), image)
    with pytest.raises(ValueError, match=r"\(1, H, W\) or \(N, 1, H, W\)"):
        validate_mask(torch.zeros(3, 32, 32))
    validate_mask(torch.zeros(1, 32, 32), allow_empty=True)


def test_masked_images_are_deterministic_and_symmetric_range():
    ds = MaskedImages(PhotoCrops(size=32, length=4), lambda rng: random_rect_mask(32, 8, 16, rng), seed=1)
    a, b = ds[2], ds[2]
    assert torch.equal(a["mask"], b["mask"]) and a["image"].min() >= -1 and a["image"].shape == (3, 32, 32)
    with pytest.raises(ValueError, match="made a"):
        MaskedImages(PhotoCrops(size=32, length=4), lambda rng: center_mask(16, 4))[0]
