"""Lecture 03's shipped checkpoints show what the lecture claims (held-out photo, seeded random VGG)."""

from __future__ import annotations

import pytest
import torch

from course_lib import pretrained
from course_lib.pretrained.style_specs import fast_style_scores, held_out_photo, layout_correlation
from course_lib.style.images import style_image

#: AdaIN effect thresholds (the shipped checkpoint clears each with a margin that the tests print)
ADAIN_MIN_RATIO, ADAIN_MIN_LAYOUT, ADAIN_MIN_DIFF = 4.0, 0.4, 0.1


def test_layout_correlation_is_one_for_the_photo_and_near_zero_for_a_painting():
    photo = held_out_photo()
    assert layout_correlation(photo, photo) == pytest.approx(1.0, abs=1e-6)
    # a global colour change keeps every edge where it was
    assert layout_correlation(1 - photo, photo) > 0.99
    painting = style_image("swirls", photo.shape[-1])[None]
    assert abs(layout_correlation(painting, photo)) < 0.2
    # the photo mirrored: the same kind of content, its edges elsewhere
    assert layout_correlation(photo.flip(-1), photo) < 0.5
    with pytest.raises(ValueError, match="two \\(1, 3, H, W\\) images of the same size"):
        layout_correlation(photo, photo[..., :48, :48])


def test_shipped_fast_style_takes_the_style_and_keeps_the_photo_layout():
    net = pretrained.load("fast_style")
    s = fast_style_scores(net)
    # the manifest's numbers are this file's
    assert s["style_loss"] == pytest.approx(pretrained.info("fast_style")["metric"]["style_loss"], rel=1e-2)
    style_ratio = s["style_loss_photo"] / s["style_loss"]
    print(f"fast_style: style loss {s['style_loss']:.3g} vs the photo's own {s['style_loss_photo']:.3g} "
          f"({style_ratio:.1f}x lower, asserted >= 2x) and the painting's own {s['style_loss_style_image']:.3g} at this "
          f"size (asserted: not above it); layout correlation {s['layout_corr']:.2f} (asserted >= 0.5; "
          f"the painting {s['layout_corr_style_image']:.2f}); content loss {s['content_loss']:.3g} vs the painting's "
          f"{s['content_loss_style_image']:.3g} (asserted <= 0.5x)")
    # the painting itself is the floor a stylisation can reach at this size
    assert style_ratio >= 2.0 and s["style_loss"] <= s["style_loss_style_image"]
    assert s["layout_corr"] >= 0.5 and s["layout_corr"] - s["layout_corr_style_image"] >= 0.4
    assert s["content_loss"] <= 0.5 * s["content_loss_style_image"]


def test_an_untrained_fast_style_network_fails_the_same_checks():
    """The checks above can fail: a fresh network neither takes the style nor (after sigmoid) the layout's contrast."""
    torch.manual_seed(0)
    s = fast_style_scores(pretrained.SPECS["fast_style"].make_model())
    assert s["style_loss_photo"] / s["style_loss"] < 2.0 or s["style_loss"] > s["style_loss_style_image"] or s["layout_corr"] < 0.5


# --------------------------------------------------------------------------- AdaIN
def test_shipped_adain_stylises_with_unseen_styles_and_keeps_the_layout():
    from course_lib.pretrained.style_specs import adain_scores

    s = adain_scores(pretrained.load("adain"))
    assert s["style_loss_a"] == pytest.approx(pretrained.info("adain")["metric"]["style_loss_a"], rel=1e-2)
    for k in ("a", "b"):
        ratio = s[f"style_loss_photo_{k}"] / s[f"style_loss_{k}"]
        print(f"adain, unseen style {k.upper()}: style loss {s[f'style_loss_{k}']:.3g} vs the photo's "
              f"{s[f'style_loss_photo_{k}']:.3g} ({ratio:.1f}x lower, asserted >= {ADAIN_MIN_RATIO}x); layout "
              f"{s[f'layout_corr_{k}']:.2f} (asserted >= {ADAIN_MIN_LAYOUT})")
        assert ratio >= ADAIN_MIN_RATIO and s[f"layout_corr_{k}"] >= ADAIN_MIN_LAYOUT


def test_shipped_adain_gives_different_styles_different_pictures_and_interpolates():
    from course_lib.pretrained.style_specs import adain_scores

    s = adain_scores(pretrained.load("adain"))
    print(f"adain: mean |A - B| {s['output_diff']:.3f} (asserted >= {ADAIN_MIN_DIFF}); style loss to A at alpha 0, "
          f"0.5, 1: {s['style_loss_a_alpha0']:.3g}, {s['style_loss_a_alpha05']:.3g}, {s['style_loss_a']:.3g} "
          f"(asserted: each step >= 1.5x lower); the 50/50 mix differs from A by {s['mix_diff_a']:.3f} and from B "
          f"by {s['mix_diff_b']:.3f} (asserted >= {ADAIN_MIN_DIFF / 3:.3f})")
    assert s["output_diff"] >= ADAIN_MIN_DIFF
    assert s["style_loss_a_alpha0"] >= 1.5 * s["style_loss_a_alpha05"] >= 1.5 * 1.5 * s["style_loss_a"]
    assert min(s["mix_diff_a"], s["mix_diff_b"]) >= ADAIN_MIN_DIFF / 3


def test_an_untrained_adain_decoder_fails_the_same_checks():
    from course_lib.pretrained.style_specs import adain_scores

    torch.manual_seed(0)
    s = adain_scores(pretrained.SPECS["adain"].make_model())
    assert s["style_loss_photo_a"] / s["style_loss_a"] < ADAIN_MIN_RATIO or s["output_diff"] < ADAIN_MIN_DIFF


# --------------------------------------------------------------------------- super-resolution
def test_shipped_srresnet_beats_bicubic_by_half_a_decibel_on_held_out_crops():
    from course_lib.pretrained.style_specs import sr_scores

    s = sr_scores(pretrained.load("srresnet_mse"))
    assert s["psnr"] == pytest.approx(pretrained.info("srresnet_mse")["metric"]["psnr"], abs=0.02)
    gain = s["psnr"] - s["psnr_bicubic"]
    print(f"srresnet_mse on 64 held-out cat crops: PSNR {s['psnr']:.2f} dB vs bicubic {s['psnr_bicubic']:.2f} dB "
          f"({gain:+.2f} dB, asserted >= +0.5); SSIM {s['ssim']:.3f} vs {s['ssim_bicubic']:.3f}")
    assert gain >= 0.5 and s["ssim"] > s["ssim_bicubic"]


def test_an_untrained_srresnet_is_only_bicubic_and_fails_the_check():
    """The check can fail: with its zero-initialised last conv an untrained network returns the bicubic image."""
    from course_lib.pretrained.style_specs import sr_scores

    torch.manual_seed(0)
    s = sr_scores(pretrained.SPECS["srresnet_mse"].make_model())
    assert s["psnr"] - s["psnr_bicubic"] < 0.5


def test_shipped_srgan_restores_more_high_frequency_energy_than_the_pixel_model():
    from course_lib.pretrained.style_specs import sr_scores

    gan, mse = sr_scores(pretrained.load("srgan")), sr_scores(pretrained.load("srresnet_mse"))
    print(f"held-out crops, detail (high-frequency energy / the truth's): srgan {gan['detail']:.3f}, srresnet_mse "
          f"{mse['detail']:.3f}, bicubic {mse['detail_bicubic']:.3f} (asserted: srgan >= 2x srresnet_mse); PSNR srgan "
          f"{gan['psnr']:.2f} dB, srresnet_mse {mse['psnr']:.2f} dB")
    assert gan["detail"] >= 2 * mse["detail"]


# --------------------------------------------------------------------------- conditional instance norm
def test_shipped_cin_learns_three_styles_and_blends_between_them():
    from course_lib.pretrained.style_specs import CIN_STYLES, cin_style_scores

    s = cin_style_scores(pretrained.load("cin_style"))
    assert s["style_loss_1"] == pytest.approx(pretrained.info("cin_style")["metric"]["style_loss_1"], rel=1e-2)
    for k, name in enumerate(CIN_STYLES):
        ratio = s[f"style_loss_photo_{k}"] / s[f"style_loss_{k}"]
        print(f"cin_style {name}: style loss {ratio:.2f}x below the photo's (asserted >= 2), "
              f"layout {s[f'layout_corr_{k}']:.2f} (asserted >= 0.6)")
        assert ratio >= 2.0 and s[f"layout_corr_{k}"] >= 0.6
    # one network, different styles: the outputs differ visibly (pixels in [0, 1])
    assert s["output_diff_01"] >= 0.03
    # the blend swirls -> mosaic moves towards mosaic step by step, and sits between the two outputs
    at0, at05, at1 = s["blend_loss_1_at_0"], s["blend_loss_1_at_05"], s["blend_loss_1_at_1"]
    print(f"style loss to mosaic along the blend: {at0:.3g} > {at05:.3g} > {at1:.3g}; 50/50 blend "
          f"{s['blend_diff_0']:.3f} from swirls and {s['blend_diff_1']:.3f} from mosaic")
    assert at0 > at05 > at1 and at0 >= 1.25 * at1
    assert min(s["blend_diff_0"], s["blend_diff_1"]) >= 0.3 * s["output_diff_01"]


def test_an_untrained_cin_network_fails_the_same_checks():
    from course_lib.pretrained.style_specs import cin_style_scores

    torch.manual_seed(0)
    s = cin_style_scores(pretrained.SPECS["cin_style"].make_model())
    ratios = [s[f"style_loss_photo_{k}"] / s[f"style_loss_{k}"] for k in range(3)]
    assert min(ratios) < 2.0 or s["output_diff_01"] < 0.03
