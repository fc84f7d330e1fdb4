"""DeepFill v2: gated convolution, the two-stage generator with contextual attention, SN-PatchGAN, sketches.

Yu, Lin, Yang, Shen, Lu, Huang, "Free-Form Image Inpainting with Gated Convolution", ICCV 2019, and
the official release (JiahuiYu/generative_inpainting v2.0.0: ``inpaint_ops.py`` ``gen_conv``,
``gen_deconv``, ``dis_conv``; ``inpaint_model.py`` ``build_inpaint_net``,
``build_sn_patch_gan_discriminator``, ``build_graph_with_losses``; ``train.py``).

**Gated convolution** (Sec. 3.2): one convolution computes twice the channels; half are features,
half are gates, and the output is ``activation(features) * sigmoid(gates)``. Partial convolution's
hand-made rule (valid or not, one mask shared by all channels) becomes a *learned, soft,
per-channel* mask, and a user's sketch is just another input channel the gates learn to trust.

**Widths of the release.** ``gen_conv(x, cnum)`` convolves to ``cnum`` channels and splits them,
so a layer written with ``cnum`` channels *outputs* ``cnum / 2`` features. With ``cnum = 48`` the
generator's widths are 24, 48, 96 (not 48, 96, 192 as in ports that double the convolution);
:class:`DeepFillV2Generator` keeps the release's arithmetic, and
``tests/test_deepfill.py`` checks its parameter count.

**Upsampling.** The release's ``gen_deconv`` is nearest-neighbour upsampling by 2 followed by a
3x3 gated convolution (no checkerboard artefacts); :class:`GatedUpConv2d` is that layer.
:class:`GatedConvTranspose2d` gates an ``nn.ConvTranspose2d`` the same way, for networks that
upsample with transposed convolutions.

**Inputs.** The generator sees the image with the hole zeroed (3 channels), the sketch (1 channel,
edges drawn *inside the hole*: edges of the ground truth during training, a user's strokes at
inference; ``guided=True``), a channel of ones (it lets zero padding mark the border) and the mask.
The release's default config trains without sketches (``guided: False``, 5 input channels);
the paper's user-guided model has them (6 channels).

**Loss.** L1 on both stages' outputs over the whole image (weight 1) plus the SN-PatchGAN hinge
loss (weight 1): nothing else (no perceptual or style loss). Adam, lr 1e-4, betas (0.5, 0.999).
D's hinge loss is the release's (neuralgym ``gan_hinge_loss``), half the usual one:
:func:`sn_patchgan_d_loss`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm
from torch.utils.data import Dataset

from course_lib.inpainting.contextual_attention import ContextualAttention
from course_lib.inpainting.deepfill_v1 import tf_init
from course_lib.inpainting.masks import validate_mask
from course_lib.losses import discriminator_loss, generator_loss
from course_lib.train.loop import Phase, TrainingTask


# --------------------------------------------------------------------------- gated layers
class GatedConv2d(nn.Module):
    """``activation(conv_f(x)) * sigmoid(conv_g(x))``, computed as one convolution to ``2 * out_channels``.

    (N, in_channels, H, W) -> (N, out_channels, H', W'). The first half of the convolution's
    channels are the features, the second half the gates (the release's ``tf.split`` order).
    Padding keeps ``H' = ceil(H / stride)`` ('SAME'); ``activation=None`` gives ``conv_f(x) *
    sigmoid(conv_g(x))``. With ELU features the output lies in (-1, inf) times a gate in (0, 1).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 dilation: int = 1, activation: nn.Module | None = None) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.conv = nn.Conv2d(in_channels, 2 * out_channels, kernel_size, stride,
                              padding=dilation * (kernel_size - 1) // 2, dilation=dilation)
        self.activation = nn.ELU() if activation is None else activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features, gates = self.conv(x).split(self.out_channels, dim=1)
        return self.activation(features) * torch.sigmoid(gates)

    def gates(self, x: torch.Tensor) -> torch.Tensor:
        """The soft masks sigmoid(conv_g(x)), (N, out_channels, H', W') in (0, 1): what the layer lets through."""
        return torch.sigmoid(self.conv(x)[:, self.out_channels:])


class GatedUpConv2d(nn.Module):
    """The release's ``gen_deconv``: nearest-neighbour upsampling by 2, then a 3x3 :class:`GatedConv2d`.

    (N, in_channels, H, W) -> (N, out_channels, 2H, 2W).
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = GatedConv2d(in_channels, out_channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class GatedConvTranspose2d(nn.Module):
    """A gated transposed convolution: ``activation(deconv_f(x)) * sigmoid(deconv_g(x))``.

    (N, in_channels, H, W) -> (N, out_channels, stride * H, stride * W) for ``kernel_size = 2 *
    stride`` (padding ``stride // 2``). One ``nn.ConvTranspose2d`` to ``2 * out_channels`` channels,
    split into features and gates as in :class:`GatedConv2d`.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 4, stride: int = 2,
                 activation: nn.Module | None = None) -> None:
        super().__init__()
        if kernel_size != 2 * stride:
            raise ValueError(f"use kernel_size = 2 * stride (got {kernel_size}, {stride}) so the output is stride x larger")
        self.out_channels = out_channels
        self.deconv = nn.ConvTranspose2d(in_channels, 2 * out_channels, kernel_size, stride, padding=stride // 2)
        self.activation = nn.ELU() if activation is None else activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features, gates = self.deconv(x).split(self.out_channels, dim=1)
        return self.activation(features) * torch.sigmoid(gates)


# --------------------------------------------------------------------------- generator
def _gc(c_in: int, cnum: int, k: int = 3, stride: int = 1, rate: int = 1, activation: nn.Module | None = None) -> GatedConv2d:
    """The release's ``gen_conv(x, cnum, k, stride, rate)``: a gated conv with ``cnum // 2`` outputs."""
    return GatedConv2d(c_in, cnum // 2, k, stride, rate, activation)


class CoarseNetV2(nn.Module):
    """Stage 1: 17 gated convolutions, two downsamplings, dilations 2-4-8-16, tanh output in [-1, 1]."""

    def __init__(self, in_channels: int, cnum: int = 48) -> None:
        super().__init__()
        c = cnum // 2  # features per "cnum" of the release
        self.body = nn.Sequential(
            _gc(in_channels, cnum, 5),            # conv1
            _gc(c, 2 * cnum, 3, 2),               # conv2_downsample
            _gc(2 * c, 2 * cnum),                 # conv3
            _gc(2 * c, 4 * cnum, 3, 2),           # conv4_downsample
            _gc(4 * c, 4 * cnum),                 # conv5
            _gc(4 * c, 4 * cnum),                 # conv6
            *[_gc(4 * c, 4 * cnum, rate=r) for r in (2, 4, 8, 16)],  # conv7-10_atrous
            _gc(4 * c, 4 * cnum),                 # conv11
            _gc(4 * c, 4 * cnum),                 # conv12
            GatedUpConv2d(4 * c, cnum),           # conv13_upsample (gen_deconv(x, 2*cnum))
            _gc(cnum, 2 * cnum),                  # conv14
            GatedUpConv2d(2 * c, c),              # conv15_upsample (gen_deconv(x, cnum))
            _gc(c, cnum // 2),                    # conv16
            nn.Conv2d(cnum // 4, 3, 3, padding=1),  # conv17: plain conv, no gate (cnum == 3)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.body(x))


class RefineNetV2(nn.Module):
    """Stage 2: a dilated gated branch and a contextual-attention branch, merged and decoded; tanh output."""

    def __init__(self, cnum: int = 48, attention: ContextualAttention | None = None) -> None:
        super().__init__()
        c = cnum // 2
        self.hallucination = nn.Sequential(
            _gc(3, cnum, 5), _gc(c, cnum, 3, 2), _gc(c, 2 * cnum), _gc(2 * c, 2 * cnum, 3, 2),
            _gc(2 * c, 4 * cnum), _gc(4 * c, 4 * cnum),
            *[_gc(4 * c, 4 * cnum, rate=r) for r in (2, 4, 8, 16)],
        )
        self.attention_encoder = nn.Sequential(
            _gc(3, cnum, 5), _gc(c, cnum, 3, 2), _gc(c, 2 * cnum), _gc(2 * c, 4 * cnum, 3, 2),
            _gc(4 * c, 4 * cnum), _gc(4 * c, 4 * cnum, activation=nn.ReLU()),  # pmconv6: ReLU before attention
        )
        self.attention = attention or ContextualAttention(ksize=3, rate=2)
        self.attention_decoder = nn.Sequential(_gc(4 * c, 4 * cnum), _gc(4 * c, 4 * cnum))  # pmconv9, pmconv10
        self.decoder = nn.Sequential(
            _gc(8 * c, 4 * cnum), _gc(4 * c, 4 * cnum),                # allconv11, allconv12
            GatedUpConv2d(4 * c, cnum), _gc(cnum, 2 * cnum),         # allconv13_upsample, allconv14
            GatedUpConv2d(2 * c, c), _gc(c, cnum // 2),               # allconv15_upsample, allconv16
            nn.Conv2d(cnum // 4, 3, 3, padding=1),                   # allconv17
        )

    def forward(self, x: torch.Tensor, hole_small: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hallucinated = self.hallucination(x)
        attended, offsets = self.attention(self.attention_encoder(x), hole_small)
        merged = torch.cat([hallucinated, self.attention_decoder(attended)], dim=1)
        return torch.tanh(self.decoder(merged)), offsets


#: initialisations of :class:`DeepFillV2Generator`
INITS = ("release", "open")


def open_gates(module: nn.Module, gate_bias: float = 2.0) -> nn.Module:
    """Re-initialise every gated layer so that a deep stack of them starts by passing its signal on.

    With the release's Glorot initialisation a gated layer multiplies the standard deviation of
    its input by about 0.3 (ELU halves it, a gate near sigmoid(0) = 0.5 halves it again, and the
    doubled fan-out of the convolution shrinks the weights): after the coarse network's 17 layers
    the output of an untrained generator is ~1e-8 and its first layers get almost no gradient. Here
    the feature half of each convolution is He-initialised (``kaiming_normal_``, gain sqrt(2)) and
    the gates' biases are set to ``gate_bias`` (sigmoid(2) = 0.88: open). Training later closes
    the gates where it wants to. This is the course's choice for short runs, not the release's.
    """
    for m in module.modules():
        if isinstance(m, (GatedConv2d, GatedConvTranspose2d)):
            conv = m.conv if isinstance(m, GatedConv2d) else m.deconv
            c = m.out_channels
            with torch.no_grad():
                weight = torch.empty_like(conv.weight[:c]) if isinstance(m, GatedConv2d) else torch.empty_like(conv.weight[:, :c])
                nn.init.kaiming_normal_(weight, nonlinearity="relu",
                                        mode="fan_in" if isinstance(m, GatedConv2d) else "fan_out")
                if isinstance(m, GatedConv2d):
                    conv.weight[:c] = weight
                else:
                    conv.weight[:, :c] = weight
                if conv.bias is not None:
                    conv.bias[c:] = gate_bias
    return module


class DeepFillV2Generator(nn.Module):
    """The DeepFill v2 inpainting network of the release (``build_inpaint_net``).

    Args:
        cnum: the release's base width (48): layers output ``cnum / 2``, ``cnum``, ``2 cnum``
            features at full, 1/2 and 1/4 resolution.
        guided: whether a sketch channel is an input (the paper's user-guided model).
        init: ``"release"`` (Glorot-uniform, as the TensorFlow release) or ``"open"``
            (:func:`open_gates`: He-initialised features and gates that start 88% open, so that
            the signal survives the 17 gated layers at initialisation; the course's quick mode
            uses it to learn in a few hundred steps instead of thousands).

    ``forward(image, hole, sketch=None)``: ``image`` (N, 3, H, W) in [-1, 1] (the hole's content is
    ignored: it is zeroed here), ``hole`` (N, 1, H, W) with 1 = hole, ``sketch`` (N, 1, H, W) in
    {0, 1} (required when ``guided``; only its part inside the hole is used). ``H`` and ``W`` must be
    divisible by 8. Returns ``(stage1, stage2, offsets)``: both stages' raw outputs (N, 3, H, W) in
    [-1, 1] and the attention's displacement field (N, 2, H/8, W/8).
    """

    def __init__(self, cnum: int = 48, guided: bool = True, init: str = "release") -> None:
        super().__init__()
        if cnum % 4:
            raise ValueError(f"cnum must be divisible by 4 (the last gated layer has cnum / 4 features), got {cnum}")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        self.cnum, self.guided, self.init = cnum, guided, init
        self.in_channels = 3 + int(guided) + 2  # image, [sketch], ones, mask
        self.coarse = CoarseNetV2(self.in_channels, cnum)
        self.refine = RefineNetV2(cnum)
        tf_init(self)
        if init == "open":
            open_gates(self)

    def forward(self, image: torch.Tensor, hole: torch.Tensor,
                sketch: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        validate_mask(hole, image, allow_empty=True, allow_full=True)
        if image.dim() != 4 or image.shape[1] != 3 or hole.dim() != 4:
            raise ValueError(f"expected image (N, 3, H, W) and hole (N, 1, H, W), got {tuple(image.shape)}, {tuple(hole.shape)}")
        if image.shape[-1] % 8 or image.shape[-2] % 8:
            raise ValueError(f"image size {tuple(image.shape[-2:])} must be divisible by 8 (two downsamplings, "
                             "then attention at rate 2)")
        incomplete = image * (1 - hole)
        inputs = [incomplete]
        if self.guided:
            if sketch is None:
                raise ValueError("this generator is guided: pass sketch=(N, 1, H, W) (zeros for 'no sketch')")
            inputs.append(sketch * hole)  # the sketch only says something inside the hole
        ones = torch.ones_like(hole)
        x = torch.cat([*inputs, ones, ones * hole], dim=1)
        stage1 = self.coarse(x)
        # Stage 2 starts from the coarse result pasted into the hole (3 channels only, as released).
        stage2_in = stage1 * hole + incomplete * (1 - hole)
        hole_small = F.interpolate(hole, size=(image.shape[-2] // 4, image.shape[-1] // 4), mode="nearest")
        stage2, offsets = self.refine(stage2_in, hole_small)
        return stage1, stage2, offsets


# --------------------------------------------------------------------------- discriminator
class SNPatchGAN(nn.Module):
    """SN-PatchGAN (Sec. 3.3; the release's ``build_sn_patch_gan_discriminator``).

    Six 5x5 stride-2 convolutions with spectral normalisation (``torch.nn.utils.parametrizations.
    spectral_norm``: each kernel reshaped to a (C_out, C_in * k * k) matrix is divided by that
    matrix's largest singular value), channels ``cnum * (1, 2, 4, 4, 4, 4)`` (64 ... 256), each followed by leaky
    ReLU 0.2 (the last one too, as ``dis_conv`` does), then flattened: (N, C, H, W) -> (N, 256 *
    H/64 * W/64) scores, one per patch; each score's receptive field covers most of a 256x256
    input, so no separate global discriminator is needed.

    ``in_channels``: image (3) + mask (1, ``gan_with_mask``) + sketch (1 when guided).

    The normalisation bounds each convolution's Lipschitz constant only *approximately*: the
    largest singular value of the reshaped kernel is not the operator norm of the convolution as a
    map between images. For a stride-1 k x k convolution the operator norm can be up to k times
    larger, because each input pixel enters k * k outputs (Tsuzuku, Sato & Sugiyama, "Lipschitz-
    Margin Training", NeurIPS 2018). Miyato et al. (ICLR 2018) normalise the reshaped matrix as a
    cheap approximation: it keeps every layer's scale in check, which is what stabilises
    training, without a guaranteed Lipschitz bound.
    """

    def __init__(self, in_channels: int = 5, cnum: int = 64) -> None:
        super().__init__()
        widths = [cnum, 2 * cnum, 4 * cnum, 4 * cnum, 4 * cnum, 4 * cnum]
        layers: list[nn.Module] = []
        c_prev = in_channels
        for c in widths:
            layers += [spectral_norm(nn.Conv2d(c_prev, c, 5, stride=2, padding=2)), nn.LeakyReLU(0.2)]
            c_prev = c
        self.body = nn.Sequential(*layers)
        self.in_channels = in_channels
        for conv in self.convs():  # Glorot-uniform kernels, zero biases, as the release's layers
            # spectral_norm's parametrization keeps the raw kernel at parametrizations.weight.original
            nn.init.xavier_uniform_(conv.get_parameter("parametrizations.weight.original"))
            assert conv.bias is not None  # every conv above is built with a bias
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"SNPatchGAN expects (N, {self.in_channels}, H, W) (image, mask[, sketch]), got {tuple(x.shape)}")
        return self.body(x).flatten(1)

    def convs(self) -> list[nn.Conv2d]:
        return [m for m in self.body if isinstance(m, nn.Conv2d)]


def largest_singular_value(conv: nn.Conv2d) -> float:
    """The spectral norm of a conv's (effective) weight reshaped to (C_out, C_in * k * k).

    This is the quantity spectral normalisation sets to 1; it approximates, but does not bound,
    the operator norm of the convolution itself (see :class:`SNPatchGAN`).
    """
    return float(torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2))


# --------------------------------------------------------------------------- sketches
def edge_sketch(image: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """Edges of an image as a sketch: (3, H, W) or (N, 3, H, W) in [-1, 1] -> (1 or N, 1, H, W) in {0, 1}.

    scikit-image's Canny detector on the grey image. (The paper uses HED edge maps, thresholded at
    0.6 in the release; Canny needs no network and gives similar thin lines.)
    """
    from skimage.feature import canny

    batch = image if image.dim() == 4 else image[None]
    grey = ((batch.clamp(-1, 1) + 1) / 2 * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1)
    edges = [canny(g.cpu().double().numpy(), sigma=sigma) for g in grey]
    out = torch.from_numpy(np.stack(edges).astype(np.float32))[:, None]
    return out if image.dim() == 4 else out[0]


class WithSketch(Dataset):
    """Adds ``"sketch"``: the edges of the ground truth (:func:`edge_sketch`) to every item of ``masked``.

    ``masked`` returns ``{"image" in [-1, 1], "mask"}`` (e.g. :class:`MaskedImages`); the sketch covers
    the whole image: the generator keeps only its part inside the hole. With ``empty_fraction > 0``
    that fraction of the items (chosen by ``(seed, index)``, deterministic) gets an all-zero sketch
    instead, so that one guided network learns both to follow a sketch and to fill without one.
    """

    def __init__(self, masked: Dataset, sigma: float = 1.0, empty_fraction: float = 0.0, seed: int = 0) -> None:
        if not 0.0 <= empty_fraction <= 1.0:
            raise ValueError(f"empty_fraction must be in [0, 1], got {empty_fraction}")
        self.masked, self.sigma, self.empty_fraction, self.seed = masked, sigma, empty_fraction, seed

    def __len__(self) -> int:
        return len(self.masked)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = dict(self.masked[index])
        if self.empty_fraction > 0 and np.random.default_rng([self.seed, index, 7]).random() < self.empty_fraction:
            item["sketch"] = torch.zeros_like(item["mask"])
        else:
            item["sketch"] = edge_sketch(item["image"], self.sigma)
        return item


def sketch_agreement(completed: torch.Tensor, sketch: torch.Tensor, hole: torch.Tensor,
                     tolerance: int = 1) -> dict[str, float]:
    """How well the edges of a completion follow a sketch inside the hole, pooled over the batch.

    ``completed`` (N, 3, H, W) in [-1, 1]; ``sketch`` and ``hole`` (N, 1, H, W) in {0, 1}. The
    completion's edges are :func:`edge_sketch` (Canny) of it; an edge pixel and a sketch pixel
    *agree* when they lie within ``tolerance`` pixels (a (2t+1)^2 square). Inside the hole:
    ``recall`` = fraction of sketch pixels with a completion edge nearby, ``precision`` = fraction of
    completion edges with a sketch pixel nearby, ``f1`` their harmonic mean (all in [0, 1]; 0 when
    either set is empty). A fill that ignores the sketch scores low on both.
    """
    if completed.dim() != 4 or sketch.shape != hole.shape or sketch.shape[0] != completed.shape[0]:
        raise ValueError(f"expected completed (N, 3, H, W), sketch and hole (N, 1, H, W); got "
                         f"{tuple(completed.shape)}, {tuple(sketch.shape)}, {tuple(hole.shape)}")
    edges = edge_sketch(completed)
    near = lambda x: F.max_pool2d(x, 2 * tolerance + 1, 1, tolerance) if tolerance > 0 else x  # noqa: E731
    s, e = sketch * hole, edges * hole
    recall = float((s * near(e)).sum() / s.sum().clamp_min(1))
    precision = float((e * near(s)).sum() / e.sum().clamp_min(1))
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


# --------------------------------------------------------------------------- training
def sn_patchgan_d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The release's hinge loss for D: ``0.5 * (mean(relu(1 - real)) + mean(relu(1 + fake)))``.

    neuralgym's ``gan_hinge_loss`` (used by JiahuiYu/generative_inpainting's
    ``build_graph_with_losses``) halves the sum of the two terms, so the loss is about 1 when D
    scores real and completed images alike near 0 (the usual hinge loss, Lim & Ye 2017, as
    :func:`course_lib.losses.discriminator_loss` computes it, would be about 2). The factor halves
    D's gradients; with Adam, which divides by the gradients' scale, training barely changes.
    """
    return 0.5 * discriminator_loss(real_scores, fake_scores, "hinge")


class DeepFillV2Task(TrainingTask):
    """DeepFill v2's training (``build_graph_with_losses``): updates ``"D"`` then ``"G"`` every step.

    * D: the release's hinge loss (:func:`sn_patchgan_d_loss`, half the usual one) on SN-PatchGAN
      scores of real images and of completed images (detached), both
      with the mask (and the sketch inside the hole, when guided) as extra channels;
    * G: ``l1_weight * (|x - stage1| + |x - stage2|)`` (means over the whole image) plus
      ``gan_weight *`` the hinge generator loss ``-D(completed)``.

    The release uses weights 1 and 1, Adam with lr 1e-4 and betas (0.5, 0.999). A phase with
    ``updates=("G",)`` trains G on the L1 terms alone (no discriminator: a warm-up).
    ``hole_weight`` multiplies the L1 of the hole pixels (1 = the release; the course's quick mode
    uses 6, partial convolution's hole weight, so that a short run spends its steps on the hole
    rather than on reproducing the known pixels through the bottleneck).
    """

    def __init__(self, generator: DeepFillV2Generator | None = None, discriminator: SNPatchGAN | None = None,
                 lr: float = 1e-4, betas: tuple[float, float] = (0.5, 0.999), l1_weight: float = 1.0,
                 gan_weight: float = 1.0, hole_weight: float = 1.0) -> None:
        super().__init__()
        self.G = generator or DeepFillV2Generator()
        self.D = discriminator or SNPatchGAN(in_channels=3 + 1 + int(self.G.guided))
        if self.D.in_channels != 4 + int(self.G.guided):
            raise ValueError(f"the discriminator sees image + mask{' + sketch' if self.G.guided else ''}: "
                             f"in_channels must be {4 + int(self.G.guided)}, got {self.D.in_channels}")
        if hole_weight <= 0:
            raise ValueError(f"hole_weight must be positive (1 = the release's plain L1), got {hole_weight}")
        self.lr, self.betas, self.l1_weight, self.gan_weight = lr, betas, l1_weight, gan_weight
        self.hole_weight = hole_weight

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"D": torch.optim.Adam(self.D.parameters(), lr=self.lr, betas=self.betas),
                "G": torch.optim.Adam(self.G.parameters(), lr=self.lr, betas=self.betas)}

    def _sketch(self, batch: dict[str, torch.Tensor]) -> torch.Tensor | None:
        if not self.G.guided:
            return None
        if "sketch" not in batch:
            raise KeyError("a guided DeepFill v2 needs batch['sketch'] (wrap the data in WithSketch)")
        return batch["sketch"]

    def _d_input(self, images: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        extra = [batch["mask"]]
        if self.G.guided:
            extra.append(batch["sketch"] * batch["mask"])
        return torch.cat([images, *extra], dim=1)

    def forward_step(self, batch: dict[str, torch.Tensor], phase: Phase) -> dict[str, Any]:
        stage1, stage2, offsets = self.G(batch["image"], batch["mask"], self._sketch(batch))
        hole = batch["mask"]
        completed = stage2 * hole + batch["image"] * (1 - hole)
        return {"stage1": stage1, "stage2": stage2, "completed": completed}

    def update_loss(self, name: str, batch: dict[str, torch.Tensor], out: dict[str, Any],
                    phase: Phase) -> dict[str, torch.Tensor]:
        if name == "D":
            real = self.D(self._d_input(batch["image"], batch))
            fake = self.D(self._d_input(out["completed"].detach(), batch))
            return {"loss": sn_patchgan_d_loss(real, fake), "real": real.mean(), "fake": fake.mean()}
        target = batch["image"]
        # hole_weight = 1: the release's L1 over the whole image; > 1 stresses the hole pixels.
        weight = 1.0 + (self.hole_weight - 1.0) * batch["mask"]
        l1 = ((target - out["stage1"]).abs() * weight).mean() + ((target - out["stage2"]).abs() * weight).mean()
        loss = self.l1_weight * l1
        terms = {"l1": l1}
        if phase.updates is None or "D" in phase.updates:
            gan = generator_loss(self.D(self._d_input(out["completed"], batch)), "hinge")
            loss = loss + self.gan_weight * gan
            terms["gan"] = gan
        return {"loss": loss, **terms}

    @torch.no_grad()
    def complete(self, batch: dict[str, torch.Tensor], sketch: torch.Tensor | None = None) -> torch.Tensor:
        """Known pixels from the input, hole pixels from stage 2; ``sketch`` overrides the batch's."""
        was = self.G.training
        self.G.eval()
        s = sketch if sketch is not None else self._sketch(batch)
        _, stage2, _ = self.G(batch["image"], batch["mask"], s)
        self.G.train(was)
        return batch["image"] * (1 - batch["mask"]) + stage2 * batch["mask"]

    @torch.no_grad()
    def sample(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([batch["image"] * (1 - batch["mask"]), self.complete(batch), batch["image"]])


__all__: Sequence[str] = ["INITS", "open_gates", "GatedConv2d", "GatedUpConv2d", "GatedConvTranspose2d", "CoarseNetV2", "RefineNetV2",
                          "DeepFillV2Generator", "SNPatchGAN", "largest_singular_value", "edge_sketch", "WithSketch",
                          "sketch_agreement",
                          "sn_patchgan_d_loss", "DeepFillV2Task"]
