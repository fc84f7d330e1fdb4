"""Procedural datasets: images computed from (seed, index), no files, any length.

A procedural dataset is the course's answer to "real data sets are large and need the network":
it renders each item on demand from a random generator seeded with ``(seed, index)``. Item ``i``
is therefore the same on every machine and in every run, a held-out split is simply another seed,
and a data set can be as long as training needs.

Subclasses implement :meth:`ProceduralDataset.generate`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset


class ProceduralDataset(Dataset):
    """Base class: item ``i`` is ``generate(i, rng)`` with ``rng`` seeded by ``(seed, i)``.

    Args:
        length: number of items (``len(dataset)``).
        seed: selects the whole data set; use different seeds for training and held-out data.
    """

    def __init__(self, length: int = 1000, seed: int = 0) -> None:
        if not isinstance(length, int) or length <= 0:
            raise ValueError(f"length must be a positive int, got {length!r}")
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        self.length = length
        self.seed = seed

    def __len__(self) -> int:
        return self.length

    def rng(self, index: int) -> np.random.Generator:
        """The generator that item ``index`` is drawn from."""
        return np.random.default_rng([self.seed, index])

    def __getitem__(self, index: int) -> Any:
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"index must be an int, got {type(index).__name__}")
        if not -self.length <= index < self.length:
            raise IndexError(f"index {index} is out of range for a dataset of length {self.length}")
        index = int(index) % self.length
        return self.generate(index, self.rng(index))

    def generate(self, index: int, rng: np.random.Generator) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement generate(index, rng)")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(length={self.length}, seed={self.seed})"


def soft_disk(size: int, cx: float, cy: float, radius: float, softness: float = 1.0) -> np.ndarray:
    """(size, size) float32 in [0, 1]: a disk with an anti-aliased edge ``softness`` pixels wide."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    dist = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
    return np.clip((radius - dist) / max(softness, 1e-6) + 0.5, 0.0, 1.0).astype(np.float32)


class Blobs(ProceduralDataset):
    """Coloured soft disks on a dark, slightly shaded background: the course's smallest image set.

    Each item is a (3, size, size) float tensor in [-1, 1]. Used by lecture 00's one-page GAN and
    by the tests of the training loop.
    """

    def __init__(self, length: int = 1000, size: int = 16, seed: int = 0) -> None:
        super().__init__(length, seed)
        if size < 8:
            raise ValueError(f"size must be at least 8 pixels, got {size}")
        self.size = size

    def generate(self, index: int, rng: np.random.Generator) -> torch.Tensor:
        s = self.size
        radius = rng.uniform(0.18, 0.32) * s
        cx, cy = rng.uniform(radius, s - radius, size=2)
        colour = rng.uniform(0.35, 1.0, size=3).astype(np.float32)
        yy = np.linspace(0.0, 1.0, s, dtype=np.float32)[:, None]
        background = 0.05 + 0.1 * yy * np.ones((s, s), np.float32)
        disk = soft_disk(s, cx, cy, radius)
        img = background[None] * (1 - disk[None]) + colour[:, None, None] * disk[None]
        return torch.from_numpy(img * 2 - 1)


class SmoothFieldHoles(ProceduralDataset):
    """Smooth colour fields (a colour plus two linear ramps) with a centred square hole.

    Items are dicts ``{"image": (3, size, size) in [-1, 1], "mask": (1, size, size)}`` with
    ``mask = 1`` inside the ``hole x hole`` square. Filling the hole well needs the colours at its
    border, so a pixel whose receptive field does not reach outside the hole can only guess:
    lecture 01's experiment on why inpainting networks need a large receptive field.
    """

    def __init__(self, length: int = 1000, size: int = 48, hole: int = 24, seed: int = 0) -> None:
        super().__init__(length, seed)
        if not 0 < hole < size:
            raise ValueError(f"hole must be between 1 and size - 1 = {size - 1}, got {hole}")
        self.size, self.hole = size, hole
        top = (size - hole) // 2
        mask = torch.zeros(1, size, size)
        mask[:, top:top + hole, top:top + hole] = 1.0
        self.mask = mask

    def generate(self, index: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        s = self.size
        ramp = np.linspace(-0.5, 0.5, s, dtype=np.float32)
        base = rng.uniform(-0.7, 0.7, size=(3, 1, 1)).astype(np.float32)
        gx = rng.uniform(-0.8, 0.8, size=(3, 1, 1)).astype(np.float32)
        gy = rng.uniform(-0.8, 0.8, size=(3, 1, 1)).astype(np.float32)
        img = base + gx * ramp[None, None, :] + gy * ramp[None, :, None]
        img = img + rng.normal(0, 0.02, size=img.shape).astype(np.float32)
        return {"image": torch.from_numpy(np.clip(img, -1, 1)), "mask": self.mask.clone()}

    def distance_to_border(self) -> torch.Tensor:
        """(size, size) map: for hole pixels, the chessboard distance to the nearest known pixel (0 outside)."""
        s, h = self.size, self.hole
        top = (s - h) // 2
        idx = torch.arange(s)
        inside = (idx >= top) & (idx < top + h)
        d1 = torch.minimum(idx - top + 1, top + h - idx)
        d = torch.minimum(d1[:, None], d1[None, :])
        return torch.where(inside[:, None] & inside[None, :], d, torch.zeros_like(d))
