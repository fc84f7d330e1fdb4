"""Graders of lab 01 (dilated convolution and receptive fields)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from course_lib.checks.core import (
    Bar,
    Case,
    Mismatch,
    Mistake,
    all_children,
    call_student,
    check_function,
    check_outcome,
    run_cases,
)
from course_lib.receptive_field import LayerSpec, empirical_receptive_field, receptive_field

Layers = Sequence[tuple[int, int, int]]


# ----------------------------------------------------------------------------- exercise 1
def reference_receptive_field(layers: Layers) -> tuple[int, int]:
    """(kernel, stride, dilation) per layer -> (receptive field size, jump) of the last layer."""
    rf = receptive_field([LayerSpec(k, s, d) for k, s, d in layers])
    return int(rf.size), int(rf.jump)


def _rf_ignoring_jump(layers: Layers) -> tuple[int, int]:
    r, j = 1, 1
    for k, s, d in layers:
        r, j = r + (k - 1) * d, j * s
    return r, j


def _rf_ignoring_dilation(layers: Layers) -> tuple[int, int]:
    r, j = 1, 1
    for k, s, _ in layers:
        r, j = r + (k - 1) * j, j * s
    return r, j


def _rf_new_jump_first(layers: Layers) -> tuple[int, int]:
    r, j = 1, 1
    for k, s, d in layers:
        j = j * s
        r = r + (k - 1) * d * j
    return r, j


def _rf_effective_kernel_not_minus_one(layers: Layers) -> tuple[int, int]:
    r, j = 1, 1
    for k, s, d in layers:
        r, j = r + (d * (k - 1) + 1) * j, j * s
    return r, j


def _rf_summing_kernels(layers: Layers) -> tuple[int, int]:
    r, j = 0, 1
    for k, s, d in layers:
        r, j = r + (d * (k - 1) + 1), j * s
    return r, j


RF_CASES = [
    Case("one 3x3 conv", ([(3, 1, 1)],)),
    Case("one 3x3 conv, dilation 2 (covers 5x5)", ([(3, 1, 2)],)),
    Case("dilations 1, 2, 4, 8, 16", ([(3, 1, d) for d in (1, 2, 4, 8, 16)],)),
    Case("PatchGAN 70x70: 4x4 convs, strides 2, 2, 2, 1, 1", ([(4, 2, 1)] * 3 + [(4, 1, 1)] * 2,)),
    Case("stride then dilation", ([(3, 2, 1), (3, 2, 1), (3, 1, 2), (3, 1, 4)],)),
    Case("dilations that do not double: 3, 1, 5, 2", ([(3, 1, d) for d in (3, 1, 5, 2)],)),
    Case("a 5x5 stride-3 conv, then dilated 3x3 and 2x2 convs", ([(5, 3, 1), (3, 1, 3), (2, 2, 2), (3, 1, 1)],)),
    Case("no layers at all", ([],)),
]


def check_receptive_field(student_fn: Callable[[Layers], tuple[int, int]]) -> None:
    """Exercise 1: the receptive-field recurrence."""
    check_function(
        "receptive_field",
        student_fn,
        reference_receptive_field,
        RF_CASES,
        mistakes=[
            Mistake("each layer must add (k - 1) * d * jump: you left out the jump, so layers after a "
                    "stride are counted in their own pixels instead of input pixels", _rf_ignoring_jump),
            Mistake("the dilation is missing: a dilated kernel spans (k - 1) * d + 1 input pixels",
                    _rf_ignoring_dilation),
            Mistake("you updated the jump before using it: a layer's taps are spaced by the jump of "
                    "its *input*, so add (k - 1) * d * jump first, then multiply the jump by the stride",
                    _rf_new_jump_first),
            Mistake("a layer grows the field by (k - 1) * d * jump, not k_eff * jump: the centre tap is "
                    "already counted", _rf_effective_kernel_not_minus_one),
            Mistake("receptive fields do not add kernel sizes: start from r = 1 and add (k - 1) * d * jump "
                    "per layer", _rf_summing_kernels),
        ],
        hint="r starts at 1 and j at 1; for each layer: r = r + (k - 1) * d * j, then j = j * s.",
    )


# ----------------------------------------------------------------------------- exercise 2
def reference_dilated_stack(channels: int, dilations: Sequence[int]) -> nn.Sequential:
    from course_lib.nn.dilated import dilated_stack

    return dilated_stack(channels, dilations, kernel_size=3)


def check_dilated_stack(student_fn: Callable[[int, Sequence[int]], nn.Module]) -> None:
    """Exercise 2: a size-preserving stack of 3x3 dilated convolutions with ReLUs.

    Dilations that do not double from 1 (``(3, 1, 2)``) catch stacks built from ``2 ** i`` or
    from the position instead of the given list.
    """
    dil = (1, 2, 4, 8)
    odd = (3, 1, 2)  # neither doubling nor sorted: the convs must use the list as given

    def build(channels: int, dilations: Sequence[int]) -> nn.Module:
        torch.manual_seed(0)
        net = call_student(student_fn, channels, list(dilations))
        if not isinstance(net, nn.Module):
            raise Mismatch(f"dilated_stack must return an nn.Module (e.g. nn.Sequential), got {type(net).__name__}")
        return net

    def keeps_size() -> None:
        for ds, h, w in ((dil, 32, 32), (dil, 45, 33), (odd, 20, 27)):
            net = build(4, ds)
            x = torch.randn(2, 4, h, w)
            y = call_student(net, x)
            if tuple(y.shape) != (2, 4, h, w):
                raise Mismatch(
                    f"dilations {list(ds)}: input (2, 4, {h}, {w}) gave output {tuple(y.shape)}; each conv "
                    "needs padding = dilation (for a 3x3 kernel) to keep the size"
                )

    def parameter_count() -> None:
        net = build(8, dil)
        got = sum(p.numel() for p in net.parameters())
        expected = len(dil) * (8 * 8 * 9 + 8)
        if got != expected:
            raise Mismatch(
                f"{got} parameters, expected {expected} = {len(dil)} layers x (8*8*3*3 weights + 8 biases): "
                "use 3x3 kernels, channels -> channels, one conv per dilation"
            )

    def receptive_field_grows() -> None:
        for ds in (dil, odd):
            net = build(2, ds)
            expected = 1 + 2 * sum(ds)
            got = empirical_receptive_field(_leaky(net), (2, 81, 81), n_samples=2).size
            if got != (expected, expected):
                raise Mismatch(
                    f"the centre unit sees {got[0]}x{got[1]} pixels, expected {expected}x{expected} for "
                    f"dilations {list(ds)}: pass dilation=d to each nn.Conv2d, for each d of the list given"
                    if got[0] < expected else
                    f"the centre unit sees {got[0]}x{got[1]} pixels, more than {expected}x{expected} for "
                    f"dilations {list(ds)}: use each d of the list given, once"
                )

    def non_linear() -> None:
        net = build(3, (1, 2))
        x = torch.randn(1, 3, 16, 16)
        y = call_student(net, x)
        if not (y >= 0).all():
            raise Mismatch("the stack should end with a ReLU (every conv is followed by ReLU), but "
                           "the output has negative values")
        relus = sum(isinstance(m, (nn.ReLU, nn.LeakyReLU)) for m in all_children(net))
        if relus < 2:
            raise Mismatch(f"found {relus} ReLU modules for 2 convs: put nn.ReLU() after every conv, "
                           "or the stack collapses into a single linear filter")

    run_cases(
        "dilated_stack",
        [("keeps the spatial size", keeps_size), ("parameter count", parameter_count),
         ("receptive field 1 + 2 * sum(dilations)", receptive_field_grows),
         ("a ReLU after every conv", non_linear)],
        hint="for d in dilations: nn.Conv2d(channels, channels, 3, padding=d, dilation=d), nn.ReLU().",
    )


def _leaky(net: nn.Module) -> nn.Module:
    """A copy of ``net`` whose ReLUs leak, so a dead unit cannot hide part of the field."""
    import copy

    net = copy.deepcopy(net)
    for m in list(net.modules()):
        # m._modules, not named_children(): that skips a ReLU object reused in several places
        for child_name, child in list(m._modules.items()):
            if isinstance(child, nn.ReLU):
                setattr(m, child_name, nn.LeakyReLU(0.1))
    return net


# ----------------------------------------------------------------------------- exercise 3
def reference_empirical_rf(model: nn.Module, input_size: int) -> tuple[int, int]:
    return empirical_receptive_field(model, input_size).size


def _patchgan_like() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(8, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.LeakyReLU(0.2),
        nn.Conv2d(16, 16, 4, 1, 1), nn.BatchNorm2d(16), nn.LeakyReLU(0.2),
        nn.Conv2d(16, 1, 4, 1, 1),
    )


def _dilated_leaky() -> nn.Module:
    torch.manual_seed(0)
    layers: list[nn.Module] = [nn.Conv2d(3, 4, 3, padding=1)]
    for d in (2, 4, 8):
        layers += [nn.LeakyReLU(0.1), nn.Conv2d(4, 4, 3, padding=d, dilation=d)]
    return nn.Sequential(*layers)


def _single_conv() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 2, 5, padding=2))


def _gapped() -> nn.Module:
    """A field with holes: a 3x3 conv with dilation 4 sees rows -4, 0, 4 only (9x9 box, 3 rows)."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 2, 3, padding=4, dilation=4))


def check_empirical_rf(student_fn: Callable[[nn.Module, int], tuple[int, int]]) -> None:
    """Exercise 3: the receptive field measured by back-propagating from one output unit."""

    def make(factory: Callable[[], nn.Module], size: int, train_mode: bool) -> Callable[[], None]:
        def run() -> None:
            model = factory()
            model.train(train_mode)
            got = call_student(student_fn, model, size)
            expected = reference_empirical_rf(factory(), size)
            if isinstance(got, torch.Tensor):
                got = tuple(int(v) for v in got.tolist())
            if not isinstance(got, (tuple, list)) or len(got) != 2:
                raise Mismatch(f"return (height, width) of the field as a tuple of two ints, got {got!r}")
            got = (int(got[0]), int(got[1]))
            if got == expected:
                return
            if got == (size, size):
                has_bn = any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
                raise Mismatch(
                    f"your field is the whole {size}x{size} input, expected {expected}. "
                    + ("Batch norm in training mode mixes all positions through the batch statistics: "
                       "call model.eval() before measuring (or you back-propagated from every output "
                       "instead of one unit)" if has_bn and train_mode else
                       "You back-propagated from every output unit: use one unit, "
                       "out[0, :, h // 2, w // 2].sum().backward()")
                )
            if got[0] < expected[0] or got[1] < expected[1]:
                raise Mismatch(
                    f"measured {got}, expected {expected}: too small. Back-propagate from the centre "
                    "unit (a unit near the border has part of its field cut off by the padding), and "
                    "count every pixel whose gradient is non-zero, negative ones too (use .abs()). The size "
                    "is the extent from the first to the last non-zero row (column): a dilated field has "
                    "gaps, so counting the non-zero rows is too small"
                )
            raise Mismatch(
                f"measured {got}, expected {expected}: return the height and width of the bounding box "
                "of the input pixels whose gradient is non-zero (rows and columns where "
                "grad.abs().sum over channels > 0), not a count of pixels"
            )
        return run

    run_cases(
        "empirical_rf",
        [("a single 5x5 conv", make(_single_conv, 32, False)),
         ("dilated stack 1, 2, 4, 8", make(_dilated_leaky, 64, False)),
         ("a field with gaps (3x3, dilation 4)", make(_gapped, 32, False)),
         ("PatchGAN-like net with batch norm, in training mode", make(_patchgan_like, 96, True))],
        hint="x = torch.randn(1, C, H, W, requires_grad=True); out = model(x); "
             "out[0, :, h // 2, w // 2].sum().backward(); look where x.grad is non-zero.",
    )


# ----------------------------------------------------------------------------- exercise 4
#: the grader's budget: smooth colour fields of 32x32 with a centred 16x16 hole (the hole's centre
#: is 8 pixels from the nearest known pixel, so a field of at least 17 pixels is needed there);
#: STEPS updates of BATCH images (about 13 s on one CPU core)
TRAIN_IMAGES, TEST_IMAGES, SIZE, HOLE, STEPS, BATCH = 800, 128, 32, 16, 400, 16
#: how much lower than filling the hole with the mean known colour the hole's MSE must be. The
#: reference solution (dilations 1, 2, 4, 8: a field of 31 px), seeds 0-4: hole MSE 0.0018-0.0027
#: against the mean fill's 0.0094-0.0105 (margins 0.0067-0.0086). Wrong variants, seeds 0-1:
#: dilations 1, 1, 1, 1, 1 (a field of 11 px): 0.050-0.071; the hole left in the network's input:
#: 0.036-0.037; the loss on the known pixels: 0.012-0.014; no optimizer step: 0.20-0.21. (With
#: batches of 8 the reference ranged up to 0.0065 and the known-pixel loss down to 0.0093: hence 16.)
HOLE_MSE_MARGIN = 0.003


def hole_data(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The grader's data: training images (N, 3, 32, 32), held-out images (M, 3, 32, 32), both in
    [-1, 1], and the hole's mask (1, 1, 32, 32), 1 inside the centred 16x16 square."""
    from course_lib.data import SmoothFieldHoles

    train_set = SmoothFieldHoles(TRAIN_IMAGES, SIZE, HOLE, seed=seed)
    test_set = SmoothFieldHoles(TEST_IMAGES, SIZE, HOLE, seed=seed + 1000)
    train = torch.stack([train_set[i]["image"] for i in range(TRAIN_IMAGES)])
    test = torch.stack([test_set[i]["image"] for i in range(TEST_IMAGES)])
    return train, test, train_set.mask[None]


def hole_mse(filled: torch.Tensor, images: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean squared error over the hole's pixels (mask = 1) and the colour channels."""
    per_pixel = ((filled - images) ** 2 * mask).sum() / (mask.sum() * images.shape[0] * images.shape[1])
    return float(per_pixel)


def mean_fill(images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The trivial baseline: every hole pixel gets the image's mean known colour."""
    known = 1 - mask
    colour = (images * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True)
    return images * known + colour * mask


def check_train_hole_filler(student_fn: Callable[..., nn.Module], seed: int = 0) -> nn.Module:
    """Train with ``student_fn(images, mask, steps, batch_size, seed) -> net``; grade the hole's MSE.

    ``net`` maps ``(N, 4, H, W)``, the image with its hole set to zero and the mask, to the image
    ``(N, 3, H, W)``; only its values inside the hole are scored. Returns the trained network.
    ``seed`` selects the grader's data and is passed on.
    """
    train, test, mask = hole_data(seed)
    inputs = torch.cat([test * (1 - mask), mask.expand(len(test), 1, SIZE, SIZE)], dim=1)

    def train_and_score() -> tuple[nn.Module, float]:
        net = call_student(student_fn, train.clone(), mask.clone(), STEPS, BATCH, seed)
        if not isinstance(net, nn.Module):
            raise Mismatch(f"train_hole_filler should return the network (an nn.Module), got {type(net).__name__}")
        net.eval()
        with torch.no_grad():
            out = call_student(net, inputs)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(test.shape):
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise Mismatch(f"the returned network maps (N, 4, {SIZE}, {SIZE}) inputs (image with the hole "
                           f"zeroed, mask) to {got}, expected {tuple(test.shape)}")
        filled = test * (1 - mask) + out * mask
        return net, hole_mse(filled, test, mask)

    def bars() -> list[Bar]:
        return [Bar("filling the hole with the mean known colour", hole_mse(mean_fill(test, mask), test, mask),
                    HOLE_MSE_MARGIN)]

    return check_outcome(
        "train_hole_filler", train_and_score, bars, metric="hole MSE", lower_is_better=True,
        reference="hole MSE 0.0018-0.0027 over seeds 0-4",
        advice="check that the receptive field of your network (your receptive_field) is at least "
               f"{HOLE + 1} pixels, so that the hole's centre sees past its border; that the network's "
               "input is the image with its hole set to zero (otherwise it learns to copy the answer "
               "it will not be given); that the loss is measured inside the hole; and that the "
               "optimizer's gradients are zeroed and it steps every iteration",
    )


# ----------------------------------------------------------------------------- hints on request
# The lab's stubs only say where help is ("Run lab01.hint('name') for a hint"); these are the
# hints, from the idea (level 1) through the steps and shapes (level 2) to nearly the code (3).
from course_lib.checks.core import make_hint  # noqa: E402  (kept apart from the checks above)

HINTS: dict[str, tuple[str, str, str]] = {
    'receptive_field': (
        'Walk through the layers from the input to the output, keeping two numbers: how many input'
        ' pixels one unit sees (r) and how far apart neighbouring units are in input pixels (j). '
        'Each layer widens r by an amount that depends on the spacing j of the units it reads '
        'from.',
        'A layer (k, s, d) reads k taps spaced d units apart, i.e. (k - 1) * d steps of j input '
        'pixels each: r grows by (k - 1) * d * j using j from *before* the layer; only then does '
        'the stride multiply j by s. Return the pair (r, j) as ints.',
        'start with r, j = 1, 1 and update both for every layer',
    ),
    'dilated_stack': (
        'Each layer is a 3x3 convolution followed by a ReLU; the size is kept when the padding '
        'matches how far the (dilated) kernel reaches beyond its centre.',
        'A 3x3 kernel with dilation d reaches d pixels from its centre on each side, so it needs d'
        ' pixels of padding. Collect Conv2d(channels, channels, 3, padding=..., dilation=d) and '
        'nn.ReLU() in a list for every d, then wrap the list in nn.Sequential.',
        'a 3x3 kernel with dilation d needs padding d to keep the size',
    ),
    'empirical_rf': (
        'An output unit depends on exactly the input pixels whose gradient is non-zero when you '
        'back-propagate from that unit alone. Batch norm must use its stored statistics (eval '
        'mode), otherwise every position influences every other.',
        'Steps: model.eval(); a random input (1, C, size, size) with requires_grad=True; run the '
        'model; pick the centre unit of the output (all channels, row h // 2, column w // 2); sum '
        'it and call backward(); the pixels where x.grad (summed over channels) is non-zero form a'
        ' box: return its height and width (last index - first index + 1) as ints.',
        'model.eval(); x = torch.randn(1, C, H, W, requires_grad=True); out[0, :, h // 2, w // '
        '2].sum().backward()',
    ),
    'train_hole_filler': (
        'A pixel of the hole can only be filled from known pixels its receptive field reaches: '
        'pick dilations that make the field at least twice the distance from the centre to the '
        'border, plus one. Then train as usual, but show the network the image with its hole '
        'blanked out and score it only inside the hole.',
        'Network: Conv2d(4, C, 1), ReLU, your dilated_stack(C, dilations), Conv2d(C, 3, 1); with '
        'dilations 1, 2, 4, 8 your receptive_field gives 31 px >= 17. Each step: index a random '
        'batch of images (B, 3, 32, 32); input = cat([x * (1 - m), m], dim=1) with m the mask '
        'expanded to (B, 1, 32, 32); loss = squared error times m, summed, divided by 3 * m.sum(); '
        'zero_grad, backward, step.',
        'out = net(torch.cat([x * (1 - m), m], dim=1)); loss = ((out - x) ** 2 * m).sum() / (3 * '
        'm.sum())',
    ),
}
hint = make_hint("lab01", HINTS)


# ----------------------------------------------------------------------------- graded questions
# The short, graded part of the lab's Questions (the written part is read by the teacher).
from course_lib.checks.core import check_answer  # noqa: E402  (kept apart from the checks above)


def check_question_1(answer: object) -> None:
    """The fewest 3x3 layers with dilations 1, 2, 4, ... whose field at a 64x64 hole's centre reaches a known pixel."""
    check_answer(
        "question_1", answer, expected=6,
        wrong={
            5: "five layers give a field of 63 pixels, 31 on each side of the centre: one short of the "
               "nearest known pixel, 32 pixels away",
            32: "32 plain (undilated) 3x3 layers would be needed; with doubling dilations the field "
                "grows much faster",
            33: "that counts plain 3x3 layers, and one too many; with doubling dilations the field grows "
                "much faster",
            65: "65 pixels is the receptive field needed (2 * 32 + 1), not the number of layers",
            7: "seven layers give 255 pixels, but six already give 127 >= 65",
        },
        explain="The hole's centre is 32 pixels from the nearest known pixel, so the field must be at "
                "least 2 * 32 + 1 = 65; evaluate receptive_field([(3, 1, d), ...]) for 1, 2, 3, ... layers.",
    )
