"""Shipped checkpoints of lectures 04-07: see :mod:`course_lib.pretrained.specs` for what a spec holds.

pix2pix generators are evaluated the paper's way (Isola et al. 2017, Sec. 3.3): dropout on and
batch norm with the statistics of the test batch. :func:`course_lib.pretrained.load` returns the
bare :class:`UnetGenerator` in eval mode; run it through
:func:`course_lib.translation.pix2pix.translate` (whose defaults are that protocol, batch size 1),
as the lecture and :func:`_pix2pix_score` do. Calling ``G(x)`` directly on the eval-mode model
uses the running averages and no dropout instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

import torch
from torch import nn

from course_lib.pretrained.specs import Spec

if TYPE_CHECKING:
    from course_lib.translation.pix2pix import UnetGenerator
    from course_lib.translation.pix2pixhd import LocalEnhancer

# --------------------------------------------------------------------------- lecture 04: pix2pix
#: lecture 04's quick configuration (64x64 facades, U-Net with 6 levels, ngf 16, batch 4), trained
#: about 3x longer than the notebook's 300 steps
P2P_SIZE, P2P_DOWNS, P2P_NGF, P2P_BATCH, P2P_STEPS, P2P_SEED = 64, 6, 16, 4, 1000, 0


def _pix2pix_model() -> UnetGenerator:
    from course_lib.translation.pix2pix import UnetGenerator

    return UnetGenerator(3, 3, num_downs=P2P_DOWNS, ngf=P2P_NGF)


def facades_train_set() -> Any:
    """Lecture 04's training pairs: 400 procedural facades (seed 0), 64x64, mirrored at random."""
    from course_lib.data.paired import InMemory, ProceduralFacades

    return InMemory(ProceduralFacades(length=400, size=P2P_SIZE, seed=0), mirror=True)


def facades_held_out() -> tuple[torch.Tensor, torch.Tensor]:
    """Held-out layouts (seed 1): labels and photos, each (64, 3, 64, 64) in [-1, 1]."""
    from course_lib.data.paired import InMemory, ProceduralFacades

    t = InMemory(ProceduralFacades(length=64, size=P2P_SIZE, seed=1)).tensors
    return t["input"], t["target"]


def _pix2pix_trainer(gan: bool) -> Any:
    def train(steps: int | None) -> tuple[nn.Module, dict[str, Any]]:
        from course_lib.config import seed_everything
        from course_lib.train import TrainConfig, Trainer
        from course_lib.translation.pix2pix import Pix2PixTask

        steps = steps or P2P_STEPS
        seed_everything(P2P_SEED)
        task = Pix2PixTask(G=_pix2pix_model(), ndf=P2P_NGF, gan_mode="vanilla" if gan else None)
        config = TrainConfig(steps=steps, batch_size=P2P_BATCH, seed=P2P_SEED, lr_decay_start=steps // 2,
                             log_every=100, progress=False, precision="fp32")
        Trainer(task, facades_train_set(), config).fit()
        settings = {"data": "procedural facades (ProceduralFacades, 400 layouts, seed 0, mirrored)",
                    "resolution": P2P_SIZE, "steps": steps, "batch_size": P2P_BATCH, "seed": P2P_SEED,
                    "lr": 2e-4, "loss": "cGAN + 100 L1" if gan else "L1 only",
                    "generator": f"U-Net, {P2P_DOWNS} levels, ngf {P2P_NGF}",
                    "evaluation": "translate(G, x): dropout on, batch statistics, batch size 1"}
        return task.G, settings

    return train


def pix2pix_scores(pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """L1 to the targets, patch SWD to the real photos (lower = more real) and chroma of (N, 3, H, W) in [-1, 1]."""
    from course_lib import metrics
    from course_lib.translation.pix2pix import colourfulness

    return {"l1": round(float(metrics.l1(pred, target).mean()), 4),
            "patch_swd": round(metrics.sliced_wasserstein(pred, target), 4),
            "chroma": round(colourfulness(pred), 4)}


def _pix2pix_score(G: nn.Module) -> dict[str, float]:
    """The model's and the mean-facade baseline's scores on 64 held-out layouts, plus real photos'."""
    from course_lib.data.paired import InMemory, ProceduralFacades
    from course_lib.translation.pix2pix import translate

    x, y = facades_held_out()
    torch.manual_seed(0)  # dropout is on at test time: fix its draws
    with torch.no_grad():
        pred = translate(G, x)
    mean_facade = facades_train_set().tensors["target"].mean(0, keepdim=True).expand_as(y)
    other = InMemory(ProceduralFacades(length=64, size=P2P_SIZE, seed=2)).tensors["target"]
    out = pix2pix_scores(pred, y)
    out.update({f"{k}_mean_facade": v for k, v in pix2pix_scores(mean_facade, y).items()})
    out.update({f"{k}_real_photos": v for k, v in pix2pix_scores(other, y).items()})
    return out


SPECS: dict[str, Spec[Any]] = {
    "pix2pix": Spec(
        lecture="04", description="lecture 04's pix2pix U-Net (cGAN + L1, labels -> facade, 64x64)",
        make_model=_pix2pix_model, train=_pix2pix_trainer(gan=True), score=_pix2pix_score, budget_min=12,
    ),
    "pix2pix_l1": Spec(
        lecture="04", description="lecture 04's U-Net trained with L1 only (labels -> facade, 64x64)",
        make_model=_pix2pix_model, train=_pix2pix_trainer(gan=False), score=_pix2pix_score, budget_min=8,
    ),
}


# --------------------------------------------------------------------------- lecture 05: pix2pixHD
#: lecture 05's resolution (64x64 street scenes); G1 + G2 twice as wide as the quick run's, two
#: discriminator scales, trained in the paper's three stages about 5x longer than the notebook
HD_SIZE, HD_BATCH, HD_SEED = 64, 4, 0


class HDNet(TypedDict):
    """The widths and depths of :data:`HD_NET` (keyword arguments of ``Pix2PixHDTask``)."""

    ngf: int
    n_downsample_global: int
    n_blocks_global: int
    n_blocks_local: int
    ndf: int
    n_layers: int
    num_D: int


HD_NET: HDNet = {"ngf": 16, "n_downsample_global": 2, "n_blocks_global": 3, "n_blocks_local": 1, "ndf": 16,
                 "n_layers": 2, "num_D": 2}
HD_STAGES = (400, 150, 650)


def _street_label_nc() -> int:
    from course_lib.data.paired import StreetScenes

    return StreetScenes.label_nc


def _hd_generator(use_instance: bool) -> LocalEnhancer:
    from course_lib.translation.pix2pixhd import LocalEnhancer

    # the generator's part of HD_NET
    return LocalEnhancer(_street_label_nc() + int(use_instance), 3, ngf=HD_NET["ngf"],
                         n_downsample_global=HD_NET["n_downsample_global"],
                         n_blocks_global=HD_NET["n_blocks_global"], n_blocks_local=HD_NET["n_blocks_local"])


def hd_translate(G: nn.Module, labels: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
    """A shipped pix2pixHD generator's photos (N, 3, H, W) in [-1, 1] for label and instance maps (N, H, W).

    The generator's input width says whether it was trained with the boundary map (one extra channel).
    """
    from course_lib.translation.pix2pixhd import encode_input

    label_nc = _street_label_nc()
    with_edges = G.in_channels == label_nc + 1
    with torch.no_grad():
        return G(encode_input(labels, instances if with_edges else None, label_nc))


def street_held_out() -> dict[str, torch.Tensor]:
    """48 held-out street scenes (seed 1): labels, instances (N, 64, 64) and target photos (N, 3, 64, 64)."""
    from course_lib.data.paired import InMemory, StreetScenes

    return InMemory(StreetScenes(length=48, size=HD_SIZE, seed=1)).tensors


def street_train_set() -> Any:
    """Lecture 05's training scenes: 400 street scenes (seed 0), 64x64, mirrored at random."""
    from course_lib.data.paired import InMemory, StreetScenes

    return InMemory(StreetScenes(length=400, size=HD_SIZE, seed=0), mirror=True)


def _hd_trainer(use_instance: bool) -> Any:
    def train(steps: int | None) -> tuple[nn.Module, dict[str, Any]]:
        from course_lib.config import seed_everything
        from course_lib.train import TrainConfig, Trainer
        from course_lib.translation.pix2pixhd import Pix2PixHDTask, pix2pixhd_phases

        stages = HD_STAGES if steps is None else (steps // 3, steps // 3, steps - 2 * (steps // 3))
        seed_everything(HD_SEED)
        task = Pix2PixHDTask(_street_label_nc(), use_instance=use_instance, vgg=False, **HD_NET)
        total = sum(stages)
        config = TrainConfig(batch_size=HD_BATCH, seed=HD_SEED, lr_decay_start=total - stages[2] // 2,
                             log_every=100, progress=False, precision="fp32")
        Trainer(task, street_train_set(), config, phases=pix2pixhd_phases(*stages)).fit()
        settings = {"data": "procedural street scenes (StreetScenes, 400 scenes, seed 0, mirrored)",
                    "resolution": HD_SIZE, "steps": total, "stages": list(stages), "batch_size": HD_BATCH,
                    "seed": HD_SEED, "lr": 2e-4, "loss": "LSGAN + 10 feature matching (no VGG)",
                    "boundary_map": use_instance, "net": HD_NET}
        return task.G, settings

    return train


def seam_mask(labels: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
    """Pixels on boundaries between touching objects of one class, (N, 3, H, W) bool (expanded over RGB)."""
    from course_lib.translation.pix2pixhd import same_class_boundaries

    return same_class_boundaries(labels, instances).expand(-1, 3, -1, -1)


def hd_scores(pred: torch.Tensor, data: dict[str, torch.Tensor]) -> dict[str, float]:
    """L1, L1 on the same-class seams and patch SWD to the real photos, for (N, 3, H, W) in [-1, 1]."""
    from course_lib import metrics

    target = data["target"]
    seam = seam_mask(data["labels"], data["instances"])
    return {"l1": round(float(metrics.l1(pred, target).mean()), 4),
            "seam_l1": round(float((pred - target).abs()[seam].mean()), 4),
            "patch_swd": round(metrics.sliced_wasserstein(pred, target), 4)}


def _hd_score(G: nn.Module) -> dict[str, float]:
    """The model's and the mean-photo baseline's scores on 48 held-out scenes."""
    data = street_held_out()
    pred = hd_translate(G, data["labels"], data["instances"])
    mean_photo = street_train_set().tensors["target"].mean(0, keepdim=True).expand_as(data["target"])
    out = hd_scores(pred, data)
    out.update({f"{k}_mean_photo": v for k, v in hd_scores(mean_photo, data).items()})
    return out


SPECS.update({
    "pix2pixhd": Spec(
        lecture="05", description="lecture 05's pix2pixHD G1 + G2 with the instance boundary map (street scenes, 64x64)",
        make_model=lambda: _hd_generator(True), train=_hd_trainer(True), score=_hd_score, budget_min=12, fp16=True,
    ),
    "pix2pixhd_noboundary": Spec(
        lecture="05", description="lecture 05's pix2pixHD G1 + G2 without the boundary map (street scenes, 64x64)",
        make_model=lambda: _hd_generator(False), train=_hd_trainer(False), score=_hd_score, budget_min=12,
    ),
})
