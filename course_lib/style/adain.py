"""Arbitrary style transfer in real time with adaptive instance normalisation (Huang & Belongie 2017).

Conditional instance norm learns one ``(gamma, beta)`` per style. AdaIN has *no* style parameters:
it takes them from the style image's own features,

    AdaIN(x, y) = sigma(y) * (x - mu(x)) / sigma(x) + mu(y)      (per image and channel),

so a single network stylises with any style, including ones never seen in training.

The network (their Fig. 2):

* **encoder** ``f``: VGG-19 up to relu4_1, fixed (:class:`course_lib.style.VGGFeatures`);
* **AdaIN** on the relu4_1 features: ``t = AdaIN(f(c), f(s))``;
* **decoder** ``g``: mirrors the encoder (convs in reverse order, nearest upsampling in place of
  pooling, reflection padding, no normalisation), trained to turn ``t`` back into an image.

Loss (their Eqs. 8-9): ``L = L_c + lambda L_s`` with the content loss ``|f(g(t)) - t|^2`` against
the *AdaIN target* ``t`` (not the content image's features: this converges faster and is what
the decoder should produce), and the style loss on the mean and standard deviation of
relu1_1, relu2_1, relu3_1, relu4_1 (:func:`course_lib.losses.mean_std_loss`). Paper set-up:
MS-COCO contents, WikiArt styles, 512 px resized, 256 px crops, batch 8, Adam lr 1e-4,
lambda = 10 (the reference implementation trains 160,000 iterations).

At test time ``alpha`` trades content for style, ``g((1 - alpha) f(c) + alpha t)``, and several
styles mix with weights ``w``: ``t = sum_k w_k AdaIN(f(c), f(s_k))`` (their Eqs. 14-15).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from course_lib.data.photos import SCENE_PHOTOS, PhotoCrops
from course_lib.data.procedural import ProceduralDataset
from course_lib.losses import feature_mean_std, mean_std_loss
from course_lib.style.patterns import PainterlyStyles
from course_lib.style.vgg import VGGFeatures
from course_lib.train.loop import Phase, TrainingTask

#: AdaIN's style layers (relu4_1 is also the encoder's output)
ADAIN_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")


def adain(content: torch.Tensor, style: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Adaptive instance normalisation of (N, C, H, W) ``content`` features with ``style``'s statistics.

    ``style`` is (N, C, H', W') (any spatial size) or (1, C, H', W') for one style for all. The
    output has, per image and channel, the mean and standard deviation of ``style`` (exactly, up
    to ``eps``), and the spatial layout of ``content``.
    """
    if content.dim() != 4 or style.dim() != 4 or content.shape[1] != style.shape[1]:
        raise ValueError(f"adain expects (N, C, H, W) content and style features with the same C, "
                         f"got {tuple(content.shape)} and {tuple(style.shape)}")
    if style.shape[0] not in (1, content.shape[0]):
        raise ValueError(f"style batch {style.shape[0]} must be 1 or equal to the content batch {content.shape[0]}")
    mu_c, sigma_c = feature_mean_std(content, eps)
    mu_s, sigma_s = feature_mean_std(style, eps)
    return sigma_s * (content - mu_c) / sigma_c + mu_s


BOTTLENECKS = ("relu2_1", "relu3_1", "relu4_1")


def adain_layers(bottleneck: str = "relu4_1") -> tuple[str, ...]:
    """The style layers for a bottleneck: relu1_1 ... the bottleneck (the paper: relu1_1 ... relu4_1)."""
    if bottleneck not in BOTTLENECKS:
        raise ValueError(f"bottleneck must be 'relu4_1' (the paper's), 'relu3_1' or 'relu2_1', got {bottleneck!r}")
    return ADAIN_LAYERS[: int(bottleneck[4])]


class Decoder(nn.Module):
    """The mirror image of VGG-19 up to the bottleneck: relu4_1 (N, 512, H/8, W/8) -> (N, 3, H, W).

    conv4_1 is mirrored by a 512->256 conv, each pooling by a x2 nearest upsampling, each conv by
    a conv in the reverse direction; ReLU after every conv but the last; no normalisation
    (Huang & Belongie: normalisation in the decoder would undo the style statistics). 3,505,219
    parameters, as the reference decoder (naoto0804/pytorch-AdaIN ``net.decoder``). The output is
    not squashed (the reference does not either); clamp to [0, 1] to display it.

    ``bottleneck="relu3_1"`` ((N, 256, H/4, W/4) in) keeps the last three blocks of the same
    decoder, ``"relu2_1"`` ((N, 128, H/2, W/2) in, 260,035 parameters) the last two: shallower,
    much easier inversions. The course's quick mode uses relu2_1, because a relu4_1 decoder cannot
    be learnt in a minute on a CPU.
    """

    def __init__(self, bottleneck: str = "relu4_1") -> None:
        super().__init__()
        adain_layers(bottleneck)

        def conv(c_in: int, c_out: int, relu: bool = True) -> list[nn.Module]:
            layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(c_in, c_out, 3)]
            return layers + [nn.ReLU()] if relu else layers

        up = lambda: [nn.Upsample(scale_factor=2, mode="nearest")]  # noqa: E731
        block4 = [*conv(512, 256), *up()]                                            # mirrors conv4_1, pool3
        block3 = [*conv(256, 256), *conv(256, 256), *conv(256, 256), *conv(256, 128), *up()]  # conv3_4..3_1, pool2
        rest = [*conv(128, 128), *conv(128, 64), *up(), *conv(64, 64), *conv(64, 3, relu=False)]  # blocks 2, 1
        self.bottleneck = bottleneck
        self.in_channels = {"relu4_1": 512, "relu3_1": 256, "relu2_1": 128}[bottleneck]
        blocks = {"relu4_1": block4 + block3, "relu3_1": block3, "relu2_1": []}[bottleneck]
        self.body = nn.Sequential(*blocks, *rest)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        if t.dim() != 4 or t.shape[1] != self.in_channels:
            raise ValueError(f"the decoder takes (N, {self.in_channels}, H, W) {self.bottleneck} features, "
                             f"got {tuple(t.shape)}")
        return self.body(t)


class AdaINNet(nn.Module):
    """Encoder (fixed VGG-19 to relu4_1) + AdaIN + decoder. Images in [0, 1], H and W multiples of 8
    (of 4 or 2 for the shallower bottlenecks).

    Args:
        encoder: a :class:`VGGFeatures` returning at least the style layers (default: VGG-19,
            ImageNet weights when available).
        decoder: default a new :class:`Decoder` for ``bottleneck``.
        bottleneck: where AdaIN acts: ``"relu4_1"`` (the paper), ``"relu3_1"`` or ``"relu2_1"``.
    """

    def __init__(self, encoder: VGGFeatures | None = None, decoder: Decoder | None = None,
                 bottleneck: str = "relu4_1") -> None:
        super().__init__()
        self.layers = adain_layers(bottleneck)
        self.bottleneck = bottleneck
        self.encoder = encoder if encoder is not None else VGGFeatures(layers=self.layers)
        missing = [n for n in self.layers if n not in self.encoder.layers]
        if missing:
            raise ValueError(f"the encoder must return {self.layers}; it lacks {missing}")
        self.decoder = decoder if decoder is not None else Decoder(bottleneck)
        if self.decoder.bottleneck != bottleneck:
            raise ValueError(f"the decoder inverts {self.decoder.bottleneck}, but the bottleneck is {bottleneck}")

    def encode(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        k = 2 ** (int(self.bottleneck[4]) - 1)
        if x.shape[-1] % k or x.shape[-2] % k:
            raise ValueError(f"image size {tuple(x.shape[-2:])} is not a multiple of {k} (the poolings before {self.bottleneck})")
        return self.encoder(x)

    def target(self, content: torch.Tensor, styles: Sequence[torch.Tensor] | torch.Tensor,
               alpha: float = 1.0, weights: Sequence[float] | None = None) -> torch.Tensor:
        """The decoder's input: ``(1 - alpha) f(c) + alpha sum_k w_k AdaIN(f(c), f(s_k))``."""
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        styles = [styles] if isinstance(styles, torch.Tensor) else list(styles)
        weights = [1.0 / len(styles)] * len(styles) if weights is None else list(weights)
        if len(weights) != len(styles) or any(w < 0 for w in weights) or abs(sum(weights) - 1) > 1e-6:
            raise ValueError(f"weights must be {len(styles)} non-negative numbers summing to 1, got {weights}")
        fc = self.encode(content)[self.bottleneck]
        t = sum(w * adain(fc, self.encode(s)[self.bottleneck]) for w, s in zip(weights, styles))
        return (1 - alpha) * fc + alpha * t

    def forward(self, content: torch.Tensor, styles: Sequence[torch.Tensor] | torch.Tensor,
                alpha: float = 1.0, weights: Sequence[float] | None = None) -> torch.Tensor:
        """Stylise (N, 3, H, W) ``content`` with one style (N or 1 images) or a weighted mix of several."""
        return self.decoder(self.target(content, styles, alpha, weights))


class ContentStylePairs(ProceduralDataset):
    """Training pairs for arbitrary style transfer: a photo crop and a procedural painting.

    Items: ``{"content": (3, size, size), "style": (3, size, size)}``, both in [0, 1]. Contents
    are :class:`~course_lib.data.PhotoCrops` of the bundled photos; styles come from a bank of
    ``n_styles`` :class:`~course_lib.style.patterns.PainterlyStyles` rendered once (patterns are
    slow to draw, crops are cheap), optionally extended with extra images (``extra_styles``).
    """

    def __init__(self, size: int = 64, length: int = 1000, seed: int = 0, n_styles: int = 32,
                 extra_styles: torch.Tensor | None = None, photos: tuple[str, ...] = SCENE_PHOTOS) -> None:
        super().__init__(length, seed)
        self.size = size
        self.contents = PhotoCrops(size=size, length=length, seed=seed, photos=photos)
        bank = PainterlyStyles(size=size, length=max(n_styles, 1), seed=seed)
        styles = [bank[i] for i in range(n_styles)]
        if extra_styles is not None:
            styles += list(nn.functional.interpolate(extra_styles, size=(size, size), mode="bilinear",
                                                     antialias=True, align_corners=False).clamp(0, 1))
        if not styles:
            raise ValueError("no style images: use n_styles >= 1 or pass extra_styles")
        self.styles = torch.stack(styles)

    def generate(self, index: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        style = self.styles[int(rng.integers(len(self.styles)))]
        if rng.random() < 0.5:
            style = style.flip(-1)
        return {"content": self.contents[index], "style": style}


class AdaINTask(TrainingTask):
    """Train the AdaIN decoder (update ``"G"``); batches from :class:`ContentStylePairs`.

    Args:
        net: the network (its encoder stays fixed).
        style_weight: lambda (10 in the paper).
        lr: Adam's learning rate (1e-4 in the paper).
    Logged: ``content`` (``|f(g(t)) - t|^2``) and ``style`` (mean/std loss).
    """

    sample_range = (0.0, 1.0)

    def __init__(self, net: AdaINNet | None = None, style_weight: float = 10.0, lr: float = 1e-4) -> None:
        super().__init__()
        self.net = net if net is not None else AdaINNet()
        self.style_weight, self.lr = style_weight, lr

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": torch.optim.Adam(self.net.decoder.parameters(), lr=self.lr)}

    def losses(self, content: torch.Tensor, style: torch.Tensor) -> dict[str, torch.Tensor]:
        b = self.net.bottleneck
        with torch.no_grad():
            fc = self.net.encode(content)[b]
            fs = self.net.encode(style)
            t = adain(fc, fs[b])  # the target: a constant for the decoder's loss
        g = self.net.decoder(t)
        fg = self.net.encode(g)
        lc = nn.functional.mse_loss(fg[b], t)
        ls = mean_std_loss(fg, fs, self.net.layers)
        return {"loss": lc + self.style_weight * ls, "content": lc, "style": ls}

    def update_loss(self, name: str, batch: Any, out: dict[str, Any], phase: Phase) -> dict[str, torch.Tensor]:
        return self.losses(batch["content"], batch["style"])

    @torch.no_grad()
    def sample(self, batch: Any) -> torch.Tensor:
        out = self.net(batch["content"], batch["style"]).clamp(0, 1)
        return torch.cat([batch["content"], batch["style"], out])


@torch.no_grad()
def stylise_mix(net: AdaINNet, content: torch.Tensor, style_a: torch.Tensor, style_b: torch.Tensor,
                alpha: float = 1.0, mix: float = 0.0) -> torch.Tensor:
    """What the AdaIN sliders show: ``content`` in a ``(1 - mix, mix)`` blend of two styles at strength ``alpha``.

    Images (1, 3, H, W) in [0, 1]; returns (1, 3, H, W) clamped to [0, 1].
    """
    if not 0.0 <= mix <= 1.0:
        raise ValueError(f"mix must be in [0, 1], got {mix}")
    was = net.training
    net.eval()
    out = net(content, [style_a, style_b], alpha=alpha, weights=[1.0 - mix, mix]).clamp(0, 1)
    net.train(was)
    return out
