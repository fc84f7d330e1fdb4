"""pix2pixHD: high-resolution label-to-photo translation (Wang et al., CVPR 2018).

pix2pix at 2048x1024 fails in two ways: training is unstable and the results lack detail.
pix2pixHD answers with five ideas, each a class or function here, matching the reference
implementation (NVIDIA/pix2pixHD, ``models/networks.py``, ``models/pix2pixHD_model.py``, defaults
from ``options/*.py``):

1. **Coarse-to-fine generator.** A *global generator* G1 (:class:`GlobalGenerator`: 7x7 conv,
   ``n_downsampling`` stride-2 convs, 9 residual blocks, as many transposed convs, 7x7 conv) works
   at half resolution; a *local enhancer* G2 (:class:`LocalEnhancer`) works at full resolution:
   its front end downsamples the full-resolution input once, the result is **added** to G1's last
   feature map, and G2's residual blocks and upsampling take it from there. Trained in three
   stages (:func:`pix2pixhd_phases`): G1 alone, then G2 with G1 fixed, then both.
2. **Multi-scale discriminators** (:class:`MultiscaleDiscriminator`): the same PatchGAN
   (:class:`course_lib.nn.PatchGAN`) at ``num_D`` scales, the image average-pooled by 2 between
   scales. The coarsest sees the global layout, the finest the texture. The paper uses 3; the
   reference's default is 2 (3 for its 2048x1024 runs).
3. **Feature matching** (:func:`course_lib.losses.feature_matching_loss`): G also matches the
   discriminators' intermediate features of real and fake images (L1, lambda_feat = 10), which
   stabilises training; optionally a VGG perceptual loss (:class:`VGGLoss`).
4. **Instance boundary maps** (:func:`boundary_map`): the label map cannot separate two touching
   cars; the instance map can, and its most useful content is its boundaries, concatenated to the
   one-hot labels (:func:`encode_input`).
5. **Instance-wise feature encoder** (:class:`FeatureEncoder`, :func:`instance_average_pool`): an
   encoder-decoder E turns the real image into a low-dimensional feature map averaged over each
   instance; G sees it as extra input channels. After training, the features of all training
   instances are clustered per class with k-means (:func:`cluster_features`); at test time
   choosing a cluster per instance (:func:`sample_feature_map`) gives different plausible outputs
   for the same label map.

Images are (N, 3, H, W) in [-1, 1]; label and instance maps are (N, H, W) integer tensors.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.losses import feature_matching_loss, gan_loss
from course_lib.nn import PatchGAN, init_weights, norm_layer
from course_lib.train.loop import Phase, TrainingTask
from course_lib.translation.pix2pix import adam, check_image

Batch = dict[str, Any]

#: lambda_feat of the paper (Eq. 6) and the reference (``--lambda_feat 10``), for both feature losses
LAMBDA_FEAT = 10.0
#: the reference's VGG loss: L1 on relu1_1 ... relu5_1 of VGG-19 with these weights (``VGGLoss``)
VGG_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
VGG_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)


# --------------------------------------------------------------------------- the input
def _as_maps(maps: torch.Tensor, name: str) -> torch.Tensor:
    """(N, H, W) or (N, 1, H, W) integer maps -> (N, H, W) int64."""
    if not isinstance(maps, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of integer ids, got {type(maps).__name__}")
    if maps.dim() == 4 and maps.shape[1] == 1:
        maps = maps[:, 0]
    if maps.dim() != 3:
        raise ValueError(f"{name} must be (N, H, W) or (N, 1, H, W), got shape {tuple(maps.shape)}")
    if maps.is_floating_point() or maps.is_complex() or maps.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer ids (e.g. torch.long), got dtype {maps.dtype}; "
                        "use .long() on a map read from an image, never a resized/interpolated one")
    return maps.long()


def one_hot(labels: torch.Tensor, label_nc: int) -> torch.Tensor:
    """(N, H, W) class ids in [0, label_nc) -> (N, label_nc, H, W) one-hot float maps.

    The generator gets one channel per class instead of a class index, because the classes have
    no order (class 7 is not "between" classes 6 and 8).
    """
    labels = _as_maps(labels, "labels")
    low, high = int(labels.min()), int(labels.max())
    if low < 0:
        raise ValueError(
            f"labels contain negative ids (min {low}): ids must lie in [0, label_nc = {label_nc}). "
            "Map void or 'ignore' ids (e.g. -1) to a valid class before encoding."
        )
    if high >= label_nc:
        raise ValueError(
            f"labels contain ids in [{low}, {high}] but label_nc = {label_nc}: ids must lie in "
            f"[0, label_nc). Set label_nc to at least {high + 1} (the number of classes of your data set; "
            "the reference's --label_nc), or map the extra ids to a valid class."
        )
    return F.one_hot(labels, label_nc).permute(0, 3, 1, 2).float()


def boundary_map(instances: torch.Tensor) -> torch.Tensor:
    """(N, H, W) instance ids -> (N, 1, H, W): 1 where a pixel's id differs from a 4-neighbour's.

    Both pixels of a differing pair are marked (as the reference's ``get_edges``), so a boundary
    between two objects is two pixels wide and every object keeps a closed outline.
    """
    inst = _as_maps(instances, "instances")
    edge = torch.zeros_like(inst, dtype=torch.bool)
    dh = inst[:, :, 1:] != inst[:, :, :-1]  # horizontal neighbours differ
    dv = inst[:, 1:, :] != inst[:, :-1, :]  # vertical neighbours differ
    edge[:, :, 1:] |= dh
    edge[:, :, :-1] |= dh
    edge[:, 1:, :] |= dv
    edge[:, :-1, :] |= dv
    return edge[:, None].float()


def same_class_boundaries(labels: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) bool: pixels with a 4-neighbour of the *same class* but *another instance*.

    Exactly the borders that the label map cannot show (two touching cars); lecture 05 measures
    the generator's error there.
    """
    lab, inst = _as_maps(labels, "labels"), _as_maps(instances, "instances")
    out = torch.zeros_like(lab, dtype=torch.bool)
    dh = (lab[:, :, 1:] == lab[:, :, :-1]) & (inst[:, :, 1:] != inst[:, :, :-1])
    dv = (lab[:, 1:, :] == lab[:, :-1, :]) & (inst[:, 1:, :] != inst[:, :-1, :])
    out[:, :, 1:] |= dh
    out[:, :, :-1] |= dh
    out[:, 1:, :] |= dv
    out[:, :-1, :] |= dv
    return out[:, None]


def encode_input(labels: torch.Tensor, instances: torch.Tensor | None, label_nc: int) -> torch.Tensor:
    """The generator's conditioning: one-hot labels, plus the instance boundary map if given.

    Returns (N, label_nc (+ 1), H, W).
    """
    x = one_hot(labels, label_nc)
    if instances is None:
        return x
    if tuple(_as_maps(instances, "instances").shape) != tuple(x.shape[:1] + x.shape[2:]):
        raise ValueError(f"instances {tuple(instances.shape)} and labels {tuple(labels.shape)} must have the same shape")
    return torch.cat([x, boundary_map(instances).to(x)], dim=1)


def _check(x: torch.Tensor, channels: int, what: str, factor: int = 1) -> None:
    check_image(x, channels, what, factor, "the network's total downsampling factor")


# --------------------------------------------------------------------------- generators
class ResnetBlock(nn.Module):
    """``x + F(x)``, F = reflect pad, 3x3 conv, norm, ReLU, reflect pad, 3x3 conv, norm. (N, C, H, W) -> same."""

    def __init__(self, dim: int, norm: str = "instance") -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), norm_layer(norm, dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), norm_layer(norm, dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


def _down(c_in: int, c_out: int, norm: str) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), norm_layer(norm, c_out), nn.ReLU(True)]


def _up(c_in: int, c_out: int, norm: str) -> list[nn.Module]:
    return [nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1), norm_layer(norm, c_out),
            nn.ReLU(True)]


def _front(c_in: int, c_out: int, norm: str) -> list[nn.Module]:
    return [nn.ReflectionPad2d(3), nn.Conv2d(c_in, c_out, 7), norm_layer(norm, c_out), nn.ReLU(True)]


def _head(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(c_in, c_out, 7), nn.Tanh())


class GlobalGenerator(nn.Module):
    """G1: (N, in_channels, H, W) -> (N, out_channels, H, W) in [-1, 1]; H, W divisible by 2**n_downsampling.

    c7s1-ngf, then ``n_downsampling`` x (3x3 stride-2 conv, channels doubled), ``n_blocks`` residual
    blocks, ``n_downsampling`` x (3x3 stride-1/2 transposed conv, channels halved), c7s1-3 + tanh.
    The reference's defaults: ngf 64, n_downsampling 4 (``--n_downsample_global``), 9 blocks, instance
    norm. :meth:`features` stops before the last conv: the map G2 adds its own features to.
    """

    def __init__(self, in_channels: int, out_channels: int = 3, ngf: int = 64, n_downsampling: int = 4,
                 n_blocks: int = 9, norm: str = "instance", init_gain: float | None = 0.02) -> None:
        super().__init__()
        if n_downsampling < 0 or n_blocks < 0:
            raise ValueError(f"n_downsampling and n_blocks must be >= 0, got {n_downsampling} and {n_blocks}")
        self.in_channels, self.n_downsampling, self.ngf = in_channels, n_downsampling, ngf
        layers = _front(in_channels, ngf, norm)
        for i in range(n_downsampling):
            layers += _down(ngf * 2**i, ngf * 2 ** (i + 1), norm)
        layers += [ResnetBlock(ngf * 2**n_downsampling, norm) for _ in range(n_blocks)]
        for i in range(n_downsampling, 0, -1):
            layers += _up(ngf * 2**i, ngf * 2 ** (i - 1), norm)
        self.body = nn.Sequential(*layers)
        self.head = _head(ngf, out_channels)
        if init_gain is not None:
            init_weights(self, init_gain)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in, H, W) -> (N, ngf, H, W): the last feature map, before the output convolution."""
        _check(x, self.in_channels, "GlobalGenerator input", 2**self.n_downsampling)
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class LocalEnhancer(nn.Module):
    """G = {G1, G2}: (N, in_channels, H, W) -> (N, out_channels, H, W) in [-1, 1].

    G1 (a :class:`GlobalGenerator` with ``2 * ngf`` filters) runs on the input average-pooled to
    H/2 x W/2. G2's front end (c7s1-ngf, one 3x3 stride-2 conv to 2ngf) turns the full-resolution
    input into an H/2 x W/2 map that is **added** to G1's last feature map (both have 2ngf channels);
    G2's ``n_blocks_local`` residual blocks and one transposed conv bring the sum back to full
    resolution, and a 7x7 conv makes the image. H and W must be divisible by 2**(n_downsample_global + 1).

    The reference's 2048x1024 configuration: ``--netG local --ngf 32`` (G1 has 64 filters), 4
    downsamplings in G1, 9 + 3 residual blocks, instance norm. Unlike the reference we keep G1's
    own output layer (``global_generator.head``): stage 1 trains G1 alone with it.
    """

    def __init__(self, in_channels: int, out_channels: int = 3, ngf: int = 32, n_downsample_global: int = 4,
                 n_blocks_global: int = 9, n_blocks_local: int = 3, norm: str = "instance",
                 init_gain: float | None = 0.02) -> None:
        super().__init__()
        self.in_channels, self.ngf = in_channels, ngf
        self.global_generator = GlobalGenerator(in_channels, out_channels, 2 * ngf, n_downsample_global,
                                                n_blocks_global, norm, init_gain=None)
        self.front = nn.Sequential(*_front(in_channels, ngf, norm), *_down(ngf, 2 * ngf, norm))
        self.blocks = nn.Sequential(*[ResnetBlock(2 * ngf, norm) for _ in range(n_blocks_local)])
        self.up = nn.Sequential(*_up(2 * ngf, ngf, norm))
        self.head = _head(ngf, out_channels)
        # 3x3 average pooling, stride 2, padding not counted: the reference's input pyramid
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        if init_gain is not None:
            init_weights(self, init_gain)

    @property
    def factor(self) -> int:
        return 2 ** (self.global_generator.n_downsampling + 1)

    def forward_global(self, x: torch.Tensor) -> torch.Tensor:
        """Stage 1: G1 alone on the half-resolution input, (N, in, H, W) -> (N, out, H/2, W/2)."""
        _check(x, self.in_channels, "LocalEnhancer input", self.factor)
        return self.global_generator(self.downsample(x))

    def forward(self, x: torch.Tensor, fix_global: bool = False) -> torch.Tensor:
        """Full resolution; ``fix_global=True`` computes G1 without gradient (stage 2: G2 only)."""
        _check(x, self.in_channels, "LocalEnhancer input", self.factor)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not fix_global):
            coarse = self.global_generator.features(self.downsample(x))
        return self.head(self.up(self.blocks(self.front(x) + coarse)))


# --------------------------------------------------------------------------- feature encoder
def instance_average_pool(features: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
    """Replace every pixel's features by the mean over its instance: (N, C, H, W) -> (N, C, H, W).

    Instances are counted per image (id 5 in image 0 and id 5 in image 1 are different objects).
    One vectorised pass: sums and pixel counts per (image, id) with ``index_add``, then a gather.
    Differentiable, so the encoder is trained through it.
    """
    inst = _as_maps(instances, "instances")
    n, c, h, w = features.shape
    if tuple(inst.shape) != (n, h, w):
        raise ValueError(f"instances {tuple(inst.shape)} do not match features {tuple(features.shape)}")
    key = inst + (torch.arange(n, device=inst.device) * (int(inst.max()) + 1)).view(n, 1, 1)
    uniq, index = torch.unique(key.flatten(), return_inverse=True)
    flat = features.permute(0, 2, 3, 1).reshape(-1, c)
    sums = torch.zeros(len(uniq), c, dtype=features.dtype, device=features.device).index_add_(0, index, flat)
    counts = torch.zeros(len(uniq), dtype=features.dtype, device=features.device).index_add_(
        0, index, torch.ones_like(index, dtype=features.dtype))
    means = sums / counts[:, None]
    return means[index].reshape(n, h, w, c).permute(0, 3, 1, 2)


class FeatureEncoder(nn.Module):
    """E: image (N, 3, H, W) in [-1, 1] + instances -> (N, feat_num, H, W), constant on each instance.

    An encoder-decoder (c7s1-nef, ``n_downsampling`` stride-2 convs, as many transposed convs,
    c7s1-feat_num, tanh) followed by :func:`instance_average_pool`. The reference's defaults:
    nef 16, 4 downsamplings, feat_num 3, instance norm.
    """

    def __init__(self, in_channels: int = 3, feat_num: int = 3, nef: int = 16, n_downsampling: int = 4,
                 norm: str = "instance", init_gain: float | None = 0.02) -> None:
        super().__init__()
        self.in_channels, self.feat_num, self.n_downsampling = in_channels, feat_num, n_downsampling
        layers = _front(in_channels, nef, norm)
        for i in range(n_downsampling):
            layers += _down(nef * 2**i, nef * 2 ** (i + 1), norm)
        for i in range(n_downsampling, 0, -1):
            layers += _up(nef * 2**i, nef * 2 ** (i - 1), norm)
        self.body = nn.Sequential(*layers)
        self.head = _head(nef, feat_num)
        if init_gain is not None:
            init_weights(self, init_gain)

    def forward(self, image: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
        _check(image, self.in_channels, "FeatureEncoder image", 2**self.n_downsampling)
        return instance_average_pool(self.head(self.body(image)), instances)


def kmeans(x: torch.Tensor, k: int, iters: int = 300, seed: int = 0, n_init: int = 10) -> torch.Tensor:
    """k-means of (M, D) points -> (min(k, distinct points), D) float32 centres on ``x``'s device.

    scikit-learn's :class:`~sklearn.cluster.KMeans` (k-means++ seeding, then Lloyd's iterations),
    as the reference clusters its features (NVIDIA/pix2pixHD ``encode_features.py``): ``iters`` is
    its ``max_iter``, ``n_init`` seedings are tried and the best kept (10, the default of the
    scikit-learn the reference ran with), and ``seed`` its ``random_state``, so a call is
    deterministic. Never more centres than distinct points: repeated instances give one centre.
    """
    if x.dim() != 2 or len(x) == 0:
        raise ValueError(f"kmeans needs a non-empty (M, D) matrix of points, got shape {tuple(x.shape)}")
    try:
        from sklearn.cluster import KMeans
    except ImportError as exc:
        raise ImportError("kmeans (pix2pixHD's per-class feature clustering) uses scikit-learn's KMeans, as the "
                          "reference does, and scikit-learn is not installed: `pip install scikit-learn`") from exc
    points = x.detach().cpu().double().numpy()
    k = min(k, len(torch.unique(x.detach().cpu(), dim=0)))
    fit = KMeans(n_clusters=k, init="k-means++", n_init=n_init, max_iter=iters, random_state=seed).fit(points)
    return torch.from_numpy(fit.cluster_centers_).float().to(x.device)


@torch.no_grad()
def instance_features(encoder: FeatureEncoder, images: torch.Tensor, labels: torch.Tensor,
                      instances: torch.Tensor) -> list[tuple[int, torch.Tensor, int]]:
    """Encode images and list every instance as ``(class id, feature vector (feat_num,), pixel count)``."""
    labels, instances = _as_maps(labels, "labels"), _as_maps(instances, "instances")
    feats = encoder(images, instances)
    out = []
    for b in range(len(images)):
        for i in torch.unique(instances[b]):
            m = instances[b] == i
            cls = int(torch.mode(labels[b][m]).values)  # an instance belongs to one class
            out.append((cls, feats[b][:, m].mean(1).cpu(), int(m.sum())))
    return out


def cluster_features(encoder: FeatureEncoder, batches: Iterable[Batch], n_clusters: int = 10,
                     min_pixels: int = 1, seed: int = 0) -> dict[int, torch.Tensor]:
    """Per class, k-means on the encoded features of all instances: ``{class id: (k, feat_num) centres}``.

    ``batches`` yields dicts with ``"target"``, ``"labels"``, ``"instances"`` (e.g. a DataLoader over
    the training set). Instances smaller than ``min_pixels`` are skipped (the reference drops tiny
    ones too). ``n_clusters`` = 10 in the reference.
    """
    per_class: dict[int, list[torch.Tensor]] = {}
    was = encoder.training
    encoder.eval()
    for batch in batches:
        for cls, feat, area in instance_features(encoder, batch["target"], batch["labels"], batch["instances"]):
            if area >= min_pixels:
                per_class.setdefault(cls, []).append(feat)
    encoder.train(was)
    return {c: kmeans(torch.stack(v), n_clusters, seed=seed + c) for c, v in sorted(per_class.items())}


def sample_feature_map(centres: dict[int, torch.Tensor], labels: torch.Tensor, instances: torch.Tensor,
                       feat_num: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A feature map (N, feat_num, H, W) with one randomly chosen cluster centre of its class per instance.

    Classes without centres get zeros. Different ``generator`` seeds give different outputs for
    the same label map: pix2pixHD's multimodal synthesis.
    """
    labels, instances = _as_maps(labels, "labels"), _as_maps(instances, "instances")
    n, h, w = labels.shape
    out = torch.zeros(n, feat_num, h, w)
    for b in range(n):
        for i in torch.unique(instances[b]):
            m = instances[b] == i
            cls = int(torch.mode(labels[b][m]).values)
            if cls in centres:
                c = centres[cls]
                out[b][:, m] = c[int(torch.randint(len(c), (1,), generator=generator))][:, None].to(out)
    return out.to(labels.device)


# --------------------------------------------------------------------------- discriminators
class PatchGANFeatures(nn.Module):
    """A :class:`course_lib.nn.PatchGAN` that returns its intermediate features: (N, C, H, W) -> list of maps.

    The PatchGAN's layers are split into groups that end at a LeakyReLU, ``[conv+lrelu,
    (conv+norm+lrelu) x n_layers, final conv]``: the output is the ``n_layers + 1`` intermediate
    maps that feature matching compares, then the patch logits (the reference's ``getIntermFeat``).
    ``padding=2``: the reference pads its 4x4 convs by ceil(3/2) = 2 (pix2pix's PatchGAN pads by 1);
    the weights are the same, the maps a few pixels larger.
    """

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 3, norm: str = "instance",
                 padding: int = 2) -> None:
        super().__init__()
        self.in_channels = in_channels
        d = PatchGAN(in_channels, ndf, n_layers, norm)
        groups: list[nn.Module] = []
        current: list[nn.Module] = []
        for layer in d.model:
            if isinstance(layer, nn.Conv2d) and layer.kernel_size == (4, 4):
                layer.padding = (padding, padding)
            current.append(layer)
            if isinstance(layer, nn.LeakyReLU):
                layer.inplace = False  # the features are returned: no in-place activation
                groups.append(nn.Sequential(*current))
                current = []
        groups.append(nn.Sequential(*current))
        self.groups = nn.ModuleList(groups)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        _check(x, self.in_channels, "discriminator input (condition and image stacked)")
        feats = []
        for group in self.groups:
            x = group(x)
            feats.append(x)
        return feats


class MultiscaleDiscriminator(nn.Module):
    """``num_D`` PatchGANs on an image pyramid: (N, C, H, W) -> list (finest first) of lists of features.

    Scale ``i`` sees the input average-pooled ``i`` times (3x3 window, stride 2, padding not
    counted); each scale is a :class:`PatchGANFeatures` and returns its intermediate maps, then its
    patch logits. With the same architecture the coarsest scale's patches cover 4x more of the image:
    it judges the layout, the finest one the texture.

    Defaults are the reference's: ndf 64, n_layers 3, instance norm, num_D 2 (the paper's
    2048x1024 model uses 3).
    """

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 3, norm: str = "instance",
                 num_D: int = 2, padding: int = 2, init_gain: float | None = 0.02) -> None:
        super().__init__()
        if num_D < 1:
            raise ValueError(f"num_D must be >= 1, got {num_D}")
        self.in_channels, self.num_D, self.n_layers = in_channels, num_D, n_layers
        self.scales = nn.ModuleList([PatchGANFeatures(in_channels, ndf, n_layers, norm, padding) for _ in range(num_D)])
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        if init_gain is not None:
            init_weights(self, init_gain)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        _check(x, self.in_channels, "MultiscaleDiscriminator input (condition and image stacked)")
        results = []
        for i, d in enumerate(self.scales):
            if i > 0:
                x = self.downsample(x)
            results.append(d(x))
        return results


class VGGLoss(nn.Module):
    """The reference's perceptual loss: sum_i w_i * L1(VGG_i(fake), VGG_i(real)), VGG-19 relu1_1...relu5_1.

    Weights 1/32, 1/16, 1/8, 1/4, 1 (the deepest layer counts most). Uses
    :class:`course_lib.style.VGGFeatures` (ImageNet weights when available, else its seeded random
    fallback); images in [-1, 1] are mapped to [0, 1] and ImageNet-normalised (the reference feeds
    [-1, 1] images to VGG unnormalised).
    """

    def __init__(self, weights: str | None = "imagenet") -> None:
        super().__init__()
        from course_lib.style import VGGFeatures

        self.vgg = VGGFeatures(VGG_LAYERS, weights=weights, input_range=(-1.0, 1.0))

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        f = self.vgg(fake)
        with torch.no_grad():
            r = self.vgg(real)
        return sum(w * F.l1_loss(f[k], r[k]) for w, k in zip(VGG_WEIGHTS, VGG_LAYERS))  # type: ignore[return-value]


# --------------------------------------------------------------------------- training
def pix2pixhd_phases(global_steps: int, local_steps: int, joint_steps: int) -> list[Phase]:
    """The paper's schedule: G1 alone (half resolution), G2 with G1 fixed, then both fine-tuned."""
    return [Phase("global G1", global_steps, options={"stage": "global"}),
            Phase("local G2 (G1 fixed)", local_steps, options={"stage": "local"}),
            Phase("joint G1 + G2", joint_steps, options={"stage": "joint"})]


def default_palette(n: int) -> np.ndarray:
    """n distinct colours (RGB in [0, 1]) for showing label maps."""
    import colorsys

    return np.array([colorsys.hsv_to_rgb((i * 0.618034) % 1, 0.65, 0.9 if i % 2 else 0.65) for i in range(n)],
                    np.float32)


class Pix2PixHDTask(TrainingTask):
    """pix2pixHD training. Batches: ``{"labels": (N, H, W), "instances": (N, H, W), "target": (N, 3, H, W)}``.

    Updates per iteration, in the reference's order (``train.py``): **G** (with E) on
    ``GAN(D(cond, fake), real) + feature matching + VGG``, then **D** on ``0.5 * (GAN(D(cond, real),
    real) + GAN(D(cond, fake.detach()), fake))``. ``phase.options["stage"]`` picks the generator:
    ``"global"`` (G1 alone at half resolution), ``"local"`` (G2, G1 fixed), ``"joint"`` (default).

    Args:
        label_nc: number of classes (35 for Cityscapes in the reference); ``0`` means the condition
            is an image ``batch["input"]`` with ``input_nc`` channels instead (the reference's
            ``--label_nc 0``, e.g. for pix2pix-style A|B data sets), normally with ``use_instance=False``.
        use_instance: concatenate the instance boundary map (reference default: yes).
        use_features: add the instance-wise feature encoder E (``--instance_feat``) with ``feat_num`` channels.
        ngf, n_downsample_global, n_blocks_global, n_blocks_local: :class:`LocalEnhancer` settings.
        ndf, n_layers, num_D: :class:`MultiscaleDiscriminator` settings.
        gan_mode: ``"lsgan"`` (reference default), ``"vanilla"``, or ``None`` for an *L1-only* baseline
            (no discriminator; G minimises the mean absolute error to the target, as pix2pix's "L1" row).
        lambda_feat: weight of the feature-matching and VGG losses (10).
        vgg: VGG perceptual loss on (reference default) or off; a :class:`VGGLoss` instance also works.
        nef, n_downsample_E: :class:`FeatureEncoder` settings.
    """

    def __init__(
        self,
        label_nc: int,
        use_instance: bool = True,
        use_features: bool = False,
        feat_num: int = 3,
        out_channels: int = 3,
        ngf: int = 32,
        n_downsample_global: int = 4,
        n_blocks_global: int = 9,
        n_blocks_local: int = 3,
        ndf: int = 64,
        n_layers: int = 3,
        num_D: int = 3,
        norm: str = "instance",
        gan_mode: str | None = "lsgan",
        lambda_feat: float = LAMBDA_FEAT,
        feature_matching: bool = True,
        vgg: bool | nn.Module = True,
        nef: int = 16,
        n_downsample_E: int = 4,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        palette: np.ndarray | None = None,
        input_nc: int = 3,
    ) -> None:
        super().__init__()
        if gan_mode not in ("lsgan", "vanilla", None):
            raise ValueError(f"gan_mode must be 'lsgan' (the reference's default), 'vanilla' or None (L1 only), "
                             f"got {gan_mode!r}")
        if not isinstance(label_nc, int) or label_nc < 0:
            raise ValueError(f"label_nc must be an int >= 0 (0: the condition is an image), got {label_nc!r}")
        self.label_nc, self.use_instance, self.use_features = label_nc, use_instance, use_features
        self.feat_num = feat_num if use_features else 0
        self.input_nc = input_nc
        cond_nc = (label_nc if label_nc > 0 else input_nc) + int(use_instance)
        self.G = LocalEnhancer(cond_nc + self.feat_num, out_channels, ngf, n_downsample_global, n_blocks_global,
                               n_blocks_local, norm)
        self.D = MultiscaleDiscriminator(cond_nc + out_channels, ndf, n_layers, norm, num_D) if gan_mode else None
        self.E = FeatureEncoder(out_channels, feat_num, nef, n_downsample_E, norm) if use_features else None
        self.gan_mode, self.lambda_feat, self.feature_matching = gan_mode, float(lambda_feat), feature_matching
        self.vgg = (VGGLoss() if vgg is True else vgg) if vgg else None
        self.lr, self.betas = lr, betas
        self.palette = default_palette(max(label_nc, 1)) if palette is None else np.asarray(palette, np.float32)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        g_params = list(self.G.parameters()) + (list(self.E.parameters()) if self.E is not None else [])
        opts: dict[str, torch.optim.Optimizer] = {"G": adam(g_params, self.lr, self.betas)}
        if self.D is not None:
            opts["D"] = adam(self.D.parameters(), self.lr, self.betas)
        return opts

    def condition(self, batch: Batch) -> torch.Tensor:
        """One-hot labels (or the input image if label_nc = 0), + boundary map: (N, label_nc (+ 1), H, W)."""
        instances = batch["instances"] if self.use_instance else None
        if self.label_nc > 0:
            return encode_input(batch["labels"], instances, self.label_nc)
        x = batch["input"]
        check_image(x, self.input_nc, "the input image (label_nc = 0)")
        return x if instances is None else torch.cat([x, boundary_map(instances).to(x)], dim=1)

    def generate(self, cond: torch.Tensor, features: torch.Tensor | None = None, stage: str = "joint") -> torch.Tensor:
        """G's output for a condition (and, with the encoder, a feature map of ``feat_num`` channels)."""
        if self.use_features:
            if features is None:
                raise ValueError("this model was trained with the feature encoder: pass a feature map "
                                 "(encode a real image with task.E, or sample one with sample_feature_map)")
            cond = torch.cat([cond, features.to(cond)], dim=1)
        if stage == "global":
            return self.G.forward_global(cond)
        return self.G(cond, fix_global=(stage == "local"))

    def forward_step(self, batch: Batch, phase: Phase) -> dict[str, Any]:
        stage = phase.options.get("stage", "joint")
        if stage not in ("global", "local", "joint"):
            raise ValueError(f"phase option 'stage' must be 'global', 'local' or 'joint', got {stage!r}")
        cond, real = self.condition(batch), batch["target"]
        feats = self.E(real, batch["instances"]) if self.E is not None else None
        fake = self.generate(cond, feats, stage)
        if stage == "global":  # G1 works at half resolution: so do its condition and target
            cond, real = self.G.downsample(cond), self.G.downsample(real)
        return {"fake": fake, "cond": cond, "real": real}

    def update_loss(self, name: str, batch: Batch, out: dict[str, Any], phase: Phase) -> dict[str, torch.Tensor]:
        cond, real, fake = out["cond"], out["real"], out["fake"]
        if name == "D":
            if self.D is None or self.gan_mode is None:
                raise KeyError("unknown update 'D': gan_mode=None (the L1-only baseline) has no discriminator")
            pred_real = self.D(torch.cat([cond, real], 1))
            pred_fake = self.D(torch.cat([cond, fake.detach()], 1))
            d_real, d_fake = gan_loss(pred_real, True, self.gan_mode), gan_loss(pred_fake, False, self.gan_mode)
            return {"loss": 0.5 * (d_real + d_fake), "real": d_real, "fake": d_fake}
        if self.D is None or self.gan_mode is None:  # the L1-only baseline (the two are None together)
            l1 = F.l1_loss(fake, real)
            return {"loss": l1 + (self.lambda_feat * self.vgg(fake, real) if self.vgg is not None else 0), "l1": l1}
        pred_fake = self.D(torch.cat([cond, fake], 1))
        losses = {"gan": gan_loss(pred_fake, True, self.gan_mode)}
        if self.feature_matching:
            with torch.no_grad():
                pred_real = self.D(torch.cat([cond, real], 1))
            losses["feat"] = feature_matching_loss(pred_fake, pred_real, self.lambda_feat)
        if self.vgg is not None:
            losses["vgg"] = self.lambda_feat * self.vgg(fake, real)
        losses["loss"] = sum(losses.values())  # type: ignore[assignment]
        return losses

    @torch.no_grad()
    def translate(self, batch: Batch, features: torch.Tensor | None = None, stage: str = "joint") -> torch.Tensor:
        """Images for a batch's labels/instances (instance norm has no running statistics: no train/eval gap).

        With the feature encoder, ``features`` is a feature map (e.g. from :func:`sample_feature_map`).
        """
        return self.generate(self.condition(batch), features, stage)

    @torch.no_grad()
    def sample(self, batch: Batch) -> torch.Tensor:
        """Rows: the condition (coloured labels or input image), output, target (E encodes the target)."""
        from course_lib.data.paired import label_colours
        from course_lib.translation.pix2pix import as_rgb

        feats = self.E(batch["target"], batch["instances"]) if self.E is not None else None
        fake = self.translate(batch, feats)
        if self.label_nc > 0:
            shown = label_colours(batch["labels"].cpu(), self.palette).to(fake)
        else:
            shown = as_rgb(batch["input"])
        return torch.cat([shown, fake, batch["target"]])


def count_parameters(module: nn.Module | Sequence[nn.Module]) -> int:
    """Number of parameters of a module (or a list of modules)."""
    mods = [module] if isinstance(module, nn.Module) else list(module)
    return sum(p.numel() for m in mods for p in m.parameters())
