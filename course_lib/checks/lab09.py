"""Graders of lab 09 (Global & Local: the dilated block, the completion output, the local discriminator's crop)."""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable

import torch
from torch import nn

from course_lib.checks.core import (
    Case,
    Mismatch,
    Mistake,
    StudentError,
    call_student,
    check_function,
    describe_difference,
    executed_layers,
    run_cases,
)
from course_lib.receptive_field import empirical_receptive_field

Tensor = torch.Tensor
DILATIONS = (2, 4, 8, 16)


# ----------------------------------------------------------------------------- exercise 1
def reference_dilated_block(channels: int) -> nn.Sequential:
    """Table 1's four dilated convolutions (dilations 2, 4, 8, 16), each followed by batch norm and ReLU."""
    layers: list[nn.Module] = []
    for d in DILATIONS:
        layers += [nn.Conv2d(channels, channels, 3, padding=d, dilation=d), nn.BatchNorm2d(channels), nn.ReLU()]
    return nn.Sequential(*layers)


def _leaky_eval(net: nn.Module) -> nn.Module:
    net = copy.deepcopy(net).eval()
    for m in list(net.modules()):
        for name, child in list(m._modules.items()):  # also a ReLU object reused in several places
            if isinstance(child, nn.ReLU):
                setattr(m, name, nn.LeakyReLU(0.1))
    return net


def check_dilated_block(student_fn: Callable[[int], nn.Module]) -> None:
    """Exercise 1: the dilated middle of the completion network."""

    def build(channels: int) -> nn.Module:
        torch.manual_seed(0)
        net = call_student(student_fn, channels)
        if not isinstance(net, nn.Module):
            raise Mismatch(f"dilated_block must return an nn.Module (e.g. nn.Sequential), got {type(net).__name__}")
        return net

    def keeps_size() -> None:
        net = build(4)
        for h, w in ((64, 64), (66, 70)):  # large enough that a shrinking stack still runs
            y = call_student(net, torch.randn(2, 4, h, w))
            if tuple(y.shape) != (2, 4, h, w):
                raise Mismatch(f"input (2, 4, {h}, {w}) gave {tuple(y.shape)}: a 3x3 conv with dilation d needs "
                               "padding = d to keep the size")

    def dilations() -> None:
        convs = [m for m in build(4).modules() if isinstance(m, nn.Conv2d)]
        got = [m.dilation[0] for m in convs]
        if got != list(DILATIONS):
            raise Mismatch(f"the convolutions have dilations {got}; Table 1 has four dilated convs with "
                           "dilations 2, 4, 8, 16 (in this order)")
        kernels = sorted({m.kernel_size[0] for m in convs})
        if kernels != [3]:
            raise Mismatch(f"kernel sizes {kernels}: Table 1's dilated convs are 3x3")

    def order() -> None:
        # the order in which forward() calls them (a reused nn.ReLU() object counts at every use)
        kinds = [type(m).__name__ for m in executed_layers(build(4).eval(), torch.randn(1, 4, 12, 12))
                 if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.ReLU))]
        expected = ["Conv2d", "BatchNorm2d", "ReLU"] * 4
        if kinds.count("BatchNorm2d") != 4:
            raise Mismatch(f"found {kinds.count('BatchNorm2d')} BatchNorm2d layers: the paper puts batch norm after "
                           "every convolution of the completion network except the last (Sec. 4)")
        if kinds != expected:
            raise Mismatch(f"the layers come in the order {kinds[:3]}...; use conv -> batch norm -> ReLU for each dilation")

    def parameter_count() -> None:
        c = 8
        got = sum(p.numel() for p in build(c).parameters())
        expected = 4 * (9 * c * c + c) + 4 * 2 * c
        if got != expected:
            raise Mismatch(f"{got} parameters, expected {expected} = 4 x (3*3*{c}*{c} weights + {c} biases) "
                           f"+ 4 x (2*{c} batch-norm scales and shifts): channels -> channels, 3x3 kernels")

    def receptive_field() -> None:
        net = _leaky_eval(build(2))
        got = empirical_receptive_field(net, (2, 81, 81), n_samples=2).size
        expected = 1 + 2 * sum(DILATIONS)
        if got != (expected, expected):
            raise Mismatch(f"the centre unit sees {got[0]}x{got[1]} pixels, expected {expected}x{expected} "
                           "(1 + 2 x (2 + 4 + 8 + 16)): pass dilation=d to every nn.Conv2d")

    run_cases(
        "dilated_block",
        [("keeps the spatial size", keeps_size), ("dilations 2, 4, 8, 16", dilations),
         ("conv -> batch norm -> ReLU", order), ("parameter count", parameter_count),
         ("receptive field 61 px", receptive_field)],
        hint="for d in (2, 4, 8, 16): nn.Conv2d(channels, channels, 3, padding=d, dilation=d), "
             "nn.BatchNorm2d(channels), nn.ReLU()",
    )


# ----------------------------------------------------------------------------- exercise 2
def reference_complete(raw: Tensor, image: Tensor, mask: Tensor) -> Tensor:
    """Sigmoid output (N, 3, H, W) in [0, 1] -> completion in [-1, 1]: prediction in the hole, input outside."""
    return image * (1 - mask) + (raw * 2 - 1) * mask


def _complete_no_range(raw, image, mask):
    return image * (1 - mask) + raw * mask


def _complete_inverted(raw, image, mask):
    return reference_complete(raw, image, 1 - mask)


def _complete_everywhere(raw, image, mask):
    return raw * 2 - 1


def _complete_wrong_direction(raw, image, mask):
    return image * (1 - mask) + (raw + 1) / 2 * mask


def _complete_raw_everywhere(raw, image, mask):
    return image * (1 - mask) + raw * 2 - 1


def _complete_case(seed: int, n: int, h: int, w: int) -> tuple[Tensor, Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    raw = torch.rand(n, 3, h, w, generator=g)
    image = torch.rand(n, 3, h, w, generator=g) * 2 - 1
    mask = torch.zeros(n, 1, h, w)
    for i in range(n):
        t, le = int(torch.randint(0, h // 2, (1,), generator=g)), int(torch.randint(0, w // 2, (1,), generator=g))
        mask[i, :, t:t + h // 2, le:le + w // 3] = 1
    return raw, image, mask


def _mask_is_data(fn: Callable[..., Tensor], position: int) -> Callable[..., Tensor]:
    @functools.wraps(fn)  # keeps the argument names for messages
    def call(*args: Tensor) -> Tensor:
        return fn(*(a.detach() if i == position else a for i, a in enumerate(args)))
    return call


def check_complete(student_fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> None:
    """Exercise 2: the completion network's output, pixels outside the hole replaced by the input."""
    check_function(
        "complete",
        _mask_is_data(student_fn, 2),
        _mask_is_data(reference_complete, 2),
        [Case("one image", _complete_case(0, 1, 8, 8), grad=True),
         Case("a batch, different holes", _complete_case(1, 3, 8, 12), grad=True)],
        mistakes=[
            Mistake("the sigmoid's output is in [0, 1] but the images are in [-1, 1]: map it with raw * 2 - 1 "
                    "before pasting it", _complete_no_range),
            Mistake("the mask convention is inverted: 1 = hole. Keep the input where mask == 0", _complete_inverted),
            Mistake("you returned the prediction everywhere: outside the hole the output must be the input "
                    "(image * (1 - mask) + prediction * mask)", _complete_everywhere),
            Mistake("wrong direction: (raw + 1) / 2 maps [-1, 1] to [0, 1]; the sigmoid output needs raw * 2 - 1",
                    _complete_wrong_direction),
            Mistake("only the hole takes the prediction: multiply (raw * 2 - 1) by the mask", _complete_raw_everywhere),
        ],
        hint="image * (1 - mask) + (raw * 2 - 1) * mask",
    )


# ----------------------------------------------------------------------------- exercise 3
def _bounds(mask: Tensor, i: int, dim: int) -> tuple[int, int]:
    """First and last index along ``dim`` (0 = rows, 1 = columns) where image i's mask has a hole."""
    profile = mask[i, 0].amax(dim=1 - dim) > 0.5
    idx = torch.nonzero(profile).flatten()
    return int(idx[0]), int(idx[-1])


def _crop_with(images: Tensor, mask: Tensor, size: int, start: Callable[[int, int, int], int],
               per_image: bool = True, swap: bool = False) -> Tensor:
    h, w = images.shape[-2:]
    crops = []
    for i in range(images.shape[0]):
        j = i if per_image else 0
        (r0, r1), (c0, c1) = _bounds(mask, j, 0), _bounds(mask, j, 1)
        top, left = start(r0, r1, h), start(c0, c1, w)
        if swap:
            top, left = left, top
        crops.append(images[i, :, top:top + size, left:left + size])
    return torch.stack(crops)


def reference_local_crop(images: Tensor, mask: Tensor, size: int) -> Tensor:
    """The ``size x size`` crop centred on each image's hole, moved inside the image where it sticks out."""
    def start(first: int, last: int, extent: int) -> int:
        return min(max((first + last + 1) // 2 - size // 2, 0), extent - size)
    return _crop_with(images, mask, size, start)


def _crop_corner(images, mask, size):
    return _crop_with(images, mask, size, lambda f, last, e: min(max(f, 0), e - size))


def _crop_floor_centre(images, mask, size):
    return _crop_with(images, mask, size, lambda f, last, e: min(max((f + last) // 2 - size // 2, 0), e - size))


def _crop_clamp_to_extent(images, mask, size):
    return _crop_with(images, mask, size, lambda f, last, e: min(max((f + last + 1) // 2 - size // 2, 0), e))


def _crop_first_box(images, mask, size):
    return _crop_with(images, mask, size, lambda f, last, e: min(max((f + last + 1) // 2 - size // 2, 0), e - size),
                      per_image=False)


def _crop_swapped(images, mask, size):
    def start(f, last, e):
        return max((f + last + 1) // 2 - size // 2, 0)
    return _crop_with(images, mask, size, start, swap=True)


def _crop_case(holes: list[tuple[int, int, int, int]], h: int, w: int, size: int, seed: int) -> tuple[Tensor, Tensor, int]:
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(len(holes), 3, h, w, generator=g)
    mask = torch.zeros(len(holes), 1, h, w)
    for i, (t, b, le, r) in enumerate(holes):
        mask[i, :, t:b, le:r] = 1
    return images, mask, size


CROP_CASES = [
    Case("hole in the middle", _crop_case([(10, 22, 12, 26)], 32, 32, 16, 0)),
    Case("hole touching the top-left corner", _crop_case([(0, 6, 0, 9)], 32, 32, 16, 1)),
    Case("hole at the bottom-right", _crop_case([(25, 32, 20, 32)], 32, 32, 16, 2)),
    Case("a batch, holes in different places", _crop_case([(2, 9, 3, 14), (20, 30, 18, 29), (12, 15, 0, 5)], 32, 32, 16, 3)),
    Case("a wide image (H != W)", _crop_case([(4, 12, 30, 44), (14, 24, 2, 12)], 24, 48, 12, 4)),
]


def check_local_crop(student_fn: Callable[[Tensor, Tensor, int], Tensor]) -> None:
    """Exercise 3: the local discriminator's input."""
    mistakes = [
        ("the crop must be *centred* on the hole: start at (first + last + 1) // 2 - size // 2, not at the "
         "hole's first row/column", _crop_corner),
        ("off by one: the centre of rows first..last is (first + last + 1) // 2 (the last row is included)",
         _crop_floor_centre),
        ("clamp the start to [0, H - size] (not [0, H]): a crop that starts closer than size to the bottom "
         "or right edge sticks out of the image and comes back too small", _crop_clamp_to_extent),
        ("every image has its own hole: compute the box per image, not once for the whole batch", _crop_first_box),
        ("rows and columns are swapped: the top comes from the rows (dim -2) of the mask, the left from the "
         "columns (dim -1)", _crop_swapped),
    ]

    def make(case: Case) -> Callable[[], None]:
        def run() -> None:
            images, mask, size = case.args
            got = call_student(student_fn, images.clone(), mask.clone(), size)
            expected = reference_local_crop(images, mask, size)
            diff = describe_difference(got, expected)
            if diff is None:
                return
            for message, wrong in mistakes:
                if _same_as(wrong, case, strict=True) and all(_same_as(wrong, other) for other in CROP_CASES):
                    raise Mismatch(message)
            raise Mismatch(diff)
        return run

    def _same_as(wrong: Callable[..., Tensor], case: Case, strict: bool = False) -> bool:
        """The student's crop equals this mistake's on ``case`` (a mistake that cannot run there is not
        evidence against it). Named only when true on every case: one case can coincide by chance."""
        images, mask, size = case.args
        try:
            candidate = wrong(images, mask, size)
        except Exception:  # noqa: BLE001
            return not strict
        try:
            got = call_student(student_fn, images.clone(), mask.clone(), size)
        except StudentError:
            return False
        return describe_difference(got, candidate) is None

    run_cases("local_crop", [(c.name, make(c)) for c in CROP_CASES],
              hint="per image: rows with a hole first..last; top = (first + last + 1) // 2 - size // 2, "
                   "clamped to [0, H - size]; the same for columns; crop images[i, :, top:top + size, left:left + size]")


# ----------------------------------------------------------------------------- exercise 4
#: the grader's budget: 512 smooth 32x32 images with Global & Local's holes (12-16 px sides at this
#: size), 300 updates of batch 16 of phase 1 (MSE on the hole only) of :class:`SmallCompletionNet`
#: (about 20-25 s of one CPU core). With 200 updates of a 12-channel net the reference came within
#: 0.003-0.009 of the mean colour on seeds 3 and 4, hence these sizes. G&L's full network (width 8,
#: photo and texture crops, 250 updates) did not beat the mean colour at all (0.104-0.113 against
#: 0.085-0.089), hence the miniature and the smooth images.
TRAIN_IMAGES, TEST_IMAGES, SIZE, STEPS, BATCH, WIDTH = 512, 64, 32, 300, 16, 16
#: how much lower than the mean-colour fill's hole L1 ([0, 1] scale) the completion must get.
#: The reference solution, seeds 0-4: hole L1 0.0549, 0.0695, 0.0584, 0.0521, 0.0740 against the
#: mean colour's 0.0905, 0.0952, 0.0981, 0.0858, 0.0979 (below it by 0.024-0.040). Wrong assemblies
#: (seed 0, need < 0.0805): the mask not fed (a zero fourth channel) 0.0916; the hole not blanked in
#: the input (the network sees the answer while training) 0.0820; complete() skipped (the sigmoid's
#: [0, 1] compared with [-1, 1] images) 0.3935; the loss on the known pixels instead of the hole
#: 0.1306. Not a failure: the squared error of raw * 2 - 1 over the whole image (hole and known
#: pixels alike) reached 0.0388, better than the hole-only loss on these smooth images, where
#: reproducing the known pixels teaches the same smooth structure.
L1_MARGIN = 0.01


class SmallCompletionNet(nn.Module):
    """A 32 px miniature of the completion network of Iizuka et al. 2017 (Table 1), built around
    ``dilated_block`` (the student's exercise 1, or the reference):

    conv 5x5 (4 -> W) | conv 3x3 stride 2 (W -> 2W) | dilated_block(2W) at half resolution |
    conv 3x3 (2W -> 2W) | deconv 4x4 stride 2 (2W -> W) | conv 3x3 (W -> 3) | sigmoid,
    batch norm and ReLU after every layer but the last (as in the paper).

    Simplified from the paper: one downsampling instead of two, ``W`` = 16 instead of 64 channels,
    9 layers instead of 17. ``forward(x)``: ``x`` (N, 4, H, W), the image in [-1, 1] with its hole
    blanked and the mask (1 = hole) as the fourth channel; returns ``raw`` (N, 3, H, W) in [0, 1].
    """

    def __init__(self, dilated_block: Callable[[int], nn.Module], width: int = WIDTH) -> None:
        super().__init__()
        w = width

        def conv(c_in: int, c_out: int, k: int, stride: int = 1) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, k, stride, padding=k // 2), nn.BatchNorm2d(c_out), nn.ReLU()]

        self.net = nn.Sequential(
            *conv(4, w, 5), *conv(w, 2 * w, 3, 2), dilated_block(2 * w), *conv(2 * w, 2 * w, 3),
            nn.ConvTranspose2d(2 * w, w, 4, 2, padding=1), nn.BatchNorm2d(w), nn.ReLU(),
            nn.Conv2d(w, 3, 3, padding=1), nn.Sigmoid(),
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != 4:
            raise ValueError(f"SmallCompletionNet expects (N, 4, H, W): the blanked image and the mask as a "
                             f"fourth channel (torch.cat([image * (1 - mask), mask], dim=1)), got {tuple(x.shape)}")
        return self.net(x)


def smooth_images(n: int, seed: int, size: int = SIZE) -> Tensor:
    """(n, 3, size, size) in [-1, 1]: smooth procedural images, each channel a random linear ramp plus
    one low-frequency wave of random direction and phase. What is in a hole can be inferred from
    its surroundings (a mean colour cannot follow a ramp), so a small network learns it in seconds."""
    g = torch.Generator().manual_seed(seed)
    t = (torch.arange(size, dtype=torch.float32) + 0.5) / size * 2 - 1  # pixel centres in [-1, 1]
    y, x = t.view(1, 1, size, 1), t.view(1, 1, 1, size)

    def u(lo: float, hi: float, *shape: int) -> Tensor:
        return lo + (hi - lo) * torch.rand(n, *shape, 1, 1, generator=g)

    ramp = u(-0.3, 0.3, 3) + u(-0.45, 0.45, 3) * x + u(-0.45, 0.45, 3) * y
    angle, cycles, phase = u(0, math.pi, 1), u(0.5, 1.5, 1), u(0, 2 * math.pi, 3)  # 0.5-1.5 periods per side
    wave = u(0.1, 0.3, 3) * torch.sin(cycles * math.pi * (x * torch.cos(angle) + y * torch.sin(angle)) + phase)
    return (ramp + wave).clamp(-1, 1)


@functools.lru_cache(maxsize=4)  # the same seed's data is reused by the tests and the notebook
def completion_data(seed: int = 0, n: int = TRAIN_IMAGES, data_seed: int | None = None) -> dict[str, Tensor]:
    """``{"image": (n, 3, 32, 32) in [-1, 1], "mask": (n, 1, 32, 32), 1 = hole}``: :func:`smooth_images`
    with one of Global & Local's rectangles each (``gl_rect_mask_fn``: sides 12-16 px at 32 px). The
    training set uses ``seed``; the held-out set (:func:`completion_test`) ``seed + 1000``."""
    import numpy as np

    from course_lib.inpainting.datasets import gl_rect_mask_fn

    s = seed if data_seed is None else data_seed
    mask_fn, rng = gl_rect_mask_fn(SIZE), np.random.default_rng(s)
    return {"image": smooth_images(n, s), "mask": torch.stack([mask_fn(rng) for _ in range(n)])}


def completion_test(seed: int = 0) -> dict[str, Tensor]:
    """The grader's held-out images and holes (64, another seed than the training set)."""
    return completion_data(seed, TEST_IMAGES, data_seed=seed + 1000)


def completion_fill(net: nn.Module) -> Callable[[Tensor, Tensor], Tensor]:
    """How the grader fills holes with a trained network: ``(image with hole blanked, mask) -> completed``,
    the network in eval mode fed the blanked image and the mask, its output pasted in the hole."""
    def fill(x: Tensor, mask: Tensor) -> Tensor:
        net.eval()
        raw = call_student(net, torch.cat([x * (1 - mask), mask], dim=1))
        return reference_complete(raw, x, mask)
    return fill


def check_train_completion(student_fn: Callable[..., nn.Module], seed: int = 0) -> nn.Module:
    """Train with ``student_fn(images, masks, steps, batch_size, seed) -> net`` (phase 1: MSE only);
    grade the completions of held-out holes (:func:`completion_fill`) by their L1 against the
    mean-colour fill's. Returns the student's trained network. ``seed`` selects the grader's data
    and is passed on."""
    from course_lib.checks.core import Bar, check_outcome
    from course_lib.inpainting.blending import mean_fill
    from course_lib.inpainting.evaluate import evaluate

    train, test = completion_data(seed), completion_test(seed)

    def train_and_score() -> tuple[nn.Module, float]:
        net = call_student(student_fn, train["image"].clone(), train["mask"].clone(), STEPS, BATCH, seed)
        if not isinstance(net, nn.Module):
            raise Mismatch(f"train_completion should return the trained network (an nn.Module), got {type(net).__name__}")
        scores = evaluate(completion_fill(net), test, keep_outputs=False)
        print(f"    held-out PSNR in the holes: {scores.psnr:.2f} dB")
        return net, scores.l1

    def bars() -> list[Bar]:
        base = evaluate(mean_fill, test, keep_outputs=False)
        print(f"    the mean-colour fill: hole L1 {base.l1:.4f}, PSNR {base.psnr:.2f} dB")
        return [Bar("the mean-colour fill", base.l1, L1_MARGIN)]

    return check_outcome(
        "train_completion", train_and_score, bars, metric="hole L1", lower_is_better=True,
        reference="hole L1 0.052-0.074 over seeds 0-4, 0.024-0.040 below the mean-colour fill",
        advice="check that the network gets torch.cat([image * (1 - mask), mask], dim=1) (the hole blanked, "
               "the mask as a fourth channel), that its raw [0, 1] output goes through your complete() before "
               "the loss, that the MSE counts the hole only, and that the optimizer steps after zero_grad "
               "every iteration",
    )


# ----------------------------------------------------------------------------- hints on request
# The lab's stubs only say where help is ("Run lab09.hint('name') for a hint"); these are the
# hints, from the idea (level 1) through the steps and shapes (level 2) to nearly the code (3).
from course_lib.checks.core import make_hint  # noqa: E402  (kept apart from the checks above)

HINTS: dict[str, tuple[str, str, str]] = {
    'dilated_block': (
        "Iizuka et al.'s completion network has four dilated 3x3 convolutions (dilations 2, 4, 8, "
        '16) that keep the size while the receptive field grows fast.',
        'For each d in (2, 4, 8, 16): Conv2d(channels, channels, 3, padding=d, dilation=d), '
        'BatchNorm2d, ReLU, all in one nn.Sequential.',
        'a 3x3 kernel with dilation d needs padding d; conv -> BN -> ReLU for each d',
    ),
    'complete': (
        "The network's raw output is in [0, 1] while images are in [-1, 1]; only the hole is taken"
        ' from the prediction, the known pixels stay as they were.',
        'prediction = raw * 2 - 1; result = image where mask is 0 and prediction where mask is 1, '
        'as a blend with mask and 1 - mask.',
        'map raw to [-1, 1], then keep the image where mask == 0',
    ),
    'local_crop': (
        "The local discriminator sees a size x size crop centred on each image's hole, moved "
        'inside the image when the hole is near a border.',
        "For each image: the rows and columns that contain hole pixels give the hole's box; its "
        'centre minus size // 2 is the top-left corner; clamp it to [0, H - size] and [0, W - '
        'size]; slice the crop; stack the crops to (N, C, size, size).',
        "rows = torch.nonzero(mask[i, 0].amax(dim=1) > 0.5).flatten() gives the hole's rows",
    ),
    'train_completion': (
        "Phase 1 of Iizuka et al.'s training (Sec. 3.3) is plain supervised learning: the completion "
        'network sees the image with its hole blanked plus the mask, and is trained with the squared '
        'error inside the hole only; no discriminator yet.',
        'net = lab09.SmallCompletionNet(dilated_block); Adam(lr=2e-3). Each step: random indices i; '
        'x = cat([image * (1 - mask), mask], dim=1) (N, 4, 32, 32); raw = net(x) (N, 3, 32, 32) in '
        '[0, 1]; completed = complete(raw, image, mask) in [-1, 1]; loss = sum of (mask * (completed - '
        'image))^2 divided by 3 * mask.sum(); zero_grad, backward, step. Return net.',
        'raw = net(torch.cat([image * (1 - mask), mask], dim=1)); completed = complete(raw, image, mask); '
        'loss = ((mask * (completed - image)) ** 2).sum() / (3 * mask.sum())',
    ),
}
hint = make_hint("lab09", HINTS)


# ----------------------------------------------------------------------------- graded questions
# The short, graded part of the lab's Questions (the written part is read by the teacher).
from course_lib.checks.core import check_answer  # noqa: E402  (kept apart from the checks above)


def check_question_1(answer: object) -> None:
    """At which row of its 64x64 local crop the centre of a hole touching the top border lands."""
    check_answer(
        "question_1", answer, expected=8, tol=0.5,
        wrong={
            32: "32 is where the centre would be if the crop could leave the image; local_crop keeps "
                "the crop inside, so it starts at row 0",
            0: "row 0 is where the clamped crop starts, not where the hole's centre lands",
            -24: "that is where the crop would start without clamping; ask where the hole's centre "
                 "lands inside the clamped crop",
        },
        explain="The hole covers rows 0 to 15, so its centre is row (0 + 15 + 1) // 2 = 8; where does "
                "the clamped crop start?",
    )
