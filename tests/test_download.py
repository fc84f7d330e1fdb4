"""download() fetching with pooch: mirrors in order, sha256 before the rename, offline, pooch missing.

The http tests serve archives built here from a server on 127.0.0.1 (the network guard lets
loopback through); nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import importlib
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from course_lib.data import DatasetSpec
from tests.helpers import make_tar

dl = importlib.import_module("course_lib.data.download")  # the module (the package exports a function)


@pytest.fixture
def server(tmp_path):
    """An http server on loopback over ``tmp_path / "www"``; yields its base URL."""
    pytest.importorskip("pooch", reason="course_lib downloads with pooch: `pip install pooch`")
    www = tmp_path / "www"
    www.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output clean
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def _spec(urls, archive, sha, size=None):
    return {"tiny": DatasetSpec("tiny", tuple(urls), "tiny.tar.gz", sha, size, "paired", "tiny", "test", "tiny")}


def test_mirrors_are_tried_in_order_and_a_bad_copy_is_never_kept(tmp_path, server, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "0")  # the server is on loopback: allowed by the network guard
    archive = make_tar(tmp_path / "tiny.tar.gz", {"tiny/a.txt": b"the real data"})
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    (tmp_path / "www" / "swapped").mkdir()
    (tmp_path / "www" / "swapped" / "tiny.tar.gz").write_bytes(make_tar(tmp_path / "evil.tar.gz", {"tiny/a.txt": b"evil"})
                                                               .read_bytes())
    (tmp_path / "www" / "good").mkdir()
    (tmp_path / "www" / "good" / "tiny.tar.gz").write_bytes(archive.read_bytes())
    urls = [server + "missing/tiny.tar.gz", server + "swapped/tiny.tar.gz", server + "good/tiny.tar.gz"]
    root = dl.download("tiny", tmp_path / "cache", registry=_spec(urls, archive, sha, archive.stat().st_size))
    assert (root / "a.txt").read_bytes() == b"the real data"
    # the 404 and the swapped copy left nothing behind: only the verified archive sits in downloads/
    assert [p.name for p in (tmp_path / "cache" / "downloads").iterdir()] == ["tiny.tar.gz"]


def test_every_mirror_serving_other_bytes_is_a_checksum_error_not_unavailable(tmp_path, server, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "0")
    archive = make_tar(tmp_path / "tiny.tar.gz", {"tiny/a.txt": b"x"})
    (tmp_path / "www" / "tiny.tar.gz").write_bytes(archive.read_bytes())
    reg = _spec([server + "tiny.tar.gz"], archive, "0" * 64)
    with pytest.raises(ValueError, match=r"(?s)checksum mismatch for tiny\.tar\.gz.*expected sha256 0{64}.*Nothing was kept"):
        dl.download("tiny", tmp_path / "cache", registry=reg)
    assert list((tmp_path / "cache" / "downloads").iterdir()) == []  # no temporary file left either
    monkeypatch.setitem(dl.REGISTRY, "tiny", reg["tiny"])
    with pytest.raises(ValueError, match="checksum mismatch"):  # try_download falls back on "no network" only
        dl.try_download("tiny", tmp_path / "cache2")


def test_a_sha256_passed_by_the_user_is_checked_and_recorded(tmp_path, server, monkeypatch):
    # An unpinned entry over http is refused before any connection (test_safe_extract); here the
    # user passes the sha256 they trust, which makes the same http mirror acceptable.
    monkeypatch.setenv("COURSE_OFFLINE", "0")
    archive = make_tar(tmp_path / "tiny.tar.gz", {"tiny/a.txt": b"x"})
    (tmp_path / "www" / "tiny.tar.gz").write_bytes(archive.read_bytes())
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    root = dl.download("tiny", tmp_path / "cache", registry=_spec([server + "tiny.tar.gz"], archive, None), sha256=sha.upper())
    assert (root / "a.txt").read_bytes() == b"x"
    assert (tmp_path / "cache" / "tiny" / ".complete").read_text().split() == ["tiny.tar.gz", sha.upper()]


def test_a_cached_archive_is_checked_again_and_never_replaced_silently(tmp_path, monkeypatch):
    archive = make_tar(tmp_path / "tiny.tar.gz", {"tiny/a.txt": b"x"})
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    cached = tmp_path / "cache" / "downloads" / "tiny.tar.gz"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(archive.read_bytes()[:-10])  # a damaged copy left in the cache

    def no_fetch(*args, **kwargs):
        raise AssertionError("a cached archive was downloaded again")

    monkeypatch.setattr(dl, "_fetch", no_fetch)
    with pytest.raises(ValueError, match=r"has \d+ bytes, expected \d+"):
        dl.download("tiny", tmp_path / "cache", registry=_spec([archive.as_uri()], archive, sha, archive.stat().st_size))
    with pytest.raises(ValueError, match="checksum mismatch.*delete it and try again"):
        dl.download("tiny", tmp_path / "cache", registry=_spec([archive.as_uri()], archive, sha))
    assert cached.stat().st_size == archive.stat().st_size - 10  # still the user's file: nothing replaced it


def test_without_pooch_a_download_says_how_to_install_it_and_try_download_falls_back(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pooch", None)  # an import of it now fails
    archive = make_tar(tmp_path / "tiny.tar.gz", {"tiny/a.txt": b"x"})
    reg = _spec([archive.as_uri()], archive, hashlib.sha256(archive.read_bytes()).hexdigest())
    with pytest.raises(ConnectionError, match=r"pooch, which is not installed \(`pip install pooch`\).*put it at"):
        dl.download("tiny", tmp_path / "cache", registry=reg)
    monkeypatch.setitem(dl.REGISTRY, "tiny", reg["tiny"])
    assert dl.try_download("tiny", tmp_path / "cache") is None
    assert "using the course's offline data instead" in capsys.readouterr().out


def test_importing_course_lib_needs_neither_pooch_nor_scikit_learn():
    code = ("import sys, course_lib, course_lib.data, course_lib.translation.pix2pixhd, course_lib.train.cli; "
            "print(sorted(m for m in ('pooch', 'requests', 'sklearn') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
