"""Shipped inpainting checkpoints (lectures 08-12) do what their lectures claim, on held-out crops."""

from __future__ import annotations

import pytest

from course_lib import pretrained
from course_lib.inpainting.blending import mean_fill
from course_lib.inpainting.evaluate import compare
from course_lib.pretrained.inpainting_specs import ce_held_out, gl_held_out, hole_colour_error

#: margins the shipped Global & Local net must beat the mean colour by, inside the holes
GL_L1_RATIO, GL_PSNR_MARGIN_DB = 0.9, 0.5


def test_shipped_global_local_raw_network_beats_mean_colour_in_the_holes():
    C = pretrained.load("global_local")
    test = gl_held_out()
    scores = compare({"G&L": lambda x, m: C.inpaint(x, m), "mean colour": mean_fill}, test)
    gl, mean = scores["G&L"], scores["mean colour"]
    metric = pretrained.info("global_local")["metric"]
    # the manifest's numbers are this file's
    assert gl.l1 == pytest.approx(metric["l1_gl"], abs=2e-4) and gl.psnr == pytest.approx(metric["psnr_gl"], abs=2e-3)
    print(f"\nin-hole L1 / PSNR on {len(test['image'])} held-out 64 px crops: raw G&L {gl.l1:.4f} / {gl.psnr:.2f} dB, "
          f"mean colour {mean.l1:.4f} / {mean.psnr:.2f} dB (L1 ratio {gl.l1 / mean.l1:.3f}, needs < {GL_L1_RATIO}; "
          f"PSNR margin {gl.psnr - mean.psnr:+.2f} dB, needs > {GL_PSNR_MARGIN_DB})")
    assert gl.l1 < GL_L1_RATIO * mean.l1
    assert gl.psnr > mean.psnr + GL_PSNR_MARGIN_DB


#: margins for the shipped Context Encoder against the mean colour, and its largest allowed colour cast
CE_L1_RATIO, CE_PSNR_MARGIN_DB, CE_MAX_CAST = 0.9, 0.5, 0.05


def test_shipped_context_encoder_beats_mean_colour_without_a_colour_cast():
    G = pretrained.load("context_encoder")
    test = ce_held_out()
    scores = compare({"CE": G.inpaint, "mean colour": mean_fill}, test)
    ce, mean = scores["CE"], scores["mean colour"]
    cast = float(hole_colour_error(ce.outputs, test["image"], test["mask"]).mean())
    mean_cast = float(hole_colour_error(mean.outputs, test["image"], test["mask"]).mean())
    metric = pretrained.info("context_encoder")["metric"]
    assert ce.l1 == pytest.approx(metric["l1_ce"], abs=2e-4)
    print(f"\ncentre holes, {len(test['image'])} held-out 64 px crops: CE L1 {ce.l1:.4f} / {ce.psnr:.2f} dB, mean colour "
          f"{mean.l1:.4f} / {mean.psnr:.2f} dB (L1 ratio {ce.l1 / mean.l1:.3f}, needs < {CE_L1_RATIO}; PSNR margin "
          f"{ce.psnr - mean.psnr:+.2f} dB, needs > {CE_PSNR_MARGIN_DB}); colour cast {cast:.4f} (needs < {CE_MAX_CAST}, "
          f"mean colour's {mean_cast:.4f})")
    assert ce.l1 < CE_L1_RATIO * mean.l1
    assert ce.psnr > mean.psnr + CE_PSNR_MARGIN_DB
    assert cast < CE_MAX_CAST and cast < mean_cast


#: margins lecture 10's shipped nets must beat the mean colour by inside free-form holes (empty sketch)
FF_L1_RATIO, FF_PSNR_MARGIN_DB = 0.9, 0.5


@pytest.mark.parametrize("name", ["pconv", "deepfill_v2"])
def test_shipped_free_form_nets_beat_mean_colour_in_the_holes(name):
    from course_lib.pretrained.inpainting_specs import (
        deepfill_inpaint,
        freeform_held_out,
        pconv_inpaint,
    )

    net = pretrained.load(name)
    test = freeform_held_out()
    # DeepFill v2 gets an empty sketch: no method may see anything of the truth
    method = pconv_inpaint(net) if name == "pconv" else deepfill_inpaint(net)
    scores = compare({name: method, "mean colour": mean_fill}, test)
    s, mean = scores[name], scores["mean colour"]
    metric = pretrained.info(name)["metric"]
    key = "pconv" if name == "pconv" else "deepfill"
    assert s.l1 == pytest.approx(metric[f"l1_{key}"], abs=2e-4) and s.psnr == pytest.approx(metric[f"psnr_{key}"], abs=2e-3)
    print(f"\n{name}, brush-stroke holes in {len(test['image'])} held-out 64 px crops: L1 {s.l1:.4f} / {s.psnr:.2f} dB, "
          f"mean colour {mean.l1:.4f} / {mean.psnr:.2f} dB (L1 ratio {s.l1 / mean.l1:.3f}, needs < {FF_L1_RATIO}; "
          f"PSNR margin {s.psnr - mean.psnr:+.2f} dB, needs > {FF_PSNR_MARGIN_DB})")
    assert s.l1 < FF_L1_RATIO * mean.l1
    assert s.psnr > mean.psnr + FF_PSNR_MARGIN_DB

