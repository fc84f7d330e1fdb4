"""The image transformation network of fast style transfer (Johnson, Alahi & Fei-Fei 2016).

A fully convolutional encoder-residual-decoder that maps a photo to its stylised version in one
forward pass (Johnson et al., supplementary Table 1):

=====================================  ==========================  =================
layer                                  output (for a 256 input)    here
=====================================  ==========================  =================
conv 9x9, 32, stride 1                 32 x 256 x 256              ``conv1``
conv 3x3, 64, stride 2                 64 x 128 x 128              ``conv2``
conv 3x3, 128, stride 2                128 x 64 x 64               ``conv3``
5 residual blocks (two 3x3 convs)      128 x 64 x 64               ``res``
upsample x2, conv 3x3, 64              64 x 128 x 128              ``up1``
upsample x2, conv 3x3, 32              32 x 256 x 256              ``up2``
conv 9x9, 3                            3 x 256 x 256               ``conv_out``
=====================================  ==========================  =================

Every convolution but the last is followed by a normalisation and a ReLU (the second conv of a
residual block: normalisation only, then the skip is added). Choices of the later literature that
this course follows, as the reference PyTorch implementation (pytorch/examples,
``fast_neural_style``) does:

* **instance normalisation** instead of batch norm (Ulyanov, Vedaldi & Lempitsky 2016: a
  stylised image should not depend on the contrast of the other images in the batch);
* **reflection padding** (no dark borders) and **nearest upsampling + conv** instead of
  fractionally strided convolutions (no checkerboard artefacts; Odena et al. 2016, Dumoulin et al. 2017);
* the output is squashed to [0, 1] by a sigmoid (Johnson's "scaled tanh" ``(tanh(x) + 1) / 2`` is
  the same function: ``sigmoid(2x)``).

With ``channels=32`` and affine instance norm the network has 1,679,235 parameters, exactly as
pytorch/examples' ``TransformerNet``. With ``n_styles=N`` every normalisation becomes a
:class:`~course_lib.style.cin.ConditionalInstanceNorm2d` (Dumoulin et al.'s N-style network).
"""

from __future__ import annotations

import torch
from torch import nn

from course_lib.style.cin import ConditionalInstanceNorm2d


class ConvLayer(nn.Module):
    """Reflection padding + conv (+ optional nearest upsampling before it)."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int = 1, upsample: int = 1) -> None:
        super().__init__()
        self.upsample = upsample
        self.pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv = nn.Conv2d(c_in, c_out, kernel_size, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample > 1:
            x = nn.functional.interpolate(x, scale_factor=self.upsample, mode="nearest")
        return self.conv(self.pad(x))


class Norm(nn.Module):
    """Affine instance norm (one style) or conditional instance norm (``n_styles`` styles)."""

    def __init__(self, channels: int, n_styles: int | None) -> None:
        super().__init__()
        self.conditional = n_styles is not None
        self.norm = (ConditionalInstanceNorm2d(channels, n_styles) if n_styles is not None
                     else nn.InstanceNorm2d(channels, affine=True))

    def forward(self, x: torch.Tensor, style: int | torch.Tensor | None) -> torch.Tensor:
        return self.norm(x, style) if self.conditional else self.norm(x)


class ResidualBlock(nn.Module):
    """conv-norm-ReLU-conv-norm, plus the input (He et al. 2016; Gross & Wilber's variant without a final ReLU)."""

    def __init__(self, channels: int, n_styles: int | None) -> None:
        super().__init__()
        self.conv1, self.norm1 = ConvLayer(channels, channels, 3), Norm(channels, n_styles)
        self.conv2, self.norm2 = ConvLayer(channels, channels, 3), Norm(channels, n_styles)

    def forward(self, x: torch.Tensor, style: int | torch.Tensor | None = None) -> torch.Tensor:
        y = torch.relu(self.norm1(self.conv1(x), style))
        return x + self.norm2(self.conv2(y), style)


class TransformerNet(nn.Module):
    """Johnson et al.'s image transformation network, (N, 3, H, W) in [0, 1] -> same shape in [0, 1].

    Args:
        channels: width of the first layer (32 in the paper); the others are 2x and 4x.
        n_residual: residual blocks (5 in the paper).
        n_styles: ``None`` for one style (affine instance norm); N for conditional instance
            norm with N styles (then ``forward(x, style)`` needs ``style``, see
            :func:`course_lib.style.cin.style_weights`).

    H and W must be multiples of 4 (two stride-2 convs, then two x2 upsamplings).
    """

    def __init__(self, channels: int = 32, n_residual: int = 5, n_styles: int | None = None) -> None:
        super().__init__()
        if channels < 1 or n_residual < 0:
            raise ValueError(f"channels must be >= 1 and n_residual >= 0, got {channels}, {n_residual}")
        c1, c2, c3 = channels, 2 * channels, 4 * channels
        self.n_styles = n_styles
        self.conv1, self.norm1 = ConvLayer(3, c1, 9), Norm(c1, n_styles)
        self.conv2, self.norm2 = ConvLayer(c1, c2, 3, stride=2), Norm(c2, n_styles)
        self.conv3, self.norm3 = ConvLayer(c2, c3, 3, stride=2), Norm(c3, n_styles)
        self.res = nn.ModuleList(ResidualBlock(c3, n_styles) for _ in range(n_residual))
        self.up1, self.norm4 = ConvLayer(c3, c2, 3, upsample=2), Norm(c2, n_styles)
        self.up2, self.norm5 = ConvLayer(c2, c1, 3, upsample=2), Norm(c1, n_styles)
        self.conv_out = ConvLayer(c1, 3, 9)

    def forward(self, x: torch.Tensor, style: int | torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"TransformerNet expects (N, 3, H, W) images in [0, 1], got {tuple(x.shape)}")
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f"image size {tuple(x.shape[-2:])} is not a multiple of 4 (two stride-2 convs): "
                             "crop or resize to e.g. 64, 128, 256")
        if self.n_styles is not None and style is None:
            raise ValueError(f"this network knows {self.n_styles} styles: pass style= an index or mixing weights")
        if self.n_styles is None and style is not None:
            raise ValueError("this network has a single style: call it without style=")
        y = torch.relu(self.norm1(self.conv1(x), style))
        y = torch.relu(self.norm2(self.conv2(y), style))
        y = torch.relu(self.norm3(self.conv3(y), style))
        for block in self.res:
            y = block(y, style)
        y = torch.relu(self.norm4(self.up1(y), style))
        y = torch.relu(self.norm5(self.up2(y), style))
        return torch.sigmoid(self.conv_out(y))
