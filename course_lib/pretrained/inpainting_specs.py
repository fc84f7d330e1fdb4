"""Shipped checkpoints of lectures 08-12: see :mod:`course_lib.pretrained.specs` for what a spec holds.

* ``global_local``: the completion network of Iizuka et al. 2017 (Table 1, every channel count
  times ``GL_WIDTH / 64``), trained with the completion (MSE) phase T_C of Sec. 3.3 on 64x64 crops
  of the bundled photos with one random rectangular hole (sides 24-32 px, the paper's 96-128 at
  256 px, scaled).
* ``context_encoder``: Pathak et al. 2016's encoder-decoder (widths 32, the channel-wise fully
  connected bottleneck of Sec. 3.1) on 64x64 photo crops with the centre hole of ``train.lua``
  (28x28 inside the predicted 32x32 centre), trained with the overlap-weighted L2 loss only.

Held-out data: crops of the same photos drawn with another seed (other positions, scales and
holes), scored inside the holes by :mod:`course_lib.inpainting.evaluate` against the mean colour
of the known pixels; Global & Local also with the paper's Poisson post-processing (Sec. 3.4)
applied to both, the Context Encoder also by the colour cast of its fill (:func:`hole_colour_error`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from course_lib.pretrained.specs import Spec

# ----------------------------------------------------------------------- lecture 09: Global & Local
GL_SIZE, GL_WIDTH, GL_STEPS, GL_BATCH, GL_SEED, GL_LR = 64, 16, 1000, 16, 0, 1e-3
GL_HELD_OUT = 64  # held-out images in the score (and in the lecture's test)


def _gl_model() -> nn.Module:
    from course_lib.inpainting.global_local import CompletionNetwork

    return CompletionNetwork(GL_WIDTH)


def gl_data(seed: int, length: int):
    """Photo crops with Global & Local holes: ``{"image": (3, 64, 64) in [-1, 1], "mask": (1, 64, 64)}``.

    ``seed`` 0 is the training stream, seed 1 the held-out one (other crops, other holes).
    """
    from course_lib.data.photos import PhotoCrops
    from course_lib.inpainting.datasets import gl_rect_mask_fn, inpainting_dataset

    photos = PhotoCrops(size=GL_SIZE, length=length, seed=seed)
    return inpainting_dataset(photos, gl_rect_mask_fn(GL_SIZE), seed=seed, value_range=(0.0, 1.0))


def gl_held_out() -> dict[str, torch.Tensor]:
    """The fixed held-out batch of the shipped Global & Local net: 64 crops (N, 3, 64, 64) and holes."""
    from course_lib.inpainting.evaluate import held_out

    return held_out(gl_data(seed=1, length=GL_HELD_OUT), n=GL_HELD_OUT)


def _gl_train(steps: int | None) -> tuple[nn.Module, dict[str, Any]]:
    from course_lib.config import seed_everything
    from course_lib.inpainting.global_local import GlobalLocalTask, three_phases
    from course_lib.train import TrainConfig, Trainer

    steps = steps or GL_STEPS
    seed_everything(GL_SEED)
    task = GlobalLocalTask(image_size=GL_SIZE, width=GL_WIDTH, optimizer="adam", lr=GL_LR)
    # Only the completion phase T_C (Sec. 3.3): at this budget the MSE phase is what moves the
    # in-hole L1/PSNR; the learning rate decays linearly over the last half to settle the weights.
    config = TrainConfig(steps=steps, batch_size=GL_BATCH, seed=GL_SEED, log_every=100, progress=False,
                         precision="fp32", lr_decay_start=steps // 2)
    Trainer(task, gl_data(seed=0, length=1_000_000), config, phases=three_phases(steps, 0, 0)).fit()
    settings = {"data": "64x64 crops of the bundled photos (PhotoCrops, seed 0), rectangular holes 24-32 px",
                "resolution": GL_SIZE, "steps": steps, "batch_size": GL_BATCH, "seed": GL_SEED,
                "width": GL_WIDTH, "optimizer": f"adam lr {GL_LR}, linear decay from step {steps // 2}",
                "phases": f"T_C {steps} (MSE only), T_D 0, T 0"}
    return task.C, settings


def mean_colour_image(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean-colour "prediction" over the whole image: (N, 3, H, W), each image's known-pixel mean everywhere.

    Poisson post-processing of this constant source (its gradients are zero) gives the membrane
    (Laplace) fill that interpolates the hole's border colours: the baseline's counterpart of
    Sec. 3.4 applied to the network's raw output.
    """
    known = 1 - mask
    mean = (image * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True)
    return mean.expand_as(image).contiguous()


def _gl_score(model: nn.Module) -> dict[str, float]:
    """In-hole L1 ([0, 1] scale) and PSNR (dB) on the held-out crops, with and without Poisson blending."""
    from course_lib.inpainting.blending import mean_fill
    from course_lib.inpainting.evaluate import compare
    from course_lib.inpainting.global_local import postprocess

    test = gl_held_out()
    scores = compare({
        "gl": lambda x, m: model.inpaint(x, m),
        "mean": mean_fill,
        "gl_poisson": lambda x, m: model.inpaint(x, m, blend=True),
        "mean_poisson": lambda x, m: postprocess(x, m, mean_colour_image(x, m)),
    }, test)
    out: dict[str, float] = {}
    for name, s in scores.items():
        out[f"l1_{name}"] = round(s.l1, 4)
        out[f"psnr_{name}"] = round(s.psnr, 3)
    return out


# ----------------------------------------------------------------------- lecture 08: Context Encoder
CE_SIZE, CE_WIDTH, CE_STEPS, CE_BATCH, CE_SEED, CE_LR = 64, 32, 600, 32, 0, 2e-4
CE_HELD_OUT = 64


def _ce_model() -> nn.Module:
    from course_lib.inpainting.context_encoder import ContextEncoder

    return ContextEncoder(CE_SIZE, CE_WIDTH, CE_WIDTH, bottleneck="channelwise")


def ce_data(seed: int, length: int):
    """Photo crops with Context Encoder's centre hole (28x28 in 64x64): ``{"image": [-1, 1], "mask"}``."""
    from course_lib.data.photos import PhotoCrops
    from course_lib.inpainting.datasets import context_encoder_mask_fn, inpainting_dataset

    photos = PhotoCrops(size=CE_SIZE, length=length, seed=seed)
    return inpainting_dataset(photos, context_encoder_mask_fn(CE_SIZE), seed=seed, value_range=(0.0, 1.0))


def ce_held_out() -> dict[str, torch.Tensor]:
    """The fixed held-out batch of the shipped Context Encoder: 64 crops (N, 3, 64, 64) with the centre hole."""
    from course_lib.inpainting.evaluate import held_out

    return held_out(ce_data(seed=1, length=CE_HELD_OUT), n=CE_HELD_OUT)


def hole_colour_error(completed: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Colour cast of a fill: per image, the largest |mean over the hole of (fill - truth)| over R, G, B.

    ``completed``, ``truth`` (N, 3, H, W) in [-1, 1], ``mask`` (N, 1, H, W); returns (N,) on the
    [0, 1] scale. A fill that is right on average in every channel scores 0, a green tint scores
    its excess of green.
    """
    diff = ((completed - truth) / 2 * mask).sum((2, 3)) / mask.sum((2, 3)).clamp_min(1)
    return diff.abs().amax(1)


def _ce_train(steps: int | None) -> tuple[nn.Module, dict[str, Any]]:
    from course_lib.config import seed_everything
    from course_lib.inpainting.context_encoder import ContextEncoderTask
    from course_lib.train import TrainConfig, Trainer

    steps = steps or CE_STEPS
    seed_everything(CE_SEED)
    # L2 only (the paper's Fig. 6 "L2 loss" column): the in-hole error and colour are what the
    # checkpoint must get right; train.lua's generator rate 10 x 2e-4, Adam beta1 0.5.
    task = ContextEncoderTask(_ce_model(), adversarial=False, lr=CE_LR)
    config = TrainConfig(steps=steps, batch_size=CE_BATCH, seed=CE_SEED, log_every=100, progress=False,
                         precision="fp32", lr_decay_start=steps // 2)
    Trainer(task, ce_data(seed=0, length=1_000_000), config).fit()
    settings = {"data": "64x64 crops of the bundled photos (PhotoCrops, seed 0), centre hole 28x28",
                "resolution": CE_SIZE, "steps": steps, "batch_size": CE_BATCH, "seed": CE_SEED,
                "width": CE_WIDTH, "loss": "overlap-weighted L2 only",
                "optimizer": f"adam lr {10 * CE_LR} beta1 0.5, linear decay from step {steps // 2}"}
    return task.G, settings


def _ce_score(model: nn.Module) -> dict[str, float]:
    """In-hole L1 and PSNR on the held-out crops vs the mean colour, and the fill's colour cast."""
    from course_lib.inpainting.blending import mean_fill
    from course_lib.inpainting.evaluate import compare

    test = ce_held_out()
    scores = compare({"ce": model.inpaint, "mean": mean_fill}, test)
    out: dict[str, float] = {}
    for name, s in scores.items():
        out[f"l1_{name}"] = round(s.l1, 4)
        out[f"psnr_{name}"] = round(s.psnr, 3)
        out[f"colour_error_{name}"] = round(float(hole_colour_error(s.outputs, test["image"], test["mask"]).mean()), 4)
    return out


SPECS: dict[str, Spec] = {
    "global_local": Spec(
        lecture="09", description=f"lecture 09's Global & Local completion network (width {GL_WIDTH}) on 64 px photo crops",
        make_model=_gl_model, train=_gl_train, score=_gl_score, budget_min=12,
    ),
    "context_encoder": Spec(
        lecture="08", description=f"lecture 08's Context Encoder (widths {CE_WIDTH}, channel-wise bottleneck) on 64 px photo crops",
        make_model=_ce_model, train=_ce_train, score=_ce_score, budget_min=12,
    ),
}
