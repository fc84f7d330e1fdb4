"""Inpainting data: any image dataset plus a mask generator, deterministic per index."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch.utils.data import Dataset

MaskFn = Callable[[np.random.Generator], torch.Tensor]


class MaskedImages(Dataset):
    """Pairs each image of ``images`` with a mask drawn by ``mask_fn(rng)``, rng seeded by ``(seed, index)``.

    Args:
        images: a dataset of (3, H, W) tensors (or dicts with key ``"image"``).
        mask_fn: returns a (1, H, W) mask, 1 = hole (see :mod:`course_lib.inpainting.masks`).
        value_range: range of ``images``; items are returned in [-1, 1].

    Items: ``{"image": (3, H, W) in [-1, 1], "mask": (1, H, W)}``. The masked input the networks
    see is ``image * (1 - mask)``; keeping the full image lets losses and metrics use the truth.
    """

    def __init__(self, images: Dataset, mask_fn: MaskFn, seed: int = 0,
                 value_range: tuple[float, float] = (0.0, 1.0)) -> None:
        if tuple(value_range) not in ((0.0, 1.0), (-1.0, 1.0)):
            raise ValueError(f"value_range must be (0, 1) or (-1, 1), got {value_range}")
        self.images, self.mask_fn, self.seed, self.value_range = images, mask_fn, seed, tuple(value_range)

    def __len__(self) -> int:
        return len(self.images)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = self.images[index]
        image = item["image"] if isinstance(item, dict) else item
        if self.value_range == (0.0, 1.0):
            image = image * 2 - 1
        mask = self.mask_fn(np.random.default_rng([self.seed, index]))
        if mask.shape[-2:] != image.shape[-2:]:
            raise ValueError(f"mask_fn made a {tuple(mask.shape[-2:])} mask for a {tuple(image.shape[-2:])} image")
        return {"image": image, "mask": mask}
