"""Shipped checkpoint of lecture 11: see :mod:`course_lib.pretrained.specs` for what a spec holds.

* ``matting``: the lecture's Deep-Image-Matting-style network (Xu et al. 2017, first stage scaled
  down: :class:`course_lib.matting.MattingNet` with the quick preset's encoder widths and decoder
  kernel), trained with DIM's loss (alpha-prediction + compositional, Sec. 4.1) on many more
  procedural composites and for many more steps than the notebook's quick run.

Held-out data: :class:`course_lib.matting.MattingComposites` with seed 1 and trimap radius 4,
the lecture's own test set (its first items), scored over the unknown region with the four
benchmark errors of :func:`course_lib.matting.matting_metrics` against the two trimap-only
baselines (unknown band filled with 0.5, or with the nearest known value) and against
closed-form matting (Levin et al. 2008), the lecture's classical method.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from course_lib.pretrained.specs import Spec

if TYPE_CHECKING:
    from course_lib.matting import MattingNet

#: the lecture's quick network (course_lib.matting.recipes.PRESETS["quick"]): widths, decoder kernel
MATTING_WIDTHS, MATTING_KERNEL = (12, 24, 48), 3
MATTING_SIZE, MATTING_STEPS, MATTING_BATCH, MATTING_SEED, MATTING_LR = 64, 1500, 16, 0, 1e-3
#: distinct training composites (rendered once and cached; flips and trimap radii vary per access)
MATTING_TRAIN_LENGTH = 3000
#: held-out composites in the score (and in the lecture's test): seed 1, trimap radius 4
MATTING_HELD_OUT, MATTING_HELD_OUT_RADIUS = 64, 4
#: the metrics reported (connectivity is left to the lecture: it adds little on these images)
METRICS = ("SAD", "MSE", "Grad")


def _matting_model() -> MattingNet:
    from course_lib.matting import MattingNet

    return MattingNet(MATTING_WIDTHS, decoder_kernel=MATTING_KERNEL)


def matting_held_out(n: int = MATTING_HELD_OUT) -> dict[str, torch.Tensor]:
    """The first ``n`` held-out composites (seed 1, radius 4), batched.

    Returns ``{"image", "fg", "bg": (n, 3, 64, 64), "alpha", "trimap": (n, 1, 64, 64)}`` in [0, 1].
    The lecture's test set is the same stream, so its first items are these.
    """
    from course_lib.matting import MattingComposites, collate

    data = MattingComposites(length=n, size=MATTING_SIZE, seed=1, radius=MATTING_HELD_OUT_RADIUS)
    return collate([data[i] for i in range(n)])


def matting_scores(mattes: dict[str, torch.Tensor], test: dict[str, torch.Tensor]) -> dict[str, dict[str, float]]:
    """SAD / MSE / Grad (unknown region, lower is better) of each named matte (N, 1, H, W) on ``test``."""
    from course_lib.matting import matting_metrics

    out = {}
    for name, alpha in mattes.items():
        m = matting_metrics(alpha, test["alpha"], test["trimap"])
        out[name] = {k: m[k] for k in METRICS}
    return out


def baseline_mattes(test: dict[str, torch.Tensor], closed_form: bool = True) -> dict[str, torch.Tensor]:
    """The trimap-only baselines ("half", "nearest") and, optionally, closed-form matting, on ``test``."""
    from course_lib.matting import closed_form_matting, fill_unknown

    out = {"half": fill_unknown(test["trimap"], "half"), "nearest": fill_unknown(test["trimap"], "nearest")}
    if closed_form:
        out["closed_form"] = closed_form_matting(test["image"], test["trimap"])
    return out


def _matting_train(steps: int | None) -> tuple[MattingNet, dict[str, Any]]:
    from course_lib.config import seed_everything
    from course_lib.matting import MattingComposites, MattingTask
    from course_lib.train import TrainConfig, Trainer

    steps = steps or MATTING_STEPS
    seed_everything(MATTING_SEED)
    # The lecture's training set, only larger: random trimap radii 2-6 and left-right flips at
    # every access, a quarter of the composites on plain backdrops (studio portraits, ID photos).
    data = MattingComposites(length=MATTING_TRAIN_LENGTH, size=MATTING_SIZE, seed=0, radius=(2, 6), augment=True,
                             cache=True, plain_p=0.25)
    task = MattingTask(_matting_model(), lr=MATTING_LR)
    config = TrainConfig(steps=steps, batch_size=MATTING_BATCH, seed=MATTING_SEED, log_every=100, progress=False,
                         precision="fp32", lr_decay_start=steps // 2)
    Trainer(task, data, config).fit()
    settings = {"data": f"{MATTING_TRAIN_LENGTH} procedural composites over the bundled photos "
                        "(MattingComposites, seed 0, trimap radius 2-6, 25% plain backdrops)",
                "resolution": MATTING_SIZE, "steps": steps, "batch_size": MATTING_BATCH, "seed": MATTING_SEED,
                "widths": list(MATTING_WIDTHS), "decoder_kernel": MATTING_KERNEL,
                "loss": "DIM: 0.5 alpha-prediction + 0.5 compositional, unknown region",
                "optimizer": f"adam lr {MATTING_LR}, linear decay from step {steps // 2}"}
    return task.model, settings


def _matting_score(model: MattingNet) -> dict[str, float]:
    """SAD / MSE / Grad on the held-out composites: the network, both trimap-only baselines, closed form."""
    from course_lib.matting import predict_alpha

    test = matting_held_out()
    mattes = {"net": predict_alpha(model, test["image"], test["trimap"]), **baseline_mattes(test)}
    return {f"{metric.lower()}_{name}": round(value, 4)
            for name, row in matting_scores(mattes, test).items() for metric, value in row.items()}


SPECS: dict[str, Spec[Any]] = {
    "matting": Spec(
        lecture="11",
        description=f"lecture 11's DIM-style matting network (widths {MATTING_WIDTHS}, {MATTING_KERNEL}x{MATTING_KERNEL} "
                    "decoder) on 64 px procedural composites",
        make_model=_matting_model, train=_matting_train, score=_matting_score, budget_min=12,
    ),
}
