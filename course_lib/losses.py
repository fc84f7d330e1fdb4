"""Losses shared by the course's methods.

GAN losses take the discriminator's raw outputs (*logits*, any shape; or a list of them for
multi-scale discriminators, whose losses are summed over scales as in pix2pixHD):

=========  ====================================================  ===============================
mode       discriminator loss (real r, fake f)                   generator loss (fake f)
=========  ====================================================  ===============================
vanilla    BCE(r, 1) + BCE(f, 0)   (Goodfellow et al. 2014)      BCE(f, 1) (non-saturating)
lsgan      (r - 1)^2 + f^2         (Mao et al. 2017)             (f - 1)^2
hinge      relu(1 - r) + relu(1 + f)  (Lim & Ye 2017; SN-GAN)    -f
=========  ====================================================  ===============================

Each term is a mean over its elements. ``discriminator_loss`` returns the *sum* of the real and
fake terms; pix2pix and CycleGAN halve it (``0.5 * discriminator_loss(...)``) to slow D down
relative to G, and say so where they do it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from course_lib._validate import check_nonempty, check_tensor, describe

GAN_MODES = ("vanilla", "lsgan", "hinge")
Logits = torch.Tensor | Sequence[torch.Tensor]


def _check_mode(mode: str) -> None:
    if mode not in GAN_MODES:
        raise ValueError(f"GAN mode must be one of {GAN_MODES}, got {mode!r}")


def _scales(logits: Logits, name: str = "logits") -> list[torch.Tensor]:
    """The logits of each scale, each checked to be a non-empty float tensor.

    Only metadata is checked (no value is read back), so this is free in a training step. An empty
    tensor must be an error: its mean, and so the loss, would be NaN.
    """
    if isinstance(logits, torch.Tensor):
        out = [logits]
    elif isinstance(logits, (list, tuple)):
        out = [t[-1] if isinstance(t, (list, tuple)) and t else t for t in logits]
        if not out:
            raise ValueError(f"{name}: got an empty list of discriminator outputs; pass the discriminator's "
                             "output as it is (a tensor, or a list with one tensor per scale)")
    else:
        raise TypeError(f"{name} must be the discriminator's output, a tensor or a list of tensors (one per scale), "
                        f"got {describe(logits)}")
    for i, t in enumerate(out):
        what = name if isinstance(logits, torch.Tensor) else f"{name}[{i}]"
        check_tensor(t, what, "GAN loss", "a tensor of discriminator logits")
        if not t.is_floating_point():
            raise TypeError(f"GAN loss: {what} must be float logits (the discriminator's raw output), got dtype {t.dtype}")
        check_nonempty(t, what, "GAN loss")
    return out


def gan_loss(logits: Logits, target_is_real: bool, mode: str = "vanilla") -> torch.Tensor:
    """Loss pushing ``logits`` towards "real" (``True``) or "fake" (``False``); vanilla or lsgan.

    A list of tensors (one per discriminator scale; a nested list's last entry is used, so the
    output of a discriminator that also returns its features can be passed as is) sums the losses.
    """
    _check_mode(mode)
    if mode == "hinge":
        raise ValueError("hinge loss is not a target-based loss; use discriminator_loss/generator_loss")
    if not isinstance(target_is_real, (bool, np.bool_)):
        raise TypeError(f"gan_loss: target_is_real must be True (push towards real) or False (towards fake), "
                        f"got {describe(target_is_real)}")
    return _target_loss(logits, target_is_real, mode, "logits")


def _target_loss(logits: Logits, target_is_real: bool, mode: str, name: str) -> torch.Tensor:
    """:func:`gan_loss` after its checks; ``name`` is the argument named in error messages."""
    total: torch.Tensor | float = 0.0  # a tensor once a term is added
    for t in _scales(logits, name):
        target = torch.ones_like(t) if target_is_real else torch.zeros_like(t)
        if mode == "vanilla":
            total = total + F.binary_cross_entropy_with_logits(t, target)
        else:
            total = total + F.mse_loss(t, target)
    return total  # type: ignore[return-value]


def discriminator_loss(real_logits: Logits, fake_logits: Logits, mode: str = "vanilla") -> torch.Tensor:
    """Real term + fake term (not halved). ``fake_logits`` must come from a *detached* fake."""
    _check_mode(mode)
    if mode == "hinge":
        real = sum(F.relu(1 - t).mean() for t in _scales(real_logits, "real_logits"))
        fake = sum(F.relu(1 + t).mean() for t in _scales(fake_logits, "fake_logits"))
        return real + fake  # type: ignore[return-value]
    return _target_loss(real_logits, True, mode, "real_logits") + _target_loss(fake_logits, False, mode, "fake_logits")


def generator_loss(fake_logits: Logits, mode: str = "vanilla") -> torch.Tensor:
    """The generator's adversarial loss: make D call the fake real."""
    _check_mode(mode)
    if mode == "hinge":
        return -sum(t.mean() for t in _scales(fake_logits, "fake_logits"))  # type: ignore[return-value]
    return _target_loss(fake_logits, True, mode, "fake_logits")


# --------------------------------------------------------------------------- feature losses
# Definitions of Gatys et al. 2016 ("Image Style Transfer Using CNNs", Sec. 2): features
# F of layer l are reshaped to a (N_l, M_l) matrix, N_l = channels, M_l = height * width.


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Gatys' content loss ``1/2 * sum (F - P)^2`` over all elements (a sum, not a mean)."""
    if features.shape != target.shape:
        raise ValueError(f"features {tuple(features.shape)} and target {tuple(target.shape)} differ in shape")
    return 0.5 * ((features - target) ** 2).sum()


def gram_matrix(features: torch.Tensor, normalize: bool = False) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C) Gram matrices ``G = F F^T`` of the (C, H*W) feature matrices.

    ``normalize=True`` divides by ``C * H * W``, the convention of feed-forward style transfer
    (Johnson et al. 2016), which makes the value independent of the layer's size; Gatys' loss
    below uses the unnormalised ``G`` and puts its normalisation in the loss instead.
    """
    if features.dim() != 4:
        raise ValueError(f"gram_matrix expects (N, C, H, W) features, got shape {tuple(features.shape)}")
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    g = f @ f.transpose(1, 2)
    return g / (c * h * w) if normalize else g


def style_layer_loss(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """Gatys' per-layer style loss ``E_l = 1 / (4 N_l^2 M_l^2) * sum (G - A)^2`` (summed over the batch)."""
    g = gram_matrix(features)  # checks that features are (N, C, H, W) before they are unpacked
    _, c, h, w = features.shape
    if g.shape[-2:] != target_gram.shape[-2:]:
        raise ValueError(f"target Gram {tuple(target_gram.shape)} does not match features with {c} channels")
    return ((g - target_gram) ** 2).sum() / (4 * c**2 * (h * w) ** 2)


def style_loss(features: dict[str, torch.Tensor], target_grams: dict[str, torch.Tensor],
               weights: dict[str, float] | None = None) -> torch.Tensor:
    """``sum_l w_l E_l`` over the layers of ``target_grams`` (equal weights ``1/L`` by default, as Gatys)."""
    if not target_grams:
        raise ValueError("target_grams is empty: give at least one style layer")
    weights = weights or {k: 1.0 / len(target_grams) for k in target_grams}
    missing = [k for k in target_grams if k not in features]
    if missing:
        raise KeyError(f"features lack the style layers {missing}; extract them with VGGFeatures(layers=...)")
    return sum(weights[k] * style_layer_loss(features[k], target_grams[k]) for k in target_grams)  # type: ignore[return-value]


def tv_loss(images: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """Total variation: squared differences of vertical and horizontal neighbours, (N, C, H, W) -> scalar.

    ``reduction``: ``"sum"`` (as a regulariser added to Gatys' summed losses) or ``"mean"``.
    """
    if images.dim() != 4:
        raise ValueError(f"tv_loss expects (N, C, H, W) images, got shape {tuple(images.shape)}")
    dv = (images[..., 1:, :] - images[..., :-1, :]) ** 2
    dh = (images[..., :, 1:] - images[..., :, :-1]) ** 2
    if reduction == "sum":
        return dv.sum() + dh.sum()
    if reduction == "mean":
        return dv.mean() + dh.mean()
    raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")


def perceptual_loss(extractor: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                    layers: Sequence[str] | None = None, distance: str = "l2") -> torch.Tensor:
    """Feature reconstruction loss (Johnson et al. 2016): mean distance between VGG features of x and y.

    ``extractor`` is a :class:`course_lib.style.VGGFeatures`; ``layers`` defaults to all it returns;
    ``distance``: ``"l2"`` (mean squared) or ``"l1"`` (mean absolute, as partial convolution uses).
    The target's features are computed without gradient.
    """
    fx = extractor(x)
    with torch.no_grad():
        fy = extractor(y)
    names = list(layers) if layers is not None else list(fx)
    if distance not in ("l1", "l2"):
        raise ValueError(f"distance must be 'l1' or 'l2', got {distance!r}")
    op = F.l1_loss if distance == "l1" else F.mse_loss
    return sum(op(fx[k], fy[k]) for k in names)  # type: ignore[return-value]


# --------------------------------------------------------------------------- feed-forward style losses
# Topic 03 (fast style transfer, AdaIN). Two normalisations of the Gram matrix live side by side:
#
# * Gatys et al. (optimisation, above): unnormalised G = F F^T, and the layer loss divides by
#   4 N^2 M^2. One image, one resolution: the constant only rescales beta.
# * Johnson et al. (feed-forward training, here): G / (C H W), a *mean* over positions, so the
#   target computed from a style image of any size can be compared with the Gram of every
#   training output, whatever its size; the layer loss is then a plain squared error.


def gram_style_loss(features: dict[str, torch.Tensor], target_grams: dict[str, torch.Tensor],
                    weights: dict[str, float] | None = None) -> torch.Tensor:
    """Feed-forward style loss: ``sum_l w_l * mean_{n,i,j} (G_l(F)[n]/(C H W) - A_l[n])^2``.

    ``target_grams[l]``: (1, C, C) (one style for the whole batch) or (N, C, C) (one per image,
    e.g. conditional instance norm's mixed batches) Gram matrices *normalised* by C*H*W, as
    ``gram_matrix(style_features, normalize=True)`` returns them. The mean over the C x C entries
    is pytorch/examples' convention (Johnson et al. wrote the squared Frobenius norm, i.e. the
    same times C^2). Weights default to 1 per layer.
    """
    if not target_grams:
        raise ValueError("target_grams is empty: give at least one style layer")
    missing = [k for k in target_grams if k not in features]
    if missing:
        raise KeyError(f"features lack the style layers {missing}; extract them with VGGFeatures(layers=...)")
    total: torch.Tensor | float = 0.0  # a tensor once a term is added
    for k, a in target_grams.items():
        g = gram_matrix(features[k], normalize=True)
        if a.dim() != 3 or a.shape[-2:] != g.shape[-2:] or a.shape[0] not in (1, g.shape[0]):
            raise ValueError(f"target Gram of {k} has shape {tuple(a.shape)}; expected (1 or {g.shape[0]}, "
                             f"{g.shape[1]}, {g.shape[2]})")
        total = total + (1.0 if weights is None else weights[k]) * ((g - a.expand_as(g)) ** 2).mean()
    return total  # type: ignore[return-value]


def feature_mean_std(features: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image and channel mean and standard deviation over the spatial positions.

    (N, C, H, W) -> two (N, C, 1, 1) tensors: ``mu = mean_{h,w} x`` and
    ``sigma = sqrt(var_{h,w} x + eps)`` (population variance; ``eps`` keeps the gradient finite
    for constant maps). The statistics that instance norm removes and AdaIN transplants.
    """
    if features.dim() != 4:
        raise ValueError(f"expected (N, C, H, W) features, got shape {tuple(features.shape)}")
    mu = features.mean(dim=(2, 3), keepdim=True)
    var = features.var(dim=(2, 3), keepdim=True, unbiased=False)
    return mu, torch.sqrt(var + eps)


def mean_std_loss(features: dict[str, torch.Tensor], target_features: dict[str, torch.Tensor],
                  layers: Sequence[str] | None = None) -> torch.Tensor:
    """AdaIN's style loss (Huang & Belongie 2017, Eq. 9): ``sum_l |mu(phi_l(g)) - mu(phi_l(s))|^2 + |sigma(...) - sigma(...)|^2``.

    Squared errors are means over the N x C statistics (as the reference implementation's MSE).
    ``layers`` default to all of ``target_features`` (relu1_1 ... relu4_1 in the paper). The
    target statistics are treated as constants (computed without gradient).
    """
    names = list(layers) if layers is not None else list(target_features)
    if not names:
        raise ValueError("no style layers given")
    total: torch.Tensor | float = 0.0  # a tensor once a term is added
    for k in names:
        if k not in features or k not in target_features:
            raise KeyError(f"layer {k!r} is missing from the features or the targets")
        mu, sigma = feature_mean_std(features[k])
        with torch.no_grad():
            mu_t, sigma_t = feature_mean_std(target_features[k])
        total = total + F.mse_loss(mu, mu_t) + F.mse_loss(sigma, sigma_t)
    return total  # type: ignore[return-value]


# --------------------------------------------------------------------------- feature matching (pix2pixHD)
# Wang et al. 2018 ("High-Resolution Image Synthesis and Semantic Manipulation with Conditional GANs"),
# Eq. 4, with the weighting of the reference implementation (NVIDIA/pix2pixHD, pix2pixHD_model.py).


def feature_matching_loss(fake_features: Sequence[Sequence[torch.Tensor]],
                          real_features: Sequence[Sequence[torch.Tensor]],
                          lambda_feat: float = 10.0) -> torch.Tensor:
    """L1 between the discriminators' intermediate features of fake and real images.

    Both arguments are what a multi-scale discriminator returns: one list per scale, each holding
    the intermediate feature maps followed by the final logits (which are *not* matched). Each of
    the ``n`` intermediate maps of a scale weighs ``4 / n`` and each of the ``num_D`` scales
    ``1 / num_D`` (the reference's ``feat_weights`` and ``D_weights``, with ``n = n_layers + 1``),
    all times ``lambda_feat``. The real features are targets: no gradient flows into them.
    """
    if len(fake_features) != len(real_features) or not fake_features:
        raise ValueError(f"got features of {len(fake_features)} fake and {len(real_features)} real scales; "
                         "pass the outputs of the same discriminator for both")
    num_d = len(fake_features)
    total: torch.Tensor | float = 0.0  # a tensor once a term is added
    for fake_scale, real_scale in zip(fake_features, real_features):
        if len(fake_scale) != len(real_scale) or len(fake_scale) < 2:
            raise ValueError("each scale must list >= 1 intermediate feature map plus the logits, the same for "
                             f"fake and real; got {len(fake_scale)} and {len(real_scale)} entries")
        n = len(fake_scale) - 1
        for f, r in zip(fake_scale[:-1], real_scale[:-1]):
            total = total + (4.0 / n) / num_d * lambda_feat * F.l1_loss(f, r.detach())
    return total  # type: ignore[return-value]
