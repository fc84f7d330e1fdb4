"""Real photographs that ship with scikit-image, so the course needs no download to show real images.

All loaders return float32 tensors in **[0, 1]**, channels first: (3, H, W) for colour,
(1, H, W) for grey. Convert with ``x * 2 - 1`` where a model wants [-1, 1].
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.data.procedural import ProceduralDataset

#: colour photographs bundled with scikit-image (name -> skimage.data function)
PHOTOS: dict[str, str] = {
    "astronaut": "astronaut",
    "coffee": "coffee",
    "chelsea": "chelsea",
    "rocket": "rocket",
    "hubble": "hubble_deep_field",
    "ihc": "immunohistochemistry",
    "colorwheel": "colorwheel",
    "retina": "retina",
}
#: greyscale texture photographs bundled with scikit-image
TEXTURES: dict[str, str] = {"brick": "brick", "grass": "grass", "gravel": "gravel"}
#: photos of natural scenes and objects (no microscopy or diagrams): the default for crops
SCENE_PHOTOS: tuple[str, ...] = ("astronaut", "coffee", "chelsea", "rocket")


@functools.cache
def _skimage_array(function_name: str) -> np.ndarray:
    import skimage.data

    return np.ascontiguousarray(getattr(skimage.data, function_name)())


def _to_tensor(array: np.ndarray) -> torch.Tensor:
    if array.ndim == 2:
        array = array[..., None]
    t = torch.from_numpy(array.astype(np.float32) / 255.0)
    return t.permute(2, 0, 1).contiguous()


def _lookup(name: str, table: dict[str, str], kind: str) -> str:
    if name not in table:
        raise ValueError(f"unknown {kind} {name!r}; choose one of {sorted(table)}")
    return table[name]


@functools.cache
def _photo_tensor(function_name: str) -> torch.Tensor:
    return _to_tensor(_skimage_array(function_name))


def load_photo(name: str, size: int | tuple[int, int] | None = None) -> torch.Tensor:
    """A bundled colour photo as a (3, H, W) tensor in [0, 1] (decoded once, then a fresh copy per call).

    Args:
        name: one of :data:`PHOTOS` (``"astronaut"``, ``"coffee"``, ``"chelsea"``, ...).
        size: ``None`` keeps the original; an int gives a centred square crop resized to
            ``size x size``; ``(h, w)`` resizes the centred crop with that aspect ratio.
    """
    img = _photo_tensor(_lookup(name, PHOTOS, "photo"))
    return img.clone() if size is None else center_crop_resize(img, size)


def random_photo_crop(size: int, rng: np.random.Generator, photos: tuple[str, ...] = SCENE_PHOTOS,
                      scale: tuple[float, float] = (0.25, 0.6)) -> torch.Tensor:
    """A (3, size, size) crop in [0, 1] of a random bundled photo, drawn from ``rng``.

    The crop's side is ``scale`` (a random fraction in that range) of the photo's shorter side, at
    a random position, mirrored half of the time, then resized to ``size``.
    """
    if not 0 < scale[0] <= scale[1] <= 1:
        raise ValueError(f"scale must satisfy 0 < low <= high <= 1, got {scale}")
    img = _photo_tensor(_lookup(photos[int(rng.integers(len(photos)))], PHOTOS, "photo"))
    h, w = img.shape[-2:]
    side = max(int(rng.uniform(*scale) * min(h, w)), min(size, h, w))
    top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = img[:, top:top + side, left:left + side]
    if rng.random() < 0.5:
        crop = crop.flip(-1)
    return center_crop_resize(crop, size)


def load_texture(name: str, size: int | None = None, rgb: bool = False) -> torch.Tensor:
    """A bundled greyscale texture (brick, grass, gravel) as (1, H, W) (or (3, H, W)) in [0, 1]."""
    img = _to_tensor(_skimage_array(_lookup(name, TEXTURES, "texture")))
    if size is not None:
        img = center_crop_resize(img, size)
    return img.expand(3, -1, -1).contiguous() if rgb else img


def load_faces() -> torch.Tensor:
    """scikit-image's ``lfw_subset``: 200 grey 25x25 faces (100 faces, 100 non-faces), (200, 1, 25, 25)."""
    faces = _skimage_array("lfw_subset").astype(np.float32)
    return torch.from_numpy(faces)[:, None]


def load_logo() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-image's logo as ``(rgb (3, H, W), alpha (1, H, W))`` in [0, 1].

    Note: in scikit-image 0.26 the file's alpha channel is 255 everywhere (fully opaque), so it
    is not a matte; the logo sits on a white background instead.
    """
    rgba = _to_tensor(_skimage_array("logo"))
    return rgba[:3].contiguous(), rgba[3:].contiguous()


def center_crop_resize(img: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Crop the largest centred region with the aspect ratio of ``size`` and resize to ``size``.

    Works on (C, H, W) or (N, C, H, W) tensors; uses antialiased bilinear resampling.
    """
    th, tw = (size, size) if isinstance(size, int) else size
    if th <= 0 or tw <= 0:
        raise ValueError(f"size must be positive, got {size}")
    squeeze = img.dim() == 3
    x = img[None] if squeeze else img
    h, w = x.shape[-2:]
    scale = min(h / th, w / tw)
    ch, cw = int(round(th * scale)), int(round(tw * scale))
    top, left = (h - ch) // 2, (w - cw) // 2
    x = x[..., top:top + ch, left:left + cw]
    if (ch, cw) != (th, tw):
        x = F.interpolate(x, size=(th, tw), mode="bilinear", align_corners=False, antialias=True)
    x = x.clamp(0, 1)
    return x[0] if squeeze else x


class PhotoCrops(ProceduralDataset):
    """Random square crops of the bundled photos: real images as a deterministic, endless dataset.

    Each item is a (3, size, size) tensor in [0, 1]: a crop from one of ``photos`` at a random
    position and a random scale in ``scale`` (relative to the photo's shorter side), resized to
    ``size``, randomly mirrored.
    """

    def __init__(
        self,
        size: int = 64,
        length: int = 1000,
        seed: int = 0,
        photos: tuple[str, ...] = SCENE_PHOTOS,
        scale: tuple[float, float] = (0.25, 0.6),
    ) -> None:
        super().__init__(length, seed)
        if not 0 < scale[0] <= scale[1] <= 1:
            raise ValueError(f"scale must satisfy 0 < low <= high <= 1, got {scale}")
        for name in photos:
            _lookup(name, PHOTOS, "photo")
        self.size, self.photos, self.scale = size, tuple(photos), scale

    def generate(self, index: int, rng: np.random.Generator) -> torch.Tensor:
        return random_photo_crop(self.size, rng, self.photos, self.scale)
