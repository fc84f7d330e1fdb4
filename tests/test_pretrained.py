"""Shipped checkpoints: verified loading, clear refusals, deterministic rebuilds (course_lib.pretrained)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from course_lib import metrics, pretrained
from course_lib.data import Blobs


def test_every_shipped_checkpoint_loads_verified_and_within_the_size_budget():
    entries = pretrained.manifest()
    assert "tinygan" in entries
    total = 0
    for name, entry in entries.items():
        assert name in pretrained.SPECS
        path = pretrained.WEIGHTS_DIR / entry["file"]
        assert path.stat().st_size == entry["bytes"] <= pretrained.MAX_FILE_BYTES
        total += entry["bytes"]
        model = pretrained.load(name)
        assert not model.training and all(p.dtype == torch.float32 for p in model.parameters())
        for key in ("data", "resolution", "steps", "wall_s", "machine", "sha256", "metric"):
            assert key in entry, (name, key)
    assert total <= pretrained.MAX_TOTAL_BYTES


def test_shipped_tinygan_matches_the_data_and_beats_the_untrained_generator():
    G = pretrained.load("tinygan")
    held_out = torch.stack([Blobs(length=512, size=16, seed=1)[i] for i in range(512)])
    with torch.no_grad():
        fake = G(torch.randn(512, G.z_dim, generator=torch.Generator().manual_seed(0)))
    swd = metrics.sliced_wasserstein(fake, held_out)
    m = pretrained.info("tinygan")["metric"]
    assert swd == pytest.approx(m["patch_swd"], abs=1e-4)  # the manifest's number is this file's
    # within 1.5x of two independent real sets, and 10x below an untrained generator
    assert swd < 1.5 * m["patch_swd_real_vs_real"] and swd < 0.1 * m["patch_swd_untrained_G"]
    print(f"tinygan patch SWD {swd:.4f} (real vs real {m['patch_swd_real_vs_real']:.4f}, untrained {m['patch_swd_untrained_G']:.4f})")


def test_a_changed_or_missing_file_is_refused_with_the_rebuild_command(tmp_path):
    entry = pretrained.info("tinygan")
    bad = tmp_path / entry["file"]
    shutil.copy(pretrained.WEIGHTS_DIR / entry["file"], bad)
    data = bytearray(bad.read_bytes())
    data[-3] ^= 0x01  # one bit of one weight
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"corrupt or not the one that was built.*pretrained build tinygan"):
        pretrained.load("tinygan", weights_dir=tmp_path)
    bad.unlink()
    with pytest.raises(FileNotFoundError, match="is missing"):
        pretrained.load("tinygan", weights_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown pretrained model 'pix2px'; known: "):
        pretrained.load("pix2px")


def test_a_pickle_disguised_as_weights_is_never_executed(tmp_path, monkeypatch):
    # safetensors holds tensors and a JSON header only: a torch pickle under the right name fails
    # to parse instead of running code, even when its checksum is written into the manifest.
    evil = tmp_path / "tinygan.safetensors"
    torch.save({"x": torch.zeros(1)}, evil)
    fake = {"tinygan": {**pretrained.info("tinygan"), "sha256": pretrained.sha256_of(evil)}}
    monkeypatch.setattr(pretrained, "manifest", lambda: fake)
    with pytest.raises(Exception) as info:
        pretrained.load("tinygan", weights_dir=tmp_path)
    assert "safetensors" in type(info.value).__module__ or "header" in str(info.value).lower()


def test_build_is_deterministic_and_writes_an_entry(tmp_path):
    a = pretrained.build("tinygan", weights_dir=tmp_path / "a", steps=60)
    b = pretrained.build("tinygan", weights_dir=tmp_path / "b", steps=60)
    assert a["sha256"] == b["sha256"] and a["metric"] == b["metric"]
    assert a["steps"] == 60 and a["dtype"] == "fp16" and a["bytes"] <= pretrained.MAX_FILE_BYTES
    # a shortened build never touches the shipped manifest
    assert pretrained.info("tinygan")["steps"] != 60
    json.dumps(a)  # the entry is plain JSON


def test_cli_lists_and_verifies(capsys):
    from course_lib.pretrained.__main__ import main

    assert main(["list"]) == 0 and "tinygan" in capsys.readouterr().out
    assert main(["verify"]) == 0 and "tinygan: ok" in capsys.readouterr().out


def test_readme_lists_every_shipped_checkpoint_as_the_table_command_prints_it():
    from course_lib.pretrained.__main__ import markdown_table
    from tools.notebooks import ROOT

    readme = (ROOT / "README.md").read_text()
    for row in markdown_table().splitlines()[2:]:
        assert row in readme, f"README's checkpoint table is stale; paste `python -m course_lib.pretrained table`: {row[:60]}"


def test_loading_a_shipped_checkpoint_never_asks_for_a_download(monkeypatch, capsys):
    # A checkpoint holds every weight its network needs (AdaIN's encoder included): building it
    # must not try to fetch ImageNet weights, even where downloads are allowed.
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    for name in pretrained.available():
        pretrained.load(name)
        out = capsys.readouterr()
        assert "download" not in (out.out + out.err).lower(), f"loading {name} tried a download"
