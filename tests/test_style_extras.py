"""Topics 02-03 around the methods: painterly patterns, user images, sliders (headless), CLI recipes."""

import numpy as np
import pytest
import torch

from course_lib.style import adain as adain_mod
from course_lib.style.gatys import WeightSweep
from course_lib.style.images import FolderCrops, load_user_image, style_image, style_names
from course_lib.style.patterns import KINDS, PALETTES, PainterlyStyles, painterly
from course_lib.style.transformer_net import TransformerNet
from course_lib.style.vgg import VGGFeatures
from tests.helpers import random_image, write_image


# --------------------------------------------------------------------------- patterns and images
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_painterly_patterns_are_deterministic_colourful_images(kind):
    a, b = painterly(kind, 48, seed=3), painterly(kind, 48, seed=3)
    assert a.shape == (3, 48, 48) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, painterly(kind, 48, seed=4))
    assert 0 <= float(a.min()) and float(a.max()) <= 1
    assert float(a.std()) > 0.1  # a pattern, not a flat colour
    assert not torch.equal(a, painterly(kind, 48, seed=3, palette="candy" if KINDS[kind] != "candy" else "earth"))


def test_painterly_styles_dataset_and_bad_input():
    ds = PainterlyStyles(size=32, length=5, seed=1)
    assert torch.equal(ds[2], PainterlyStyles(size=32, length=5, seed=1)[2]) and ds[0].shape == (3, 32, 32)
    with pytest.raises(ValueError, match="unknown pattern kind"):
        painterly("cubism", 32)
    with pytest.raises(ValueError, match="unknown palette"):
        painterly("waves", 32, palette="neon")
    with pytest.raises(ValueError, match="size must be an int >= 16"):
        painterly("waves", 8)
    with pytest.raises(ValueError, match="unknown pattern kinds"):
        PainterlyStyles(kinds=("blobs",))
    assert len(PALETTES) >= 5


def test_style_images_by_name():
    for name in ("swirls", "brick", "ihc"):
        img = style_image(name, 32)
        assert img.shape == (3, 32, 32) and 0 <= float(img.min()) and float(img.max()) <= 1
    assert set(KINDS) < set(style_names())
    with pytest.raises(ValueError, match="unknown style"):
        style_image("monet", 32)


def test_user_images_from_a_path_never_a_download_in_quick_mode(tmp_path, monkeypatch):
    path = write_image(tmp_path / "mine.png", random_image(40, 60))
    img = load_user_image(path, size=32)
    assert img.shape == (3, 32, 32)
    assert load_user_image("coffee", 16).shape == (3, 16, 16)
    monkeypatch.setenv("COURSE_MODE", "quick")
    with pytest.raises(RuntimeError, match="quick mode never touches the network"):
        load_user_image("https://example.com/starry.jpg", 32)
    with pytest.raises(FileNotFoundError, match="no image at"):
        load_user_image(tmp_path / "missing.png")


def test_folder_crops(tmp_path):
    for i in range(3):
        write_image(tmp_path / f"{i}.jpg", random_image(50, 70, seed=i))
    ds = FolderCrops(tmp_path, size=32, load_size=40)
    torch.manual_seed(0)
    item = ds[1]
    assert len(ds) == 3 and item.shape == (3, 32, 32) and 0 <= float(item.min()) <= float(item.max()) <= 1
    with pytest.raises(ValueError, match="load_size 16 must be >= size 32"):
        FolderCrops(tmp_path, size=32, load_size=16)


# --------------------------------------------------------------------------- sliders, driven headlessly
def test_style_weight_slider_picks_the_nearest_precomputed_result():
    from course_lib.widgets import StyleWeightExplorer

    sweep = WeightSweep([1e2, 1e3, 1e4], [torch.full((1, 3, 8, 8), v) for v in (0.1, 0.5, 0.9)],
                        [1.0, 2.0, 3.0], [0.3, 0.2, 0.1])
    ex = StyleWeightExplorer(sweep)
    assert ex.last == 1 and torch.equal(ex.image(), sweep.images[1])
    ex.sliders["log10_ratio"].value = 4.0
    assert ex.last == 2 and float(ex.image().mean()) == pytest.approx(0.9)
    ex.sliders["log10_ratio"].value = 2.0
    assert ex.last == 0


def test_adain_sliders_drive_alpha_and_the_style_mix():
    from course_lib.widgets import AdaINExplorer

    torch.manual_seed(0)
    net = adain_mod.AdaINNet(VGGFeatures(layers=adain_mod.ADAIN_LAYERS, weights=None))
    c, a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32) * 0.2
    ex = AdaINExplorer(net, c, a, b, alpha=1.0, mix=0.0)
    assert torch.allclose(ex.last, adain_mod.stylise_mix(net, c, a, b, 1.0, 0.0))
    ex.sliders["mix"].value = 1.0
    assert torch.allclose(ex.last, adain_mod.stylise_mix(net, c, a, b, 1.0, 1.0))
    ex.sliders["alpha"].value = 0.0  # no style at all: the decoded content features
    with torch.no_grad():
        assert torch.allclose(ex.last, net.decoder(net.encode(c)["relu4_1"]).clamp(0, 1), atol=1e-5)


def test_cin_slider_mixes_two_styles():
    from course_lib.style.cin import ConditionalInstanceNorm2d
    from course_lib.widgets import CINExplorer

    torch.manual_seed(0)
    net = TransformerNet(channels=4, n_residual=1, n_styles=3)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, ConditionalInstanceNorm2d):
                m.gamma.uniform_(0.5, 1.5)
                m.beta.normal_()
    c = torch.rand(1, 3, 16, 16)
    ex = CINExplorer(net, c, style_a=0, style_b=2, mix=0.0)
    with torch.no_grad():
        assert torch.allclose(ex.last, net(c, 0))
        ex.sliders["mix"].value = 1.0
        assert torch.allclose(ex.last, net(c, 2))
        ex.sliders["style_b"].value = 1
        assert torch.allclose(ex.last, net(c, 1))


# --------------------------------------------------------------------------- CLI recipes
def test_recipes_are_registered():
    from course_lib.train.cli import RECIPES, load_recipe

    for name in ("fast_style", "cin_style", "adain", "srresnet", "srgan"):
        assert name in RECIPES and callable(load_recipe(name))


@pytest.mark.parametrize("model", ["fast_style", "cin_style", "adain", "srresnet", "srgan"])
def test_quick_recipes_train_two_steps_from_the_command_line(model, tmp_path, capsys):
    from course_lib.train.cli import main

    assert main([model, "--preset", "quick", "--steps", "2", "--out", str(tmp_path / model)]) == 0
    out = capsys.readouterr().out
    assert "done: step 2/2" in out and (tmp_path / model / "checkpoint.pt").is_file()
    assert (tmp_path / model / "history.csv").is_file()


def test_paper_recipes_use_the_papers_settings():
    from course_lib.style import recipes

    r = recipes.srresnet("paper")
    assert r.config.steps == 1_000_000 and r.config.batch_size == 16
    assert sum(p.numel() for p in r.task.G.parameters()) == 1_549_462
    g = recipes.srgan("paper")
    assert [p.steps for p in g.phases] == [100_000, 100_000] and g.phases[1].options["lr_scale"] == 0.1


def test_recipes_read_content_and_style_folders(tmp_path):
    from course_lib.style import recipes

    for i in range(2):
        write_image(tmp_path / "content" / f"{i}.png", random_image(80, 80, seed=i))
        write_image(tmp_path / "style" / f"{i}.png", random_image(80, 80, seed=10 + i))
    r = recipes.fast_style("quick", f"{tmp_path / 'content'},mosaic,{tmp_path / 'style' / '0.png'}")
    assert r.task.n_styles == 2 and len(r.data) == 2
    assert set(r.data[0]) == {"content", "style"}
    a = recipes.adain("quick", f"{tmp_path / 'content'},{tmp_path / 'style'}")
    item = a.data[1]
    assert item["content"].shape == item["style"].shape == (3, 64, 64)
    with pytest.raises(SystemExit, match="CONTENT_DIR,STYLE_DIR"):
        recipes.adain("quick", str(tmp_path / "content"))
    np.testing.assert_equal(len(recipes.srresnet("quick", str(tmp_path / "content")).data), 2)
