"""Graders of lab 05 (pix2pixHD: instance boundary map, multi-scale discriminator, feature-matching loss)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.checks.core import (
    Bar,
    Case,
    Mismatch,
    Mistake,
    call_student,
    check_function,
    check_outcome,
    describe_difference,
    run_cases,
)
from course_lib.losses import feature_matching_loss
from course_lib.translation.pix2pixhd import PatchGANFeatures, boundary_map

Features = Sequence[Sequence[torch.Tensor]]


# ----------------------------------------------------------------------------- exercise 1
def reference_boundary_map(instances: torch.Tensor) -> torch.Tensor:
    """(N, H, W) instance ids -> (N, 1, H, W) float, 1 where a 4-neighbour has another id."""
    return boundary_map(instances)


def _one_side(instances: torch.Tensor) -> torch.Tensor:
    e = torch.zeros_like(instances, dtype=torch.bool)
    e[:, :, 1:] |= instances[:, :, 1:] != instances[:, :, :-1]
    e[:, 1:, :] |= instances[:, 1:, :] != instances[:, :-1, :]
    return e[:, None].float()


def _eight_neighbours(instances: torch.Tensor) -> torch.Tensor:
    p = F.pad(instances[:, None].float(), (1, 1, 1, 1), mode="replicate")
    h, w = instances.shape[-2:]
    e = torch.zeros_like(instances, dtype=torch.bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            e |= p[:, 0, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w] != instances
    return e[:, None].float()


def _horizontal_only(instances: torch.Tensor) -> torch.Tensor:
    e = torch.zeros_like(instances, dtype=torch.bool)
    d = instances[:, :, 1:] != instances[:, :, :-1]
    e[:, :, 1:] |= d
    e[:, :, :-1] |= d
    return e[:, None].float()


def _rolled(instances: torch.Tensor) -> torch.Tensor:
    e = torch.zeros_like(instances, dtype=torch.bool)
    for shift, dim in ((1, 1), (-1, 1), (1, 2), (-1, 2)):
        e |= torch.roll(instances, shift, dim) != instances
    return e[:, None].float()


def _no_channel(instances: torch.Tensor) -> torch.Tensor:
    return boundary_map(instances)[:, 0]


def check_boundary_map(student_fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Exercise 1: the instance boundary map."""
    g = torch.Generator().manual_seed(0)
    two_cars = torch.tensor([[[1, 1, 1, 2, 2, 2]] * 4])
    box = torch.zeros(1, 7, 7, dtype=torch.long)
    box[0, 2:5, 2:5] = 3
    check_function(
        "boundary_map",
        student_fn,
        reference_boundary_map,
        [
            Case("two touching objects side by side", (two_cars,)),
            Case("a square object inside the background", (box,)),
            Case("random ids, a batch of 2", (torch.randint(0, 4, (2, 9, 11), generator=g),)),
            Case("a diagonal boundary", (torch.triu(torch.ones(1, 6, 6, dtype=torch.long)),)),
        ],
        mistakes=[
            Mistake("only one pixel of each differing pair is marked: mark both the pixel and its neighbour "
                    "(compare each pixel with its left, right, upper and lower neighbour)", _one_side),
            Mistake("diagonal neighbours count too: use the 4 neighbours only (left, right, up, down)", _eight_neighbours),
            Mistake("only horizontal neighbours are compared: also compare each pixel with the ones above and below",
                    _horizontal_only),
            Mistake("torch.roll wraps around, so pixels on the image border are compared with the opposite border: "
                    "compare slices such as ids[:, :, 1:] != ids[:, :, :-1] instead", _rolled),
            Mistake("return shape (N, 1, H, W): add the channel dimension (edges[:, None]) so that the map can be "
                    "concatenated with the one-hot labels", _no_channel),
        ],
        hint="d = ids[:, :, 1:] != ids[:, :, :-1] marks horizontal pairs: set edge[:, :, 1:] |= d and "
             "edge[:, :, :-1] |= d; the same vertically; return edge[:, None].float()",
    )


# ----------------------------------------------------------------------------- exercise 2
def _pool(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)


def reference_multiscale_forward(discriminators: Sequence[nn.Module], x: torch.Tensor) -> list:
    """Run discriminator i on x average-pooled i times; return their outputs, finest scale first."""
    out = []
    for i, d in enumerate(discriminators):
        if i > 0:
            x = _pool(x)
        out.append(d(x))
    return out


def _ms_no_pool(ds: Sequence[nn.Module], x: torch.Tensor) -> list:
    return [d(x) for d in ds]


def _ms_pool_first(ds: Sequence[nn.Module], x: torch.Tensor) -> list:
    out = []
    for d in ds:
        x = _pool(x)
        out.append(d(x))
    return out


def _ms_not_cumulative(ds: Sequence[nn.Module], x: torch.Tensor) -> list:
    return [d(x if i == 0 else _pool(x)) for i, d in enumerate(ds)]


def _ms_max_pool(ds: Sequence[nn.Module], x: torch.Tensor) -> list:
    out = []
    for i, d in enumerate(ds):
        if i > 0:
            x = F.max_pool2d(x, 3, stride=2, padding=1)
        out.append(d(x))
    return out


def _ms_count_pad(ds: Sequence[nn.Module], x: torch.Tensor) -> list:
    out = []
    for i, d in enumerate(ds):
        if i > 0:
            x = F.avg_pool2d(x, 3, stride=2, padding=1)
        out.append(d(x))
    return out


def _ms_reversed(ds: Sequence[nn.Module], x: torch.Tensor) -> list:
    return reference_multiscale_forward(ds, x)[::-1]


def _ms_logits_only(ds: Sequence[nn.Module], x: torch.Tensor) -> list:
    return [o[-1] for o in reference_multiscale_forward(ds, x)]


def _discriminators(n: int, channels: int = 4) -> list[nn.Module]:
    torch.manual_seed(0)
    return [PatchGANFeatures(channels, 4, 2) for _ in range(n)]


def check_multiscale_forward(student_fn: Callable[[Sequence[nn.Module], torch.Tensor], list]) -> None:
    """Exercise 2: the multi-scale discriminator's forward pass."""
    g = torch.Generator().manual_seed(1)
    check_function(
        "multiscale_forward",
        student_fn,
        reference_multiscale_forward,
        [
            Case("3 scales, a 32x32 pair", (_discriminators(3), torch.randn(2, 4, 32, 32, generator=g))),
            Case("2 scales, a 24x40 pair", (_discriminators(2), torch.randn(1, 4, 24, 40, generator=g))),
            Case("1 scale: the plain PatchGAN", (_discriminators(1), torch.randn(1, 4, 16, 16, generator=g))),
        ],
        mistakes=[
            Mistake("every discriminator saw the full-resolution input: downsample before each scale after the first",
                    _ms_no_pool),
            Mistake("the first discriminator must see the full-resolution input; downsample only before scales 1, 2, ...",
                    _ms_pool_first),
            Mistake("scale i must see the input downsampled i times (keep downsampling the previous scale's input), "
                    "not once", _ms_not_cumulative),
            Mistake("downsample with average pooling (F.avg_pool2d), not max pooling", _ms_max_pool),
            Mistake("use count_include_pad=False: with the zero padding counted, the border pixels get darker at "
                    "every scale", _ms_count_pad),
            Mistake("return the scales finest first (the full-resolution discriminator's output first)", _ms_reversed),
            Mistake("return each discriminator's whole output (its list of features), not only the final scores: "
                    "feature matching needs the intermediate maps", _ms_logits_only),
        ],
        hint="for i, d in enumerate(discriminators): if i > 0: x = F.avg_pool2d(x, 3, stride=2, padding=1, "
             "count_include_pad=False); out.append(d(x))",
    )


# ----------------------------------------------------------------------------- exercise 3
def reference_feature_matching(fake_feats: Features, real_feats: Features, lambda_feat: float = 10.0) -> torch.Tensor:
    return feature_matching_loss(fake_feats, real_feats, lambda_feat)


def _fm(fake: Features, real: Features, lam: float, *, logits: bool = False, w_layer: bool = True,
        w_scale: bool = True, dist: str = "l1") -> torch.Tensor:
    total = torch.zeros(())
    for fs, rs in zip(fake, real):
        n = len(fs) - 1
        pairs = list(zip(fs, rs)) if logits else list(zip(fs[:-1], rs[:-1]))
        for f, r in pairs:
            d = F.l1_loss(f, r.detach()) if dist == "l1" else F.mse_loss(f, r.detach())
            total = total + (4.0 / n if w_layer else 1.0) * (1.0 / len(fake) if w_scale else 1.0) * lam * d
    return total


def _features(seed: int, num_d: int, n: int) -> tuple[list[list[torch.Tensor]], list[list[torch.Tensor]]]:
    g = torch.Generator().manual_seed(seed)
    make = lambda: [[torch.randn(2, 3 + j, 8 >> min(j, 2), 8 >> min(j, 2), generator=g) for j in range(n)]  # noqa: E731
                    + [torch.randn(2, 1, 2, 2, generator=g)] for _ in range(num_d)]
    return make(), make()


def check_feature_matching(student_fn: Callable[..., torch.Tensor]) -> None:
    """Exercise 3: the feature-matching loss (pix2pixHD's weighting, real features as fixed targets)."""

    def case(seed: int, num_d: int, n: int, lam: float | None) -> Callable[[], None]:
        def run() -> None:
            fake, real = _features(seed, num_d, n)
            fake = [[t.requires_grad_(True) for t in s] for s in fake]
            real = [[t.requires_grad_(True) for t in s] for s in real]
            lam_ = 10.0 if lam is None else lam
            args = (fake, real) if lam is None else (fake, real, lam)
            got = call_student(student_fn, *args)
            if not isinstance(got, torch.Tensor) or got.numel() != 1:
                raise Mismatch(f"return a scalar tensor, got {type(got).__name__}")
            with torch.no_grad():
                expected = _fm(fake, real, lam_)
                wrong = {
                    "the final scores (the last entry of each scale) are not features: match only the "
                    "intermediate maps, fake_scale[:-1]": _fm(fake, real, lam_, logits=True),
                    "each of the n intermediate maps of a scale weighs 4 / n (the reference's feat_weights)":
                        _fm(fake, real, lam_, w_layer=False),
                    "each scale weighs 1 / num_D (the reference's D_weights)": _fm(fake, real, lam_, w_scale=False),
                    "use the L1 distance (F.l1_loss), not the squared error": _fm(fake, real, lam_, dist="l2"),
                }
                if lam is None:
                    wrong["lambda_feat must default to 10 (the paper's weight)"] = _fm(fake, real, 1.0)
            if describe_difference(got.detach().reshape(()), expected) is not None:
                for message, value in wrong.items():
                    if describe_difference(got.detach().reshape(()), value) is None:
                        raise Mismatch(message)
                raise Mismatch(describe_difference(got.detach().reshape(()), expected) or "wrong value")
            if not got.requires_grad:
                raise Mismatch("the loss has no gradient: G learns through the fake features, do not detach them")
            got.backward()
            if any(t.grad is not None and float(t.grad.abs().sum()) > 0 for s in real for t in s):
                raise Mismatch("gradient flows into the real features: they are targets, use real.detach() (otherwise "
                               "G's loss would also move D's view of the real images)")
            if any(t.grad is None for s in fake for t in s[:-1]):
                raise Mismatch("no gradient reaches some fake feature maps")
        return run

    run_cases(
        "feature_matching",
        [("2 scales, 3 maps each, default lambda", case(0, 2, 3, None)),
         ("3 scales, 4 maps each, lambda 5", case(1, 3, 4, 5.0)),
         ("1 scale, 1 map", case(2, 1, 1, 10.0))],
        hint="for each scale i and each j < len(fake[i]) - 1: add lambda * (4 / n) * (1 / num_D) * "
             "F.l1_loss(fake[i][j], real[i][j].detach()) with n = len(fake[i]) - 1",
    )


# ----------------------------------------------------------------------------- exercise 4
#: the grader's budget: 400 training scenes at 32x32, 200 updates of batch 4 (about 20 s on one CPU core)
TRAIN_SCENES, TEST_SCENES, SIZE, STEPS, BATCH = 400, 64, 32, 200, 4
#: how much lower than the mean training photo's L1 a working pix2pixHD must get. The reference
#: solution, seeds 0-4: L1 0.202-0.229 against the mean photo's 0.280-0.284 (margins 0.051-0.078).
#: G never stepped: 0.47-0.52; feature matching left out (LSGAN alone): 0.40-0.56 (seeds 0-1,
#: tests/test_lab05_checks.py). Not caught, as they still train: D never stepped (0.217, feature
#: matching on a random D is a perceptual loss) and D's labels swapped (0.242-0.272).
L1_MARGIN = 0.03


def street_data(seed: int = 0) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The grader's training and held-out street scenes.

    Each is ``{"labels": (N, 32, 32) int64, "instances": (N, 32, 32) int64, "target": (N, 3, 32, 32)
    in [-1, 1], "input": (N, 3, 32, 32) coloured labels}``.
    """
    from course_lib.data.paired import InMemory, StreetScenes

    train = InMemory(StreetScenes(TRAIN_SCENES, SIZE, seed=seed)).tensors
    test = InMemory(StreetScenes(TEST_SCENES, SIZE, seed=seed + 1000)).tensors
    return train, test


def street_condition(scenes: dict[str, torch.Tensor]) -> torch.Tensor:
    """pix2pixHD's condition for scenes: one-hot labels + boundary map, (N, label_nc + 1, H, W)."""
    from course_lib.data.paired import StreetScenes
    from course_lib.translation.pix2pixhd import encode_input

    return encode_input(scenes["labels"], scenes["instances"], StreetScenes.label_nc)


def check_train_pix2pixhd(student_fn: Callable[..., nn.Module], seed: int = 0) -> nn.Module:
    """Train with ``student_fn(scenes, steps, batch_size, seed) -> G``; grade G's held-out L1.

    G maps the condition (one-hot labels + boundary map, :func:`street_condition`) to a photo.
    Returns the student's trained generator. ``seed`` selects the grader's data and is passed on.
    """
    from course_lib import metrics

    train, test = street_data(seed)
    cond, y = street_condition(test), test["target"]

    def train_and_score() -> tuple[nn.Module, float]:
        G = call_student(student_fn, {k: v.clone() for k, v in train.items()}, STEPS, BATCH, seed)
        if not isinstance(G, nn.Module):
            raise Mismatch(f"train_pix2pixhd should return the generator (an nn.Module), got {type(G).__name__}")
        try:
            with torch.no_grad():
                fake = G(cond)
        except Exception as exc:  # noqa: BLE001 - a generator of the wrong shape is reported, not raised
            raise Mismatch(f"the returned generator fails on a (N, {cond.shape[1]}, 32, 32) condition (one-hot "
                           f"labels + boundary map): {type(exc).__name__}: {exc}") from exc
        if not isinstance(fake, torch.Tensor) or fake.shape != y.shape:
            raise Mismatch(f"the returned generator should map (N, {cond.shape[1]}, 32, 32) conditions to "
                           f"{tuple(y.shape)} photos, got {getattr(fake, 'shape', type(fake).__name__)}")
        return G, metrics.l1(fake, y).mean().item()

    def bars() -> list[Bar]:
        mean_photo = train["target"].mean(0, keepdim=True).expand_as(y)
        return [Bar("the mean training photo", metrics.l1(mean_photo, y).mean().item(), L1_MARGIN)]

    return check_outcome(
        "train_pix2pixhd", train_and_score, bars, metric="L1", lower_is_better=True,
        reference="L1 0.202-0.229 over seeds 0-4",
        advice="check that G's loss is the LSGAN term (D's scores of the fake pushed to 1) plus your "
               "feature matching, that D's loss pushes real pairs to 1 and (detached) fake pairs to 0, "
               "that both optimizers step their own network every iteration, and that gradients are "
               "zeroed before each backward pass",
    )


# ----------------------------------------------------------------------------- hints on request
# The lab's stubs only say where help is ("Run lab05.hint('name') for a hint"); these are the
# hints, from the idea (level 1) through the steps and shapes (level 2) to nearly the code (3).
from course_lib.checks.core import make_hint  # noqa: E402  (kept apart from the checks above)

HINTS: dict[str, tuple[str, str, str]] = {
    'boundary_map': (
        'A pixel is on a boundary when one of its four neighbours belongs to another instance; '
        'both pixels of such a pair are marked.',
        'Compare each pixel with its right neighbour (shapes (N, H, W-1)) and with the one below '
        '(N, H-1, W); an inequality marks both pixels of the pair in a (N, H, W) boolean map. '
        'Return it as a float tensor with a channel axis: (N, 1, H, W).',
        'compare shifted slices, e.g. ids[:, :, 1:] != ids[:, :, :-1], and mark both sides',
    ),
    'multiscale_forward': (
        "pix2pixHD's discriminators all have the same architecture but see the image at different "
        'scales: the first at full resolution, each next one at half the previous resolution.',
        'Loop over the discriminators; before every one but the first, downsample x by 2 with '
        'F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False); collect each output in '
        'a list.',
        'loop with enumerate; downsample x before every discriminator but the first',
    ),
    'feature_matching': (
        "Feature matching (Wang et al., 2018, eq. 4) makes the discriminator's intermediate "
        'features of the fake look like those of the real image, at every scale, as an L1 '
        'distance.',
        'For every scale and every feature map except the last (the scores), the L1 distance '
        'between the fake map and the detached real map; each term weighted by lambda_feat * (4 / '
        'number of maps used at that scale) / number of scales; sum all terms.',
        'two loops (scales, maps without the last); F.l1_loss(fake, real.detach()) * weights',
    ),
    'train_pix2pixhd': (
        'Each iteration: build the condition (one-hot labels + your boundary map), generate, then '
        'update G (fool every scale of D and match its features of the real photo), then update D '
        '(real pairs towards 1, detached fake pairs towards 0). One Adam per network.',
        'cond = cat([one_hot(labels, label_nc), boundary_map(instances)], 1), (B, label_nc + 1, 32, '
        '32); fake = G(cond). Run multiscale_forward(list(D.scales), cat([cond, image], 1)) on the '
        "fake and on the real photo: a list of scales, each a list whose last entry is the scores. G's"
        " loss: sum over scales of mean((scores - 1)**2) + feature_matching(fake_out, real_out). D's "
        'loss: 0.5 * sum over scales of mean((real scores - 1)**2) + mean(fake scores**2), with '
        'fake.detach(). zero_grad, backward, step for each optimizer in turn.',
        'opt_G.zero_grad(); (sum(((p[-1] - 1) ** 2).mean() for p in pred_fake) + '
        'feature_matching(pred_fake, pred_real)).backward(); opt_G.step(); then the same for D with '
        'multiscale_forward(scales, torch.cat([cond, fake.detach()], 1))',
    ),
}
hint = make_hint("lab05", HINTS)


# ----------------------------------------------------------------------------- graded questions
# The short, graded part of the lab's Questions (the written part is read by the teacher).
from course_lib.checks.core import check_answer  # noqa: E402  (kept apart from the checks above)


def check_question_1(answer: object) -> None:
    """About how many full-resolution pixels per side the coarsest of three 70x70 discriminators sees."""
    check_answer(
        "question_1", answer, expected=280, tol=4,
        wrong={
            70: "70 is what the finest discriminator sees; the coarsest works on an image downsampled "
                "twice",
            140: "140 is the middle discriminator's view (downsampled once); the coarsest of three is "
                 "downsampled twice",
            560: "with three discriminators the coarsest is downsampled twice (the first sees the full "
                 "image), so by 4, not 8",
            210: "each downsampling halves the size, so two of them multiply the field by 4, not 3",
        },
        explain="Each downsampling by 2 doubles how many full-resolution pixels one pixel of the "
                "discriminator's input stands for.",
    )


def check_question_2(answer: object) -> None:
    """How many pixels of the boundary map of two touching cars (8x8, ids 3 | 4) are on a boundary."""
    check_answer(
        "question_2", answer, expected=16, tol=0.5,
        wrong={
            8: "both pixels of a differing pair are marked (the boundary is 2 pixels wide): columns 3 "
               "and 4, on all 8 rows",
            0: "the two cars have the same class but different ids: the label map shows one blob, the "
               "instance map shows where they meet",
            64: "only the pixels with a 4-neighbour of another id are 1, not every car pixel",
            2: "count pixels, not columns: the boundary runs down all 8 rows",
        },
        explain="Mark every pixel that has a left, right, up or down neighbour with another id (your "
                "boundary_map does exactly that), then count.",
    )
