"""Loaders for the folder layouts of real matting data sets (downloaded by you, read offline).

Two kinds of layout exist:

* **image + alpha (+ trimap)**: real photographs with a ground-truth matte, the *evaluation* sets.
  ``"alphamatting"``: the 27 training images of alphamatting.com (Rhemann et al. 2009), unpacked
  from its three archives ``input_training_lowres.zip``, ``gt_training_lowres.zip`` and
  ``trimap_training_lowres.zip`` into one folder::

      root/input_training_lowres/GT01.png ... GT27.png
      root/gt_training_lowres/GT01.png ...
      root/trimap_training_lowres/Trimap1/GT01.png ...   (and Trimap2/, a coarser trimap)

  ``"aim500"``: AIM-500 (Li et al., "Deep Automatic Natural Image Matting", IJCAI 2021)::

      root/original/*.jpg   root/mask/*.png (the alpha mattes)   root/trimap/*.png

* **foreground + alpha**: objects with their colours and mattes, to be composited over
  backgrounds, the *training* sets. ``"distinctions646"`` (Qiao et al., "Attention-Guided
  Hierarchical Structure Aggregation for Image Matting", CVPR 2020)::

      root/Train/FG/*.png   root/Train/GT/*.png   (and Test/FG, Test/GT)

  Composition-1k (Xu et al. 2017) has the same structure; pass its folder names explicitly.

Files are matched by name without extension (two files with one name, ``GT01.png`` and
``GT01.jpg``, are an error). Alpha mattes may be grey (8 or 16 bits) or carry the matte in their
alpha channel (RGBA / LA files, see :func:`read_alpha`). Trimap files should hold 0 / 128 / 255;
values in between (from JPEG compression or resizing) are snapped to the nearest of the three.
Every file's header is checked when a loader is built, so a corrupt file fails before training. The course
ships none of these data sets and has no verified checksums for them, so they are not in
``course_lib.data.REGISTRY``: download them from their authors (see ``datasets/README.md``),
unpack, and point these classes at the folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset

from course_lib.data.folders import images_by_stem, read_image, readable_only
from course_lib.matting.data import photo_crop
from course_lib.matting.trimap import make_trimap


@dataclass(frozen=True)
class MattingLayout:
    """Sub-folders of one data set (relative to its root); ``trimap=None``: make trimaps from alpha."""

    image: str
    alpha: str
    trimap: str | None = None


LAYOUTS: dict[str, MattingLayout] = {
    "alphamatting": MattingLayout("input_training_lowres", "gt_training_lowres", "trimap_training_lowres/Trimap1"),
    "alphamatting-trimap2": MattingLayout("input_training_lowres", "gt_training_lowres", "trimap_training_lowres/Trimap2"),
    "aim500": MattingLayout("original", "mask", "trimap"),
    "distinctions646": MattingLayout("Train/FG", "Train/GT"),
    "distinctions646-test": MattingLayout("Test/FG", "Test/GT"),
}


def _layout(layout: str | MattingLayout) -> MattingLayout:
    if isinstance(layout, MattingLayout):
        return layout
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {sorted(LAYOUTS)} or pass a MattingLayout")
    return LAYOUTS[layout]


Item = tuple[str, Path, Path, Path | None]  # (name, image, alpha, trimap or None)


def _matched(root: Path, layout: MattingLayout) -> list[Item]:
    images, alphas = images_by_stem(root / layout.image), images_by_stem(root / layout.alpha)
    trimaps = images_by_stem(root / layout.trimap) if layout.trimap else {}
    if not images:
        raise ValueError(f"no images in {root / layout.image}; is {root} a data set with this layout?")
    missing = sorted(set(images) - set(alphas))
    if missing:
        raise ValueError(f"{len(missing)} images have no alpha matte in {root / layout.alpha} "
                         f"(e.g. {missing[0]!r}); the files must share their names")
    if layout.trimap:
        missing = sorted(set(images) - set(trimaps))
        if missing:
            raise ValueError(f"{len(missing)} images have no trimap in {root / layout.trimap} (e.g. {missing[0]!r})")
    return [(k, images[k], alphas[k], trimaps.get(k)) for k in sorted(images)]


def _checked(items: list[Item], where: str, decode: bool, skip_corrupt: bool) -> list[Item]:
    """``items`` whose image, matte and trimap all read (an item with one bad file is bad)."""
    return readable_only(items, where, files_of=lambda item: [p for p in item[1:] if p is not None],
                         decode=decode, skip_corrupt=skip_corrupt)


def read_alpha(path: str | os.PathLike) -> torch.Tensor:
    """An alpha matte file as (1, H, W) in [0, 1].

    Mattes come in two kinds: grey images (8 or 16 bits: the grey level is alpha), and images
    with an alpha channel (RGBA / LA PNGs, 8 or 16 bits), where alpha is that channel and the
    colours are irrelevant (often white). Reading the latter as grey would give
    the colour, so alpha would be 1 where the matte is 0.25. An alpha channel that is opaque
    everywhere carries no matte (some programs save grey mattes as RGBA): then the grey level is used.
    A colour key (PNG ``tRNS`` without an alpha channel) is ignored: a grey matte may mark black as
    transparent, and its grey levels are still the matte.
    """
    path = Path(path)
    try:
        with Image.open(path) as im:
            has_alpha = im.mode in ("RGBA", "LA", "La", "RGBa", "PA")
            if has_alpha:
                im.load()
                alpha = np.asarray(im.convert("RGBA").getchannel("A"), dtype=np.float32) / 255.0
    except (OSError, ValueError, SyntaxError) as exc:
        raise ValueError(f"could not read alpha matte {path}: {type(exc).__name__}: {exc}. The file is corrupt "
                         "or not an image; delete or replace it.") from exc
    if has_alpha and alpha.min() < 1.0:
        return torch.from_numpy(alpha)[None]
    return read_image(path, mode="L")  # grey 8- or 16-bit matte (or an opaque alpha channel: use the grey)


def read_trimap(path: str | os.PathLike) -> torch.Tensor:
    """A trimap file as (1, H, W) with values 0 / 0.5 / 1 (grey levels snapped to the nearest of 0/128/255)."""
    grey = (read_image(path, mode="L") * 255).round()
    return torch.where(grey < 64, 0.0, torch.where(grey > 191, 1.0, 0.5)).float()


def _fit(image: torch.Tensor, alpha: torch.Tensor, trimap: torch.Tensor | None, size: int | None):
    """Centre-crop to a square and resize to ``size`` (bilinear for image/alpha, nearest for the trimap)."""
    if size is None:
        return image, alpha, trimap
    h, w = image.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2

    def crop(t: torch.Tensor) -> torch.Tensor:
        return t[..., top:top + side, left:left + side][None]

    image = F.interpolate(crop(image), size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]
    alpha = F.interpolate(crop(alpha), size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]
    if trimap is not None:
        trimap = F.interpolate(crop(trimap), size=(size, size), mode="nearest")[0]
    return image.clamp(0, 1), alpha.clamp(0, 1), trimap


class MattingFolder(Dataset):
    """Real images with ground-truth alpha (and trimaps): alphamatting.com, AIM-500, ...

    Args:
        root: the data set folder.
        layout: a key of :data:`LAYOUTS` (``"alphamatting"``, ``"aim500"``) or a :class:`MattingLayout`.
        size: centre-crop and resize to ``size x size`` (``None``: keep the files' size).
        radius: trimap erosion radius used when the layout has no trimaps.
        verify: check every file's header now (fast), so a corrupt file fails here, not mid-run.
        skip_corrupt: leave out, with a warning, the items with an unreadable file instead of raising.

    Items: ``{"image": (3, H, W), "alpha": (1, H, W), "trimap": (1, H, W), "name": str}`` in [0, 1].
    """

    def __init__(self, root: str | os.PathLike, layout: str | MattingLayout = "alphamatting",
                 size: int | None = None, radius: int = 10, verify: bool = True, skip_corrupt: bool = False) -> None:
        self.root, self.layout = Path(root), _layout(layout)
        self.files = _matched(self.root, self.layout)
        if verify or skip_corrupt:
            self.verify(decode=False, skip_corrupt=skip_corrupt)
        self.size, self.radius = size, radius

    def verify(self, decode: bool = True, skip_corrupt: bool = False) -> None:
        """Check every image, matte and trimap (``decode=False``: headers only); see :func:`readable_only`."""
        self.files = _checked(self.files, f"MattingFolder({self.root})", decode, skip_corrupt)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict:
        name, img_path, alpha_path, trimap_path = self.files[index]
        image, alpha = read_image(img_path), read_alpha(alpha_path)
        if image.shape[-2:] != alpha.shape[-2:]:
            raise ValueError(f"{alpha_path} is {tuple(alpha.shape[-2:])} but {img_path} is {tuple(image.shape[-2:])}: "
                             "an image and its matte must have the same size")
        trimap = read_trimap(trimap_path) if trimap_path is not None else None
        if trimap is not None and trimap.shape[-2:] != image.shape[-2:]:
            raise ValueError(f"{trimap_path} is {tuple(trimap.shape[-2:])} but {img_path} is {tuple(image.shape[-2:])}")
        image, alpha, trimap = _fit(image, alpha, trimap, self.size)
        if trimap is None:
            trimap = make_trimap(alpha, self.radius)
        return {"image": image, "alpha": alpha, "trimap": trimap, "name": name}


class ForegroundFolder(Dataset):
    """Foregrounds with alpha (Distinctions-646, Composition-1k) composited over bundled photos.

    The way Deep Image Matting builds its training set (Sec. 3): every foreground object is
    composited over several backgrounds. Here background ``j`` of item ``i`` is a random crop of
    a bundled photo drawn from a generator seeded with ``(seed, i)``; ``len`` is
    ``backgrounds_per_foreground x`` the number of foregrounds.

    Items: ``{"image", "fg", "bg": (3, S, S), "alpha", "trimap": (1, S, S), "name": str}`` in
    [0, 1], the same keys as :class:`~course_lib.matting.data.MattingComposites`, so the same
    training task runs on either. ``verify`` and ``skip_corrupt`` work as in :class:`MattingFolder`.
    """

    def __init__(self, root: str | os.PathLike, layout: str | MattingLayout = "distinctions646",
                 size: int = 320, radius: int | tuple[int, int] = (5, 15), backgrounds_per_foreground: int = 10,
                 seed: int = 0, verify: bool = True, skip_corrupt: bool = False) -> None:
        self.root, self.layout = Path(root), _layout(layout)
        self.files = _matched(self.root, self.layout)
        if verify or skip_corrupt:
            self.verify(decode=False, skip_corrupt=skip_corrupt)
        self.size, self.seed, self.per = size, seed, backgrounds_per_foreground
        self.radius = (radius, radius) if isinstance(radius, int) else tuple(radius)

    def __len__(self) -> int:
        return len(self.files) * self.per

    def verify(self, decode: bool = True, skip_corrupt: bool = False) -> None:
        """Check every foreground and matte, as :meth:`MattingFolder.verify` does."""
        self.files = _checked(self.files, f"ForegroundFolder({self.root})", decode, skip_corrupt)

    def __getitem__(self, index: int) -> dict:
        name, fg_path, alpha_path, _ = self.files[index // self.per]
        fg, alpha = read_image(fg_path), read_alpha(alpha_path)
        if fg.shape[-2:] != alpha.shape[-2:]:
            raise ValueError(f"{alpha_path} is {tuple(alpha.shape[-2:])} but {fg_path} is {tuple(fg.shape[-2:])}")
        fg, alpha, _ = _fit(fg, alpha, None, self.size)
        rng = np.random.default_rng([self.seed, index])
        bg = photo_crop(self.size, rng)
        radius = int(rng.integers(self.radius[0], self.radius[1] + 1))
        return {"image": (alpha * fg + (1 - alpha) * bg).clamp(0, 1), "fg": fg, "bg": bg, "alpha": alpha,
                "trimap": make_trimap(alpha, radius), "name": name}
