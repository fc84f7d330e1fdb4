"""Shipped checkpoints of lectures 06-07: each effect the lectures claim, on held-out data, with margins."""

from __future__ import annotations

import pytest
import torch

from course_lib import pretrained
from course_lib.pretrained.unpaired_specs import (
    colour_following,
    season_scores,
    seasons_held_out,
    shape_iou,
    shapes_held_out,
)


def test_shipped_cyclegan_beats_the_untranslated_input_and_an_unrelated_winter_on_the_true_winter():
    G = pretrained.load("cyclegan")
    sc = season_scores(G.translate, seasons_held_out())
    assert sc["l1"] == pytest.approx(pretrained.info("cyclegan")["metric"]["l1"], abs=2e-3)
    print(f"\nL1 to the true winter: G {sc['l1']:.4f}, unrelated real winter {sc['l1_unrelated_winter']:.4f} "
          f"(margin {1 - sc['l1'] / sc['l1_unrelated_winter']:.0%}), untranslated input {sc['l1_input']:.4f} "
          f"(margin {1 - sc['l1'] / sc['l1_input']:.0%}); PSNR {sc['psnr']:.1f} vs {sc['psnr_unrelated_winter']:.1f} "
          f"vs {sc['psnr_input']:.1f} dB; F: L1 {sc['l1_winter_to_summer']:.4f} vs {sc['l1_winter_to_summer_input']:.4f}")
    # G keeps the input's layout: at least 20% closer to the truth than a real winter of another layout ...
    assert sc["l1"] < 0.8 * sc["l1_unrelated_winter"] and sc["psnr"] > sc["psnr_unrelated_winter"] + 1.0
    # ... and it translates: far closer than doing nothing, in both directions
    assert sc["l1"] < 0.5 * sc["l1_input"]
    assert sc["l1_winter_to_summer"] < 0.5 * sc["l1_winter_to_summer_input"]


def test_shipped_munit_output_colour_follows_its_reference_and_keeps_the_sketch_shape():
    task = pretrained.load("munit")
    held = shapes_held_out()
    n = 32
    sketches, references = held["A"][:n], held["B"][n:2 * n]
    guided = task.translate(sketches, "AtoB", style=task.style_of(references, "B"))
    neutral = task.translate(sketches, "AtoB", style=torch.zeros(n, task.style_dim))
    colour, colour_zero = colour_following(guided, held), colour_following(neutral, held)
    iou, iou_copy = shape_iou(guided, held), shape_iou(references, held)
    assert colour["ratio"] == pytest.approx(pretrained.info("munit")["metric"]["colour_ratio"], abs=5e-3)
    print(f"\nobject colour error: own reference {colour['own']:.4f}, other references {colour['others']:.4f} "
          f"(ratio {colour['ratio']:.3f}; style code 0: {colour_zero['ratio']:.3f}); shape IoU {iou:.3f}, "
          f"copying the reference {iou_copy:.3f}")
    # the colour follows the reference: at least 30% closer to its own reference's colour than to the others'
    assert colour["ratio"] < 0.7
    # an output that ignores the reference cannot do that
    assert colour_zero["ratio"] > 0.9
    # the content stays: the sketch's shape, far better than copying the reference
    assert iou > 0.6 and iou > iou_copy + 0.2
