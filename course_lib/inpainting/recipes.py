"""Command-line recipes of topics 08-10: ``python -m course_lib.train MODEL`` with MODEL one of
``context_encoder``, ``global_local``, ``pconv``, ``deepfill_v1``, ``deepfill_v2``, ``deepfill_v2_guided``.

The networks and training steps live in their own modules (:mod:`.context_encoder`,
:mod:`.global_local`, :mod:`.partial_conv`, :mod:`.deepfill_v1`, :mod:`.deepfill_v2`); this
module only wires each to its data, masks and schedule.

``--preset quick`` trains a small model on the bundled photos and textures in minutes on a CPU;
``--preset paper`` uses the papers' sizes and schedules and is meant for ``--data FOLDER``
(photographs, e.g. Places2, Paris StreetView or CelebA-HQ) and a GPU.
"""

from __future__ import annotations

from typing import Any

from course_lib.train.cli import Recipe
from course_lib.train.loop import Phase, TrainConfig


def _images(preset: str, data: str | None, size: int, min_side: int, max_side: int):
    from course_lib.inpainting.datasets import FolderCrops, InpaintingImages

    if data is None or data == "quick":
        if preset == "paper":
            raise SystemExit("the paper preset trains on real photographs: pass --data FOLDER "
                             "(e.g. Places2 or Paris StreetView images)")
        return InpaintingImages(size=size, length=100_000, seed=0), (0.0, 1.0)
    return FolderCrops(data, size=size, min_side=min_side, max_side=max_side), (-1.0, 1.0)


def context_encoder(preset: str, data: str | None = None) -> Recipe:
    """Context Encoder, centre hole (pathak22/context-encoder ``train.lua``).

    paper: 128 px, nef = ngf = ndf = 64, ``nBottleneck = 4000`` (a fully connected bottleneck; the
    README's training command, where ``train.lua``'s default is 100),
    ``overlapPred = 4``, ``wtl2 = 0.999``, batch 64, Adam lr 2e-4 (generator 2e-3), ``loadSize 350``;
    the README trains 500 epochs (about 100k iterations on Paris StreetView's 15k images).
    quick: 32 px, widths 16, channel-wise fully connected bottleneck (paper Sec. 3.1), batch 16 (lecture 08).
    """
    from course_lib.inpainting.context_encoder import ContextEncoder, ContextEncoderTask
    from course_lib.inpainting.datasets import context_encoder_mask_fn, inpainting_dataset

    if preset == "paper":
        size, width, bottleneck, steps, batch = 128, 64, "fc", 100_000, 64
    else:
        size, width, bottleneck, steps, batch = 32, 16, "channelwise", 600, 16
    images, value_range = _images(preset, data, size, 350, 350)
    task = ContextEncoderTask(ContextEncoder(size, width, width, bottleneck=bottleneck), adversarial=True, ndf=width)
    return Recipe(
        task=task,
        data=inpainting_dataset(images, context_encoder_mask_fn(size), seed=0, value_range=value_range),
        config=TrainConfig(steps=steps, batch_size=batch, log_every=50, sample_every=max(steps // 4, 1)),
        description=f"Context Encoder {size} px, {bottleneck} bottleneck, L2 (overlap-weighted) x 0.999 + adversarial x 0.001",
    )


def global_local(preset: str, data: str | None = None) -> Recipe:
    """Global & Local (Iizuka et al. 2017) with its three phases.

    paper: 256 px crops (shorter side resized to [256, 384]), holes 96-128 px, width 64, batch 96,
    ADADELTA, alpha = 0.0004, T_C = 90k, T_D = 10k, T = 400k iterations (Sec. 4).
    quick: 32 px, holes 12-16 px, width 16, batch 16, Adam (lr 1e-3), 500 / 50 / 200 iterations (lecture 09).
    """
    from course_lib.inpainting.datasets import gl_rect_mask_fn, inpainting_dataset
    from course_lib.inpainting.global_local import GlobalLocalTask, three_phases

    if preset == "paper":
        size, width, batch, optimizer, phases = 256, 64, 96, "adadelta", three_phases(90_000, 10_000, 400_000)
    else:
        size, width, batch, optimizer, phases = 32, 16, 16, "adam", three_phases(500, 50, 200)
    images, value_range = _images(preset, data, size, 256 * size // 256, 384 * size // 256)
    return Recipe(
        task=GlobalLocalTask(image_size=size, width=width, optimizer=optimizer),
        data=inpainting_dataset(images, gl_rect_mask_fn(size), seed=0, value_range=value_range),
        config=TrainConfig(batch_size=batch, log_every=50, sample_every=max(sum(p.steps for p in phases) // 4, 1)),
        phases=phases,
        description=f"Global & Local {size} px, width {width}, {optimizer}, phases "
                    + " / ".join(f"{p.name} {p.steps}" for p in phases),
    )


def _photo_or_folder_images(data: str | None, size: int, preset: str) -> Any:
    """Images for the inpainting recipes: bundled photos (in [0, 1]) or a folder of images (in [-1, 1])."""
    from course_lib.data import ImageFolder, PhotoCrops
    from course_lib.inpainting.patches import PhotoPatches

    if data in (None, "photos"):
        if preset == "quick":
            return PhotoPatches(size=size, length=100_000, seed=0)  # pre-shrunk photos: cheap crops
        print("note: the paper preset on the bundled photos is only a smoke test; pass --data FOLDER "
              "(e.g. Places2 or CelebA-HQ images) for a real run")
        return PhotoCrops(size=size, length=100_000, seed=0)
    return ImageFolder(data, size=size)


def pconv(preset: str, data: str | None = None) -> Recipe:
    """``python -m course_lib.train pconv``: quick = 64 px bundled photos; paper = 512 px folder."""
    from course_lib.inpainting.data import MaskedImages
    from course_lib.inpainting.freeform import free_form_mask
    from course_lib.inpainting.partial_conv import PConvTask, PConvUNet

    size = 64 if preset == "quick" else 512
    images = _photo_or_folder_images(data, size, preset)
    masks = MaskedImages(images, lambda rng: free_form_mask(size, rng, with_box=False), seed=0,
                         value_range=(0.0, 1.0) if data in (None, "photos") else (-1.0, 1.0))
    if preset == "quick":
        # Without the VGG terms: on a CPU they cost ~90% of a step (three VGG-16 passes to pool3).
        task = PConvTask(PConvUNet(layers=5, width=16), lr=2e-3, use_vgg=False)
        return Recipe(task, masks, TrainConfig(steps=400, batch_size=8, log_every=50, sample_every=200),
                      description="PConv U-Net, 5 layers, width 16, 64x64 crops of the bundled photos, free-form "
                                  "masks; valid, hole and TV losses with the paper's weights (no VGG terms)")
    # The paper: batch 6, lr 2e-4, then fine-tuning at 5e-5 with the encoder's batch norm frozen.
    task = PConvTask(PConvUNet(layers=8, width=64), lr=2e-4)
    phases = [Phase("train", 600_000), Phase("finetune", 200_000, options={"lr": 5e-5, "freeze_encoder_bn": True})]
    return Recipe(task, masks, TrainConfig(batch_size=6, log_every=100, sample_every=5000), phases=phases,
                  description="PConv U-Net (Liu et al. 2018), 512x512, free-form masks")


def deepfill_v1(preset: str, data: str | None = None) -> Recipe:
    """``python -m course_lib.train deepfill_v1``: quick = 64 px photos, cnum 12; paper = cnum 32 at 256 px."""
    from course_lib.inpainting.data import MaskedImages
    from course_lib.inpainting.deepfill_v1 import DeepFillV1Generator, DeepFillV1Task
    from course_lib.inpainting.freeform import box_mask, free_form_mask

    size = 64 if preset == "quick" else 256
    images = _photo_or_folder_images(data, size, preset)
    value_range = (0.0, 1.0) if data in (None, "photos") else (-1.0, 1.0)
    if preset == "quick":
        masked = MaskedImages(images, lambda rng: free_form_mask(size, rng, with_box=False), seed=0, value_range=value_range)
        return Recipe(DeepFillV1Task(DeepFillV1Generator(cnum=12), lr=2e-3), masked,
                      TrainConfig(steps=300, batch_size=8, log_every=50, sample_every=150),
                      description="DeepFill v1 (cnum 12), 64x64 bundled photos, free-form masks, reconstruction losses")
    # v1 trains on 128x128 boxes (shrunk by up to 16 px per side) in 256x256 images, batch 16.
    masked = MaskedImages(images, lambda rng: box_mask(size, rng), seed=0, value_range=value_range)
    return Recipe(DeepFillV1Task(DeepFillV1Generator(cnum=32)), masked,
                  TrainConfig(steps=1_000_000, batch_size=16, log_every=100, sample_every=5000),
                  description="DeepFill v1 (release: cnum 32), 256x256, 128x128 boxes, reconstruction losses")


def deepfill_v2(preset: str, data: str | None = None, guided: bool = False) -> Recipe:
    """``python -m course_lib.train deepfill_v2``: the release's *unguided* model (no sketch channel).

    quick = 64 px photos, cnum 16; paper = the release's setup (``inpaint.yml``: ``guided: False``,
    cnum 48, SN-PatchGAN 64 on image + mask, hinge, lr 1e-4, 256x256 strokes + box).
    ``guided=True`` (the recipe ``deepfill_v2_guided``, :func:`deepfill_v2_guided`) trains the paper's
    user-guided variant instead: a sketch channel in the generator and the discriminator, with edges
    of the ground truth inside the hole as the sketch (the paper's HED edges; Canny here, see
    :func:`course_lib.inpainting.deepfill_v2.edge_sketch`).
    """
    from course_lib.inpainting.data import MaskedImages
    from course_lib.inpainting.deepfill_v2 import (
        DeepFillV2Generator,
        DeepFillV2Task,
        SNPatchGAN,
        WithSketch,
    )
    from course_lib.inpainting.freeform import free_form_mask

    size = 64 if preset == "quick" else 256
    images = _photo_or_folder_images(data, size, preset)
    masked = MaskedImages(images, lambda rng: free_form_mask(size, rng, with_box=preset != "quick"), seed=0,
                          value_range=(0.0, 1.0) if data in (None, "photos") else (-1.0, 1.0))
    # D sees image + mask (+ the sketch inside the hole when guided): 4 or 5 channels.
    d_channels = 5 if guided else 4
    dataset = WithSketch(masked) if guided else masked
    variant = "user-guided (sketch)" if guided else "unguided"
    if preset == "quick":
        task = DeepFillV2Task(DeepFillV2Generator(cnum=16, guided=guided, init="open"), SNPatchGAN(d_channels, cnum=16),
                              lr=1e-3, gan_weight=0.1)
        phases = [Phase("l1 warm-up", 150, updates=("G",)), Phase("sn-patchgan", 150)]
        return Recipe(task, dataset, TrainConfig(batch_size=8, log_every=50, sample_every=150), phases=phases,
                      description=f"DeepFill v2 (cnum 16, {variant}, open gates), 64x64 bundled photos, free-form "
                                  "masks; L1 warm-up, then L1 + 0.1 x SN-PatchGAN hinge")
    task = DeepFillV2Task(DeepFillV2Generator(cnum=48, guided=guided), SNPatchGAN(d_channels, cnum=64))
    label = ("DeepFill v2, the paper's user-guided variant (sketch channel; otherwise the release's settings: "
             if guided else "DeepFill v2 (the release's unguided model: ")
    return Recipe(task, dataset, TrainConfig(steps=1_000_000, batch_size=16, log_every=100, sample_every=5000),
                  description=label + "cnum 48, SN-PatchGAN 64, hinge, lr 1e-4), 256x256, strokes + box")


def deepfill_v2_guided(preset: str, data: str | None = None) -> Recipe:
    """``python -m course_lib.train deepfill_v2_guided``: the paper's user-guided (sketch) variant of :func:`deepfill_v2`."""
    return deepfill_v2(preset, data, guided=True)
