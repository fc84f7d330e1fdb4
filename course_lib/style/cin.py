"""Conditional instance normalisation (Dumoulin, Shlens & Kudlur 2017, "A Learned Representation
for Artistic Style"): one network, N styles.

Instance normalisation removes each feature map's mean and standard deviation, then applies a
learned scale and shift. Dumoulin et al. found that *all* the style of a feed-forward style
network can live in these two vectors: keep one pair ``(gamma_s, beta_s)`` per style ``s`` and
share every convolution,

    CIN(x, s) = gamma_s * (x - mu(x)) / sigma(x) + beta_s      (mu, sigma per image and channel).

A style then costs ``2 * (sum of the normalised channels)`` numbers (3,200 in Johnson's network,
0.2% of it) instead of a whole network, and styles can be *mixed*: with weights ``w`` (summing to
one) the layer uses ``gamma = sum_s w_s gamma_s`` and ``beta = sum_s w_s beta_s``, which
interpolates smoothly between the learned styles (their Fig. 7).

The network that uses this layer is :class:`course_lib.style.transformer_net.TransformerNet`
with ``n_styles=N``; it is trained by :class:`course_lib.style.fast.FastStyleTask` with one
style index per training image.
"""

from __future__ import annotations

from typing import TypeVar, cast

import torch
from torch import nn


def style_weights(style: int | torch.Tensor, n_styles: int, batch: int) -> torch.Tensor:
    """Turn a style choice into (batch, n_styles) mixing weights.

    ``style`` may be an int (one style for the whole batch), a (batch,) long tensor of indices,
    or a (batch, n_styles) / (n_styles,) float tensor of weights (e.g. ``[0.3, 0.7]`` mixes two
    styles). Weights are used as given (they normally sum to one).
    """
    if isinstance(style, int):
        if not 0 <= style < n_styles:
            raise ValueError(f"style index {style} is out of range for {n_styles} styles")
        style = torch.full((batch,), style, dtype=torch.long)
    if not isinstance(style, torch.Tensor):
        raise TypeError(f"style must be an int or a tensor, got {type(style).__name__}")
    if style.dtype in (torch.int32, torch.int64):
        if style.dim() != 1 or style.shape[0] != batch:
            raise ValueError(f"style indices must have shape ({batch},), got {tuple(style.shape)}")
        if int(style.min()) < 0 or int(style.max()) >= n_styles:
            raise ValueError(f"style indices must be in [0, {n_styles}), got {style.tolist()}")
        return nn.functional.one_hot(style, n_styles).float()
    w = style.float()
    if w.dim() == 1:
        w = w.expand(batch, -1)
    if w.shape != (batch, n_styles):
        raise ValueError(f"style weights must have shape ({batch}, {n_styles}) or ({n_styles},), got {tuple(style.shape)}")
    return w


class ConditionalInstanceNorm2d(nn.Module):
    """Instance norm with one learned ``(gamma, beta)`` per style.

    Args:
        channels: C of the (N, C, H, W) input.
        n_styles: number of styles S.
        eps: added to the variance (as ``nn.InstanceNorm2d``).

    ``forward(x, style)``: ``style`` as in :func:`style_weights`. Parameters: ``gamma`` and
    ``beta``, each (S, C), initialised to 1 and 0 (plain instance norm for every style).
    """

    def __init__(self, channels: int, n_styles: int, eps: float = 1e-5) -> None:
        super().__init__()
        if n_styles < 1:
            raise ValueError(f"n_styles must be >= 1, got {n_styles}")
        self.channels, self.n_styles, self.eps = channels, n_styles, eps
        self.gamma = nn.Parameter(torch.ones(n_styles, channels))
        self.beta = nn.Parameter(torch.zeros(n_styles, channels))

    def forward(self, x: torch.Tensor, style: int | torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected (N, {self.channels}, H, W) features, got {tuple(x.shape)}")
        w = style_weights(style, self.n_styles, x.shape[0]).to(x.device, x.dtype)
        mu = x.mean(dim=(2, 3), keepdim=True)
        var = x.var(dim=(2, 3), keepdim=True, unbiased=False)
        x_hat = (x - mu) / torch.sqrt(var + self.eps)
        gamma = (w @ self.gamma)[:, :, None, None]  # (N, C, 1, 1): the mixed style's scale
        beta = (w @ self.beta)[:, :, None, None]
        return gamma * x_hat + beta

    def extra_repr(self) -> str:
        return f"{self.channels}, n_styles={self.n_styles}"


M = TypeVar("M", bound=nn.Module)


def add_styles(net: M, n_new: int, init_from: int | None = 0) -> M:
    """Give every :class:`ConditionalInstanceNorm2d` of ``net`` ``n_new`` more styles, in place.

    New styles start as a copy of style ``init_from`` (or as plain instance norm when ``None``).
    Dumoulin et al. (Sec. 4.2) learn a new style by training only these new ``gamma, beta``
    with the convolutions frozen.
    """
    for m in net.modules():
        if isinstance(m, ConditionalInstanceNorm2d):
            g = m.gamma.data[init_from:init_from + 1] if init_from is not None else torch.ones(1, m.channels)
            b = m.beta.data[init_from:init_from + 1] if init_from is not None else torch.zeros(1, m.channels)
            m.gamma = nn.Parameter(torch.cat([m.gamma.data, g.repeat(n_new, 1)]))
            m.beta = nn.Parameter(torch.cat([m.beta.data, b.repeat(n_new, 1)]))
            m.n_styles += n_new
    if hasattr(net, "n_styles"):  # e.g. TransformerNet's count of styles, a plain int attribute
        # (setattr: nn.Module's stubs type attribute assignment as tensors and modules only)
        setattr(net, "n_styles", cast(int, net.n_styles) + n_new)  # noqa: B010
    return net


@torch.no_grad()
def stylise_mix(net: nn.Module, content: torch.Tensor, style_a: int, style_b: int, mix: float) -> torch.Tensor:
    """What the CIN slider shows: ``content`` (N, 3, H, W) in [0, 1] in the blend ``(1 - mix) a + mix b``.

    ``net`` is a conditional-instance-norm :class:`~course_lib.style.transformer_net.TransformerNet`.
    """
    if not 0.0 <= mix <= 1.0:
        raise ValueError(f"mix must be in [0, 1], got {mix}")
    n = cast(int, net.n_styles)  # a plain int attribute of the network (not a submodule)
    w = torch.zeros(n)
    w[style_a] += 1.0 - mix
    w[style_b] += mix
    was = net.training
    net.eval()
    out = net(content, w)
    net.train(was)
    return out
