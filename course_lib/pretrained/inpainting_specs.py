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

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from course_lib.pretrained.specs import Spec

if TYPE_CHECKING:
    from course_lib.inpainting.context_encoder import ContextEncoder
    from course_lib.inpainting.deepfill_v2 import DeepFillV2Generator
    from course_lib.inpainting.global_local import CompletionNetwork
    from course_lib.inpainting.partial_conv import PConvUNet

# ----------------------------------------------------------------------- lecture 09: Global & Local
GL_SIZE, GL_WIDTH, GL_STEPS, GL_BATCH, GL_SEED, GL_LR = 64, 16, 1000, 16, 0, 1e-3
GL_HELD_OUT = 64  # held-out images in the score (and in the lecture's test)


def _gl_model() -> CompletionNetwork:
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


def _gl_train(steps: int | None) -> tuple[CompletionNetwork, dict[str, Any]]:
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


def _gl_score(model: CompletionNetwork) -> dict[str, float]:
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


def _ce_model() -> ContextEncoder:
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


def _ce_train(steps: int | None) -> tuple[ContextEncoder, dict[str, Any]]:
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


def _ce_score(model: ContextEncoder) -> dict[str, float]:
    """In-hole L1 and PSNR on the held-out crops vs the mean colour, and the fill's colour cast."""
    from course_lib.inpainting.blending import mean_fill
    from course_lib.inpainting.evaluate import compare

    test = ce_held_out()
    scores = compare({"ce": model.inpaint, "mean": mean_fill}, test)
    out: dict[str, float] = {}
    for name, s in scores.items():
        assert s.outputs is not None  # compare keeps the completed images
        out[f"l1_{name}"] = round(s.l1, 4)
        out[f"psnr_{name}"] = round(s.psnr, 3)
        out[f"colour_error_{name}"] = round(float(hole_colour_error(s.outputs, test["image"], test["mask"]).mean()), 4)
    return out


SPECS: dict[str, Spec[Any]] = {
    "global_local": Spec(
        lecture="09", description=f"lecture 09's Global & Local completion network (width {GL_WIDTH}) on 64 px photo crops",
        make_model=_gl_model, train=_gl_train, score=_gl_score, budget_min=12,
    ),
    "context_encoder": Spec(
        lecture="08", description=f"lecture 08's Context Encoder (widths {CE_WIDTH}, channel-wise bottleneck) on 64 px photo crops",
        make_model=_ce_model, train=_ce_train, score=_ce_score, budget_min=12,
    ),
}


# ------------------------------------------------------------ lecture 10: free-form holes (PConv, DeepFill v2)
FF_SIZE, FF_HELD_OUT = 64, 64  # crop size and held-out images of lecture 10's shipped nets


def freeform_data(seed: int, length: int):
    """Lecture 10's data: 64 px crops of the bundled photos with DeepFill v2's brush strokes (no box).

    Items ``{"image": (3, 64, 64) in [-1, 1], "mask": (1, 64, 64), 1 = hole}``, exactly the
    lecture's ``stroke_masks(seed)`` in quick mode (:class:`PhotoPatches`, the release's
    :func:`free_form_mask` scaled to 64 px). Seed 0 is the training stream, seed 1 the held-out one.
    """
    from course_lib.inpainting.data import MaskedImages
    from course_lib.inpainting.freeform import free_form_mask
    from course_lib.inpainting.patches import PhotoPatches

    images = PhotoPatches(size=FF_SIZE, length=length, seed=seed)
    return MaskedImages(images, lambda rng: free_form_mask(FF_SIZE, rng, with_box=False), seed=seed)


def freeform_held_out(n: int = FF_HELD_OUT) -> dict[str, torch.Tensor]:
    """The fixed held-out batch of lecture 10: ``image`` (n, 3, 64, 64), ``mask`` and ``sketch`` (n, 1, 64, 64).

    The first 32 items are the lecture's quick-mode test set. ``sketch`` holds the Canny edges of
    the truth (:func:`edge_sketch`), what a guided network is given as "the true edges".
    """
    from course_lib.inpainting.deepfill_v2 import edge_sketch
    from course_lib.inpainting.evaluate import held_out

    test = held_out(freeform_data(seed=1, length=n), n=n)
    test["sketch"] = edge_sketch(test["image"])
    return test


def _in_hole_scores(methods: dict[str, Any], test: dict[str, torch.Tensor]) -> dict[str, float]:
    from course_lib.inpainting.evaluate import compare

    out: dict[str, float] = {}
    for name, s in compare(methods, test).items():
        out[f"l1_{name}"] = round(s.l1, 4)
        out[f"psnr_{name}"] = round(s.psnr, 3)
    return out


# PConv U-Net (Liu et al. 2018) at the lecture's quick-mode size: 5 levels, width 16.
PCONV_LAYERS, PCONV_WIDTH, PCONV_STEPS, PCONV_BATCH, PCONV_SEED, PCONV_LR = 5, 16, 3000, 16, 0, 2e-3


def _pconv_model() -> PConvUNet:
    from course_lib.inpainting.partial_conv import PConvUNet

    return PConvUNet(PCONV_LAYERS, PCONV_WIDTH)


def pconv_inpaint(net: nn.Module):
    """An evaluation method (masked image, hole) -> (N, 3, H, W) for a :class:`PConvUNet` in eval mode."""
    return lambda x, m: net(x * (1 - m), m)


def _pconv_train(steps: int | None) -> tuple[PConvUNet, dict[str, Any]]:
    from course_lib.config import seed_everything
    from course_lib.inpainting.partial_conv import PConvTask
    from course_lib.train import TrainConfig, Trainer

    steps = steps or PCONV_STEPS
    seed_everything(PCONV_SEED)
    # Valid, hole (x6) and TV terms of Eq. 7 with the paper's weights; no VGG terms: offline the
    # course's VGG is a seeded random network, and three VGG passes cost ~90% of a CPU step.
    task = PConvTask(_pconv_model(), lr=PCONV_LR, use_vgg=False)
    config = TrainConfig(steps=steps, batch_size=PCONV_BATCH, seed=PCONV_SEED, log_every=100, progress=False,
                         precision="fp32", lr_decay_start=steps // 2)
    Trainer(task, freeform_data(seed=0, length=1_000_000), config).fit()
    settings = {"data": "64x64 crops of the bundled photos (PhotoPatches, seed 0), free-form brush strokes (no box)",
                "resolution": FF_SIZE, "steps": steps, "batch_size": PCONV_BATCH, "seed": PCONV_SEED,
                "layers": PCONV_LAYERS, "width": PCONV_WIDTH,
                "loss": "valid + 6 hole + 0.1 TV (Eq. 7 without the VGG terms)",
                "optimizer": f"adam lr {PCONV_LR}, linear decay from step {steps // 2}"}
    return task.net, settings


def _pconv_score(net: PConvUNet) -> dict[str, float]:
    """In-hole L1 ([0, 1] scale) and PSNR (dB) on lecture 10's held-out crops, vs the mean colour."""
    from course_lib.inpainting.blending import mean_fill

    return _in_hole_scores({"pconv": pconv_inpaint(net), "mean": mean_fill}, freeform_held_out())


SPECS["pconv"] = Spec(
    lecture="10", description=f"lecture 10's PConv U-Net ({PCONV_LAYERS} levels, width {PCONV_WIDTH}) on 64 px photo "
                              "crops with free-form holes",
    make_model=_pconv_model, train=_pconv_train, score=_pconv_score, budget_min=12,
)


# DeepFill v2 (Yu et al. 2019), the user-guided generator (sketch channel) with SN-PatchGAN, at the
# lecture's quick-mode widths. Half of the training items come with the true edges as the sketch, half
# with an empty one: one network then fills holes without a sketch (scored against the mean colour)
# and follows a sketch when given one (section 8 of the lecture).
DF_CNUM, DF_D_CNUM, DF_BATCH, DF_SEED, DF_LR = 16, 16, 8, 0, 1e-3
DF_WARMUP, DF_ADVERSARIAL = 600, 500  # L1-only steps, then L1 + SN-PatchGAN steps
DF_GAN_WEIGHT, DF_HOLE_WEIGHT, DF_EMPTY_SKETCH = 0.1, 6.0, 0.5


def _df_model() -> DeepFillV2Generator:
    from course_lib.inpainting.deepfill_v2 import DeepFillV2Generator

    return DeepFillV2Generator(cnum=DF_CNUM, guided=True, init="open")


def deepfill_inpaint(G: nn.Module):
    """An evaluation method (masked image, hole) -> stage 2's output of a guided generator, given an empty sketch."""
    return lambda x, m: G(x, m, torch.zeros_like(m))[1]


@torch.no_grad()
def deepfill_complete(G: nn.Module, test: dict[str, torch.Tensor], sketch: torch.Tensor | None = None) -> torch.Tensor:
    """Completed images (N, 3, H, W) in [-1, 1]: known pixels kept, hole from stage 2; ``sketch`` None = empty."""
    image, hole = test["image"], test["mask"]
    s = torch.zeros_like(hole) if sketch is None else sketch
    out = G(image * (1 - hole), hole, s)[1].clamp(-1, 1)
    return image * (1 - hole) + out * hole


def _df_train(steps: int | None) -> tuple[DeepFillV2Generator, dict[str, Any]]:
    from course_lib.config import seed_everything
    from course_lib.inpainting.deepfill_v2 import DeepFillV2Task, SNPatchGAN, WithSketch
    from course_lib.train import Phase, TrainConfig, Trainer

    warmup, adversarial = (DF_WARMUP, DF_ADVERSARIAL) if steps is None else (steps - steps // 2, steps // 2)
    total = warmup + adversarial
    seed_everything(DF_SEED)
    # The lecture's quick-mode recipe, run longer: open gates (He init, gates 88% open), the hole's
    # L1 weighted by 6 (PConv's hole weight), an L1 warm-up before the discriminator joins with a
    # weight of 0.1, and a learning rate that falls linearly to 0 over the second half.
    task = DeepFillV2Task(_df_model(), SNPatchGAN(in_channels=5, cnum=DF_D_CNUM), lr=DF_LR,
                          gan_weight=DF_GAN_WEIGHT, hole_weight=DF_HOLE_WEIGHT)
    phases = [Phase("L1 warm-up", warmup, updates=("G",)), Phase("L1 + SN-PatchGAN", adversarial)]
    config = TrainConfig(batch_size=DF_BATCH, seed=DF_SEED, log_every=100, progress=False, precision="fp32",
                         lr_decay_start=total // 2)
    data = WithSketch(freeform_data(seed=0, length=1_000_000), empty_fraction=DF_EMPTY_SKETCH, seed=DF_SEED)
    Trainer(task, data, config, phases=phases).fit()
    settings = {"data": "64x64 crops of the bundled photos (PhotoPatches, seed 0), free-form brush strokes (no box); "
                        f"sketch = Canny edges of the truth, empty for {DF_EMPTY_SKETCH:.0%} of the items",
                "resolution": FF_SIZE, "steps": total, "batch_size": DF_BATCH, "seed": DF_SEED,
                "cnum": DF_CNUM, "d_cnum": DF_D_CNUM, "init": "open",
                "phases": f"L1 warm-up {warmup}, L1 + {DF_GAN_WEIGHT} x SN-PatchGAN hinge {adversarial}",
                "loss": f"L1 on both stages, hole pixels x {DF_HOLE_WEIGHT}",
                "optimizer": f"adam lr {DF_LR} betas (0.5, 0.999), linear decay from step {total // 2}"}
    return task.G, settings


def _df_score(G: DeepFillV2Generator) -> dict[str, float]:
    """In-hole L1 / PSNR without a sketch vs the mean colour; sketch agreement (F1) with and without the true edges."""
    from course_lib.inpainting.blending import mean_fill
    from course_lib.inpainting.deepfill_v2 import sketch_agreement

    test = freeform_held_out()
    out = _in_hole_scores({"deepfill": deepfill_inpaint(G), "mean": mean_fill}, test)
    for name, sketch in (("sketch", test["sketch"]), ("no_sketch", None)):
        completed = deepfill_complete(G, test, sketch)
        out[f"edge_f1_{name}"] = round(sketch_agreement(completed, test["sketch"], test["mask"])["f1"], 4)
    return out


SPECS["deepfill_v2"] = Spec(
    lecture="10", description=f"lecture 10's user-guided DeepFill v2 (gated convs, cnum {DF_CNUM}, sketch channel) "
                              "with SN-PatchGAN, on 64 px photo crops with free-form holes",
    make_model=_df_model, train=_df_train, score=_df_score, budget_min=12,
)
