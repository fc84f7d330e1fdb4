"""PatchGAN: a discriminator that scores overlapping patches instead of the whole image.

Isola et al. 2017 (pix2pix), Sec. 3.2.2, and the reference implementation
(junyanz/pytorch-CycleGAN-and-pix2pix, ``models/networks.py``, ``NLayerDiscriminator``): 4x4
convolutions C64-C128-C256-C512 (stride 2, 2, 2, then 1), a final 4x4 conv to one channel, leaky
ReLU 0.2, no normalisation on the first layer. With ``n_layers=3`` each output score sees a
70x70 patch of the input (``course_lib.receptive_field``), and a 256x256 image gets 30x30 scores.
Used by pix2pix (batch norm, input = condition + image, 6 channels) and CycleGAN (instance norm,
3 channels); pix2pixHD runs it at several scales.
"""

from __future__ import annotations

import torch
from torch import nn

from course_lib._validate import check_float, check_tensor
from course_lib.nn.norm import conv_bias, norm_layer


class PatchGAN(nn.Module):
    """(N, in_channels, H, W) -> (N, 1, H', W') logits, one per patch.

    Args:
        in_channels: 6 for pix2pix (input and output stacked), 3 for CycleGAN.
        ndf: filters of the first layer (doubled per layer, capped at 8 * ndf).
        n_layers: stride-2 layers; 3 gives 70x70 patches, 0 gives a 1x1 "PixelGAN".
        norm: ``"batch"``, ``"instance"`` or ``"none"``.
    """

    def __init__(self, in_channels: int = 6, ndf: int = 64, n_layers: int = 3, norm: str = "batch") -> None:
        super().__init__()
        if n_layers < 0:
            raise ValueError(f"n_layers must be >= 0, got {n_layers}")
        self.in_channels, self.n_layers = in_channels, n_layers
        # Each 4x4 stride-2 conv (padding 1) halves the size, rounding down; the two 4x4 stride-1
        # convs then take 1 pixel each and need 2 in: at least 3 px after the halvings, 1 score out.
        self.min_size = 3 * 2**n_layers if n_layers > 0 else 1
        bias = conv_bias(norm)
        if n_layers == 0:  # PixelGAN: 1x1 convolutions, each score sees one pixel
            layers: list[nn.Module] = [
                nn.Conv2d(in_channels, ndf, 1), nn.LeakyReLU(0.2, True),
                nn.Conv2d(ndf, ndf * 2, 1, bias=bias), norm_layer(norm, ndf * 2), nn.LeakyReLU(0.2, True),
                nn.Conv2d(ndf * 2, 1, 1, bias=bias),
            ]
            self.model = nn.Sequential(*layers)
            return
        layers = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):  # stride-2 layers with normalisation
            prev, mult = mult, min(2**n, 8)
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 1, bias=bias), norm_layer(norm, ndf * mult),
                       nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2**n_layers, 8)
        layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 1, bias=bias), norm_layer(norm, ndf * mult),
                   nn.LeakyReLU(0.2, True), nn.Conv2d(ndf * mult, 1, 4, 1, 1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", "PatchGAN", f"an (N, {self.in_channels}, H, W) tensor")
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"PatchGAN expects (N, {self.in_channels}, H, W) inputs, got {tuple(x.shape)}"
                + (" (pix2pix's discriminator sees the input and the output stacked: torch.cat([x, y], 1))"
                   if self.in_channels == 2 * x.shape[1] else "")
            )
        check_float(x, "x", "PatchGAN", (-1.0, 1.0))
        if min(x.shape[-2:]) < self.min_size:
            raise ValueError(
                f"PatchGAN: with n_layers={self.n_layers} the input must be at least {self.min_size}x{self.min_size} "
                f"(it is halved {self.n_layers} times, then needs 3 px for one score), got "
                f"{x.shape[-2]}x{x.shape[-1]}; use larger images or fewer layers (n_layers)"
            )
        return self.model(x)
