"""Dilated convolutions: a large receptive field without more weights or less resolution.

A 3x3 kernel with dilation ``d`` places its taps ``d`` pixels apart, so it covers a
``(2d + 1) x (2d + 1)`` window with 9 weights. Stacking dilations 1, 2, 4, 8, 16 grows the
receptive field exponentially with depth (63 px after five layers) while every layer keeps the
full resolution: the design of the Global & Local completion network's middle layers
(Iizuka et al., SIGGRAPH 2017, Table 1) and of context aggregation networks (Yu & Koltun 2016).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def same_padding(kernel_size: int, dilation: int = 1) -> int:
    """Padding that keeps the spatial size of a stride-1 conv: ``dilation * (kernel_size - 1) // 2``."""
    if kernel_size % 2 == 0:
        raise ValueError(f"'same' padding needs an odd kernel_size, got {kernel_size}")
    return dilation * (kernel_size - 1) // 2


def dilated_conv(in_channels: int, out_channels: int, kernel_size: int = 3, dilation: int = 1) -> nn.Conv2d:
    """A stride-1 convolution with 'same' padding: (N, C_in, H, W) -> (N, C_out, H, W)."""
    if dilation < 1:
        raise ValueError(f"dilation must be >= 1, got {dilation}")
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=same_padding(kernel_size, dilation),
                     dilation=dilation)


def dilated_stack(channels: int, dilations: Sequence[int], kernel_size: int = 3) -> nn.Sequential:
    """``len(dilations)`` blocks of (dilated conv, ReLU) that keep the size: (N, C, H, W) -> (N, C, H, W).

    Receptive field: ``1 + (kernel_size - 1) * sum(dilations)``.
    """
    if len(dilations) == 0:
        raise ValueError("dilations must name at least one layer")
    layers: list[nn.Module] = []
    for d in dilations:
        layers += [dilated_conv(channels, channels, kernel_size, d), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class ContextNet(nn.Module):
    """A tiny hole-filling network: 1x1 in, a (dilated) stack, 1x1 out.

    Input: masked image (N, 3, H, W) in [-1, 1] and mask (N, 1, H, W) with 1 = missing pixel.
    Output: (N, 3, H, W) in [-1, 1], with the known pixels copied from the input (as Global & Local
    does), so the network only has to invent the hole. Lecture 01 trains it with dilations
    (1, 1, 1, 1, 1) and (1, 2, 4, 8, 16): same weights, different receptive field.
    """

    def __init__(self, channels: int = 16, dilations: Sequence[int] = (1, 2, 4, 8, 16)) -> None:
        super().__init__()
        self.dilations = tuple(dilations)
        self.head = nn.Sequential(nn.Conv2d(4, channels, 1), nn.ReLU(inplace=True))
        self.body = dilated_stack(channels, self.dilations)
        self.tail = nn.Conv2d(channels, 3, 1)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = torch.cat([image * (1 - mask), mask], dim=1)
        out = torch.tanh(self.tail(self.body(self.head(x))))
        return image * (1 - mask) + out * mask
