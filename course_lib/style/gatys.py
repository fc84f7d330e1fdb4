"""Images as the solution of an optimisation: feature inversion and Gatys et al.'s style transfer.

Both methods optimise the *pixels* of an image so that its CNN features match targets; the
network's weights never change.

* **Feature inversion** (Mahendran & Vedaldi 2015, "Understanding Deep Image Representations by
  Inverting Them"): ``x* = argmin_x l(Phi(x), Phi_0) + lambda R(x)``, with ``l`` the squared
  distance normalised by ``|Phi_0|^2`` and ``R`` a total-variation regulariser that stops the
  optimiser from hiding energy in pixel noise the features cannot see. Inverting deeper layers
  shows what the network keeps (layout) and throws away (exact detail).
* **Neural style transfer** (Gatys, Ecker & Bethge 2016, "Image Style Transfer Using
  Convolutional Neural Networks"): ``L_total = alpha L_content + beta L_style`` with the losses
  of :mod:`course_lib.losses` (content ``1/2 sum (F - P)^2`` at one layer; style
  ``sum_l w_l E_l``, ``E_l = 1/(4 N_l^2 M_l^2) sum (G - A)^2`` over several layers). The paper uses
  conv4_2 for content, conv1_1 ... conv5_1 (we take the ReLU outputs, as most re-implementations
  do) for style with ``w_l = 1/5``, ratios ``alpha / beta`` of 1e-3 to 1e-4, L-BFGS, and average
  pooling instead of max pooling.

Images are (1, 3, H, W) tensors in [0, 1]. Both entry points accept ``optimizer="lbfgs"`` (the
papers' choice) or ``"adam"`` and count *evaluations* (one forward and backward pass each), the
unit of cost on any machine: L-BFGS evaluates the loss several times per ``.step()``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from course_lib.losses import content_loss, gram_matrix, style_loss, tv_loss
from course_lib.style.vgg import VGGFeatures

#: Gatys et al. 2016's layers (conv4_2 for content; conv1_1 ... conv5_1 for style), as ReLU outputs
GATYS_CONTENT_LAYERS: tuple[str, ...] = ("relu4_2",)
GATYS_STYLE_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def _check_image(name: str, x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[0] != 1 or x.shape[1] != 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be one RGB image of shape (1, 3, H, W) in [0, 1], got {shape}; "
                         "add the batch dimension with x[None]")
    if float(x.min()) < -1e-3 or float(x.max()) > 1 + 1e-3:
        raise ValueError(f"{name} must lie in [0, 1], got values in [{float(x.min()):.3g}, {float(x.max()):.3g}]; "
                         "convert [-1, 1] images with (x + 1) / 2")


@dataclass
class OptimisationResult:
    """What an image optimisation produced.

    ``image``: (1, 3, H, W) in [0, 1]. ``history``: one list per loss term (``"total"`` and the
    terms), one entry per evaluation. ``evaluations``: forward+backward passes used.
    """

    image: torch.Tensor
    history: dict[str, list[float]] = field(default_factory=dict)
    evaluations: int = 0
    seconds: float = 0.0

    @property
    def reduction(self) -> float:
        """How many times smaller the total loss is at the end than at the start."""
        total = self.history["total"]
        return total[0] / max(total[-1], 1e-30)


def optimise_image(
    loss_fn: Callable[[torch.Tensor], Mapping[str, torch.Tensor]],
    init: torch.Tensor,
    evaluations: int,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    progress: bool = True,
) -> OptimisationResult:
    """Minimise ``loss_fn(image)["total"]`` over the pixels of ``image``, starting from ``init``.

    Pixels must stay in [0, 1]. With Adam the image is clamped after every step (a projection).
    L-BFGS cannot be projected like that: moving the point behind its back spoils the curvature
    model and line search it relies on (clamping inside its loop made it 5x slower to reduce the
    loss in our tests), and clamping only at the end undoes much of its progress, because the
    unconstrained optimum has pixels far outside [0, 1]. So for L-BFGS the image is
    parameterised as ``x = sigmoid(z)`` and ``z`` is optimised without constraints (the original
    implementations used L-BFGS-B, which takes box constraints), with a strong-Wolfe line search
    so that no step overshoots into the sigmoid's flat tails. ``lr``: Adam's step (default 0.02,
    for pixels in [0, 1]) or L-BFGS's (default 1, its natural scale). Every evaluation's loss
    terms are recorded in ``history``; the last entry is the loss of the returned image.
    ``evaluations`` is exact for Adam; L-BFGS stops at the first step boundary after it, so it may
    overrun by part of one line search. ``progress`` shows a bar of the evaluations (a widget in
    Jupyter; ``TQDM_DISABLE=1`` turns it off everywhere, as in the course's tests).
    """
    if optimizer not in ("lbfgs", "adam"):
        raise ValueError(f"optimizer must be 'lbfgs' or 'adam', got {optimizer!r}")
    if not isinstance(evaluations, int) or evaluations < 1:
        raise ValueError(f"evaluations must be a positive int, got {evaluations!r}")
    from course_lib.train import estimate
    from course_lib.train.loop import progress_bar

    if estimate.active() and not estimate.counting():
        # `make estimate`: two counted evaluations stand for the planned ones
        return estimate.counted_loop(f"image optimisation ({optimizer})", evaluations, min(2, evaluations),
                                     lambda n: optimise_image(loss_fn, init, n, optimizer, lr))
    start = init.detach().clamp(0, 1)
    if optimizer == "adam":
        param = start.clone().requires_grad_(True)
        to_image: Callable[[torch.Tensor], torch.Tensor] = lambda p: p  # noqa: E731
    else:
        param = torch.logit(start.clamp(1e-3, 1 - 1e-3)).requires_grad_(True)
        to_image = torch.sigmoid
    history: dict[str, list[float]] = {}
    count = 0
    t0 = time.perf_counter()
    bar = progress_bar(evaluations, desc=f"image optimisation ({optimizer})", enabled=progress)

    def closure() -> torch.Tensor:
        nonlocal count
        opt.zero_grad()
        terms = loss_fn(to_image(param))
        terms["total"].backward()
        count += 1
        for k, v in terms.items():
            history.setdefault(k, []).append(float(v.detach()))
        if not math.isfinite(history["total"][-1]):
            bar.close()
            raise FloatingPointError("the loss became NaN/inf: lower the learning rate or the loss weights")
        if count <= evaluations:  # L-BFGS may overrun by part of a line search
            bar.update(1)
        if count % 10 == 0:
            bar.set_postfix(loss=f"{history['total'][-1]:.3g}", refresh=False)
        return terms["total"]

    if optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam([param], lr=lr or 0.02)
        while count < evaluations:
            opt.step(closure)  # type: ignore[arg-type]  # torch stubs: closure -> float; Adam accepts the loss tensor
            with torch.no_grad():
                param.clamp_(0, 1)
    else:
        # max_iter and max_eval cap the evaluations of one .step(); we stop when the budget is spent.
        opt = torch.optim.LBFGS([param], lr=lr or 1.0, max_iter=min(20, evaluations), history_size=50,
                                line_search_fn="strong_wolfe",
                                tolerance_grad=0.0, tolerance_change=0.0)
        while count < evaluations:
            left = evaluations - count
            for group in opt.param_groups:
                group["max_iter"] = min(20, left)
                group["max_eval"] = min(25, left)
            opt.step(closure)
    bar.close()
    with torch.no_grad():
        image = to_image(param).clamp(0, 1)
        for k, v in loss_fn(image).items():  # the loss of the image we return (Adam's last step moved it)
            history[k][-1] = float(v)
    return OptimisationResult(image.detach(), history, count, time.perf_counter() - t0)


def noise_like(image: torch.Tensor, seed: int = 0, amplitude: float = 1.0) -> torch.Tensor:
    """White-noise start of the same shape, from its own seeded generator: uniform in
    ``[0.5 - amplitude / 2, 0.5 + amplitude / 2]`` (``amplitude=1``: all of [0, 1])."""
    g = torch.Generator().manual_seed(seed)
    return (0.5 + amplitude * (torch.rand(image.shape, generator=g) - 0.5)).to(image.device)


# --------------------------------------------------------------------------- feature inversion
def invert_features(
    extractor: VGGFeatures,
    image: torch.Tensor,
    layer: str,
    evaluations: int = 200,
    tv_weight: float = 1.0,
    optimizer: str = "lbfgs",
    seed: int = 0,
    noise: float = 1.0,
) -> OptimisationResult:
    """Reconstruct ``image`` (1, 3, H, W) in [0, 1] from its features at ``layer`` alone.

    Loss (Mahendran & Vedaldi 2015, Eq. 1 with their normalised Euclidean loss and a TV prior):
    ``|Phi(x) - Phi_0|^2 / |Phi_0|^2 + tv_weight * TV(x)``, where ``TV`` is the mean squared
    difference of neighbouring pixels (``tv_loss(..., "mean")``, their ``beta = 2`` variant).
    The start is white noise (``noise`` = its amplitude around grey; 1 = uniform in [0, 1]), so
    whatever structure appears comes from the features.
    """
    _check_image("image", image)
    if layer not in extractor.layers:
        raise ValueError(f"layer {layer!r} is not returned by the extractor; build VGGFeatures(layers=(..., {layer!r}))")
    with torch.no_grad():
        target = extractor(image)[layer]
    norm = target.pow(2).sum().clamp_min(1e-12)

    def loss_fn(x: torch.Tensor) -> dict[str, torch.Tensor]:
        rec = (extractor(x)[layer] - target).pow(2).sum() / norm
        tv = tv_loss(x, reduction="mean")
        return {"total": rec + tv_weight * tv, "features": rec, "tv": tv}

    return optimise_image(loss_fn, noise_like(image, seed, noise), evaluations, optimizer)


# --------------------------------------------------------------------------- Gatys style transfer
class GatysLoss(nn.Module):
    """``alpha * L_content + beta * L_style + tv_weight * TV`` for one content and one style image.

    The targets are computed once, without gradient: ``P`` (content features) and ``A`` (the
    style image's Gram matrices). The style image is resized to the content image's size if they
    differ, because Gatys' ``E_l`` compares Gram matrices summed over ``M_l`` positions.

    ``forward(x)`` returns ``{"total", "content", "style", "tv"}`` (unweighted terms + weighted total).
    """

    def __init__(
        self,
        extractor: VGGFeatures,
        content: torch.Tensor,
        style: torch.Tensor,
        content_layers: Sequence[str] = GATYS_CONTENT_LAYERS,
        style_layers: Sequence[str] = GATYS_STYLE_LAYERS,
        content_weight: float = 1.0,
        style_weight: float = 1e3,
        tv_weight: float = 0.0,
        style_layer_weights: Mapping[str, float] | None = None,
    ) -> None:
        super().__init__()
        _check_image("content", content)
        _check_image("style", style)
        missing = [n for n in (*content_layers, *style_layers) if n not in extractor.layers]
        if missing:
            raise ValueError(f"the extractor does not return {missing}; build it with "
                             f"VGGFeatures(layers={tuple(dict.fromkeys((*content_layers, *style_layers)))})")
        if style.shape[-2:] != content.shape[-2:]:
            style = nn.functional.interpolate(style, size=content.shape[-2:], mode="bilinear",
                                              antialias=True, align_corners=False).clamp(0, 1)
        self.extractor = extractor
        self.content_layers, self.style_layers = tuple(content_layers), tuple(style_layers)
        self.alpha, self.beta, self.tv_weight = content_weight, style_weight, tv_weight
        self.style_layer_weights = dict(style_layer_weights) if style_layer_weights else None
        with torch.no_grad():
            fc, fs = extractor(content), extractor(style)
            self.content_targets = {k: fc[k].detach() for k in self.content_layers}
            self.style_targets = {k: gram_matrix(fs[k]).detach() for k in self.style_layers}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = self.extractor(x)
        lc = sum(content_loss(feats[k], self.content_targets[k]) for k in self.content_layers)
        ls = style_loss(feats, self.style_targets, self.style_layer_weights)
        tv = tv_loss(x) if self.tv_weight else x.new_zeros(())
        total = self.alpha * lc + self.beta * ls + self.tv_weight * tv
        return {"total": total, "content": lc, "style": ls, "tv": tv}  # type: ignore[dict-item]


def style_transfer(
    content: torch.Tensor,
    style: torch.Tensor,
    extractor: VGGFeatures | None = None,
    content_layers: Sequence[str] = GATYS_CONTENT_LAYERS,
    style_layers: Sequence[str] = GATYS_STYLE_LAYERS,
    content_weight: float = 1.0,
    style_weight: float = 1e3,
    tv_weight: float = 0.0,
    evaluations: int = 300,
    optimizer: str = "lbfgs",
    init: str | torch.Tensor = "noise",
    lr: float | None = None,
    seed: int = 0,
) -> OptimisationResult:
    """Gatys et al.'s neural style transfer: optimise an image to ``content``'s content and ``style``'s style.

    Args:
        content, style: (1, 3, H, W) images in [0, 1] (the style is resized to the content's size).
        extractor: a :class:`VGGFeatures` returning every layer named (default: VGG-19 with
            average pooling as in the paper, ImageNet weights when available, truncated after the
            deepest layer used).
        content_weight, style_weight: ``alpha`` and ``beta``; only their ratio matters for the
            result (and the overall scale for the optimiser's step size).
        tv_weight: weight of the total-variation smoothness term (0: none, as in the paper).
        evaluations: forward+backward passes (Gatys et al. ran L-BFGS for about 500-1000).
        optimizer: ``"lbfgs"`` or ``"adam"``.
        init: ``"noise"`` (the paper's white-noise start), ``"content"`` or a (1, 3, H, W) tensor.
    """
    if extractor is None:
        extractor = VGGFeatures(layers=tuple(dict.fromkeys((*style_layers, *content_layers))), pooling="avg")
        extractor = extractor.to(content.device)
    loss = GatysLoss(extractor, content, style, content_layers, style_layers, content_weight, style_weight, tv_weight)
    if isinstance(init, torch.Tensor):
        _check_image("init", init)
        start = init
    elif init == "noise":
        start = noise_like(content, seed)
    elif init == "content":
        start = content
    else:
        raise ValueError(f"init must be 'noise', 'content' or an image tensor, got {init!r}")
    return optimise_image(loss, start, evaluations, optimizer, lr)


@dataclass
class WeightSweep:
    """Style transfer results for several style/content weight ratios (what the slider shows).

    ``ratios[i]`` is ``beta / alpha`` of ``images[i]`` (1, 3, H, W); ``content_losses`` and
    ``style_losses`` are the final unweighted loss terms.
    """

    ratios: list[float]
    images: list[torch.Tensor]
    content_losses: list[float]
    style_losses: list[float]

    def nearest(self, log10_ratio: float) -> int:
        """Index of the ratio closest to ``10 ** log10_ratio``."""
        return min(range(len(self.ratios)), key=lambda i: abs(math.log10(self.ratios[i]) - log10_ratio))


def weight_sweep(
    content: torch.Tensor,
    style: torch.Tensor,
    ratios: Sequence[float],
    extractor: VGGFeatures | None = None,
    evaluations: int = 100,
    **kwargs,
) -> WeightSweep:
    """Run :func:`style_transfer` once per ``beta / alpha`` ratio (``alpha = 1``), same noise start.

    Extra keyword arguments go to :func:`style_transfer` (layers, optimizer, init, ...).
    """
    if not ratios:
        raise ValueError("ratios is empty: give at least one style/content weight ratio, e.g. [1e2, 1e3, 1e4]")
    out = WeightSweep([], [], [], [])
    for r in ratios:
        if r <= 0:
            raise ValueError(f"ratios must be positive, got {r}")
        res = style_transfer(content, style, extractor, content_weight=1.0, style_weight=float(r),
                             evaluations=evaluations, **kwargs)
        out.ratios.append(float(r))
        out.images.append(res.image)
        out.content_losses.append(res.history["content"][-1])
        out.style_losses.append(res.history["style"][-1])
    return out


def layout_and_detail(image: torch.Tensor, reference: torch.Tensor, sigma: float = 2.0) -> tuple[float, float]:
    """How well ``image`` keeps ``reference``'s layout and its detail, as two correlations in [-1, 1].

    Both (1, 3, H, W) images are split by a Gaussian blur of std ``sigma`` pixels into a coarse part
    (the blur: layout, large shapes, colour regions) and a fine part (image minus blur: edges and
    texture). Returns the correlation of the coarse parts and of the fine parts. 1 = kept exactly,
    0 = unrelated.
    """
    from torchvision.transforms.v2.functional import gaussian_blur

    k = 2 * int(3 * sigma) + 1

    def corr(a: torch.Tensor, b: torch.Tensor) -> float:
        a, b = a - a.mean(), b - b.mean()
        return float((a * b).sum() / (a.norm() * b.norm()).clamp_min(1e-12))

    blur_x, blur_r = gaussian_blur(image, [k, k], [sigma, sigma]), gaussian_blur(reference, [k, k], [sigma, sigma])
    return corr(blur_x, blur_r), corr(image - blur_x, reference - blur_r)


@torch.no_grad()
def balanced_style_weight(
    extractor: VGGFeatures,
    content: torch.Tensor,
    style: torch.Tensor,
    content_layers: Sequence[str] = GATYS_CONTENT_LAYERS,
    style_layers: Sequence[str] = GATYS_STYLE_LAYERS,
    balance: float = 10.0,
) -> float:
    """A starting value of ``beta / alpha`` that works for any loss network and image size.

    The raw losses' scales depend on the network's weights, the input normalisation and the
    number of pixels, so a ratio tuned for one set-up (Gatys et al.'s 1e3-1e4 for Caffe's VGG on
    0-255 images) means nothing for another. This returns the ratio at which the style loss of
    the *photo* weighs ``balance`` times the content loss of *white noise*: both terms then start
    from comparable, substantial values. Tune from there (the lecture's slider sweeps it).
    """
    probe = GatysLoss(extractor, content, style, content_layers, style_layers, 1.0, 1.0)
    content_of_noise = float(probe(noise_like(content))["content"])
    style_of_photo = float(probe(content)["style"])
    return balance * content_of_noise / max(style_of_photo, 1e-30)
