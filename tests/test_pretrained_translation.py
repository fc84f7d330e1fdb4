"""Shipped checkpoints of lectures 04-05: each effect the lectures claim, on held-out data, with margins."""

from __future__ import annotations

import pytest
import torch

from course_lib import pretrained
from course_lib.pretrained.translation_specs import (
    facades_held_out,
    facades_train_set,
    hd_scores,
    hd_translate,
    pix2pix_scores,
    street_held_out,
    street_train_set,
)
from course_lib.translation.pix2pix import translate


def _facade_scores(name: str) -> dict[str, float]:
    x, y = facades_held_out()
    torch.manual_seed(0)  # the same dropout draws as the manifest's score
    with torch.no_grad():
        return pix2pix_scores(translate(pretrained.load(name), x), y)


def test_shipped_pix2pix_looks_more_real_while_l1_only_is_closer_and_both_beat_the_mean_facade():
    gan, l1 = _facade_scores("pix2pix"), _facade_scores("pix2pix_l1")
    assert gan["l1"] == pytest.approx(pretrained.info("pix2pix")["metric"]["l1"], abs=2e-3)
    _, y = facades_held_out()
    mean = pix2pix_scores(facades_train_set().tensors["target"].mean(0, keepdim=True).expand_as(y), y)
    print(f"\nL1: pix2pix {gan['l1']:.4f}, L1 only {l1['l1']:.4f}, mean facade {mean['l1']:.4f}")
    print(f"patch SWD to real photos: pix2pix {gan['patch_swd']:.4f}, L1 only {l1['patch_swd']:.4f} "
          f"(margin {1 - gan['patch_swd'] / l1['patch_swd']:.0%}); chroma {gan['chroma']:.3f} vs {l1['chroma']:.3f}")
    # both are at least 10% closer to the truth than the trivial baseline
    assert gan["l1"] < 0.9 * mean["l1"] and l1["l1"] < 0.9 * mean["l1"]
    # L1 only wins on the loss it minimises ...
    assert l1["l1"] < gan["l1"]
    # ... pix2pix wins on realism: patch statistics at least 20% closer to the real photos', more colour
    assert gan["patch_swd"] < 0.8 * l1["patch_swd"]
    assert gan["chroma"] > l1["chroma"]


def _street_scores(name: str) -> dict[str, float]:
    data = street_held_out()
    return hd_scores(hd_translate(pretrained.load(name), data["labels"], data["instances"]), data)


def test_shipped_pix2pixhd_boundary_map_lowers_the_error_on_same_class_seams():
    with_map, without = _street_scores("pix2pixhd"), _street_scores("pix2pixhd_noboundary")
    assert with_map["seam_l1"] == pytest.approx(pretrained.info("pix2pixhd")["metric"]["seam_l1"], abs=2e-3)
    data = street_held_out()
    mean = hd_scores(street_train_set().tensors["target"].mean(0, keepdim=True).expand_as(data["target"]), data)
    print(f"\nseam L1: with boundary map {with_map['seam_l1']:.4f}, without {without['seam_l1']:.4f} "
          f"(margin {1 - with_map['seam_l1'] / without['seam_l1']:.0%}), mean photo {mean['seam_l1']:.4f}")
    print(f"L1: with {with_map['l1']:.4f}, without {without['l1']:.4f}, mean photo {mean['l1']:.4f}; "
          f"patch SWD: with {with_map['patch_swd']:.4f}, without {without['patch_swd']:.4f}, mean {mean['patch_swd']:.4f}")
    assert with_map["seam_l1"] < 0.8 * without["seam_l1"]
    assert with_map["l1"] < mean["l1"] and with_map["patch_swd"] < 0.6 * mean["patch_swd"]

