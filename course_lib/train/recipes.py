"""Recipe of the command-line trainer for lecture 00's tiny GAN (:mod:`course_lib.tiny_gan`).

The tiny GAN belongs to no topic package (it lives at the top of ``course_lib``, beside the
trainer it demonstrates), so its recipe sits with the trainer. Every topic keeps all its recipes
in ``course_lib/<topic>/recipes.py`` (see ``RECIPES`` in :mod:`course_lib.train.cli`).
"""

from __future__ import annotations

from course_lib.train.cli import Recipe
from course_lib.train.loop import TrainConfig


def tinygan(preset: str, data: str | None = None) -> Recipe:
    """Lecture 00's 16x16 DCGAN on procedural blobs."""
    from course_lib.data import Blobs
    from course_lib.tiny_gan import TinyGANTask

    if data not in (None, "blobs"):
        raise SystemExit(f"tinygan trains on the procedural 'blobs' data only, got --data {data}")
    steps, batch = (400, 32) if preset == "quick" else (20000, 128)
    return Recipe(
        task=TinyGANTask(),
        data=Blobs(length=50_000, size=16, seed=0),
        config=TrainConfig(steps=steps, batch_size=batch, log_every=50, sample_every=max(steps // 4, 1)),
        description="DCGAN, 16x16 soft coloured disks",
    )
