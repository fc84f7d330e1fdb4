"""Hostile archives for the extraction tests, built locally (tar and zip), never downloaded.

Each :class:`Case` builds one archive inside a *sandbox* folder. The extraction target is
``sandbox/out``; ``sandbox/victim.txt`` is a file outside the target that the escaping archives
try to overwrite (``../victim.txt`` seen from the target) or to sit next to (``escaped.txt``).
Everything an archive could reach stays inside the sandbox: links climb at most one level above
the target, and the absolute paths point into the sandbox.

:func:`snapshot` records the sandbox so a test can check that a refused archive changed nothing.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

VICTIM = b"original content\n"
PAYLOAD = b"PWNED\n"


@dataclass(frozen=True)
class Case:
    """One hostile archive: ``build(sandbox)`` writes it and returns its path."""

    name: str
    build: Callable[[Path], Path]
    what: str


def prepare_sandbox(sandbox: Path) -> Path:
    """Create the sandbox with its victim file; return the extraction target (not created)."""
    (sandbox / "archives").mkdir(parents=True, exist_ok=True)
    (sandbox / "victim.txt").write_bytes(VICTIM)
    return sandbox / "out"


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> kind and content digest of everything below ``folder`` (links not followed).

    Walks with folder descriptors (``os.fwalk``): the CVE-2025-4517 archive leaves paths longer
    than PATH_MAX behind when an extractor falls for it.
    """
    state = {}
    for dirpath, dirnames, filenames, dir_fd in os.fwalk(folder):
        for name in dirnames + filenames:
            rel = os.path.normpath(os.path.join(os.path.relpath(dirpath, folder), name))
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                state[rel] = "link -> " + os.readlink(name, dir_fd=dir_fd)
            elif stat.S_ISDIR(st.st_mode):
                state[rel] = "dir"
            elif stat.S_ISREG(st.st_mode):
                fd = os.open(name, os.O_RDONLY, dir_fd=dir_fd)
                with os.fdopen(fd, "rb") as f:
                    state[rel] = "file " + hashlib.sha256(f.read()).hexdigest()
            else:
                state[rel] = "special"
    return state


# ----------------------------------------------------------------------------- tar builders
def _file(name: str, data: bytes = PAYLOAD) -> tuple[tarfile.TarInfo, io.BytesIO]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, io.BytesIO(data)


def _entry(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    if kind == tarfile.DIRTYPE:
        info.mode = 0o755
    return info, None


def _tar(sandbox: Path, name: str, entries: list[tuple[tarfile.TarInfo, io.BytesIO | None]]) -> Path:
    path = sandbox / "archives" / f"{name}.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tf:
        for info, data in entries:
            tf.addfile(info, data)
    return path


def _long_name_chain(levels: int = 16) -> tuple[list[tuple[tarfile.TarInfo, None]], str]:
    """Folders with 247-character names reached through one-letter symbolic links.

    The member names stay short (``a/b/c/...``) but their resolved path grows by 248 characters
    a level, past PATH_MAX (4096) after 16 levels: there ``os.path.realpath`` stops following
    links and carries on lexically, which is what CVE-2025-4517 exploits in tarfile's filters.
    Returns the entries and the short path of the deepest folder.
    """
    long_dir = "d" * 247
    entries, short = [], ""
    for i in range(levels):
        letter = "abcdefghijklmnopqrstuvwxyz"[i]
        entries.append(_entry(f"{short}{long_dir}", tarfile.DIRTYPE))
        entries.append(_entry(f"{short}{letter}", tarfile.SYMTYPE, long_dir))
        short += f"{letter}/"
    return entries, short.rstrip("/")


def _cve_2025_4517(sandbox: Path) -> Path:
    # 1. the long-name chain; 2. a link deep inside it climbing back to the target root (its real
    # path is too long for realpath, so realpath treats it as a plain folder); 3. "esc" through
    # that link and one ".." more: really the sandbox, lexically inside; 4. a hard link to
    # esc/victim.txt; 5. a regular file with the hard link's name, written through it.
    entries, deep = _long_name_chain()
    climb = f"{deep}/{'l' * 254}"
    entries.append(_entry(climb, tarfile.SYMTYPE, "../" * 16))
    entries.append(_entry("esc", tarfile.SYMTYPE, f"{climb}/.."))
    entries.append(_entry("h", tarfile.LNKTYPE, "esc/victim.txt"))
    entries.append(_file("h"))
    return _tar(sandbox, "cve_2025_4517", entries)


def _tar_cases() -> list[Case]:
    def simple(name: str, what: str, make: Callable[[Path], list]) -> Case:
        return Case(name, lambda sb: _tar(sb, name, make(sb)), what)

    return [
        simple("tar_dotdot", "../ path", lambda sb: [_file("ok.txt", b"x"), _file("../victim.txt")]),
        simple("tar_nested_dotdot", "a/../../ path", lambda sb: [_file("a/../../victim.txt")]),
        simple("tar_absolute", "absolute path into the sandbox", lambda sb: [_file(str(sb / "victim.txt"))]),
        simple("tar_backslash_dotdot", "..\\ path (Windows separator)", lambda sb: [_file("..\\victim.txt")]),
        simple("tar_long_name_dotdot", "pax long name ending in ../..",
               lambda sb: [_file("x" * 150 + "/../../victim.txt")]),
        simple("tar_symlink_absolute", "absolute symlink to the victim, then a file through it",
               lambda sb: [_entry("link", tarfile.SYMTYPE, str(sb / "victim.txt")), _file("link")]),
        simple("tar_symlink_parent", "symlink to .., then a file below it",
               lambda sb: [_entry("up", tarfile.SYMTYPE, ".."), _file("up/escaped.txt")]),
        simple("tar_symlink_in_subdir", "sub/up -> ../.., then a file below it",
               lambda sb: [_entry("sub", tarfile.DIRTYPE), _entry("sub/up", tarfile.SYMTYPE, "../.."),
                           _file("sub/up/escaped.txt")]),
        simple("tar_symlink_chain", "d -> ., e -> d/d/d/.. (lexically inside), file through e",
               lambda sb: [_entry("d", tarfile.SYMTYPE, "."), _entry("e", tarfile.SYMTYPE, "d/d/d/.."),
                           _file("e/escaped.txt")]),
        simple("tar_symlink_chain_overwrite", "p -> ., q -> p/p/.., file q/victim.txt overwrites",
               lambda sb: [_entry("p", tarfile.SYMTYPE, "."), _entry("q", tarfile.SYMTYPE, "p/p/.."),
                           _file("q/victim.txt")]),
        simple("tar_hardlink_dotdot", "hard link to ../victim.txt, then a file over it",
               lambda sb: [_entry("h", tarfile.LNKTYPE, "../victim.txt"), _file("h")]),
        simple("tar_hardlink_absolute", "hard link to the victim's absolute path, then a file over it",
               lambda sb: [_entry("h", tarfile.LNKTYPE, str(sb / "victim.txt")), _file("h")]),
        simple("tar_hardlink_via_symlink_chain", "symlink chain + hard link through it + file over it",
               lambda sb: [_entry("d", tarfile.SYMTYPE, "."), _entry("e", tarfile.SYMTYPE, "d/d/.."),
                           _entry("h", tarfile.LNKTYPE, "e/victim.txt"), _file("h")]),
        Case("tar_cve_2025_4517", _cve_2025_4517,
             "long-name nested folders + symlink chain + hard link + file over it (CVE-2025-4517)"),
        simple("tar_char_device", "character device", lambda sb: [_entry("null", tarfile.CHRTYPE)]),
        simple("tar_block_device", "block device", lambda sb: [_entry("disk", tarfile.BLKTYPE)]),
        simple("tar_fifo", "FIFO", lambda sb: [_entry("pipe", tarfile.FIFOTYPE)]),
        simple("tar_duplicate_overwrite", "the same file twice (the second overwrites the first)",
               lambda sb: [_file("a.txt", b"good"), _file("a.txt", b"evil")]),
        simple("tar_file_over_directory", "a file member over an already extracted folder",
               lambda sb: [_entry("d", tarfile.DIRTYPE), _file("d/x.txt", b"x"), _file("d")]),
        simple("tar_directory_over_file", "a folder needed where a file was extracted",
               lambda sb: [_file("x", b"x"), _file("x/y.txt")]),
        simple("tar_case_collision", "A.txt and a.txt (one file on macOS/Windows)",
               lambda sb: [_file("A.txt", b"good"), _file("a.txt", b"evil")]),
    ]


# ----------------------------------------------------------------------------- zip builders
def _zip(sandbox: Path, name: str, members: list[tuple[str, bytes, int | None]]) -> Path:
    """members: (name, data, st_mode for the external attributes or None for a plain file)."""
    path = sandbox / "archives" / f"{name}.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for member, data, mode in members:
            info = zipfile.ZipInfo(member)
            info.create_system = 3  # Unix: the high 16 bits of external_attr hold st_mode
            info.external_attr = ((mode if mode is not None else stat.S_IFREG | 0o644) & 0xFFFF) << 16
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "Duplicate name" for the duplicate case: the point
                zf.writestr(info, data)
    return path


def _zip_cases() -> list[Case]:
    def simple(name: str, what: str, make: Callable[[Path], list]) -> Case:
        return Case(name, lambda sb: _zip(sb, name, make(sb)), what)

    return [
        simple("zip_dotdot", "../ path", lambda sb: [("ok.txt", b"x", None), ("../victim.txt", PAYLOAD, None)]),
        simple("zip_absolute", "absolute path", lambda sb: [(str(sb / "victim.txt"), PAYLOAD, None)]),
        simple("zip_backslash_dotdot", "..\\ path", lambda sb: [("..\\victim.txt", PAYLOAD, None)]),
        simple("zip_drive_letter", "C:/ path", lambda sb: [("C:/victim.txt", PAYLOAD, None)]),
        simple("zip_symlink_out", "S_IFLNK member -> ../victim.txt",
               lambda sb: [("link", b"../victim.txt", stat.S_IFLNK | 0o777)]),
        simple("zip_symlink_then_file", "S_IFLNK dir link -> .., then a file below it",
               lambda sb: [("up", b"..", stat.S_IFLNK | 0o777), ("up/escaped.txt", PAYLOAD, None)]),
        simple("zip_fifo", "S_IFIFO member", lambda sb: [("pipe", b"", stat.S_IFIFO | 0o644)]),
        simple("zip_char_device", "S_IFCHR member", lambda sb: [("null", b"", stat.S_IFCHR | 0o644)]),
        simple("zip_duplicate_overwrite", "the same name twice",
               lambda sb: [("a.txt", b"good", None), ("a.txt", b"evil", None)]),
        simple("zip_file_over_directory", "a file member over an already extracted folder",
               lambda sb: [("d/x.txt", b"x", None), ("d", PAYLOAD, None)]),
        simple("zip_case_collision", "A.txt and a.txt",
               lambda sb: [("A.txt", b"good", None), ("a.txt", b"evil", None)]),
    ]


CASES: list[Case] = _tar_cases() + _zip_cases()
