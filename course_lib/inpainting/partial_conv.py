"""Partial convolution (Liu et al. 2018), the PConv U-Net, and its loss.

Liu, Reda, Shih, Wang, Tao, Catanzaro, "Image Inpainting for Irregular Holes Using Partial
Convolutions", ECCV 2018; the layer as released in NVIDIA/partialconv (``partialconv2d.py``).

**Mask convention.** The paper's mask ``M`` is **1 = valid** (known) and 0 = hole, the opposite of
the course's (1 = hole). The layer functions here (:func:`partial_conv2d`,
:class:`PartialConv2d`) speak the paper's language and take ``valid`` masks; the network
(:class:`PConvUNet`) and the loss (:func:`pconv_loss`) take the course's hole masks and convert
at the boundary (``valid = 1 - hole``).

The partial convolution at one window, with ``X`` the inputs and ``M`` their validity (Eq. 1):

    x' = W^T (X * M) * sum(1) / sum(M) + b    if sum(M) > 0
    x' = 0                                     otherwise

``sum(1)`` is the number of inputs in the window (C_in * k * k) and ``sum(M)`` how many are valid:
the output is rescaled as if the missing inputs had the average value of the valid ones, which
makes it independent of what the hole contains. The mask update (Eq. 2): a position becomes valid
if its window contained at least one valid input, so holes shrink by about the kernel radius per
layer and vanish after enough layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from course_lib._validate import check_float, check_tensor
from course_lib.inpainting.masks import validate_mask
from course_lib.losses import gram_matrix
from course_lib.train.loop import Phase, TrainingTask

#: the paper's loss weights (Eq. 7): valid, hole, perceptual, style (out and comp), total variation
PCONV_LOSS_WEIGHTS = {"valid": 1.0, "hole": 6.0, "perceptual": 0.05, "style": 120.0, "tv": 0.1}


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def partial_conv2d(x: torch.Tensor, valid: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                   stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                   dilation: int | tuple[int, int] = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """The masked, renormalised convolution and the mask update (Liu et al. 2018, Eq. 1-2).

    Args:
        x: (N, C_in, H, W) features.
        valid: (N, 1, H, W) or (N, C_in, H, W) mask, **1 = valid**, 0 = hole (the paper's
            convention). A one-channel mask applies to every channel.
        weight, bias: as for ``F.conv2d``: (C_out, C_in, kh, kw) and (C_out,) or ``None``.

    Returns:
        ``(out, new_valid)``: (N, C_out, H', W') features, zero wherever the window held no valid
        input (bias included), and the (N, 1, H', W') updated mask (1 where the window held at
        least one valid input).
    """
    if x.dim() != 4 or valid.dim() != 4:
        raise ValueError(f"x and valid must be 4-D (N, C, H, W), got {tuple(x.shape)} and {tuple(valid.shape)}")
    if valid.shape[-2:] != x.shape[-2:] or valid.shape[1] not in (1, x.shape[1]) or valid.shape[0] not in (1, x.shape[0]):
        raise ValueError(f"valid mask {tuple(valid.shape)} does not fit features {tuple(x.shape)}: "
                         f"use (N, 1, H, W) or (N, {x.shape[1]}, H, W)")
    c_in, (kh, kw) = weight.shape[1], weight.shape[-2:]
    valid = valid.to(x.dtype)
    # Count the valid inputs of every window with an all-ones kernel. A one-channel mask counts
    # each pixel once per input channel, so both mask shapes give counts out of C_in * kh * kw.
    ones = torch.ones(1, valid.shape[1], kh, kw, dtype=x.dtype, device=x.device)
    with torch.no_grad():
        count = F.conv2d(valid, ones, stride=stride, padding=padding, dilation=dilation)
        if valid.shape[1] == 1:
            count = count * c_in
        window = float(c_in * kh * kw)
        new_valid = (count > 0).to(x.dtype)
        ratio = window / count.clamp_min(1.0) * new_valid  # sum(1) / sum(M), and 0 where sum(M) = 0
    raw = F.conv2d(x * valid, weight, None, stride=stride, padding=padding, dilation=dilation)
    out = raw * ratio
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1) * new_valid
    return out, new_valid


class PartialConv2d(nn.Conv2d):
    """An ``nn.Conv2d`` whose ``forward(x, valid)`` is a partial convolution (see :func:`partial_conv2d`).

    Same parameters as ``nn.Conv2d`` (so the same parameter count); ``valid`` is 1 = valid.
    Returns ``(features, new_valid)``.
    """

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        if self.groups != 1 or self.padding_mode != "zeros":
            raise ValueError("PartialConv2d supports groups=1 and zero padding only")
        return partial_conv2d(x, valid, self.weight, self.bias, self.stride, self.padding, self.dilation)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the PConv U-Net
#: the paper's encoder for 512x512 inputs (Liu et al. 2018, supplementary Table, "PConv1-8"):
#: (kernel size, output channels); every layer has stride 2
PAPER_ENCODER = ((7, 64), (5, 128), (5, 256), (3, 512), (3, 512), (3, 512), (3, 512), (3, 512))


class PConvUNet(nn.Module):
    """The U-Net of partial convolutions of Liu et al. 2018 (Sec. 3.3 and the supplementary table).

    Encoder: ``layers`` stride-2 partial convolutions (kernels 7, 5, 5, 3, 3, ...; channels
    ``width * (1, 2, 4, 8, 8, ...)``), batch norm except on the first, ReLU. Decoder: nearest
    upsampling by 2, concatenation with the encoder's features *and masks* of the same size
    (skip links), a 3x3 partial convolution, batch norm, leaky ReLU 0.2. The last layer sees the
    input image and its mask, outputs 3 channels, and has no norm and no activation.

    The paper's configuration is ``layers=8, width=64`` for 512x512 images (the encoder reaches
    2x2); input sizes must be divisible by ``2 ** layers``. A convolution followed by batch norm
    has no bias (the norm's shift replaces it); the paper does not say, NVIDIA released no
    network code, and this changes the parameter count by 0.03%.

    ``forward(image, hole)``: ``image`` (N, 3, H, W) in [-1, 1] with anything in the hole;
    ``hole`` (N, 1, H, W) with **1 = hole** (the course's convention; converted to the paper's
    1 = valid here). Returns (N, 3, H, W), unbounded (about [-1, 1] once trained).
    """

    def __init__(self, layers: int = 8, width: int = 64, in_channels: int = 3) -> None:
        super().__init__()
        if not 1 <= layers <= 8:
            raise ValueError(f"layers must be between 1 and 8 (the paper uses 8 at 512 px), got {layers}")
        self.layers, self.width, self.in_channels = layers, width, in_channels
        factor = width / 64
        spec = [(k, max(1, round(c * factor))) for k, c in PAPER_ENCODER[:layers]]
        self.encoder = nn.ModuleList()
        self.encoder_norms = nn.ModuleList()
        c_prev = in_channels
        channels = [in_channels]
        for i, (k, c) in enumerate(spec):
            first = i == 0
            self.encoder.append(PartialConv2d(c_prev, c, k, stride=2, padding=k // 2, bias=first))
            self.encoder_norms.append(nn.Identity() if first else nn.BatchNorm2d(c))
            channels.append(c)
            c_prev = c
        self.decoder = nn.ModuleList()
        self.decoder_norms = nn.ModuleList()
        for i in range(layers, 0, -1):  # decoder layer i sees the upsampled features + encoder level i - 1
            skip = channels[i - 1]
            out = skip if i > 1 else in_channels
            last = i == 1
            self.decoder.append(PartialConv2d(c_prev + skip, out, 3, padding=1, bias=last))
            self.decoder_norms.append(nn.Identity() if last else nn.BatchNorm2d(out))
            c_prev = out

    def forward(self, image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        check_tensor(image, "image", "PConvUNet", f"an (N, {self.in_channels}, H, W) tensor")
        check_tensor(hole, "hole", "PConvUNet", "an (N, 1, H, W) tensor")
        if image.dim() != 4 or hole.dim() != 4 or hole.shape[1] != 1:
            raise ValueError(f"expected image (N, 3, H, W) and hole (N, 1, H, W), got {tuple(image.shape)}, {tuple(hole.shape)}")
        if image.shape[1] != self.in_channels:
            raise ValueError(
                f"PConvUNet: image must have {self.in_channels} channels (the network was built with "
                f"in_channels={self.in_channels}), got {image.shape[1]} (shape {tuple(image.shape)}); convert the "
                f"images or build PConvUNet(in_channels={image.shape[1]})"
            )
        check_float(image, "image", "PConvUNet", (-1.0, 1.0))
        validate_mask(hole, image, allow_empty=True, allow_full=True)
        multiple = 2 ** self.layers
        if image.shape[-1] % multiple or image.shape[-2] % multiple:
            raise ValueError(f"image size {tuple(image.shape[-2:])} is not divisible by 2**layers = {multiple}: "
                             f"crop or resize to a multiple of {multiple}")
        valid = 1.0 - hole  # the paper's convention from here on
        feats, masks = [image], [valid]
        x, m = image, valid
        for conv, norm in zip(self.encoder, self.encoder_norms):
            x, m = conv(x, m)
            x = F.relu(norm(x))
            feats.append(x)
            masks.append(m)
        for j, (conv, norm) in enumerate(zip(self.decoder, self.decoder_norms)):
            level = self.layers - 1 - j
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            m = F.interpolate(m, scale_factor=2, mode="nearest")
            skip_x, skip_m = feats[level], masks[level]
            # Masks are concatenated channel by channel, like the features they describe.
            m_cat = torch.cat([m.expand(-1, x.shape[1], -1, -1), skip_m.expand(-1, skip_x.shape[1], -1, -1)], 1)
            x, m = conv(torch.cat([x, skip_x], 1), m_cat)
            if level > 0:
                x = F.leaky_relu(norm(x), 0.2)
        return x


# --------------------------------------------------------------------------- the loss
def _dilate(hole: torch.Tensor) -> torch.Tensor:
    """The hole grown by one pixel in every direction (3x3 dilation), (N, 1, H, W)."""
    return F.max_pool2d(hole, 3, stride=1, padding=1)


def pconv_loss(output: torch.Tensor, target: torch.Tensor, hole: torch.Tensor,
               extractor: nn.Module | None = None, weights: dict[str, float] | None = None) -> dict[str, torch.Tensor]:
    """The loss of Liu et al. 2018 (Eq. 3-7), with its components.

    Args:
        output: (N, 3, H, W) network output ``I_out`` in [-1, 1].
        target: (N, 3, H, W) ground truth ``I_gt`` in [-1, 1].
        hole: (N, 1, H, W), **1 = hole** (the paper's ``M`` is ``1 - hole``).
        extractor: a :class:`course_lib.style.VGGFeatures` returning ``pool1``, ``pool2``,
            ``pool3`` of VGG-16 for [-1, 1] images (the paper's choice); ``None`` leaves out the
            perceptual and style terms (they are then reported as 0).
        weights: default :data:`PCONV_LOSS_WEIGHTS` (1, 6, 0.05, 120, 0.1).

    Returns ``{"loss", "valid", "hole", "perceptual", "style", "tv"}``; ``loss`` is the weighted
    sum. Each term is normalised as in the paper: L1 norms divided by the number of elements
    (of the image, of the feature map, of the C x C Gram matrix).
    ``I_comp`` is the output with the known pixels replaced by the ground truth.
    """
    if output.shape != target.shape:
        raise ValueError(f"output {tuple(output.shape)} and target {tuple(target.shape)} differ in shape")
    validate_mask(hole, output, allow_empty=True, allow_full=True)
    w = {**PCONV_LOSS_WEIGHTS, **(weights or {})}
    valid = 1.0 - hole
    n = output.numel()
    terms: dict[str, torch.Tensor] = {}
    # The L1 norms are normalised by the number of elements of I_gt, not of the region (Eq. 3).
    terms["hole"] = (hole * (output - target)).abs().sum() / n
    terms["valid"] = (valid * (output - target)).abs().sum() / n
    comp = valid * target + hole * output
    zero = output.new_zeros(())
    terms["perceptual"], terms["style"] = zero, zero
    if extractor is not None:
        f_out, f_comp = extractor(output), extractor(comp)
        with torch.no_grad():
            f_gt = extractor(target)
        perceptual, style = zero, zero
        for name in f_gt:
            perceptual = perceptual + F.l1_loss(f_out[name], f_gt[name]) + F.l1_loss(f_comp[name], f_gt[name])
            g_gt = gram_matrix(f_gt[name], normalize=True)  # K_p = 1 / (C_p H_p W_p)
            # ||.||_1 / (C_p C_p): the mean absolute difference of the C_p x C_p Gram matrices
            style = style + F.l1_loss(gram_matrix(f_out[name], normalize=True), g_gt) \
                + F.l1_loss(gram_matrix(f_comp[name], normalize=True), g_gt)
        terms["perceptual"], terms["style"] = perceptual, style
    # Total variation of I_comp on P, the 1-pixel dilation of the hole: both pixels of a
    # neighbouring pair must lie in P (Eq. 6), normalised by the number of elements of I_comp.
    region = _dilate(hole)
    pair_h = region[..., :, 1:] * region[..., :, :-1]
    pair_v = region[..., 1:, :] * region[..., :-1, :]
    terms["tv"] = ((comp[..., :, 1:] - comp[..., :, :-1]).abs() * pair_h).sum() / comp.numel() \
        + ((comp[..., 1:, :] - comp[..., :-1, :]).abs() * pair_v).sum() / comp.numel()
    terms["loss"] = sum(w[k] * terms[k] for k in PCONV_LOSS_WEIGHTS)  # type: ignore[assignment]
    return terms


def pconv_vgg(seed: int = 0) -> nn.Module:
    """VGG-16 ``pool1``, ``pool2``, ``pool3`` for [-1, 1] images (ImageNet weights when available)."""
    from course_lib.style import VGGFeatures

    return VGGFeatures(layers=("pool1", "pool2", "pool3"), arch="vgg16", input_range=(-1.0, 1.0), seed=seed)


# --------------------------------------------------------------------------- training
class PConvTask(TrainingTask):
    """Trains a :class:`PConvUNet` with :func:`pconv_loss` (one update, ``"G"``).

    Batches are :class:`course_lib.inpainting.MaskedImages` items: ``{"image", "mask"}`` with
    1 = hole. The network sees ``image * (1 - mask)``.

    Phase options: ``lr`` sets the learning rate from that phase on, and ``freeze_encoder_bn``
    keeps the encoder's batch norms in eval mode (the paper's fine-tuning stage: learning rate
    5e-5, frozen encoder batch norm, so that holes do not bias the statistics).
    """

    def __init__(self, net: PConvUNet | None = None, lr: float = 2e-4, use_vgg: bool = True,
                 weights: dict[str, float] | None = None) -> None:
        super().__init__()
        self.net = net or PConvUNet()
        self.lr = lr
        self.weights = weights
        self.vgg = pconv_vgg() if use_vgg else None
        self._optimizer: torch.optim.Optimizer | None = None

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        self._optimizer = torch.optim.Adam(self.net.parameters(), lr=self.lr)
        return {"G": self._optimizer}

    def forward_step(self, batch: dict[str, torch.Tensor], phase: Phase) -> dict[str, Any]:
        if "lr" in phase.options and self._optimizer is not None:
            for group in self._optimizer.param_groups:
                group["lr"] = float(phase.options["lr"])
        freeze = bool(phase.options.get("freeze_encoder_bn", False))
        for norm in self.net.encoder_norms:
            norm.train(not freeze)
        return {}

    def inpaint(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The raw network output for a batch (N, 3, H, W)."""
        image, hole = batch["image"], batch["mask"]
        return self.net(image * (1 - hole), hole)

    def update_loss(self, name: str, batch: dict[str, torch.Tensor], out: dict[str, Any],
                    phase: Phase) -> dict[str, torch.Tensor]:
        return pconv_loss(self.inpaint(batch), batch["image"], batch["mask"], self.vgg, self.weights)

    @torch.no_grad()
    def complete(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Known pixels from the input, hole pixels from the network, clamped to [-1, 1]."""
        was = self.net.training
        self.net.eval()
        out = self.inpaint(batch).clamp(-1, 1)
        self.net.train(was)
        return batch["image"] * (1 - batch["mask"]) + out * batch["mask"]

    @torch.no_grad()
    def sample(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([batch["image"] * (1 - batch["mask"]), self.complete(batch), batch["image"]])


__all__: Sequence[str] = ["PCONV_LOSS_WEIGHTS", "PAPER_ENCODER", "partial_conv2d", "PartialConv2d", "PConvUNet",
                          "pconv_loss", "pconv_vgg", "PConvTask"]
