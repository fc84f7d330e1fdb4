"""Command-line recipe of the learned matting model: ``python -m course_lib.train matting``.

Presets:

* ``quick``: the lecture's setting, 64x64 procedural composites, a few minutes on a laptop CPU;
* ``paper``: Deep Image Matting's input size (320x320 crops, Xu et al. 2017, Sec. 4.1) and its
  loss (w_l = 0.5, eps = 1e-6), with the course's small network trained from scratch (no VGG-16
  initialisation, hence a larger learning rate than the paper's 1e-5). Meant for a GPU.

``--data`` takes a folder with a foreground + alpha layout (``Train/FG`` and ``Train/GT``, as
Distinctions-646); the foregrounds are composited over the bundled photos. Without ``--data``
the procedural composites of :class:`course_lib.matting.MattingComposites` are used.
"""

from __future__ import annotations

from pathlib import Path

from course_lib.train.cli import Recipe
from course_lib.train.loop import TrainConfig

PRESETS = {
    #          size, steps, batch, lr,  encoder widths,       decoder kernel
    "quick": (64, 300, 8, 1e-3, (12, 24, 48), 3),
    "paper": (320, 100_000, 16, 1e-4, (32, 64, 128, 256), 5),
}


def matting(preset: str, data: str | None = None) -> Recipe:
    """DIM-style encoder-decoder on procedural composites (or a Distinctions-646-style folder)."""
    import torch

    from course_lib.matting.data import MattingComposites
    from course_lib.matting.folders import LAYOUTS, ForegroundFolder
    from course_lib.matting.model import MattingNet, MattingTask

    if preset not in PRESETS:
        raise SystemExit(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    size, steps, batch, lr, widths, kernel = PRESETS[preset]
    dataset: torch.utils.data.Dataset
    if data in (None, "procedural"):
        dataset = MattingComposites(length=50_000 if preset == "paper" else 2_000, size=size, seed=0,
                                    radius=(2, 6) if preset == "quick" else (5, 25), augment=True,
                                    cache=preset == "quick", plain_p=0.25)
        source = "procedural composites"
    else:
        root = Path(data)
        layout = LAYOUTS["distinctions646"]
        if not (root / layout.image).is_dir() or not (root / layout.alpha).is_dir():
            raise SystemExit(
                f"--data {data}: expected a foreground + alpha folder with {layout.image}/ and {layout.alpha}/ "
                "(the Distinctions-646 layout); see course_lib/matting/folders.py and datasets/README.md"
            )
        dataset = ForegroundFolder(root, layout, size=size)
        source = f"foregrounds of {root} over the bundled photos"
    sample = torch.utils.data.default_collate([dataset[i] for i in range(4)])
    sample = {k: v for k, v in sample.items() if isinstance(v, torch.Tensor)}
    return Recipe(
        task=MattingTask(MattingNet(widths, decoder_kernel=kernel), lr=lr),
        data=dataset,
        config=TrainConfig(steps=steps, batch_size=batch, log_every=50, sample_every=max(steps // 4, 1)),
        sample_batch=sample,
        description=f"Deep-Image-Matting-style encoder-decoder {widths}, {size}x{size} {source}",
    )
