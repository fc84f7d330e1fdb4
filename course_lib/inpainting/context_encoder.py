"""Context Encoder (Pathak, Krähenbühl, Donahue, Darrell & Efros, CVPR 2016).

An encoder compresses the image around a missing centre into a feature vector; a decoder paints
the centre from it. Trained with L2 alone it paints the *mean* of all plausible centres, a blur;
an adversarial loss pushes it to paint one sharp, plausible centre instead (Pathak et al. 2016, Sec. 3.2). The loss is

    L = lambda_rec * L_rec + lambda_adv * L_adv,   lambda_rec = 0.999, lambda_adv = 0.001,

with ``L_rec`` an L2 loss and ``L_adv`` the generator's GAN loss against a discriminator that
sees only the predicted region.

Faithful to the official Torch code, ``pathak22/context-encoder`` (``train.lua`` for the centre
region, ``train_random.lua`` for arbitrary holes; README: ``wtl2=0.999 nBottleneck=4000
overlapPred=4 fineSize=128``):

* **encoder** = DCGAN's discriminator: 4x4 stride-2 convolutions ``nef, nef, 2nef, 4nef, 8nef``
  (128 -> 4x4; no batch norm on the first), leaky ReLU 0.2;
* **bottleneck**: the official code uses a 4x4 convolution to ``nBottleneck`` units (4000 in the
  README's training command; ``train.lua``'s default is 100), a fully connected layer in disguise (``bottleneck="fc"``). The paper's Sec. 3.1 proposes the
  **channel-wise fully connected** layer: each of the m feature maps (n x n) is fully connected
  to itself only (m n^4 instead of m^2 n^4 weights), followed by a 1x1 convolution that mixes
  the channels (``bottleneck="channelwise"``, the course's quick default: 32x fewer weights);
* **decoder** = DCGAN's generator: 4x4 stride-2 transposed convolutions ``4ngf, 2ngf, ngf`` then
  3 channels and tanh, 4x4 -> 64x64: the **64x64 centre** of a 128x128 input;
* **overlap**: the hole given to the network is smaller than the region it predicts by
  ``overlapPred = 4`` pixels per side (a 56x56 hole inside the 64x64 centre); the L2 loss weighs
  that known 4-pixel band ``overlapL2Weight = 10`` times more than the hole, which ties the
  prediction's border to the context;
* the hole is filled with the ImageNet mean colour (117, 104, 123)/255 before encoding;
* batch norm + ReLU in the decoder; weights N(0, 0.02); conv biases are reset to zero before
  every update in ``train.lua`` (``m.bias:zero()``), so they are left out here (``bias=False``):
  the same function with fewer parameter tensors;
* Adam with beta1 = 0.5; the generator's learning rate is 10x the discriminator's (0.002 vs
  0.0002) when ``0 < wtl2 < 1``; batch 64.

``output="full"`` predicts the whole image instead of the centre (``train_random.lua``): one
more upsampling layer, L2 over the whole image with the hole weighted 1 and the known pixels 10
(``useOverlapPred``), so the network can fill holes of any shape and position.

Images are in [-1, 1]; masks use the course convention 1 = hole.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from course_lib.inpainting.common import check_image_mask, composite
from course_lib.inpainting.masks import center_mask
from course_lib.losses import discriminator_loss, generator_loss
from course_lib.nn.norm import init_weights
from course_lib.train.loop import Phase, TrainingTask

#: the fill colour of the hole in ``train.lua``: ImageNet's mean (117, 104, 123) / 255, in [-1, 1]
MEAN_FILL = (2 * 117 / 255 - 1, 2 * 104 / 255 - 1, 2 * 123 / 255 - 1)
#: ``overlapL2Weight`` in ``train.lua``: the L2 weight of the known band around the hole
OVERLAP_L2_WEIGHT = 10.0
LAMBDA_REC, LAMBDA_ADV = 0.999, 0.001


def _levels(size: int, name: str = "image_size", minimum: int = 16) -> int:
    """Number of stride-2 layers from ``size`` down to 4x4 (5 for 128, 4 for 64)."""
    if not isinstance(size, int) or size < minimum or size & (size - 1):
        raise ValueError(f"{name} must be a power of two >= {minimum} (the network halves it down to 4x4), got {size!r}")
    return int(math.log2(size)) - 2


def _encoder_widths(n_layers: int, base: int) -> list[int]:
    """Channels of the stride-2 layers, ending in 8*base: 128 -> [b, b, 2b, 4b, 8b] (``train.lua``)."""
    return [base * 2 ** max(0, i - (n_layers - 4)) for i in range(n_layers)]


def dcgan_encoder(image_size: int, width: int, in_channels: int = 3) -> nn.Sequential:
    """(N, in_channels, S, S) -> (N, 8*width, 4, 4): 4x4 stride-2 convs, BN (not first), LeakyReLU 0.2."""
    layers: list[nn.Module] = []
    c_in = in_channels
    for i, c_out in enumerate(_encoder_widths(_levels(image_size, "image size", minimum=8), width)):
        layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False))
        if i > 0:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        c_in = c_out
    return nn.Sequential(*layers)


class ChannelwiseFC(nn.Module):
    """Pathak et al. Sec. 3.1: each channel's n x n map is fully connected to itself, then a 1x1 conv.

    (N, m, n, n) -> (N, m, n, n). Weights: ``m * n^4`` (+ ``m * n^2`` biases) for the channel-wise
    part instead of ``m^2 n^4`` for a fully connected layer, plus ``m^2`` for the 1x1 convolution
    that lets information flow across channels ("a stride 1 convolution", Sec. 3.1).
    """

    def __init__(self, channels: int, size: int) -> None:
        super().__init__()
        self.channels, self.size = channels, size
        n2 = size * size
        self.weight = nn.Parameter(torch.randn(channels, n2, n2) * 0.02)
        self.bias = nn.Parameter(torch.zeros(channels, n2))
        self.mix = nn.Conv2d(channels, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1:] != (self.channels, self.size, self.size):
            raise ValueError(f"ChannelwiseFC expects (N, {self.channels}, {self.size}, {self.size}), got {tuple(x.shape)}")
        flat = x.flatten(2)  # (N, m, n*n)
        out = torch.einsum("nci,cio->nco", flat, self.weight) + self.bias
        return self.mix(out.view_as(x))


class ContextEncoder(nn.Module):
    """The generator: masked image (N, 3, S, S) in [-1, 1] -> prediction in [-1, 1].

    Args:
        image_size: S, a power of two >= 32 (128 in the paper).
        nef, ngf: encoder/decoder widths (64 in ``train.lua``).
        bottleneck: ``"fc"`` (``train.lua``: 4x4 conv to ``n_bottleneck`` units) or
            ``"channelwise"`` (the paper's channel-wise FC).
        n_bottleneck: units of the ``"fc"`` bottleneck (4000 in the README's training command;
            ``train.lua``'s default is 100).
        output: ``"center"``: the (S/2 x S/2) centre (``train.lua``); ``"full"``: the whole image
            (``train_random.lua``).

    ``forward(x)`` takes the image with its hole already filled (see :meth:`prepare`).
    """

    def __init__(self, image_size: int = 128, nef: int = 64, ngf: int = 64, bottleneck: str = "fc",
                 n_bottleneck: int = 4000, output: str = "center") -> None:
        super().__init__()
        if bottleneck not in ("fc", "channelwise"):
            raise ValueError(f"bottleneck must be 'fc' (train.lua) or 'channelwise' (paper Sec. 3.1), got {bottleneck!r}")
        if output not in ("center", "full"):
            raise ValueError(f"output must be 'center' or 'full', got {output!r}")
        n_down = _levels(image_size)
        self.image_size, self.output, self.bottleneck_kind = image_size, output, bottleneck
        self.encoder = dcgan_encoder(image_size, nef)
        top = 8 * nef
        if bottleneck == "fc":
            # train.lua: SpatialConvolution(nef*8, nBottleneck, 4, 4) -> BN -> LeakyReLU ->
            # SpatialFullConvolution(nBottleneck, ngf*8, 4, 4) -> BN -> ReLU: 4x4 -> 1x1 -> 4x4
            self.bottleneck = nn.Sequential(
                nn.Conv2d(top, n_bottleneck, 4, bias=False), nn.BatchNorm2d(n_bottleneck), nn.LeakyReLU(0.2, inplace=True),
                nn.ConvTranspose2d(n_bottleneck, 8 * ngf, 4, bias=False), nn.BatchNorm2d(8 * ngf), nn.ReLU(inplace=True),
            )
        else:
            self.bottleneck = nn.Sequential(
                ChannelwiseFC(top, 4), nn.BatchNorm2d(top), nn.ReLU(inplace=True),
                nn.Conv2d(top, 8 * ngf, 1, bias=False) if top != 8 * ngf else nn.Identity(),
            )
        n_up = n_down - 1 if output == "center" else n_down
        hidden = [ngf * 2 ** max(0, 2 - i) for i in range(n_up - 1)]  # 4ngf, 2ngf, ngf(, ngf)
        layers: list[nn.Module] = []
        c_in = 8 * ngf
        for c_out in hidden:
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
            c_in = c_out
        layers += [nn.ConvTranspose2d(c_in, 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.decoder = nn.Sequential(*layers)
        init_weights(self)

    @property
    def region(self) -> tuple[int, int]:
        """(top/left offset, side) of the predicted region: (S/4, S/2) for the centre, (0, S) for full."""
        s = self.image_size
        return (s // 4, s // 2) if self.output == "center" else (0, s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1:] != (3, self.image_size, self.image_size):
            raise ValueError(f"ContextEncoder expects (N, 3, {self.image_size}, {self.image_size}) images, "
                             f"got {tuple(x.shape)}; resize or crop to the size it was built for")
        return self.decoder(self.bottleneck(self.encoder(x)))

    @staticmethod
    def prepare(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The network's input: the hole filled with ImageNet's mean colour (``train.lua``)."""
        fill = torch.tensor(MEAN_FILL, dtype=image.dtype, device=image.device).view(1, 3, 1, 1)
        return composite(image, mask, fill.expand_as(image))

    def paste(self, image: torch.Tensor, mask: torch.Tensor, prediction: torch.Tensor) -> torch.Tensor:
        """Put the prediction into the hole: (N, 3, S, S) in [-1, 1], known pixels unchanged."""
        off, side = self.region
        full = image.clone()
        full[..., off:off + side, off:off + side] = prediction
        return composite(image, mask, full)

    @torch.no_grad()
    def inpaint(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Complete ``image`` (3, S, S) or (N, 3, S, S) in [-1, 1]; ``mask`` 1 = hole (see the checks below).

        With ``output="center"`` the hole must lie inside the predicted centre region. A mask with
        no hole returns the image unchanged; a full mask raises ``ValueError``.
        """
        images, masks, batched = check_image_mask(image, mask)
        if self.output == "center":
            off, side = self.region
            outside = masks.clone()
            outside[..., off:off + side, off:off + side] = 0
            if outside.any():
                raise ValueError(f"this Context Encoder predicts only the central {side}x{side} region "
                                 f"(rows/cols {off}..{off + side - 1}); the mask has holes outside it. "
                                 "Use output='full' for holes anywhere")
        was = self.training
        self.eval()
        try:
            out = self.paste(images, masks, self(self.prepare(images, masks)))
        finally:
            self.train(was)
        return out if batched else out[0]


class ContextEncoderDiscriminator(nn.Module):
    """DCGAN discriminator on the predicted region (``conditionAdv = 0``): (N, 3, R, R) -> (N,) logits.

    ``train.lua``: 4x4 stride-2 convs ``ndf, 2ndf, 4ndf, 8ndf`` down to 4x4, BN except the first,
    leaky ReLU 0.2, then a 4x4 conv to one unit and a sigmoid (here: logits, with
    ``binary_cross_entropy_with_logits``, the same loss computed stably).
    """

    def __init__(self, region_size: int = 64, ndf: int = 64) -> None:
        super().__init__()
        self.region_size = region_size
        self.features = dcgan_encoder(region_size, ndf)
        self.head = nn.Conv2d(8 * ndf, 1, 4, bias=False)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1:] != (3, self.region_size, self.region_size):
            raise ValueError(f"the discriminator expects (N, 3, {self.region_size}, {self.region_size}), got {tuple(x.shape)}")
        return self.head(self.features(x)).flatten()


def overlap_weights(region: int, hole_offset: int, hole_size: int, overlap_weight: float = OVERLAP_L2_WEIGHT) -> torch.Tensor:
    """(1, 1, region, region) L2 weights: 1 inside the hole, ``overlap_weight`` on the known band around it.

    ``train.lua``: ``wtl2Matrix`` is ``overlapL2Weight * wtl2`` everywhere and ``wtl2`` on the
    hole (the centre minus ``overlapPred`` pixels per side). Here the common factor ``wtl2`` is
    left to the caller (``lambda_rec``).
    """
    if not (0 <= hole_offset and hole_offset + hole_size <= region):
        raise ValueError(f"the hole ({hole_offset}..{hole_offset + hole_size}) does not fit in the region of {region}")
    w = torch.full((1, 1, region, region), float(overlap_weight))
    w[..., hole_offset:hole_offset + hole_size, hole_offset:hole_offset + hole_size] = 1.0
    return w


def weighted_l2(prediction: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``mean(weights * (prediction - target)^2)`` over all elements (Torch's ``MSECriterion`` averages)."""
    return (weights * (prediction - target) ** 2).mean()


class ContextEncoderTask(TrainingTask):
    """Context Encoder training (``train.lua``): updates ``"D"`` then ``"G"`` each iteration.

    Batches: ``{"image": (N, 3, S, S) in [-1, 1], "mask": (N, 1, S, S)}`` (e.g.
    :class:`~course_lib.inpainting.MaskedImages` with :func:`context_encoder_mask`).

    Args:
        generator: a :class:`ContextEncoder`.
        adversarial: ``False`` trains with L2 only (the blurry baseline of the paper's Fig. 6).
        lambda_rec, lambda_adv: 0.999 / 0.001 (``wtl2 = 0.999``; the adversarial weight is ``1 - wtl2``).
        lr: the discriminator's learning rate; the generator gets 10x (``train.lua``).
        ndf: discriminator width.
        overlap_weight: the L2 weight of the known pixels in the predicted region
            (``overlapL2Weight`` = 10 in the release; a smaller value spends more of a short run on the hole).
    """

    def __init__(self, generator: ContextEncoder, adversarial: bool = True, lambda_rec: float = LAMBDA_REC,
                 lambda_adv: float = LAMBDA_ADV, lr: float = 2e-4, ndf: int = 64,
                 overlap_weight: float = OVERLAP_L2_WEIGHT) -> None:
        super().__init__()
        self.G = generator
        self.adversarial = adversarial
        if overlap_weight < 0:
            raise ValueError(f"overlap_weight must be >= 0 (10 = the release), got {overlap_weight}")
        self.overlap_weight = overlap_weight
        self.lambda_rec, self.lambda_adv, self.lr = lambda_rec, lambda_adv, lr
        self.D = ContextEncoderDiscriminator(generator.region[1], ndf) if adversarial else None

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        betas = (0.5, 0.999)
        # train.lua gives the generator 10x the discriminator's rate when 0 < wtl2 < 1; the L2-only
        # variant keeps the same generator rate, so that the two differ only in their loss
        g_lr = self.lr * 10
        opts: dict[str, torch.optim.Optimizer] = {"G": torch.optim.Adam(self.G.parameters(), g_lr, betas=betas)}
        if self.adversarial:
            assert self.D is not None
            opts = {"D": torch.optim.Adam(self.D.parameters(), self.lr, betas=betas), **opts}
        return opts

    def _region(self, x: torch.Tensor) -> torch.Tensor:
        off, side = self.G.region
        return x[..., off:off + side, off:off + side]

    def _weights(self, mask: torch.Tensor) -> torch.Tensor:
        """L2 weights over the predicted region: 1 in the hole, ``OVERLAP_L2_WEIGHT`` on known pixels.

        With the centre mask of :func:`context_encoder_mask` this is :func:`overlap_weights`
        (``train.lua``'s 4-pixel band); with ``output="full"`` it is ``train_random.lua``'s
        ``useOverlapPred`` weighting.
        """
        region = self._region(mask)
        return torch.where(region > 0.5, 1.0, self.overlap_weight)

    def forward_step(self, batch: dict[str, torch.Tensor], phase: Phase) -> dict[str, Any]:
        image, mask = batch["image"], batch["mask"]
        return {"fake": self.G(self.G.prepare(image, mask)), "real": self._region(image)}

    def update_loss(self, name: str, batch: dict[str, torch.Tensor], out: dict[str, Any], phase: Phase) -> dict[str, torch.Tensor]:
        fake, real = out["fake"], out["real"]
        if name == "D":
            assert self.D is not None
            return {"loss": discriminator_loss(self.D(real), self.D(fake.detach()), "vanilla")}
        rec = weighted_l2(fake, real, self._weights(batch["mask"]))
        # a phase with options {"adversarial": False} trains G with L2 only (an L2 warm-up)
        if not self.adversarial or not phase.options.get("adversarial", True):
            return {"loss": rec, "l2": rec}
        assert self.D is not None
        adv = generator_loss(self.D(fake), "vanilla")
        return {"loss": self.lambda_rec * rec + self.lambda_adv * adv, "l2": rec, "adv": adv}

    @torch.no_grad()
    def inpaint(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The trained generator's completion, see :meth:`ContextEncoder.inpaint`."""
        return self.G.inpaint(image, mask)

    @torch.no_grad()
    def sample(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        image, mask = batch["image"][:8], batch["mask"][:8]
        return torch.cat([image * (1 - mask), self.G.inpaint(image, mask), image])


def context_encoder_mask(image_size: int, overlap: int | None = None) -> torch.Tensor:
    """The hole of ``train.lua``: the centre (S/2 x S/2) minus ``overlap`` pixels per side.

    ``overlap`` defaults to ``overlapPred = 4`` scaled with the image (4 at 128, 2 at 64).
    """
    _levels(image_size)
    if overlap is None:
        overlap = max(1, image_size // 32)
    return center_mask(image_size, image_size // 2 - 2 * overlap)


def parameter_count(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
