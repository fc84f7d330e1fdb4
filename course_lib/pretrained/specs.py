"""What each shipped checkpoint is: the model, how to train it from scratch, how to score it.

A :class:`Spec` names the lecture it serves, builds the bare network (what :func:`load`
returns), trains it deterministically (:meth:`Spec.train`) and scores it on held-out data
against the trivial baseline (:meth:`Spec.score`), so the manifest records a number that the
lecture and the tests can check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import torch
from torch import nn

if TYPE_CHECKING:
    from course_lib.tiny_gan import TinyGenerator

#: the network class of a spec (its three functions agree on it)
M = TypeVar("M", bound=nn.Module)


@dataclass(frozen=True)
class Spec(Generic[M]):
    lecture: str
    description: str
    make_model: Callable[[], M]
    #: (steps or None) -> (trained model, settings for the manifest)
    train: Callable[[int | None], tuple[M, dict[str, Any]]]
    #: model -> {metric name: value} on held-out data, with the baseline's value beside it
    score: Callable[[M], dict[str, float]]
    budget_min: int
    fp16: bool = True


# --------------------------------------------------------------------------- lecture 00: tiny GAN
TINYGAN_STEPS, TINYGAN_BATCH, TINYGAN_SEED = 3000, 64, 0


def _tinygan_model() -> TinyGenerator:
    from course_lib.tiny_gan import TinyGenerator

    return TinyGenerator()


def _tinygan_train(steps: int | None) -> tuple[TinyGenerator, dict[str, Any]]:
    from course_lib.config import seed_everything
    from course_lib.data import Blobs
    from course_lib.tiny_gan import TinyGANTask
    from course_lib.train import TrainConfig, Trainer

    steps = steps or TINYGAN_STEPS
    seed_everything(TINYGAN_SEED)
    task = TinyGANTask(lr=2e-4)  # DCGAN's learning rate (Radford et al. 2016, Sec. 4)
    config = TrainConfig(steps=steps, batch_size=TINYGAN_BATCH, seed=TINYGAN_SEED, log_every=100,
                         progress=False, precision="fp32")
    Trainer(task, Blobs(length=200_000, size=16, seed=0), config).fit()
    settings = {"data": "procedural blobs (Blobs, seed 0)", "resolution": 16, "steps": steps,
                "batch_size": TINYGAN_BATCH, "seed": TINYGAN_SEED, "lr": 2e-4}
    return task.G, settings


def _tinygan_score(G: TinyGenerator) -> dict[str, float]:
    """Patch sliced-Wasserstein distance to 512 held-out blobs (lower is better)."""
    from course_lib import metrics
    from course_lib.data import Blobs

    held_out = torch.stack([Blobs(length=512, size=16, seed=1)[i] for i in range(512)])
    other_real = torch.stack([Blobs(length=512, size=16, seed=2)[i] for i in range(512)])
    g = torch.Generator().manual_seed(0)
    z = torch.randn(512, G.z_dim, generator=g)
    untrained = _tinygan_model().eval()
    with torch.no_grad():
        fake, baseline = G(z), untrained(z)
    return {
        "patch_swd": round(metrics.sliced_wasserstein(fake, held_out), 4),
        "patch_swd_untrained_G": round(metrics.sliced_wasserstein(baseline, held_out), 4),
        "patch_swd_real_vs_real": round(metrics.sliced_wasserstein(other_real, held_out), 4),
    }


SPECS: dict[str, Spec[Any]] = {
    "tinygan": Spec(
        lecture="00", description="lecture 00's DCGAN generator (z 32 -> 16x16 RGB) on procedural blobs",
        make_model=_tinygan_model, train=_tinygan_train, score=_tinygan_score, budget_min=2,
    ),
}

#: one module per topic adds its checkpoints' specs (a module-level ``SPECS`` dict each)
TOPIC_MODULES = (
    "course_lib.pretrained.style_specs",        # lecture 03
    "course_lib.pretrained.translation_specs",  # lectures 04-05
    "course_lib.pretrained.unpaired_specs",     # lectures 06-07
    "course_lib.pretrained.inpainting_specs",   # lectures 08-12
    "course_lib.pretrained.matting_specs",      # lecture 11
)


def _collect() -> None:
    import importlib

    for module in TOPIC_MODULES:
        for name, spec in importlib.import_module(module).SPECS.items():
            if name in SPECS:
                raise ValueError(f"pretrained model {name!r} is defined twice ({module})")
            SPECS[name] = spec


_collect()
