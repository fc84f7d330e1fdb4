"""Cheap training images for inpainting on a CPU: random crops of the bundled photos, pre-shrunk once.

:class:`course_lib.data.PhotoCrops` crops and resizes a full-size photo for every item (about 25
ms of CPU each); an inpainting network at 64x64 trains for a step in a similar time, so the data
would cost as much as the learning. :class:`PhotoPatches` shrinks each photo once (cached) and
then only slices: about 50 microseconds per item.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from course_lib.data import load_photo, load_texture
from course_lib.data.procedural import ProceduralDataset

#: photos of scenes and objects (as PhotoCrops's default) and the brick texture (grass and gravel are
#: noise-like: no method, learned or not, does much better there than the mean colour)
DEFAULT_SOURCES: tuple[str, ...] = ("astronaut", "coffee", "chelsea", "rocket", "brick")


@functools.cache
def _source(name: str, size: int) -> torch.Tensor:
    if name in ("brick", "grass", "gravel"):
        return load_texture(name, size=size, rgb=True)
    return load_photo(name, size=size)


class PhotoPatches(ProceduralDataset):
    """Random ``size x size`` crops (randomly mirrored) of bundled photos shrunk to ``source_size``.

    Items are (3, size, size) tensors in [0, 1], deterministic in ``(seed, index)``. Each source is
    centre-cropped to a square and resized to ``source_size`` once; with ``source_size = 2.5 *
    size`` a crop covers 40% of a photo's width (PhotoCrops's crops cover 25-60%).
    """

    def __init__(self, size: int = 64, length: int = 10_000, seed: int = 0, source_size: int | None = None,
                 sources: tuple[str, ...] = DEFAULT_SOURCES) -> None:
        super().__init__(length, seed)
        self.size = size
        self.source_size = source_size or int(2.5 * size)
        if self.source_size < size:
            raise ValueError(f"source_size ({self.source_size}) must be at least size ({size})")
        if not sources:
            raise ValueError("give at least one source photo")
        self.sources = tuple(sources)
        for name in self.sources:
            _source(name, self.source_size)  # load now: a bad name fails here, not in the middle of training

    def generate(self, index: int, rng: np.random.Generator) -> torch.Tensor:
        img = _source(self.sources[int(rng.integers(len(self.sources)))], self.source_size)
        top = int(rng.integers(0, self.source_size - self.size + 1))
        left = int(rng.integers(0, self.source_size - self.size + 1))
        crop = img[:, top:top + self.size, left:left + self.size]
        return (crop.flip(-1) if rng.random() < 0.5 else crop).contiguous()
