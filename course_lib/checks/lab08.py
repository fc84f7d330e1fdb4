"""Graders of lab 08 (inpainting I: the masked reconstruction loss, the mean-colour baseline, Context Encoder's loss)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F

from course_lib.checks.core import Case, Mistake, check_function

Tensor = torch.Tensor


def _batch(seed: int, n: int = 2, c: int = 3, h: int = 8, w: int = 8, holes: list[tuple[int, int, int, int]] | None = None):
    g = torch.Generator().manual_seed(seed)
    pred = torch.rand(n, c, h, w, generator=g) * 2 - 1
    target = torch.rand(n, c, h, w, generator=g) * 2 - 1
    mask = torch.zeros(n, 1, h, w)
    for i, (t, b, le, r) in enumerate(holes or [(2, 6, 2, 6)] * n):
        mask[i, :, t:b, le:r] = 1
    return pred, target, mask


def _mask_is_data(fn: Callable[..., Tensor], position: int) -> Callable[..., Tensor]:
    """``fn`` with its mask argument detached: gradients are compared for the images only.

    (A mask is data, not a variable: ``m * x`` and ``m ** 2 * x`` are the same loss for a binary
    mask but have different gradients with respect to ``m``.)
    """
    @functools.wraps(fn)  # keeps the argument names for messages
    def call(*args: Tensor) -> Tensor:
        args = tuple(a.detach() if i == position else a for i, a in enumerate(args))
        return fn(*args)
    return call


# ----------------------------------------------------------------------------- exercise 1
def reference_masked_mse(prediction: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Mean squared error over the hole: every hole pixel of every image and channel counts once."""
    channels = prediction.shape[1]
    return ((prediction - target) ** 2 * mask).sum() / (mask.sum() * channels)


def _mse_whole_image(p: Tensor, t: Tensor, m: Tensor) -> Tensor:
    return ((p - t) ** 2).mean()


def _mse_image_size(p: Tensor, t: Tensor, m: Tensor) -> Tensor:
    return ((p - t) ** 2 * m).sum() / p.numel()


def _mse_inverted(p: Tensor, t: Tensor, m: Tensor) -> Tensor:
    return reference_masked_mse(p, t, 1 - m)


def _mse_no_channels(p: Tensor, t: Tensor, m: Tensor) -> Tensor:
    return ((p - t) ** 2 * m).sum() / m.sum()


def _mse_l1(p: Tensor, t: Tensor, m: Tensor) -> Tensor:
    return ((p - t).abs() * m).sum() / (m.sum() * p.shape[1])


def _mse_per_image(p: Tensor, t: Tensor, m: Tensor) -> Tensor:
    return (((p - t) ** 2 * m).flatten(1).sum(1) / (m.flatten(1).sum(1) * p.shape[1])).mean()


MSE_CASES = [
    Case("one image, a square hole", _batch(0, n=1, holes=[(2, 6, 2, 6)]), grad=True),
    Case("two images, same hole", _batch(1), grad=True),
    Case("two images, holes of different sizes", _batch(2, holes=[(0, 2, 0, 8), (1, 7, 1, 7)]), grad=True),
    Case("one channel, a thin hole", _batch(3, n=1, c=1, holes=[(0, 8, 3, 4)])),
]


def check_masked_mse(student_fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> None:
    """Exercise 1: the reconstruction loss inside the hole (mask 1 = hole)."""
    check_function(
        "masked_mse",
        _mask_is_data(student_fn, 2),
        _mask_is_data(reference_masked_mse, 2),
        MSE_CASES,
        mistakes=[
            Mistake("you averaged over the whole image: the known pixels are copied from the input, so the "
                    "loss must only count the hole (multiply the squared error by the mask)", _mse_whole_image),
            Mistake("you divided by the number of values in the whole image: the loss then shrinks with the "
                    "hole's size. Divide by the number of hole values, mask.sum() * channels", _mse_image_size),
            Mistake("the mask convention is inverted: in this course 1 = hole (missing), 0 = known. You "
                    "measured the error on the known pixels", _mse_inverted),
            Mistake("the mask has one channel but the images have C: divide by mask.sum() * C, the number "
                    "of hole values, not the number of hole pixels", _mse_no_channels),
            Mistake("that is the mean absolute error (L1); Context Encoder and Global & Local use the squared "
                    "error (L2)", _mse_l1),
            Mistake("you averaged per image and then over the batch: weight every hole pixel equally, "
                    "sum over the batch and divide by the total number of hole values", _mse_per_image),
        ],
        hint="((prediction - target) ** 2 * mask).sum() / (mask.sum() * prediction.shape[1])",
    )


# ----------------------------------------------------------------------------- exercise 2
def reference_mean_colour_fill(image: Tensor, mask: Tensor) -> Tensor:
    """Each hole pixel gets the per-channel mean of its own image's known pixels; known pixels stay."""
    known = 1 - mask
    mean = (image * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True)
    return image * known + mean * mask


def _fill_whole_mean(image: Tensor, mask: Tensor) -> Tensor:
    mean = image.mean((2, 3), keepdim=True)
    return image * (1 - mask) + mean * mask


def _fill_batch_mean(image: Tensor, mask: Tensor) -> Tensor:
    known = 1 - mask
    mean = (image * known).sum((0, 2, 3), keepdim=True) / known.sum((0, 2, 3), keepdim=True)
    return image * known + mean * mask


def _fill_grey(image: Tensor, mask: Tensor) -> Tensor:
    known = 1 - mask
    mean = (image * known).sum((1, 2, 3), keepdim=True) / (known.sum((1, 2, 3), keepdim=True) * image.shape[1])
    return image * known + mean * mask


def _fill_everywhere(image: Tensor, mask: Tensor) -> Tensor:
    known = 1 - mask
    mean = (image * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True)
    return mean.expand_as(image).clone()


def _fill_inverted(image: Tensor, mask: Tensor) -> Tensor:
    return reference_mean_colour_fill(image, 1 - mask)


FILL_CASES = [
    Case("one image", _batch(4, n=1)[1:], constants=("mask",)),
    Case("two images, different holes", _batch(5, holes=[(0, 3, 0, 8), (2, 8, 2, 5)])[1:], constants=("mask",)),
    Case("three images", _batch(6, n=3, h=10, w=6, holes=[(1, 4, 1, 4), (5, 9, 0, 6), (0, 10, 2, 3)])[1:], constants=("mask",)),
]


def check_mean_colour_fill(student_fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Exercise 2: the trivial baseline, mean colour of the known pixels of each image."""
    check_function(
        "mean_colour_fill",
        student_fn,
        reference_mean_colour_fill,
        FILL_CASES,
        mistakes=[
            Mistake("your mean includes the hole's pixels: a real inpainting method never sees them. "
                    "Average only the known pixels, (image * (1 - mask)).sum(...) / (1 - mask).sum(...)",
                    _fill_whole_mean),
            Mistake("you averaged over the whole batch: each image must be filled with its own colour "
                    "(sum over dims (2, 3) only)", _fill_batch_mean),
            Mistake("you averaged the channels together (a grey fill): keep one mean per channel, "
                    "sum over dims (2, 3) only", _fill_grey),
            Mistake("you replaced every pixel: keep the known pixels, image * (1 - mask) + mean * mask",
                    _fill_everywhere),
            Mistake("the mask convention is inverted: 1 = hole. You filled the known pixels with the mean "
                    "of the hole", _fill_inverted),
        ],
        hint="known = 1 - mask; mean = (image * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True)",
    )


# ----------------------------------------------------------------------------- exercise 3
def reference_context_encoder_loss(fake: Tensor, real: Tensor, hole: Tensor, d_logits: Tensor,
                                   lambda_rec: float = 0.999, lambda_adv: float = 0.001,
                                   overlap_weight: float = 10.0) -> Tensor:
    """Context Encoder's generator loss on the predicted region (``train.lua``).

    ``fake``, ``real``: (N, 3, R, R) region, ``hole``: (N, 1, R, R), 1 = the missing pixels; the
    rest of the region is the known overlap band, weighted ``overlap_weight`` in the L2 loss, the
    mean of which is taken over all values. ``d_logits``: the discriminator's logits for ``fake``.
    """
    weights = torch.where(hole > 0.5, 1.0, overlap_weight)
    rec = (weights * (fake - real) ** 2).mean()
    adv = F.binary_cross_entropy_with_logits(d_logits, torch.ones_like(d_logits))
    return lambda_rec * rec + lambda_adv * adv


def _ce_no_overlap(fake, real, hole, d, *a) -> Tensor:
    return reference_context_encoder_loss(fake, real, hole, d, overlap_weight=1.0)


def _ce_swapped_weights(fake, real, hole, d, *a) -> Tensor:
    weights = torch.where(hole > 0.5, 10.0, 1.0)
    adv = F.binary_cross_entropy_with_logits(d, torch.ones_like(d))
    return 0.999 * (weights * (fake - real) ** 2).mean() + 0.001 * adv


def _ce_swapped_lambdas(fake, real, hole, d, *a) -> Tensor:
    return reference_context_encoder_loss(fake, real, hole, d, lambda_rec=0.001, lambda_adv=0.999)


def _ce_fake_target(fake, real, hole, d, *a) -> Tensor:
    weights = torch.where(hole > 0.5, 1.0, 10.0)
    adv = F.binary_cross_entropy_with_logits(d, torch.zeros_like(d))
    return 0.999 * (weights * (fake - real) ** 2).mean() + 0.001 * adv


def _ce_bce_on_logits(fake, real, hole, d, *a) -> Tensor:
    weights = torch.where(hole > 0.5, 1.0, 10.0)
    adv = -torch.log(d.clamp(1e-6, 1 - 1e-6)).mean()  # BCE applied to logits as if they were probabilities
    return 0.999 * (weights * (fake - real) ** 2).mean() + 0.001 * adv


def _ce_sum(fake, real, hole, d, *a) -> Tensor:
    weights = torch.where(hole > 0.5, 1.0, 10.0)
    adv = F.binary_cross_entropy_with_logits(d, torch.ones_like(d))
    return 0.999 * (weights * (fake - real) ** 2).sum() + 0.001 * adv


def _ce_case(seed: int, n: int, region: int, band: int) -> tuple:
    g = torch.Generator().manual_seed(seed)
    fake = (torch.rand(n, 3, region, region, generator=g) * 2 - 1)
    real = (torch.rand(n, 3, region, region, generator=g) * 2 - 1)
    hole = torch.zeros(n, 1, region, region)
    hole[..., band:region - band, band:region - band] = 1
    logits = torch.randn(n, generator=g) * 2
    return fake, real, hole, logits


CE_CASES = [
    Case("one 8x8 region, 2-pixel band", _ce_case(7, 1, 8, 2), grad=True),
    Case("a batch of 16x16 regions, 4-pixel band (train.lua at 32/64)", _ce_case(8, 3, 16, 4), grad=True),
    Case("confident discriminator logits", tuple(t * (5 if i == 3 else 1) for i, t in enumerate(_ce_case(9, 2, 8, 1)))),
]


def check_context_encoder_loss(student_fn: Callable[..., Tensor]) -> None:
    """Exercise 3: 0.999 x overlap-weighted L2 + 0.001 x adversarial loss."""
    check_function(
        "context_encoder_loss",
        _mask_is_data(student_fn, 2),
        _mask_is_data(reference_context_encoder_loss, 2),
        CE_CASES,
        mistakes=[
            Mistake("the known band around the hole must weigh 10 times more than the hole (train.lua's "
                    "overlapL2Weight = 10): weights = torch.where(hole > 0.5, 1.0, 10.0)", _ce_no_overlap),
            Mistake("the weights are swapped: the *hole* weighs 1 and the known overlap band 10", _ce_swapped_weights),
            Mistake("lambda_rec and lambda_adv are swapped: the reconstruction term gets 0.999, the "
                    "adversarial term 0.001", _ce_swapped_lambdas),
            Mistake("the generator wants the discriminator to say *real*: use target 1 (ones_like), not 0",
                    _ce_fake_target),
            Mistake("d_logits are logits, not probabilities: use F.binary_cross_entropy_with_logits, which "
                    "applies the sigmoid for you", _ce_bce_on_logits),
            Mistake("use the mean of the weighted squared error over all values (Torch's MSECriterion "
                    "averages), not the sum", _ce_sum),
        ],
        hint="weights = torch.where(hole > 0.5, 1.0, 10.0); rec = (weights * (fake - real) ** 2).mean(); "
             "adv = F.binary_cross_entropy_with_logits(d_logits, torch.ones_like(d_logits))",
    )


# ----------------------------------------------------------------------------- exercise 4
#: the grader's budget: 512 training crops at 32x32 with the centre hole of train.lua (a 14x14 hole in
#: the 16x16 centre), 250 updates of D and G with batch 16 (about 20-30 s on one CPU core)
TRAIN_IMAGES, TEST_IMAGES, SIZE, STEPS, BATCH = 512, 64, 32, 250, 16
#: how much lower than the mean-colour fill's hole L1 ([0, 1] scale) a working Context Encoder must get.
#: The reference solution, seeds 0-4: hole L1 0.0727, 0.0676, 0.0740, 0.0772, 0.0742 against the
#: mean-colour fill's 0.0803, 0.0713, 0.0849, 0.0866, 0.0834 (below it by 0.0037-0.0109); G never
#: stepped: 0.2006; G fed the uncovered image (the truth in the hole): 0.1312; no zero_grad for
#: G: 0.1247 (tests/test_lab08_checks.py).
L1_MARGIN = 0.0015


@functools.lru_cache(maxsize=4)  # the same seed's data is reused by the tests and the notebook
def context_encoder_test(seed: int = 0) -> dict[str, Tensor]:
    """The grader's held-out set: ``{"image": (64, 3, 32, 32) in [-1, 1], "mask": (64, 1, 32, 32)}``,
    crops of another seed than the training crops, each with the centre hole of ``train.lua``."""
    from course_lib.inpainting.context_encoder import context_encoder_mask
    from course_lib.inpainting.datasets import InpaintingImages

    test = InpaintingImages(SIZE, TEST_IMAGES, seed=seed + 1000)
    mask = context_encoder_mask(SIZE).view(1, 1, SIZE, SIZE)
    return {"image": torch.stack([test[i] for i in range(TEST_IMAGES)]) * 2 - 1,
            "mask": mask.expand(TEST_IMAGES, 1, SIZE, SIZE).clone()}


@functools.lru_cache(maxsize=4)  # the same seed's data is reused by the tests and the notebook
def context_encoder_data(seed: int = 0) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
    """The grader's data: training crops (512, 3, 32, 32) in [-1, 1] (photos and tinted textures),
    the centre mask (1, 1, 32, 32) with 1 = hole, and the held-out set of :func:`context_encoder_test`."""
    from course_lib.inpainting.context_encoder import context_encoder_mask
    from course_lib.inpainting.datasets import InpaintingImages

    train = InpaintingImages(SIZE, TRAIN_IMAGES, seed=seed)
    images = torch.stack([train[i] for i in range(TRAIN_IMAGES)]) * 2 - 1
    return images, context_encoder_mask(SIZE).view(1, 1, SIZE, SIZE), context_encoder_test(seed)


def check_train_context_encoder(student_fn: Callable[..., torch.nn.Module], seed: int = 0) -> torch.nn.Module:
    """Train with ``student_fn(images, mask, steps, batch_size, seed) -> G`` (a ContextEncoder); grade
    ``G.inpaint``'s fills of held-out centre holes by their L1 against the mean-colour fill's.

    Returns the student's trained generator. ``seed`` selects the grader's data and is passed on.
    """
    from course_lib.checks.core import Bar, Mismatch, call_student, check_outcome
    from course_lib.inpainting.context_encoder import ContextEncoder
    from course_lib.inpainting.evaluate import evaluate

    images, mask, test = context_encoder_data(seed)

    def train_and_score() -> tuple[torch.nn.Module, float]:
        G = call_student(student_fn, images.clone(), mask.clone(), STEPS, BATCH, seed)
        if not isinstance(G, ContextEncoder):
            raise Mismatch(f"train_context_encoder should return the generator (a ContextEncoder), got {type(G).__name__}")
        return G, evaluate(G.inpaint, test, keep_outputs=False).l1

    def bars() -> list[Bar]:
        return [Bar("the mean-colour fill", evaluate(reference_mean_colour_fill, test, keep_outputs=False).l1, L1_MARGIN)]

    return check_outcome(
        "train_context_encoder", train_and_score, bars, metric="hole L1", lower_is_better=True,
        reference="hole L1 0.068-0.077 over seeds 0-4, 0.004-0.011 below the mean-colour fill",
        advice="check that the generator sees the image with its hole filled (never the truth), that "
               "the discriminator's fake score is computed on fake.detach(), that both optimizers step "
               "their own network every iteration after zero_grad, and that the generator's loss is "
               "your context_encoder_loss on the centre region",
    )


# ----------------------------------------------------------------------------- hints on request
# The lab's stubs only say where help is ("Run lab08.hint('name') for a hint"); these are the
# hints, from the idea (level 1) through the steps and shapes (level 2) to nearly the code (3).
from course_lib.checks.core import make_hint  # noqa: E402  (kept apart from the checks above)

HINTS: dict[str, tuple[str, str, str]] = {
    'masked_mse': (
        'A mean squared error over the masked pixels only: the pixels outside the mask neither add'
        ' to the error nor to the count.',
        'Square the error, multiply by the mask (N, 1, H, W broadcasts over channels), sum, and '
        'divide by the number of masked values: masked pixels times channels.',
        'multiply the squared error by the mask, sum, and divide by mask.sum() * C',
    ),
    'mean_colour_fill': (
        'The simplest inpainting: fill the hole with the average colour of the known pixels of the'
        ' same image (one colour per image and channel).',
        'The known pixels are 1 - mask. Per image and channel, the mean over known pixels is the '
        'masked sum over (H, W) divided by the count of known pixels (shape (N, C, 1, 1)); keep '
        'the image where known and put the mean where the mask is 1.',
        "known = 1 - mask; average image * known over dims (2, 3), divide by known's sum",
    ),
    'context_encoder_loss': (
        "The Context Encoder's loss (Pathak et al., 2016, eq. 3) mixes a weighted L2 "
        'reconstruction (0.999) with an adversarial term (0.001); the overlap region outside the '
        'hole weighs 10 times more.',
        'Per-pixel weights: 1 inside the hole, 10 outside; reconstruction = mean of weights times '
        'squared error; adversarial = BCE on logits of d_logits with an all-ones target; return '
        '0.999 * rec + 0.001 * adv.',
        'weights = torch.where(hole > 0.5, 1.0, 10.0); then the two terms',
    ),
    'train_context_encoder': (
        'A GAN training loop in which the generator fills the centre: each iteration first teaches D '
        'to tell real centres from G\'s predictions, then updates G with your context_encoder_loss, '
        'which mixes the reconstruction of the centre with the wish to fool D.',
        'Per iteration: batch = images[random indices] (N, 3, 32, 32); real = the 16x16 centre of '
        'batch; fake = G(G.prepare(batch, mask)) (N, 3, 16, 16). D step: BCE-with-logits of D(real) '
        'against ones plus of D(fake.detach()) against zeros; zero_grad, backward, step. G step: your '
        'loss on (fake, real, the hole cropped to the centre and expanded to N, D(fake)); zero_grad, '
        'backward, step. Return G.',
        'off, side = G.region; hole = mask[..., off:off + side, off:off + side].expand(batch_size, 1, '
        'side, side); g_loss = context_encoder_loss(fake, real, hole, D(fake))',
    ),
}
hint = make_hint("lab08", HINTS)


# ----------------------------------------------------------------------------- graded questions
# The short, graded part of the lab's Questions (the written part is read by the teacher).
from course_lib.checks.core import check_answer  # noqa: E402  (kept apart from the checks above)


def check_question_1(answer: object) -> None:
    """Which fill a network trained with masked_mse alone learns to paint."""
    check_answer(
        "question_1", answer, expected="A", choices=("A", "B", "C"),
        wrong={
            "B": "the sharp, shifted fill has the higher masked MSE printed above: L2 punishes a sharp "
                 "guess that is slightly off more than a blur",
            "C": "the squared error has one minimiser, the average of the plausible fills, which is "
                 "blurred: training moves towards it, not at random",
        },
    )
