"""Shipped checkpoints of lecture 03: see :mod:`course_lib.pretrained.specs` for what a spec holds.

* ``fast_style``: Johnson et al. (2016)'s transformer network for the procedural ``swirls``
  painting, at the lecture's quick width, trained far past the notebook's 100 steps.

It is scored on the held-out cat photo (``chelsea``, never a training photo) with the seeded
random VGG that the lecture uses offline, so the lecture, the tests and the manifest measure the
same thing.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from course_lib.pretrained.specs import Spec

#: the lecture's training photos; chelsea (the cat) is held out for scoring
TRAIN_PHOTOS = ("astronaut", "coffee", "rocket")
HELD_OUT_PHOTO, HELD_OUT_SIZE = "chelsea", 96


def held_out_photo() -> torch.Tensor:
    """(1, 3, 96, 96) in [0, 1]: the lecture's held-out test photo."""
    from course_lib.data import load_photo

    return load_photo(HELD_OUT_PHOTO, HELD_OUT_SIZE)[None]


def layout_correlation(image: torch.Tensor, photo: torch.Tensor) -> float:
    """How much of ``photo``'s layout ``image`` keeps: the correlation of their edge maps, in [-1, 1].

    Both (1, 3, H, W) in [0, 1]. Each is turned into luminance, smoothed by a 3x3 box (so that a
    style's fine texture is not counted as an edge), and its Sobel gradient magnitude computed;
    the result is the Pearson correlation of the two magnitude maps. 1: the same edges in the same
    places; about 0: unrelated images (a style painting against the photo).
    """
    import torch.nn.functional as F

    def edges(x: torch.Tensor) -> torch.Tensor:
        lum = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])[:, None].float()
        lum = F.avg_pool2d(F.pad(lum, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
        kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=x.device)
        k = torch.stack([kx, kx.T])[:, None]
        g = F.conv2d(F.pad(lum, (1, 1, 1, 1), mode="replicate"), k)
        return g.pow(2).sum(1).sqrt().flatten()

    if image.shape != photo.shape or image.dim() != 4 or image.shape[:2] != (1, 3):
        raise ValueError(f"layout_correlation expects two (1, 3, H, W) images of the same size, "
                         f"got {tuple(image.shape)} and {tuple(photo.shape)}")
    a, b = edges(image), edges(photo)
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm() + 1e-12))


# --------------------------------------------------------------------------- fast style (Johnson et al.)
FAST_STYLE = "swirls"
FAST_WIDTH, FAST_BLOCKS = 16, 3          # the lecture's quick network
FAST_CROP, FAST_BATCH, FAST_SEED = 48, 4, 0
FAST_STEPS = 1500
FAST_LR = 2e-3
#: style weight (content weight 1), the lecture's quick value
FAST_STYLE_WEIGHT = 3e4
FAST_TV_WEIGHT = 0.0
FAST_LAYERS = dict(content_layers=("relu2_1",), style_layers=("relu1_1", "relu2_1", "relu3_1"))


def _fast_model() -> nn.Module:
    from course_lib.style.transformer_net import TransformerNet

    # one style = CIN with one (gamma, beta): the same network the lecture trains and extends
    return TransformerNet(channels=FAST_WIDTH, n_residual=FAST_BLOCKS, n_styles=1)


def fast_style_task(net: nn.Module | None = None, style_weight: float = FAST_STYLE_WEIGHT, lr: float = FAST_LR):
    """The lecture's :class:`~course_lib.style.fast.FastStyleTask` for ``swirls`` (also used to score)."""
    from course_lib.style.fast import FastStyleTask
    from course_lib.style.images import style_image
    from course_lib.style.vgg import VGGFeatures

    loss_net = VGGFeatures(layers=("relu1_1", "relu2_1", "relu3_1"))
    return FastStyleTask(style_image(FAST_STYLE, 128)[None], net if net is not None else _fast_model(), loss_net,
                         **FAST_LAYERS, style_weight=style_weight, tv_weight=FAST_TV_WEIGHT, lr=lr)


def _fast_train(steps: int | None) -> tuple[nn.Module, dict[str, Any]]:
    from course_lib.config import seed_everything
    from course_lib.style.fast import StyledContent
    from course_lib.train import TrainConfig, Trainer

    steps = steps or FAST_STEPS
    seed_everything(FAST_SEED)
    task = fast_style_task()
    crops = StyledContent(size=FAST_CROP, length=200_000, photos=TRAIN_PHOTOS)
    config = TrainConfig(steps=steps, batch_size=FAST_BATCH, seed=FAST_SEED, log_every=100, progress=False,
                         precision="fp32")
    Trainer(task, crops, config).fit()
    settings = {"data": f"crops of the bundled photos {', '.join(TRAIN_PHOTOS)}; style: procedural '{FAST_STYLE}'",
                "resolution": FAST_CROP, "steps": steps, "batch_size": FAST_BATCH, "seed": FAST_SEED, "lr": FAST_LR,
                "style_weight": FAST_STYLE_WEIGHT, "width": FAST_WIDTH, "residual_blocks": FAST_BLOCKS}
    return task.net, settings


@torch.no_grad()
def fast_style_scores(net: nn.Module, photo: torch.Tensor | None = None) -> dict[str, float]:
    """Style loss, content loss and layout correlation of ``net``'s output on the held-out photo.

    Baselines: the photo itself (the "do nothing" network: layout 1, its own style loss) and the
    style image (style loss near 0, layout about 0).
    """
    from course_lib.style.images import style_image

    photo = held_out_photo() if photo is None else photo
    task = fast_style_task(net).to(photo.device).eval()
    out = net.eval()(photo, 0)
    style_view = style_image(FAST_STYLE, photo.shape[-1])[None].to(photo.device)
    zero = torch.zeros(1, dtype=torch.long, device=photo.device)

    def terms(x: torch.Tensor) -> dict[str, torch.Tensor]:
        return task.losses(photo, x, zero)

    t_out, t_photo, t_style = terms(out), terms(photo), terms(style_view)
    return {
        "style_loss": float(t_out["style"]), "style_loss_photo": float(t_photo["style"]),
        "style_loss_style_image": float(t_style["style"]),
        "content_loss": float(t_out["content"]), "content_loss_style_image": float(t_style["content"]),
        "layout_corr": layout_correlation(out, photo), "layout_corr_style_image": layout_correlation(style_view, photo),
    }


def _fast_score(net: nn.Module) -> dict[str, float]:
    return {k: float(f"{v:.4g}") for k, v in fast_style_scores(net).items()}


SPECS: dict[str, Spec] = {
    "fast_style": Spec(
        lecture="03", description="lecture 03's Johnson et al. transformer network (width 16, 3 residual blocks) "
                                  "for the procedural 'swirls' style",
        make_model=_fast_model, train=_fast_train, score=_fast_score, budget_min=12,
    ),
}
