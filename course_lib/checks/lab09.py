"""Graders of lab 09 (Global & Local: the dilated block, the completion output, the local discriminator's crop)."""

from __future__ import annotations

import copy
import functools
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
