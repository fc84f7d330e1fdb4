"""Paired data for pix2pix/pix2pixHD (course_lib.data.paired) and the pix2pix/pix2pixHD command-line recipes."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from course_lib.data.paired import (
    FACADE_CLASSES,
    EdgesToShapes,
    GreyToColour,
    InMemory,
    LabelInstanceFolder,
    ProceduralFacades,
    StreetScenes,
    label_colours,
)
from tests.helpers import jpeg_bytes, make_tar, random_image, write_image


def test_facades_are_deterministic_labelled_pairs_in_range():
    ds = ProceduralFacades(10, size=64, seed=0)
    a, b = ds[3], ProceduralFacades(10, size=64, seed=0)[3]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["target"], ProceduralFacades(10, size=64, seed=1)[3]["target"])
    assert a["input"].shape == a["target"].shape == (3, 64, 64) and a["labels"].shape == (64, 64)
    assert a["target"].min() >= -1 and a["target"].max() <= 1 and a["labels"].dtype == torch.long
    classes = set(torch.cat([ds[i]["labels"].flatten() for i in range(10)]).unique().tolist())
    assert {1, 2, 3, 5} <= classes <= set(range(len(FACADE_CLASSES)))  # wall, window, door, cornice at least
    assert torch.equal(a["input"], label_colours(a["labels"], ds.palette))


def test_facade_appearance_is_multimodal_given_the_labels():
    ds = ProceduralFacades(4, size=48, seed=0)
    looks = ds.appearances(0, 6)
    assert looks.shape == (6, 3, 48, 48)
    wall = (ds[0]["labels"] == 1)
    colours = looks[:, :, wall].mean(-1)  # mean wall colour of each painting, (6, 3)
    assert float(colours.std(0).mean()) > 0.1, "the wall colour is not determined by the label map"
    assert not torch.equal(looks[0], looks[1])


def test_edges_come_from_canny_on_the_rendering():
    from skimage.feature import canny

    ds = EdgesToShapes(5, size=48, seed=0, edge_sigma=1.0)
    item = ds[2]
    assert item["input"].shape == (1, 48, 48) and item["target"].shape == (3, 48, 48)
    assert set(item["input"].unique().tolist()) <= {-1.0, 1.0} and (item["input"] == -1).any()
    rgb = ((item["target"] + 1) / 2).permute(1, 2, 0).numpy()
    grey = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    edges = canny(grey, sigma=1.0, low_threshold=0.04, high_threshold=0.1)
    agreement = (torch.from_numpy(edges) == (item["input"][0] < 0)).float().mean()
    assert agreement > 0.98  # the same detector on the (re-quantised) rendering


def test_grey_to_colour_uses_the_luminance_of_the_photo_crop():
    ds = GreyToColour(4, size=32, seed=0)
    item = ds[1]
    rgb = (item["target"] + 1) / 2
    grey = (rgb * torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)).sum(0, keepdim=True) * 2 - 1
    assert item["input"].shape == (1, 32, 32) and torch.allclose(item["input"], grey, atol=1e-5)


def test_street_scenes_have_touching_objects_of_one_class():
    ds = StreetScenes(20, size=64, seed=0)
    touching = 0
    for i in range(20):
        item = ds[i]
        lab, inst = item["labels"], item["instances"]
        assert lab.shape == inst.shape == (64, 64) and item["target"].shape == (3, 64, 64)
        assert int(lab.max()) < StreetScenes.label_nc
        same = lab[:, 1:] == lab[:, :-1]
        differ = inst[:, 1:] != inst[:, :-1]
        touching += int((same & differ & (lab[:, 1:] >= 1)).any())
        for k in inst.unique():  # every instance belongs to exactly one class
            assert lab[inst == k].unique().numel() == 1
    assert touching == 20, "every scene has same-class neighbours that only the instance map separates"


def test_in_memory_mirrors_reproducibly_and_checks_its_length():
    ds = InMemory(ProceduralFacades(6, size=32), mirror=True)
    assert len(ds) == 6 and ds.tensors["target"].shape == (6, 3, 32, 32)
    torch.manual_seed(3)
    first = ds[0]
    torch.manual_seed(3)
    assert torch.equal(first["target"], ds[0]["target"])
    flips = []
    for s in range(8):
        torch.manual_seed(s)
        flips.append(torch.equal(ds[0]["target"], ds.tensors["target"][0].flip(-1)))
    assert any(flips) and not all(flips)
    with pytest.raises(ValueError, match="length must be in"):
        InMemory(ProceduralFacades(6, size=32), length=7)
    with pytest.raises(ValueError, match="size must be an int >= 32"):
        ProceduralFacades(size=16)


def _write_ids(path, array, mode):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint16 if mode == "I;16" else np.uint8)).save(path)


def test_label_instance_folder_reads_the_pix2pixhd_layout(tmp_path):
    for i in range(2):
        lab = np.zeros((20, 40), np.uint8)
        lab[10:, :] = 7
        inst = lab.astype(np.uint16) * 1000
        inst[10:, 20:] += 1  # two touching objects of class 7 (Cityscapes' id * 1000 + k)
        _write_ids(tmp_path / "train_label" / f"{i}.png", lab, "L")
        _write_ids(tmp_path / "train_inst" / f"{i}.png", inst, "I;16")
        write_image(tmp_path / "train_img" / f"{i}.png", random_image(20, 40, seed=i))
    ds = LabelInstanceFolder(tmp_path, size=(16, 32), flip=False)
    item = ds[1]
    assert item["labels"].shape == item["instances"].shape == (16, 32) and item["target"].shape == (3, 16, 16 * 2)
    assert set(item["labels"].unique().tolist()) == {0, 7} and set(item["instances"].unique().tolist()) == {0, 7000, 7001}
    (tmp_path / "train_img" / "1.png").unlink()
    with pytest.raises(ValueError, match="different numbers of files"):
        LabelInstanceFolder(tmp_path)
    write_image(tmp_path / "train_img" / "1.png", random_image(20, 40, seed=1))
    write_image(tmp_path / "train_label" / "0.png", random_image(20, 40, seed=5))
    with pytest.raises(ValueError, match="colour image"):
        LabelInstanceFolder(tmp_path)[0]


def test_label_instance_folder_checks_its_files_when_built(tmp_path):
    for i in range(3):
        _write_ids(tmp_path / "train_label" / f"{i}.png", np.full((8, 16), 7), "L")
        _write_ids(tmp_path / "train_inst" / f"{i}.png", np.full((8, 16), 7000), "I;16")
        write_image(tmp_path / "train_img" / f"{i}.png", random_image(8, 16, seed=i))
    (tmp_path / "train_inst" / "1.png").write_bytes(b"GIF89a broken")
    with pytest.raises(ValueError, match="(?s)LabelInstanceFolder.*train_inst/1.png.*Remove or replace"):
        LabelInstanceFolder(tmp_path)
    with pytest.warns(UserWarning, match="1 of 3 items left out"):
        ds = LabelInstanceFolder(tmp_path, skip_corrupt=True)
    # the pairing by order survives: item 1 is now the files named 2
    assert [p.name for p in ds.labels] == [p.name for p in ds.images] == [p.name for p in ds.instances] == ["0.png", "2.png"]


# --------------------------------------------------------------------------- command-line recipes
def test_cli_lists_and_runs_the_pix2pix_recipes(tmp_path, capsys):
    from course_lib.train.cli import main

    assert main(["--list"]) == 0
    listed = capsys.readouterr().out.split()
    assert "pix2pix" in listed and "pix2pixhd" in listed
    out = tmp_path / "run"
    assert main(["pix2pix", "--preset", "quick", "--data", "procedural-edges", "--steps", "2", "--out", str(out),
                 "--batch-size", "2"]) == 0
    assert (out / "checkpoint.pt").is_file() and (out / "history.csv").is_file()
    assert main(["pix2pix", "--preset", "quick", "--data", "procedural-edges", "--steps", "3", "--out", str(out),
                 "--batch-size", "2", "--resume"]) == 0
    assert "resumed from" in capsys.readouterr().out


def test_cli_trains_pix2pix_on_a_registry_data_set_built_here(tmp_path, monkeypatch, capsys):
    """--data facades: download (from a file:// archive), safe extraction, PairedFolder in the BtoA direction."""
    import importlib

    from course_lib.train.cli import main

    dl = importlib.import_module("course_lib.data.download")  # the module (the package exports a function of that name)

    members = {f"facades/train/{i}.jpg": jpeg_bytes(random_image(32, 64, seed=i)) for i in range(3)}
    archive = make_tar(tmp_path / "facades.tar.gz", members)
    spec = dl.REGISTRY["facades"]
    monkeypatch.setitem(dl.REGISTRY, "facades", dl.DatasetSpec(
        spec.name, (archive.as_uri(),), spec.filename, None, None, spec.layout, spec.subdir, spec.licence,
        spec.description))
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    out = tmp_path / "run"
    assert main(["pix2pix", "--preset", "quick", "--data", "facades", "--steps", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert hashlib.sha256(archive.read_bytes()).hexdigest() in printed  # the unpinned checksum is shown
    assert "(BtoA)" in printed and (out / "samples").is_dir()

    from course_lib.translation.recipes import pix2pix

    recipe = pix2pix("paper", "facades")  # cached now: no second download
    assert recipe.config.batch_size == 1 and recipe.config.steps == 200 * 3 and recipe.config.lr_decay_start == 300
    item = recipe.data[0]
    assert item["input"].shape == (3, 256, 256)  # 286 -> random 256 crop, mirrored (pix2pix's jitter)
    assert recipe.task.G.num_downs == 8 and sum(p.numel() for p in recipe.task.G.parameters()) == 54_413_955


def test_cli_trains_pix2pixhd_in_three_stages(tmp_path):
    from course_lib.train.cli import main
    from course_lib.translation.recipes import pix2pixhd

    recipe = pix2pixhd("quick", None)
    assert [p.options["stage"] for p in recipe.phases] == ["global", "local", "joint"]
    with pytest.raises(SystemExit, match="phased schedule"):
        main(["pix2pixhd", "--preset", "quick", "--steps", "5", "--out", str(tmp_path / "x")])
    with torch.device("meta"):  # the full-size networks: shapes only
        paper = pix2pixhd("paper", None)
    assert paper.task.D.num_D == 3 and paper.task.vgg is not None and paper.task.G.ngf == 32


def test_cli_rejects_unknown_data():
    from course_lib.translation.recipes import pix2pix

    with pytest.raises(SystemExit, match="neither a folder nor one of"):
        pix2pix("quick", "horse2zebra")


def test_empty_label_folder_and_out_of_range_label_colours(tmp_path):
    (tmp_path / "train_label").mkdir()
    (tmp_path / "train_img").mkdir()
    with pytest.raises(ValueError, match="no label maps in .*train_label.*train_img/"):
        LabelInstanceFolder(tmp_path)
    palette = np.zeros((3, 3), np.float32)
    with pytest.raises(ValueError, match=r"label ids must be in \[0, 2\], got \[0, 3\]"):
        label_colours(torch.tensor([[0, 3]]), palette)
    with pytest.raises(ValueError, match=r"got \[-1, 0\]"):
        label_colours(torch.tensor([[-1, 0]]), palette)
