"""Shipped checkpoints of lectures 06-07: each effect the lectures claim, on held-out data, with margins."""

from __future__ import annotations

import pytest

from course_lib import pretrained
from course_lib.pretrained.unpaired_specs import (
    season_scores,
    seasons_held_out,
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

