"""Command-line recipes for the inpainting models: ``python -m course_lib.train context_encoder|global_local``.

``--preset quick`` trains a small model on the bundled photos and textures in minutes on a CPU;
``--preset paper`` uses the papers' sizes and schedules and needs ``--data FOLDER`` (photographs,
e.g. Places2 or Paris StreetView) and a GPU.
"""

from __future__ import annotations

from course_lib.train.cli import Recipe
from course_lib.train.loop import TrainConfig


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
