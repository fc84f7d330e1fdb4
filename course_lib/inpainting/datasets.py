"""Images and masks for the inpainting lectures, the recipes and the capstone.

* quick mode: :class:`InpaintingImages`, crops of the photos bundled with scikit-image and of its
  three texture photographs (brick, grass, gravel, tinted with a random colour), at a small size;
* full mode: any folder of photographs (e.g. Places2 crops), read by
  :class:`course_lib.data.ImageFolder` at 256 px (:func:`image_source`).

Masks: :func:`context_encoder_mask_fn` (the centre hole of Context Encoder) and
:func:`gl_rect_mask_fn` (Global & Local's rectangles, sides 96-128 px in 256 px crops, scaled to
the image size). :func:`inpainting_dataset` pairs images and masks in a
:class:`~course_lib.inpainting.MaskedImages`, whose items are ``{"image": [-1, 1], "mask": 1 = hole}``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from course_lib.data.photos import (
    SCENE_PHOTOS,
    TEXTURES,
    PhotoCrops,
    center_crop_resize,
    load_texture,
)
from course_lib.data.procedural import ProceduralDataset
from course_lib.inpainting.data import MaskedImages
from course_lib.inpainting.masks import center_mask, random_rect_mask

MaskFn = Callable[[np.random.Generator], torch.Tensor]


class TextureCrops(ProceduralDataset):
    """Crops of scikit-image's brick, grass and gravel photographs, tinted: (3, size, size) in [0, 1].

    Each item: a random texture, a random crop (scale in ``scale`` of the photo's side), a random
    mirror, and a random tint ``0.35 + 0.65 * U(0, 1)`` per channel, so that colour must be inferred
    from the context too.
    """

    def __init__(self, size: int = 64, length: int = 1000, seed: int = 0, scale: tuple[float, float] = (0.15, 0.4)) -> None:
        super().__init__(length, seed)
        if not 0 < scale[0] <= scale[1] <= 1:
            raise ValueError(f"scale must satisfy 0 < low <= high <= 1, got {scale}")
        self.size, self.scale = size, scale

    def generate(self, index: int, rng: np.random.Generator) -> torch.Tensor:
        names = sorted(TEXTURES)
        tex = load_texture(names[int(rng.integers(len(names)))])
        h, w = tex.shape[-2:]
        side = max(int(rng.uniform(*self.scale) * min(h, w)), self.size)
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        crop = tex[:, top:top + side, left:left + side]
        if rng.random() < 0.5:
            crop = crop.flip(-1)
        tint = torch.from_numpy((0.35 + 0.65 * rng.random(3)).astype(np.float32)).view(3, 1, 1)
        return (center_crop_resize(crop, self.size) * tint).clamp(0, 1)


class InpaintingImages(ProceduralDataset):
    """Quick-mode images: bundled photo crops and tinted texture crops, (3, size, size) in [0, 1].

    Item ``i`` is a photo crop with probability ``1 - texture_fraction``, else a texture crop;
    deterministic from ``(seed, i)``. Held-out data: another seed.
    """

    def __init__(self, size: int = 64, length: int = 1000, seed: int = 0, texture_fraction: float = 0.5,
                 photos: tuple[str, ...] = SCENE_PHOTOS) -> None:
        super().__init__(length, seed)
        if not 0 <= texture_fraction <= 1:
            raise ValueError(f"texture_fraction must be in [0, 1], got {texture_fraction}")
        self.size, self.texture_fraction = size, texture_fraction
        self.photos = PhotoCrops(size=size, length=length, seed=seed, photos=photos)
        self.textures = TextureCrops(size=size, length=length, seed=seed)

    def generate(self, index: int, rng: np.random.Generator) -> torch.Tensor:
        source = self.textures if rng.random() < self.texture_fraction else self.photos
        return source.generate(index, rng)


def gl_rect_mask_fn(size: int) -> MaskFn:
    """Global & Local's training holes: one rectangle, sides in [96, 128] at 256 px, scaled to ``size``."""
    low, high = max(1, round(size * 96 / 256)), max(1, round(size * 128 / 256))
    return lambda rng: random_rect_mask(size, low, high, rng)


def context_encoder_mask_fn(size: int, overlap: int | None = None) -> MaskFn:
    """Context Encoder's hole: the centre (size/2) minus ``overlapPred`` pixels per side (same for every item)."""
    from course_lib.inpainting.context_encoder import context_encoder_mask

    mask = context_encoder_mask(size, overlap)
    return lambda rng: mask.clone()


def image_source(data: str | os.PathLike | None, size: int, length: int = 100_000, seed: int = 0) -> tuple[Dataset, tuple[float, float]]:
    """The images to inpaint and their value range.

    ``data``: ``None`` or ``"quick"``: :class:`InpaintingImages` (bundled photos and textures, [0, 1]);
    a folder: every image below it, centre-cropped and resized to ``size`` (:class:`ImageFolder`, [-1, 1]).
    """
    if data is None or str(data) == "quick":
        return InpaintingImages(size=size, length=length, seed=seed), (0.0, 1.0)
    folder = Path(data)
    if not folder.is_dir():
        raise FileNotFoundError(f"--data {data!r} is neither 'quick' nor an existing folder of images "
                                "(e.g. a folder of Places2 crops)")
    from course_lib.data.folders import ImageFolder

    return ImageFolder(folder, size=size), (-1.0, 1.0)


def inpainting_dataset(images: Dataset, mask_fn: MaskFn, seed: int = 0,
                       value_range: tuple[float, float] = (0.0, 1.0)) -> MaskedImages:
    """Pair ``images`` with masks from ``mask_fn``: items ``{"image": [-1, 1], "mask": (1, H, W)}``."""
    return MaskedImages(images, mask_fn, seed=seed, value_range=value_range)


def center_hole_fn(size: int, hole: int) -> MaskFn:
    """A fixed centred square hole (for experiments that want the same hole everywhere)."""
    mask = center_mask(size, hole)
    return lambda rng: mask.clone()


class FolderCrops(Dataset):
    """Full-mode training images: random crops of the photos below a folder, (3, size, size) in [-1, 1].

    Each item rescales one photo so that its shorter side is a random length in
    ``[min_side, max_side]`` and takes a random ``size x size`` crop, mirrored with probability 1/2.
    Global & Local (Sec. 4): shorter side in [256, 384], 256x256 crops; Context Encoder
    (``train.lua``): ``loadSize = 350``, ``fineSize = 128`` (``min_side = max_side = 350``).
    The randomness uses torch's RNG, which the course's trainer seeds per sample. Every file's
    header is checked when the loader is built (``verify``), so a corrupt file fails before
    training; ``skip_corrupt=True`` leaves such files out with a warning.
    """

    def __init__(self, root: str | os.PathLike, size: int = 256, min_side: int = 256, max_side: int = 384,
                 verify: bool = True, skip_corrupt: bool = False) -> None:
        from course_lib.data.folders import list_images

        if not 0 < size <= min_side <= max_side:
            raise ValueError(f"need 0 < size <= min_side <= max_side, got {size}, {min_side}, {max_side}")
        self.root = root
        self.files = list_images(root)
        if not self.files:
            raise ValueError(f"no images found below {root}")
        if verify or skip_corrupt:
            self.verify(decode=False, skip_corrupt=skip_corrupt)
        self.size, self.min_side, self.max_side = size, min_side, max_side

    def __len__(self) -> int:
        return len(self.files)

    def verify(self, decode: bool = True, skip_corrupt: bool = False) -> None:
        """Check every file (see :func:`course_lib.data.folders.readable_only`)."""
        from course_lib.data.folders import readable_only

        self.files = readable_only(self.files, f"FolderCrops({self.root})", decode=decode, skip_corrupt=skip_corrupt)

    def __getitem__(self, index: int) -> torch.Tensor:
        import torch.nn.functional as F

        from course_lib.data.folders import read_image

        img = read_image(self.files[index])
        side = int(torch.randint(self.min_side, self.max_side + 1, ()).item())
        h, w = img.shape[-2:]
        scale = side / min(h, w)
        new = (max(self.size, round(h * scale)), max(self.size, round(w * scale)))
        img = F.interpolate(img[None], size=new, mode="bilinear", align_corners=False, antialias=True)[0]
        top = int(torch.randint(0, new[0] - self.size + 1, ()).item())
        left = int(torch.randint(0, new[1] - self.size + 1, ()).item())
        img = img[:, top:top + self.size, left:left + self.size]
        if torch.rand(()) < 0.5:
            img = img.flip(-1)
        return img.clamp(0, 1) * 2 - 1
