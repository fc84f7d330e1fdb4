"""Graders of lab 02 (CNN features and Gatys style transfer): content loss, Gram matrix, style
loss, total variation and the optimisation loop."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from course_lib import losses
from course_lib.checks.core import (
    Bar,
    Case,
    Mismatch,
    Mistake,
    call_student,
    check_function,
    check_outcome,
    run_cases,
)


def _features(seed: int, shape: tuple[int, ...]) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.relu(torch.randn(shape, generator=g))  # ReLU features: non-negative, like VGG's


# ----------------------------------------------------------------------------- exercise 1
def reference_content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return losses.content_loss(features, target)


# the target is a constant (the photo's features): `target.detach()`, the PyTorch tutorial's idiom,
# is as right as not detaching, so only the gradient w.r.t. the features is compared
CONTENT_CASES = [
    Case("one image, 2 channels, 3x3", (_features(0, (1, 2, 3, 3)), _features(1, (1, 2, 3, 3))), grad=True,
         constants=("target",)),
    Case("a batch of 2, 4 channels, 5x4", (_features(2, (2, 4, 5, 4)), _features(3, (2, 4, 5, 4))), grad=True,
         constants=("target",)),
    Case("identical features", (_features(4, (1, 3, 2, 2)), _features(4, (1, 3, 2, 2)))),
]


def check_content_loss(student_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Exercise 1: ``1/2 sum (F - P)^2``."""
    check_function(
        "content_loss", student_fn, reference_content_loss, CONTENT_CASES,
        mistakes=[
            Mistake("you took the mean: Gatys' content loss is a *sum* over all channels and positions",
                    lambda f, p: 0.5 * ((f - p) ** 2).mean()),
            Mistake("the factor 1/2 is missing (it makes the gradient simply F - P)", lambda f, p: ((f - p) ** 2).sum()),
            Mistake("that is the Euclidean distance |F - P|; the loss uses its square", lambda f, p: 0.5 * (f - p).norm()),
            Mistake("the differences must be squared, not taken in absolute value", lambda f, p: 0.5 * (f - p).abs().sum()),
        ],
        hint="0.5 * ((features - target) ** 2).sum()",
    )


# ----------------------------------------------------------------------------- exercise 2
def reference_gram_matrix(features: torch.Tensor, normalize: bool = False) -> torch.Tensor:
    return losses.gram_matrix(features, normalize)


def _gram_positions(f: torch.Tensor, normalize: bool = False) -> torch.Tensor:
    n, c, h, w = f.shape
    m = f.reshape(n, c, h * w)
    return m.transpose(1, 2) @ m


def _gram_no_batch(f: torch.Tensor, normalize: bool = False) -> torch.Tensor:
    c = f.shape[1]
    m = f.reshape(c, -1)
    g = m @ m.T
    return g / f[0].numel() if normalize else g


def _gram_scrambled(f: torch.Tensor, normalize: bool = False) -> torch.Tensor:
    n, c, h, w = f.shape
    m = f.reshape(n, h * w, c).transpose(1, 2)
    g = m @ m.transpose(1, 2)
    return g / (c * h * w) if normalize else g


def _gram_always_normalised(f: torch.Tensor, normalize: bool = False) -> torch.Tensor:
    return losses.gram_matrix(f, True)


def _gram_never_normalised(f: torch.Tensor, normalize: bool = False) -> torch.Tensor:
    return losses.gram_matrix(f, False)


def _gram_by_positions_only(f: torch.Tensor, normalize: bool = False) -> torch.Tensor:
    g = losses.gram_matrix(f)
    return g / (f.shape[2] * f.shape[3]) if normalize else g


GRAM_CASES = [
    Case("one image, 2 channels, 2x2", (torch.tensor([[[[1.0, 2.0], [0.0, 1.0]], [[0.0, 1.0], [2.0, 0.0]]]]),)),
    Case("one image, 3 channels, 4x5", (_features(5, (1, 3, 4, 5)),), grad=True),
    Case("a batch of 2 images", (_features(6, (2, 4, 3, 3)),), grad=True),
    Case("normalize=True divides by C*H*W", (_features(7, (2, 3, 4, 2)), True), grad=True),
    Case("normalize=False (the default) does not", (_features(8, (1, 5, 3, 3)), False)),
]


def check_gram_matrix(student_fn: Callable[..., torch.Tensor]) -> None:
    """Exercise 2: batched Gram matrices ``F F^T`` of the (C, H*W) feature matrices."""
    check_function(
        "gram_matrix", student_fn, reference_gram_matrix, GRAM_CASES,
        mistakes=[
            Mistake("your Gram matrix is (H*W) x (H*W): you multiplied over the channel axis. G_ij sums over "
                    "positions, so it is C x C: reshape to (N, C, H*W) and compute F @ F^T", _gram_positions),
            Mistake("the batch dimension is missing: reshape to (N, C, H*W) and use batched matmul, so every "
                    "image gets its own C x C matrix", _gram_no_batch),
            Mistake("reshape(N, H*W, C) scrambles the channels (the memory order is N, C, H, W): reshape to "
                    "(N, C, H*W) instead", _gram_scrambled),
            Mistake("you always divide by C*H*W: only normalize=True should (Gatys uses the raw sums)",
                    _gram_always_normalised),
            Mistake("your Gram matrix is not normalised by C*H*W when normalize=True", _gram_never_normalised),
            Mistake("normalize=True must divide by C*H*W, not only by the number of positions H*W",
                    _gram_by_positions_only),
        ],
        hint="n, c, h, w = features.shape; f = features.reshape(n, c, h * w); g = f @ f.transpose(1, 2)",
    )


# ----------------------------------------------------------------------------- exercise 3
def reference_style_layer_loss(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    return losses.style_layer_loss(features, target_gram)


def _style_no_norm(f: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    return ((losses.gram_matrix(f) - a) ** 2).sum()


def _style_m_not_squared(f: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    _, c, h, w = f.shape
    return ((losses.gram_matrix(f) - a) ** 2).sum() / (4 * c**2 * h * w)


def _style_mean(f: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    return ((losses.gram_matrix(f) - a) ** 2).mean()


def _style_no_four(f: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    _, c, h, w = f.shape
    return ((losses.gram_matrix(f) - a) ** 2).sum() / (c**2 * (h * w) ** 2)


def _style_m_is_height(f: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    _, c, h, w = f.shape
    return ((losses.gram_matrix(f) - a) ** 2).sum() / (4 * c**2 * h**2)


def _style_cases() -> list[Case]:
    f1, f2, f3 = _features(9, (1, 2, 2, 3)), _features(10, (1, 4, 3, 5)), _features(11, (2, 3, 4, 4))
    return [
        Case("2 channels, 2x3, target 0", (f1, torch.zeros(1, 2, 2)), grad=True, constants=("target_gram",)),
        Case("4 channels, 3x5", (f2, losses.gram_matrix(_features(12, (1, 4, 3, 5)))), grad=True, constants=("target_gram",)),
        Case("a batch of 2", (f3, losses.gram_matrix(_features(13, (1, 3, 4, 4))).expand(2, 3, 3)), grad=True, constants=("target_gram",)),
    ]


def check_style_layer_loss(student_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Exercise 3: ``E_l = 1 / (4 N_l^2 M_l^2) * sum (G - A)^2`` with your gram_matrix."""
    check_function(
        "style_layer_loss", student_fn, reference_style_layer_loss, _style_cases(),
        mistakes=[
            Mistake("you forgot the normalisation 1 / (4 N^2 M^2): without it deep layers with many channels "
                    "and shallow layers with many positions get wildly different weights", _style_no_norm),
            Mistake("M_l must be squared too: divide by 4 * N^2 * M^2 (G is a sum over M positions, so "
                    "(G - A)^2 grows like M^2)", _style_m_not_squared),
            Mistake("you took the mean over the N x N entries; the loss is the sum divided by 4 N^2 M^2",
                    _style_mean),
            Mistake("the factor 4 is missing: 1 / (4 N^2 M^2)", _style_no_four),
            Mistake("M_l is the number of positions H * W, not the height", _style_m_is_height),
        ],
        hint="_, n, h, w = features.shape; m = h * w; return ((gram_matrix(features) - target_gram) ** 2).sum() / (4 * n**2 * m**2)",
    )


# ----------------------------------------------------------------------------- exercise 4
def reference_total_variation(images: torch.Tensor) -> torch.Tensor:
    return losses.tv_loss(images, reduction="sum")


def _tv_abs(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).abs().sum() + (x[..., :, 1:] - x[..., :, :-1]).abs().sum()


def _tv_one_direction(x: torch.Tensor) -> torch.Tensor:
    return ((x[..., :, 1:] - x[..., :, :-1]) ** 2).sum()


def _tv_other_direction(x: torch.Tensor) -> torch.Tensor:
    return ((x[..., 1:, :] - x[..., :-1, :]) ** 2).sum()


def _tv_wraps(x: torch.Tensor) -> torch.Tensor:
    return ((x - x.roll(1, -2)) ** 2).sum() + ((x - x.roll(1, -1)) ** 2).sum()


def _tv_mean(x: torch.Tensor) -> torch.Tensor:
    return ((x[..., 1:, :] - x[..., :-1, :]) ** 2).mean() + ((x[..., :, 1:] - x[..., :, :-1]) ** 2).mean()


TV_CASES = [
    Case("a 1x1x2x3 ramp", (torch.tensor([[[[0.0, 1.0, 3.0], [1.0, 1.0, 3.0]]]]),)),
    Case("random 2x3x5x4 images", (torch.rand(2, 3, 5, 4, generator=torch.Generator().manual_seed(14)),), grad=True),
    Case("a constant image", (torch.full((1, 3, 4, 4), 0.3),)),
]


def check_total_variation(student_fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Exercise 4: squared differences of vertical and horizontal neighbours, summed."""
    check_function(
        "total_variation", student_fn, reference_total_variation, TV_CASES,
        mistakes=[
            Mistake("square the neighbour differences (you summed their absolute values)", _tv_abs),
            Mistake("only horizontal neighbours are counted: add the vertical differences (along H) too",
                    _tv_one_direction),
            Mistake("only vertical neighbours are counted: add the horizontal differences (along W) too",
                    _tv_other_direction),
            Mistake("torch.roll wraps around: it compares the last row with the first. Slice instead: "
                    "x[..., 1:, :] - x[..., :-1, :]", _tv_wraps),
            Mistake("sum the squared differences (you took means)", _tv_mean),
        ],
        hint="dv = x[..., 1:, :] - x[..., :-1, :]; dh = x[..., :, 1:] - x[..., :, :-1]",
    )


# ----------------------------------------------------------------------------- exercise 5
def reference_optimise_image(loss_fn: Callable[[torch.Tensor], torch.Tensor], init: torch.Tensor,
                             steps: int, lr: float = 0.02) -> tuple[torch.Tensor, list[float]]:
    image = init.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([image], lr=lr)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(image)
        loss.backward()
        opt.step()
        with torch.no_grad():
            image.clamp_(0, 1)
        history.append(loss.item())
    return image.detach(), history


def _without_zero_grad(loss_fn: Callable, init: torch.Tensor, steps: int, lr: float = 0.02) -> tuple[torch.Tensor, list[float]]:
    image = init.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([image], lr=lr)
    history = []
    for _ in range(steps):
        loss = loss_fn(image)
        loss.backward()
        opt.step()
        with torch.no_grad():
            image.clamp_(0, 1)
        history.append(loss.item())
    return image.detach(), history


def _without_clamp(loss_fn: Callable, init: torch.Tensor, steps: int, lr: float = 0.02) -> tuple[torch.Tensor, list[float]]:
    image = init.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([image], lr=lr)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(image)
        loss.backward()
        opt.step()
        history.append(loss.item())
    return image.detach(), history


def check_optimise_image(student_fn: Callable[..., tuple[torch.Tensor, list[float]]]) -> None:
    """Exercise 5: Adam on the pixels, zeroing gradients each step, clamping to [0, 1], recording the loss."""
    g = torch.Generator().manual_seed(15)
    target = torch.rand(1, 3, 6, 6, generator=g) * 1.4 - 0.2  # partly outside [0, 1]: the clamp matters
    init = torch.rand(1, 3, 6, 6, generator=g)

    def loss_fn(x: torch.Tensor) -> torch.Tensor:
        return ((x - target) ** 2).sum() + 0.1 * (x[..., 1:, :] - x[..., :-1, :]).pow(2).sum()

    expected_img, expected_hist = reference_optimise_image(loss_fn, init, 25, 0.05)

    def run() -> tuple[torch.Tensor, list[float], torch.Tensor]:
        start = init.clone()
        out = call_student(student_fn, loss_fn, start, 25, 0.05)
        if not isinstance(out, tuple) or len(out) != 2:
            raise Mismatch("return a tuple (image, losses): the optimised image and the list of losses, one per step")
        return out[0], out[1], start

    def returns_image_and_history() -> None:
        img, hist, _ = run()
        if not isinstance(img, torch.Tensor) or img.shape != init.shape:
            raise Mismatch(f"the image must be a tensor of the shape of init {tuple(init.shape)}")
        if len(hist) != 25:
            raise Mismatch(f"losses should hold one value per step (25), got {len(hist)}")
        if any(isinstance(v, torch.Tensor) for v in hist):
            raise Mismatch("losses should be Python floats: append loss.item(), not the tensor `loss` (a tensor "
                           "keeps the whole graph of its step alive, so memory grows with every step)")
        if not all(isinstance(v, (float, int)) and not isinstance(v, bool) for v in hist):
            raise Mismatch("losses should be numbers: append loss.item()")

    def leaves_init_alone() -> None:
        _, _, start = run()
        if not torch.equal(start, init):
            raise Mismatch("you changed the tensor passed as init: optimise a copy, "
                           "init.detach().clone().requires_grad_(True)")

    def follows_adam() -> None:
        img, hist, _ = run()
        if not isinstance(img, torch.Tensor) or len(hist) == 0:
            raise Mismatch("fix the previous case first: return (image, losses)")
        img = img.detach()
        if torch.allclose(img, init.clamp(0, 1)):
            raise Mismatch("the image did not change: the optimiser must update the very tensor you pass to "
                           "loss_fn (create it with requires_grad=True and give it to torch.optim.Adam)")
        if torch.allclose(img, expected_img, atol=1e-4) and abs(float(hist[0]) - expected_hist[0]) < 1e-3:
            return
        wrong, _ = _without_zero_grad(loss_fn, init, 25, 0.05)
        if torch.allclose(img, wrong, atol=1e-4):
            raise Mismatch("call optimizer.zero_grad() every step: backward() adds to .grad, so the "
                           "gradients of all previous steps pile up")
        wrong, _ = _without_clamp(loss_fn, init, 25, 0.05)
        if torch.allclose(img, wrong, atol=1e-4):
            raise Mismatch("clamp the image to [0, 1] after every step (inside torch.no_grad()), "
                           "or pixels drift outside the range an image can have")
        if float(img.min()) < -1e-6 or float(img.max()) > 1 + 1e-6:
            raise Mismatch("the image leaves [0, 1]: clamp it after every step")
        if abs(float(hist[0]) - expected_hist[0]) > 1e-3:
            raise Mismatch(f"the first recorded loss should be {expected_hist[0]:.4f} (the loss of init, "
                           f"before the first step), got {float(hist[0]):.4f}")
        raise Mismatch("the result differs from 25 Adam steps with lr=lr: use torch.optim.Adam([image], lr=lr), "
                       "and per step: zero_grad, loss, backward, step, clamp")

    run_cases("optimise_image", [
        ("returns (image, losses) with one loss per step", returns_image_and_history),
        ("does not modify init", leaves_init_alone),
        ("takes the same steps as Adam with zero_grad and clamping", follows_adam),
    ], hint="image = init.detach().clone().requires_grad_(True); opt = torch.optim.Adam([image], lr=lr)")


def check_stylised(result: Any, losses_history: Any, min_reduction: float = 10.0) -> None:
    """The final exercise's result: an image in [0, 1] whose loss fell at least ``min_reduction`` times."""

    def image_ok() -> None:
        if not isinstance(result, torch.Tensor) or result.dim() != 4 or result.shape[:2] != (1, 3):
            raise Mismatch("the result should be a (1, 3, H, W) image tensor")
        if float(result.min()) < 0 or float(result.max()) > 1:
            raise Mismatch("the result must lie in [0, 1]")

    def reduced() -> None:
        hist = [float(v) for v in losses_history]
        if len(hist) < 2:
            raise Mismatch("pass the list of losses returned by optimise_image")
        ratio = hist[0] / max(hist[-1], 1e-30)
        if ratio < min_reduction:
            raise Mismatch(f"the total loss fell only {ratio:.1f}x (needs {min_reduction:g}x): check the "
                           "weights (style_weight much larger than content_weight) and the number of steps")

    run_cases("style transfer", [("an image in [0, 1]", image_ok), (f"loss reduced >= {min_reduction:g}x", reduced)])


# ----------------------------------------------------------------------------- exercise 6
#: the grader's budget: 64x64 images, STEPS Adam steps on the pixels (about 10 s on one CPU core)
SIZE, STEPS = 64, 80
STYLE_LAYERS, CONTENT_LAYER = ("relu1_1", "relu2_1", "relu3_1", "relu4_1"), "relu4_1"
#: (content photo, style image) per grading seed: seed i uses PAIRS[i % len(PAIRS)]
PAIRS = (("chelsea", "swirls"), ("astronaut", "strokes"), ("coffee", "mosaic"), ("rocket", "waves"),
         ("chelsea", "dots"))
#: how many decades (log10) below the content photo's style loss the result's must be. The
#: reference solution (the lab's pieces, balanced style weight), seeds 0-4: 1.74-2.41 decades below
#: (log10 style loss -5.46 to -6.55 against the photos' -3.72 to -4.14). Wrong variants, seeds 0-1:
#: style weight 1 (not balanced): 0.00 decades; content and style swapped: 0.01-0.07; Gram
#: targets normalised by C*H*W (measured with 150 steps): 0.01 below, 0.25 above.
STYLE_DECADES = 1.0
#: how many decades below the style image's content loss the result's must stay. The reference,
#: seeds 0-4: 0.31-0.51 decades below (log10 content loss 0.57-1.16 against the style images'
#: 1.05-1.50); the style weight 1e4 times the balanced one: 0.08 below (seed 0), 0.11 above (seed 1).
CONTENT_DECADES = 0.15


def stylise_inputs(seed: int = 0) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """The grader's loss network (VGG-19 features, average pooling) and the seed's content photo
    and style image, each (1, 3, 64, 64) in [0, 1]."""
    from course_lib.data import load_photo
    from course_lib.style import VGGFeatures
    from course_lib.style.images import style_image

    photo, style = PAIRS[seed % len(PAIRS)]
    vgg = VGGFeatures(layers=STYLE_LAYERS, pooling="avg")
    return vgg, load_photo(photo, SIZE)[None], style_image(style, SIZE)[None]


def gatys_losses(vgg: torch.nn.Module, image: torch.Tensor, content: torch.Tensor,
                 style: torch.Tensor) -> tuple[float, float]:
    """(style loss, content loss) of ``image``: the mean of Gatys' E_l over STYLE_LAYERS against the
    style image, and 1/2 sum (F - P)^2 at CONTENT_LAYER against the content photo."""
    with torch.no_grad():
        f, fc, fs = vgg(image), vgg(content), vgg(style)
        e = [reference_style_layer_loss(f[k], reference_gram_matrix(fs[k])) for k in STYLE_LAYERS]
        return float(sum(e) / len(e)), float(reference_content_loss(f[CONTENT_LAYER], fc[CONTENT_LAYER]))


def check_stylise(student_fn: Callable[..., torch.Tensor], seed: int = 0) -> torch.Tensor:
    """Run ``student_fn(vgg, content, style, content_layer, style_layers, steps) -> image``; grade
    the image by Gatys' two losses, measured here with the reference functions.

    Its style loss must fall at least STYLE_DECADES decades below the content photo's (the style
    was transferred) while its content loss stays below the style image's (the photo is still
    there). Returns the stylised image (1, 3, 64, 64).
    """
    vgg, content, style = stylise_inputs(seed)
    state: dict[str, Any] = {}

    def run_student() -> tuple[torch.Tensor, float]:
        image = call_student(student_fn, vgg, content.clone(), style.clone(), CONTENT_LAYER,
                             list(STYLE_LAYERS), STEPS)
        if isinstance(image, tuple):
            raise Mismatch("stylise should return the image only, not (image, losses)")
        if not isinstance(image, torch.Tensor) or tuple(image.shape) != tuple(content.shape):
            got = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
            raise Mismatch(f"stylise should return an image of shape {tuple(content.shape)}, got {got}")
        image = image.detach()
        if float(image.min()) < -1e-6 or float(image.max()) > 1 + 1e-6:
            raise Mismatch("the image must lie in [0, 1]: clamp it after every step (optimise_image does)")
        state["image"] = image
        state["style"], state["content"] = gatys_losses(vgg, image, content, style)
        return image, math.log10(max(state["style"], 1e-30))

    def style_bars() -> list[Bar]:
        photo_style, _ = gatys_losses(vgg, content, content, style)
        return [Bar("the content photo", math.log10(photo_style), STYLE_DECADES)]

    image = check_outcome(
        "stylise", run_student, style_bars, metric="log10 style loss", lower_is_better=True,
        reference="1.7-2.4 decades below the content photo's, over five image pairs",
        advice="the style was not transferred: the Gram targets must come from the style image (with "
               "your gram_matrix, unnormalised, as style_layer_loss expects), and the style term needs a "
               "weight far above the content's (balanced_style_weight gives a good one)",
    )

    def content_score() -> tuple[torch.Tensor, float]:
        return image, math.log10(max(state["content"], 1e-30))

    def content_bars() -> list[Bar]:
        _, style_content = gatys_losses(vgg, style, content, style)
        return [Bar("the style image", math.log10(style_content), CONTENT_DECADES)]

    return check_outcome(
        "stylise", content_score, content_bars, metric="log10 content loss", lower_is_better=True,
        reference="0.3-0.5 decades below the style image's, over five image pairs",
        advice="the photo was lost: start the optimisation from the content photo, take the content "
               "target from the photo's features at content_layer, and keep the style weight balanced "
               "(not thousands of times larger)",
    )


# ----------------------------------------------------------------------------- hints on request
# The lab's stubs only say where help is ("Run lab02.hint('name') for a hint"); these are the
# hints, from the idea (level 1) through the steps and shapes (level 2) to nearly the code (3).
from course_lib.checks.core import make_hint  # noqa: E402  (kept apart from the checks above)

HINTS: dict[str, tuple[str, str, str]] = {
    'content_loss': (
        'The content loss of Gatys et al. (2016, eq. 1) is half the sum of squared differences '
        'between the two feature maps: no mean, no square root.',
        'Subtract the target from the features (same shape), square element-wise, sum over every '
        'element (batch, channels and positions) to one number, multiply by 0.5.',
        'square the difference, sum everything, halve',
    ),
    'gram_matrix': (
        'The Gram matrix holds, for every pair of channels, the inner product of their two feature'
        ' maps over all positions: where each channel is, is forgotten; which channels fire '
        'together, is kept.',
        'Flatten the spatial axes: (N, C, H, W) -> (N, C, H*W); multiply it by its own transpose '
        'to get (N, C, C). With normalize=True divide by C * H * W.',
        'reshape to (N, C, H*W), then f @ f.transpose(1, 2)',
    ),
    'style_layer_loss': (
        'The style loss of one layer compares the Gram matrix of the features with the target Gram'
        ' matrix, with the normalisation of Gatys et al. (2016, eq. 4): 1 / (4 N^2 M^2), N '
        'channels, M positions.',
        'Compute G from the features with your gram_matrix (not normalised); sum (G - target)^2 '
        "over every element; divide by 4 * C^2 * (H * W)^2, reading C, H and W from the features' "
        'shape.',
        'G = gram_matrix(features); divide the summed squared difference by 4 * C**2 * (H*W)**2',
    ),
    'total_variation': (
        'Total variation penalises differences between neighbouring pixels, vertically and '
        'horizontally, so the optimised image stays smooth.',
        'Take the difference of every pixel with the one below it (shape (N, C, H-1, W)) and with '
        'the one to its right (shape (N, C, H, W-1)); square both and add up all their elements.',
        'slice: images[..., 1:, :] - images[..., :-1, :] and the same along W',
    ),
    'optimise_image': (
        'Here the image itself is the parameter being trained: make a copy of init that requires a'
        ' gradient, give it to Adam, and repeat the usual training step.',
        'Steps: a detached copy of init with requires_grad; torch.optim.Adam([image], lr=lr); for '
        'each step: zero_grad, loss = loss_fn(image), backward, step, then clamp the image to [0, '
        '1] without tracking gradients and remember loss.item(). Return the detached image and the'
        ' list of losses.',
        'image = init.detach().clone().requires_grad_(True); then the loop '
        'zero_grad/loss/backward/step/clamp',
    ),
    'stylise': (
        'Gatys et al. optimise the pixels of one image so that its deep features match the photo '
        'at one layer and its Gram matrices match the style image at several: compute both targets'
        ' once, write the total loss of an image with your three losses, and hand it to your '
        'optimisation loop, starting from the photo.',
        'Under torch.no_grad(): content_target = vgg(content)[content_layer]; style_targets = '
        '{layer: your gram_matrix of vgg(style)[layer]} (unnormalised). style_weight from '
        'balanced_style_weight(vgg, content, style, [content_layer], style_layers, balance=20.0). '
        'total_loss(image): feats = vgg(image); content_loss(feats[content_layer], content_target) +'
        ' style_weight * mean of style_layer_loss(feats[l], style_targets[l]) over the style layers'
        ' + 1e-4 * total_variation(image). Return optimise_image(total_loss, content, steps, '
        'lr=0.02)[0].',
        'image, _ = optimise_image(total_loss, content, steps, lr=0.02); return image',
    ),
}
hint = make_hint("lab02", HINTS)


# ----------------------------------------------------------------------------- graded questions
# The short, graded part of the lab's Questions (the written part is read by the teacher).
from course_lib.checks.core import check_answer  # noqa: E402  (kept apart from the checks above)


def check_question_1(answer: object) -> None:
    """How much sum((G - A)^2) grows when the feature maps are tiled 2x2 (same statistics, 4x the positions)."""
    check_answer(
        "question_1", answer, expected=16.0, tol=0.01,
        wrong={
            4: "G grows 4 times (each entry sums over 4 times more positions), but the loss squares "
               "the difference G - A",
            2: "doubling the side multiplies the number of positions M by 4, not 2",
            1: "without the 1/(4 N^2 M^2) the loss does depend on the size; that is why Gatys et al. "
               "divide by M^2",
            64: "the number of channels N does not change; only M (the positions) does",
            256: "(G - A)^2 grows with M^2, and M grows 4 times: 4^2, not 4^4",
        },
        explain="Each Gram entry is a sum over the M positions: what happens to M, to G - A and to "
                "its square when every map is tiled 2x2?",
    )
