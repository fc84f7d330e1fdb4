"""Opt-in downloads of the real benchmark data sets: registry, checksums, safe extraction, cache.

Nothing in the course downloads by itself: quick mode and the tests use procedural data and the
photos bundled with scikit-image. ``download(name)`` is for full-mode runs on a machine with a
network. It

1. looks ``name`` up in :data:`REGISTRY` (mirrors, sha256, size, layout, licence);
2. streams the archive to ``<cache>/downloads/<file>.part``, checks its sha256, renames it;
3. extracts it *safely* (no absolute paths, no ``..``, no links leaving the target, no devices)
   into a temporary folder, then renames that to ``<cache>/<name>``;
4. returns the folder, and on later calls returns it at once.

The cache is ``$COURSE_DATA_DIR`` if set, else the repository's ``datasets/`` folder when
course_lib is used from a clone, else ``~/.cache/course_lib``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

_CYCLEGAN = "https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/"
_CYCLEGAN_MIRROR = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/"
_PIX2PIX = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/"
_PIX2PIX_OLD = "https://people.eecs.berkeley.edu/~tinghuiz/projects/pix2pix/datasets/"


@dataclass(frozen=True)
class DatasetSpec:
    """One downloadable data set.

    ``sha256`` is ``None`` when the course has not verified the archive's checksum yet; such a
    data set downloads only with ``download(name, sha256=...)`` or ``allow_unverified=True``
    (the computed checksum is printed so it can be added here).
    """

    name: str
    urls: tuple[str, ...]
    filename: str
    sha256: str | None
    size_bytes: int | None
    layout: str  # "paired" (pix2pix A|B files) or "unpaired" (trainA/trainB) or "images"
    subdir: str  # folder inside the archive that holds the data
    licence: str
    description: str


def _cyclegan(name: str, sha256: str, size: int, description: str) -> DatasetSpec:
    # Checksums and sizes: tensorflow/datasets, tensorflow_datasets/url_checksums/cycle_gan.txt.
    return DatasetSpec(
        name, (_CYCLEGAN + f"{name}.zip", _CYCLEGAN_MIRROR + f"{name}.zip"), f"{name}.zip", sha256,
        size, "unpaired", name, "research use; images from ImageNet/Flickr/WikiArt (see CycleGAN)",
        description,
    )


def _pix2pix(name: str, description: str, licence: str) -> DatasetSpec:
    return DatasetSpec(
        name, (_PIX2PIX + f"{name}.tar.gz", _PIX2PIX_OLD + f"{name}.tar.gz"), f"{name}.tar.gz", None,
        None, "paired", name, licence, description,
    )


REGISTRY: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        _pix2pix("facades", "CMP Facades: 400 label maps | photos of building facades (256x256).",
                 "CMP Facade Database, research use (Tylecek & Sara, 2013)"),
        _pix2pix("maps", "Google Maps: 1096 aerial photos | map tiles.", "Google Maps data, research use"),
        _pix2pix("edges2shoes", "50k shoe photos | HED edge maps (UT Zappos50K).", "UT Zappos50K, research use"),
        _pix2pix("cityscapes", "2975 Cityscapes photos | semantic label colour maps.",
                 "Cityscapes licence (registration required for the original data)"),
        _cyclegan("horse2zebra", "a74d9d392eecca9966b51287a76ca126af473d9de4f3e8fc0e9cda08fa1730a1",
                  116867962, "Horses and zebras from ImageNet, unpaired."),
        _cyclegan("summer2winter_yosemite",
                  "167fe1726807a9d22bd106b4a6c0bd7953b688af924ac1bf967439c4961e49f9", 132640856,
                  "Yosemite photos in summer and in winter (Flickr), unpaired."),
        _cyclegan("monet2photo", "88f91b00fc228f97c9411fbf1880ec1d119c98f1722e4cfcfaa2fb35fac05b04",
                  305231073, "Monet paintings and landscape photos, unpaired."),
        _cyclegan("apple2orange", "845a191e9af8926408ea597001cd03a452e3300a1f44a79fe329b3d59f6e3eb8",
                  78456409, "Apples and oranges from ImageNet, unpaired."),
    )
}


def cache_dir() -> Path:
    """Where downloads and extracted data sets live (see the module docstring)."""
    env = os.environ.get("COURSE_DATA_DIR")
    if env:
        return Path(env).expanduser()
    repo_datasets = Path(__file__).resolve().parents[2] / "datasets"
    if (repo_datasets / "README.md").is_file():
        return repo_datasets
    return Path.home() / ".cache" / "course_lib"


def sha256_of(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify_sha256(path: str | os.PathLike, expected: str) -> None:
    """Raise ``ValueError`` if ``path``'s sha256 differs from ``expected``."""
    actual = sha256_of(path)
    if actual != expected.lower():
        raise ValueError(
            f"checksum mismatch for {path}: expected sha256 {expected}, got {actual}. The download "
            "is incomplete or the file was changed on the server; delete it and try again, or try "
            "another mirror."
        )


# ---------------------------------------------------------------------------- safe extraction
def _check_member_name(name: str, archive: Path) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ValueError(f"unsafe archive {archive}: member {name!r} has an absolute path; refusing to extract.")
    if ".." in path.parts:
        raise ValueError(f"unsafe archive {archive}: member {name!r} points outside the target (..); refusing to extract.")
    return path


def _inside(target: Path, member: PurePosixPath, link: str) -> bool:
    resolved = (target / member.parent / link).resolve()
    return resolved == target.resolve() or target.resolve() in resolved.parents


def safe_extract(archive: str | os.PathLike, target: str | os.PathLike) -> None:
    """Extract a ``.zip``, ``.tar``, ``.tar.gz`` or ``.tgz`` into ``target``, refusing anything unsafe.

    Rejected (``ValueError``, nothing written): absolute paths, ``..`` components, symbolic or hard
    links whose destination leaves ``target``, device files and FIFOs.
    """
    archive, target = Path(archive), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                _check_member_name(info.filename, archive)
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise ValueError(f"unsafe archive {archive}: member {info.filename!r} is a symbolic link.")
            zf.extractall(target)
        return
    try:
        tf = tarfile.open(archive)
    except tarfile.TarError as exc:
        raise ValueError(f"{archive} is neither a zip nor a tar archive ({exc}); delete it and download again.") from exc
    with tf:
        members = tf.getmembers()
        for m in members:
            member = _check_member_name(m.name, archive)
            if m.issym() and not _inside(target, member, m.linkname):
                raise ValueError(f"unsafe archive {archive}: link {m.name!r} -> {m.linkname!r} leaves the target.")
            if m.islnk():
                _check_member_name(m.linkname, archive)
            if m.isdev() or m.isfifo():
                raise ValueError(f"unsafe archive {archive}: member {m.name!r} is a device or FIFO.")
        if hasattr(tarfile, "data_filter"):
            tf.extractall(target, members=members, filter="data")
        else:  # pragma: no cover - Python builds without PEP 706
            tf.extractall(target, members=members)


# ---------------------------------------------------------------------------- download
def _fetch(urls: tuple[str, ...], dest: Path, timeout: float) -> None:
    errors = []
    for url in urls:
        part = dest.with_name(dest.name + ".part")
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as f:
                shutil.copyfileobj(response, f, length=1 << 20)
            os.replace(part, dest)
            return
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            errors.append(f"  {url}: {exc}")
            part.unlink(missing_ok=True)
    raise ConnectionError(
        f"could not download {dest.name} from any mirror:\n" + "\n".join(errors) + "\n"
        f"If this machine is offline, download the file elsewhere and put it at {dest}, then call "
        "download() again; quick mode needs no download at all."
    )


def download(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    sha256: str | None = None,
    allow_unverified: bool = False,
    registry: dict[str, DatasetSpec] | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download and extract data set ``name``; return the folder that holds its data.

    Args:
        name: a key of :data:`REGISTRY` (``"facades"``, ``"horse2zebra"``, ...).
        root: cache folder (default :func:`cache_dir`).
        sha256: expected checksum, overriding the registry's (required for unverified entries
            unless ``allow_unverified``).
        allow_unverified: accept an entry without a known checksum; its sha256 is printed.
        registry: an alternative registry (the tests use one with ``file://`` URLs).
        timeout: seconds before a silent server counts as unreachable.
    """
    registry = REGISTRY if registry is None else registry
    if name not in registry:
        raise ValueError(f"unknown data set {name!r}; available: {', '.join(sorted(registry))}")
    spec = registry[name]
    root = Path(root) if root is not None else cache_dir()
    final = root / spec.name
    marker = final / ".complete"
    if marker.is_file():
        return final / spec.subdir if (final / spec.subdir).is_dir() else final
    expected = sha256 or spec.sha256
    if expected is None and not allow_unverified:
        raise ValueError(
            f"the course has no verified sha256 for {name!r} yet. Pass download({name!r}, sha256=...) "
            "if you know it, or allow_unverified=True to accept the file and print its checksum."
        )
    downloads = root / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    archive = downloads / spec.filename
    if not archive.is_file():
        print(f"downloading {name} ({spec.size_bytes / 1e6:.0f} MB) ..." if spec.size_bytes else f"downloading {name} ...")
        _fetch(spec.urls, archive, timeout)
    if expected is not None:
        verify_sha256(archive, expected)
    else:
        print(f"{name}: sha256 {sha256_of(archive)} (unverified; add it to the registry)")
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        safe_extract(archive, tmp)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    marker.write_text(f"{spec.filename} {expected or 'unverified'}\n")
    return final / spec.subdir if (final / spec.subdir).is_dir() else final
