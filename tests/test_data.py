"""Data: bundled photos, procedural datasets, folder loaders and safe downloads (all offline)."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest
import torch

from course_lib.data import (
    Blobs,
    DatasetSpec,
    ImageFolder,
    PairedFolder,
    PhotoCrops,
    SmoothFieldHoles,
    UnpairedFolder,
    cache_dir,
    center_crop_resize,
    download,
    load_faces,
    load_logo,
    load_photo,
    load_texture,
    safe_extract,
    verify_sha256,
)
from course_lib.data.download import REGISTRY
from course_lib.data.folders import images_by_stem, read_image
from tests.helpers import jpeg_bytes, make_tar, make_zip, random_image, write_image, write_png16


def test_bundled_photos_are_unit_range_channels_first():
    img = load_photo("astronaut")
    assert img.shape == (3, 512, 512) and img.dtype == torch.float32
    assert 0 <= img.min() and img.max() <= 1
    assert load_photo("coffee", 64).shape == (3, 64, 64)
    assert load_photo("rocket", (32, 48)).shape == (3, 32, 48)
    assert load_texture("brick", 32).shape == (1, 32, 32) and load_texture("grass", rgb=True).shape[0] == 3
    rgb, alpha = load_logo()
    assert rgb.shape == (3, 500, 500) and alpha.shape == (1, 500, 500) and 0 <= alpha.min() <= alpha.max() <= 1
    assert load_faces().shape == (200, 1, 25, 25)
    with pytest.raises(ValueError, match="unknown photo 'lena'"):
        load_photo("lena")


def test_center_crop_resize_shapes_and_errors():
    x = torch.rand(2, 3, 40, 60)
    assert center_crop_resize(x, 16).shape == (2, 3, 16, 16)
    with pytest.raises(ValueError, match="size must be positive"):
        center_crop_resize(x, 0)


def test_procedural_datasets_are_deterministic_and_checked():
    a, b = Blobs(10, seed=3), Blobs(10, seed=3)
    assert torch.equal(a[4], b[4]) and not torch.equal(a[4], Blobs(10, seed=4)[4])
    assert a[4].min() >= -1 and a[4].max() <= 1 and a[-1].shape == (3, 16, 16)
    with pytest.raises(IndexError, match="out of range"):
        a[10]
    with pytest.raises(ValueError, match="length must be a positive int"):
        Blobs(0)
    crops = PhotoCrops(size=32, length=5, seed=1)
    assert torch.equal(crops[2], PhotoCrops(size=32, length=5, seed=1)[2]) and crops[2].shape == (3, 32, 32)
    holes = SmoothFieldHoles(4, size=20, hole=8)
    item = holes[0]
    assert item["mask"].sum() == 64 and holes.distance_to_border().max() == 4
    with pytest.raises(ValueError, match="hole must be between"):
        SmoothFieldHoles(4, size=20, hole=20)


@pytest.fixture
def facades_like(tmp_path):
    """A tiny pix2pix-layout dataset: train/*.jpg with A | B side by side."""
    root = tmp_path / "facades"
    for i in range(3):
        a, b = np.full((32, 32, 3), 40 * i, np.uint8), np.full((32, 32, 3), 200, np.uint8)
        write_image(root / "train" / f"{i}.jpg", np.concatenate([a, b], axis=1))
    return root


def test_paired_folder_splits_a_and_b(facades_like):
    ds = PairedFolder(facades_like, size=16)
    item = ds[1]
    assert item["input"].shape == (3, 16, 16) and item["target"].shape == (3, 16, 16)
    assert item["input"].mean() < item["target"].mean()  # A is dark, B is bright
    flipped = PairedFolder(facades_like, size=16, direction="BtoA")[1]
    assert torch.allclose(flipped["input"], item["target"])
    jittered = PairedFolder(facades_like, size=16, jitter=True)
    torch.manual_seed(0)
    j = jittered[2]
    assert j["input"].shape == (3, 16, 16)
    ds.verify()


def test_paired_jitter_uses_the_same_crop_for_input_and_target(tmp_path):
    root = tmp_path / "p"
    img = random_image(40, 40, seed=1)
    write_image(root / "train" / "0.png", np.concatenate([img, img], axis=1))
    ds = PairedFolder(root, size=32, jitter=True, load_size=40)
    for seed in range(5):
        torch.manual_seed(seed)
        item = ds[0]
        assert torch.equal(item["input"], item["target"])


def test_paired_folder_bad_input(tmp_path, facades_like):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        PairedFolder(tmp_path / "nowhere")
    write_image(tmp_path / "odd" / "train" / "0.png", random_image(8, 15))
    with pytest.raises(ValueError, match="width must be even"):
        PairedFolder(tmp_path / "odd", size=None)[0]
    (facades_like / "train" / "3.jpg").write_bytes(b"\xff\xd8 truncated jpeg")
    with pytest.raises(ValueError, match="(?s)1 image file.* corrupt.*3.jpg.*Remove or replace"):
        PairedFolder(facades_like, size=16)  # checked when built, not at the first batch
    with pytest.raises(ValueError, match="could not read image .*3.jpg"):
        PairedFolder(facades_like, size=16, verify=False)[3]
    with pytest.raises(ValueError, match="direction must be"):
        PairedFolder(facades_like, direction="AtoC")


def test_unpaired_folder_and_empty_domain(tmp_path):
    root = tmp_path / "h2z"
    for i in range(3):
        write_image(root / "trainA" / f"{i}.png", random_image(20, 20, i))
    for i in range(5):
        write_image(root / "trainB" / f"{i}.jpg", random_image(20, 20, 10 + i))
    ds = UnpairedFolder(root, size=16)
    assert len(ds) == 5 and ds[4]["A"].shape == (3, 16, 16) and ds[4]["B"].shape == (3, 16, 16)
    assert torch.equal(ds[4]["B"], UnpairedFolder(root, size=16)[4]["B"])
    (root / "testA").mkdir()
    write_image(root / "testB" / "0.png", random_image(20, 20))
    with pytest.raises(ValueError, match="testA contains no images"):
        UnpairedFolder(root, split="test")
    assert ImageFolder(root / "trainB", size=8)[0].shape == (3, 8, 8)


# ----------------------------------------------------------------------------- 16-bit files, corrupt files
def test_read_image_scales_16_bit_grey_instead_of_clipping(tmp_path):
    from PIL import Image

    gradient = np.linspace(0, 65535, 32 * 64).reshape(32, 64).round().astype(np.uint16)
    Image.fromarray(gradient).save(tmp_path / "g16.png")  # Pillow opens it as mode "I;16"
    Image.fromarray(gradient.astype(">u2")).save(tmp_path / "g16b.tif")  # "I;16B"
    Image.fromarray(gradient.astype(np.int32)).save(tmp_path / "g32.tif")  # "I" (older Pillow's 16-bit PNGs)
    for name in ("g16.png", "g16b.tif", "g32.tif"):
        rgb, grey = read_image(tmp_path / name), read_image(tmp_path / name, mode="L")
        assert rgb.shape == (3, 32, 64) and grey.shape == (1, 32, 64), name
        assert abs(grey.mean().item() - 0.5) < 1e-3 and grey.min() == 0 and grey.max() == 1, name  # was 0.998
        assert torch.allclose(rgb, grey.expand(3, -1, -1)), name
    Image.fromarray(np.full((4, 4), 70_000, np.int32)).save(tmp_path / "big.tif")
    with pytest.raises(ValueError, match="big.tif.*outside the 16-bit range"):
        read_image(tmp_path / "big.tif")


def test_read_image_of_16_bit_rgb_keeps_the_scale(tmp_path):
    rgb = np.zeros((4, 6, 3), np.uint16)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 32768, 65535, 2570
    img = read_image(write_png16(tmp_path / "rgb16.png", rgb))
    # Pillow reduces 16-bit RGB to 8 bits per channel: right scale, 1/255 precision
    assert torch.allclose(img[:, 0, 0], torch.tensor([0.5, 1.0, 0.0392]), atol=1 / 255)


def _corrupt_copies(folder, names, good_jpeg):
    """A file that is no image, an empty one, and JPEGs cut short in their compressed data."""
    for i, name in enumerate(names):
        data = b"not an image" if i == 0 else b"" if i == 1 else good_jpeg[: len(good_jpeg) // 2]
        (folder / name).write_bytes(data)


def test_folders_list_corrupt_files_when_built_or_skip_them(tmp_path, facades_like):
    good = (facades_like / "train" / "0.jpg").read_bytes()
    _corrupt_copies(facades_like / "train", [f"bad{i:02d}.jpg" for i in range(12)], good)
    with pytest.raises(ValueError) as err:
        PairedFolder(facades_like, size=16)
    message = str(err.value)
    assert "12 image file(s) are corrupt or not images" in message and "... and 2 more" in message
    assert "bad00.jpg" in message and "bad09.jpg" in message and "bad10.jpg" not in message
    assert "Remove or replace them" in message and "skip_corrupt=True" in message
    assert message.count("UnidentifiedImageError") == 2 and "truncated" in message.lower()  # a cut JPEG too
    with pytest.warns(UserWarning, match="skipping 12 unreadable image file"):
        ds = PairedFolder(facades_like, size=16, skip_corrupt=True)
    assert len(ds) == 3 and ds[2]["input"].shape == (3, 16, 16)
    ds.verify()  # decodes every remaining file

    root = tmp_path / "h2z"
    for domain in "AB":
        for i in range(2):
            write_image(root / f"train{domain}" / f"{i}.png", random_image(8, 8, i))
    (root / "trainB" / "2.png").write_bytes(b"\x89PNG\r\n\x1a\n cut")
    with pytest.raises(ValueError, match="(?s)UnpairedFolder.*trainB.*2.png"):
        UnpairedFolder(root, size=8)
    with pytest.warns(UserWarning):
        assert len(UnpairedFolder(root, size=8, skip_corrupt=True).files_b) == 2
    with pytest.raises(ValueError, match="(?s)ImageFolder.*2.png"):
        ImageFolder(root / "trainB", size=8)
    for i in range(2):
        (root / "trainA" / f"{i}.png").write_bytes(b"")
    with pytest.raises(ValueError, match="No readable image is left"):
        UnpairedFolder(root, size=8, skip_corrupt=True)


def test_crop_loaders_of_the_style_and_inpainting_recipes_check_their_files(tmp_path):
    from course_lib.inpainting.datasets import FolderCrops as InpaintingCrops
    from course_lib.style.images import FolderCrops as StyleCrops

    for i in range(2):
        write_image(tmp_path / f"{i}.jpg", random_image(40, 40, seed=i))
    (tmp_path / "2.jpg").write_bytes(b"")
    for make in (lambda **kw: StyleCrops(tmp_path, size=32, **kw), lambda **kw: InpaintingCrops(tmp_path, 32, 32, 40, **kw)):
        with pytest.raises(ValueError, match="(?s)FolderCrops.*2.jpg"):
            make()
        with pytest.warns(UserWarning, match="skipping 1 unreadable"):
            assert len(make(skip_corrupt=True)) == 2
        assert len(make(verify=False)) == 3


def test_checking_400_files_when_built_is_cheap(tmp_path):
    import time

    from course_lib.data.folders import readable_only

    img = random_image(64, 128)
    for i in range(400):
        write_image(tmp_path / f"{i}.jpg", np.roll(img, i, axis=1))
    files = sorted(tmp_path.glob("*.jpg"))
    start = time.perf_counter()
    assert readable_only(files, "test") == files
    assert time.perf_counter() - start < 5  # about 0.1 s; generous for a loaded test machine


def test_images_by_stem_refuses_two_files_with_one_name(tmp_path):
    write_image(tmp_path / "GT01.png", random_image(4, 4))
    write_image(tmp_path / "GT02.png", random_image(4, 4))
    assert set(images_by_stem(tmp_path)) == {"GT01", "GT02"}
    write_image(tmp_path / "GT01.jpg", random_image(4, 4))
    with pytest.raises(ValueError, match="ambiguous file names.*GT01.jpg and .*GT01.png.*Keep one file per name"):
        images_by_stem(tmp_path)


def _registry(tmp_path, archive, sha, name="tiny"):
    return {name: DatasetSpec(name, (archive.as_uri(),), archive.name, sha, archive.stat().st_size,
                              "paired", name, "test data", "a tiny archive")}


def test_download_verifies_extracts_and_caches(tmp_path):
    members = {f"tiny/train/{i}.jpg": jpeg_bytes(random_image(16, 32, i)) for i in range(2)}
    archive = make_tar(tmp_path / "tiny.tar.gz", members)
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    root = download("tiny", tmp_path / "cache", registry=_registry(tmp_path, archive, sha))
    assert root == tmp_path / "cache" / "tiny" / "tiny"
    assert len(PairedFolder(root, size=8)) == 2
    archive.unlink()  # cached: no second download
    assert download("tiny", tmp_path / "cache", registry=_registry(tmp_path, tmp_path / "cache" / "downloads" / "tiny.tar.gz", sha)) == root


def test_download_rejects_a_wrong_checksum(tmp_path):
    archive = make_tar(tmp_path / "tiny.tar.gz", {"tiny/a.txt": b"x"})
    with pytest.raises(ValueError, match="checksum mismatch"):
        download("tiny", tmp_path / "cache", registry=_registry(tmp_path, archive, "0" * 64))
    assert not (tmp_path / "cache" / "tiny").exists()


def test_unverified_entries_need_consent(tmp_path, capsys):
    archive = make_tar(tmp_path / "tiny.tar.gz", {"tiny/a.txt": b"x"})
    reg = _registry(tmp_path, archive, None)
    with pytest.raises(ValueError, match="no verified sha256"):
        download("tiny", tmp_path / "cache", registry=reg)
    download("tiny", tmp_path / "cache", registry=reg, allow_unverified=True)
    assert hashlib.sha256(archive.read_bytes()).hexdigest() in capsys.readouterr().out


def test_unreachable_mirrors_fail_fast_with_instructions(tmp_path):
    spec = DatasetSpec("gone", ((tmp_path / "missing.zip").as_uri(),), "gone.zip", "0" * 64, None, "unpaired",
                       "gone", "", "")
    with pytest.raises(ConnectionError, match="put it at .*gone.zip"):
        download("gone", tmp_path / "cache", registry={"gone": spec})
    with pytest.raises(ValueError, match="unknown data set 'nope'"):
        download("nope")


@pytest.mark.parametrize("bad_name", ["../escape.txt", "/abs/path.txt", "a/../../escape.txt"])
def test_safe_extract_rejects_path_traversal(tmp_path, bad_name):
    for maker, suffix in ((make_tar, ".tar.gz"), (make_zip, ".zip")):
        archive = maker(tmp_path / f"evil{suffix}", {"ok.txt": b"fine", bad_name: b"evil"})
        with pytest.raises(ValueError, match="unsafe archive"):
            safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


def test_safe_extract_rejects_every_link_and_non_archives(tmp_path):
    archive = make_tar(tmp_path / "link.tar.gz", {"a.txt": b"x"}, symlinks={"link": "/etc/passwd"})
    with pytest.raises(ValueError, match="member 'link' is a symbolic link"):
        safe_extract(archive, tmp_path / "out")
    # Data set archives need no links at all: even one that stays inside is refused, and nothing is written.
    inside = make_tar(tmp_path / "ok.tar.gz", {"d/a.txt": b"x"}, symlinks={"d/link": "a.txt"})
    with pytest.raises(ValueError, match="member 'd/link' is a symbolic link"):
        safe_extract(inside, tmp_path / "ok")
    assert not (tmp_path / "ok").exists()
    (tmp_path / "junk.bin").write_bytes(b"neither zip nor tar")
    with pytest.raises(ValueError, match="neither a zip nor a tar"):
        safe_extract(tmp_path / "junk.bin", tmp_path / "out2")


def test_registry_and_cache_dir(monkeypatch, tmp_path):
    assert {"facades", "maps", "edges2shoes", "cityscapes", "horse2zebra", "summer2winter_yosemite", "monet2photo"} <= set(REGISTRY)
    # Checksums of the CycleGAN archives: tensorflow/datasets url_checksums/cycle_gan.txt.
    assert REGISTRY["horse2zebra"].sha256.startswith("a74d9d39") and REGISTRY["horse2zebra"].size_bytes == 116867962
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    assert cache_dir() == tmp_path
    (tmp_path / "f").write_bytes(b"abc")
    verify_sha256(tmp_path / "f", hashlib.sha256(b"abc").hexdigest())


def _ab_folder_zip(path, names=range(3), drop_b=()):
    """A tiny zip in the layout of CycleGAN's facades.zip: facades/{train,test}{A,B}/n_A.jpg, n_B.jpg.

    Pair n: A is a flat image of level 20 * n, B of level 250 - 20 * n, so a test can tell
    whether the loader matched the right partners.
    """
    members = {}
    for split in ("train", "test"):
        for n in names:
            members[f"facades/{split}A/{n}_A.jpg"] = jpeg_bytes(np.full((24, 24, 3), 20 * n, np.uint8))
            if n not in drop_b:
                members[f"facades/{split}B/{n}_B.jpg"] = jpeg_bytes(np.full((24, 24, 3), 250 - 20 * n, np.uint8))
    return make_zip(path, members)


def test_paired_folder_reads_a_b_folders_paired_by_name(tmp_path, monkeypatch):
    # names sort differently as text and as numbers (10_A < 2_A): pairing must go by name, not position
    archive = _ab_folder_zip(tmp_path / "facades.zip", names=(1, 2, 10))
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    spec = DatasetSpec("facades", (archive.as_uri(),), "facades.zip", sha, archive.stat().st_size,
                       "paired-folders", "facades", "test", "A/B folders")
    root = download("facades", tmp_path / "cache", registry={"facades": spec})
    ds = PairedFolder(root, "train", "AtoB", size=16)
    assert len(ds) == 3 and ds.pairs is not None
    for i in range(3):
        item = ds[i]
        a_level, b_level = (item["input"].mean() + 1) / 2 * 255, (item["target"].mean() + 1) / 2 * 255
        assert abs(a_level + b_level - 250) < 6, item["path"]  # the partners of one pair
    flipped = PairedFolder(root, "test", "BtoA", size=16)[0]
    assert torch.equal(flipped["input"], PairedFolder(root, "test", "AtoB", size=16)[0]["target"])
    ds.verify()
    # the pix2pix recipe reads the registry entry through the same loader (labels -> photo, BtoA)
    from course_lib.translation.recipes import paired_data

    monkeypatch.setitem(REGISTRY, "facades", spec)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    data, what, c_in, c_out = paired_data("facades", 16, jitter=False)
    assert len(data) == 3 and "(BtoA)" in what and data[0]["input"].shape == (3, 16, 16)


def test_paired_folders_that_do_not_pair_up_are_refused(tmp_path):
    root = tmp_path / "out"
    safe_extract(_ab_folder_zip(tmp_path / "f.zip", drop_b=(2,)), root)
    with pytest.raises(ValueError, match=r"do not pair up by name: 1 image\(s\) of A .*'2_A.jpg'"):
        PairedFolder(root / "facades", "train")
    with pytest.raises(FileNotFoundError, match="does not exist .*valA"):
        PairedFolder(root / "facades", "val")


def test_a_corrupt_partner_drops_its_pair_in_the_two_folder_layout(tmp_path):
    root = tmp_path / "out"
    safe_extract(_ab_folder_zip(tmp_path / "f.zip", names=(1, 2, 3)), root)
    bad = root / "facades" / "trainB" / "2_B.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="2_B.jpg"):
        PairedFolder(root / "facades", "train", size=16)
    with pytest.warns(UserWarning):
        ds = PairedFolder(root / "facades", "train", size=16, skip_corrupt=True)
    assert [a.name for a, _ in ds.pairs] == ["1_A.jpg", "3_A.jpg"] and [f.name for f in ds.files] == ["1_A.jpg", "3_A.jpg"]


def test_offline_download_refuses_before_any_connection_and_try_download_falls_back(tmp_path, monkeypatch, capsys):
    import importlib

    dl = importlib.import_module("course_lib.data.download")  # the module (the package exports a function of that name)
    real_fetch = dl._fetch

    def no_fetch(*args, **kwargs):  # stands in for the network: must never be reached
        raise AssertionError("a download was attempted although COURSE_OFFLINE=1")

    monkeypatch.setattr(dl, "_fetch", no_fetch)
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(ConnectionError, match="COURSE_OFFLINE=1 forbids downloading it.*put facades.zip at"):
        dl.download("facades", tmp_path)
    assert dl.try_download("facades", tmp_path) is None
    assert "using the course's offline data instead" in capsys.readouterr().out
    # a local archive (file://) is not a download: it still works offline, checksum and all
    archive = _ab_folder_zip(tmp_path / "facades.zip", names=(1, 2))
    spec = DatasetSpec("facades", (archive.as_uri(),), "facades.zip", hashlib.sha256(archive.read_bytes()).hexdigest(),
                       archive.stat().st_size, "paired-folders", "facades", "test", "A/B folders")
    monkeypatch.setattr(dl, "_fetch", real_fetch)
    monkeypatch.setitem(REGISTRY, "facades", spec)
    folder = dl.try_download("facades", tmp_path / "cache")
    assert folder is not None and len(PairedFolder(folder, "train", size=16)) == 2
    # a wrong checksum is never "unavailable": it stays an error
    monkeypatch.setitem(REGISTRY, "facades", dataclasses.replace(spec, sha256="0" * 64))
    with pytest.raises(ValueError, match="sha256"):
        dl.try_download("facades", tmp_path / "cache2")


def _label_map(n: int, size: int = 48) -> np.ndarray:
    """A facade-like label map: a few flat coloured rectangles (windows on a wall)."""
    img = np.full((size, size, 3), (0, 0, 200), np.uint8)
    for k in range(3):
        top, left = 4 + 14 * k, 4 + 6 * ((n + k) % 5)
        img[top:top + 10, left:left + 12] = (200, 40 * k, 0)
    return img


def _photo(n: int, size: int = 48) -> np.ndarray:
    """A photo-like image: texture and noise in every pixel."""
    return random_image(size, size, seed=n)


def test_labels_to_photo_finds_the_label_side_whichever_folder_holds_it(tmp_path, monkeypatch):
    import importlib

    from course_lib.data import InMemory, labels_to_photo

    dl = importlib.import_module("course_lib.data.download")
    for labels_in in ("A", "B"):
        members = {}
        for split in ("train", "test"):
            for n in range(4):
                a, b = (_label_map(n), _photo(n)) if labels_in == "A" else (_photo(n), _label_map(n))
                members[f"facades/{split}A/{n}_A.jpg"] = jpeg_bytes(a)
                members[f"facades/{split}B/{n}_B.jpg"] = jpeg_bytes(b)
        archive = make_zip(tmp_path / f"labels{labels_in}.zip", members)
        spec = DatasetSpec("facades", (archive.as_uri(),), "facades.zip", hashlib.sha256(archive.read_bytes()).hexdigest(),
                           archive.stat().st_size, "paired-folders", "facades", "test", "A/B folders")
        monkeypatch.setitem(REGISTRY, "facades", spec)
        # the GPU mode's path: try_download (a local archive works offline), then labels -> photo
        folder = dl.try_download("facades", tmp_path / f"cache{labels_in}")
        data = labels_to_photo(folder, "train", size=32)
        assert data.direction == ("AtoB" if labels_in == "A" else "BtoA")
        cached = InMemory(data, mirror=True)
        x, y = cached.tensors["input"], cached.tensors["target"]  # the "path" strings are dropped
        assert x.shape == y.shape == (4, 3, 32, 32) and set(cached[0]) == {"input", "target"}
        from course_lib.data.folders import flatness

        assert all(flatness(x[i]) > flatness(y[i]) + 0.3 for i in range(4)), "input must be the label map"


def test_labels_to_photo_refuses_a_folder_of_photos_on_both_sides(tmp_path):
    from course_lib.data import labels_to_photo

    for side in ("A", "B"):
        for n in range(3):
            write_image(tmp_path / "ds" / f"train{side}" / f"{n}_{side}.png", _photo(n + (10 if side == "B" else 0)))
    with pytest.raises(ValueError, match="cannot tell the label maps from the photos"):
        labels_to_photo(tmp_path / "ds", "train", size=32)
