"""DeepFill v1: a coarse network and a refinement network with contextual attention.

Yu, Lin, Yang, Shen, Lu, Huang, "Generative Image Inpainting with Contextual Attention", CVPR 2018,
Sec. 3-4, and the official release (JiahuiYu/generative_inpainting v1.0.0, ``inpaint_model.py``
``build_inpaint_net``; ``inpaint_ops.py`` ``gen_conv``, ``gen_deconv``; ``inpaint.yml``).

Both stages are plain convolutions with ELU activations (``gen_conv``); upsampling is nearest
neighbour + 3x3 conv (``gen_deconv``); outputs are clipped to [-1, 1]. With the release's base width
``cnum = 32``:

* **coarse** (stage 1): input image with the hole zeroed + a channel of ones + the mask (5
  channels); 5x5 conv to 32, two stride-2 convs (64, 128), dilated convs 2-4-8-16 at 1/4
  resolution, back up to a 3-channel image;
* **refine** (stage 2): the coarse result pasted into the hole (+ ones + mask, 5 channels) goes
  through two parallel encoders: a dilated branch that *hallucinates*, and a branch whose features
  (after a ReLU) go through :func:`contextual_attention` at 1/4 resolution, so that the hole can
  *copy* features from the known region; the two are concatenated and decoded.

The training loss of the course is the release's reconstruction part: a *spatially discounted* L1
on the hole (weight ``gamma ** l`` for a pixel ``l`` pixels from the nearest known pixel, Sec. 3.1)
plus an L1 on the known region, each for both stages (the coarse
stage weighted by 1.2 as in ``inpaint.yml``: ``COARSE_L1_ALPHA``, ``L1_LOSS_ALPHA``,
``AE_LOSS_ALPHA`` = 1.2). The release adds WGAN-GP critics on the whole image and on the
rectangle around the hole (weight 0.001); they need rectangular holes and are not part of the
course's v1 (DeepFill v2 below replaces them with SN-PatchGAN, which works for any mask).

**gamma.** The paper (Sec. 3.1) sets the discount to 0.99; the release's ``inpaint.yml`` sets
``SPATIAL_DISCOUNTING_GAMMA`` to 0.9, which weights the inside of a hole far less (0.9 ** 32 = 0.03
against 0.99 ** 32 = 0.72). :class:`DeepFillV1Task` follows the release, so it defaults to
:data:`RELEASE_GAMMA`; :func:`spatial_discount` alone, the paper's formula, defaults to
:data:`PAPER_GAMMA`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.inpainting.contextual_attention import ContextualAttention
from course_lib.inpainting.masks import validate_mask
from course_lib.train.loop import Phase, TrainingTask


def tf_init(module: nn.Module) -> nn.Module:
    """Initialise as the release's TensorFlow layers do: Glorot-uniform kernels, zero biases.

    (PyTorch's default initialisation has a third of the variance; through 17 gated layers, each
    halving the signal at initialisation, the release's choice matters for how fast training starts.)
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


def gen_conv(c_in: int, c_out: int, k: int = 3, stride: int = 1, rate: int = 1,
             activation: nn.Module | None = None) -> nn.Sequential:
    """The release's ``gen_conv``: a 'SAME' convolution followed by ELU (or ``activation``)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, padding=rate * (k - 1) // 2, dilation=rate),
                         nn.ELU() if activation is None else activation)


class UpConv(nn.Module):
    """The release's ``gen_deconv``: nearest-neighbour upsampling by 2, then ``gen_conv`` 3x3."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = gen_conv(c_in, c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class DeepFillV1Generator(nn.Module):
    """The DeepFill v1 network (``build_inpaint_net`` of the v1 release).

    ``forward(image, hole)``: ``image`` (N, 3, H, W) in [-1, 1], ``hole`` (N, 1, H, W) with
    1 = hole; ``H, W`` divisible by 8. Returns ``(stage1, stage2, offsets)``: both stages' outputs
    (N, 3, H, W) clipped to [-1, 1] and the attention's displacement field (N, 2, H/8, W/8).
    """

    def __init__(self, cnum: int = 32) -> None:
        super().__init__()
        if cnum % 2:
            raise ValueError(f"cnum must be even, got {cnum}")
        self.cnum = cnum
        c = cnum
        self.coarse = nn.Sequential(
            gen_conv(5, c, 5), gen_conv(c, 2 * c, 3, 2), gen_conv(2 * c, 2 * c), gen_conv(2 * c, 4 * c, 3, 2),
            gen_conv(4 * c, 4 * c), gen_conv(4 * c, 4 * c),
            *[gen_conv(4 * c, 4 * c, rate=r) for r in (2, 4, 8, 16)],
            gen_conv(4 * c, 4 * c), gen_conv(4 * c, 4 * c),
            UpConv(4 * c, 2 * c), gen_conv(2 * c, 2 * c), UpConv(2 * c, c), gen_conv(c, c // 2),
            nn.Conv2d(c // 2, 3, 3, padding=1),
        )
        self.hallucination = nn.Sequential(
            gen_conv(5, c, 5), gen_conv(c, c, 3, 2), gen_conv(c, 2 * c), gen_conv(2 * c, 2 * c, 3, 2),
            gen_conv(2 * c, 4 * c), gen_conv(4 * c, 4 * c),
            *[gen_conv(4 * c, 4 * c, rate=r) for r in (2, 4, 8, 16)],
        )
        self.attention_encoder = nn.Sequential(
            gen_conv(5, c, 5), gen_conv(c, c, 3, 2), gen_conv(c, 2 * c), gen_conv(2 * c, 4 * c, 3, 2),
            gen_conv(4 * c, 4 * c), gen_conv(4 * c, 4 * c, activation=nn.ReLU()),
        )
        self.attention = ContextualAttention(ksize=3, rate=2)
        self.attention_decoder = nn.Sequential(gen_conv(4 * c, 4 * c), gen_conv(4 * c, 4 * c))
        self.decoder = nn.Sequential(
            gen_conv(8 * c, 4 * c), gen_conv(4 * c, 4 * c), UpConv(4 * c, 2 * c), gen_conv(2 * c, 2 * c),
            UpConv(2 * c, c), gen_conv(c, c // 2), nn.Conv2d(c // 2, 3, 3, padding=1),
        )
        tf_init(self)  # Glorot-uniform kernels and zero biases, as the release's TensorFlow layers

    def forward(self, image: torch.Tensor, hole: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        validate_mask(hole, image, allow_empty=True, allow_full=True)
        if image.dim() != 4 or image.shape[1] != 3 or hole.dim() != 4:
            raise ValueError(f"expected image (N, 3, H, W) and hole (N, 1, H, W), got {tuple(image.shape)}, {tuple(hole.shape)}")
        if image.shape[-1] % 8 or image.shape[-2] % 8:
            raise ValueError(f"image size {tuple(image.shape[-2:])} must be divisible by 8")
        incomplete = image * (1 - hole)
        ones = torch.ones_like(hole)
        stage1 = self.coarse(torch.cat([incomplete, ones, hole], 1)).clamp(-1, 1)
        x = stage1 * hole + incomplete * (1 - hole)
        x = torch.cat([x, ones, hole], 1)
        hole_small = F.interpolate(hole, size=(image.shape[-2] // 4, image.shape[-1] // 4), mode="nearest")
        attended, offsets = self.attention(self.attention_encoder(x), hole_small)
        merged = torch.cat([self.hallucination(x), self.attention_decoder(attended)], 1)
        stage2 = self.decoder(merged).clamp(-1, 1)
        return stage1, stage2, offsets


def distance_to_known(hole: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) -> distance (chessboard, in pixels) of every hole pixel to the nearest known pixel; 0 outside.

    Computed by growing the known region one pixel (a 3x3 dilation) at a time.
    """
    known = 1 - hole
    distance = torch.zeros_like(hole)
    reached = known.clone()
    step = 0
    while bool((reached < 1).any()) and step < max(hole.shape[-2:]):
        step += 1
        grown = F.max_pool2d(reached, 3, stride=1, padding=1)
        distance = distance + (grown - reached) * step
        reached = grown
    return distance


#: the spatial discount of the paper (Yu et al. 2018, Sec. 3.1) and of the release's inpaint.yml
PAPER_GAMMA = 0.99
RELEASE_GAMMA = 0.9


def spatial_discount(hole: torch.Tensor, gamma: float = PAPER_GAMMA) -> torch.Tensor:
    """The spatially discounted weights of Yu et al. 2018 (Sec. 3.1): ``gamma ** l`` in the hole, 0 outside.

    Pixels near the border of the hole are constrained by their neighbours and get weights near 1;
    deep inside, many completions are plausible and the L1 loss towards one of them is discounted.
    """
    return (gamma ** distance_to_known(hole)) * hole


class DeepFillV1Task(TrainingTask):
    """Trains :class:`DeepFillV1Generator` with the release's reconstruction losses (update ``"G"``).

    ``loss = 1.2 * (1.2 * L1_disc(stage1) + L1_disc(stage2)) + 1.2 * (1.2 * L1_known(stage1) + L1_known(stage2))``
    where ``L1_disc`` is the spatially discounted L1 over the hole (mean over the hole's pixels)
    and ``L1_known`` the L1 over the known pixels (mean over them), as the release's ``l1_loss``
    and ``ae_loss`` with ``COARSE_L1_ALPHA = L1_LOSS_ALPHA = AE_LOSS_ALPHA = 1.2``. The discount
    ``gamma`` is the release's too, 0.9 (the paper's 0.99 is ``gamma=PAPER_GAMMA``).
    """

    def __init__(self, generator: DeepFillV1Generator | None = None, lr: float = 1e-4,
                 betas: tuple[float, float] = (0.5, 0.9), alpha: float = 1.2, gamma: float = RELEASE_GAMMA) -> None:
        super().__init__()
        self.G = generator or DeepFillV1Generator()
        self.lr, self.betas, self.alpha, self.gamma = lr, betas, alpha, gamma

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": torch.optim.Adam(self.G.parameters(), lr=self.lr, betas=self.betas)}

    def update_loss(self, name: str, batch: dict[str, torch.Tensor], out: dict[str, Any],
                    phase: Phase) -> dict[str, torch.Tensor]:
        image, hole = batch["image"], batch["mask"]
        stage1, stage2, _ = self.G(image, hole)
        weights = spatial_discount(hole, self.gamma)
        known = 1 - hole

        def l1_disc(x: torch.Tensor) -> torch.Tensor:
            return ((x - image).abs() * weights).sum() / (3 * hole.sum()).clamp_min(1)

        def l1_known(x: torch.Tensor) -> torch.Tensor:
            return ((x - image).abs() * known).sum() / (3 * known.sum()).clamp_min(1)

        hole_term = self.alpha * l1_disc(stage1) + l1_disc(stage2)
        known_term = self.alpha * l1_known(stage1) + l1_known(stage2)
        return {"loss": self.alpha * hole_term + self.alpha * known_term, "hole_l1": hole_term, "known_l1": known_term}

    @torch.no_grad()
    def complete(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        was = self.G.training
        self.G.eval()
        _, stage2, _ = self.G(batch["image"], batch["mask"])
        self.G.train(was)
        return batch["image"] * (1 - batch["mask"]) + stage2 * batch["mask"]

    @torch.no_grad()
    def sample(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([batch["image"] * (1 - batch["mask"]), self.complete(batch), batch["image"]])


__all__: Sequence[str] = ["PAPER_GAMMA", "RELEASE_GAMMA", "tf_init", "gen_conv", "UpConv", "DeepFillV1Generator", "distance_to_known", "spatial_discount",
                          "DeepFillV1Task"]
