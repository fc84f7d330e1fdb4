"""Safe extraction and safe downloads: hostile, truncated and corrupt archives, all built here (offline)."""

from __future__ import annotations

import hashlib
import importlib
import io
import os
import stat
import tarfile
import zipfile

import pytest

from course_lib.data import DatasetSpec, download, safe_extract
from course_lib.data.download import REGISTRY, CorruptArchiveError, UnsafeArchiveError
from tests.helpers import make_tar, make_zip
from tests.malicious_archives import CASES, VICTIM, prepare_sandbox, snapshot

# the module itself (the package exports a function of the same name)
dl = importlib.import_module("course_lib.data.download")


def _registry(archive, sha, name="tiny", urls=None, size=None):
    return {name: DatasetSpec(name, urls or (archive.as_uri(),), archive.name, sha, size, "paired", name,
                              "test data", "a tiny archive")}


# ----------------------------------------------------------------------------- hostile archives
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_archives_are_refused_before_anything_is_written(tmp_path, case):
    """Every hostile archive: a ValueError naming archive and member, no target, nothing changed around it."""
    target = prepare_sandbox(tmp_path)
    archive = case.build(tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(UnsafeArchiveError, match=r"unsafe archive .*: member .* Nothing was extracted"):
        safe_extract(archive, target)
    assert not target.exists()
    assert snapshot(tmp_path) == before  # no leftover link, temporary folder or overwritten file
    assert (tmp_path / "victim.txt").read_bytes() == VICTIM


def test_cve_2025_4517_pattern_through_download_leaves_the_victim_alone(tmp_path):
    """Defect 1: nested long names + symlink chain + hard link + file over it, via download()."""
    case = next(c for c in CASES if c.name == "tar_cve_2025_4517")
    prepare_sandbox(tmp_path)
    archive = case.build(tmp_path)
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()  # a checksum does not make an archive safe
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match=r"cve_2025_4517\.tar\.gz: member 'a' is a symbolic link"):
        download("tiny", cache, registry=_registry(archive, sha))
    assert (tmp_path / "victim.txt").read_bytes() == VICTIM
    assert sorted(p.name for p in cache.iterdir()) == ["downloads"]  # no data set, no temporary folder


def test_symlink_chain_is_a_value_error_and_leaves_no_link(tmp_path):
    """Defect 2: d -> ., e -> d/d/d/.. used to fail half-way (LinkOutsideDestinationError), leaving d."""
    archive = tmp_path / "chain.tar"
    with tarfile.open(archive, "w") as tf:
        for name, link in (("d", "."), ("e", "d/d/d/..")):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, link
            tf.addfile(info)
    with pytest.raises(ValueError, match=r"chain\.tar: member 'd' is a symbolic link.*delete this file"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not os.path.lexists(tmp_path / "out" / "d")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError):
        safe_extract(archive, tmp_path / "empty")
    assert list((tmp_path / "empty").iterdir()) == []  # an existing empty target stays empty


def test_zip_symlink_is_refused_by_its_external_attributes(tmp_path):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("fine.txt", b"x")
        info = zipfile.ZipInfo("tiny/link")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "../../etc/passwd")
    with pytest.raises(ValueError, match=r"member 'tiny/link' is a symbolic link \(S_IFLNK"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_safe_extract_writes_plain_files_with_safe_modes(tmp_path):
    archive = tmp_path / "ok.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        d = tarfile.TarInfo("tiny/train")
        d.type, d.mode = tarfile.DIRTYPE, 0o777
        tf.addfile(d)
        f = tarfile.TarInfo("tiny/train/0.txt")
        f.size, f.mode = 5, 0o4777  # setuid and world-writable in the archive: ignored
        tf.addfile(f, io.BytesIO(b"hello"))
    safe_extract(archive, tmp_path / "out")
    written = tmp_path / "out" / "tiny" / "train" / "0.txt"
    assert written.read_bytes() == b"hello"
    assert stat.S_IMODE(written.stat().st_mode) & 0o7022 == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # staging folder renamed away
    with pytest.raises(ValueError, match="new or empty folder"):
        safe_extract(archive, tmp_path / "out")  # never merges into existing content


# ----------------------------------------------------------------------------- truncated and corrupt
def _payload():
    # random bytes do not compress, so cutting the archive cuts into the members' data
    return {f"tiny/train/{i}.bin": os.urandom(40_000) for i in range(3)}


@pytest.mark.parametrize("maker, suffix", [(make_tar, ".tar.gz"), (make_zip, ".zip")])
def test_truncated_archives_say_incomplete_where_and_what_to_do(tmp_path, maker, suffix):
    """Defect 3: a cut .tar.gz raised a bare EOFError, a cut zip 'neither a zip nor a tar'."""
    whole = maker(tmp_path / f"whole{suffix}", _payload()).read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    with pytest.raises(CorruptArchiveError, match=rf"archive .*cut{suffix} is incomplete or corrupt.*delete .*cut{suffix} and download it again"):
        safe_extract(cut, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("maker, suffix", [(make_tar, ".tar.gz"), (make_zip, ".zip")])
def test_corrupt_archives_are_caught_before_the_target_appears(tmp_path, maker, suffix):
    data = bytearray(maker(tmp_path / f"a{suffix}", _payload()).read_bytes())
    middle = len(data) // 2
    data[middle:middle + 256] = bytes(256)  # damaged in transit: same length, wrong bytes
    bad = tmp_path / f"bad{suffix}"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="is incomplete or corrupt"):
        safe_extract(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_download_reports_a_truncated_archive_clearly(tmp_path):
    whole = make_tar(tmp_path / "tiny.tar.gz", _payload()).read_bytes()
    (tmp_path / "tiny.tar.gz").write_bytes(whole[:-5000])
    archive = tmp_path / "tiny.tar.gz"
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()  # the user's checksum of the cut file
    with pytest.raises(ValueError, match=r"downloads/tiny\.tar\.gz is incomplete or corrupt"):
        download("tiny", tmp_path / "cache", registry=_registry(archive, sha))
    assert not (tmp_path / "cache" / "tiny").exists()


def test_download_checks_the_registered_size_first(tmp_path):
    archive = make_tar(tmp_path / "tiny.tar.gz", {"tiny/a.txt": b"x"})
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    reg = _registry(archive, sha, size=archive.stat().st_size + 1)
    with pytest.raises(ValueError, match=r"has \d+ bytes, expected \d+: the download is incomplete"):
        download("tiny", tmp_path / "cache", registry=reg)


# ----------------------------------------------------------------------------- unverified downloads
def test_unverified_download_refuses_plain_http_and_says_how_to_pin(tmp_path, monkeypatch):
    """Defect 4: allow_unverified=True used to fetch an unchecked archive over plain http."""
    def no_network(*args, **kwargs):  # the refusal must come before any connection
        raise AssertionError("download() tried the network")

    monkeypatch.setattr(dl, "_fetch", no_network)
    reg = {"plain": DatasetSpec("plain", ("http://127.0.0.1:9/plain.tar.gz",), "plain.tar.gz", None, None,
                                "paired", "plain", "", "")}
    with pytest.raises(ValueError, match=r"refusing to download 'plain' without a checksum over plain http.*sha256="):
        download("plain", tmp_path / "cache", registry=reg, allow_unverified=True)
    with pytest.raises(ValueError, match=r"sha256 must be 64 hexadecimal characters.*got 'abc'"):
        download("plain", tmp_path / "cache", registry=reg, sha256="abc")


def test_unverified_download_skips_http_mirrors_but_uses_https(tmp_path, monkeypatch, capsys):
    archive = make_tar(tmp_path / "mixed.tar.gz", {"mixed/a.txt": b"x"})
    tried = []

    def fake_fetch(urls, dest, timeout, sha256):
        assert sha256 is None  # unverified: nothing to check the bytes against but the transport
        tried.extend(urls)
        dest.write_bytes(archive.read_bytes())

    monkeypatch.setattr(dl, "_fetch", fake_fetch)
    monkeypatch.setenv("COURSE_OFFLINE", "0")  # fake_fetch stands in for the network
    reg = {"mixed": DatasetSpec("mixed", ("http://127.0.0.1:9/mixed.tar.gz", "https://127.0.0.1:9/mixed.tar.gz"),
                                "mixed.tar.gz", None, None, "paired", "mixed", "", "")}
    root = download("mixed", tmp_path / "cache", registry=reg, allow_unverified=True)
    assert tried == ["https://127.0.0.1:9/mixed.tar.gz"] and (root / "a.txt").read_bytes() == b"x"
    assert "skipping the plain-http mirrors" in capsys.readouterr().out


def test_registry_pins_every_archive_reachable_over_plain_http():
    """Only https mirrors may serve an entry without a sha256 (the pix2pix recipes pass allow_unverified)."""
    for spec in REGISTRY.values():
        if spec.sha256 is None:
            assert any(u.startswith("https://") for u in spec.urls), spec.name
    # pix2pix's sets as released for CycleGAN (A/B folders), pinned from tensorflow/datasets' cycle_gan.txt
    assert REGISTRY["facades"].sha256.startswith("9a31ebf3") and REGISTRY["facades"].size_bytes == 35135868
    assert REGISTRY["maps"].sha256.startswith("639534f6") and REGISTRY["maps"].size_bytes == 1476754427
    assert REGISTRY["cityscapes"].sha256.startswith("d2f6910f") and REGISTRY["cityscapes"].size_bytes == 279601602
    assert {REGISTRY[n].layout for n in ("facades", "maps", "cityscapes")} == {"paired-folders"}
