"""Loaders for the folder layouts of the real benchmark data sets.

* :class:`PairedFolder`: pix2pix's layout, ``root/<split>/*.jpg`` where each file holds the input
  and the target side by side (``A | B``), as in CMP Facades, maps, edges2shoes, cityscapes; or
  the same pairs in two folders, ``root/<split>A/`` and ``root/<split>B/``, matched by file name
  (``1_A.jpg`` with ``1_B.jpg``, or ``1.jpg`` with ``1.jpg``), as in the CycleGAN release of
  facades, maps and cityscapes.
* :class:`UnpairedFolder`: CycleGAN's layout, ``root/<split>A/`` and ``root/<split>B/``.
* :class:`ImageFolder`: every image below a folder (style images, inpainting crops, ...).

Images come out as float32 tensors in **[-1, 1]** (the convention of the GAN generators that
consume them), channels first. A file that cannot be decoded raises an error naming the file.

The loaders check their files when they are built (headers only, fast; see :func:`image_problem`),
so a corrupt file stops a training run before it starts, with a list of the files to replace,
instead of crashing it at the first batch that draws the file. ``skip_corrupt=True`` leaves such
files out with a warning instead; ``dataset.verify()`` decodes every file (slower, thorough).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar, cast

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
#: how many unreadable files an error lists by name before it only counts the rest
LISTED_FILES = 10

T = TypeVar("T")


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Sorted image files below ``folder`` (recursively), by extension."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"image folder {folder} does not exist; check the path or download the data set first "
            "(course_lib.data.download)."
        )
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


#: Pillow's modes for 16-bit grey images (16-bit PNGs open as "I;16"; TIFFs may be big-endian)
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")


def _image_array(im: Image.Image, mode: str) -> np.ndarray:
    """(H, W, C) float32 array in [0, 1] of an opened image, converted to ``mode``.

    Pillow's ``convert`` clips 16-bit grey values to 255 instead of scaling them, so those are
    scaled here (by 65535). Mode ``"I"`` (32-bit integers; older Pillow opens 16-bit PNGs so) is
    taken as 16-bit data. 16-bit RGB(A) PNGs need nothing: Pillow opens them reduced to 8 bits
    per channel (correctly scaled; the low byte is lost).
    """
    if im.mode in SIXTEEN_BIT_MODES or im.mode == "I":
        grey = np.asarray(im).astype(np.float32)
        if im.mode == "I" and grey.size and (grey.min() < 0 or grey.max() > 65535):
            raise ValueError(
                f"pixel values span {grey.min():.0f}..{grey.max():.0f}, outside the 16-bit range 0..65535; "
                "32-bit integer images are not supported: save the image with 8 or 16 bits per channel"
            )
        grey = grey[..., None] / 65535.0
        if mode == "L":
            return grey
        if mode == "RGB":
            return np.repeat(grey, 3, axis=2)
        raise ValueError(f"mode must be 'RGB' or 'L' for a 16-bit grey image, got {mode!r}")
    array = np.asarray(im.convert(mode), dtype=np.uint8)
    if array.ndim == 2:
        array = array[..., None]
    return array.astype(np.float32) / 255.0


def read_image(path: str | os.PathLike, mode: str = "RGB") -> torch.Tensor:
    """Decode one image file to a (C, H, W) float tensor in [0, 1] (``mode``: ``"RGB"`` or ``"L"``).

    8-bit and 16-bit files both map their full range to [0, 1] (16-bit grey PNGs are scaled, not
    clipped). A file that cannot be decoded raises a ``ValueError`` naming the file.
    """
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            array = _image_array(im, mode)
    except (OSError, ValueError, SyntaxError) as exc:
        raise ValueError(
            f"could not read image {path}: {type(exc).__name__}: {exc}. The file is corrupt or not "
            "an image; delete or replace it (or re-download the data set)."
        ) from exc
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)


def images_by_stem(folder: str | os.PathLike) -> dict[str, Path]:
    """Image files below ``folder`` keyed by file name without extension (for pairing across folders).

    Loaders that match an image with its matte or trimap by name need one file per name: with
    ``GT01.png`` and ``GT01.jpg`` side by side either could be meant, so that raises a
    ``ValueError`` naming both files rather than silently keeping one.
    """
    index: dict[str, Path] = {}
    clashes: list[tuple[Path, Path]] = []
    for path in list_images(folder):
        if path.stem in index:
            clashes.append((index[path.stem], path))
        else:
            index[path.stem] = path
    if clashes:
        shown = "; ".join(f"{a} and {b}" for a, b in clashes[:LISTED_FILES])
        more = f" (and {len(clashes) - LISTED_FILES} more)" if len(clashes) > LISTED_FILES else ""
        raise ValueError(
            f"ambiguous file names in {folder}: files are paired by their name without extension, but "
            f"{len(clashes)} name(s) belong to two image files: {shown}{more}. Keep one file per name "
            "(delete or rename the other)."
        )
    return index


def _jpeg_is_complete(path: Path) -> bool:
    """Whether a JPEG file ends with its end-of-image marker (``FF D9``), as a complete one does.

    Only the last bytes are read. A few writers append data after the marker, so a missing marker
    is a reason to decode the file, not proof that it is damaged.
    """
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(f.tell() - 64, 0))
        return b"\xff\xd9" in f.read()


def image_problem(path: str | os.PathLike, decode: bool = False) -> str | None:
    """Why ``path`` is not a readable image file, or ``None`` when it is.

    ``decode=False`` (fast: 0.2-0.4 ms per 256x512 file, 0.1 s for 400 files; headers only): PIL opens the
    file and runs ``verify()``, which checks the header and, for PNG, every chunk's checksum up to
    the end (catching truncated files). JPEG's ``verify()`` checks nothing beyond the header, so a
    JPEG that does not end with its end-of-image marker (a download cut short) is decoded to decide.
    ``decode=True`` decodes every file: slower, but it also finds damage inside compressed data.
    """
    path = Path(path)
    try:
        with Image.open(path) as im:
            if decode:
                im.load()
                return None
            jpeg = im.format == "JPEG"
            im.verify()
        if jpeg and not _jpeg_is_complete(path):
            with Image.open(path) as im:
                im.load()
    except Exception as exc:  # PIL raises many types on bad data: OSError, SyntaxError, struct.error, ...
        return f"{type(exc).__name__}: {exc}"
    return None


def readable_only(
    items: Sequence[T],
    where: str,
    files_of: Callable[[T], Iterable[Path]] = lambda path: (cast(Path, path),),  # by default the items are paths
    decode: bool = False,
    skip_corrupt: bool = False,
) -> list[T]:
    """The ``items`` whose files are all readable images (see :func:`image_problem`).

    An item is one file or a group of files that belong together (an image with its matte and
    trimap: ``files_of`` lists them). If any file is unreadable this raises a ``ValueError`` that
    names the files (the first :data:`LISTED_FILES`, then a count) and ``where`` (the data set and
    folder); with ``skip_corrupt=True`` it warns instead and leaves those items out.
    """
    bad: dict[Path, str] = {}
    kept: list[T] = []
    for item in items:
        problems = {path: why for path in files_of(item) if (why := image_problem(path, decode)) is not None}
        bad.update(problems)
        if not problems:
            kept.append(item)
    if not bad:
        return kept
    listing = "\n".join(f"  {path}: {why}" for path, why in list(bad.items())[:LISTED_FILES])
    if len(bad) > LISTED_FILES:
        listing += f"\n  ... and {len(bad) - LISTED_FILES} more"
    if skip_corrupt and kept:
        warnings.warn(f"{where}: skipping {len(bad)} unreadable image file(s) ({len(items) - len(kept)} of "
                      f"{len(items)} items left out):\n{listing}", stacklevel=3)
        return kept
    advice = ("Remove or replace them (or re-download the data set), or pass skip_corrupt=True to leave "
              "them out with a warning." if not skip_corrupt else "No readable image is left to train on.")
    raise ValueError(f"{where}: {len(bad)} image file(s) are corrupt or not images:\n{listing}\n{advice}")


def jitter_transform(load_size: int, crop_size: int, flip: bool = True) -> v2.Transform:
    """pix2pix/CycleGAN's random jitter: resize to ``load_size``, random ``crop_size`` crop, mirror.

    Applied to several images in one call, the same crop and flip are used for all of them.
    """
    if crop_size > load_size:
        raise ValueError(f"crop_size ({crop_size}) must not exceed load_size ({load_size})")
    steps: list[v2.Transform] = [
        v2.Resize((load_size, load_size), antialias=True),
        v2.RandomCrop(crop_size),
    ]
    if flip:
        steps.append(v2.RandomHorizontalFlip())
    return v2.Compose(steps)


def _resize(img: torch.Tensor, size: int | None) -> torch.Tensor:
    if size is None or img.shape[-2:] == (size, size):
        return img
    return v2.functional.resize(img, [size, size], antialias=True)


def _pair_key(path: Path, folder: Path, letter: str) -> tuple[str, ...]:
    """What a file of ``<split>A`` or ``<split>B`` pairs by: its path without suffix and ``_A``/``_B``."""
    rel = path.relative_to(folder).with_suffix("")
    stem = rel.name[: -len(f"_{letter}")] if rel.name.endswith(f"_{letter}") else rel.name
    return (*rel.parent.parts, stem)


def pair_by_name(folder_a: str | os.PathLike, folder_b: str | os.PathLike) -> list[tuple[Path, Path]]:
    """Pairs ``(a, b)`` of the images of two folders whose names match (sorted by A's name).

    ``n_A.jpg`` pairs with ``n_B.jpg`` (CycleGAN's release of the pix2pix sets), ``n.jpg`` with
    ``n.jpg``; the extensions may differ. Raises ``ValueError`` when a file has no partner or two
    files claim the same name: pairing by position would silently train on mismatched pairs.
    """
    folder_a, folder_b = Path(folder_a), Path(folder_b)
    sides = []
    for folder, letter in ((folder_a, "A"), (folder_b, "B")):
        keyed: dict[tuple[str, ...], Path] = {}
        for path in list_images(folder):
            key = _pair_key(path, folder, letter)
            if key in keyed:
                raise ValueError(f"{keyed[key]} and {path} both pair as {'/'.join(key)!r}; keep one of them.")
            keyed[key] = path
        sides.append(keyed)
    a_side, b_side = sides
    lonely_a = sorted(str(a_side[k].relative_to(folder_a)) for k in a_side.keys() - b_side.keys())
    lonely_b = sorted(str(b_side[k].relative_to(folder_b)) for k in b_side.keys() - a_side.keys())
    if lonely_a or lonely_b:
        raise ValueError(
            f"{folder_a} and {folder_b} do not pair up by name: {len(lonely_a)} image(s) of A have no "
            f"partner in B (e.g. {lonely_a[:3]}) and {len(lonely_b)} of B none in A (e.g. {lonely_b[:3]}). "
            "Paired folders must hold the same names (1_A.jpg <-> 1_B.jpg, or 1.jpg <-> 1.jpg); "
            "for unrelated images use UnpairedFolder."
        )
    return [(a_side[k], b_side[k]) for k in sorted(a_side, key=lambda k: str(a_side[k]))]


class PairedFolder(Dataset):
    """pix2pix's aligned data, in either of the two layouts of the module docstring.

    * ``root/<split>/`` exists: each file is ``A | B`` side by side (pix2pix's archives);
    * otherwise ``root/<split>A/`` and ``root/<split>B/``: A and B in separate files, paired by
      name (:func:`pair_by_name`; the CycleGAN release of facades, maps, cityscapes).

    Args:
        root: data set folder (containing ``train/``, ``val/``, ``test/``, or ``trainA/``, ``trainB/``, ...).
        split: sub-folder to read (``"train"`` reads ``train/`` or ``trainA/`` + ``trainB/``).
        direction: ``"AtoB"`` (input = left half, or the A folder) or ``"BtoA"``.
        size: output size (square); ``None`` keeps the file's size.
        jitter: random resize-crop-mirror (training); ``load_size`` defaults to ``size * 286 / 256``.
        verify: check every file's header now (fast), so a corrupt file fails here, not mid-training.
        skip_corrupt: leave unreadable files out with a warning instead of raising.

    Items are dicts ``{"input": (3, S, S), "target": (3, S, S), "path": str}`` in [-1, 1]
    (``path``: the A|B file, or the A file of the pair).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "train",
        direction: str = "AtoB",
        size: int | None = 256,
        jitter: bool = False,
        load_size: int | None = None,
        verify: bool = True,
        skip_corrupt: bool = False,
    ) -> None:
        if direction not in ("AtoB", "BtoA"):
            raise ValueError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}")
        root = Path(root)
        self.folder = root / split
        folder_a, folder_b = root / f"{split}A", root / f"{split}B"
        #: the partner files (A folder layout): ``pairs[i] = (a, b)``; ``None`` for A|B files
        self.pairs: list[tuple[Path, Path]] | None = None
        if not self.folder.is_dir() and (folder_a.is_dir() or folder_b.is_dir()):
            self.pairs = pair_by_name(folder_a, folder_b)
            self.files = [a for a, _ in self.pairs]
            where = f"{folder_a} and {folder_b}"
        else:
            if not self.folder.is_dir():
                raise FileNotFoundError(
                    f"image folder {self.folder} does not exist (nor {folder_a} and {folder_b}); check "
                    "root and split, or download the data set first (course_lib.data.download)."
                )
            self.files = list_images(self.folder)
            where = str(self.folder)
        if not self.files:
            raise ValueError(f"no images found in {where}; is this a pix2pix-style data set?")
        if verify or skip_corrupt:
            self.verify(decode=False, skip_corrupt=skip_corrupt)
        self.direction, self.size = direction, size
        self.transform = None
        if jitter:
            if size is None:
                raise ValueError("jitter=True needs a size")
            self.transform = jitter_transform(load_size or round(size * 286 / 256), size)

    def __len__(self) -> int:
        return len(self.files)

    def _read_pair(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A and B of item ``index`` in [0, 1], before direction, jitter and resizing."""
        if self.pairs is not None:
            path_a, path_b = self.pairs[index]
            a, b = read_image(path_a), read_image(path_b)
            if a.shape[-2:] != b.shape[-2:]:
                raise ValueError(
                    f"{path_a} is {tuple(a.shape[-2:])} but its partner {path_b} is {tuple(b.shape[-2:])} "
                    "(height, width); the two images of a pair must have the same size."
                )
            return a, b
        path = self.files[index]
        ab = read_image(path)
        w = ab.shape[-1]
        if w % 2:
            raise ValueError(
                f"{path} is {w} pixels wide; a paired image must hold A and B side by side, so its "
                "width must be even (twice the height in the standard layout)."
            )
        return ab[..., : w // 2], ab[..., w // 2 :]

    def __getitem__(self, index: int) -> dict:
        a, b = self._read_pair(index)
        if self.direction == "BtoA":
            a, b = b, a
        if self.transform is not None:
            a, b = self.transform(tv_tensors.Image(a), tv_tensors.Image(b))
            a, b = a.as_subclass(torch.Tensor), b.as_subclass(torch.Tensor)
        else:
            a, b = _resize(a, self.size), _resize(b, self.size)
        return {"input": a * 2 - 1, "target": b * 2 - 1, "path": str(self.files[index])}

    def verify(self, decode: bool = True, skip_corrupt: bool = False) -> None:
        """Check every file (``decode=True``: decode it, e.g. right after a download; ``False``: headers).

        Raises a ``ValueError`` listing the unreadable files, or with ``skip_corrupt`` drops them
        with a warning (see :func:`readable_only`). In the two-folder layout both files of a pair
        are checked, and a pair with a bad partner is dropped whole.
        """
        label = f"PairedFolder({self.folder})"
        if self.pairs is None:
            self.files = readable_only(self.files, label, decode=decode, skip_corrupt=skip_corrupt)
            return
        everything = [path for pair in self.pairs for path in pair]
        good = set(readable_only(everything, label, decode=decode, skip_corrupt=skip_corrupt))
        self.pairs = [(a, b) for a, b in self.pairs if a in good and b in good]
        self.files = [a for a, _ in self.pairs]
        if decode:
            for index in range(len(self)):
                self._read_pair(index)  # partners of different sizes are refused here


class UnpairedFolder(Dataset):
    """CycleGAN's unaligned data: ``root/<split>A/`` and ``root/<split>B/`` hold the two domains.

    Item ``i`` pairs ``A[i % len(A)]`` with a B image chosen by a generator seeded with ``(seed, i)``,
    so the pairing is random (the domains are unpaired) but reproducible. ``len`` is the larger
    domain's size. Items are dicts ``{"A": (3, S, S), "B": (3, S, S)}`` in [-1, 1].
    ``verify`` and ``skip_corrupt`` work as in :class:`PairedFolder`.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "train",
        size: int | None = 256,
        jitter: bool = False,
        load_size: int | None = None,
        seed: int = 0,
        verify: bool = True,
        skip_corrupt: bool = False,
    ) -> None:
        root = Path(root)
        self.root, self.split = root, split
        self.files_a = list_images(root / f"{split}A")
        self.files_b = list_images(root / f"{split}B")
        for name, files in (("A", self.files_a), ("B", self.files_b)):
            if not files:
                raise ValueError(
                    f"{root / (split + name)} contains no images; an unpaired data set needs images "
                    "in both domains."
                )
        if verify or skip_corrupt:
            self.verify(decode=False, skip_corrupt=skip_corrupt)
        self.size, self.seed = size, seed
        self.transform = None
        if jitter:
            if size is None:
                raise ValueError("jitter=True needs a size")
            self.transform = jitter_transform(load_size or round(size * 286 / 256), size)

    def __len__(self) -> int:
        return max(len(self.files_a), len(self.files_b))

    def _load(self, path: Path) -> torch.Tensor:
        img = read_image(path)
        if self.transform is not None:
            img = self.transform(tv_tensors.Image(img)).as_subclass(torch.Tensor)
        else:
            img = _resize(img, self.size)
        return img * 2 - 1

    def __getitem__(self, index: int) -> dict:
        j = int(np.random.default_rng([self.seed, index]).integers(len(self.files_b)))
        return {"A": self._load(self.files_a[index % len(self.files_a)]), "B": self._load(self.files_b[j])}

    def verify(self, decode: bool = True, skip_corrupt: bool = False) -> None:
        """Check both domains' files, as :meth:`PairedFolder.verify` does."""
        self.files_a = readable_only(self.files_a, f"UnpairedFolder({self.root / (self.split + 'A')})",
                                     decode=decode, skip_corrupt=skip_corrupt)
        self.files_b = readable_only(self.files_b, f"UnpairedFolder({self.root / (self.split + 'B')})",
                                     decode=decode, skip_corrupt=skip_corrupt)


class ImageFolder(Dataset):
    """Every image below ``root`` as a (3, size, size) tensor in [-1, 1] (centre crop + resize).

    ``verify`` and ``skip_corrupt`` work as in :class:`PairedFolder`.
    """

    def __init__(self, root: str | os.PathLike, size: int | None = 256,
                 extensions: Sequence[str] = IMAGE_EXTENSIONS, verify: bool = True,
                 skip_corrupt: bool = False) -> None:
        self.root = Path(root)
        self.files = [p for p in list_images(root) if p.suffix.lower() in extensions]
        if not self.files:
            raise ValueError(f"no images found below {root}")
        if verify or skip_corrupt:
            self.verify(decode=False, skip_corrupt=skip_corrupt)
        self.size = size

    def verify(self, decode: bool = True, skip_corrupt: bool = False) -> None:
        """Check every file, as :meth:`PairedFolder.verify` does."""
        self.files = readable_only(self.files, f"ImageFolder({self.root})", decode=decode, skip_corrupt=skip_corrupt)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:
        from course_lib.data.photos import center_crop_resize

        img = read_image(self.files[index])
        if self.size is not None:
            img = center_crop_resize(img, self.size)
        return img * 2 - 1


def flatness(image: torch.Tensor, tolerance: float = 0.04) -> float:
    """Fraction of pixels whose right and lower neighbours have (nearly) the same colour, in [0, 1].

    ``image``: (3, H, W) in [-1, 1] or [0, 1]. A label map is piecewise constant (about 0.9 even
    after JPEG compression); a photo has texture and noise everywhere (well under 0.5).
    """
    if image.dim() != 3:
        raise ValueError(f"flatness expects one (C, H, W) image, got shape {tuple(image.shape)}")
    dx = (image[:, :, 1:] - image[:, :, :-1]).abs().amax(0)[:-1]
    dy = (image[:, 1:, :] - image[:, :-1, :]).abs().amax(0)[:, :-1]
    return float(((dx < tolerance) & (dy < tolerance)).float().mean())


def labels_to_photo(root: str | os.PathLike, split: str = "train", size: int | None = 256, probe: int = 8,
                    **kwargs) -> PairedFolder:
    """A :class:`PairedFolder` whose ``input`` is the label map and ``target`` the photo.

    Data sets disagree on which side holds the labels (pix2pix's facades A|B files: A is the
    photo; CycleGAN's copies: trainA photos, trainB labels). Instead of trusting the layout, this
    looks at up to ``probe`` pairs: the side with the flatter images (:func:`flatness`) is the
    label map. If neither side is clearly flatter the folder is not a labels/photo set: an error.
    """
    data = PairedFolder(root, split, direction="BtoA", size=size, **kwargs)
    n = min(probe, len(data))
    a_flat = sum(flatness(data._read_pair(i)[0]) for i in range(n)) / n
    b_flat = sum(flatness(data._read_pair(i)[1]) for i in range(n)) / n
    if abs(a_flat - b_flat) < 0.2:
        raise ValueError(f"{root}: cannot tell the label maps from the photos (flat pixels: A {a_flat:.2f}, "
                         f"B {b_flat:.2f}); is this a labels/photo data set such as facades or cityscapes?")
    data.direction = "AtoB" if a_flat > b_flat else "BtoA"
    return data
