"""Real matting data sets through folder loaders (tested on archives built here), widgets and the CLI recipe."""

import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

from course_lib.data import DatasetSpec, download
from course_lib.matting import (
    LAYOUTS,
    ForegroundFolder,
    MattingFolder,
    MattingLayout,
    read_alpha,
    read_trimap,
)
from course_lib.matting.data import MattingComposites
from course_lib.matting.trimap import make_trimap
from tests.helpers import make_zip, random_image, write_png16


def png_bytes(array: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def jpg_bytes(array: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def matte(h: int, w: int, seed: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(seed)
    cx, cy = rng.uniform(0.4, 0.6) * w, rng.uniform(0.4, 0.6) * h
    a = np.clip((min(h, w) / 3 - np.hypot(xx - cx, yy - cy)) / 2 + 0.5, 0, 1)
    return (a * 255).round().astype(np.uint8)


def trimap8(a8: np.ndarray, radius: int = 2) -> np.ndarray:
    return (make_trimap(torch.from_numpy(a8 / 255.0).float()[None], radius)[0].numpy() * 255).round().astype(np.uint8)


def registry(archive, name):
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    return {name: DatasetSpec(name, (archive.as_uri(),), archive.name, sha, archive.stat().st_size,
                              "matting", name, "test data", "a tiny matting archive")}


def test_alphamatting_layout_through_download(tmp_path):
    members = {}
    for i in (1, 2, 3):
        a = matte(30, 40, i)
        members[f"alphamatting/input_training_lowres/GT{i:02d}.png"] = png_bytes(random_image(30, 40, i))
        members[f"alphamatting/gt_training_lowres/GT{i:02d}.png"] = png_bytes(a)
        members[f"alphamatting/trimap_training_lowres/Trimap1/GT{i:02d}.png"] = png_bytes(trimap8(a, 2))
        members[f"alphamatting/trimap_training_lowres/Trimap2/GT{i:02d}.png"] = png_bytes(trimap8(a, 4))
    archive = make_zip(tmp_path / "alphamatting.zip", members)
    root = download("alphamatting", tmp_path / "cache", registry=registry(archive, "alphamatting"))
    ds = MattingFolder(root, "alphamatting")
    assert len(ds) == 3
    item = ds[0]
    assert item["name"] == "GT01" and item["image"].shape == (3, 30, 40) and item["alpha"].shape == (1, 30, 40)
    assert set(item["trimap"].unique().tolist()) == {0.0, 0.5, 1.0}
    assert torch.allclose(item["alpha"], torch.from_numpy(matte(30, 40, 1) / 255.0).float()[None])
    coarse = MattingFolder(root, "alphamatting-trimap2")[0]["trimap"]
    assert (coarse == 0.5).sum() > (item["trimap"] == 0.5).sum()
    small = MattingFolder(root, "alphamatting", size=16)[1]
    assert small["image"].shape == (3, 16, 16) and set(small["trimap"].unique().tolist()) <= {0.0, 0.5, 1.0}


def test_aim500_layout_with_jpeg_images_and_generated_trimaps(tmp_path):
    for i in range(2):
        (tmp_path / "original").mkdir(exist_ok=True)
        (tmp_path / "mask").mkdir(exist_ok=True)
        (tmp_path / "original" / f"o_{i}.jpg").write_bytes(jpg_bytes(random_image(24, 24, i)))
        (tmp_path / "mask" / f"o_{i}.png").write_bytes(png_bytes(matte(24, 24, i)))
    no_trimaps = MattingLayout("original", "mask")
    item = MattingFolder(tmp_path, no_trimaps, radius=3)[1]
    assert item["name"] == "o_1" and torch.equal(item["trimap"], make_trimap(item["alpha"], 3))
    with pytest.raises(FileNotFoundError, match="trimap does not exist"):
        MattingFolder(tmp_path, "aim500")
    (tmp_path / "trimap").mkdir()
    (tmp_path / "trimap" / "o_0.png").write_bytes(png_bytes(trimap8(matte(24, 24, 0))))
    with pytest.raises(ValueError, match="1 images have no trimap"):
        MattingFolder(tmp_path, "aim500")


def test_distinctions646_foregrounds_are_composited(tmp_path):
    members = {}
    for i in range(2):
        members[f"D646/Train/FG/fg{i}.png"] = png_bytes(random_image(40, 48, i))
        members[f"D646/Train/GT/fg{i}.png"] = png_bytes(matte(40, 48, i))
    archive = make_zip(tmp_path / "d646.zip", members)
    root = download("D646", tmp_path / "cache", registry=registry(archive, "D646"))
    ds = ForegroundFolder(root, "distinctions646", size=32, radius=2, backgrounds_per_foreground=3)
    assert len(ds) == 6
    item = ds[4]
    assert item["name"] == "fg1" and item["image"].shape == (3, 32, 32)
    assert torch.allclose(item["image"], item["alpha"] * item["fg"] + (1 - item["alpha"]) * item["bg"], atol=1e-6)
    assert torch.equal(ds[4]["bg"], item["bg"]) and not torch.equal(ds[3]["bg"], item["bg"])
    assert set(MattingComposites(length=1, size=32)[0]) <= set(item)  # same keys as the procedural data


def test_folder_errors_name_the_problem(tmp_path):
    (tmp_path / "original").mkdir()
    (tmp_path / "mask").mkdir()
    (tmp_path / "trimap").mkdir()
    with pytest.raises(ValueError, match="no images in"):
        MattingFolder(tmp_path, "aim500")
    (tmp_path / "original" / "a.jpg").write_bytes(jpg_bytes(random_image(8, 8)))
    with pytest.raises(ValueError, match="no alpha matte"):
        MattingFolder(tmp_path, "aim500")
    (tmp_path / "mask" / "a.png").write_bytes(png_bytes(matte(8, 10, 0)))
    (tmp_path / "trimap" / "a.png").write_bytes(png_bytes(trimap8(matte(8, 8, 0))))
    with pytest.raises(ValueError, match="same size"):
        MattingFolder(tmp_path, "aim500")[0]
    with pytest.raises(ValueError, match="unknown layout 'coco'"):
        MattingFolder(tmp_path, "coco")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        MattingFolder(tmp_path / "missing", "aim500")
    assert {"alphamatting", "aim500", "distinctions646"} <= set(LAYOUTS)


def test_read_trimap_snaps_grey_levels(tmp_path):
    values = np.array([[0, 10, 100, 128, 150, 250, 255]], dtype=np.uint8)
    path = tmp_path / "t.png"
    path.write_bytes(png_bytes(values))
    assert read_trimap(path).tolist() == [[[0.0, 0.0, 0.5, 0.5, 0.5, 1.0, 1.0]]]


def _aim_like(root, n: int = 1, size: int = 12):
    """``n`` images with grey 8-bit mattes in the AIM-500 folder names (original/, mask/, trimap/)."""
    for i in range(n):
        for sub in ("original", "mask", "trimap"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "original" / f"o{i}.png").write_bytes(png_bytes(random_image(size, size, i)))
        (root / "mask" / f"o{i}.png").write_bytes(png_bytes(matte(size, size, i)))
        (root / "trimap" / f"o{i}.png").write_bytes(png_bytes(trimap8(matte(size, size, i))))


def test_16_bit_alpha_of_half_reads_as_half(tmp_path):
    _aim_like(tmp_path)
    write_png16(tmp_path / "mask" / "o0.png", np.full((12, 12), 32768, np.uint16))
    alpha = MattingFolder(tmp_path, "aim500")[0]["alpha"]
    assert torch.allclose(alpha, torch.full_like(alpha, 32768 / 65535), atol=1e-6)  # was 1.0 (clipped)


def test_mattes_with_an_alpha_channel_use_it_and_grey_mattes_stay_grey(tmp_path):
    h = w = 16
    rgba = np.full((h, w, 4), 255, np.uint8)
    rgba[..., 3] = 64  # white colour, alpha 0.25: read as grey this was 1.0
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    la = np.zeros((h, w, 2), np.uint8)
    la[..., 1] = 64
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    la16 = np.zeros((h, w, 2), np.uint16)
    la16[..., 0], la16[..., 1] = 65535, 16448  # 16-bit grey + alpha, alpha 0.25 as well
    write_png16(tmp_path / "la16.png", la16)
    for name in ("rgba.png", "la.png", "la16.png"):
        assert torch.allclose(read_alpha(tmp_path / name), torch.full((1, h, w), 64 / 255), atol=1e-6), name
    grey = matte(h, w, 0)
    (tmp_path / "grey.png").write_bytes(png_bytes(grey))
    opaque = np.dstack([grey, grey, grey, np.full_like(grey, 255)])  # a grey matte saved as opaque RGBA
    Image.fromarray(opaque, "RGBA").save(tmp_path / "opaque.png")
    for name in ("grey.png", "opaque.png"):
        assert torch.allclose(read_alpha(tmp_path / name), torch.from_numpy(grey / 255.0).float()[None], atol=1e-6)

    root = tmp_path / "d646"
    (root / "Train" / "FG").mkdir(parents=True)
    (root / "Train" / "FG" / "a.png").write_bytes(png_bytes(random_image(h, w)))
    (root / "Train" / "GT").mkdir()
    (root / "Train" / "GT" / "a.png").write_bytes((tmp_path / "rgba.png").read_bytes())
    item = ForegroundFolder(root, size=h, radius=1, backgrounds_per_foreground=1)[0]
    assert torch.allclose(item["alpha"], torch.full((1, h, w), 64 / 255), atol=1e-5)  # was 1.0


@pytest.mark.parametrize("sub", ["original", "mask", "trimap"])
def test_two_files_with_one_name_are_ambiguous(tmp_path, sub):
    _aim_like(tmp_path, n=2)
    (tmp_path / sub / "o1.jpg").write_bytes(jpg_bytes(random_image(12, 12)))
    with pytest.raises(ValueError, match=f"ambiguous file names in .*{sub}.*o1.jpg and .*o1.png"):
        MattingFolder(tmp_path, "aim500")


def test_corrupt_matting_files_fail_when_built_or_are_skipped(tmp_path):
    _aim_like(tmp_path, n=3)
    (tmp_path / "mask" / "o1.png").write_bytes(png_bytes(matte(12, 12, 1))[:60])  # cut short
    with pytest.raises(ValueError, match="(?s)MattingFolder.*1 image file.*mask/o1.png.*Remove or replace"):
        MattingFolder(tmp_path, "aim500")
    with pytest.warns(UserWarning, match="1 of 3 items left out"):
        ds = MattingFolder(tmp_path, "aim500", skip_corrupt=True)
    assert [ds[i]["name"] for i in range(len(ds))] == ["o0", "o2"]
    root = tmp_path / "fg"
    for sub in ("Train/FG", "Train/GT"):
        (root / sub).mkdir(parents=True)
        (root / sub / "a.png").write_bytes(png_bytes(matte(12, 12, 0)))
    (root / "Train" / "GT" / "a.png").write_bytes(b"")
    with pytest.raises(ValueError, match="(?s)ForegroundFolder.*GT/a.png"):
        ForegroundFolder(root, size=12)


# ----------------------------------------------------------------------------- widgets
def test_compositing_slider_drives_fade():
    from course_lib.widgets import CompositingExplorer

    item = MattingComposites(length=1, size=32, seed=0)[0]
    ex = CompositingExplorer(item["fg"], item["bg"], item["alpha"], opacity=1.0)
    assert torch.allclose(ex.last, item["image"], atol=1e-6)
    ex.slider.value = 0.0
    assert torch.equal(ex.last, item["bg"])
    ex.slider.value = 0.5
    assert torch.allclose(ex.last, 0.5 * item["alpha"] * item["fg"] + (1 - 0.5 * item["alpha"]) * item["bg"])


def test_trimap_slider_drives_the_band_width():
    from course_lib.widgets import TrimapExplorer, draw_trimap_study

    item = MattingComposites(length=1, size=32, seed=0)[0]
    ex = TrimapExplorer(item["image"], item["alpha"], radius=1)
    first = ex.last.unknown_fraction
    ex.slider.value = 5
    assert ex.last.radius == 5 and ex.last.unknown_fraction > first
    assert torch.equal(ex.last.trimap, make_trimap(item["alpha"], 5))
    fig = draw_trimap_study(item["image"], item["alpha"], ex.last)
    assert "radius 5" in fig.axes[2].get_title() and "SAD" in fig.axes[3].get_title()


# ----------------------------------------------------------------------------- CLI recipe
def test_matting_recipe_trains_from_the_command_line(tmp_path):
    from course_lib.train.cli import RECIPES, load_recipe, main

    assert RECIPES["matting"] == "course_lib.matting.recipes:matting"
    recipe = load_recipe("matting")("quick", None)
    assert recipe.config.batch_size == 8 and recipe.data.size == 64
    paper = load_recipe("matting")("paper", None)
    assert paper.data.size == 320  # Deep Image Matting's training crops (Xu et al. 2017, Sec. 4.1)
    with pytest.raises(SystemExit, match="Train/FG"):
        load_recipe("matting")("quick", str(tmp_path))
    out = tmp_path / "run"
    assert main(["matting", "--steps", "2", "--batch-size", "2", "--out", str(out)]) == 0
    assert (out / "checkpoint.pt").is_file() and (out / "history.csv").is_file()
    assert list((out / "samples").glob("*.png"))
