"""The shipped matting checkpoint (lecture 11) does what the lecture claims, on held-out composites."""

from __future__ import annotations

import pytest

from course_lib import pretrained
from course_lib.matting import predict_alpha
from course_lib.pretrained.matting_specs import baseline_mattes, matting_held_out, matting_scores

#: the shipped net's errors must be at most these fractions of each baseline's (unknown region)
RATIO_TO_TRIMAP_ONLY = 0.5   # both trimap-only baselines, every error
RATIO_TO_CLOSED_FORM = 0.75  # closed-form matting (Levin et al. 2008), every error


def test_shipped_matting_net_beats_trimap_only_and_closed_form_mattes():
    net = pretrained.load("matting")
    test = matting_held_out()
    mattes = {"net": predict_alpha(net, test["image"], test["trimap"]), **baseline_mattes(test)}
    scores = matting_scores(mattes, test)
    metric = pretrained.info("matting")["metric"]
    for name, row in scores.items():  # the manifest's numbers are this file's
        for key, value in row.items():
            assert value == pytest.approx(metric[f"{key.lower()}_{name}"], abs=2e-4), (name, key)
    print(f"\n{len(test['image'])} held-out 64 px composites, unknown region (lower is better):")
    for key in ("SAD", "MSE", "Grad"):
        net_v = scores["net"][key]
        ratios = {b: net_v / scores[b][key] for b in ("half", "nearest", "closed_form")}
        print(f"  {key}: net {net_v:.4f}; 0.5 fill {scores['half'][key]:.4f}, nearest {scores['nearest'][key]:.4f}, "
              f"closed form {scores['closed_form'][key]:.4f}; ratios "
              + ", ".join(f"{b} {r:.3f}" for b, r in ratios.items())
              + f" (need < {RATIO_TO_TRIMAP_ONLY} for the trimap-only ones, < {RATIO_TO_CLOSED_FORM} for closed form)")
        assert ratios["half"] < RATIO_TO_TRIMAP_ONLY and ratios["nearest"] < RATIO_TO_TRIMAP_ONLY, key
        assert ratios["closed_form"] < RATIO_TO_CLOSED_FORM, key
