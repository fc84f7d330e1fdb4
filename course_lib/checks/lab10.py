"""Graders of lab 10 (partial convolution, gated convolution, free-form masks, contextual-attention scores)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from course_lib.checks.core import Case, Mismatch, Mistake, call_student, check_function, run_cases
from course_lib.inpainting.contextual_attention import contextual_attention, extract_patches
from course_lib.inpainting.partial_conv import partial_conv2d

Tensor = torch.Tensor


# ----------------------------------------------------------------------------- exercise 1
def reference_partial_conv(x: Tensor, valid: Tensor, weight: Tensor, bias: Tensor) -> tuple[Tensor, Tensor]:
    """Partial convolution, stride 1, 'same' padding; ``valid`` (N, 1, H, W) with 1 = valid."""
    return partial_conv2d(x, valid, weight, bias, padding=weight.shape[-1] // 2)


def _pc_parts(x: Tensor, valid: Tensor, weight: Tensor) -> tuple[Tensor, Tensor, float, int]:
    k = weight.shape[-1]
    raw = F.conv2d(x * valid, weight, padding=k // 2)
    count = F.conv2d(valid, torch.ones(1, 1, k, k), padding=k // 2)  # valid pixels per window
    return raw, count, float(k * k), k


def _pc_no_renormalisation(x: Tensor, valid: Tensor, weight: Tensor, bias: Tensor) -> tuple[Tensor, Tensor]:
    raw, count, _, _ = _pc_parts(x, valid, weight)
    new = (count > 0).float()
    return (raw + bias.view(1, -1, 1, 1)) * new, new


def _pc_bias_scaled(x: Tensor, valid: Tensor, weight: Tensor, bias: Tensor) -> tuple[Tensor, Tensor]:
    raw, count, window, _ = _pc_parts(x, valid, weight)
    new = (count > 0).float()
    return (raw + bias.view(1, -1, 1, 1)) * window / count.clamp_min(1) * new, new


def _pc_bias_in_empty_windows(x: Tensor, valid: Tensor, weight: Tensor, bias: Tensor) -> tuple[Tensor, Tensor]:
    raw, count, window, _ = _pc_parts(x, valid, weight)
    new = (count > 0).float()
    return raw * window / count.clamp_min(1) + bias.view(1, -1, 1, 1), new


def _pc_mask_not_updated(x: Tensor, valid: Tensor, weight: Tensor, bias: Tensor) -> tuple[Tensor, Tensor]:
    out, _ = reference_partial_conv(x, valid, weight, bias)
    return out, valid


def _pc_mask_eroded(x: Tensor, valid: Tensor, weight: Tensor, bias: Tensor) -> tuple[Tensor, Tensor]:
    out, _ = reference_partial_conv(x, valid, weight, bias)
    _, count, window, _ = _pc_parts(x, valid, weight)
    return out, (count >= window).float()


def _pc_hole_not_zeroed(x: Tensor, valid: Tensor, weight: Tensor, bias: Tensor) -> tuple[Tensor, Tensor]:
    k = weight.shape[-1]
    _, count, window, _ = _pc_parts(x, valid, weight)
    new = (count > 0).float()
    raw = F.conv2d(x, weight, padding=k // 2)
    return raw * window / count.clamp_min(1) * new + bias.view(1, -1, 1, 1) * new, new


def _pc_case(name: str, seed: int, n: int, c_in: int, c_out: int, size: int, k: int, holes: Sequence[tuple]) -> Case:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c_in, size, size, generator=g)
    valid = torch.ones(n, 1, size, size)
    for i, top, left, h, w in holes:
        valid[i, :, top:top + h, left:left + w] = 0
    x = x * valid + 5.0 * (1 - valid)  # the hole holds junk: a correct layer never looks at it
    weight = torch.randn(c_out, c_in, k, k, generator=g) / k
    bias = torch.randn(c_out, generator=g)
    return Case(name, (x, valid, weight, bias), constants=("valid",))


PC_CASES = [
    _pc_case("3x3, one channel, a 2x2 hole", 0, 1, 1, 1, 6, 3, [(0, 2, 2, 2, 2)]),
    _pc_case("3x3, a 4x4 hole: its centre windows hold no valid pixel", 1, 1, 2, 3, 8, 3, [(0, 2, 2, 4, 4)]),
    _pc_case("5x5, two images with different holes", 2, 2, 3, 2, 10, 5, [(0, 0, 0, 3, 10), (1, 3, 4, 5, 5)]),
    _pc_case("no hole at all (border windows still count the zero padding as invalid)", 3, 1, 2, 2, 6, 3, []),
]


def check_partial_conv(student_fn: Callable[..., tuple[Tensor, Tensor]]) -> None:
    """Exercise 1: the masked, renormalised convolution and the mask update."""
    check_function(
        "partial_conv",
        student_fn,
        reference_partial_conv,
        PC_CASES,
        mistakes=[
            Mistake("no renormalisation: multiply the convolution of X * M by sum(1) / sum(M) = k*k / "
                    "(valid pixels in the window), so windows that are half hole are not half as bright",
                    _pc_no_renormalisation),
            Mistake("the bias is renormalised too: scale only W^T (X * M), then add b", _pc_bias_scaled),
            Mistake("windows with no valid pixel must output exactly 0 (bias included): multiply by the "
                    "new mask after adding the bias", _pc_bias_in_empty_windows),
            Mistake("the mask is not updated: the new mask is 1 wherever the window held at least one valid "
                    "pixel (the hole shrinks by the kernel radius)", _pc_mask_not_updated),
            Mistake("the new mask is 1 where *at least one* input is valid (sum(M) > 0), not only where all of "
                    "them are: yours shrinks the valid region instead of the hole", _pc_mask_eroded),
            Mistake("the hole's content leaks into the output: convolve X * M (the input with the hole "
                    "zeroed), not X", _pc_hole_not_zeroed),
        ],
        hint="count = conv2d(valid, ones(1, 1, k, k), padding=k // 2); new = (count > 0); "
             "out = (conv2d(x * valid, weight, padding=k // 2) * k*k / count.clamp_min(1) + b) * new.",
    )


# ----------------------------------------------------------------------------- exercise 2
def reference_gated_conv(x: Tensor, weight: Tensor, bias: Tensor, dilation: int = 1) -> Tensor:
    """``ELU(features) * sigmoid(gates)``: one conv to 2C channels, features first."""
    c = weight.shape[0] // 2
    k = weight.shape[-1]
    raw = F.conv2d(x, weight, bias, padding=dilation * (k - 1) // 2, dilation=dilation)
    return F.elu(raw[:, :c]) * torch.sigmoid(raw[:, c:])


def _gc_raw(x: Tensor, weight: Tensor, bias: Tensor, dilation: int) -> tuple[Tensor, Tensor]:
    c, k = weight.shape[0] // 2, weight.shape[-1]
    raw = F.conv2d(x, weight, bias, padding=dilation * (k - 1) // 2, dilation=dilation)
    return raw[:, :c], raw[:, c:]


def _gc_swapped(x: Tensor, weight: Tensor, bias: Tensor, dilation: int = 1) -> Tensor:
    f, g = _gc_raw(x, weight, bias, dilation)
    return F.elu(g) * torch.sigmoid(f)


def _gc_no_activation(x: Tensor, weight: Tensor, bias: Tensor, dilation: int = 1) -> Tensor:
    f, g = _gc_raw(x, weight, bias, dilation)
    return f * torch.sigmoid(g)


def _gc_activation_after(x: Tensor, weight: Tensor, bias: Tensor, dilation: int = 1) -> Tensor:
    f, g = _gc_raw(x, weight, bias, dilation)
    return F.elu(f * torch.sigmoid(g))


def _gc_no_dilation(x: Tensor, weight: Tensor, bias: Tensor, dilation: int = 1) -> Tensor:
    return reference_gated_conv(x, weight, bias, 1)


def _gc_case(name: str, seed: int, c_in: int, c_out: int, size: tuple[int, int], k: int, dilation: int) -> Case:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, c_in, *size, generator=g)
    weight = torch.randn(2 * c_out, c_in, k, k, generator=g) / k
    bias = torch.randn(2 * c_out, generator=g)
    return Case(name, (x, weight, bias), {"dilation": dilation}, grad=True)


GC_CASES = [
    _gc_case("3x3, 4 -> 2 channels", 0, 4, 2, (8, 8), 3, 1),
    _gc_case("5x5, 3 -> 4 channels, not square", 1, 3, 4, (9, 12), 5, 1),
    _gc_case("3x3, dilation 4", 2, 2, 3, (16, 16), 3, 4),
]


def check_gated_conv(student_fn: Callable[..., Tensor]) -> None:
    """Exercise 2: gated convolution."""
    check_function(
        "gated_conv",
        student_fn,
        reference_gated_conv,
        GC_CASES,
        mistakes=[
            Mistake("features and gates are swapped: the first C output channels are the features "
                    "(through ELU), the last C the gates (through the sigmoid)", _gc_swapped),
            Mistake("the features need their activation: ELU(features) * sigmoid(gates)", _gc_no_activation),
            Mistake("the ELU is applied after gating; gate the activated features instead: "
                    "ELU(features) * sigmoid(gates)", _gc_activation_after),
            Mistake("the dilation is ignored: pass dilation=dilation and padding = dilation * (k - 1) // 2",
                    _gc_no_dilation),
        ],
        hint="raw = F.conv2d(x, weight, bias, padding=dilation * (k - 1) // 2, dilation=dilation); "
             "features, gates = raw[:, :C], raw[:, C:]; return F.elu(features) * torch.sigmoid(gates).",
    )


# ----------------------------------------------------------------------------- exercise 3
def reference_stroke_vertices(start: tuple[int, int], angles: Sequence[float], lengths: Sequence[float],
                              size: tuple[int, int]) -> list[tuple[int, int]]:
    """The vertices of one brush stroke, as the DeepFill v2 release computes them.

    ``start`` = (x, y); segment ``i`` turns by ``2 pi - angles[i]`` if ``i`` is even, else by
    ``angles[i]``; each vertex is clipped to ``[0, W] x [0, H]`` and truncated to int.
    """
    h, w = size
    vertices = [(int(start[0]), int(start[1]))]
    for i, (angle, length) in enumerate(zip(angles, lengths)):
        a = 2 * math.pi - angle if i % 2 == 0 else angle
        x = min(max(vertices[-1][0] + length * math.cos(a), 0), w)
        y = min(max(vertices[-1][1] + length * math.sin(a), 0), h)
        vertices.append((int(x), int(y)))
    return vertices


def _sv(start, angles, lengths, size, turn_even=True, clip=True, swap=False, alternate=True):
    h, w = size
    vertices = [(int(start[0]), int(start[1]))]
    for i, (angle, length) in enumerate(zip(angles, lengths)):
        flip = (i % 2 == 0) if turn_even else (i % 2 == 1)
        a = 2 * math.pi - angle if (flip and alternate) else angle
        dx, dy = (math.sin(a), math.cos(a)) if swap else (math.cos(a), math.sin(a))
        x, y = vertices[-1][0] + length * dx, vertices[-1][1] + length * dy
        if clip:
            x, y = min(max(x, 0), w), min(max(y, 0), h)
        vertices.append((int(x), int(y)))
    return vertices


def _sv_no_alternation(start, angles, lengths, size):
    return _sv(start, angles, lengths, size, alternate=False)


def _sv_odd_first(start, angles, lengths, size):
    return _sv(start, angles, lengths, size, turn_even=False)


def _sv_no_clip(start, angles, lengths, size):
    return _sv(start, angles, lengths, size, clip=False)


def _sv_swapped(start, angles, lengths, size):
    return _sv(start, angles, lengths, size, swap=True)


def _sv_all_mirrored(start, angles, lengths, size):
    h, w = size
    vertices = [(int(start[0]), int(start[1]))]
    for angle, length in zip(angles, lengths):
        a = 2 * math.pi - angle
        x = min(max(vertices[-1][0] + length * math.cos(a), 0), w)
        y = min(max(vertices[-1][1] + length * math.sin(a), 0), h)
        vertices.append((int(x), int(y)))
    return vertices


def _sv_clip_minus_one(start, angles, lengths, size):
    return reference_stroke_vertices(start, angles, lengths, (size[0] - 1, size[1] - 1))


def _sv_size_as_wh(start, angles, lengths, size):
    return reference_stroke_vertices(start, angles, lengths, (size[1], size[0]))


SV_CASES = [
    Case("4 segments in the middle of a 256 image", ((128, 128), [1.2, 1.3, 1.25, 1.1], [40.0, 50.5, 30.2, 45.0], (256, 256))),
    Case("a stroke that runs into the border", ((10, 240), [1.3, 1.2, 1.35, 1.25, 1.3], [90.0, 80.0, 85.0, 70.0, 60.0], (256, 256))),
    Case("a non-square image (H = 64, W = 200)", ((20, 30), [1.1, 1.4, 1.2], [50.0, 40.0, 35.0], (64, 200))),
    # the border cases: clipping to W vs W - 1 and reading size as (W, H) change these vertices
    Case("a stroke that reaches the right border (x = W = 200)", ((180, 50), [0.3, 2.8, 0.2, 2.9], [60.0, 40.0, 70.0, 30.0], (64, 200))),
    Case("a stroke that reaches the bottom and left borders", ((30, 40), [4.4, 1.9, 4.6], [50.0, 45.0, 60.0], (64, 200))),
]


def check_stroke_vertices(student_fn: Callable[..., list[tuple[int, int]]]) -> None:
    """Exercise 3: the zig-zag vertices of a free-form brush stroke."""

    def run_case(case: Case) -> Callable[[], None]:
        def run() -> None:
            got = call_student(student_fn, *case.args)
            expected = reference_stroke_vertices(*case.args)
            try:
                got = [(int(x), int(y)) for x, y in got]
            except (TypeError, ValueError):
                raise Mismatch(f"return a list of (x, y) integer pairs, got {got!r}"[:300]) from None
            if got == expected:
                return
            for fn, message in [
                (_sv_no_alternation, "the turns must alternate: even segments use 2*pi - angle, odd ones the "
                                     "angle itself (otherwise the stroke curls up into a circle)"),
                (_sv_odd_first, "the alternation starts with segment 0: segment i uses 2*pi - angle when i is even"),
                (_sv_all_mirrored, "only every other segment is mirrored (2*pi - angle for even i, angle for odd i)"),
                (_sv_no_clip, "clip every vertex to the image: 0 <= x <= W and 0 <= y <= H"),
                (_sv_swapped, "x moves by length * cos(angle) and y by length * sin(angle) (you swapped them)"),
                (_sv_clip_minus_one, "clip to [0, W] x [0, H] as the DeepFill release does (W and H included, "
                                     "not W - 1 and H - 1): a vertex on the border is drawn half outside"),
                (_sv_size_as_wh, "size is (H, W): x is clipped to W = size[1] and y to H = size[0] (you read it "
                                 "as (W, H))"),
            ]:
                if got == fn(*case.args):
                    raise Mismatch(message)
            if len(got) != len(expected):
                raise Mismatch(f"{len(got)} vertices, expected {len(expected)}: the start plus one per segment")
            raise Mismatch(f"got {got}, expected {expected}")
        return run

    run_cases("stroke_vertices", [(c.name, run_case(c)) for c in SV_CASES],
              hint="for each segment i: a = 2*pi - angle if i is even else angle; step by length * (cos a, sin a) "
                   "from the last vertex; clip to [0, W] x [0, H]; int().")


# ----------------------------------------------------------------------------- exercise 4
def reference_attention_scores(features: Tensor, hole: Tensor, softmax_scale: float = 10.0) -> Tensor:
    """Contextual attention without propagation at full resolution, for one image.

    ``features`` (C, H, W), ``hole`` (1, H, W) with 1 = hole. Returns (H * W, H, W): the weight of
    background 3x3 patch ``l`` at every position.
    """
    return contextual_attention(features[None], features[None], hole[None], ksize=3, rate=1, fuse=False,
                                softmax_scale=softmax_scale).attention[0]


def _cas_parts(features: Tensor, hole: Tensor) -> tuple[Tensor, Tensor, int, int]:
    _, h, w = features.shape
    patches = extract_patches(features[None], 3)[0]  # (L, C, 3, 3)
    usable = (extract_patches(hole[None], 3)[0].flatten(1).amax(1) == 0).float()  # (L,)
    return patches, usable.view(-1, 1, 1), h, w


def _cas(features, hole, softmax_scale=10.0, normalise=True, exclude=True, dim=0, scale=True):
    patches, usable, _, _ = _cas_parts(features, hole)
    if normalise:
        patches = patches / patches.flatten(1).norm(dim=1).clamp_min(1e-4).view(-1, 1, 1, 1)
    scores = F.conv2d(features[None], patches, padding=1)[0]
    if exclude:
        scores = scores * usable
    s = softmax_scale if scale else 1.0
    att = torch.softmax(scores * s, dim=dim)
    return att * usable if exclude else att


def _cas_not_normalised(features, hole, softmax_scale=10.0):
    return _cas(features, hole, softmax_scale, normalise=False)


def _cas_hole_included(features, hole, softmax_scale=10.0):
    return _cas(features, hole, softmax_scale, exclude=False)


def _cas_softmax_over_positions(features, hole, softmax_scale=10.0):
    patches, usable, h, w = _cas_parts(features, hole)
    patches = patches / patches.flatten(1).norm(dim=1).clamp_min(1e-4).view(-1, 1, 1, 1)
    scores = F.conv2d(features[None], patches, padding=1)[0] * usable
    att = torch.softmax((scores * softmax_scale).flatten(1), dim=1).view_as(scores)
    return att * usable


def _cas_no_scale(features, hole, softmax_scale=10.0):
    return _cas(features, hole, softmax_scale, scale=False)


def _cas_case(name: str, seed: int, c: int, h: int, w: int, holes: Sequence[tuple], scale: float = 10.0) -> Case:
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(c, h, w, generator=g)
    hole = torch.zeros(1, h, w)
    for top, left, hh, ww in holes:
        hole[:, top:top + hh, left:left + ww] = 1
    return Case(name, (features, hole), {"softmax_scale": scale})


CAS_CASES = [
    _cas_case("4 channels, 8x8, a 2x3 hole", 0, 4, 8, 8, [(3, 2, 2, 3)]),
    _cas_case("2 channels, 7x9, two holes", 1, 2, 7, 9, [(0, 0, 2, 2), (4, 5, 2, 3)]),
    _cas_case("3 channels, 6x6, softmax scale 3", 2, 3, 6, 6, [(2, 2, 2, 2)], 3.0),
]


def check_attention_scores(student_fn: Callable[..., Tensor]) -> None:
    """Exercise 4: contextual-attention scores (cosine matching, hole patches excluded, scaled softmax)."""
    check_function(
        "attention_scores",
        student_fn,
        reference_attention_scores,
        CAS_CASES,
        mistakes=[
            Mistake("the background patches must be divided by their norm: without it the scores are dot "
                    "products, and bright patches win everywhere", _cas_not_normalised),
            Mistake("patches that touch the hole must get no weight: multiply the scores by the 'usable' mask "
                    "before the softmax and the attention by it after", _cas_hole_included),
            Mistake("the softmax runs over the background patches (dim 0: which patch to copy), not over the "
                    "positions of the image", _cas_softmax_over_positions),
            Mistake("the scores are multiplied by softmax_scale before the softmax (10 in DeepFill): without it the "
                    "attention is almost uniform", _cas_no_scale),
        ],
        atol=1e-5,
        hint="patches = extract_patches(features[None], 3)[0]; divide each by its norm; scores = "
             "F.conv2d(features[None], patches, padding=1)[0]; usable = patches of the hole with no 1; "
             "softmax(scores * usable * scale, dim=0) * usable.",
    )


# ----------------------------------------------------------------------------- exercise 5
#: the grader's budget: 512 training crops at 32x32 with one rectangular hole each (6-10 px sides),
#: 250 updates of batch 16 of a 5-layer partial-convolution network (about 20-30 s on one CPU core)
TRAIN_IMAGES, TEST_IMAGES, SIZE, STEPS, BATCH = 512, 64, 32, 250, 16
HOLE_SIDES = (6, 10)  # the sides of the rectangular holes, in pixels
#: how much lower than the mean-colour fill's hole L1 ([0, 1] scale) the PConv network must get.
#: The reference solution, seeds 0-4: hole L1 0.0714, 0.0603, 0.0668, 0.0800, 0.0710 against the
#: mean-colour fill's 0.0880, 0.0721, 0.0934, 0.0846, 0.0867 (below it by 0.0046-0.0266); never
#: stepped: 0.2832; the hole mask passed as `valid` (1 = hole instead of 1 = known): 0.2504 (seed 0;
#: tests/test_lab10_checks.py). With Global & Local's larger holes (12-16 px) the same training was
#: no better than the mean colour (0.0826-0.0880 against 0.0733-0.0934), hence the smaller holes.
L1_MARGIN = 0.002


class PConvNet(torch.nn.Module):
    """A small stride-1 network of partial convolutions, each computed by ``partial_conv`` (the
    student's exercise 1, or the reference): 3 -> 16 -> 16 -> 16 -> 16 -> 3 channels, kernels 5, 5, 5, 5, 3
    (receptive field 19 px), ReLU between layers, the mask updated by every layer.

    ``forward(x, valid)``: ``x`` (N, 3, H, W) in [-1, 1] with the hole zeroed, ``valid`` (N, 1, H, W),
    1 = known (the paper's convention). Returns the prediction (N, 3, H, W), for every pixel.
    """

    def __init__(self, partial_conv: Callable[..., tuple[Tensor, Tensor]], width: int = 16) -> None:
        super().__init__()
        self.partial_conv = partial_conv
        shapes = [(width, 3, 5), (width, width, 5), (width, width, 5), (width, width, 5), (3, width, 3)]
        self.weights = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.randn(o, i, k, k) * math.sqrt(2 / (i * k * k))) for o, i, k in shapes])
        self.biases = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(o)) for o, _, _ in shapes])

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x, valid = self.partial_conv(x, valid, w, b)
            if i < len(self.weights) - 1:
                x = torch.relu(x)
        return x


@functools.lru_cache(maxsize=4)  # the same seed's data is reused by the tests and the notebook
def pconv_data(seed: int = 0, n: int = TRAIN_IMAGES, data_seed: int | None = None) -> dict[str, Tensor]:
    """``{"image": (n, 3, 32, 32) in [-1, 1], "mask": (n, 1, 32, 32), 1 = hole}``: photo and texture
    crops with one random rectangle each (sides :data:`HOLE_SIDES`, so that the 19 px receptive field
    of :class:`PConvNet` reaches the hole's centre). The training set uses ``seed``; the held-out set
    (:func:`pconv_test`) ``seed + 1000``."""
    from course_lib.inpainting.datasets import InpaintingImages, inpainting_dataset
    from course_lib.inpainting.masks import random_rect_mask

    s = seed if data_seed is None else data_seed
    data = inpainting_dataset(InpaintingImages(SIZE, n, seed=s), lambda rng: random_rect_mask(SIZE, *HOLE_SIDES, rng), seed=s)
    items = [data[i] for i in range(n)]
    return {"image": torch.stack([d["image"] for d in items]), "mask": torch.stack([d["mask"] for d in items])}


def pconv_test(seed: int = 0) -> dict[str, Tensor]:
    """The grader's held-out crops and holes (64, another seed than the training set)."""
    return pconv_data(seed, TEST_IMAGES, data_seed=seed + 1000)


def check_train_pconv(student_fn: Callable[..., torch.nn.Module], seed: int = 0) -> torch.nn.Module:
    """Train with ``student_fn(images, masks, steps, batch_size, seed) -> net``; grade the fills
    ``net(image * (1 - mask), 1 - mask)`` of held-out holes by their L1 against the mean-colour fill's.

    Returns the student's trained network. ``seed`` selects the grader's data and is passed on.
    """
    from course_lib.checks.core import Bar, check_outcome
    from course_lib.inpainting.blending import mean_fill
    from course_lib.inpainting.evaluate import evaluate

    train, test = pconv_data(seed), pconv_test(seed)

    def train_and_score() -> tuple[torch.nn.Module, float]:
        net = call_student(student_fn, train["image"].clone(), train["mask"].clone(), STEPS, BATCH, seed)
        if not isinstance(net, torch.nn.Module):
            raise Mismatch(f"train_pconv should return the trained network (an nn.Module), got {type(net).__name__}")
        net.eval()
        scores = evaluate(lambda x, m: call_student(net, x, 1 - m), test, keep_outputs=False)
        return net, scores.l1

    def bars() -> list[Bar]:
        return [Bar("the mean-colour fill", evaluate(mean_fill, test, keep_outputs=False).l1, L1_MARGIN)]

    return check_outcome(
        "train_pconv", train_and_score, bars, metric="hole L1", lower_is_better=True,
        reference="hole L1 0.060-0.080 over seeds 0-4, 0.005-0.027 below the mean-colour fill",
        advice="check that the network gets the image with its hole zeroed and valid = 1 - mask (1 = known), "
               "that the loss weighs the hole 6 times the known pixels and is computed against the true "
               "image, and that the optimizer steps after zero_grad every iteration",
    )


# ----------------------------------------------------------------------------- hints on request
# The lab's stubs only say where help is ("Run lab10.hint('name') for a hint"); these are the
# hints, from the idea (level 1) through the steps and shapes (level 2) to nearly the code (3).
from course_lib.checks.core import make_hint  # noqa: E402  (kept apart from the checks above)

HINTS: dict[str, tuple[str, str, str]] = {
    'partial_conv': (
        'A partial convolution (Liu et al., 2018, eq. 1-2) convolves only the valid pixels, '
        "rescales by how many of the window's pixels were valid, and marks as valid every output "
        'that saw at least one.',
        'Count the valid pixels of each k x k window (a convolution of valid with a ones kernel, '
        'same padding); new valid = count > 0; out = conv(x * valid) * (k*k / count) + bias where '
        'new valid, 0 elsewhere. Return (out, new valid).',
        'count the valid pixels of every window with F.conv2d(valid, torch.ones(1, 1, k, k), '
        'padding=k // 2)',
    ),
    'gated_conv': (
        'A gated convolution (Yu et al., 2019, eq. 2) computes features and a soft gate from the '
        'same input; the gate, in (0, 1), decides how much of each feature passes.',
        'One convolution with the given weight (2C output channels), padding dilation * (k - 1) //'
        ' 2 to keep the size; the first C channels are features (ELU), the last C the gate '
        '(sigmoid); multiply.',
        'one F.conv2d to 2C channels, then split into raw[:, :C] and raw[:, C:]',
    ),
    'stroke_vertices': (
        'A free-form stroke (Yu et al., 2019, Alg. 1) is a polyline: from the start, each vertex '
        'moves by a length in a direction; every other segment turns back, so the stroke zig-zags.',
        'For segment i the direction is 2*pi - angle when i is even, angle when odd; the new '
        'vertex is the previous one plus length * (cos, sin), x clamped to [0, W] and y to [0, H],'
        ' converted with int. Return the list of vertices, starting with the start point.',
        'a = 2 * math.pi - angle if i % 2 == 0 else angle',
    ),
    'attention_scores': (
        "Contextual attention (Yu et al., 2018) compares each position's 3x3 patch with every "
        'background patch by a normalised inner product, and turns the scores into a softmax over '
        'the usable background patches.',
        'Extract the 3x3 patches of the features as convolution kernels and divide each by its '
        'norm; a patch is usable if it contains no hole pixel; convolve the features with the '
        'patches (padding 1) to get (L, H, W) scores, zero the unusable ones, softmax over L of '
        'scores * softmax_scale, and zero the unusable ones again.',
        'usable = (extract_patches(hole[None], 3)[0].flatten(1).amax(1) == 0).float().view(-1, 1, '
        '1)',
    ),
    'train_pconv': (
        'Supervised inpainting with partial convolutions: the network sees the known pixels and their '
        'validity, predicts every pixel, and is trained with an L1 loss that weighs the hole 6 times '
        'more than the known pixels (Liu et al. 2018, Sec. 3.4).',
        'net = lab10.PConvNet(partial_conv); each step: random indices i; out = net(image * (1 - mask), '
        '1 - mask) (N, 3, 32, 32); error = |out - image|; loss = 6 * mean(error * mask) + '
        'mean(error * (1 - mask)); zero_grad, backward, step. Return net.',
        'out = net(image * (1 - mask), 1 - mask); loss = 6 * ((out - image).abs() * mask).mean() + '
        '((out - image).abs() * (1 - mask)).mean()',
    ),
}
hint = make_hint("lab10", HINTS)


# ----------------------------------------------------------------------------- graded questions
# The short, graded part of the lab's Questions (the written part is read by the teacher).
from course_lib.checks.core import check_answer  # noqa: E402  (kept apart from the checks above)


def check_question_1(answer: object) -> None:
    """The factor by which partial convolution rescales a 3x3 window with a single valid pixel."""
    check_answer(
        "question_1", answer, expected=9.0, tol=1e-3,
        wrong={
            1 / 9: "inverted: a window with few valid pixels has a small sum, so the rescaling "
                   "sum(1) / sum(M) enlarges it",
            1: "the rescaling is sum(1) / sum(M) = 9 / (number of valid pixels); it is 1 only for a "
               "fully valid window",
            0: "one valid pixel is enough for the output to be valid (and rescaled), not zeroed",
        },
        explain="The factor is sum(1) / sum(M) over the 3x3 window (Liu et al., 2018, eq. 1).",
    )


def check_question_2(answer: object) -> None:
    """What dividing the foreground patch by its norm would change in contextual attention's softmax."""
    check_answer(
        "question_2", answer, expected="C", choices=("A", "B", "C"),
        wrong={
            "A": "every score of the position is divided by the same positive number: the order of the "
                 "patches stays, but the softmax of scaled scores is flatter or sharper",
            "B": "dividing every score of one position by the same positive number keeps their order, so "
                 "the best-matching patch is the same",
        },
    )
