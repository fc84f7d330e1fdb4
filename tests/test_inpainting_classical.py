"""PatchMatch, Poisson blending, the classical baselines, the quick-mode data and the shared evaluation."""

import numpy as np
import pytest
import torch

from course_lib.data import load_photo
from course_lib.inpainting import center_mask, random_rect_mask
from course_lib.inpainting.blending import biharmonic_inpaint, mean_fill, poisson_blend
from course_lib.inpainting.datasets import (
    InpaintingImages,
    TextureCrops,
    context_encoder_mask_fn,
    gl_rect_mask_fn,
    image_source,
    inpainting_dataset,
)
from course_lib.inpainting.evaluate import (
    assert_beats,
    beats,
    classical_baselines,
    compare,
    evaluate,
    format_table,
    held_out,
)
from course_lib.inpainting.patchmatch import (
    exact_nearest_neighbour_field,
    inpaint_patchmatch,
    nearest_neighbour_field,
    patch_vectors,
    reconstruct_from_nnf,
    valid_sources,
)


@pytest.fixture(scope="module")
def photo():
    return load_photo("chelsea", 48)  # (3, 48, 48) in [0, 1]


# ----------------------------------------------------------------------------- PatchMatch
def test_patch_vectors_hold_the_patch_around_each_pixel():
    img = np.arange(5 * 6 * 2, dtype=np.float32).reshape(5, 6, 2)
    pv = patch_vectors(img, 3)
    assert pv.shape == (5, 6, 18)
    np.testing.assert_array_equal(pv[2, 3].reshape(2, 3, 3), img[1:4, 2:5].transpose(2, 0, 1))


def test_valid_sources_exclude_the_hole_and_the_border():
    hole = np.zeros((20, 20), bool)
    hole[8:12, 8:12] = True
    valid = valid_sources(hole, 5)
    assert not valid[:2].any() and not valid[:, -2:].any()  # patch would leave the image
    assert not valid[6:14, 6:14].any() and valid[5, 5] and valid[14, 14]  # patch would touch the hole


def test_patchmatch_recovers_a_shift_and_nearly_matches_exhaustive_search(photo):
    a, b = photo[:, 4:44, 4:44], photo[:, 0:40, 2:42]  # a(y, x) = b(y + 4, x + 2)
    nnf = nearest_neighbour_field(a, b, patch_size=7, iterations=5, seed=0)
    ys, xs = np.mgrid[0:40, 0:40]
    interior = (slice(5, 32), slice(5, 32))
    assert (nnf.field[..., 0] - ys)[interior].tolist() == np.full((27, 27), 4).tolist()
    assert ((nnf.field[..., 1] - xs)[interior] == 2).all()
    exact = exact_nearest_neighbour_field(a, b, patch_size=7)
    assert nnf.history[-1] <= exact.history[0] * 1.5 + 1e-6  # within 50% of the optimum's mean distance
    assert nnf.history[0] > 5 * nnf.history[-1]  # random initialisation is far worse
    assert all(x >= y - 1e-9 for x, y in zip(nnf.history, nnf.history[1:]))  # passes never get worse


def test_reconstruction_from_the_exact_field_of_an_image_with_itself_is_the_image(photo):
    img = photo[:, :24, :24]
    nnf = exact_nearest_neighbour_field(img, img, patch_size=3)
    rec = reconstruct_from_nnf(img, nnf, patch_size=3)
    np.testing.assert_allclose(rec[2:-2, 2:-2], img.permute(1, 2, 0).numpy()[2:-2, 2:-2], atol=1e-5)


def test_patchmatch_respects_source_valid(photo):
    valid = np.zeros((48, 48), bool)
    valid[20:30, 20:30] = True
    nnf = nearest_neighbour_field(photo, photo, patch_size=5, iterations=2, source_valid=valid)
    assert valid[nnf.field[..., 0], nnf.field[..., 1]].all()


def test_inpaint_patchmatch_copies_texture_and_keeps_known_pixels():
    # a periodic texture: the hole must be refilled with stripes, which mean colour cannot do
    x = torch.arange(64).float()
    stripes = (torch.sin(x / 2.0)[None, None, :] * torch.ones(3, 64, 1) + 1) / 2
    mask = center_mask(64, 16)
    out = inpaint_patchmatch(stripes, mask, patch_size=7, seed=0)
    assert out.shape == stripes.shape and torch.equal(out * (1 - mask), stripes * (1 - mask))
    err_pm = ((out - stripes).abs() * mask).sum() / mask.sum() / 3
    err_mean = ((mean_fill(stripes, mask) - stripes).abs() * mask).sum() / mask.sum() / 3
    assert err_pm < 0.5 * err_mean, (float(err_pm), float(err_mean))
    # it never copies hole pixels: a bright square inside the hole must vanish
    bright = stripes.clone()
    bright[:, 28:36, 28:36] = 5.0
    assert float(inpaint_patchmatch(bright, mask, seed=0).max()) <= 1.0 + 1e-6


def test_patchmatch_bad_input(photo):
    with pytest.raises(ValueError, match="odd int"):
        nearest_neighbour_field(photo, photo, patch_size=4)
    with pytest.raises(ValueError, match="smaller than one"):
        nearest_neighbour_field(photo[:, :4, :4], photo, patch_size=7)
    with pytest.raises(ValueError, match="channels"):
        nearest_neighbour_field(photo, photo[:1], patch_size=3)
    with pytest.raises(ValueError, match="no valid source"):
        nearest_neighbour_field(photo, photo, patch_size=3, source_valid=np.zeros((48, 48), bool))
    with pytest.raises(ValueError, match="same height and width"):
        inpaint_patchmatch(photo, center_mask(32, 8))
    with pytest.raises(ValueError, match="binary"):
        inpaint_patchmatch(photo, center_mask(48, 8) * 0.5)
    with pytest.raises(ValueError, match="covers the whole image"):
        inpaint_patchmatch(photo, torch.ones(1, 48, 48))
    assert torch.equal(inpaint_patchmatch(photo, torch.zeros(1, 48, 48)), photo)  # no hole: unchanged
    big_hole = torch.ones(1, 48, 48)
    big_hole[:, :3] = 0
    with pytest.raises(ValueError, match="no .* patch of known pixels"):
        inpaint_patchmatch(photo, big_hole, patch_size=7)


# ----------------------------------------------------------------------------- blending and baselines
def test_poisson_blend_keeps_gradients_and_matches_the_border(photo):
    mask = center_mask(48, 20)
    # the source is the image plus a colour offset: the gradients are the image's, so the solution
    # inside the hole is the image itself
    out = poisson_blend(photo + 0.3, photo, mask)
    torch.testing.assert_close(out, photo, atol=1e-5, rtol=0)
    # a hole touching the image border is fine (neighbours outside the image are left out)
    corner = torch.zeros(1, 48, 48)
    corner[:, :10, :10] = 1
    torch.testing.assert_close(poisson_blend(photo - 0.2, photo, corner), photo, atol=1e-5, rtol=0)


def test_poisson_blend_of_a_flat_source_is_harmonic():
    target = torch.zeros(1, 9, 9)
    target[:, :, 0] = 1.0  # left column bright: the harmonic fill decreases to the right
    mask = torch.zeros(1, 9, 9)
    mask[:, 1:8, 1:8] = 1
    out = poisson_blend(torch.zeros(1, 9, 9), target, mask)[0]
    lap = 4 * out[2:-2, 2:-2] - out[1:-3, 2:-2] - out[3:-1, 2:-2] - out[2:-2, 1:-3] - out[2:-2, 3:-1]
    assert lap.abs().max() < 1e-6 and (out[4, 1:8].diff() < 0).all()


def test_poisson_and_baselines_bad_input(photo):
    with pytest.raises(ValueError, match="source must have the target's shape"):
        poisson_blend(photo[:, :10], photo, center_mask(48, 8))
    for fn in (mean_fill, biharmonic_inpaint):
        with pytest.raises(ValueError, match="same height and width"):
            fn(photo, center_mask(40, 8))
        with pytest.raises(ValueError, match="binary"):
            fn(photo, center_mask(48, 8) * 2)
        with pytest.raises(ValueError, match="covers the whole image"):
            fn(photo, torch.ones(1, 48, 48))
        assert torch.equal(fn(photo, torch.zeros(1, 48, 48)), photo)
    assert torch.equal(poisson_blend(photo * 0, photo, torch.zeros(1, 48, 48)), photo)
    with pytest.raises(ValueError, match="float tensor"):
        mean_fill((photo * 255).to(torch.uint8), center_mask(48, 8))


def test_mean_fill_and_biharmonic(photo):
    mask = center_mask(48, 16)
    filled = mean_fill(photo, mask)
    known_mean = (photo * (1 - mask)).sum((1, 2)) / (1 - mask).sum()
    torch.testing.assert_close(filled[:, 24, 24], known_mean)
    assert torch.equal(filled * (1 - mask), photo * (1 - mask))
    batch = torch.stack([photo, photo.flip(-1)])
    assert mean_fill(batch, mask[None]).shape == batch.shape
    bh = biharmonic_inpaint(photo, mask)
    err = lambda x: float(((x - photo).abs() * mask).sum() / mask.sum())
    assert err(bh) < err(filled)  # smooth continuation beats one flat colour on a photo


# ----------------------------------------------------------------------------- data
def test_quick_images_and_masks_are_deterministic_and_in_range():
    ds = InpaintingImages(size=32, length=20, seed=3)
    a, b = ds[5], ds[5]
    assert torch.equal(a, b) and a.shape == (3, 32, 32) and 0 <= float(a.min()) and float(a.max()) <= 1
    t = TextureCrops(size=32, length=4)[0]
    assert t.shape == (3, 32, 32)
    rng = np.random.default_rng(0)
    for _ in range(20):
        m = gl_rect_mask_fn(64)(rng)
        rows, cols = int(m[0].any(1).sum()), int(m[0].any(0).sum())
        assert 24 <= rows <= 32 and 24 <= cols <= 32  # 96-128 at 256, scaled to 64
    ce = context_encoder_mask_fn(128)(rng)
    assert int(ce.sum()) == 56 * 56 and ce[0, 36, 36] == 1 and ce[0, 35, 36] == 0  # train.lua: 64 - 2 * 4
    item = inpainting_dataset(ds, gl_rect_mask_fn(32), seed=1)[0]
    assert -1 <= float(item["image"].min()) and set(item["mask"].unique().tolist()) == {0.0, 1.0}


def test_image_source_quick_and_folder(tmp_path):
    from tests.helpers import random_image, write_image

    ds, rng = image_source(None, 32, length=10)
    assert rng == (0.0, 1.0) and len(ds) == 10
    write_image(tmp_path / "a.png", random_image(40, 50))
    folder, rng = image_source(tmp_path, 32)
    assert rng == (-1.0, 1.0) and folder[0].shape == (3, 32, 32)
    with pytest.raises(FileNotFoundError, match="neither 'quick' nor"):
        image_source(tmp_path / "missing", 32)


# ----------------------------------------------------------------------------- evaluation
@pytest.fixture(scope="module")
def test_set():
    return held_out(inpainting_dataset(InpaintingImages(32, 16, seed=1), gl_rect_mask_fn(32), seed=1), n=6)


def test_evaluation_of_the_truth_is_perfect_and_mean_colour_is_not(test_set):
    cheat = lambda image, mask: test_set["image"][: image.shape[0]]  # returns the truth
    scores = compare({**classical_baselines(patchmatch=False), "truth": cheat}, test_set, batch_size=6)
    assert scores["truth"].l1 == 0 and scores["truth"].ssim == pytest.approx(1.0) and scores["truth"].psnr > 150
    assert scores["mean colour"].l1 > 0.01 and beats(scores, "truth") and not beats(scores, "mean colour", "truth")
    assert_beats(scores, "truth")
    with pytest.raises(AssertionError, match="does not beat"):
        assert_beats(scores, "mean colour", "truth")
    table = format_table(scores, baseline="mean colour")
    assert "biharmonic" in table and "PSNR" in table


def test_methods_never_see_the_hole_and_known_pixels_are_not_judged(test_set):
    seen = {}

    def spy(image, mask):
        seen["hole"] = float((image * mask).abs().max())
        return torch.full_like(image, 5.0)  # garbage everywhere, clamped and pasted into the hole only

    s = evaluate(spy, test_set)
    assert seen["hole"] == 0
    assert torch.equal(s.outputs * (1 - test_set["mask"]), test_set["image"] * (1 - test_set["mask"]))
    assert float(s.outputs.max()) <= 1


def test_evaluation_bad_input(test_set):
    with pytest.raises(ValueError, match="no hole"):
        evaluate(classical_baselines(False, False)["mean colour"],
                 {"image": test_set["image"], "mask": torch.zeros_like(test_set["mask"])})
    with pytest.raises(ValueError, match=r"in \[-1, 1\]"):
        evaluate(lambda i, m: i, {"image": test_set["image"] * 3, "mask": test_set["mask"]})
    with pytest.raises(ValueError, match="must return a tensor of shape"):
        evaluate(lambda i, m: i[:, :1], test_set)
    with pytest.raises(ValueError, match="same height and width"):
        evaluate(lambda i, m: i, {"image": test_set["image"], "mask": test_set["mask"][..., :16]})
    with pytest.raises(ValueError, match="fewer than"):
        held_out(inpainting_dataset(InpaintingImages(32, 4), gl_rect_mask_fn(32)), n=10)
    with pytest.raises(KeyError, match="baseline"):
        format_table({"a": evaluate(lambda i, m: i, test_set)}, baseline="b")
    rng = np.random.default_rng(0)
    assert random_rect_mask(32, 8, 8, rng).shape == (1, 32, 32)


def test_high_frequency_energy_ranks_blur_below_texture(test_set):
    from course_lib.inpainting.evaluate import high_frequency_energy

    image, mask = test_set["image"], test_set["mask"]
    flat = mean_fill(image, mask)
    assert (high_frequency_energy(flat, mask) < 1e-6).all()
    assert (high_frequency_energy(image, mask) > 0.01).all()
    thin = torch.zeros_like(mask)
    thin[..., 10:12, 4:20] = 1
    with pytest.raises(ValueError, match="too thin"):
        high_frequency_energy(image, thin)
    with pytest.raises(ValueError, match="no hole"):
        high_frequency_energy(image, torch.zeros_like(mask))


def test_high_frequency_energy_can_ignore_checkerboard(test_set):
    # The checkerboard of stride-2 transposed convolutions (Odena et al., Distill 2016) is a period-2
    # pattern: the plain |Laplacian| counts it as detail, ignore_period_2 removes it exactly.
    from course_lib.inpainting.evaluate import high_frequency_energy

    image, mask = test_set["image"], test_set["mask"]
    n, c, h, w = image.shape
    ii, jj = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    board = 0.05 * (-1.0) ** (ii + jj)
    stripes = 0.05 * (-1.0) ** jj
    flat = mean_fill(image, mask)
    for pattern in (board, stripes):
        assert (high_frequency_energy(flat + pattern, mask) > 0.05).all()  # counted as "detail"
        assert (high_frequency_energy(flat + pattern, mask, ignore_period_2=True) < 1e-6).all()
        textured = (image + pattern).clamp(-1, 1)
        torch.testing.assert_close(high_frequency_energy(textured, mask, ignore_period_2=True),
                                   high_frequency_energy(image, mask, ignore_period_2=True), atol=0.01, rtol=0)
    # real texture survives the filter (attenuated, so compare methods with the truth measured alike)
    assert (high_frequency_energy(image, mask, ignore_period_2=True) > 0.02).all()
    assert (high_frequency_energy(flat, mask, ignore_period_2=True) < 1e-6).all()


def test_cli_recipes_build_and_run(tmp_path):
    from course_lib.inpainting import recipes
    from course_lib.train.cli import RECIPES, main

    assert RECIPES["context_encoder"].endswith(":context_encoder") and RECIPES["global_local"].endswith(":global_local")
    gl = recipes.global_local("quick")
    assert [p.steps for p in gl.phases] == [500, 50, 200] and gl.task.image_size == 32
    with pytest.raises(SystemExit, match="--data FOLDER"):
        recipes.context_encoder("paper", None)
    from tests.helpers import random_image, write_image

    for i in range(2):
        write_image(tmp_path / "photos" / f"{i}.png", random_image(300, 400, seed=i))
    paper = recipes.global_local("paper", str(tmp_path / "photos"))
    item = paper.data[0]
    assert item["image"].shape == (3, 256, 256) and [p.steps for p in paper.phases] == [90_000, 10_000, 400_000]
    assert main(["context_encoder", "--steps", "2", "--batch-size", "4", "--out", str(tmp_path / "ce")]) == 0
    assert (tmp_path / "ce" / "checkpoint.pt").is_file()
    assert main(["global_local", "--time-budget", "0.01", "--batch-size", "2", "--out", str(tmp_path / "gl")]) == 0
