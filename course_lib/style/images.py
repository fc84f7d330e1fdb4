"""Content and style images for the style-transfer lectures, including the student's own.

* :func:`style_image`: a named style image: a procedural painting (:mod:`course_lib.style.patterns`),
  a bundled texture photograph (``"brick"``, ``"grass"``, ``"gravel"``), or a bundled colour image
  with a painterly look (``"ihc"``, a stained tissue slide; ``"hubble"``, the Hubble deep field).
* :func:`load_user_image`: an image from a local path or, in full mode only, a URL (downloaded
  once with a timeout into the course's cache). Quick mode, CI and the tests never download.

All images are (3, size, size) float32 tensors in [0, 1] (centre crop, then resize).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

import torch

from course_lib.config import is_quick
from course_lib.data.download import cache_dir
from course_lib.data.folders import read_image
from course_lib.data.photos import PHOTOS, TEXTURES, center_crop_resize, load_photo, load_texture
from course_lib.style.patterns import KINDS, painterly

#: bundled colour images that work as style images
BUNDLED_STYLES: tuple[str, ...] = ("ihc", "hubble")


def style_names() -> list[str]:
    """Every name :func:`style_image` accepts."""
    return [*KINDS, *TEXTURES, *BUNDLED_STYLES]


def style_image(name: str, size: int = 256, seed: int = 0) -> torch.Tensor:
    """A style image by name (see :func:`style_names`), (3, size, size) in [0, 1]."""
    if name in KINDS:
        return painterly(name, size, seed=seed)
    if name in TEXTURES:
        return load_texture(name, size, rgb=True)
    if name in BUNDLED_STYLES:
        return load_photo(name, size)
    raise ValueError(f"unknown style {name!r}; choose one of {style_names()}, or load your own with load_user_image")


def load_user_image(source: str | os.PathLike, size: int = 512, timeout: float = 20.0) -> torch.Tensor:
    """Your own image, (3, size, size) in [0, 1]: a path, a bundled photo name, or an http(s) URL.

    URLs are downloaded only in full mode (``COURSE_MODE=full``), with ``timeout`` seconds, into
    ``<course cache>/user_images/`` (named by the URL's hash, so a second call reuses the file).
    In quick mode a URL raises an error that says what to do instead.
    """
    text = str(source)
    if text in PHOTOS:
        return load_photo(text, size)
    if text.startswith(("http://", "https://")):
        if is_quick():
            raise RuntimeError(
                f"not downloading {text}: quick mode never touches the network. Set COURSE_MODE=full, "
                "or download the image yourself and pass its path."
            )
        path = _download(text, timeout)
    else:
        path = Path(text).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"no image at {path}; pass an existing file, a URL (full mode), or one of {sorted(PHOTOS)}")
    return center_crop_resize(read_image(path), size)


def _download(url: str, timeout: float) -> Path:
    folder = cache_dir() / "user_images"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(url.split("?")[0]).suffix.lower() or ".img"
    target = folder / (hashlib.sha256(url.encode()).hexdigest()[:16] + suffix)
    if target.is_file():
        return target
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=timeout) as r:
            shutil.copyfileobj(r, f, length=1 << 20)
        os.replace(tmp, target)
    except Exception as exc:
        raise RuntimeError(f"could not download {url} ({type(exc).__name__}: {exc}); "
                           "download it yourself and pass the file's path") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


class FolderCrops(torch.utils.data.Dataset):
    """Random square crops of every image below ``root``, (3, size, size) in [0, 1] (for full-scale training).

    Each image is resized so that its shorter side is ``load_size``, then a random ``size`` crop
    is taken and mirrored with probability 1/2 (torch's RNG, seeded per sample by the trainer).
    Johnson et al. used 256x256 COCO images (``load_size = size = 256``); Huang & Belongie resized
    to 512 and cropped 256. Every file's header is checked when the loader is built (``verify``),
    so a corrupt file fails before training; ``skip_corrupt=True`` leaves such files out with a warning.
    """

    def __init__(self, root: str | os.PathLike, size: int = 256, load_size: int | None = None,
                 verify: bool = True, skip_corrupt: bool = False) -> None:
        from course_lib.data.folders import list_images

        self.root = root
        self.files = list_images(root)
        if not self.files:
            raise ValueError(f"no images found below {root}")
        if verify or skip_corrupt:
            self.verify(decode=False, skip_corrupt=skip_corrupt)
        self.size, self.load_size = size, load_size or size
        if self.load_size < size:
            raise ValueError(f"load_size {self.load_size} must be >= size {size}")

    def __len__(self) -> int:
        return len(self.files)

    def verify(self, decode: bool = True, skip_corrupt: bool = False) -> None:
        """Check every file (see :func:`course_lib.data.folders.readable_only`)."""
        from course_lib.data.folders import readable_only

        self.files = readable_only(self.files, f"FolderCrops({self.root})", decode=decode, skip_corrupt=skip_corrupt)

    def __getitem__(self, index: int) -> torch.Tensor:
        from torchvision.transforms import v2

        img = read_image(self.files[index])
        img = v2.functional.resize(img, [self.load_size], antialias=True)
        h, w = img.shape[-2:]
        top = int(torch.randint(0, h - self.size + 1, ()))
        left = int(torch.randint(0, w - self.size + 1, ()))
        img = img[:, top:top + self.size, left:left + self.size]
        if torch.rand(()) < 0.5:
            img = img.flip(-1)
        return img.clamp(0, 1).contiguous()
