"""Graders of lab 03 (fast style transfer): AdaIN, a conditional instance norm layer and the
perceptual loss of feed-forward training."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from course_lib import losses
from course_lib.checks.core import (
    Bar,
    Case,
    Mismatch,
    Mistake,
    call_student,
    check_function,
    check_outcome,
)


def _rand(seed: int, shape: tuple[int, ...], scale: float = 1.0, shift: float = 0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g) * scale + shift


# ----------------------------------------------------------------------------- exercise 1
def reference_adain(content: torch.Tensor, style: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    from course_lib.style.adain import adain

    return adain(content, style, eps)


def _stats(x: torch.Tensor, dims: tuple[int, ...], unbiased: bool = False, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    return x.mean(dims, keepdim=True), torch.sqrt(x.var(dims, keepdim=True, unbiased=unbiased) + eps)


def _adain_with(dims: tuple[int, ...], unbiased: bool = False) -> Callable[..., torch.Tensor]:
    def fn(c: torch.Tensor, s: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
        mc, sc = _stats(c, dims, unbiased, eps)
        ms, ss = _stats(s, dims, unbiased, eps)
        return ss * (c - mc) / sc + ms
    return fn


def _adain_no_style_mean(c: torch.Tensor, s: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    mc, sc = _stats(c, (2, 3))
    _, ss = _stats(s, (2, 3))
    return ss * (c - mc) / sc


def _adain_swapped(c: torch.Tensor, s: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    mc, sc = _stats(c, (2, 3))
    ms, ss = _stats(s, (2, 3))
    return sc * (c - mc) / ss + mc


def _adain_mean_only(c: torch.Tensor, s: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    return c - c.mean((2, 3), keepdim=True) + s.mean((2, 3), keepdim=True)


ADAIN_CASES = [
    # standard deviations well above sqrt(eps), so that where eps goes does not matter
    Case("a batch of 2, 4 channels", (_rand(2, (2, 4, 5, 5), 1.5), _rand(3, (2, 4, 6, 4), 3.0, 2.0)), grad=True),
    Case("one image, 3 channels, 4x4 content and 3x5 style",
         (_rand(0, (1, 3, 4, 4), 2.0, 1.0), _rand(1, (1, 3, 3, 5), 1.2, -1.0)), grad=True),
    Case("one style image for a batch of 3", (_rand(4, (3, 2, 4, 3)), _rand(5, (1, 2, 5, 5), 1.5, 0.5))),
]


def check_adain(student_fn: Callable[..., torch.Tensor]) -> None:
    """Exercise 1: ``sigma(y) * (x - mu(x)) / sigma(x) + mu(y)`` per image and channel."""
    check_function(
        "adain", student_fn, reference_adain, ADAIN_CASES,
        mistakes=[
            Mistake("the statistics are taken over the wrong axes: batch norm's (N, H, W). AdaIN is an "
                    "*instance* norm: one mean and std per image and channel, over (H, W) only", _adain_with((0, 2, 3))),
            Mistake("the statistics are taken over the wrong axes (C, H, W): that is layer norm. Use dims (2, 3), "
                    "one mean and std per image and channel", _adain_with((1, 2, 3))),
            Mistake("the std is computed over all axes; use dims (2, 3) with keepdim=True", _adain_with((0, 1, 2, 3))),
            Mistake("torch.std/var default to the unbiased estimator (divide by n - 1); AdaIN matches the "
                    "population statistics: pass unbiased=False (and add eps inside the square root)",
                    _adain_with((2, 3), unbiased=True)),
            Mistake("the style's mean is missing: add mu(style) after scaling", _adain_no_style_mean),
            Mistake("content and style are swapped: normalise the *content* and give it the *style's* statistics",
                    _adain_swapped),
            Mistake("you matched the mean only: also divide by sigma(content) and multiply by sigma(style)",
                    _adain_mean_only),
        ],
        hint="mu = x.mean(dim=(2, 3), keepdim=True); sigma = (x.var(dim=(2, 3), keepdim=True, unbiased=False) + eps).sqrt()",
    )


# ----------------------------------------------------------------------------- exercise 2
def reference_conditional_instance_norm(x: torch.Tensor, style_weights: torch.Tensor, gamma: torch.Tensor,
                                        beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    mu = x.mean((2, 3), keepdim=True)
    sigma = torch.sqrt(x.var((2, 3), keepdim=True, unbiased=False) + eps)
    g = (style_weights @ gamma)[:, :, None, None]
    b = (style_weights @ beta)[:, :, None, None]
    return g * (x - mu) / sigma + b


def _cin_batch_stats(x, w, gamma, beta, eps=1e-5):
    mu = x.mean((0, 2, 3), keepdim=True)
    sigma = torch.sqrt(x.var((0, 2, 3), keepdim=True, unbiased=False) + eps)
    return (w @ gamma)[:, :, None, None] * (x - mu) / sigma + (w @ beta)[:, :, None, None]


def _cin_first_style(x, w, gamma, beta, eps=1e-5):
    return nn.functional.instance_norm(x, eps=eps) * gamma[0][None, :, None, None] + beta[0][None, :, None, None]


def _cin_affine_first(x, w, gamma, beta, eps=1e-5):
    y = (w @ gamma)[:, :, None, None] * x + (w @ beta)[:, :, None, None]
    return nn.functional.instance_norm(y, eps=eps)


def _cin_no_beta(x, w, gamma, beta, eps=1e-5):
    return nn.functional.instance_norm(x, eps=eps) * (w @ gamma)[:, :, None, None]


def _cin_cases() -> list[Case]:
    x = _rand(6, (3, 4, 5, 5), 2.0, 1.0)
    gamma, beta = _rand(7, (3, 4), 0.3, 1.0), _rand(8, (3, 4))
    one_hot = nn.functional.one_hot(torch.tensor([2, 0, 1]), 3).float()
    mixed = torch.tensor([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [0.0, 0.0, 1.0]])
    return [
        Case("three images, styles 2, 0, 1 (one-hot weights)", (x, one_hot, gamma, beta), grad=True),
        Case("mixed styles (interpolation)", (x, mixed, gamma, beta), grad=True),
        Case("one image, one style", (x[:1], torch.ones(1, 1), gamma[:1], beta[:1])),
    ]


def check_conditional_instance_norm(student_fn: Callable[..., torch.Tensor]) -> None:
    """Exercise 2: instance norm, then the weighted mix of the styles' (gamma, beta)."""
    check_function(
        "conditional_instance_norm", student_fn, reference_conditional_instance_norm, _cin_cases(),
        mistakes=[
            Mistake("the mean and std are taken over the batch too (batch norm): normalise each image and "
                    "channel over (H, W) only, dims (2, 3)", _cin_batch_stats),
            Mistake("every image uses style 0: mix the styles' parameters with the weights, "
                    "gamma = style_weights @ gamma (shape (N, C))", _cin_first_style),
            Mistake("the scale and shift are applied before normalising, which removes them again: "
                    "normalise first, then gamma * x_hat + beta", _cin_affine_first),
            Mistake("beta (the shift) is missing", _cin_no_beta),
        ],
        hint="g = (style_weights @ gamma)[:, :, None, None]; same for beta; return g * x_hat + b",
    )


# ----------------------------------------------------------------------------- exercise 3
def reference_perceptual_loss(out_features: dict[str, torch.Tensor], content_features: dict[str, torch.Tensor],
                              style_grams: dict[str, torch.Tensor], content_layer: str,
                              style_weight: float) -> torch.Tensor:
    content = nn.functional.mse_loss(out_features[content_layer], content_features[content_layer].detach())
    style = losses.gram_style_loss(out_features, style_grams)
    return content + style_weight * style


def _pl_unnormalised_gram(of, cf, sg, layer, w):
    content = nn.functional.mse_loss(of[layer], cf[layer])
    style = sum(((losses.gram_matrix(of[k]) - a) ** 2).mean() for k, a in sg.items())
    return content + w * style


def _pl_gatys_normalisation(of, cf, sg, layer, w):
    content = nn.functional.mse_loss(of[layer], cf[layer])
    return content + w * sum(losses.style_layer_loss(of[k], a) for k, a in sg.items())


def _pl_content_sum(of, cf, sg, layer, w):
    content = ((of[layer] - cf[layer]) ** 2).sum()
    return content + w * losses.gram_style_loss(of, sg)


def _pl_content_everywhere(of, cf, sg, layer, w):
    content = sum(nn.functional.mse_loss(of[k], cf[k]) for k in of)
    return content + w * losses.gram_style_loss(of, sg)


def _pl_no_style_weight(of, cf, sg, layer, w):
    return nn.functional.mse_loss(of[layer], cf[layer]) + losses.gram_style_loss(of, sg)


def _perceptual_cases() -> list[Case]:
    def feats(seed: int, n: int) -> dict[str, torch.Tensor]:
        return {"a": torch.relu(_rand(seed, (n, 3, 4, 4))), "b": torch.relu(_rand(seed + 1, (n, 5, 2, 2)))}

    grams = {k: losses.gram_matrix(v, normalize=True) for k, v in feats(20, 1).items()}
    grams2 = {k: losses.gram_matrix(v, normalize=True) for k, v in feats(22, 2).items()}
    return [
        Case("content at 'b', style at 'a' and 'b', style weight 10", (feats(10, 2), feats(12, 2), grams, "b", 10.0), grad=True,
             constants=("content_features", "style_grams")),  # targets: detaching them is fine
        Case("content at 'a', one style per image", (feats(14, 2), feats(16, 2), grams2, "a", 3.0), grad=True,
             constants=("content_features", "style_grams")),
    ]


def check_perceptual_loss(student_fn: Callable[..., torch.Tensor]) -> None:
    """Exercise 3: Johnson et al.'s feature reconstruction + style reconstruction loss."""
    check_function(
        "perceptual_loss", student_fn, reference_perceptual_loss, _perceptual_cases(),
        mistakes=[
            Mistake("your Gram matrix is not normalised by C*H*W: feed-forward training compares the *normalised* "
                    "Gram of the output with the (normalised) style targets", _pl_unnormalised_gram),
            Mistake("that is Gatys' style loss (raw Gram, 1/(4 N^2 M^2)); here use the Gram normalised by C*H*W "
                    "and the mean squared difference", _pl_gatys_normalisation),
            Mistake("the content term should be the mean squared error (1/(C H W) |.|^2, Johnson et al.), not the sum",
                    _pl_content_sum),
            Mistake("the content term uses only content_layer, not every layer", _pl_content_everywhere),
            Mistake("the style term must be multiplied by style_weight", _pl_no_style_weight),
        ],
        hint="mse(out[content_layer], content[content_layer]) + style_weight * sum over layers of "
             "mean((gram(out[k], normalize=True) - style_grams[k]) ** 2)",
    )


# ----------------------------------------------------------------------------- exercise 4
#: the grader's budget: STEPS updates of BATCH 48x48 photo crops, two styles (about 30 s on one CPU core)
TRAIN_CROPS, TEST_CROPS, CROP, STEPS, BATCH = 400, 16, 48, 120, 4
STYLES, STYLE_LAYERS, CONTENT_LAYER = ("swirls", "mosaic"), ("relu1_1", "relu2_1", "relu3_1"), "relu2_1"
#: how many decades (log10) below the photos' own style loss the stylised outputs' must be. The
#: reference solution (the lab's TinyStyleNet, 120 steps), seeds 0-4: 1.03-1.33 decades below (log10
#: style loss -7.24 to -7.33 against the photos' -5.94 to -6.30). Wrong variants, seeds 0-1: each
#: image trained towards the other style's Gram matrices: 0.44-0.50 decades below; style weight 1:
#: 0.01-0.10. (A style weight of 1e8 fails the content bar below only just: 0.147 decades, seed 1.)
STYLE_DECADES = 0.7
#: how many decades below the style images' content loss the outputs' must stay. The reference,
#: seeds 0-4: 0.27-0.39 decades below (log10 content loss -1.71 to -1.86 against -1.44 to -1.48).
CONTENT_DECADES = 0.15


def style_net_data(seed: int = 0) -> dict[str, Any]:
    """The grader's data: ``vgg`` (relu1_1-relu3_1), ``train`` and ``test`` photo crops
    (N, 3, 48, 48) in [0, 1], ``grams`` {layer: (2, C, C)} the styles' Gram matrices normalised by
    C*H*W (from 128 px style images) and ``styles`` (2, 3, 48, 48) the style images at crop size."""
    from course_lib.style.fast import StyledContent
    from course_lib.style.images import style_image
    from course_lib.style.vgg import VGGFeatures

    vgg = VGGFeatures(layers=STYLE_LAYERS)
    train_set = StyledContent(size=CROP, length=TRAIN_CROPS, seed=seed)
    test_set = StyledContent(size=CROP, length=TEST_CROPS, seed=seed + 1000)
    with torch.no_grad():
        targets = [vgg(style_image(n, 128)[None]) for n in STYLES]
        grams = {k: torch.cat([losses.gram_matrix(t[k], normalize=True) for t in targets]) for k in STYLE_LAYERS}
    return {"vgg": vgg, "grams": grams,
            "train": torch.stack([train_set[i]["content"] for i in range(TRAIN_CROPS)]),
            "test": torch.stack([test_set[i]["content"] for i in range(TEST_CROPS)]),
            "styles": torch.stack([style_image(n, CROP) for n in STYLES])}


def _style_scores(vgg: nn.Module, images: list[torch.Tensor], photos: torch.Tensor,
                  grams: dict[str, torch.Tensor]) -> tuple[float, float]:
    """(style loss, content loss) averaged over the styles: ``images[s]`` (N, 3, H, W) against style
    s's Gram matrices (feed-forward style loss, summed over the layers) and against the photos'
    features at CONTENT_LAYER (mean squared error)."""
    style, content = 0.0, 0.0
    with torch.no_grad():
        fp = vgg(photos)[CONTENT_LAYER]
        for s, image in enumerate(images):
            f = vgg(image)
            style += float(losses.gram_style_loss(f, {k: g[s:s + 1] for k, g in grams.items()}))
            content += float(nn.functional.mse_loss(f[CONTENT_LAYER].expand_as(fp), fp))
    return style / len(images), content / len(images)


def check_train_style_net(student_fn: Callable[..., nn.Module], seed: int = 0) -> nn.Module:
    """Train with ``student_fn(vgg, photos, style_grams, content_layer, steps, batch_size, seed) -> net``;
    grade ``net(photo, one_hot(style))`` on held-out crops by the two perceptual losses.

    The outputs' style loss must fall STYLE_DECADES decades below the photos' own (the styles were
    learned) while their content loss stays below the style images' (the photos are still there).
    Returns the trained network.
    """
    data = style_net_data(seed)
    vgg, grams, test = data["vgg"], data["grams"], data["test"]
    n_styles = len(STYLES)
    state: dict[str, Any] = {}

    def train_and_score() -> tuple[nn.Module, float]:
        net = call_student(student_fn, vgg, data["train"].clone(), {k: g.clone() for k, g in grams.items()},
                           CONTENT_LAYER, STEPS, BATCH, seed)
        if not isinstance(net, nn.Module):
            raise Mismatch(f"train_style_net should return the network (an nn.Module), got {type(net).__name__}")
        net.eval()
        outputs = []
        with torch.no_grad():
            for s in range(n_styles):
                w = nn.functional.one_hot(torch.full((len(test),), s), n_styles).float()
                out = call_student(net, test, w)
                if not isinstance(out, torch.Tensor) or out.shape != test.shape:
                    got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                    raise Mismatch(f"net(photos, style_weights) should return {tuple(test.shape)} images, got {got}")
                outputs.append(out)
        state["style"], state["content"] = _style_scores(vgg, outputs, test, grams)
        return net, math.log10(max(state["style"], 1e-30))

    def style_bars() -> list[Bar]:
        style, _ = _style_scores(vgg, [test] * n_styles, test, grams)
        return [Bar("the photos themselves", math.log10(style), STYLE_DECADES)]

    net = check_outcome(
        "train_style_net", train_and_score, style_bars, metric="log10 style loss", lower_is_better=True,
        reference="1.0-1.3 decades below the photos' own, seeds 0-4",
        advice="the styles were not learned: each image's style weights (one-hot) must select the Gram "
               "targets of the same style (style_grams[k][s]), the loss must be your perceptual_loss of the "
               "network's output (with a style weight of about 1e5), and the optimizer must step every iteration",
    )

    def content_score() -> tuple[nn.Module, float]:
        return net, math.log10(max(state["content"], 1e-30))

    def content_bars() -> list[Bar]:
        _, content = _style_scores(vgg, [data["styles"][s:s + 1] for s in range(n_styles)], test, grams)
        return [Bar("the style images", math.log10(content), CONTENT_DECADES)]

    return check_outcome(
        "train_style_net", content_score, content_bars, metric="log10 content loss",
        lower_is_better=True, reference="0.3-0.4 decade below the style images', seeds 0-4",
        advice="the photos were lost: the content target must be the VGG features of the input photos "
               "themselves (not of the style image), and the style weight must not be far above 1e5",
    )


# ----------------------------------------------------------------------------- hints on request
# The lab's stubs only say where help is ("Run lab03.hint('name') for a hint"); these are the
# hints, from the idea (level 1) through the steps and shapes (level 2) to nearly the code (3).
from course_lib.checks.core import make_hint  # noqa: E402  (kept apart from the checks above)

HINTS: dict[str, tuple[str, str, str]] = {
    'adain': (
        'AdaIN (Huang and Belongie, 2017, eq. 8) normalises each channel of the content features '
        'per image, then gives it the mean and standard deviation of the same channel of the style'
        ' features.',
        'For both inputs compute per-image, per-channel statistics over the spatial axes, keeping '
        'shape (N, C, 1, 1) so they broadcast: the mean and sqrt(biased variance + eps). Output: '
        'sigma_style * (content - mu_content) / sigma_content + mu_style.',
        'mu = x.mean(dim=(2, 3), keepdim=True); sigma = (x.var(dim=(2, 3), keepdim=True, '
        'unbiased=False) + eps).sqrt()',
    ),
    'conditional_instance_norm': (
        'Conditional instance norm (Dumoulin et al., 2017) is instance normalisation whose scale '
        'and shift are a mix of per-style parameters, weighted by style_weights.',
        'Normalise x per image and channel over (H, W) (mean, sqrt(biased variance + eps)). The '
        'mixed scale is style_weights (N, S) times gamma (S, C), giving (N, C); same for beta. Add'
        ' two trailing axes to get (N, C, 1, 1), then scale * normalised + shift.',
        'g = (style_weights @ gamma)[:, :, None, None] has shape (N, C, 1, 1)',
    ),
    'perceptual_loss': (
        'The perceptual loss of Johnson et al. (2016) is a content term at one layer plus a '
        'weighted style term over several layers, both as means of squared errors.',
        "Content: the mean squared error between the output's and the content image's features at "
        'content_layer (the target detached). Style: for every layer in style_grams, the mean '
        "squared error between the output's normalised Gram matrix and the target Gram; sum over "
        'layers and multiply by style_weight; add both terms.',
        'nn.functional.mse_loss for the content; gram_matrix(..., normalize=True) for the style',
    ),
    'train_style_net': (
        'Feed-forward style transfer trains an ordinary network: each step stylises a batch of '
        'photos, each with a style chosen at random, and the perceptual loss compares the output '
        "with its own photo's features and its own style's Gram matrices.",
        'S = the first dimension of any style_grams entry; net = TinyStyleNet(n_styles=S); Adam '
        'at 2e-3. Each step: x = a random batch of photos (B, 3, 48, 48); s = random style indices '
        '(B,); w = one_hot(s, S).float() (B, S); fy = vgg(net(x, w)); fx = vgg(x) without '
        'gradient; the targets {k: g[s]} give each image (C, C) of its own style; loss = your '
        'perceptual_loss(fy, fx, targets, content_layer, style_weight=1e5); zero_grad, backward, '
        'step.',
        'loss = perceptual_loss(vgg(net(x, w)), fx, {k: g[s] for k, g in style_grams.items()}, '
        'content_layer, style_weight=1e5)',
    ),
}
hint = make_hint("lab03", HINTS)


# ----------------------------------------------------------------------------- graded questions
# The short, graded part of the lab's Questions (the written part is read by the teacher).
from course_lib.checks.core import check_answer  # noqa: E402  (kept apart from the checks above)


def tiny_style_net_numbers_per_style(c: int = 16) -> int:
    """gamma and beta of every CIN layer of the lab's TinyStyleNet: channels c, 2c, 4c (x5), 2c, c."""
    return 2 * sum([c, 2 * c] + [4 * c] * 5 + [2 * c, c])


def check_question_1(answer: object) -> None:
    """How many numbers one extra style adds to the lab's TinyStyleNet(n_styles, c=16)."""
    n = tiny_style_net_numbers_per_style(16)
    check_answer(
        "question_1", answer, expected=n,
        wrong={
            n // 2: "that is one number per normalised channel; each channel has a scale (gamma) "
                    "and a shift (beta) per style",
            2 * n: "that is two styles' worth: count the numbers of one more style",
            n + 6: "the last 9x9 convolution has no normalisation after it, so it adds nothing per style",
        },
        explain="Count, for every CIN layer, the numbers that belong to one style (its row of gamma "
                "and its row of beta); the convolutions are shared by all styles.",
    )
