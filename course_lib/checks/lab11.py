"""Graders of lab 11 (matting and compositing)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import torch
from scipy import ndimage

from course_lib.checks.core import (
    Case,
    Mismatch,
    Mistake,
    call_student,
    check_function,
    describe_difference,
    run_cases,
)
from course_lib.matting.data import render_foreground
from course_lib.matting.trimap import disk, make_trimap


# ----------------------------------------------------------------------------- test data
def _layer(size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(fg (3, S, S), bg (3, S, S), alpha (1, S, S)): a procedural foreground over a random smooth background."""
    rng = np.random.default_rng([11, seed])
    fg, alpha = render_foreground(size, rng, strands=(3, 6), veil_p=1.0, blur_p=0.0)
    bg = ndimage.gaussian_filter(rng.uniform(0, 1, (3, size, size)), sigma=(0, 3, 3))
    bg = (bg - bg.min()) / (bg.max() - bg.min() + 1e-9)
    return torch.from_numpy(fg), torch.from_numpy(bg).float(), torch.from_numpy(alpha)[None]


def _batch(n: int, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    layers = [_layer(size, seed + i) for i in range(n)]
    return tuple(torch.stack(t) for t in zip(*layers))  # type: ignore[return-value]


# ----------------------------------------------------------------------------- exercise 1
def reference_composite(fg: torch.Tensor, bg: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    return alpha * fg + (1 - alpha) * bg


def _inside(t: torch.Tensor) -> torch.Tensor:
    """Colours moved into [0.02, 0.98]: a composite ending in ``.clamp(0, 1)`` (correct for images in
    [0, 1]) then has the same gradient as one without, instead of a zero gradient where float
    rounding puts a pure white pixel at 1.0000001."""
    return 0.02 + 0.96 * t


def _composite_cases() -> list[Case]:
    fg, bg, alpha = _layer(24, 0)
    fgb, bgb, alphab = _batch(3, 16, 1)
    fg, bg, fgb, bgb = _inside(fg), _inside(bg), _inside(fgb), _inside(bgb)
    return [
        Case("one pixel, alpha = 0.25", (torch.tensor([0.8, 0.2, 0.4]).view(3, 1, 1), torch.tensor([0.0, 0.6, 1.0]).view(3, 1, 1),
                                        torch.tensor([[[0.25]]]))),
        Case("a 24x24 foreground with strands and a veil", (fg, bg, alpha)),
        Case("a batch of 3 (N, C, H, W)", (fgb, bgb, alphab), grad=True),
    ]


def check_composite(student_fn: Callable[..., torch.Tensor]) -> None:
    """Exercise 1: C = alpha F + (1 - alpha) B with straight colours."""
    check_function(
        "composite", student_fn, reference_composite, _composite_cases(),
        mistakes=[
            Mistake("foreground and background are swapped: alpha is the opacity of the FOREGROUND, "
                    "so F gets the weight alpha and B the weight 1 - alpha",
                    lambda f, b, a: a * b + (1 - a) * f),
            Mistake("the background must be weighted by (1 - alpha): where the foreground is opaque the "
                    "background is hidden", lambda f, b, a: a * f + b),
            Mistake("alpha looks as if it were treated as 0-255: the mattes here are already in [0, 1], "
                    "do not divide by 255", lambda f, b, a: (a / 255) * f + (1 - a / 255) * b),
        ],
        hint="return alpha * fg + (1 - alpha) * bg (alpha has one channel and broadcasts over the three colours).",
    )


# ----------------------------------------------------------------------------- exercise 2
def reference_composite_premultiplied(fg_pre: torch.Tensor, bg: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    return fg_pre + (1 - alpha) * bg


def check_composite_premultiplied(student_fn: Callable[..., torch.Tensor]) -> None:
    """Exercise 2: the *over* operator on premultiplied colours, C = F_pre + (1 - alpha) B."""
    fg, bg, alpha = _layer(24, 5)
    fgb, bgb, alphab = _batch(2, 16, 6)
    fg, bg, fgb, bgb = _inside(fg), _inside(bg), _inside(fgb), _inside(bgb)
    cases = [
        Case("one pixel, alpha = 0.5, F_pre = 0.5 * (0.8, 0.2, 0.4)",
             (torch.tensor([0.4, 0.1, 0.2]).view(3, 1, 1), torch.tensor([0.0, 0.6, 1.0]).view(3, 1, 1), torch.tensor([[[0.5]]]))),
        Case("a 24x24 premultiplied layer", (fg * alpha, bg, alpha)),
        Case("a batch of 2", (fgb * alphab, bgb, alphab), grad=True),
    ]
    check_function(
        "composite_premultiplied", student_fn, reference_composite_premultiplied, cases,
        mistakes=[
            Mistake("premultiplied colours treated as straight: F_pre already contains the factor alpha, "
                    "multiplying by alpha again darkens every soft edge (C = F_pre + (1 - alpha) B)",
                    lambda f, b, a: a * f + (1 - a) * b),
            Mistake("the background must still be weighted by (1 - alpha)", lambda f, b, a: f + b),
            Mistake("you un-premultiplied and composited as straight colours, which divides by alpha "
                    "(undefined where alpha = 0): premultiplied compositing needs no division",
                    lambda f, b, a: a * (f / a.clamp_min(1e-6)) + (1 - a) * b + (a == 0) * 0.5),
        ],
        hint="premultiplied: C = fg_pre + (1 - alpha) * bg.",
    )


# ----------------------------------------------------------------------------- exercise 3
def reference_make_trimap(alpha: torch.Tensor, radius: int) -> torch.Tensor:
    return make_trimap(alpha, radius)


def _trimap_no_band(alpha: torch.Tensor, radius: int) -> torch.Tensor:
    return make_trimap(alpha, 0)


def _trimap_8bit(alpha: torch.Tensor, radius: int) -> torch.Tensor:
    return make_trimap(alpha, radius) * 255 + (make_trimap(alpha, radius) == 0.5) * 0.5


def _trimap_dilate_foreground(alpha: torch.Tensor, radius: int) -> torch.Tensor:
    a = alpha[0].numpy()
    fp = disk(radius)
    fg = ndimage.binary_dilation(a > 1 - 1 / 510, fp)
    bg = ndimage.binary_erosion(a < 1 / 510, fp, border_value=1)
    t = np.full(a.shape, 0.5, np.float32)
    t[fg] = 1
    t[bg & ~fg] = 0
    return torch.from_numpy(t)[None]


def _trimap_border_erodes(alpha: torch.Tensor, radius: int) -> torch.Tensor:
    a = alpha[0].numpy()
    fp = disk(radius)
    fg = ndimage.binary_erosion(a > 1 - 1 / 510, fp)
    bg = ndimage.binary_erosion(a < 1 / 510, fp)
    t = np.full(a.shape, 0.5, np.float32)
    t[fg], t[bg] = 1, 0
    return torch.from_numpy(t)[None]


def check_make_trimap(student_fn: Callable[[torch.Tensor, int], torch.Tensor]) -> None:
    """Exercise 3: trimap by eroding the opaque and the transparent parts of the matte."""
    _, _, a1 = _layer(32, 10)
    _, _, a2 = _layer(40, 11)
    sharp = torch.zeros(1, 20, 20)
    sharp[:, 5:15, 6:14] = 1.0
    cases = [
        ("a hard-edged rectangle, radius 2", sharp, 2),
        ("strands and a veil, radius 3", a1, 3),
        ("strands and a veil, radius 1", a2, 1),
        ("radius 0: only the partly transparent pixels are unknown", a1, 0),
    ]
    mistakes = [
        ("the radius is ignored: erode the opaque and the transparent regions by a disk of the given "
         "radius, so the unknown band also covers r pixels on each side of the edge", _trimap_no_band),
        ("values 0/128/255 mixed with [0, 1]: this course's trimaps hold 0, 0.5 and 1 (only files "
         "store 0/128/255)", _trimap_8bit),
        ("the foreground was DILATED: the definite foreground must shrink (erosion), so the unknown "
         "band eats into the object", _trimap_dilate_foreground),
        ("the image border eroded the regions: pass border_value=1 to binary_erosion, the image edge "
         "is not an edge of the object", _trimap_border_erodes),
    ]

    def make(alpha: torch.Tensor, radius: int) -> Callable[[], None]:
        def run() -> None:
            got = call_student(student_fn, alpha.clone(), radius)
            if not isinstance(got, torch.Tensor) or not got.is_floating_point():
                raise Mismatch(f"return a float tensor with values 0, 0.5, 1, got {type(got).__name__} "
                               f"{getattr(got, 'dtype', '')}")
            expected = reference_make_trimap(alpha, radius)
            diff = describe_difference(got, expected)
            if diff is None:
                return
            for message, wrong in mistakes:
                if describe_difference(got, wrong(alpha, radius)) is None:
                    raise Mismatch(message)
            if got.shape == expected.shape:
                soft = (alpha > 1 / 510) & (alpha < 1 - 1 / 510)
                if bool((soft & (got == 1)).any()):
                    raise Mismatch("'definite foreground' means alpha == 1 (fully opaque, alpha > 1 - 1/510), "
                                   "but your trimap marks partly transparent pixels as 1: they are unknown")
                if bool((soft & (got == 0)).any()):
                    raise Mismatch("'definite background' means alpha == 0 (alpha < 1/510), but your trimap "
                                   "marks partly transparent pixels as 0: they are unknown")
            raise Mismatch(diff)
        return run

    run_cases("make_trimap", [(name, make(alpha, r)) for name, alpha, r in cases],
              hint="opaque = alpha > 1 - 1/510, clear = alpha < 1/510; erode both with disk(radius) "
                   "(ndimage.binary_erosion(mask, disk(radius), border_value=1)); 1 on opaque, 0 on clear, "
                   "0.5 elsewhere.")


# ----------------------------------------------------------------------------- exercise 4
def reference_sad_mse(pred: torch.Tensor, gt: torch.Tensor, trimap: torch.Tensor) -> tuple[float, float]:
    unknown = (trimap == 128).float()
    err = pred - gt
    return float((err.abs() * unknown).sum() / 1000), float((err ** 2 * unknown).sum() / unknown.sum())


def _sad_mse_whole(pred, gt, trimap):
    err = pred - gt
    return float(err.abs().sum() / 1000), float((err ** 2).mean())


def _sad_mse_255(pred, gt, trimap):
    s, m = reference_sad_mse(pred * 255, gt * 255, trimap)
    return s, m


def _sad_mse_no_1000(pred, gt, trimap):
    s, m = reference_sad_mse(pred, gt, trimap)
    return s * 1000, m


def _sad_mse_mean_over_image(pred, gt, trimap):
    unknown = (trimap == 128).float()
    err = pred - gt
    return float((err.abs() * unknown).sum() / 1000), float((err ** 2 * unknown).mean())


def _sad_mse_half_on_8bit(pred, gt, trimap):
    unknown = (trimap == 0.5).float()
    err = pred - gt
    return float((err.abs() * unknown).sum() / 1000), float((err ** 2 * unknown).sum() / unknown.sum().clamp_min(1))


def check_sad_mse(student_fn: Callable[..., tuple[float, float]]) -> None:
    """Exercise 4: SAD (/1000) and MSE over the unknown region of an 8-bit trimap."""
    cases = []
    for i, (size, radius) in enumerate([(24, 2), (40, 3), (48, 5)]):
        _, _, gt = _layer(size, 20 + i)
        rng = np.random.default_rng([21, i])
        # A plausible prediction: the truth, blurred, plus a few errors in the background.
        pred = torch.from_numpy(ndimage.gaussian_filter(gt[0].numpy(), 1.0 + i)).float()[None]
        pred = (pred + torch.from_numpy(rng.uniform(0, 0.2, gt.shape)).float() * (gt < 0.5)).clamp(0, 1)
        trimap8 = (make_trimap(gt, radius) * 255).round().to(torch.uint8)
        cases.append(Case(f"{size}x{size} matte, trimap radius {radius} (uint8: 0/128/255)", (pred, gt, trimap8)))
    check_function(
        "sad_mse", student_fn, reference_sad_mse, cases,
        mistakes=[
            Mistake("you measured over the whole image: matting errors are computed over the UNKNOWN "
                    "region only (trimap == 128), where the method actually had to estimate alpha",
                    _sad_mse_whole),
            Mistake("the mattes are already in [0, 1]: do not multiply by 255 (the benchmark code divides "
                    "its 0-255 PNGs by 255 first)", _sad_mse_255),
            Mistake("SAD is reported divided by 1000 (as in the benchmark tables)", _sad_mse_no_1000),
            Mistake("the MSE is the mean over the unknown pixels: divide the sum by their number, not "
                    "by the number of pixels of the image", _sad_mse_mean_over_image),
            Mistake("this trimap is 8-bit (0/128/255): the unknown value is 128, not 0.5, so no pixel "
                    "was selected", _sad_mse_half_on_8bit),
        ],
        hint="unknown = (trimap == 128); SAD = |pred - gt| summed over unknown / 1000; "
             "MSE = (pred - gt)^2 summed over unknown / number of unknown pixels.",
    )


# ----------------------------------------------------------------------------- exercise 5
EPS = 1e-6


def reference_compositional_loss(alpha_pred: torch.Tensor, fg: torch.Tensor, bg: torch.Tensor,
                                 image: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
    unknown = (trimap == 0.5).float()
    recomposed = alpha_pred * fg + (1 - alpha_pred) * bg
    per_pixel = torch.sqrt((recomposed - image) ** 2 + EPS ** 2)
    return (per_pixel * unknown).sum() / (3 * unknown.sum())


def _comp_whole(a, f, b, img, t):
    return torch.sqrt((a * f + (1 - a) * b - img) ** 2 + EPS ** 2).mean()


def _comp_mean_all(a, f, b, img, t):
    unknown = (t == 0.5).float()
    return (torch.sqrt((a * f + (1 - a) * b - img) ** 2 + EPS ** 2) * unknown).mean()


def _comp_squared(a, f, b, img, t):
    unknown = (t == 0.5).float()
    return (((a * f + (1 - a) * b - img) ** 2) * unknown).sum() / (3 * unknown.sum())


def _comp_no_background(a, f, b, img, t):
    unknown = (t == 0.5).float()
    return (torch.sqrt((a * f - img) ** 2 + EPS ** 2) * unknown).sum() / (3 * unknown.sum())


def _comp_per_pixel_not_channel(a, f, b, img, t):
    unknown = (t == 0.5).float()
    return (torch.sqrt((a * f + (1 - a) * b - img) ** 2 + EPS ** 2) * unknown).sum() / unknown.sum()


def check_compositional_loss(student_fn: Callable[..., torch.Tensor]) -> None:
    """Exercise 5: Deep Image Matting's compositional loss over the unknown region."""
    cases = []
    for i, (n, size) in enumerate([(1, 24), (2, 32), (3, 16)]):
        fg, bg, gt = _batch(n, size, 30 + 5 * i)
        image = gt * fg + (1 - gt) * bg
        trimap = make_trimap(gt, 2 + i)
        rng = np.random.default_rng([31, i])
        pred = (gt + torch.from_numpy(rng.normal(0, 0.15, gt.shape)).float()).clamp(0, 1)
        cases.append(Case(f"batch of {n}, {size}x{size}", (pred, fg, bg, image, trimap), grad=True))
    check_function(
        "compositional_loss", student_fn, reference_compositional_loss, cases,
        mistakes=[
            Mistake("the loss must only count the unknown pixels (trimap == 0.5): multiply by the mask "
                    "and divide by the number of unknown values", _comp_whole),
            Mistake("you masked the unknown pixels but averaged over ALL pixels: divide the masked sum "
                    "by 3 x the number of unknown pixels", _comp_mean_all),
            Mistake("DIM's loss is sqrt(diff^2 + eps^2), an L1-like (Charbonnier) error, not the squared error",
                    _comp_squared),
            Mistake("re-compose with BOTH layers: c_p = alpha_pred * F + (1 - alpha_pred) * B", _comp_no_background),
            Mistake("average over the colour channels too: the denominator is 3 x the number of unknown pixels",
                    _comp_per_pixel_not_channel),
        ],
        hint="c_p = alpha_pred * fg + (1 - alpha_pred) * bg; loss = sum(unknown * sqrt((c_p - image)^2 + eps^2)) "
             "/ (3 * unknown.sum()) with eps = 1e-6.",
    )


# ----------------------------------------------------------------------------- exercise 6
#: the grader's budget: 256 procedural composites at 32x32, trimaps of radius 3, 200 updates of
#: batch 16 (about 15-25 s on one CPU core)
TRAIN_ITEMS, TEST_ITEMS, SIZE, RADIUS, STEPS, BATCH = 256, 48, 32, 3, 200, 16
#: how much lower than each trimap-only baseline's SAD a working matting network must get. The
#: reference solution, seeds 0-4: SAD 0.0575, 0.0590, 0.0573, 0.0829, 0.0581 against the nearest-known
#: fill's 0.1375, 0.1383, 0.1312, 0.1262, 0.1232 (below it by 0.043-0.080) and the 0.5 fill's
#: 0.235-0.242; never stepped: 0.2429; the true matte given instead of the trimap: 0.2383; F and B
#: swapped in the compositional loss used alone: 0.4622 (seed 0; tests/test_lab11_checks.py).
SAD_MARGIN = 0.02


@functools.lru_cache(maxsize=4)  # the same seed's data is reused by the tests and the notebook
def matting_data(seed: int = 0) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The grader's composites: training ``{"image", "fg", "bg", "alpha"}`` (256 of them, no trimap:
    the student makes it) and held-out ``{"image", "alpha", "trimap"}`` (48, another seed, trimaps of
    radius 3). Images (N, 3, 32, 32), mattes and trimaps (N, 1, 32, 32), all in [0, 1]."""
    from course_lib.matting.data import MattingComposites

    def stacked(length: int, data_seed: int, keys: tuple[str, ...]) -> dict[str, torch.Tensor]:
        items = MattingComposites(length, SIZE, seed=data_seed, radius=RADIUS, cache=False)
        rows = [items[i] for i in range(length)]
        return {k: torch.stack([r[k] for r in rows]) for k in keys}

    return (stacked(TRAIN_ITEMS, seed, ("image", "fg", "bg", "alpha")),
            stacked(TEST_ITEMS, seed + 1000, ("image", "alpha", "trimap")))


def check_train_matting(student_fn: Callable[..., torch.nn.Module], seed: int = 0) -> torch.nn.Module:
    """Train with ``student_fn(data, radius, steps, batch_size, seed) -> model``; grade the model's
    mattes of held-out composites (unknown band only, known pixels from the trimap) by their SAD
    against the two trimap-only baselines (0.5 fill, nearest known pixel).

    ``model(image, trimap)`` maps (N, 3, H, W) images and (N, 1, H, W) trimaps to (N, 1, H, W) alpha.
    Returns the student's trained model. ``seed`` selects the grader's data and is passed on.
    """
    from course_lib.checks.core import Bar, check_outcome
    from course_lib.matting import fill_unknown, sad
    from course_lib.matting.model import predict_alpha

    train, test = matting_data(seed)

    def train_and_score() -> tuple[torch.nn.Module, float]:
        model = call_student(student_fn, {k: v.clone() for k, v in train.items()}, RADIUS, STEPS, BATCH, seed)
        if not isinstance(model, torch.nn.Module):
            raise Mismatch(f"train_matting should return the trained network (an nn.Module), got {type(model).__name__}")
        alpha = call_student(predict_alpha, model, test["image"], test["trimap"])
        if alpha.shape != test["alpha"].shape:
            raise Mismatch(f"the returned network maps (N, 3, 32, 32) images to {tuple(alpha.shape)} mattes, "
                           f"expected {tuple(test['alpha'].shape)}")
        return model, sad(alpha.clamp(0, 1), test["alpha"], test["trimap"])

    def bars() -> list[Bar]:
        return [Bar(f"the {name} trimap-only baseline", sad(fill_unknown(test["trimap"], mode), test["alpha"], test["trimap"]),
                    SAD_MARGIN) for name, mode in (("0.5-fill", "half"), ("nearest-known", "nearest"))]

    return check_outcome(
        "train_matting", train_and_score, bars, metric="SAD", lower_is_better=True,
        reference="SAD 0.057-0.083 over seeds 0-4, 0.04-0.08 below the nearest-known fill",
        advice="check that the trimaps come from your make_trimap on the training mattes, that the network "
               "gets (image, trimap) and never the true alpha, that the loss is 0.5 x the alpha-prediction "
               "loss + 0.5 x your compositional_loss on the unknown band, and that the optimizer steps "
               "after zero_grad every iteration",
    )


# ----------------------------------------------------------------------------- hints on request
# The lab's stubs only say where help is ("Run lab11.hint('name') for a hint"); these are the
# hints, from the idea (level 1) through the steps and shapes (level 2) to nearly the code (3).
from course_lib.checks.core import make_hint  # noqa: E402  (kept apart from the checks above)

HINTS: dict[str, tuple[str, str, str]] = {
    'composite': (
        'The compositing equation (Porter and Duff, 1984): each pixel is a blend of foreground and'
        ' background, weighted by the opacity alpha.',
        'I = alpha * F + (1 - alpha) * B; alpha (N, 1, H, W) broadcasts over the colour channels.',
        'alpha weights the foreground, (1 - alpha) the background',
    ),
    'composite_premultiplied': (
        'A premultiplied foreground already stores alpha * F, so the compositing equation needs '
        'one multiplication fewer.',
        'I = fg_pre + (1 - alpha) * B; do not multiply fg_pre by alpha again.',
        'the foreground term is already multiplied by alpha',
    ),
    'make_trimap': (
        'A trimap marks the pixels known to be foreground (1) or background (0) and leaves a band '
        'of unknown (0.5) around the edge, made wider by eroding the known regions.',
        'Opaque: alpha above 1 - 1/510; clear: alpha below 1/510 (the 8-bit rounding). Erode each '
        'with a disk of the given radius (radius 0: no erosion), treating outside the image as '
        'set; fill a (1, H, W) map with 0.5, then 1 where opaque and 0 where clear.',
        'opaque = a > 1 - 1/510 and clear = a < 1/510, both eroded with disk(radius) '
        '(border_value=1); start from 0.5',
    ),
    'sad_mse': (
        "The matting benchmark's errors (Rhemann et al., 2009) are measured on the unknown region "
        'of the trimap only (value 128 in the 0-255 trimap).',
        "With unknown = the trimap's 128 pixels: SAD = sum of |pred - gt| over unknown, divided by"
        ' 1000; MSE = sum of (pred - gt)^2 over unknown divided by the number of unknown pixels. '
        'Return two Python floats.',
        'unknown = (trimap == 128).float(); SAD sums, MSE averages over the unknown pixels',
    ),
    'compositional_loss': (
        "Deep Image Matting's compositional loss (Xu et al., 2017, eq. 2) recomposes the image "
        'with the predicted alpha and compares it with the real image, on the unknown region only.',
        'Recompose alpha_pred * fg + (1 - alpha_pred) * bg; per value sqrt(difference^2 + eps^2) '
        'with eps = 1e-6; sum over unknown pixels (trimap 0.5) and all three channels, divide by 3'
        ' times the number of unknown pixels.',
        'unknown = (trimap == 0.5).float(); divide the masked sum by 3 * unknown.sum()',
    ),
    'train_matting': (
        'Deep Image Matting as a supervised problem: the network sees the image and a trimap and '
        'predicts alpha; it learns from the true alpha (alpha-prediction loss) and from re-compositing '
        'the true F and B with its alpha (your compositional loss), both on the unknown band only.',
        'Once: trimaps = stack of make_trimap(alpha_i, radius) over the training mattes (N, 1, 32, 32). '
        'Each step: random indices i; alpha_pred = model(image[i], trimaps[i]) (N, 1, 32, 32); '
        'alpha loss = sqrt((alpha_pred - alpha[i])^2 + eps^2) summed over the unknown pixels and '
        'divided by their number; loss = 0.5 * alpha loss + 0.5 * compositional_loss(alpha_pred, '
        'fg[i], bg[i], image[i], trimaps[i]); zero_grad, backward, step. Return the model.',
        'unknown = (trimap == 0.5).float(); alpha_loss = (torch.sqrt((alpha_pred - alpha) ** 2 + 1e-12) '
        '* unknown).sum() / unknown.sum()',
    ),
}
hint = make_hint("lab11", HINTS)


# ----------------------------------------------------------------------------- graded questions
# The short, graded part of the lab's Questions (the written part is read by the teacher).
from course_lib.checks.core import check_answer  # noqa: E402  (kept apart from the checks above)


def check_question_1(answer: object) -> None:
    """The compositional error of one pixel with F = 0.55, B = 0.45, alpha 0.2 predicted, 0.9 true."""
    check_answer(
        "question_1", answer, expected=0.07, tol=1e-4,
        wrong={
            0.7: "0.7 is the alpha error |0.2 - 0.9|; the compositional loss compares the recomposed "
                 "colours, and F and B are almost the same colour",
            0.0: "F and B are close but not equal: the recomposed colours differ by |alpha error| * |F - B|",
            0.1: "0.1 is |F - B|; multiply by how wrong alpha is",
            0.35: "the recomposite alpha * F + (1 - alpha) * B changes by (alpha_p - alpha_g) * (F - B), "
                  "not by the alpha error times F",
        },
        explain="Recompose the pixel with both alphas, alpha * F + (1 - alpha) * B, and subtract.",
    )
