"""Shipped checkpoints of lectures 06-07 (unpaired translation): see :mod:`course_lib.pretrained.specs`.

Both lectures train on procedural worlds whose two domains secretly share their content, so an
unpaired translation can be measured against the truth:

* ``cyclegan``: lecture 06's ResNet generators, summer <-> winter scenes (:class:`SeasonScenes`),
  scored on held-out layouts rendered in both seasons;
* ``munit``: lecture 07's MUNIT, sketches <-> textured shapes (:class:`ShapesToTextures`), scored
  on how well an output's colour follows its reference image and keeps the sketch's shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from course_lib.pretrained.specs import Spec

if TYPE_CHECKING:
    from course_lib.translation.munit import MUNITTask

# --------------------------------------------------------------------------- lecture 06: CycleGAN
#: lecture 06's quick architecture (ResNet generator, ngf 16, 6 blocks, 32x32 scenes, batch 4),
#: trained several times longer than the notebook's 200 steps, at a lower learning rate
CG_SIZE, CG_NGF, CG_BLOCKS, CG_BATCH, CG_STEPS, CG_LR, CG_SEED = 32, 16, 6, 4, 1200, 5e-4, 0


class CycleGANGenerators(nn.Module):
    """A trained CycleGAN's two generators: ``G_AB`` (summer -> winter) and ``G_BA`` (winter -> summer).

    What ``pretrained.load("cyclegan")`` returns; :meth:`translate` works like
    :meth:`course_lib.translation.cyclegan.CycleGANTask.translate`, so a lecture can use the
    shipped model wherever it uses its own task. (The discriminators are not shipped.)
    """

    def __init__(self, ngf: int = CG_NGF, n_blocks: int = CG_BLOCKS) -> None:
        super().__init__()
        from course_lib.translation.cyclegan import ResnetGenerator

        self.G_AB = ResnetGenerator(3, 3, ngf, n_blocks)
        self.G_BA = ResnetGenerator(3, 3, ngf, n_blocks)

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """(N, 3, H, W) in [-1, 1] -> (N, 3, H, W) in [-1, 1]; ``"AtoB"`` uses ``G_AB``, ``"BtoA"`` ``G_BA``."""
        if direction not in ("AtoB", "BtoA"):
            raise ValueError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}")
        return (self.G_AB if direction == "AtoB" else self.G_BA)(images)


def seasons_held_out(size: int = CG_SIZE) -> dict[str, torch.Tensor]:
    """Lecture 06's 64 held-out layouts (seed 1) in both seasons: ``{"A", "B", "flowers"}``, (64, C, size, size)."""
    from course_lib.data.unpaired import SeasonScenes

    return SeasonScenes(length=64, size=size, seed=1, paired=True).pairs()


def season_scores(translate: Any, held: dict[str, torch.Tensor]) -> dict[str, float]:
    """Summer -> winter and back against the true counterparts, beside the two trivial answers.

    ``translate(images, direction)``: a model's translation. Returns L1 and PSNR of G (summer ->
    winter), of the untranslated input, and of an unrelated real winter scene (the winter of
    another layout: what an adversarial loss alone would accept), and the L1 of F (winter -> summer).
    """
    from course_lib import metrics
    from course_lib.translation.cyclegan import heldout_scores

    a_to_b = heldout_scores(lambda x: translate(x, "AtoB"), held["A"], held["B"])
    b_to_a = heldout_scores(lambda x: translate(x, "BtoA"), held["B"], held["A"])
    unrelated = held["B"].roll(1, dims=0)
    return {"l1": round(a_to_b["model"]["l1"], 4), "psnr": round(a_to_b["model"]["psnr"], 2),
            "l1_input": round(a_to_b["input"]["l1"], 4), "psnr_input": round(a_to_b["input"]["psnr"], 2),
            "l1_unrelated_winter": round(float(metrics.l1(unrelated, held["B"]).mean()), 4),
            "psnr_unrelated_winter": round(float(metrics.psnr(unrelated, held["B"], (-1, 1)).mean()), 2),
            "l1_winter_to_summer": round(b_to_a["model"]["l1"], 4),
            "l1_winter_to_summer_input": round(b_to_a["input"]["l1"], 4)}


def _cyclegan_train(steps: int | None) -> tuple[nn.Module, dict[str, Any]]:
    from course_lib.config import seed_everything
    from course_lib.data.unpaired import SeasonScenes
    from course_lib.train import TrainConfig, Trainer
    from course_lib.translation.cyclegan import CycleGANTask

    steps = steps or CG_STEPS
    seed_everything(CG_SEED)
    task = CycleGANTask(ngf=CG_NGF, ndf=CG_NGF, n_blocks=CG_BLOCKS, lr=CG_LR)
    config = TrainConfig(steps=steps, batch_size=CG_BATCH, seed=CG_SEED, lr_decay_start=steps // 2,
                         log_every=100, progress=False, precision="fp32")
    Trainer(task, SeasonScenes(length=20_000, size=CG_SIZE, seed=0), config).fit()
    model = CycleGANGenerators()
    model.G_AB.load_state_dict(task.G_AB.state_dict())
    model.G_BA.load_state_dict(task.G_BA.state_dict())
    settings = {"data": "procedural summer/winter scenes (SeasonScenes, unpaired, seed 0)",
                "resolution": CG_SIZE, "steps": steps, "batch_size": CG_BATCH, "seed": CG_SEED, "lr": CG_LR,
                "lr_schedule": "constant, then linear decay to 0 over the second half",
                "generator": f"ResNet, ngf {CG_NGF}, {CG_BLOCKS} blocks; PatchGAN ndf {CG_NGF}",
                "loss": "LSGAN + 10 cycle + 5 identity, pool of 50"}
    return model, settings


def _cyclegan_score(model: nn.Module) -> dict[str, float]:
    """L1 and PSNR to the true winter of 64 held-out layouts, beside the two trivial answers."""
    return season_scores(model.translate, seasons_held_out())


SPECS: dict[str, Spec[Any]] = {
    "cyclegan": Spec(
        lecture="06", description="lecture 06's CycleGAN generators G_AB and G_BA (summer <-> winter scenes, 32x32)",
        make_model=CycleGANGenerators, train=_cyclegan_train, score=_cyclegan_score, budget_min=12,
    ),
}


# --------------------------------------------------------------------------- lecture 07: MUNIT
#: lecture 07's quick architecture (32x32, dim 16, one downsampling, 2 residual blocks, MLP 64,
#: two discriminator scales of 3 layers, batch 4), trained many times longer than the notebook's
#: 250 steps; the learning rate is halved halfway (the paper's step decay, compressed)
MU_SIZE, MU_BATCH, MU_STEPS, MU_LR, MU_SEED = 32, 4, 1000, 1e-3, 0
#: held-out split of the colour test: sketches 0..31 are translated with the styles of references 32..63
MU_N = 32


def _munit_model(lr_step: int | None = None) -> MUNITTask:
    from course_lib.translation import munit

    return munit.PRESETS["quick"].task(lr=MU_LR, lr_step=lr_step)


def shapes_held_out(size: int = MU_SIZE) -> dict[str, torch.Tensor]:
    """Lecture 07's 64 held-out shapes (seed 1): sketches ``"A"``, their textured truth ``"B"``, ``"mask"``."""
    from course_lib.data.unpaired import ShapesToTextures

    return ShapesToTextures(length=64, size=size, seed=1, paired=True).pairs()


def object_colour(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Mean RGB of (N, 3, H, W) images inside (N, 1, H, W) masks: (N, 3)."""
    return (images * masks).sum((2, 3)) / masks.sum((2, 3)).clamp_min(1)


def colour_following(outputs: torch.Tensor, held: dict[str, torch.Tensor], n: int = MU_N) -> dict[str, float]:
    """Does output i take the colour of *its* reference (held-out image n + i) rather than the others'?

    ``outputs``: (n, 3, H, W), the translations of sketches ``held["A"][:n]`` guided by references
    ``held["B"][n:2n]``. Compares each output's object colour (mean RGB inside the sketch's shape)
    with its own reference's object colour and with the other references'; returns both mean L1
    errors and their ratio (< 1: the colour follows the reference; about 1: it ignores it).
    """
    ref = object_colour(held["B"][n:2 * n], held["mask"][n:2 * n])
    errors = (object_colour(outputs, held["mask"][:n])[:, None] - ref[None]).abs().mean(-1)  # (n, n)
    own = float(errors.diag().mean())
    others = float((errors.sum() - errors.diag().sum()) / (n * n - n))
    return {"own": own, "others": others, "ratio": own / others}


def shape_iou(outputs: torch.Tensor, held: dict[str, torch.Tensor]) -> float:
    """Mean IoU of the outputs' silhouettes (N, 3, H, W) with the first N sketches' true shapes."""
    from course_lib.data.unpaired import foreground_mask, mask_iou

    return float(mask_iou(foreground_mask(outputs), held["mask"][:len(outputs)]).mean())


def munit_scores(task: Any, held: dict[str, torch.Tensor], n: int = MU_N) -> dict[str, float]:
    """Example-guided translation of a MUNIT model (a :class:`MUNITTask`) and the trivial answers.

    Sketch i (< n) is translated with the style code of reference n + i. Returns the colour errors
    (own reference, other references, ratio), the shape IoU of the guided outputs and the worst
    IoU over 8 random style codes; beside them the answer that ignores the reference (style code 0)
    and the answer that copies the reference (perfect colour, wrong shape).
    """
    sketches, references = held["A"][:n], held["B"][n:2 * n]
    guided = task.translate(sketches, "AtoB", style=task.style_of(references, "B"))
    neutral = task.translate(sketches, "AtoB", style=torch.zeros(n, task.style_dim))
    random = task.multimodal(held["A"], 8, "AtoB", generator=torch.Generator().manual_seed(0))
    colour, colour_zero = colour_following(guided, held, n), colour_following(neutral, held, n)
    return {"colour_own": round(colour["own"], 4), "colour_others": round(colour["others"], 4),
            "colour_ratio": round(colour["ratio"], 4), "colour_ratio_style_0": round(colour_zero["ratio"], 4),
            "iou": round(shape_iou(guided, held), 4),
            "iou_random_styles_min": round(min(shape_iou(random[:, k], held) for k in range(8)), 4),
            "iou_copy_reference": round(shape_iou(references, held), 4),
            "iou_true_textured": round(shape_iou(held["B"][:n], held), 4)}


def _munit_train(steps: int | None) -> tuple[MUNITTask, dict[str, Any]]:
    from course_lib.config import seed_everything
    from course_lib.data.unpaired import ShapesToTextures
    from course_lib.train import TrainConfig, Trainer

    steps = steps or MU_STEPS
    seed_everything(MU_SEED)
    task = _munit_model(lr_step=steps // 2)
    config = TrainConfig(steps=steps, batch_size=MU_BATCH, seed=MU_SEED, log_every=100, progress=False,
                         precision="fp32")
    Trainer(task, ShapesToTextures(length=20_000, size=MU_SIZE, seed=0), config).fit()
    settings = {"data": "procedural sketches / textured shapes (ShapesToTextures, unpaired, seed 0)",
                "resolution": MU_SIZE, "steps": steps, "batch_size": MU_BATCH, "seed": MU_SEED, "lr": MU_LR,
                "lr_schedule": "halved after half the steps",
                "net": "MUNIT quick preset: dim 16, 1 downsampling, 2 res blocks, MLP 64, D 16 x 3 layers x 2 scales",
                "loss": "LSGAN 1 + image 10 + content 1 + style 1"}
    return task, settings


def _munit_score(task: MUNITTask) -> dict[str, float]:
    """Colour following and shape keeping on 64 held-out shapes (see :func:`munit_scores`)."""
    return munit_scores(task, shapes_held_out())


SPECS["munit"] = Spec(
    lecture="07", description="lecture 07's MUNIT (both auto-encoders and discriminators; sketches <-> textured shapes, 32x32)",
    make_model=_munit_model, train=_munit_train, score=_munit_score, budget_min=12,
)
