"""Procedural unpaired domains: deterministic, unpaired for training, truly paired for evaluation."""

import pytest
import torch

from course_lib.data.unpaired import (
    SeasonScenes,
    ShapesToTextures,
    foreground_mask,
    mask_iou,
    unpaired_dataset,
)


def test_season_scenes_are_deterministic_images_in_range():
    ds = SeasonScenes(length=10, size=32, seed=0)
    item = ds[3]
    assert set(item) == {"A", "B"} and item["A"].shape == item["B"].shape == (3, 32, 32)
    assert torch.equal(item["A"], SeasonScenes(length=10, size=32, seed=0)[3]["A"])
    assert float(item["A"].min()) >= -1 and float(item["A"].max()) <= 1
    assert not torch.equal(item["A"], SeasonScenes(length=10, size=32, seed=1)[3]["A"])


def test_training_items_are_unpaired_and_held_out_items_are_true_counterparts():
    unpaired, paired = SeasonScenes(length=8, size=32, seed=0), SeasonScenes(length=8, size=32, seed=0, paired=True)
    for i in range(8):
        assert torch.equal(unpaired[i]["A"], paired[i]["A"])  # same summer scene
        assert not torch.equal(unpaired[i]["B"], paired[i]["B"])  # training B comes from another layout
    # The true counterpart shares the geometry: summer and winter differ much less than unrelated winters.
    p = paired.pairs()
    grey = lambda x: x.mean(1)
    edges = lambda x: (grey(x)[:, 1:] - grey(x)[:, :-1]).abs() > 0.15
    same = (edges(p["A"]) & edges(p["B"])).float().sum()
    shuffled = (edges(p["A"]) & edges(p["B"].roll(1, 0))).float().sum()
    assert same > 1.5 * shuffled


def test_flowers_exist_only_in_summer():
    ds = SeasonScenes(length=16, size=32, seed=2, paired=True)
    p = ds.pairs()
    assert p["flowers"].shape == (16, 1, 32, 32) and 0 < float(p["flowers"].mean()) < 0.05
    sel = p["flowers"][:, 0].bool()
    summer, winter = p["A"].permute(1, 0, 2, 3)[:, sel], p["B"].permute(1, 0, 2, 3)[:, sel]  # (3, pixels)
    assert float(winter.mean()) > 0.6  # snow over the flowers (white in [-1, 1])
    assert float((summer.max(0).values - summer.min(0).values).mean()) > 0.4  # saturated colours in summer
    with pytest.raises(ValueError, match="paired=True"):
        SeasonScenes(length=4, size=32).pairs()
    with pytest.raises(ValueError, match="season must be"):
        ds.render(ds.layout(ds.rng(0)), "autumn")


def test_shapes_to_textures_content_and_free_style():
    ds = ShapesToTextures(length=8, size=32, seed=1, paired=True)
    p = ds.pairs()
    assert p["A"].shape == p["B"].shape == (8, 3, 32, 32) and p["mask"].shape == (8, 1, 32, 32)
    assert float(mask_iou(foreground_mask(p["B"]), p["mask"]).mean()) > 0.85
    # Outlines: dark ink only near the shape's boundary, paper elsewhere.
    ink = (p["A"].mean(1, keepdim=True) < 0).float()
    assert 0.02 < float(ink.mean()) < 0.2 and float((ink * (1 - p["mask"])).sum()) < 0.2 * float(ink.sum())
    # Many correct translations of one outline: same shape, different looks.
    variations = ds.true_variations(0, 6)
    assert float(mask_iou(foreground_mask(variations), p["mask"][:1].expand(6, -1, -1, -1)).min()) > 0.8
    flat = variations.flatten(1)
    assert float((flat[:, None] - flat[None]).abs().mean(-1).sum() / 30) > 0.05
    unpaired = ShapesToTextures(length=8, size=32, seed=1)
    assert set(unpaired[0]) == {"A", "B"} and torch.equal(unpaired[0]["A"], p["A"][0])


def test_masks_and_bad_sizes():
    a = torch.zeros(2, 1, 4, 4)
    a[0, :, :2] = 1
    assert mask_iou(a, a).tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="differ in shape"):
        mask_iou(a, a[..., :2])
    with pytest.raises(ValueError, match=r"expected \(N, 3, H, W\)"):
        foreground_mask(torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match="at least 8 pixels"):
        SeasonScenes(size=4)
    with pytest.raises(ValueError, match="at least 16 pixels"):
        ShapesToTextures(size=8)


def test_unpaired_dataset_names(tmp_path):
    ds, text = unpaired_dataset(None, size=16)
    assert isinstance(ds, SeasonScenes) and "summer" in text
    ds, _ = unpaired_dataset("shapes", size=16, train=False)
    assert isinstance(ds, ShapesToTextures) and ds.seed == 1
    with pytest.raises(ValueError, match="horse2zebra"):
        unpaired_dataset(str(tmp_path / "missing"), size=16)


def test_cli_stops_on_a_corrupt_file_before_training(tmp_path):
    """A corrupt image in --data fails when the recipe builds its data set, listing the file, not mid-run."""
    from course_lib.train.cli import main
    from tests.helpers import random_image, write_image

    root = tmp_path / "h2z"
    for domain in "AB":
        for i in range(2):
            write_image(root / f"train{domain}" / f"{i}.png", random_image(16, 16, i))
    (root / "trainA" / "2.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut off")
    out = tmp_path / "run"
    with pytest.raises(ValueError, match="(?s)trainA.*1 image file.*2.jpg.*Remove or replace"):
        main(["cyclegan", "--data", str(root), "--steps", "2", "--batch-size", "1", "--out", str(out)])
    # nothing trained: the run folder (checked for writability first) holds no checkpoint or history
    assert not (out / "checkpoint.pt").exists() and not (out / "history.csv").exists()


def test_item_content_and_style_render_the_paired_item():
    ds = ShapesToTextures(length=5, size=32, seed=4, paired=True)
    for i in range(5):
        assert torch.equal(ds.textured(ds.item_content(i), ds.item_style(i)), ds[i]["B"])
