"""Fast (feed-forward) style transfer: train a network once, stylise any photo in one forward pass.

Johnson, Alahi & Fei-Fei 2016 ("Perceptual Losses for Real-Time Style Transfer and
Super-Resolution") train the :class:`~course_lib.style.transformer_net.TransformerNet` ``f_W`` on
many content photos ``y_c`` to minimise Gatys-like *perceptual* losses measured by a fixed VGG
``phi``:

* feature reconstruction ``l_feat = 1/(C H W) |phi_j(f_W(y_c)) - phi_j(y_c)|^2`` at one layer
  (relu2_2 of VGG-16 in the paper);
* style reconstruction ``l_style = sum_j |G_j(f_W(y_c)) - G_j(y_s)|^2`` with Gram matrices
  normalised by ``C_j H_j W_j`` (relu1_2, relu2_2, relu3_3, relu4_3 of VGG-16), see
  :func:`course_lib.losses.gram_style_loss`;
* total variation for smoothness.

Training cost is paid once (the paper: 40,000 iterations, batch 4, 256x256 COCO crops, Adam lr 1e-3,
about 4 hours on a GTX Titan X); afterwards stylising is a single forward pass, about 1000x
faster than Gatys' optimisation for the same loss.

With ``n_styles > 1`` the same task trains Dumoulin et al.'s conditional-instance-norm network:
each training image gets a random style index, and the loss uses that style's Gram targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from course_lib.data.photos import SCENE_PHOTOS, PhotoCrops
from course_lib.losses import gram_matrix, gram_style_loss, tv_loss
from course_lib.style.cin import ConditionalInstanceNorm2d
from course_lib.style.transformer_net import TransformerNet
from course_lib.style.vgg import VGGFeatures
from course_lib.train.loop import Phase, TrainingTask

#: Johnson et al.'s layers of VGG-16 (their paper, Sec. 4.1 and 4.2)
JOHNSON_CONTENT_LAYERS: tuple[str, ...] = ("relu2_2",)
JOHNSON_STYLE_LAYERS: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")

Batch = dict[str, torch.Tensor]


class StyledContent(PhotoCrops):
    """Content crops of the bundled photos, each with a random style index for multi-style training.

    Items: ``{"content": (3, size, size) in [0, 1], "style": () long in [0, n_styles)}``. The style
    index is drawn with torch's RNG, which the trainer seeds per sample (reproducible, resumable).
    """

    def __init__(self, size: int = 64, length: int = 1000, seed: int = 0, n_styles: int = 1,
                 photos: tuple[str, ...] = SCENE_PHOTOS, scale: tuple[float, float] = (0.25, 0.6)) -> None:
        super().__init__(size=size, length=length, seed=seed, photos=photos, scale=scale)
        if n_styles < 1:
            raise ValueError(f"n_styles must be >= 1, got {n_styles}")
        self.n_styles = n_styles

    # items are dicts here, not the base class's bare crop (which this one wraps)
    def generate(self, index: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:  # type: ignore[override]
        crop = super().generate(index, rng)
        return {"content": crop, "style": torch.randint(self.n_styles, ())}


class FastStyleTask(TrainingTask):
    """Train a :class:`TransformerNet` (1 style) or its conditional-instance-norm version (N styles).

    Args:
        styles: (S, 3, H, W) style images in [0, 1] (any size; their normalised Gram matrices
            are computed once).
        net: the network to train (default ``TransformerNet(n_styles=S if S > 1 else None)``).
        extractor: the loss network; default VGG-19 returning the layers below.
        content_layers, style_layers: layers of the loss network.
        content_weight, style_weight, tv_weight: loss weights (``tv_weight`` multiplies the
            *mean* squared neighbour difference).
        lr: Adam's learning rate (1e-3 in the paper).
        norm_only: train only the normalisation parameters (gamma, beta), with the convolutions
            frozen: how Dumoulin et al. add a style to a trained conditional-instance-norm network.

    Batches: ``{"content": (N, 3, H, W) in [0, 1], "style": (N,) long}`` (the style key may be
    omitted for one style). Update name: ``"G"``. Logged: content, style and TV terms.
    """

    sample_range = (0.0, 1.0)

    def __init__(
        self,
        styles: torch.Tensor,
        net: TransformerNet | None = None,
        extractor: VGGFeatures | None = None,
        content_layers: Sequence[str] = ("relu2_2",),
        style_layers: Sequence[str] = ("relu1_2", "relu2_2", "relu3_4", "relu4_4"),
        content_weight: float = 1.0,
        style_weight: float = 1e5,
        tv_weight: float = 0.0,
        lr: float = 1e-3,
        norm_only: bool = False,
    ) -> None:
        super().__init__()
        if styles.dim() == 3:
            styles = styles[None]
        if styles.dim() != 4 or styles.shape[1] != 3:
            raise ValueError(f"styles must be (S, 3, H, W) images in [0, 1], got {tuple(styles.shape)}")
        self.n_styles = styles.shape[0]
        self.net = net if net is not None else TransformerNet(n_styles=self.n_styles if self.n_styles > 1 else None)
        if (self.net.n_styles or 1) != self.n_styles:
            raise ValueError(f"the network knows {self.net.n_styles or 1} style(s) but {self.n_styles} style images were given")
        self.norm_only = norm_only
        layers = tuple(dict.fromkeys((*content_layers, *style_layers)))
        self.extractor = extractor if extractor is not None else VGGFeatures(layers=layers)
        missing = [n for n in layers if n not in self.extractor.layers]
        if missing:
            raise ValueError(f"the extractor does not return {missing}; build VGGFeatures(layers={layers})")
        self.content_layers, self.style_layers = tuple(content_layers), tuple(style_layers)
        self.content_weight, self.style_weight, self.tv_weight, self.lr = content_weight, style_weight, tv_weight, lr
        with torch.no_grad():
            feats = [self.extractor(s[None]) for s in styles]
        # (S, C, C) normalised Gram matrices per style layer, kept as buffers (they follow .to(device))
        for k in self.style_layers:
            self.register_buffer(f"gram_{k}", torch.cat([gram_matrix(f[k], normalize=True) for f in feats]))

    def style_targets(self, style: torch.Tensor | None, batch: int) -> dict[str, torch.Tensor]:
        """Gram targets per layer: (1, C, C) for one style, (N, C, C) gathered by index otherwise."""
        grams = {k: getattr(self, f"gram_{k}") for k in self.style_layers}
        if self.n_styles == 1:
            return grams
        if style is None:
            raise ValueError("a multi-style batch needs a 'style' entry with one index per image")
        return {k: g[style] for k, g in grams.items()}

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if not self.norm_only:
            return {"G": torch.optim.Adam(self.net.parameters(), lr=self.lr)}
        norms = [m for m in self.net.modules() if isinstance(m, (ConditionalInstanceNorm2d, nn.InstanceNorm2d))]
        return {"G": torch.optim.Adam([p for m in norms for p in m.parameters()], lr=self.lr)}

    def stylise(self, content: torch.Tensor, style: int | torch.Tensor | None = None) -> torch.Tensor:
        """(N, 3, H, W) photos in [0, 1] -> stylised images in [0, 1] (``style``: index or mixing weights)."""
        if self.net.n_styles is None:
            return self.net(content)
        return self.net(content, 0 if style is None else style)

    def losses(self, content: torch.Tensor, output: torch.Tensor, style: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """The perceptual loss terms of ``output`` for the photos ``content`` (gradients reach ``output``)."""
        fo = self.extractor(output)
        with torch.no_grad():
            fc = self.extractor(content)
        lc = sum(nn.functional.mse_loss(fo[k], fc[k]) for k in self.content_layers)
        ls = gram_style_loss(fo, self.style_targets(style, output.shape[0]))
        tv = tv_loss(output, reduction="mean")
        total = self.content_weight * lc + self.style_weight * ls + self.tv_weight * tv
        return {"loss": total, "content": lc, "style": ls, "tv": tv}  # type: ignore[dict-item]

    def update_loss(self, name: str, batch: Any, out: dict[str, Any], phase: Phase) -> dict[str, torch.Tensor]:
        content, style = _unpack(batch)
        return self.losses(content, self.stylise(content, style), style)

    @torch.no_grad()
    def sample(self, batch: Any) -> torch.Tensor:
        content, style = _unpack(batch)
        was = self.net.training
        self.net.eval()
        out = self.stylise(content, style)
        self.net.train(was)
        return torch.cat([content, out])


def _unpack(batch: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    if isinstance(batch, torch.Tensor):
        return batch, None
    if isinstance(batch, dict) and "content" in batch:
        return batch["content"], batch.get("style")
    raise TypeError("a fast-style batch is a tensor of photos or a dict with 'content' (and 'style') entries")
