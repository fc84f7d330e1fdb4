"""MUNIT: multimodal unsupervised image-to-image translation with content and style codes.

Huang, Liu, Belongie & Kautz, "Multimodal Unsupervised Image-to-Image Translation", ECCV 2018, and
the official implementation (NVlabs/MUNIT: ``networks.py``, ``trainer.py``,
``configs/edges2shoes_folder.yaml``). Every default below is that configuration's.

The assumption: an image ``x`` is made of a **content** code ``c`` that the domains share (a
spatial map: the layout, the shape) and a **style** code ``s`` specific to its domain (8 numbers:
colours, textures). Each domain has an auto-encoder whose encoder splits an image into ``(c, s)``
and whose decoder renders ``(c, s)`` back. To translate A -> B: take A's content, draw a *random*
B style from the prior N(0, I) and decode with B's decoder. Different styles give different,
equally valid outputs: the translation is **multimodal**, where CycleGAN's is one-to-one.

* :class:`ContentEncoder`: 7x7 conv, ``n_downsample`` stride-2 4x4 convs, ``n_res`` residual
  blocks, all with instance norm (which strips the style-like channel statistics away).
* :class:`StyleEncoder`: 7x7 conv, four stride-2 4x4 convs (no normalisation: the statistics are
  the style), global average pooling, 1x1 conv to ``style_dim`` numbers.
* :class:`Decoder`: ``n_res`` :class:`AdaINResBlock` whose AdaIN means and standard deviations
  come from an :class:`MLP` applied to the style code, then upsampling (nearest x2 + 5x5 conv +
  layer norm) back to the image size, 7x7 conv and tanh.
* :class:`MultiScaleDiscriminator`: the same 4x4-conv discriminator on the image at 3 scales
  (LSGAN loss summed over scales).

Losses of the generators (weights of ``edges2shoes_folder.yaml``), with ``L1 = mean |.|``:

* image reconstruction, 10: ``L1(dec_a(enc_a(x_a)), x_a)`` (and for b): the *within-domain*
  auto-encoder;
* latent reconstruction after a *cross-domain* translation ``x_ab = dec_b(c_a, s_b)``, with
  ``s_b ~ N(0, I)``: content, 1: ``L1(c(x_ab), c_a)``; style, 1: ``L1(s(x_ab), s_b)``;
* adversarial, 1: LSGAN on ``x_ab`` and ``x_ba``;
* optional explicit cycle, ``recon_x_cyc_w`` (0 in this configuration): ``L1(dec_a(c(x_ab), s_a'), x_a)``.

Adam, lr 1e-4, betas (0.5, 0.999), weight decay 1e-4, halved every 100,000 of 1,000,000 iterations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.losses import discriminator_loss, generator_loss
from course_lib.nn.norm import init_weights, norm_layer
from course_lib.train.loop import Phase, TrainingTask

Batch = Mapping[str, torch.Tensor]
#: the style encoder always downsamples 4 times (``StyleEncoder(4, ...)`` in the reference)
STYLE_DOWNSAMPLINGS = 4

M = TypeVar("M", bound=nn.Module)


def check_image_size(height: int, width: int, n_downsample: int = 2, name: str = "images") -> None:
    """Raise ``ValueError`` unless the encoders can halve the image as often as they do.

    The content encoder halves it ``n_downsample`` times and the decoder doubles it back, so the
    sides must be multiples of ``2**n_downsample``; the style encoder halves it 4 times and its
    reflection padding needs at least 2 pixels, so the sides must be at least 16.
    """
    step = 2**n_downsample
    smallest = max(2**STYLE_DOWNSAMPLINGS, 2 * step)
    if height % step or width % step or height < smallest or width < smallest:
        raise ValueError(
            f"{name} are {height}x{width}: the content encoder downsamples {n_downsample} times (sides must "
            f"be multiples of {step}) and the style encoder {STYLE_DOWNSAMPLINGS} times (sides >= "
            f"{smallest}). Resize to e.g. 32, 64, 128 or 256."
        )


# --------------------------------------------------------------------------- building blocks
class LayerNorm(nn.Module):
    """MUNIT's layer norm: per image over (C, H, W), ``(x - mean) / (std + eps)``, then a per-channel
    scale (initialised uniformly in [0, 1), as the reference) and shift. Used after the decoder's
    upsampling convolutions, where instance norm would erase the style AdaIN just put in."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.rand(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1)
        shape = (-1,) + (1,) * (x.dim() - 1)
        x = (x - flat.mean(1).view(shape)) / (flat.std(1).view(shape) + self.eps)
        return x * self.gamma.view(1, -1, 1, 1) + self.beta.view(1, -1, 1, 1)


def conv_block(in_channels: int, out_channels: int, kernel: int, stride: int = 1, padding: int = 0,
               norm: str = "none", activation: str = "relu") -> nn.Sequential:
    """Reflection pad + conv (with bias) + norm + activation: the reference's ``Conv2dBlock``.

    ``norm``: ``"none"``, ``"instance"`` or ``"layer"``; ``activation``: ``"relu"``, ``"lrelu"``
    (slope 0.2), ``"tanh"`` or ``"none"``. (The reference's instance norm also tracks running
    statistics that only eval mode uses; ours always normalises with the image's own statistics,
    so train and eval behave alike. Neither has parameters.)
    """
    layers: list[nn.Module] = [nn.ReflectionPad2d(padding), nn.Conv2d(in_channels, out_channels, kernel, stride)]
    if norm == "layer":
        layers.append(LayerNorm(out_channels))
    elif norm != "none":
        layers.append(norm_layer(norm, out_channels))
    acts: dict[str, nn.Module | None] = {"relu": nn.ReLU(True), "lrelu": nn.LeakyReLU(0.2, True), "tanh": nn.Tanh(),
                                         "none": None}
    if activation not in acts:
        raise ValueError(f"activation must be one of {sorted(acts)}, got {activation!r}")
    act = acts[activation]
    if act is not None:
        layers.append(act)
    return nn.Sequential(*layers)


def adaptive_instance_norm(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """AdaIN (Huang & Belongie 2017): normalise each channel of each image, then give it ``std`` and ``mean``.

    ``x`` (N, C, H, W); ``mean``, ``std`` (N, C) (from the style MLP). Returns
    ``std * (x - mu(x)) / sqrt(var(x) + eps) + mean`` with per-image, per-channel mu and (biased) var.
    """
    if mean.shape != x.shape[:2] or std.shape != x.shape[:2]:
        raise ValueError(f"AdaIN of features {tuple(x.shape)} needs (N, C) = {tuple(x.shape[:2])} means and "
                         f"stds, got {tuple(mean.shape)} and {tuple(std.shape)}")
    mu = x.mean((2, 3), keepdim=True)
    var = x.var((2, 3), keepdim=True, unbiased=False)
    return (x - mu) / torch.sqrt(var + eps) * std[:, :, None, None] + mean[:, :, None, None]


class ResBlock(nn.Module):
    """``x + conv(relu(conv(x)))`` with 3x3 reflection-padded convs and instance norm (content encoder)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(conv_block(channels, channels, 3, 1, 1, "instance", "relu"),
                                   conv_block(channels, channels, 3, 1, 1, "instance", "none"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class AdaINResBlock(nn.Module):
    """A residual block whose two normalisations are AdaIN with parameters from the style MLP.

    ``forward(x, params)``: ``x`` (N, C, H, W), ``params`` (N, 4C) laid out as
    ``[mean1, std1, mean2, std2]`` (C numbers each, the reference's order):
    ``x + AdaIN2(conv2(relu(AdaIN1(conv1(x)))))``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.conv1 = conv_block(channels, channels, 3, 1, 1)[:2]  # reflection pad + conv only
        self.conv2 = conv_block(channels, channels, 3, 1, 1)[:2]

    @property
    def num_params(self) -> int:
        return 4 * self.channels

    def forward(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        c = self.channels
        if params.dim() != 2 or params.shape[1] != 4 * c or params.shape[0] != x.shape[0]:
            raise ValueError(f"AdaINResBlock({c}) needs (N, {4 * c}) AdaIN parameters for N = {x.shape[0]}, "
                             f"got {tuple(params.shape)}")
        mean1, std1, mean2, std2 = params.split(c, dim=1)
        y = F.relu(adaptive_instance_norm(self.conv1(x), mean1, std1))
        y = adaptive_instance_norm(self.conv2(y), mean2, std2)
        return x + y


class MLP(nn.Module):
    """Style code (N, style_dim[, 1, 1]) -> (N, out_dim): ``n_blocks`` linear layers, ReLU between them."""

    def __init__(self, style_dim: int, out_dim: int, hidden: int = 256, n_blocks: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Linear(style_dim, hidden), nn.ReLU(True)]
        for _ in range(n_blocks - 2):
            layers += [nn.Linear(hidden, hidden), nn.ReLU(True)]
        layers.append(nn.Linear(hidden, out_dim))  # no activation: means can be negative, stds anything
        self.model = nn.Sequential(*layers)

    def forward(self, style: torch.Tensor) -> torch.Tensor:
        return self.model(style.flatten(1))


# --------------------------------------------------------------------------- encoders and decoder
class ContentEncoder(nn.Module):
    """(N, in_channels, H, W) -> content code (N, dim * 2**n_downsample, H / 2**n_downsample, W / 2**n_downsample)."""

    def __init__(self, in_channels: int = 3, dim: int = 64, n_downsample: int = 2, n_res: int = 4) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv_block(in_channels, dim, 7, 1, 3, "instance")]
        for _ in range(n_downsample):
            layers.append(conv_block(dim, 2 * dim, 4, 2, 1, "instance"))
            dim *= 2
        layers += [ResBlock(dim) for _ in range(n_res)]
        self.model = nn.Sequential(*layers)
        self.out_channels = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class StyleEncoder(nn.Module):
    """(N, in_channels, H, W) -> style code (N, style_dim, 1, 1): convs, global average pool, 1x1 conv.

    No normalisation anywhere: the channel statistics that instance norm would remove are the style.
    """

    def __init__(self, in_channels: int = 3, dim: int = 64, style_dim: int = 8,
                 n_downsample: int = STYLE_DOWNSAMPLINGS) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv_block(in_channels, dim, 7, 1, 3)]
        for _ in range(2):
            layers.append(conv_block(dim, 2 * dim, 4, 2, 1))
            dim *= 2
        for _ in range(n_downsample - 2):
            layers.append(conv_block(dim, dim, 4, 2, 1))
        layers += [nn.AdaptiveAvgPool2d(1), nn.Conv2d(dim, style_dim, 1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class Decoder(nn.Module):
    """(content (N, dim, h, w), AdaIN parameters (N, num_adain_params)) -> image (N, out_channels, h * 2**n_upsample, ...) in [-1, 1]."""

    def __init__(self, dim: int, out_channels: int = 3, n_upsample: int = 2, n_res: int = 4) -> None:
        super().__init__()
        self.res_blocks = nn.ModuleList(AdaINResBlock(dim) for _ in range(n_res))
        layers: list[nn.Module] = []
        for _ in range(n_upsample):
            layers += [nn.Upsample(scale_factor=2), conv_block(dim, dim // 2, 5, 1, 2, "layer")]
            dim //= 2
        layers.append(conv_block(dim, out_channels, 7, 1, 3, "none", "tanh"))
        self.upsample = nn.Sequential(*layers)

    def _blocks(self) -> list[AdaINResBlock]:
        """The residual blocks, typed for mypy (``nn.ModuleList`` iterates as plain ``nn.Module``)."""
        return [cast(AdaINResBlock, b) for b in self.res_blocks]

    @property
    def num_adain_params(self) -> int:
        return sum(b.num_params for b in self._blocks())

    def forward(self, content: torch.Tensor, adain_params: torch.Tensor) -> torch.Tensor:
        if adain_params.shape[-1] != self.num_adain_params:
            raise ValueError(f"the decoder needs {self.num_adain_params} AdaIN parameters per image, "
                             f"got {adain_params.shape[-1]}")
        x = content
        blocks = self._blocks()
        for block, params in zip(blocks, adain_params.split([b.num_params for b in blocks], 1)):
            x = block(x, params)
        return self.upsample(x)


class AdaINGenerator(nn.Module):
    """One domain's auto-encoder: style encoder, content encoder, MLP and AdaIN decoder.

    ``encode(x) -> (content, style)``; ``decode(content, style) -> image``; ``forward(x)``
    reconstructs ``x``. Images (N, channels, H, W) in [-1, 1]; H and W must be multiples of
    ``2**n_downsample`` and at least ``2**4`` (the style encoder halves the image 4 times).
    """

    def __init__(self, channels: int = 3, dim: int = 64, style_dim: int = 8, n_downsample: int = 2,
                 n_res: int = 4, mlp_dim: int = 256) -> None:
        super().__init__()
        self.channels, self.style_dim, self.n_downsample = channels, style_dim, n_downsample
        self.enc_style = StyleEncoder(channels, dim, style_dim)
        self.enc_content = ContentEncoder(channels, dim, n_downsample, n_res)
        self.dec = Decoder(self.enc_content.out_channels, channels, n_downsample, n_res)
        self.mlp = MLP(style_dim, self.dec.num_adain_params, mlp_dim, 3)

    def check_input(self, x: torch.Tensor, name: str = "images") -> None:
        """Raise ``ValueError`` for a wrong channel count or a size the encoders cannot halve enough."""
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"{name} must be (N, {self.channels}, H, W), got {tuple(x.shape)}")
        check_image_size(x.shape[-2], x.shape[-1], self.n_downsample, name)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.check_input(x)
        return self.enc_content(x), self.enc_style(x)

    def decode(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        if style.dim() not in (2, 4) or style.shape[1] != self.style_dim or style.shape[0] != content.shape[0]:
            raise ValueError(f"style codes must be (N, {self.style_dim}) or (N, {self.style_dim}, 1, 1) with "
                             f"N = {content.shape[0]}, got {tuple(style.shape)}")
        return self.dec(content, self.mlp(style))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        content, style = self.encode(x)
        return self.decode(content, style)


# --------------------------------------------------------------------------- discriminator
class MultiScaleDiscriminator(nn.Module):
    """The same discriminator applied to the image at ``num_scales`` scales (each 2x smaller).

    Per scale: a 4x4 stride-2 conv to ``dim`` channels, ``n_layers - 1`` more doubling the
    channels, leaky ReLU 0.2, no normalisation, reflection padding, then a 1x1 conv to one score
    map. Between scales the image is average-pooled (3x3, stride 2, padding not counted).
    ``forward`` returns a list of (N, 1, h_k, w_k) logits, finest first.
    """

    def __init__(self, in_channels: int = 3, dim: int = 64, n_layers: int = 4, num_scales: int = 3) -> None:
        super().__init__()
        if n_layers < 1 or num_scales < 1:
            raise ValueError(f"need n_layers >= 1 and num_scales >= 1, got {n_layers} and {num_scales}")
        self.in_channels, self.n_layers, self.num_scales = in_channels, n_layers, num_scales
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.nets = nn.ModuleList(self._make_net(in_channels, dim, n_layers) for _ in range(num_scales))

    @staticmethod
    def _make_net(in_channels: int, dim: int, n_layers: int) -> nn.Sequential:
        layers: list[nn.Module] = [conv_block(in_channels, dim, 4, 2, 1, "none", "lrelu")]
        for _ in range(n_layers - 1):
            layers.append(conv_block(dim, 2 * dim, 4, 2, 1, "none", "lrelu"))
            dim *= 2
        layers.append(nn.Conv2d(dim, 1, 1))
        return nn.Sequential(*layers)

    @property
    def min_size(self) -> int:
        """Smallest image side: the coarsest scale's last conv still needs 2 pixels to reflect-pad."""
        return 2 ** (self.num_scales - 1) * 2 ** (self.n_layers - 1) * 2

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"the discriminator expects (N, {self.in_channels}, H, W) images, got {tuple(x.shape)}")
        if min(x.shape[-2:]) < self.min_size:
            raise ValueError(f"images of {x.shape[-2]}x{x.shape[-1]} are too small for {self.num_scales} scales "
                             f"of {self.n_layers} stride-2 layers: use sides >= {self.min_size}, or fewer "
                             "scales/layers")
        outputs = []
        for net in self.nets:
            outputs.append(net(x))
            x = self.downsample(x)
        return outputs


def kaiming_init(module: M) -> M:
    """He-normal weights (fan in, ReLU gain) and zero biases for convs and linears: the reference's
    ``init: kaiming`` for the generators (the discriminators use N(0, 0.02), :func:`init_weights`)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


# --------------------------------------------------------------------------- losses and style
def recon_loss(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MUNIT's reconstruction criterion: ``mean |x - target|`` (images, content or style codes)."""
    if x.shape != target.shape:
        raise ValueError(f"cannot compare shapes {tuple(x.shape)} and {tuple(target.shape)}")
    return (x - target).abs().mean()


def sample_styles(n: int, style_dim: int = 8, generator: torch.Generator | None = None,
                  device: torch.device | str | None = None) -> torch.Tensor:
    """``n`` style codes from MUNIT's prior, the standard normal N(0, I): (n, style_dim, 1, 1)."""
    return torch.randn(n, style_dim, 1, 1, generator=generator, device=device)


def latent_reconstruction_losses(gen_a: AdaINGenerator, gen_b: AdaINGenerator, content_a: torch.Tensor,
                                 content_b: torch.Tensor, style_a: torch.Tensor, style_b: torch.Tensor,
                                 x_ab: torch.Tensor, x_ba: torch.Tensor) -> dict[str, torch.Tensor]:
    """Encode the translations again and compare with the codes they were made from (MUNIT Fig. 2b).

    ``x_ab = gen_b.decode(content_a, style_b)`` is a B image, so B's encoders read it back:
    its content should be ``content_a`` and its style the *sampled* ``style_b``; likewise for
    ``x_ba``. Returns the four unweighted L1 losses ``content_a, content_b, style_a, style_b``.
    """
    content_b_rec, style_a_rec = gen_a.encode(x_ba)
    content_a_rec, style_b_rec = gen_b.encode(x_ab)
    return {"content_a": recon_loss(content_a_rec, content_a), "content_b": recon_loss(content_b_rec, content_b),
            "style_a": recon_loss(style_a_rec, style_a), "style_b": recon_loss(style_b_rec, style_b)}


# --------------------------------------------------------------------------- the method
class MUNITTask(TrainingTask):
    """MUNIT's training recipe for the course's :class:`~course_lib.train.Trainer` (see the module docstring).

    Batches are dicts ``{"A": (N, channels_a, H, W), "B": (N, channels_b, H, W)}`` in [-1, 1].
    Updates per iteration, in the reference's order: ``"D"`` (both multi-scale discriminators on
    detached translations), then ``"G"`` (both auto-encoders). The two share one forward pass: the
    contents of both batches, one random style per image and the two cross-domain translations.

    Args:
        channels_a, channels_b: image channels of each domain (they may differ).
        dim, style_dim, n_downsample, n_res, mlp_dim: generator sizes (64, 8, 2, 4, 256).
        dis_dim, dis_layers, dis_scales: discriminator sizes (64, 4, 3).
        gan_w, recon_x_w, recon_c_w, recon_s_w, recon_x_cyc_w: loss weights (1, 10, 1, 1, 0).
        lr, betas, weight_decay: Adam settings (1e-4, (0.5, 0.999), 1e-4).
        lr_step, lr_gamma: multiply the learning rate by ``lr_gamma`` every ``lr_step``
            iterations (100,000 and 0.5 in the reference; ``None`` keeps it constant).
    """

    iteration: torch.Tensor  # a registered buffer (declared here: nn.Module's __getattr__ types it loosely)

    def __init__(
        self,
        channels_a: int = 3,
        channels_b: int = 3,
        dim: int = 64,
        style_dim: int = 8,
        n_downsample: int = 2,
        n_res: int = 4,
        mlp_dim: int = 256,
        dis_dim: int = 64,
        dis_layers: int = 4,
        dis_scales: int = 3,
        gan_w: float = 1.0,
        recon_x_w: float = 10.0,
        recon_c_w: float = 1.0,
        recon_s_w: float = 1.0,
        recon_x_cyc_w: float = 0.0,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        weight_decay: float = 1e-4,
        lr_step: int | None = 100_000,
        lr_gamma: float = 0.5,
    ) -> None:
        super().__init__()
        self.gen_a = kaiming_init(AdaINGenerator(channels_a, dim, style_dim, n_downsample, n_res, mlp_dim))
        self.gen_b = kaiming_init(AdaINGenerator(channels_b, dim, style_dim, n_downsample, n_res, mlp_dim))
        self.dis_a = init_weights(MultiScaleDiscriminator(channels_a, dis_dim, dis_layers, dis_scales))
        self.dis_b = init_weights(MultiScaleDiscriminator(channels_b, dis_dim, dis_layers, dis_scales))
        self.style_dim = style_dim
        self.weights = {"gan": gan_w, "recon_x": recon_x_w, "recon_c": recon_c_w, "recon_s": recon_s_w,
                        "recon_x_cyc": recon_x_cyc_w}
        self.lr, self.betas, self.weight_decay = lr, betas, weight_decay
        self.lr_step, self.lr_gamma = lr_step, lr_gamma
        self.register_buffer("iteration", torch.zeros((), dtype=torch.long))  # checkpointed: exact resume
        self._optimizers: dict[str, torch.optim.Optimizer] = {}

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        def adam(params: list[nn.Parameter]) -> torch.optim.Optimizer:
            return torch.optim.Adam(params, lr=self.lr, betas=self.betas, weight_decay=self.weight_decay)

        self._optimizers = {
            "D": adam(list(self.dis_a.parameters()) + list(self.dis_b.parameters())),
            "G": adam(list(self.gen_a.parameters()) + list(self.gen_b.parameters())),
        }
        return self._optimizers

    def generator(self, domain: str) -> AdaINGenerator:
        if domain not in ("A", "B"):
            raise ValueError(f"domain must be 'A' or 'B', got {domain!r}")
        return self.gen_a if domain == "A" else self.gen_b

    def _inputs(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(batch, Mapping) or "A" not in batch or "B" not in batch:
            raise KeyError(f"MUNIT batches are dicts with an 'A' and a 'B' image batch; got {type(batch).__name__}")
        self.gen_a.check_input(batch["A"], "domain A images")
        self.gen_b.check_input(batch["B"], "domain B images")
        return batch["A"], batch["B"]

    def _step_schedule(self) -> None:
        if self.lr_step and self._optimizers:
            factor = self.lr_gamma ** (int(self.iteration) // self.lr_step)
            for opt in self._optimizers.values():
                for group in opt.param_groups:
                    group["lr"] = self.lr * factor

    def forward_step(self, batch: Batch, phase: Phase) -> dict[str, torch.Tensor]:
        x_a, x_b = self._inputs(batch)
        self._step_schedule()
        self.iteration += 1
        content_a, style_a_prime = self.gen_a.encode(x_a)   # s_a' is x_a's own style
        content_b, style_b_prime = self.gen_b.encode(x_b)
        style_a = sample_styles(x_a.shape[0], self.style_dim, device=x_a.device)  # random styles from the prior
        style_b = sample_styles(x_b.shape[0], self.style_dim, device=x_b.device)
        return {"content_a": content_a, "content_b": content_b, "style_a_prime": style_a_prime,
                "style_b_prime": style_b_prime, "style_a": style_a, "style_b": style_b,
                "x_ba": self.gen_a.decode(content_b, style_a), "x_ab": self.gen_b.decode(content_a, style_b)}

    def update_loss(self, name: str, batch: Batch, out: dict[str, torch.Tensor], phase: Phase) -> dict[str, torch.Tensor]:
        x_a, x_b = self._inputs(batch)
        w = self.weights
        if name == "D":
            d_a = discriminator_loss(self.dis_a(x_a), self.dis_a(out["x_ba"].detach()), "lsgan")
            d_b = discriminator_loss(self.dis_b(x_b), self.dis_b(out["x_ab"].detach()), "lsgan")
            return {"loss": w["gan"] * (d_a + d_b), "D_a": d_a, "D_b": d_b}
        if name != "G":
            raise KeyError(f"unknown update {name!r}; MUNIT has 'D' and 'G'")
        # (a) within-domain reconstruction
        x_a_rec = self.gen_a.decode(out["content_a"], out["style_a_prime"])
        x_b_rec = self.gen_b.decode(out["content_b"], out["style_b_prime"])
        recon_x = recon_loss(x_a_rec, x_a) + recon_loss(x_b_rec, x_b)
        # (b) cross-domain translation: the codes must survive it
        latent = latent_reconstruction_losses(self.gen_a, self.gen_b, out["content_a"], out["content_b"],
                                              out["style_a"], out["style_b"], out["x_ab"], out["x_ba"])
        recon_c = latent["content_a"] + latent["content_b"]
        recon_s = latent["style_a"] + latent["style_b"]
        adv = (generator_loss(self.dis_a(out["x_ba"]), "lsgan") + generator_loss(self.dis_b(out["x_ab"]), "lsgan"))
        losses = {"recon_x": recon_x, "recon_c": recon_c, "recon_s": recon_s, "adv": adv}
        total = w["gan"] * adv + w["recon_x"] * recon_x + w["recon_c"] * recon_c + w["recon_s"] * recon_s
        if w["recon_x_cyc"] > 0:  # the explicit cycle: back to the source domain with its own style
            c_a_rec, _ = self.gen_b.encode(out["x_ab"])
            c_b_rec, _ = self.gen_a.encode(out["x_ba"])
            cyc = (recon_loss(self.gen_a.decode(c_a_rec, out["style_a_prime"]), x_a)
                   + recon_loss(self.gen_b.decode(c_b_rec, out["style_b_prime"]), x_b))
            losses["cycle"] = cyc
            total = total + w["recon_x_cyc"] * cyc
        losses["loss"] = total
        return losses

    # ------------------------------------------------------------------ inference
    def _eval(self) -> tuple[bool, bool]:
        was = self.gen_a.training, self.gen_b.training
        self.gen_a.eval()
        self.gen_b.eval()
        return was

    @torch.no_grad()
    def translate(self, x: torch.Tensor, direction: str = "AtoB", style: torch.Tensor | None = None,
                  generator: torch.Generator | None = None) -> torch.Tensor:
        """Translate ``x`` (N, C, H, W) with one style per image.

        ``style``: (N, style_dim[, 1, 1]) codes, or ``None`` to draw them from N(0, I) (with
        ``generator`` for reproducibility). A style code can come from :meth:`style_of` (example-guided).
        """
        if direction not in ("AtoB", "BtoA"):
            raise ValueError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}")
        source, target = (self.gen_a, self.gen_b) if direction == "AtoB" else (self.gen_b, self.gen_a)
        was = self._eval()
        try:
            content, _ = source.encode(x)
            if style is None:
                style = sample_styles(x.shape[0], self.style_dim, generator)
            if style.numel() != x.shape[0] * self.style_dim:
                raise ValueError(f"need one style code of {self.style_dim} numbers per image "
                                 f"({x.shape[0]} images), got a tensor of shape {tuple(style.shape)}")
            return target.decode(content, style.to(x.device).reshape(x.shape[0], self.style_dim, 1, 1))
        finally:
            self.gen_a.train(was[0])
            self.gen_b.train(was[1])

    @torch.no_grad()
    def style_of(self, images: torch.Tensor, domain: str) -> torch.Tensor:
        """The style codes (N, style_dim, 1, 1) of ``images`` from ``domain``'s style encoder."""
        gen = self.generator(domain)
        was = self._eval()
        try:
            gen.check_input(images)
            return gen.enc_style(images)
        finally:
            self.gen_a.train(was[0])
            self.gen_b.train(was[1])

    @torch.no_grad()
    def multimodal(self, x: torch.Tensor, n_styles: int, direction: str = "AtoB",
                   generator: torch.Generator | None = None) -> torch.Tensor:
        """``n_styles`` random translations of each image: (N, n_styles, C, H, W).

        The same ``n_styles`` codes are used for every image, so column ``k`` shares a style.
        """
        styles = sample_styles(n_styles, self.style_dim, generator).to(x.device)
        outs = [self.translate(x, direction, styles[k:k + 1].expand(x.shape[0], -1, -1, -1)) for k in range(n_styles)]
        return torch.stack(outs, 1)

    @torch.no_grad()
    def sample(self, batch: Batch) -> torch.Tensor:
        """Rows: A, its reconstruction, two A->B styles, B, its reconstruction, two B->A styles."""
        x_a, x_b = self._inputs(batch)
        g = torch.Generator().manual_seed(0)
        was = self._eval()
        try:
            rows = [x_a, self.gen_a(x_a), *self.multimodal(x_a, 2, "AtoB", g).unbind(1),
                    x_b, self.gen_b(x_b), *self.multimodal(x_b, 2, "BtoA", g).unbind(1)]
        finally:
            self.gen_a.train(was[0])
            self.gen_b.train(was[1])
        return torch.cat([r.expand(-1, 3, -1, -1) if r.shape[1] == 1 else r for r in rows])


# --------------------------------------------------------------------------- measurements
def mean_pairwise_distance(outputs: torch.Tensor) -> float:
    """Diversity: mean L1 distance between the outputs made from the same input.

    ``outputs`` (N, K, C, H, W): K outputs for each of N inputs (K >= 2). Averages
    ``mean |o_i - o_j|`` over all pairs i < j and all inputs. 0 means every output is the same.
    """
    if outputs.dim() != 5 or outputs.shape[1] < 2:
        raise ValueError(f"outputs must be (N, K, C, H, W) with K >= 2 outputs per input, got {tuple(outputs.shape)}")
    k = outputs.shape[1]
    flat = outputs.flatten(2)
    dists = (flat[:, :, None] - flat[:, None]).abs().mean(-1)  # (N, K, K)
    i, j = torch.triu_indices(k, k, 1)
    return float(dists[:, i, j].mean())


def decode_with_style(task: MUNITTask, image: torch.Tensor, style: Sequence[float] | torch.Tensor,
                      direction: str = "AtoB") -> torch.Tensor:
    """Translate one image (C, H, W) with an explicit style vector (style_dim numbers): (C, H, W).

    The computation behind :class:`course_lib.widgets.StyleCodeExplorer`'s sliders.
    """
    style = torch.as_tensor(style, dtype=image.dtype).flatten()
    if style.numel() != task.style_dim:
        raise ValueError(f"style must have {task.style_dim} numbers, got {style.numel()}")
    if image.dim() != 3:
        raise ValueError(f"image must be (C, H, W), got {tuple(image.shape)}")
    return task.translate(image[None], direction, style.view(1, -1, 1, 1))[0]


# --------------------------------------------------------------------------- presets
@dataclass(frozen=True)
class Preset:
    """Sizes and schedule of one MUNIT configuration (used by the lectures and the CLI)."""

    size: int
    dim: int
    n_downsample: int
    n_res: int
    mlp_dim: int
    dis_dim: int
    dis_layers: int
    dis_scales: int
    steps: int
    batch_size: int
    lr: float
    lr_step: int | None

    def task(self, channels_a: int = 3, channels_b: int = 3, **overrides: Any) -> MUNITTask:
        kwargs = dict(channels_a=channels_a, channels_b=channels_b, dim=self.dim, n_downsample=self.n_downsample,
                      n_res=self.n_res,
                      mlp_dim=self.mlp_dim, dis_dim=self.dis_dim, dis_layers=self.dis_layers,
                      dis_scales=self.dis_scales, lr=self.lr, lr_step=self.lr_step)
        kwargs.update(overrides)
        return MUNITTask(**kwargs)  # type: ignore[arg-type]


#: quick: 32x32 shapes, narrow nets, one downsampling in the content encoder (a 16x16 content code:
#: two would leave 8x8, too coarse for sharp shapes at this size), 2 discriminator scales of 3 layers
#: (3 scales of 4 layers need images of at least 64 px), a higher learning rate, constant.
#: paper: edges2shoes_folder.yaml.
PRESETS: dict[str, Preset] = {
    "quick": Preset(size=32, dim=16, n_downsample=1, n_res=2, mlp_dim=64, dis_dim=16, dis_layers=3, dis_scales=2,
                    steps=250, batch_size=4, lr=1e-3, lr_step=None),
    "paper": Preset(size=256, dim=64, n_downsample=2, n_res=4, mlp_dim=256, dis_dim=64, dis_layers=4, dis_scales=3,
                    steps=1_000_000, batch_size=1, lr=1e-4, lr_step=100_000),
}


def preset(name: str) -> Preset:
    """The ``"quick"`` or ``"paper"`` preset."""
    if name not in PRESETS:
        raise ValueError(f"unknown MUNIT preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]


def describe(task: MUNITTask) -> dict[str, int]:
    """Parameter counts of the parts of both generators and discriminators."""
    count = lambda m: sum(p.numel() for p in m.parameters())
    g = task.gen_a
    return {"style encoder": count(g.enc_style), "content encoder": count(g.enc_content), "decoder": count(g.dec),
            "MLP": count(g.mlp), "generator": count(g), "discriminator": count(task.dis_a),
            "total": count(task)}


__all__ = [
    "AdaINGenerator", "AdaINResBlock", "ContentEncoder", "Decoder", "LayerNorm", "MLP", "MUNITTask",
    "MultiScaleDiscriminator", "PRESETS", "Preset", "ResBlock", "StyleEncoder", "adaptive_instance_norm",
    "check_image_size", "conv_block", "decode_with_style", "describe", "kaiming_init", "latent_reconstruction_losses",
    "mean_pairwise_distance", "preset", "recon_loss", "sample_styles",
]
