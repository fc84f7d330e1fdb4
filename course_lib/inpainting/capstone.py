"""The inpainting capstone (lecture 12): four learned methods, one setting, one table.

Context Encoder, Global & Local, partial convolution and DeepFill v2 are trained here with the
**same images, the same masks and the same budget**, and compared with the classical baselines
(mean colour, biharmonic, PatchMatch) by :mod:`course_lib.inpainting.evaluate`, on held-out
images with **rectangular** holes and with **free-form** (brush-stroke) holes.

What is shared, and why:

* **data**: one training set (:func:`training_data`): 64 px crops of the bundled photos in quick
  mode (the shipped inpainting checkpoints' training stream), random ``size x size`` crops of a
  folder of photographs in full mode; the trainer seeds every sample from ``(seed, step)``, so every
  method trained here sees the very same images and masks in the same order. Held-out crops use
  another seed (:func:`held_out_sets`);
* **weights**: in quick mode a method with a shipped checkpoint (:data:`SHIPPED`, listed by
  ``pretrained.available()``) uses it instead of being trained (:func:`shipped_networks`);
* **post-processing**: every method is scored as it is and Poisson-blended
  (:func:`compare_all` with ``blend=True``), so that Global & Local's post-processing (Sec. 3.4)
  never decides the comparison alone;
* **masks**: each training image gets, with probability ``rect_fraction`` (1/2), Global & Local's
  rectangle (sides 96-128 px at 256, scaled), otherwise DeepFill v2's brush strokes (the
  release's parameters, without the box). One model per method then serves both test families;
* **budget**: the same number of iterations at the same batch size (the same number of training
  images), and in quick mode the same learning-rate schedule (constant, then a linear decay to
  zero over the second half). Each method keeps its own losses and optimiser (its paper's, or in
  quick mode the course's quick recipe's), because those are part of the method.

Per method (the parts of each paper that a mixed-mask, same-budget comparison changes):

* **Context Encoder** predicts the *whole* image (``output="full"``, the official
  ``train_random.lua`` variant), since the centre-only network cannot fill holes elsewhere;
* **Global & Local** splits the budget into its three phases: in the paper's proportions
  ``T_C : T_D : T = 90k : 10k : 400k`` (Sec. 4) in full mode; in quick mode in lecture 09's
  ``500 : 50 : 200``, because a few hundred iterations of MSE are far from the converged completion
  network the paper's joint phase starts from;
* **partial convolution** uses the paper's loss; in quick mode without the perceptual and style
  terms (``pconv_vgg=False``): with the offline random VGG they carry no ImageNet knowledge and cost
  about 10x the rest of an iteration (:func:`vgg_cost`); full mode keeps them, and the paper's
  fine-tuning stage (last quarter of the budget, lr 5e-5, frozen encoder batch norm);
* **DeepFill v2** is the release's unguided model (``guided: False``): no sketch, because at test
  time a sketch drawn from the ground truth would leak the answer.

Quick mode's stated departures (full mode uses none of them): the Context Encoder trains with L2
alone for the first half, weights the known pixels 0.1 (the release: 10) and uses Adam 5e-5 (G
5e-4); DeepFill v2 uses lecture 10's recipe (L1 alone for the first 3/4, hole L1 x 6, open
initialisation, Adam 1e-3, GAN x 0.1).

Quick use (lecture 12)::

    cfg = CapstoneConfig.quick()
    shipped = shipped_networks()
    trained = train_all(cfg, names=[n for n in LEARNED if n not in shipped])
    tests = held_out_sets(cfg)
    raw = compare_all(trained, tests, shipped=shipped)
    print(format_fair_tables(raw, compare_all(trained, tests, shipped=shipped, blend=True, reuse=raw)))

Full use (a GPU; hours): ``python -m course_lib.inpainting.capstone --preset full --data TRAIN_FOLDER
--test-data TEST_FOLDER --out runs/capstone``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from course_lib.data.photos import PhotoCrops
from course_lib.inpainting.data import MaskedImages
from course_lib.inpainting.datasets import (
    FolderCrops,
    gl_rect_mask_fn,
    image_source,
    inpainting_dataset,
)
from course_lib.inpainting.evaluate import (
    Method,
    Scores,
    assert_beats,
    classical_baselines,
    compare,
    format_table,
    held_out,
)
from course_lib.inpainting.freeform import free_form_mask
from course_lib.train.loop import Phase, TrainConfig, Trainer, TrainingTask

#: the two test families, in the order of the tables
FAMILIES = ("rectangles", "free-form")
#: the four learned methods, in the order of the tables (chronological)
LEARNED = ("Context Encoder", "Global & Local", "PConv", "DeepFill v2")
#: Global & Local's phases as fractions of the budget. The paper (Sec. 4): T_C, T_D, T = 90k, 10k,
#: 400k, i.e. 18% / 2% / 80%; a short run needs the completion network trained first for longer
#: (lecture 09's quick schedule: 500 / 50 / 200, i.e. 67% / 7% / 27%)
GL_PHASE_FRACTIONS = {"paper": (90 / 500, 10 / 500, 400 / 500), "quick": (500 / 750, 50 / 750, 200 / 750)}

MaskFn = Callable[[np.random.Generator], torch.Tensor]


@dataclass(frozen=True)
class CapstoneConfig:
    """One setting shared by every learned method.

    Args:
        size: image side in pixels (power of two, >= 32: Context Encoder halves it to 4x4).
        steps: iterations per method (Global & Local: the sum of its three phases).
        batch_size: images per iteration, for every method.
        width: one channel scale for all four networks (the paper's ``nef``/``width``/``cnum``
            are 64, 64, 64, 48); ``None`` = each paper's own width (full mode).
        rect_fraction: share of training masks that are rectangles (the rest: brush strokes).
        pconv_vgg: partial convolution's perceptual and style terms (VGG-16 features).
        quick_optimizers: the course's quick recipes' learning rates (faster in short CPU runs)
            instead of the papers' (see :func:`build_tasks`), and Global & Local's quick schedule.
        lr_decay_start: fraction of the budget after which every method's learning rate falls
            linearly to zero (pix2pix's schedule; it averages out the noise of the last updates
            of a short run); ``None``: constant rates, as the papers.
        ce_warmup, df_warmup: fractions of the budget that the Context Encoder and DeepFill v2 spend
            on their reconstruction loss alone (L2, L1) before their discriminators join in (lectures
            08 and 10's quick recipes: a discriminator is useless while the generator outputs mush);
            0 = adversarial from the first iteration, as the papers.
        ce_overlap_weight: the Context Encoder's L2 weight on the known pixels (the release: 10;
            quick mode: 0.1, so that a short run spends its updates on the hole).
        gl_blend: complete Global & Local's output with the paper's Poisson post-processing
            (Sec. 3.4, :func:`~course_lib.inpainting.global_local.postprocess`) in its own column. Off by
            default: the comparison applies that post-processing to *every* method in a second table
            (:func:`compare_all` with ``blend=True``), so that no method gets it alone.
        use_shipped: use the shipped checkpoint of a method (:data:`SHIPPED`) where
            ``pretrained.available()`` lists it, instead of training it (quick mode: they are 64 px).
        seed: the trainer's seed (the same for every method: the same batches).
        n_test: held-out images per mask family.
    """

    size: int = 64
    steps: int = 400
    batch_size: int = 8
    width: int | None = 8
    rect_fraction: float = 0.5
    pconv_vgg: bool = False
    quick_optimizers: bool = True
    lr_decay_start: float | None = 0.5
    ce_warmup: float = 0.5
    df_warmup: float = 0.75
    ce_overlap_weight: float = 0.1
    gl_blend: bool = False
    use_shipped: bool = True
    seed: int = 0
    n_test: int = 32

    def __post_init__(self) -> None:
        if not isinstance(self.size, int) or self.size < 32 or self.size & (self.size - 1):
            raise ValueError(f"size must be a power of two >= 32 (Context Encoder halves it down to 4x4, "
                             f"DeepFill v2 needs a multiple of 8), got {self.size!r}")
        for name in ("steps", "batch_size", "n_test"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.width is not None and (not isinstance(self.width, int) or self.width < 4 or self.width % 4):
            raise ValueError(f"width must be None (the papers' widths) or a multiple of 4 (DeepFill v2's cnum), "
                             f"got {self.width!r}")
        for name in ("ce_warmup", "df_warmup"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be a fraction of the budget in [0, 1), got {getattr(self, name)}")
        if not 0 <= self.rect_fraction <= 1:
            raise ValueError(f"rect_fraction must be in [0, 1], got {self.rect_fraction}")

    @classmethod
    def quick(cls, **changes) -> CapstoneConfig:
        """CPU minutes: 64 px photo crops, shipped checkpoints where they exist; the other methods
        trained at width 8 for 400 iterations of 8 images, no VGG terms."""
        return dataclasses.replace(cls(), **changes)

    @classmethod
    def gpu(cls, **changes) -> CapstoneConfig:
        """One Colab T4 (about 15 min): 128 px crops, width 32, 3,000 iterations of 16 images; every
        method trained in the notebook (the shipped checkpoints are 64 px networks)."""
        return dataclasses.replace(cls(size=128, steps=3_000, batch_size=16, width=32, pconv_vgg=True,
                                       use_shipped=False, n_test=64), **changes)

    @classmethod
    def full(cls, **changes) -> CapstoneConfig:
        """A GPU: 256 px crops, the papers' widths and optimisers, 100k iterations of 16 images each."""
        return dataclasses.replace(cls(size=256, steps=100_000, batch_size=16, width=None, pconv_vgg=True,
                                       quick_optimizers=False, lr_decay_start=None, ce_warmup=0.0,
                                       df_warmup=0.0, ce_overlap_weight=10.0, use_shipped=False,
                                       n_test=200), **changes)


# ----------------------------------------------------------------------------- data and masks
def mask_fn(family: str, size: int) -> MaskFn:
    """The hole generator of a family: ``"rectangles"`` (Global & Local), ``"free-form"`` (DeepFill v2
    strokes, no box), or ``"mixed"`` (the training masks, see :func:`mixed_mask_fn`)."""
    if family == "rectangles":
        return gl_rect_mask_fn(size)
    if family == "free-form":
        return lambda rng: free_form_mask(size, rng, with_box=False)
    if family == "mixed":
        return mixed_mask_fn(size)
    raise ValueError(f"family must be one of {FAMILIES + ('mixed',)}, got {family!r}")


def mixed_mask_fn(size: int, rect_fraction: float = 0.5) -> MaskFn:
    """A rectangle with probability ``rect_fraction``, else brush strokes (1 = hole, (1, size, size))."""
    if not 0 <= rect_fraction <= 1:
        raise ValueError(f"rect_fraction must be in [0, 1], got {rect_fraction}")
    rect, strokes = mask_fn("rectangles", size), mask_fn("free-form", size)
    return lambda rng: rect(rng) if rng.random() < rect_fraction else strokes(rng)


def training_data(cfg: CapstoneConfig, data: str | os.PathLike | None = None) -> MaskedImages:
    """The one training set: ``{"image" in [-1, 1], "mask"}`` items with mixed masks.

    ``data=None``: crops of the bundled photos (:class:`~course_lib.data.PhotoCrops`, seed 0: the
    training stream of the shipped checkpoints); a folder: random crops of its photographs (shorter side rescaled to [size, 1.5 size],
    Global & Local's Sec. 4 augmentation, :class:`~course_lib.inpainting.datasets.FolderCrops`).
    """
    images: Dataset
    if data is None or str(data) == "quick":
        images, value_range = PhotoCrops(size=cfg.size, length=100_000, seed=0), (0.0, 1.0)
    else:
        images, value_range = FolderCrops(data, cfg.size, cfg.size, cfg.size * 3 // 2), (-1.0, 1.0)
    return inpainting_dataset(images, mixed_mask_fn(cfg.size, cfg.rect_fraction), seed=0, value_range=value_range)


def held_out_sets(cfg: CapstoneConfig, data: str | os.PathLike | None = None) -> dict[str, dict[str, torch.Tensor]]:
    """Held-out evaluation batches, one per family: the *same* ``cfg.n_test`` images with each family's holes.

    ``data=None``: crops of the bundled photos with another seed (1) than training (other positions,
    scales and holes; the shipped checkpoints' held-out stream: the rectangles are
    ``gl_held_out()``'s); a folder: its images centre-cropped to ``cfg.size`` (use photographs the
    training folder does not contain).
    """
    images: Dataset
    if data is None or str(data) == "quick":
        images, value_range = PhotoCrops(size=cfg.size, length=cfg.n_test, seed=1), (0.0, 1.0)
    else:
        images, value_range = image_source(data, cfg.size, length=100_000, seed=1)
    return {family: held_out(inpainting_dataset(images, mask_fn(family, cfg.size), seed=1, value_range=value_range),
                             n=cfg.n_test)
            for family in FAMILIES}


# ----------------------------------------------------------------------------- the four methods
#: a candidate's task class (its ``inpaint`` function takes that task)
TaskT = TypeVar("TaskT", bound=TrainingTask)


@dataclass
class Candidate(Generic[TaskT]):
    """A learned method ready to train: its task, its schedule and how to call it at test time."""

    name: str
    task: TaskT
    phases: list[Phase]
    inpaint: Callable[[TaskT, torch.Tensor, torch.Tensor], torch.Tensor]
    generator: nn.Module
    note: str = ""


def _device_of(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


def _batched_call(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], module: nn.Module) -> Method:
    """A :data:`~course_lib.inpainting.evaluate.Method` that runs ``fn`` on the module's device."""
    def method(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        device = _device_of(module)
        return fn(image.to(device), mask.to(device)).float().cpu()
    return method


def build_tasks(cfg: CapstoneConfig) -> dict[str, Candidate[Any]]:
    """The four methods at ``cfg.size`` with ``cfg.width`` (or the papers' widths), with their schedules.

    Optimisers: the papers' (CE: Adam 2e-4 / G 2e-3; G&L: ADADELTA; PConv: Adam 2e-4; DeepFill v2:
    Adam 1e-4, GAN weight 1) when ``cfg.quick_optimizers`` is false; else the course's quick
    recipes' (G&L: Adam 1e-3; PConv: Adam 2e-3; DeepFill v2: lecture 10's Adam 1e-3, GAN weight
    0.1, hole L1 x 6, open initialisation; CE: Adam 5e-5 / G 5e-4, which a short run with mixed
    masks needs lower), which learn faster in a few hundred iterations.
    """
    from course_lib.inpainting.context_encoder import ContextEncoder, ContextEncoderTask
    from course_lib.inpainting.deepfill_v2 import DeepFillV2Generator, DeepFillV2Task, SNPatchGAN
    from course_lib.inpainting.global_local import GlobalLocalTask, three_phases
    from course_lib.inpainting.partial_conv import PConvTask, PConvUNet

    size, w, quick = cfg.size, cfg.width, cfg.quick_optimizers
    steps = cfg.steps
    warm = min(round(steps * cfg.ce_warmup), steps - 1)
    out: dict[str, Candidate[Any]] = {}

    # Context Encoder: train_random.lua's whole-image output; the fc bottleneck of train.lua at full
    # width, the paper's channel-wise one at a reduced width (12x fewer parameters, lecture 08)
    ce_w = w or 64
    # every network's initial weights depend on cfg.seed only, not on what ran before (a script and
    # the notebook give the same numbers)
    torch.manual_seed(cfg.seed)
    ce = ContextEncoderTask(ContextEncoder(size, ce_w, ce_w, bottleneck="fc" if w is None else "channelwise",
                                           output="full"), adversarial=True, ndf=ce_w,
                             lr=5e-5 if quick else 2e-4, overlap_weight=cfg.ce_overlap_weight)
    ce_phases = [Phase("L2 warm-up", warm, updates=("G",), options={"adversarial": False}),
                 Phase("L2 + adversarial", steps - warm)] if warm else [Phase("train", steps)]
    out["Context Encoder"] = Candidate(
        "Context Encoder", ce, ce_phases, lambda t, x, m: t.inpaint(x, m), ce.G,
        f"whole-image output (train_random.lua), known pixels x {cfg.ce_overlap_weight:g}; "
        + (f"{warm} iterations of L2, then " if warm else "")
        + "L2 x 0.999 + adversarial x 0.001")

    # Global & Local: the three phases in the paper's proportions
    torch.manual_seed(cfg.seed)
    gl = GlobalLocalTask(image_size=size, width=w or 64, optimizer="adam" if quick else "adadelta")
    fractions = GL_PHASE_FRACTIONS["quick" if quick else "paper"]
    tc, td = round(steps * fractions[0]), round(steps * fractions[1])
    blend = cfg.gl_blend
    out["Global & Local"] = Candidate(
        "Global & Local", gl, three_phases(tc, td, steps - tc - td), lambda t, x, m: t.inpaint(x, m, blend=blend),
        gl.C, f"phases T_C {tc}, T_D {td}, T {steps - tc - td}; MSE + 0.0004 GAN"
        + ("; Poisson-blended output (Sec. 3.4)" if blend else ""))

    # Partial convolution: the encoder stops at 2x2 (the paper: 8 layers at 512 px)
    layers = min(8, int(np.log2(size)) - 1)
    torch.manual_seed(cfg.seed)
    pc = PConvTask(PConvUNet(layers=layers, width=w or 64), lr=2e-3 if quick else 2e-4, use_vgg=cfg.pconv_vgg,
                   weights=None)
    if cfg.pconv_vgg and not quick:  # the paper's fine-tuning stage, in its proportion (600k + 200k)
        finetune = steps // 4
        pc_phases = [Phase("train", steps - finetune),
                     Phase("finetune", finetune, options={"lr": 5e-5, "freeze_encoder_bn": True})]
    else:
        pc_phases = [Phase("train", steps)]
    out["PConv"] = Candidate(
        "PConv", pc, pc_phases, lambda t, x, m: t.complete({"image": x, "mask": m}), pc.net,
        f"U-Net of {layers} partial convs; loss valid + 6 hole + 0.1 TV"
        + (" + 0.05 perceptual + 120 style (VGG-16)" if cfg.pconv_vgg else " (no VGG terms)"))

    # DeepFill v2: the release's unguided model (5 input channels; SN-PatchGAN on image + mask)
    # quick: lecture 10's recipe (open initialisation, hole pixels' L1 x 6, Adam 1e-3, GAN x 0.1)
    warm = min(round(steps * cfg.df_warmup), steps - 1)
    torch.manual_seed(cfg.seed)
    g = DeepFillV2Generator(cnum=w or 48, guided=False, init="open" if quick else "release")
    d = SNPatchGAN(in_channels=4, cnum=w or 64)
    df = DeepFillV2Task(g, d, lr=1e-3, gan_weight=0.1, hole_weight=6.0) if quick else DeepFillV2Task(g, d)
    df_phases = [Phase("L1 warm-up", warm, updates=("G",)), Phase("L1 + SN-PatchGAN", steps - warm)] \
        if warm else [Phase("train", steps)]
    out["DeepFill v2"] = Candidate(
        "DeepFill v2", df, df_phases, lambda t, x, m: t.complete({"image": x, "mask": m}), df.G,
        "gated convs + contextual attention; " + (f"{warm} iterations of L1, then " if warm else "")
        + ("L1 (hole x 6) + 0.1" if quick else "L1 (both stages) + 1") + " x SN-PatchGAN hinge")
    return out


def parameter_count(module: nn.Module) -> int:
    """Trainable parameters of a module (spectral norm's ``weight_orig`` counted once)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def parameter_table(candidates: Mapping[str, Candidate[Any]]) -> str:
    """Parameters of each method's generator (what runs at test time) and of everything it trains."""
    lines = [f"{'method':<17}{'generator':>12}{'+ discriminators':>18}", "-" * 47]
    for name, c in candidates.items():
        trained = sum(parameter_count(m) for m in c.task.children() if m is not getattr(c.task, "vgg", None))
        lines.append(f"{name:<17}{parameter_count(c.generator):>12,}{trained - parameter_count(c.generator):>18,}")
    return "\n".join(lines)


@dataclass
class Trained:
    """A trained method: the candidate, its loss history, and its wall-clock training time."""

    candidate: Candidate[Any]
    history: object
    seconds: float

    @property
    def method(self) -> Method:
        """The method as :mod:`course_lib.inpainting.evaluate` calls it (inputs on the CPU, [-1, 1])."""
        c = self.candidate
        return _batched_call(lambda x, m: c.inpaint(c.task, x, m), c.task)


def train_all(cfg: CapstoneConfig, data: Dataset | None = None, names: Sequence[str] = LEARNED,
              device: str | None = None, progress: bool = True, verbose: bool = True,
              checkpoint_dir: str | os.PathLike | None = None) -> dict[str, Trained]:
    """Train each of ``names`` on ``data`` (default :func:`training_data`) with ``cfg``'s budget.

    Every method gets ``TrainConfig(steps, batch_size, seed)`` with the same values, hence the same
    batches. Prints one line per method (iterations, seconds, last logged loss) when ``verbose``.
    ``checkpoint_dir``: save (and resume from) ``<dir>/<method>.pt``, for long runs.
    """
    unknown = [n for n in names if n not in LEARNED]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {LEARNED}")
    data = data if data is not None else training_data(cfg)
    candidates = build_tasks(cfg)
    trained: dict[str, Trained] = {}
    for name in names:
        c = candidates[name]
        ckpt = None
        if checkpoint_dir is not None:
            Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
            ckpt = str(Path(checkpoint_dir) / (name.replace(" ", "_").replace("&", "and") + ".pt"))
        config = TrainConfig(steps=sum(p.steps for p in c.phases), batch_size=cfg.batch_size, seed=cfg.seed,
                             lr_decay_start=None if cfg.lr_decay_start is None else round(cfg.lr_decay_start * cfg.steps),
                             log_every=max(1, min(25, cfg.steps // 4)), progress=progress, checkpoint_path=ckpt,
                             checkpoint_every=2000 if ckpt else None)
        start = time.perf_counter()
        with warnings.catch_warnings():
            # a phased schedule (Global & Local) leaves an optimizer idle in a phase while its learning-rate
            # schedule advances with the iterations; torch warns about that order, which is intended here
            warnings.filterwarnings("ignore", message=re.escape("Detected call of `lr_scheduler.step()`"))
            history = Trainer(c.task, data, config, phases=c.phases, device=device).fit(resume=ckpt is not None)
        seconds = time.perf_counter() - start
        trained[name] = Trained(c, history, seconds)
        if verbose:
            print(f"{name:<16} {config.steps} iterations x {cfg.batch_size} images in {seconds:5.1f} s  ({c.note})",
                  flush=True)
    return trained


#: the shipped checkpoint (``course_lib.pretrained``) of each learned method, used where available
SHIPPED = {"Context Encoder": "context_encoder", "Global & Local": "global_local", "PConv": "pconv",
           "DeepFill v2": "deepfill_v2"}


#: classical methods whose output is already a completion that meets the known pixels (a blend keeps it)
PASTED = ("biharmonic", "PatchMatch")


class NotApplicable(ValueError):
    """A method cannot fill this kind of hole (a centre-only Context Encoder and a hole too large to centre)."""


def shipped_networks(names: Sequence[str] = LEARNED) -> dict[str, nn.Module]:
    """The shipped network of each of ``names`` that ``pretrained.available()`` lists, in eval mode."""
    from course_lib import pretrained

    available = set(pretrained.available())
    return {name: pretrained.load(SHIPPED[name]) for name in names if SHIPPED[name] in available}


def centred_on_hole(image: torch.Tensor, mask: torch.Tensor, side: int) -> tuple[int, int]:
    """The (dy, dx) that moves the centre of ``mask``'s bounding box to the image centre.

    ``mask`` (1, H, W). Raises :class:`NotApplicable` if the box is larger than ``side`` in a
    direction (it would not fit in a centre-only prediction of ``side x side`` pixels).
    """
    rows, cols = torch.nonzero(mask[0] > 0.5, as_tuple=True)
    top, bottom, left, right = int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())
    if bottom - top + 1 > side or right - left + 1 > side:
        raise NotApplicable(f"the hole's bounding box is {bottom - top + 1}x{right - left + 1} px, larger than the "
                            f"{side}x{side} centre this Context Encoder predicts")
    h, w = mask.shape[-2:]
    return h // 2 - (top + bottom + 1) // 2, w // 2 - (left + right + 1) // 2


def _shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``x`` (C, H, W) translated by (dy, dx) with reflected borders, same size."""
    h, w = x.shape[-2:]
    pad = max(abs(dy), abs(dx))
    padded = torch.nn.functional.pad(x[None], (pad, pad, pad, pad), mode="reflect")[0] if pad else x
    return padded[:, pad - dy:pad - dy + h, pad - dx:pad - dx + w]


def network_method(net: nn.Module) -> Method:
    """A bare inpainting network (shipped or just trained) as a method that returns its *raw* output.

    ``method(masked_image, mask)``: (N, 3, S, S) in [-1, 1] and (N, 1, S, S) -> (N, 3, S, S) in
    [-1, 1], the network's prediction over the whole image (evaluation pastes the hole pixels;
    :func:`poisson_blended` takes the prediction's gradients). A centre-only Context Encoder gets
    each image translated so that its hole sits in the predicted centre, and back (reflected
    borders); a hole that does not fit raises :class:`NotApplicable`.
    """
    from course_lib.inpainting.context_encoder import ContextEncoder
    from course_lib.inpainting.deepfill_v2 import DeepFillV2Generator
    from course_lib.inpainting.global_local import CompletionNetwork
    from course_lib.inpainting.partial_conv import PConvUNet

    def run(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Method:
        def method(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            was = net.training
            net.eval()
            try:
                with torch.no_grad():
                    device = _device_of(net)
                    return fn(image.to(device), mask.to(device)).float().cpu()
            finally:
                net.train(was)
        return method

    if isinstance(net, CompletionNetwork):
        return run(lambda x, m: net.predict(x, m) * 2 - 1)
    if isinstance(net, PConvUNet):
        return run(lambda x, m: net(x * (1 - m), m).clamp(-1, 1))
    if isinstance(net, DeepFillV2Generator):  # a guided one (the shipped model) gets an empty sketch
        return run(lambda x, m: net(x * (1 - m), m, torch.zeros_like(m) if net.guided else None)[1].clamp(-1, 1))
    if isinstance(net, ContextEncoder):
        if net.output == "full":
            return run(lambda x, m: net(net.prepare(x, m)).clamp(-1, 1))
        off, side = net.region

        def centred(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
            outs = []
            for xi, mi in zip(x, m):
                dy, dx = centred_on_hole(xi, mi, side)
                xs, ms = _shift(xi, dy, dx)[None], _shift(mi, dy, dx)[None]
                region = net(net.prepare(xs, ms)).clamp(-1, 1)
                full = xs.clone()
                full[..., off:off + side, off:off + side] = region
                outs.append(_shift(full[0], -dy, -dx))
            return torch.stack(outs)
        return run(centred)
    raise TypeError(f"network_method: no adapter for {type(net).__name__}; expected a ContextEncoder, "
                    "CompletionNetwork, PConvUNet or DeepFillV2Generator")


def raw_mean_colour(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean-colour fill as a raw prediction: each image's known-pixel mean everywhere (N, 3, H, W).

    Pasted, it is the mean-colour fill; Poisson-blended, the membrane (Laplace) fill through the
    hole's border colours.
    """
    known = 1 - mask
    mean = (image * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True).clamp_min(1)
    return mean.expand_as(image).contiguous()


def poisson_blended(method: Method) -> Method:
    """``method`` followed by Global & Local's post-processing (Poisson blending, Iizuka et al. 2017, Sec. 3.4).

    Inside the hole, the gradients of ``method``'s output; on the hole's border, the known pixels.
    For a method whose output already *is* a pasted completion (biharmonic, PatchMatch), the blend
    reproduces it: its values on the border already are the known pixels.
    """
    from course_lib.inpainting.global_local import postprocess

    def blended(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return postprocess(image, mask, method(image, mask))
    return blended


def compare_all(trained: Mapping[str, Trained], tests: Mapping[str, Mapping[str, torch.Tensor]],
                classical: Mapping[str, Method] | None = None, shipped: Mapping[str, nn.Module] | None = None,
                blend: bool = False, reuse: Mapping[str, Mapping[str, Scores]] | None = None
                ) -> dict[str, dict[str, Scores]]:
    """Scores per family: the classical baselines (default: mean colour, biharmonic, PatchMatch), then the learned methods.

    Learned methods come from ``shipped`` networks (:func:`shipped_networks`) and ``trained`` ones,
    in :data:`LEARNED` order. ``blend=False``: each method as it is (the learned ones' raw output
    pasted into the hole; Global & Local blended only if its config says so); ``blend=True``:
    *every* method Poisson-blended (:func:`poisson_blended`; the mean colour becomes the membrane
    fill). A method that cannot fill a family's holes (:class:`NotApplicable`) is left out of it.
    ``reuse`` (with ``blend=True``): the raw tables, whose biharmonic and PatchMatch scores are
    copied instead of recomputed, since blending a pasted fill reproduces it (:func:`poisson_blended`).
    """
    methods = dict(classical if classical is not None else classical_baselines())
    if blend and "mean colour" in methods:
        methods["mean colour"] = raw_mean_colour
    shipped = dict(shipped or {})
    for name in LEARNED:
        if name in shipped:
            methods[name] = network_method(shipped[name])
        elif name in trained:
            methods[name] = network_method(trained[name].candidate.generator) if blend else trained[name].method
    if blend:
        methods = {name: poisson_blended(fn) for name, fn in methods.items()}
    tables: dict[str, dict[str, Scores]] = {}
    for family, test in tests.items():
        tables[family] = {}
        for name, fn in methods.items():
            if blend and reuse is not None and name in PASTED and name in reuse.get(family, {}):
                tables[family][name] = reuse[family][name]
                continue
            try:
                tables[family][name] = compare({name: fn}, test)[name]
            except NotApplicable:
                continue
    return tables


def winners(tables: Mapping[str, Mapping[str, Scores]]) -> dict[str, str | None]:
    """Per family, the method with both the lowest L1 and the highest PSNR, or ``None`` if no method has both."""
    out: dict[str, str | None] = {}
    for family, scores in tables.items():
        by_l1 = min(scores, key=lambda n: scores[n].l1)
        by_psnr = max(scores, key=lambda n: scores[n].psnr)
        out[family] = by_l1 if by_l1 == by_psnr else None
    return out


def format_fair_tables(raw: Mapping[str, Mapping[str, Scores]], blended: Mapping[str, Mapping[str, Scores]],
                       origin: Mapping[str, str] | None = None) -> str:
    """One table per family: in-hole L1 / PSNR / SSIM of each method as it is and Poisson-blended.

    ``origin``: a note per method (where its weights come from) printed in the last column.
    """
    origin = dict(origin or {})
    blocks = []
    for family, scores in raw.items():
        n = next(iter(scores.values())).per_image["l1"].shape[0]
        lines = [f"{family} holes, {n} held-out images (in-hole; L1 lower, PSNR / SSIM higher is better)",
                 f"{'method':<17}{'L1':>8}{'PSNR':>8}{'SSIM':>7}  |{'L1 +P':>8}{'PSNR +P':>9}  {'weights'}",
                 "-" * 100]
        for name, s in scores.items():
            b = blended[family].get(name)
            after = f"{b.l1:>8.4f}{b.psnr:>9.2f}" if b is not None else f"{'n/a':>8}{'n/a':>9}"
            lines.append(f"{name:<17}{s.l1:>8.4f}{s.psnr:>8.2f}{s.ssim:>7.3f}  |{after}  {origin.get(name, '')}")
        missing = [name for name in blended[family] if name not in scores]
        lines += [f"{name:<17}{'n/a':>8}" for name in missing]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n(+P: Poisson-blended, Iizuka et al. 2017 Sec. 3.4, applied to every method alike)"


def format_tables(tables: Mapping[str, Mapping[str, Scores]], baseline: str = "mean colour") -> str:
    """:func:`~course_lib.inpainting.evaluate.format_table` for each family, with its mean hole ratio."""
    blocks = []
    for family, scores in tables.items():
        first = next(iter(scores.values()))
        n = first.per_image["l1"].shape[0]
        blocks.append(format_table(scores, baseline=baseline, title=f"{family} holes, {n} held-out images"))
    return "\n\n".join(blocks)


def assert_all_beat(tables: Mapping[str, Mapping[str, Scores]], names: Sequence[str] = LEARNED,
                    baseline: str = "mean colour", metric: str = "both") -> None:
    """Every learned method beats ``baseline`` in every family inside the holes.

    ``metric="both"``: ``assert_beats`` (lower L1 *and* higher PSNR); ``"l1"``: lower L1 only.
    """
    if metric not in ("both", "l1"):
        raise ValueError(f"metric must be 'both' or 'l1', got {metric!r}")
    for family, scores in tables.items():
        for name in names:
            if metric == "l1":
                s, b = scores[name], scores[baseline]
                if not s.l1 < b.l1:
                    raise AssertionError(f"{family} holes: {name} does not beat {baseline} in L1 inside the "
                                         f"holes: {s.l1:.4f} vs {b.l1:.4f}")
                continue
            try:
                assert_beats(scores, name, baseline)
            except AssertionError as err:
                raise AssertionError(f"{family} holes: {err}") from None


def ranking(tables: Mapping[str, Mapping[str, Scores]], metric: str = "l1") -> dict[str, list[str]]:
    """Methods of each family sorted from best to worst by ``metric`` (``l1``: lowest first; else highest)."""
    if metric not in ("l1", "psnr", "ssim"):
        raise ValueError(f"metric must be 'l1', 'psnr' or 'ssim', got {metric!r}")
    return {family: sorted(scores, key=lambda n: getattr(scores[n], metric) * (1 if metric == "l1" else -1))
            for family, scores in tables.items()}


# ----------------------------------------------------------------------------- the figure
def side_by_side(tables: Mapping[str, Mapping[str, Scores]], tests: Mapping[str, Mapping[str, torch.Tensor]],
                 family: str | None = None, indices: Sequence[int] = (0, 1, 2), methods: Sequence[str] | None = None,
                 scale: float = 2.0, hole_colour: tuple[float, float, float] = (1.0, 0.0, 1.0)):
    """A legible grid for one family: one row per held-out image; the input (hole painted
    ``hole_colour``), each method, the truth. Every panel is titled with its method and that
    image's in-hole L1 and PSNR; ``scale`` inches per panel.

    ``family`` defaults to the first of ``tables``. Images come from ``Scores.outputs`` (so
    :func:`compare_all` must have kept them, as it does by default). Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    from course_lib.viz import to_numpy_image

    family = family if family is not None else next(iter(tables))
    scores, test = tables[family], tests[family]
    names = list(methods) if methods is not None else list(scores)
    missing = [n for n in names if n not in scores or scores[n].outputs is None]
    if missing:
        raise ValueError(f"no outputs kept for {missing} on {family} holes: evaluate with keep_outputs=True")
    paint = torch.tensor(hole_colour).view(3, 1, 1) * 2 - 1
    ncols = len(names) + 2
    fig, axes = plt.subplots(len(indices), ncols, figsize=(scale * ncols, (scale + 0.45) * len(indices)), squeeze=False)
    for r, i in enumerate(indices):
        mask = test["mask"][i]
        panels = [("input (hole)", test["image"][i] * (1 - mask) + paint * mask)]
        for name in names:
            s = scores[name]
            assert s.outputs is not None  # checked above
            panels.append((f"{name}\nL1 {float(s.per_image['l1'][i]):.3f}, {float(s.per_image['psnr'][i]):.1f} dB",
                           s.outputs[i]))
        panels.append(("truth", test["image"][i]))
        for c, (title, img) in enumerate(panels):
            ax = axes[r, c]
            ax.imshow(to_numpy_image(img, (-1, 1)), interpolation="nearest")
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(f"{family} #{i}", fontsize=9)
    fig.tight_layout()
    return fig


def vgg_cost(cfg: CapstoneConfig, repeats: int = 1) -> tuple[float, float]:
    """Seconds of one forward + backward of :func:`pconv_loss` on a batch, without and with the VGG terms."""
    from course_lib.inpainting.partial_conv import pconv_loss, pconv_vgg

    data = training_data(cfg)
    batch = torch.stack([data[i]["image"] for i in range(cfg.batch_size)])
    hole = torch.stack([data[i]["mask"] for i in range(cfg.batch_size)])
    vgg = pconv_vgg()
    times = []
    for extractor in (None, vgg):
        out = batch.clone().requires_grad_(True)
        start = time.perf_counter()
        for _ in range(repeats):
            pconv_loss(out, batch, hole, extractor)["loss"].backward()
        times.append((time.perf_counter() - start) / repeats)
    return times[0], times[1]


# ----------------------------------------------------------------------------- command line
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m course_lib.inpainting.capstone``: train the four methods, print the tables, save the figure."""
    from course_lib.train.cli import plain_description

    parser = argparse.ArgumentParser(prog="python -m course_lib.inpainting.capstone", description=plain_description(__doc__))
    parser.add_argument("--preset", choices=("quick", "full"), default="quick",
                        help="quick: minutes on a CPU; the others need a GPU (see the module docstring)")
    parser.add_argument("--data", default=None, help="folder of training photographs (full preset)")
    parser.add_argument("--test-data", default=None, help="folder of held-out photographs (full preset)")
    parser.add_argument("--steps", type=int, default=None, help="iterations per method")
    parser.add_argument("--methods", nargs="+", default=list(LEARNED), help="subset of the learned methods")
    parser.add_argument("--out", default="runs/capstone", help="checkpoints, tables and the figure go here")
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: best available)")
    args = parser.parse_args(argv)
    if args.preset == "full" and (args.data is None or args.test_data is None):
        raise SystemExit("the full preset trains on real photographs: pass --data TRAIN_FOLDER and "
                         "--test-data TEST_FOLDER (e.g. Places2 training and validation images)")
    cfg = CapstoneConfig.full() if args.preset == "full" else CapstoneConfig.quick()
    if args.steps is not None:
        cfg = dataclasses.replace(cfg, steps=args.steps)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(parameter_table(build_tasks(cfg)))
    shipped = shipped_networks(args.methods) if cfg.use_shipped else {}
    trained = train_all(cfg, training_data(cfg, args.data), names=[n for n in args.methods if n not in shipped],
                        device=args.device, checkpoint_dir=out / "checkpoints")
    tests = held_out_sets(cfg, args.test_data)
    raw = compare_all(trained, tests, shipped=shipped)
    blended = compare_all(trained, tests, shipped=shipped, blend=True)
    text = format_fair_tables(raw, blended, {n: "shipped" for n in shipped} | {n: "trained" for n in trained})
    print(text)
    (out / "tables.txt").write_text(text + "\n")
    for family in raw:
        side_by_side(raw, tests, family).savefig(out / f"side_by_side_{family}.png", dpi=120)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
