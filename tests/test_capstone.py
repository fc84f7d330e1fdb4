"""The capstone's shared setting (course_lib.inpainting.capstone): masks, data, budget, tables, figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

from course_lib.inpainting import capstone
from course_lib.inpainting.capstone import (
    FAMILIES,
    LEARNED,
    CapstoneConfig,
    assert_all_beat,
    build_tasks,
    compare_all,
    format_tables,
    held_out_sets,
    mask_fn,
    mixed_mask_fn,
    ranking,
    side_by_side,
    train_all,
    training_data,
)
from course_lib.inpainting.evaluate import Scores, classical_baselines

TINY = CapstoneConfig.quick(size=32, steps=2, batch_size=2, width=4, n_test=3)


def _is_rectangle(mask: torch.Tensor) -> bool:
    rows, cols = torch.nonzero(mask[0] > 0.5, as_tuple=True)
    box = mask[0, int(rows.min()):int(rows.max()) + 1, int(cols.min()):int(cols.max()) + 1]
    return bool((box > 0.5).all())


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="power of two"):
        CapstoneConfig(size=48)
    with pytest.raises(ValueError, match="multiple of 4"):
        CapstoneConfig(width=6)
    with pytest.raises(ValueError, match="steps"):
        CapstoneConfig(steps=0)
    with pytest.raises(ValueError, match="rect_fraction"):
        CapstoneConfig(rect_fraction=1.5)


def test_full_preset_is_256px_with_the_papers_widths():
    full = CapstoneConfig.full()
    assert (full.size, full.width, full.pconv_vgg, full.quick_optimizers) == (256, None, True, False)
    assert CapstoneConfig.quick().size == 64 and CapstoneConfig.quick().use_shipped  # >= 64 px photo crops
    assert not CapstoneConfig.full().use_shipped  # the shipped checkpoints are 64 px
    gpu = CapstoneConfig.gpu()  # one Colab T4: 128 px (issue: GPU mode at >= 128 px), trained in the notebook
    assert gpu.size == 128 and not gpu.use_shipped and gpu.width == 32 and gpu.pconv_vgg


def test_mask_families():
    rng = np.random.default_rng(0)
    for family in FAMILIES:
        m = mask_fn(family, 32)(rng)
        assert m.shape == (1, 32, 32) and set(m.unique().tolist()) <= {0.0, 1.0} and 0 < m.mean() < 1
    # Global & Local's rectangles: sides 96-128 of 256 -> 12-16 of 32
    rect = mask_fn("rectangles", 32)(np.random.default_rng(1))
    assert _is_rectangle(rect) and 12 * 12 <= rect.sum() <= 16 * 16
    with pytest.raises(ValueError, match="family"):
        mask_fn("circles", 32)


def test_mixed_masks_use_both_families_in_the_given_proportion():
    fn = mixed_mask_fn(32, 0.5)
    kinds = [_is_rectangle(fn(np.random.default_rng([0, i]))) for i in range(40)]
    assert 8 <= sum(kinds) <= 32  # rectangles about half the time (strokes are almost never rectangles)
    assert all(_is_rectangle(mixed_mask_fn(32, 1.0)(np.random.default_rng(i))) for i in range(5))
    with pytest.raises(ValueError, match="rect_fraction"):
        mixed_mask_fn(32, -0.1)


def test_test_sets_share_images_across_families():
    tests = held_out_sets(TINY)
    assert list(tests) == list(FAMILIES)
    a, b = tests["rectangles"], tests["free-form"]
    assert a["image"].shape == (3, 3, 32, 32) and torch.equal(a["image"], b["image"])
    assert 0.3 < float(a["image"].std()) < 1.0  # crops of photos, not dark textures
    assert not torch.equal(a["mask"], b["mask"])
    item = training_data(TINY)[0]
    assert item["image"].shape == (3, 32, 32) and item["image"].min() >= -1 and item["mask"].shape == (1, 32, 32)


def test_build_tasks_shares_size_and_splits_global_local_like_the_paper():
    cands = build_tasks(CapstoneConfig.quick(steps=500, width=4))
    assert list(cands) == list(LEARNED)
    phases = cands["Global & Local"].phases
    assert [p.steps for p in phases] == [333, 33, 134]  # lecture 09's quick 500 : 50 : 200
    full = build_tasks(CapstoneConfig.full(size=32, steps=500, width=4, pconv_vgg=False))["Global & Local"].phases
    assert [p.steps for p in full] == [90, 10, 400]  # T_C : T_D : T = 90k : 10k : 400k (Iizuka et al. Sec. 4)
    for name, c in cands.items():
        assert sum(p.steps for p in c.phases) == 500, name
    assert cands["DeepFill v2"].task.G.guided is False  # no sketch: it would leak the ground truth
    assert cands["Context Encoder"].task.G.output == "full"
    assert cands["PConv"].task.vgg is None
    # quick-mode warm-ups (lectures 08 and 10): reconstruction only, then the discriminators join in
    assert [(p.steps, p.updates) for p in cands["DeepFill v2"].phases] == [(375, ("G",)), (125, None)]
    assert [p.steps for p in cands["Context Encoder"].phases] == [250, 250]
    assert cands["Context Encoder"].phases[0].options == {"adversarial": False}
    assert cands["DeepFill v2"].task.hole_weight == 6.0


def test_full_widths_are_the_papers():
    # Construct only the cheap ones at 256 px (the CE's 4000-unit bottleneck is 65M weights).
    cfg = CapstoneConfig.full()
    assert cfg.width is None
    from course_lib.inpainting.deepfill_v2 import DeepFillV2Generator

    cands = build_tasks(CapstoneConfig.full(size=32, pconv_vgg=False))  # papers' widths, small images
    assert cands["Global & Local"].task.C.width == 64
    assert cands["PConv"].task.net.width == 64
    assert cands["DeepFill v2"].task.G.cnum == DeepFillV2Generator().cnum == 48
    assert cands["Context Encoder"].task.G.bottleneck_kind == "fc"
    assert cands["Context Encoder"].task.overlap_weight == 10  # overlapL2Weight in train.lua
    for name in ("Context Encoder", "DeepFill v2"):  # adversarial from the first iteration, as the papers
        assert len(cands[name].phases) == 1, name


def test_train_all_compare_and_figure_end_to_end():
    trained = train_all(TINY, progress=False, verbose=False)
    assert list(trained) == list(LEARNED)
    tests = held_out_sets(TINY)
    tables = compare_all(trained, tests, classical=classical_baselines(patchmatch=False))
    for family in FAMILIES:
        assert list(tables[family]) == ["mean colour", "biharmonic", *LEARNED]
        for name, s in tables[family].items():
            assert s.outputs.shape == (3, 3, 32, 32) and np.isfinite(s.l1), name
            # known pixels are never changed by the evaluation
            known = 1 - tests[family]["mask"]
            assert torch.allclose(s.outputs * known, tests[family]["image"] * known, atol=1e-6)
    text = format_tables(tables)
    assert "rectangles holes, 3 held-out images" in text and "free-form holes" in text and "DeepFill v2" in text
    fig = side_by_side(tables, tests, "free-form", indices=(0, 1))
    assert len(fig.axes) == 2 * (len(tables["free-form"]) + 2)
    assert fig.axes[0].get_title() == "input (hole)"
    # every method panel names the method and that image's score
    s = tables["free-form"]["PConv"]
    title = fig.axes[1 + list(tables["free-form"]).index("PConv")].get_title()
    assert title == f"PConv\nL1 {float(s.per_image['l1'][0]):.3f}, {float(s.per_image['psnr'][0]):.1f} dB"
    # the same post-processing for everyone: every method blended, same methods, other numbers
    blended = compare_all(trained, tests, classical=classical_baselines(patchmatch=False), blend=True)
    assert list(blended["rectangles"]) == list(tables["rectangles"])
    assert blended["rectangles"]["mean colour"].l1 != tables["rectangles"]["mean colour"].l1
    text = capstone.format_fair_tables(tables, blended, {"PConv": "trained here"})
    assert "L1 +P" in text and "trained here" in text


def test_train_all_rejects_unknown_methods():
    with pytest.raises(ValueError, match="unknown methods"):
        train_all(TINY, names=["LaMa"])


def _scores(l1: float, psnr: float) -> Scores:
    return Scores(l1=l1, psnr=psnr, ssim=0.5, seconds_per_image=0.0, per_image={"l1": torch.zeros(4)})


def test_assert_all_beat_names_family_and_method():
    good = {"mean colour": _scores(0.1, 20), **{n: _scores(0.05, 24) for n in LEARNED}}
    assert_all_beat({"rectangles": good})
    bad = dict(good, PConv=_scores(0.12, 19))
    with pytest.raises(AssertionError, match="free-form holes: PConv does not beat mean colour"):
        assert_all_beat({"rectangles": good, "free-form": bad})
    half = dict(good, PConv=_scores(0.09, 19))  # lower L1, lower PSNR
    assert_all_beat({"rectangles": half}, metric="l1")
    with pytest.raises(AssertionError, match="rectangles holes: PConv does not beat"):
        assert_all_beat({"rectangles": half})


def test_ranking():
    tables = {"rectangles": {"a": _scores(0.1, 20), "b": _scores(0.05, 25), "c": _scores(0.07, 22)}}
    assert ranking(tables)["rectangles"] == ["b", "c", "a"]
    assert ranking(tables, "psnr")["rectangles"] == ["b", "c", "a"]
    with pytest.raises(ValueError, match="metric"):
        ranking(tables, "fid")


def test_cli_full_needs_folders():
    with pytest.raises(SystemExit, match="--data"):
        capstone.main(["--preset", "full"])


def test_rectangle_test_set_is_the_shipped_global_local_held_out_batch():
    from course_lib.pretrained.inpainting_specs import gl_held_out

    tests = held_out_sets(CapstoneConfig.quick(n_test=4))
    ref = gl_held_out()
    assert tests["rectangles"]["image"].shape == (4, 3, 64, 64)
    assert torch.equal(tests["rectangles"]["image"], ref["image"][:4]) and torch.equal(tests["rectangles"]["mask"], ref["mask"][:4])


def _centre_ce():
    from course_lib.inpainting.context_encoder import ContextEncoder

    torch.manual_seed(0)
    return ContextEncoder(64, 8, 8, bottleneck="channelwise")  # predicts the centre 32x32 only


def test_network_method_moves_an_off_centre_hole_into_a_centre_only_context_encoder():
    net = _centre_ce()
    method = capstone.network_method(net)
    image = torch.rand(1, 3, 64, 64) * 2 - 1
    mask = torch.zeros(1, 1, 64, 64)
    mask[..., 2:26, 36:60] = 1  # 24x24 in the top-right corner, far outside the centre
    out = method(image * (1 - mask), mask)
    assert out.shape == image.shape and out.abs().max() <= 1
    # the hole was filled by the network (not left at zero), far from the border of the predicted region
    assert float(out[..., 10:18, 44:52].abs().mean()) > 0
    dy, dx = capstone.centred_on_hole(image[0], mask[0], 32)
    assert (dy, dx) == (32 - 14, 32 - 48)
    # the centre-hole case needs no shift, and gives the network's own centre prediction
    centre = torch.zeros(1, 1, 64, 64)
    centre[..., 18:46, 18:46] = 1
    assert capstone.centred_on_hole(image[0], centre[0], 32) == (0, 0)
    with torch.no_grad():
        direct = net.eval()(net.prepare(image * (1 - centre), centre))
    assert torch.allclose(method(image * (1 - centre), centre)[..., 16:48, 16:48], direct.clamp(-1, 1), atol=1e-5)
    big = torch.zeros(1, 1, 64, 64)
    big[..., 0:40, 0:10] = 1
    with pytest.raises(capstone.NotApplicable, match="larger than the 32x32 centre"):
        method(image * (1 - big), big)


def test_compare_all_leaves_a_method_out_of_a_family_it_cannot_fill():
    tests = held_out_sets(CapstoneConfig.quick(n_test=3))
    tables = compare_all({}, tests, classical={"mean colour": classical_baselines()["mean colour"]},
                         shipped={"Context Encoder": _centre_ce()})
    assert "Context Encoder" in tables["rectangles"]  # 24-32 px rectangles fit the 32x32 centre
    wide = {"free-form": {"image": tests["free-form"]["image"], "mask": torch.zeros(3, 1, 64, 64)}}
    wide["free-form"]["mask"][..., 5:60, 10:20] = 1
    assert list(compare_all({}, wide, classical={"mean colour": classical_baselines()["mean colour"]},
                            shipped={"Context Encoder": _centre_ce()})["free-form"]) == ["mean colour"]


def test_poisson_blend_keeps_a_pasted_fill_and_turns_the_mean_colour_into_a_smooth_fill():
    tests = held_out_sets(CapstoneConfig.quick(n_test=2))["rectangles"]
    x, m = tests["image"] * (1 - tests["mask"]), tests["mask"]
    pasted = classical_baselines()["biharmonic"](x, m)
    assert torch.allclose(capstone.poisson_blended(lambda a, b: pasted)(x, m), pasted.clamp(-1, 1), atol=1e-4)
    membrane = capstone.poisson_blended(capstone.raw_mean_colour)(x, m)
    flat = classical_baselines()["mean colour"](x, m)
    hole = m.expand_as(x) > 0.5
    assert float(membrane[hole].std()) > float(flat[hole].std())  # follows the border instead of one colour
    assert torch.allclose(membrane[~hole], x[~hole], atol=1e-5)


def test_winners_need_both_metrics():
    tables = {"rectangles": {"a": _scores(0.1, 20), "b": _scores(0.05, 25)},
              "free-form": {"a": _scores(0.05, 20), "b": _scores(0.06, 25)}}
    assert capstone.winners(tables) == {"rectangles": "b", "free-form": None}


def test_blended_comparison_reuses_only_the_pasted_fills():
    tests = held_out_sets(CapstoneConfig.quick(n_test=2))
    classical = classical_baselines(patchmatch=False)
    raw = compare_all({}, tests, classical=classical)
    blended = compare_all({}, tests, classical=classical, blend=True, reuse=raw)
    assert blended["rectangles"]["biharmonic"] is raw["rectangles"]["biharmonic"]
    assert blended["rectangles"]["mean colour"].l1 < raw["rectangles"]["mean colour"].l1  # the membrane fill


def test_network_method_gives_a_guided_deepfill_an_empty_sketch():
    from course_lib.inpainting.deepfill_v2 import DeepFillV2Generator

    torch.manual_seed(0)
    image, mask = torch.rand(2, 3, 32, 32) * 2 - 1, torch.zeros(2, 1, 32, 32)
    mask[..., 8:20, 10:22] = 1
    for guided in (False, True):  # the shipped deepfill_v2 is the guided model
        net = DeepFillV2Generator(cnum=8, guided=guided, init="open")
        out = capstone.network_method(net)(image, mask)
        assert out.shape == image.shape and torch.isfinite(out).all()
        if guided:
            expected = net.eval()(image * (1 - mask), mask, torch.zeros_like(mask))[1].clamp(-1, 1)
            assert torch.allclose(out, expected.detach(), atol=1e-6)
