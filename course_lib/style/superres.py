"""Single-image super-resolution x4 with pixel, perceptual and adversarial losses (SRResNet / SRGAN).

Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial
Network" (CVPR), Fig. 4:

* **generator** :class:`SRResNet`: 9x9 conv (64) + PReLU; B = 16 residual blocks (conv-BN-PReLU-
  conv-BN, + skip); conv-BN + a long skip from the first layer; two sub-pixel upsampling blocks
  (conv 3x3 to 256 channels, ``PixelShuffle(2)``, PReLU), each doubling the resolution; 9x9 conv
  to RGB. It works at the low resolution until the very end, which makes it cheap. 1,549,462
  parameters with the paper's sizes.
* **discriminator** :class:`SRDiscriminator`: eight 3x3 convs (64, 64, 128, 128, 256, 256, 512,
  512 channels, strides 1, 2, 1, 2, ...), BN after all but the first, LeakyReLU(0.2), then dense
  1024, LeakyReLU, dense 1 (a logit; the paper's sigmoid is inside the BCE loss).

Three ways to train the same generator (:class:`SRTask`, ``loss=``):

==============  =========================================================  ===========================
``"pixel"``     MSE between the output and the high-resolution image        SRResNet (best PSNR)
``"perceptual"``  MSE between VGG features of output and target, / 12.75^2  SRResNet-VGG
``"srgan"``     perceptual + 1e-3 x adversarial (non-saturating BCE)        SRGAN (most realistic)
==============  =========================================================  ===========================

Value ranges follow the paper: the low-resolution input is in [0, 1], the generator's output and
its targets in [-1, 1]; :func:`upscale` returns [0, 1] images for display and metrics. The paper
trains on 96x96 crops of 350k ImageNet images, batch 16, Adam (beta1 0.9), lr 1e-4 for 10^6
SRResNet updates, then SRGAN from the SRResNet weights: 10^5 updates at 1e-4 and 10^5 at 1e-5.

PSNR rewards the *average* of all plausible high-resolution images, which is blurry; the GAN
picks one plausible, sharp image, whose details sit a pixel off the truth and cost PSNR. The
lecture measures both sides of this trade-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from course_lib import metrics
from course_lib.data.photos import PhotoCrops
from course_lib.data.procedural import ProceduralDataset
from course_lib.losses import discriminator_loss, generator_loss
from course_lib.style.vgg import VGGFeatures
from course_lib.train.loop import Phase, TrainingTask

SR_LOSSES = ("pixel", "perceptual", "srgan")
#: SRGAN's rescaling of the VGG feature loss (their Sec. 2.2.1 and 3.2: VGG features / 12.75)
VGG_RESCALE = 12.75


# --------------------------------------------------------------------------- data
def downscale(hr: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """Bicubic downsampling with antialiasing (the paper's degradation), [0, 1] -> [0, 1]."""
    squeeze = hr.dim() == 3
    x = hr[None] if squeeze else hr
    if x.shape[-1] % factor or x.shape[-2] % factor:
        raise ValueError(f"image size {tuple(x.shape[-2:])} is not divisible by the scale factor {factor}")
    lr = nn.functional.interpolate(x, scale_factor=1 / factor, mode="bicubic", antialias=True,
                                   align_corners=False).clamp(0, 1)
    return lr[0] if squeeze else lr


def bicubic(lr: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """The classical baseline: bicubic upsampling, (N, 3, h, w) in [0, 1] -> (N, 3, 4h, 4w) in [0, 1]."""
    return nn.functional.interpolate(lr, scale_factor=factor, mode="bicubic", align_corners=False).clamp(0, 1)


class SRCrops(ProceduralDataset):
    """Pairs ``{"lr": (3, size/4, size/4), "hr": (3, size, size)}`` in [0, 1] from the bundled photos.

    High-resolution crops are :class:`~course_lib.data.PhotoCrops`; the low-resolution input is
    their bicubic downsampling. Hold out a *photo* (``photos=``), not only a seed, to test on
    images the model has never seen.
    """

    def __init__(self, size: int = 64, length: int = 1000, seed: int = 0,
                 photos: tuple[str, ...] = ("astronaut", "coffee", "rocket"), factor: int = 4,
                 scale: tuple[float, float] = (0.15, 0.4)) -> None:
        super().__init__(length, seed)
        if size % factor:
            raise ValueError(f"size {size} must be divisible by the scale factor {factor}")
        self.crops = PhotoCrops(size=size, length=length, seed=seed, photos=photos, scale=scale)
        self.size, self.factor = size, factor

    def generate(self, index: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        hr = self.crops[index]
        return {"lr": downscale(hr, self.factor), "hr": hr}


# --------------------------------------------------------------------------- networks
class _ResidualBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.PReLU(),
                                  nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SRResNet(nn.Module):
    """SRGAN's generator: (N, 3, h, w) in [0, 1] -> (N, 3, 4h, 4w) in [-1, 1] (not clamped).

    Args:
        channels: feature width (64 in the paper).
        n_blocks: residual blocks B (16 in the paper).
        factor: 2 or 4 (one sub-pixel block per factor of 2).
        bicubic_skip: add the bicubic upsampling of the input to the output, so the network only
            learns the missing detail (global residual learning, Kim et al. 2016, "VDSR"). Not in
            SRResNet; the course's quick mode uses it because it starts training *at* the bicubic
            baseline (the last conv starts at zero) and needs far fewer steps to beat it.
    """

    def __init__(self, channels: int = 64, n_blocks: int = 16, factor: int = 4, bicubic_skip: bool = False) -> None:
        super().__init__()
        if factor not in (2, 4):
            raise ValueError(f"factor must be 2 or 4, got {factor}")
        c = channels
        self.head = nn.Sequential(nn.Conv2d(3, c, 9, padding=4), nn.PReLU())
        self.blocks = nn.Sequential(*[_ResidualBlock(c) for _ in range(n_blocks)])
        self.post = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c))
        # sub-pixel convolution (Shi et al. 2016): compute 4c channels at low resolution, then
        # rearrange each group of 4 into a 2x2 block of pixels
        self.upsample = nn.Sequential(*[
            m for _ in range(factor // 2) for m in (nn.Conv2d(c, 4 * c, 3, padding=1), nn.PixelShuffle(2), nn.PReLU())
        ])
        self.tail = nn.Conv2d(c, 3, 9, padding=4)
        self.factor, self.bicubic_skip = factor, bicubic_skip
        if bicubic_skip:
            assert self.tail.bias is not None  # Conv2d's default bias=True
            nn.init.zeros_(self.tail.weight)
            nn.init.zeros_(self.tail.bias)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        if lr.dim() != 4 or lr.shape[1] != 3:
            raise ValueError(f"SRResNet expects (N, 3, h, w) low-resolution images in [0, 1], got {tuple(lr.shape)}")
        h = self.head(lr)
        h = h + self.post(self.blocks(h))  # the long skip connection
        out = self.tail(self.upsample(h))
        if self.bicubic_skip:
            out = out + bicubic(lr, self.factor) * 2 - 1
        return out


class SRDiscriminator(nn.Module):
    """SRGAN's discriminator: (N, 3, S, S) in [-1, 1] -> (N,) logits ("real" > 0).

    Args:
        size: the side S of the images it judges (96 in the paper); a multiple of 16. The dense
            layer sees the whole (S/16)^2 x 8c feature map, so S is fixed at construction.
        channels: width c of the first conv (64 in the paper).
    """

    def __init__(self, size: int = 96, channels: int = 64) -> None:
        super().__init__()
        if size % 16:
            raise ValueError(f"size {size} must be a multiple of 16 (four stride-2 convs)")
        c = channels
        widths = [c, c, 2 * c, 2 * c, 4 * c, 4 * c, 8 * c, 8 * c]
        layers: list[nn.Module] = [nn.Conv2d(3, c, 3, padding=1), nn.LeakyReLU(0.2)]
        for i in range(1, 8):
            stride = 2 if i % 2 == 1 else 1
            layers += [nn.Conv2d(widths[i - 1], widths[i], 3, stride, padding=1), nn.BatchNorm2d(widths[i]),
                       nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(8 * c * (size // 16) ** 2, 1024),
                                        nn.LeakyReLU(0.2), nn.Linear(1024, 1))
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (self.size, self.size):
            raise ValueError(f"this discriminator judges {self.size}x{self.size} images, got {tuple(x.shape[-2:])}")
        return self.classifier(self.features(x)).flatten()


@torch.no_grad()
def upscale(generator: SRResNet, lr: torch.Tensor) -> torch.Tensor:
    """Run a generator in eval mode: (N, 3, h, w) in [0, 1] -> (N, 3, 4h, 4w) in [0, 1]."""
    was = generator.training
    generator.eval()
    out = ((generator(lr) + 1) / 2).clamp(0, 1)
    generator.train(was)
    return out


# --------------------------------------------------------------------------- training
class SRTask(TrainingTask):
    """Train :class:`SRResNet` with ``loss`` in ``"pixel"``, ``"perceptual"``, ``"srgan"``.

    Args:
        generator: the network (pass a pixel-trained one to fine-tune it, as SRGAN does).
        loss: see the module docstring.
        extractor: the VGG for the perceptual loss (default: VGG-19 relu5_4, the paper's "VGG54").
        vgg_layer: the layer compared by the perceptual loss.
        discriminator: for ``"srgan"`` (default ``SRDiscriminator(size)``).
        size: high-resolution crop size (for the default discriminator).
        adversarial_weight: 1e-3 in the paper.
        vgg_rescale: the VGG features are divided by this before the MSE (12.75 in the paper, which
            brings ImageNet VGG54 features to the scale of the pixel loss; other layers or
            networks have other scales).
        lr: Adam's learning rate (1e-4 in the paper).

    Batches: ``{"lr": (N, 3, h, w), "hr": (N, 3, 4h, 4w)}`` in [0, 1]. Updates: ``"G"`` (and ``"D"``
    before it for SRGAN). Logged: ``pixel`` (MSE in [-1, 1]), ``vgg``, ``adv`` and D's loss.
    """

    sample_range = (0.0, 1.0)

    def __init__(
        self,
        generator: SRResNet | None = None,
        loss: str = "pixel",
        extractor: VGGFeatures | None = None,
        vgg_layer: str = "relu5_4",
        discriminator: SRDiscriminator | None = None,
        size: int = 96,
        adversarial_weight: float = 1e-3,
        vgg_rescale: float = VGG_RESCALE,
        lr: float = 1e-4,
    ) -> None:
        super().__init__()
        if loss not in SR_LOSSES:
            raise ValueError(f"loss must be one of {SR_LOSSES}, got {loss!r}")
        self.G = generator if generator is not None else SRResNet()
        self.loss, self.vgg_layer, self.adversarial_weight, self.lr = loss, vgg_layer, adversarial_weight, lr
        self.vgg_rescale = vgg_rescale
        if loss != "pixel":
            self.extractor = extractor if extractor is not None else VGGFeatures(layers=(vgg_layer,), input_range=(-1, 1))
            if vgg_layer not in self.extractor.layers:
                raise ValueError(f"the extractor does not return {vgg_layer!r}")
            if self.extractor.input_range != (-1.0, 1.0):
                raise ValueError("the SR extractor must take [-1, 1] images: VGGFeatures(..., input_range=(-1, 1))")
        if loss == "srgan":
            self.D = discriminator if discriminator is not None else SRDiscriminator(size)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        opts: dict[str, torch.optim.Optimizer] = {
            "G": torch.optim.Adam(self.G.parameters(), lr=self.lr, betas=(0.9, 0.999))}
        if self.loss == "srgan":
            opts = {"D": torch.optim.Adam(self.D.parameters(), lr=self.lr, betas=(0.9, 0.999)), **opts}
        self._optimizers = opts
        return opts

    def forward_step(self, batch: dict[str, torch.Tensor], phase: Phase) -> dict[str, Any]:
        # SRGAN's schedule: a phase may scale the learning rate (1e-4, then 1e-5 for the last 10^5 updates)
        if "lr_scale" in phase.options:
            for opt in getattr(self, "_optimizers", {}).values():
                for group in opt.param_groups:
                    group["lr"] = self.lr * float(phase.options["lr_scale"])
        return {"sr": self.G(batch["lr"]), "hr": batch["hr"] * 2 - 1}

    def content_loss(self, sr: torch.Tensor, hr: torch.Tensor) -> dict[str, torch.Tensor]:
        """Pixel MSE (always logged) and, for the VGG losses, the rescaled feature MSE."""
        pixel = nn.functional.mse_loss(sr, hr)
        if self.loss == "pixel":
            return {"pixel": pixel}
        f_sr = self.extractor(sr)[self.vgg_layer] / self.vgg_rescale
        with torch.no_grad():
            f_hr = self.extractor(hr)[self.vgg_layer] / self.vgg_rescale
        return {"pixel": pixel, "vgg": nn.functional.mse_loss(f_sr, f_hr)}

    def update_loss(self, name: str, batch: Any, out: dict[str, Any], phase: Phase) -> dict[str, torch.Tensor]:
        sr, hr = out["sr"], out["hr"]
        if name == "D":
            return {"loss": discriminator_loss(self.D(hr), self.D(sr.detach()), "vanilla")}
        terms = self.content_loss(sr, hr)
        loss = terms["pixel"] if self.loss == "pixel" else terms["vgg"]
        if self.loss == "srgan":
            terms["adv"] = generator_loss(self.D(sr), "vanilla")
            loss = loss + self.adversarial_weight * terms["adv"]
        return {"loss": loss, **terms}

    @torch.no_grad()
    def sample(self, batch: Any) -> torch.Tensor:
        return torch.cat([bicubic(batch["lr"]), upscale(self.G, batch["lr"]), batch["hr"]])


# --------------------------------------------------------------------------- evaluation
def high_frequency_energy(images: torch.Tensor) -> torch.Tensor:
    """Mean squared Laplacian response per image, (N,): how much fine detail (edges, texture) there is."""
    k = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], dtype=images.dtype, device=images.device)
    k = k.view(1, 1, 3, 3).expand(images.shape[1], 1, 3, 3)
    return nn.functional.conv2d(images, k, groups=images.shape[1]).pow(2).flatten(1).mean(1)


@dataclass
class SRScores:
    """Mean scores of one method on held-out pairs (images in [0, 1])."""

    psnr: float
    ssim: float
    detail: float  # high-frequency energy relative to the ground truth (1 = as sharp as the truth)
    swd: float  # sliced Wasserstein distance of 7x7 patches to the ground truth's (lower = more realistic)


def evaluate(outputs: dict[str, torch.Tensor], hr: torch.Tensor) -> dict[str, SRScores]:
    """PSNR, SSIM, relative detail and patch-distribution distance of each method's (N, 3, H, W) output."""
    true_detail = float(high_frequency_energy(hr).mean())
    scores = {}
    for name, out in outputs.items():
        if out.shape != hr.shape:
            raise ValueError(f"{name}: output {tuple(out.shape)} does not match the targets {tuple(hr.shape)}")
        scores[name] = SRScores(
            psnr=float(metrics.psnr(out, hr, (0, 1)).mean()),
            ssim=float(metrics.ssim(out, hr, (0, 1)).mean()),
            detail=float(high_frequency_energy(out).mean()) / true_detail,
            swd=metrics.sliced_wasserstein(out, hr, patch=7),
        )
    return scores


def format_scores(scores: dict[str, SRScores], names: Sequence[str] | None = None) -> str:
    """A fixed-width table of :func:`evaluate`'s scores."""
    names = list(names) if names is not None else list(scores)
    width = max(len(n) for n in names) + 2
    lines = [f"{'method':<{width}}{'PSNR (dB)':>10}{'SSIM':>8}{'detail':>9}{'patch SWD':>11}"]
    for n in names:
        s = scores[n]
        lines.append(f"{n:<{width}}{s.psnr:>10.2f}{s.ssim:>8.3f}{s.detail:>9.2f}{s.swd:>11.4f}")
    return "\n".join(lines)
