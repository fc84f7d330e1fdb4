"""Opt-in downloads of the real benchmark data sets: registry, checksums, safe extraction, cache.

Nothing in the course downloads by itself: quick mode and the tests use procedural data and the
photos bundled with scikit-image. ``download(name)`` is for full-mode runs on a machine with a
network. It

1. looks ``name`` up in :data:`REGISTRY` (mirrors, sha256, size, layout, licence);
2. fetches the archive with `pooch <https://www.fatiando.org/pooch/>`_ (imported only then, so
   ``import course_lib`` works without it), trying the mirrors in order: each try streams into a
   temporary file in ``<cache>/downloads/`` and becomes ``<file>`` only once its sha256 matches;
   the size and sha256 of an archive already there are checked before it is used;
3. extracts it with :func:`safe_extract` into a fresh temporary folder, then renames that to
   ``<cache>/<name>``;
4. returns the folder, and on later calls returns it at once.

An entry without a pinned sha256 downloads only with ``sha256=...`` or ``allow_unverified=True``,
and an unverified archive is fetched over https only: over plain http anyone on the network path
could swap it, and nothing would notice. With ``$COURSE_OFFLINE`` set (and under the tests'
network guard) nothing is fetched: a missing archive is a :class:`ConnectionError` saying where
to put it, which :func:`try_download` turns into the course's offline data.

Extraction guarantees (:func:`safe_extract`). Every member of the archive is checked *before*
anything is written; the archive is refused with a :class:`UnsafeArchiveError` (a ``ValueError``
naming the archive and the member) when a member

* has an absolute path, a drive letter (``C:``), a ``..`` component, a NUL character or an empty
  name;
* is a symbolic link or a hard link, whatever it points to (data set archives need none, and
  links are how extraction escapes its folder: CVE-2007-4559, CVE-2025-4517), in a tar or a zip
  (zip marks symbolic links with ``S_IFLNK`` in the external attributes);
* is a device, a FIFO, a socket or any other special file;
* would overwrite another member: the same name twice, a file where a folder is needed (or the
  other way round), or two names that differ only by case (they collide on macOS and Windows).

A truncated or corrupt archive raises :class:`CorruptArchiveError` (a ``ValueError``) saying where
the file is and to delete it and download it again. The files are written by this module, not by
``tarfile``/``zipfile``'s extractors (whose filters have had bypasses): each one is created with
``O_EXCL`` and ``O_NOFOLLOW`` inside a freshly created private folder, after checking that its
resolved path lies inside that folder, with mode 0644 (folders 0755) whatever the archive says.
Only when every member is written is the folder renamed to the target, so a refused or corrupt
archive leaves the target as it was (absent, or the empty folder it was).

The cache is ``$COURSE_DATA_DIR`` if set, else the repository's ``datasets/`` folder when
course_lib is used from a clone, else ``~/.cache/course_lib``.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import re
import shutil
import stat
import tarfile
import tempfile
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

_CYCLEGAN = "https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/"
_CYCLEGAN_MIRROR = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/"
_PIX2PIX = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/"
_PIX2PIX_OLD = "https://people.eecs.berkeley.edu/~tinghuiz/projects/pix2pix/datasets/"


@dataclass(frozen=True)
class DatasetSpec:
    """One downloadable data set.

    ``sha256`` is ``None`` when the course has not verified the archive's checksum yet; such a
    data set downloads only with ``download(name, sha256=...)`` or ``allow_unverified=True``
    (over https only; the computed checksum is printed so it can be added here).

    ``layout`` says how the extracted files are organised:

    * ``"paired"``: pix2pix's ``<split>/*.jpg``, each file holding A and B side by side;
    * ``"paired-folders"``: ``<split>A/`` and ``<split>B/`` whose files pair up by name
      (``1_A.jpg`` with ``1_B.jpg``, or ``1.jpg`` with ``1.jpg``); both paired layouts are read
      by :class:`course_lib.data.PairedFolder`;
    * ``"unpaired"``: CycleGAN's ``trainA/``, ``trainB/`` with unrelated images;
    * ``"images"`` (or another loader's name, e.g. ``"matting"``): read by that loader.
    """

    name: str
    urls: tuple[str, ...]
    filename: str
    sha256: str | None
    size_bytes: int | None
    layout: str
    subdir: str  # folder inside the archive that holds the data
    licence: str
    description: str


def _cyclegan(name: str, sha256: str, size: int, description: str, layout: str = "unpaired",
              licence: str = "research use; images from ImageNet/Flickr/WikiArt (see CycleGAN)") -> DatasetSpec:
    # Checksums and sizes: tensorflow/datasets, tensorflow_datasets/url_checksums/cycle_gan.txt
    # (lines "URL SIZE SHA256" for https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/*.zip).
    # The same file is served over http by the efrosgans mirror; the sha256 makes http safe here.
    return DatasetSpec(
        name, (_CYCLEGAN + f"{name}.zip", _CYCLEGAN_MIRROR + f"{name}.zip"), f"{name}.zip", sha256,
        size, layout, name, licence, description,
    )


def _pix2pix(name: str, description: str, licence: str) -> DatasetSpec:
    # No published checksum for the pix2pix .tar.gz archives (TensorFlow Datasets has none either):
    # unverified, so download() fetches them over https only unless sha256=... is given.
    return DatasetSpec(
        name, (_PIX2PIX + f"{name}.tar.gz", _PIX2PIX_OLD + f"{name}.tar.gz"), f"{name}.tar.gz", None,
        None, "paired", name, licence, description,
    )


REGISTRY: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        # pix2pix's facades, maps and cityscapes, as released for CycleGAN: the same images split
        # into trainA/ (photos) and trainB/ (label maps, map tiles), testA/, testB/, whose files
        # pair up by name (n_A.jpg <-> n_B.jpg; the CycleGAN repository's
        # datasets/prepare_cityscapes_dataset.py writes exactly this layout, and its
        # combine_A_and_B.py --use_AB pairs it). These zips have a pinned sha256, the .tar.gz
        # archives of the pix2pix server have not. PairedFolder refuses folders whose names do not
        # pair up, so a layout surprise stops with an error instead of training on shuffled pairs.
        _cyclegan("facades", "9a31ebf3a31b9b5cd195dd5bf62e9308e00cb94604d1019e3889ac84248695c0", 35135868,
                  "CMP Facades: 400 photos of building facades and their label maps (trainA/trainB).",
                  "paired-folders", "CMP Facade Database, research use (Tylecek & Sara, 2013)"),
        _cyclegan("maps", "639534f69dbf9f36bef8d6292a7698006361221f83f0285d7c9ca78afe6e8a9e", 1476754427,
                  "Google Maps: 1096 aerial photos and map tiles (trainA/trainB).", "paired-folders",
                  "Google Maps data, research use"),
        _pix2pix("edges2shoes", "50k shoe photos | HED edge maps (UT Zappos50K).", "UT Zappos50K, research use"),
        _cyclegan("cityscapes", "d2f6910fd056c1ee9873777ae838e7ac4a2c833598ae62a04188e5ab2f4ea036", 279601602,
                  "2975 Cityscapes photos and semantic label colour maps (trainA/trainB).", "paired-folders",
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
class UnsafeArchiveError(ValueError):
    """An archive member that :func:`safe_extract` refuses (see the module docstring)."""


class CorruptArchiveError(ValueError):
    """An archive that is truncated, corrupt, or not a zip/tar file at all."""


#: the longest member name accepted (dataset names are short; long ones only serve path tricks)
MAX_NAME_CHARS = 1024
_CHUNK = 1 << 20
#: what the zip and tar readers raise on a truncated or damaged archive
_READ_ERRORS = (EOFError, zlib.error, zipfile.BadZipFile, tarfile.TarError, OSError, RuntimeError)
#: gzip, bzip2, xz: a file that starts like this but does not open is a damaged archive
_COMPRESSED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ")


@dataclass(frozen=True)
class _Member:
    """One archive entry after checking: where it goes and how to read it."""

    parts: tuple[str, ...]  # path components under the target, never empty, never ".."
    is_dir: bool
    handle: object  # the TarInfo or ZipInfo to read the data from


def _refuse(archive: Path, name: str, why: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(
        f"unsafe archive {archive}: member {name!r} {why}. Nothing was extracted. Data set archives "
        "hold only plain files and folders; delete this file and download it again from the "
        "registry's mirrors (download() checks its sha256), or ask whoever gave it to you."
    )


def _corrupt(archive: Path, exc: BaseException | str) -> CorruptArchiveError:
    detail = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    return CorruptArchiveError(
        f"archive {archive} is incomplete or corrupt ({detail}); nothing was extracted. The "
        f"download was probably interrupted: delete {archive} and download it again."
    )


def _member_parts(name: str, archive: Path) -> tuple[str, ...]:
    """The path components of member ``name`` under the target; raise if it could leave it."""
    if not name or "\x00" in name:
        raise _refuse(archive, name, "has an empty name or a NUL character")
    if len(name) > MAX_NAME_CHARS:
        raise _refuse(archive, name[:60] + "...", f"has a name longer than {MAX_NAME_CHARS} characters")
    # Windows tools write "\" as the separator, and Windows would honour it: treat it as one.
    unified = name.replace("\\", "/")
    if unified.startswith("/") or re.match(r"^[A-Za-z]:", unified):
        raise _refuse(archive, name, "has an absolute path")
    parts = tuple(p for p in PurePosixPath(unified).parts if p not in ("", "."))
    if ".." in parts:
        raise _refuse(archive, name, "points outside the target (a '..' component)")
    if any(":" in p for p in parts):
        # "a:b" is an NTFS alternate data stream or a drive; no data set needs a colon.
        raise _refuse(archive, name, "has a ':' in its path (a drive or an alternate data stream on Windows)")
    return parts


def _tar_kind(info: tarfile.TarInfo) -> str | None:
    """Why a tar member is refused (its kind), or ``None`` for a plain file or folder."""
    if info.isreg() or info.isdir():
        return None
    if info.issym():
        return f"is a symbolic link (-> {info.linkname!r})"
    if info.islnk():
        return f"is a hard link (-> {info.linkname!r})"
    if info.ischr() or info.isblk():
        return "is a device file"
    if info.isfifo():
        return "is a FIFO (named pipe)"
    return f"is a special member (tar type {info.type!r})"


def _zip_kind(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member is refused (its kind), or ``None`` for a plain file or folder."""
    # Unix zips store st_mode in the high 16 bits of external_attr; DOS/Windows zips leave 0 there.
    if info.flag_bits & 0x1:
        return "is encrypted (data set archives are not)"
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind in (0, stat.S_IFREG, stat.S_IFDIR):
        if kind == stat.S_IFDIR and not info.is_dir():
            return "is marked as a folder but has data"
        return None
    if kind == stat.S_IFLNK:
        return "is a symbolic link (S_IFLNK in its external attributes)"
    if kind in (stat.S_IFCHR, stat.S_IFBLK):
        return "is a device file"
    if kind == stat.S_IFIFO:
        return "is a FIFO (named pipe)"
    return f"is a special file (mode {oct(mode)})"


def _read_members(archive: Path) -> tuple[str, list[tuple[str, str | None, bool, object]]]:
    """List the archive without writing anything: ``(kind, [(name, refusal, is_dir, handle)])``.

    Raises :class:`CorruptArchiveError` for a truncated, damaged or unknown file.
    """
    with open(archive, "rb") as f:
        head = f.read(6)
    # By content, not by suffix: a truncated zip has lost its central directory (so is_zipfile()
    # says no) but still starts with a local header.
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")) or zipfile.is_zipfile(archive):
        try:
            with zipfile.ZipFile(archive) as zf:
                infos = zf.infolist()
        except PermissionError:
            raise  # not the archive's fault
        except _READ_ERRORS as exc:
            raise _corrupt(archive, exc) from exc
        entries: list[tuple[str, str | None, bool, object]] = []
        for info in infos:
            name = info.orig_filename if "\x00" in info.orig_filename else info.filename
            entries.append((name, _zip_kind(info), info.is_dir(), info))
        return "zip", entries
    try:
        with tarfile.open(archive) as tf:
            members = tf.getmembers()  # reads every header: a truncated archive fails here
            # getmembers() stops at the end-of-archive blocks; reading the compressed stream to its
            # end makes gzip/bz2/xz check their CRC, so damaged data is caught before writing.
            while tf.fileobj.read(_CHUNK):
                pass
    except PermissionError:
        raise  # not the archive's fault
    except (EOFError, zlib.error, OSError) as exc:  # OSError includes gzip.BadGzipFile
        raise _corrupt(archive, exc) from exc
    except tarfile.ReadError as exc:
        if head.startswith(_COMPRESSED_MAGIC) or "unexpected end" in str(exc):
            raise _corrupt(archive, exc) from exc  # a gzip/bz2/xz file that does not decompress
        raise CorruptArchiveError(
            f"{archive} is neither a zip nor a tar archive ({exc}); delete it and download it again."
        ) from exc
    except tarfile.TarError as exc:
        raise _corrupt(archive, exc) from exc
    return "tar", [(m.name, _tar_kind(m), m.isdir(), m) for m in members]


def _plan(archive: Path, entries: list[tuple[str, str | None, bool, object]]) -> list[_Member]:
    """Check every entry (names, kinds, collisions) before anything is written; return the plan."""
    members: list[_Member] = []
    files: dict[tuple[str, ...], str] = {}  # casefolded path -> the member's name
    folders: dict[tuple[str, ...], str] = {}
    spelled: dict[tuple[str, ...], tuple[str, ...]] = {}  # casefolded path -> its first spelling
    for name, refusal, is_dir, handle in entries:
        parts = _member_parts(name, archive)
        if refusal is not None:
            raise _refuse(archive, name, refusal)
        if not parts:
            if is_dir:
                continue  # "./": the target itself
            raise _refuse(archive, name, "has no file name")
        # Every prefix of the path is a folder; a clash with a file (or another spelling of the same
        # name, which a case-insensitive file system would merge) means one member overwrites another.
        for depth in range(1, len(parts) + 1):
            key = tuple(p.casefold() for p in parts[:depth])
            if spelled.setdefault(key, parts[:depth]) != parts[:depth]:
                raise _refuse(archive, name, f"differs from {'/'.join(spelled[key])!r} only by case "
                                             "(they would overwrite each other on macOS and Windows)")
            leaf_is_file = depth == len(parts) and not is_dir
            if leaf_is_file:
                if key in files:
                    raise _refuse(archive, name, "appears twice (the second copy would overwrite the first)")
                if key in folders:
                    raise _refuse(archive, name, f"is a file where {folders[key]!r} needs a folder")
                files[key] = name
            else:
                if key in files:
                    raise _refuse(archive, name, f"needs a folder where {files[key]!r} is a file")
                folders.setdefault(key, name)
        members.append(_Member(parts, is_dir, handle))
    return members


def _inside(root: Path, path: Path) -> bool:
    """Whether ``path`` (resolved, links followed) is ``root`` or lies below it."""
    real_root, real = os.path.realpath(root), os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _make_dirs(root: Path, parts: tuple[str, ...]) -> Path:
    """Create ``root/parts...`` one level at a time, refusing anything but real folders."""
    path = root
    for part in parts:
        path = path / part
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            # Only folders this function made can be here (the staging folder is new and private).
            if path.is_symlink() or not path.is_dir():
                raise UnsafeArchiveError(f"refusing to extract into {path}: it is not a plain folder") from None
        if not _inside(root, path):  # pragma: no cover - impossible without a link, checked anyway
            raise UnsafeArchiveError(f"refusing to extract into {path}: it resolves outside {root}")
    return path


def _write_file(root: Path, parts: tuple[str, ...], data: IO[bytes]) -> None:
    """Create ``root/parts...`` (which must not exist) and copy ``data`` into it."""
    parent = _make_dirs(root, parts[:-1])
    path = parent / parts[-1]
    if not _inside(root, parent):  # pragma: no cover - see _make_dirs
        raise UnsafeArchiveError(f"refusing to write {path}: its folder resolves outside {root}")
    # O_EXCL: never reuse an existing file (or follow a link planted there); O_NOFOLLOW likewise
    # where the platform has it; O_BINARY on Windows. Mode 0644: archive permissions are ignored.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o644)
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(data, out, _CHUNK)


def _open_data(kind: str, handle: object, reader: object) -> IO[bytes]:
    if kind == "zip":
        return reader.open(handle)  # type: ignore[attr-defined]  # checks the CRC at the end
    stream = reader.extractfile(handle)  # type: ignore[attr-defined]
    assert stream is not None  # regular files always have data (links were refused)
    return stream


@contextmanager
def _open_reader(archive: Path, kind: str) -> Iterator[zipfile.ZipFile | tarfile.TarFile]:
    """The archive opened again for reading the members' data (listing it was a separate pass)."""
    if kind == "zip":
        with zipfile.ZipFile(archive) as zf:
            yield zf
    else:
        with tarfile.open(archive) as tf:
            yield tf


def safe_extract(archive: str | os.PathLike, target: str | os.PathLike) -> None:
    """Extract a ``.zip``, ``.tar``, ``.tar.gz`` or ``.tgz`` into ``target``, refusing anything unsafe.

    ``target`` must not exist yet or be an empty folder. Every member is checked first (see the
    module docstring for what is refused, with :class:`UnsafeArchiveError`); the files are then
    written into a new private folder next to ``target``, which is renamed to ``target`` once
    complete. On any error (unsafe member, truncated or corrupt archive, full disk) ``target`` is
    left as it was and the partial folder is removed.

    Raises:
        UnsafeArchiveError: a member that could write outside ``target`` or overwrite another.
        CorruptArchiveError: a truncated or damaged archive, or a file that is not an archive.
        ValueError: ``target`` is a non-empty folder or a file.
    """
    archive, target = Path(archive), Path(target)
    if not archive.is_file():
        raise FileNotFoundError(f"archive {archive} does not exist; download it first (download()).")
    if target.is_symlink() or (target.exists() and (not target.is_dir() or any(target.iterdir()))):
        raise ValueError(
            f"safe_extract target must be a new or empty folder, got {target}, which "
            f"{'is a link' if target.is_symlink() else 'already has content'}; pass a new folder "
            "(download() uses a fresh temporary one)."
        )
    kind, entries = _read_members(archive)
    plan = _plan(archive, entries)  # every member is checked before the first byte is written

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-extracting-", dir=target.parent))
    try:
        with _open_reader(archive, kind) as reader:
            for member in plan:
                if member.is_dir:
                    _make_dirs(staging, member.parts)
                    continue
                try:
                    with _open_data(kind, member.handle, reader) as data:
                        _write_file(staging, member.parts, data)
                except (EOFError, zlib.error, zipfile.BadZipFile, gzip.BadGzipFile, tarfile.TarError) as exc:
                    raise _corrupt(archive, f"member {'/'.join(member.parts)!r}: {type(exc).__name__}: {exc}") from exc
        os.chmod(staging, 0o755)  # mkdtemp makes it 0700
        if target.exists():
            target.rmdir()  # empty (checked above); os.replace cannot replace a folder on Windows
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


# ---------------------------------------------------------------------------- download
def _copy_local(url: str, output_file: str, pooch: object = None, check_only: bool = False) -> bool | None:
    """A pooch downloader for ``file://`` mirrors (a copy on a USB stick or a share; the tests' archives)."""
    source = Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
    if check_only:
        return source.is_file()
    shutil.copyfile(source, output_file)
    return None


def _fetch(urls: tuple[str, ...], dest: Path, timeout: float, sha256: str | None) -> None:
    """Put the archive at ``dest`` from the first mirror that serves it (with ``sha256``, if known).

    :func:`pooch.retrieve` streams each try into a temporary file next to ``dest`` (with a progress
    bar), checks its sha256 and only then renames it to ``dest``: a partial or mismatching
    download never sits under the final name. Raises ``ValueError`` when a mirror served other
    bytes than the checksum says, ``ConnectionError`` when none served anything.
    """
    try:
        import pooch  # lazily: `import course_lib` works without it (a --no-deps install)
        import requests
    except ImportError as exc:
        raise ConnectionError(
            f"cannot download {dest.name}: course_lib downloads with pooch, which is not installed "
            f"(`pip install pooch`). Or download the file elsewhere and put it at {dest}."
        ) from exc
    progress = importlib.util.find_spec("tqdm") is not None  # pooch draws its progress bar with tqdm
    errors, mismatches = [], []
    for url in urls:
        downloader = _copy_local if url.lower().startswith("file:") else \
            pooch.HTTPDownloader(progressbar=progress, timeout=timeout)
        try:
            pooch.retrieve(url, known_hash=f"sha256:{sha256.lower()}" if sha256 else None, fname=dest.name,
                           path=dest.parent, downloader=downloader)
            return
        except ValueError as exc:  # pooch: the sha256 differs (the temporary file is already deleted)
            mismatches.append(f"  {url}: {exc}")
        except (requests.exceptions.RequestException, OSError) as exc:
            errors.append(f"  {url}: {exc}")
    if mismatches:
        raise ValueError(
            f"checksum mismatch for {dest.name}: the bytes served are not the registered archive (expected "
            f"sha256 {sha256}):\n" + "\n".join(mismatches + errors) + "\nNothing was kept. The server may have "
            "changed the file; try again later or another mirror, or check the sha256 you passed."
        )
    raise ConnectionError(
        f"could not download {dest.name} from any mirror:\n" + "\n".join(errors) + "\n"
        f"If this machine is offline, download the file elsewhere and put it at {dest}, then call "
        "download() again; quick mode needs no download at all."
    )


def _authenticated(url: str) -> bool:
    """Whether a URL's content cannot be swapped by the network: https, or a local file."""
    return urllib.parse.urlsplit(url).scheme.lower() in ("https", "file")


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
        sha256: expected checksum (64 hex digits), overriding the registry's (required for
            unverified entries unless ``allow_unverified``).
        allow_unverified: accept an entry without a known checksum; it is then fetched over
            https only (never plain http) and its sha256 is printed.
        registry: an alternative registry (the tests use one with ``file://`` URLs).
        timeout: seconds before a silent server counts as unreachable.

    Raises:
        ValueError: unknown name, malformed ``sha256``, no checksum and no consent, checksum or size
            mismatch, or an archive refused by :func:`safe_extract` (unsafe or corrupt).
        ConnectionError: no mirror answered, offline mode, or pooch (the downloader) is not installed.
    """
    registry = REGISTRY if registry is None else registry
    if name not in registry:
        raise ValueError(f"unknown data set {name!r}; available: {', '.join(sorted(registry))}")
    if sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise ValueError(f"sha256 must be 64 hexadecimal characters (a SHA-256 digest), got {sha256!r}; "
                         "copy it from the data set's published checksums.")
    spec = registry[name]
    root = Path(root) if root is not None else cache_dir()
    final = root / spec.name
    marker = final / ".complete"
    if marker.is_file():
        return final / spec.subdir if (final / spec.subdir).is_dir() else final
    expected = sha256 or spec.sha256
    urls = spec.urls
    if expected is None:
        if not allow_unverified:
            raise ValueError(
                f"the course has no verified sha256 for {name!r} yet. Pass download({name!r}, sha256=...) "
                "if you know it, or allow_unverified=True to accept the file (fetched over https only) "
                "and print its checksum."
            )
        # Without a checksum, only the transport vouches for the bytes: plain http could be
        # swapped by anyone on the path (and the archive then reaches the extractor unchecked).
        urls = tuple(u for u in spec.urls if _authenticated(u))
        skipped = [u for u in spec.urls if not _authenticated(u)]
        if not urls and not (root / "downloads" / spec.filename).is_file():
            raise ValueError(
                f"refusing to download {name!r} without a checksum over plain http ({', '.join(skipped)}): "
                "anyone on the network path could replace the archive unnoticed. Pass "
                f"download({name!r}, sha256='<64 hex digits>') with the archive's published sha256, "
                f"or put a copy you trust at {root / 'downloads' / spec.filename}."
            )
        if skipped:
            print(f"{name}: no pinned sha256, so skipping the plain-http mirrors {', '.join(skipped)}")
    downloads = root / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    archive = downloads / spec.filename
    if not archive.is_file():
        remote = [u for u in urls if not u.startswith("file:")]
        if remote and _offline():
            raise ConnectionError(
                f"{name!r} is not in the cache ({final}) and COURSE_OFFLINE=1 forbids downloading it. "
                f"Unset COURSE_OFFLINE on a machine with a network, or put {spec.filename} at {archive}."
            )
        print(f"downloading {name} ({spec.size_bytes / 1e6:.0f} MB) ..." if spec.size_bytes else f"downloading {name} ...")
        _fetch(urls, archive, timeout, expected)  # pooch has checked the sha256 before the rename
        fetched = True
    else:
        fetched = False  # a cached archive, or one put there by hand: checked below like any other
    if sha256 is None and spec.sha256 is not None and spec.size_bytes is not None:
        # The registry's size comes with its checksum: a cheaper, clearer first test.
        size = archive.stat().st_size
        if size != spec.size_bytes:
            raise ValueError(
                f"{archive} has {size} bytes, expected {spec.size_bytes}: the download is incomplete or "
                f"not the registered file; delete {archive} and download it again."
            )
    if expected is not None:
        if not fetched:
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


def _offline() -> bool:
    from course_lib.config import offline

    return offline()


def try_download(name: str, root: str | os.PathLike | None = None) -> Path | None:
    """:func:`download` for notebooks that can do without the real data: ``None`` when unreachable.

    The GPU mode uses the real data sets when it can get them (cached, or downloaded with their
    pinned checksum) and the course's procedural data otherwise, saying which with one printed
    line. A checksum mismatch or an unsafe archive is still an error: only "no network" falls back.
    """
    try:
        folder = download(name, root)
    except ConnectionError as exc:
        print(f"{name}: the real data set is unavailable ({exc}); using the course's offline data instead")
        return None
    print(f"{name}: real data from {folder}")
    return folder
