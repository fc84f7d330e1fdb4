"""Graders of lab 06 (CycleGAN): LSGAN losses, cycle-consistency loss, identity loss, image pool."""

from __future__ import annotations

from collections.abc import Callable

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
    run_cases,
)


def _logits(*shape: int, seed: int = 0, shift: float = 0.0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * 0.7 + shift


def _images(n: int, size: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# ----------------------------------------------------------------------------- exercise 1: LSGAN
def reference_lsgan_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """CycleGAN's discriminator loss: ``0.5 * (mean((D(real) - 1)^2) + mean(D(fake)^2))``."""
    return 0.5 * (((d_real - 1) ** 2).mean() + (d_fake**2).mean())


def reference_lsgan_g_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """The generator's LSGAN loss: ``mean((D(G(x)) - 1)^2)``."""
    return ((d_fake - 1) ** 2).mean()


LSGAN_D_CASES = [
    Case("30x30 PatchGAN scores, batch 1", (_logits(1, 1, 30, 30, seed=1, shift=0.6), _logits(1, 1, 30, 30, seed=2, shift=-0.2)), grad=True),
    Case("batch of 4, 6x6 scores", (_logits(4, 1, 6, 6, seed=3, shift=0.2), _logits(4, 1, 6, 6, seed=4, shift=0.5)), grad=True),
    Case("real and fake maps of different sizes", (_logits(2, 1, 8, 8, seed=5), _logits(3, 1, 4, 4, seed=6)), grad=True),
]


def check_lsgan_d_loss(student_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Exercise 1a: the discriminator's least-squares loss, halved."""
    check_function(
        "lsgan_d_loss", student_fn, reference_lsgan_d_loss, LSGAN_D_CASES,
        mistakes=[
            Mistake("CycleGAN halves the discriminator's loss (0.5 * (real term + fake term)) so that D "
                    "learns more slowly than G: multiply by 0.5",
                    lambda r, f: ((r - 1) ** 2).mean() + (f**2).mean()),
            Mistake("the targets are swapped: real scores should go to 1 and fake scores to 0",
                    lambda r, f: 0.5 * ((r**2).mean() + ((f - 1) ** 2).mean())),
            Mistake("that is the binary cross-entropy (vanilla GAN) loss; LSGAN uses squared errors "
                    "(D(real) - 1)^2 and D(fake)^2",
                    lambda r, f: 0.5 * (F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
                                        + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)))),
            Mistake("use the mean over all scores, not the sum: the loss must not grow with the image size",
                    lambda r, f: 0.5 * (((r - 1) ** 2).sum() + (f**2).sum())),
        ],
        hint="0.5 * (((d_real - 1) ** 2).mean() + (d_fake ** 2).mean())",
    )


LSGAN_G_CASES = [
    Case("30x30 PatchGAN scores", (_logits(1, 1, 30, 30, seed=7, shift=0.1),), grad=True),
    Case("batch of 4, 6x6 scores", (_logits(4, 1, 6, 6, seed=8, shift=-0.4),), grad=True),
]


def check_lsgan_g_loss(student_fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Exercise 1b: the generator's least-squares loss."""
    check_function(
        "lsgan_g_loss", student_fn, reference_lsgan_g_loss, LSGAN_G_CASES,
        mistakes=[
            Mistake("the generator wants D to call its fakes *real*: push D(G(x)) towards 1, not 0",
                    lambda f: (f**2).mean()),
            Mistake("only the discriminator's loss is halved; the generator's is mean((D(G(x)) - 1)^2)",
                    lambda f: 0.5 * ((f - 1) ** 2).mean()),
            Mistake("that is the non-saturating BCE loss of a vanilla GAN; LSGAN squares the error",
                    lambda f: F.binary_cross_entropy_with_logits(f, torch.ones_like(f))),
            Mistake("use the mean over all scores, not the sum", lambda f: ((f - 1) ** 2).sum()),
        ],
        hint="((d_fake - 1) ** 2).mean()",
    )


# ----------------------------------------------------------------------------- exercise 2: cycle loss
def reference_cycle_loss(real_a: torch.Tensor, rec_a: torch.Tensor, real_b: torch.Tensor, rec_b: torch.Tensor,
                         lambda_cycle: float = 10.0) -> torch.Tensor:
    """``lambda * mean|F(G(a)) - a| + lambda * mean|G(F(b)) - b|``."""
    return lambda_cycle * ((rec_a - real_a).abs().mean() + (rec_b - real_b).abs().mean())


def _cycle_case(name: str, n: int, size: int, seed: int, **kwargs: float) -> Case:
    a, b = _images(n, size, seed), _images(n, size, seed + 1)
    rec_a = (a + 0.3 * _images(n, size, seed + 2)).clamp(-1, 1)
    rec_b = (b + 0.1 * _images(n, size, seed + 3)).clamp(-1, 1)
    return Case(name, (a, rec_a, b, rec_b), kwargs, grad=True)


CYCLE_CASES = [
    _cycle_case("one 16x16 image per domain", 1, 16, 10),
    _cycle_case("batch of 3, 8x8", 3, 8, 20),
    _cycle_case("lambda_cycle = 2", 2, 8, 30, lambda_cycle=2.0),
]


def check_cycle_loss(student_fn: Callable[..., torch.Tensor]) -> None:
    """Exercise 2: the cycle-consistency loss of both directions."""
    check_function(
        "cycle_loss", student_fn, reference_cycle_loss, CYCLE_CASES,
        mistakes=[
            Mistake("CycleGAN's cycle loss is an L1 loss (mean absolute difference), not a squared error",
                    lambda a, ra, b, rb, lambda_cycle=10.0: lambda_cycle * (((ra - a) ** 2).mean() + ((rb - b) ** 2).mean())),
            Mistake("both directions count: add the B -> A -> B cycle |G(F(b)) - b| to the A -> B -> A one",
                    lambda a, ra, b, rb, lambda_cycle=10.0: lambda_cycle * (ra - a).abs().mean()),
            Mistake("multiply by lambda_cycle (10 in the paper): without it the cycle term is too weak "
                    "against the adversarial loss",
                    lambda a, ra, b, rb, lambda_cycle=10.0: (ra - a).abs().mean() + (rb - b).abs().mean()),
            Mistake("use the mean absolute difference, not the sum over pixels",
                    lambda a, ra, b, rb, lambda_cycle=10.0: lambda_cycle * ((ra - a).abs().sum() + (rb - b).abs().sum())),
            Mistake("use the lambda_cycle argument, not a fixed 10",
                    lambda a, ra, b, rb, lambda_cycle=10.0: 10.0 * ((ra - a).abs().mean() + (rb - b).abs().mean())),
            Mistake("lambda_cycle weighs both directions: lambda * L1_A + lambda * L1_B",
                    lambda a, ra, b, rb, lambda_cycle=10.0: lambda_cycle * (ra - a).abs().mean() + (rb - b).abs().mean()),
        ],
        hint="lambda_cycle * ((rec_a - real_a).abs().mean() + (rec_b - real_b).abs().mean())",
    )


# ----------------------------------------------------------------------------- exercise 3: identity loss
def reference_identity_loss(G_AB: nn.Module, G_BA: nn.Module, real_a: torch.Tensor, real_b: torch.Tensor,
                            lambda_cycle: float = 10.0, lambda_identity: float = 0.5) -> torch.Tensor:
    """``lambda_cycle * lambda_identity * (mean|G_AB(b) - b| + mean|G_BA(a) - a|)``."""
    w = lambda_cycle * lambda_identity
    return w * ((G_AB(real_b) - real_b).abs().mean() + (G_BA(real_a) - real_a).abs().mean())


class _ColourShift(nn.Module):
    """A tiny stand-in generator: a fixed 1x1 colour mix plus a shift (different per direction)."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.conv = nn.Conv2d(3, 3, 1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.eye(3).view(3, 3, 1, 1) * 0.6 + 0.2 * torch.randn(3, 3, 1, 1, generator=g))
            assert self.conv.bias is not None  # Conv2d's default bias=True
            self.conv.bias.copy_(0.3 * torch.randn(3, generator=g))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(x))


def _identity_case(name: str, n: int, size: int, seed: int, **kwargs: float) -> Case:
    return Case(name, (_ColourShift(seed), _ColourShift(seed + 100), _images(n, size, seed), _images(n, size, seed + 1)),
                kwargs, grad=True)


IDENTITY_CASES = [
    _identity_case("two different generators, 8x8", 2, 8, 40),
    _identity_case("batch of 1, 16x16", 1, 16, 50),
    _identity_case("lambda_identity = 0.1", 2, 8, 60, lambda_identity=0.1),
]


def check_identity_loss(student_fn: Callable[..., torch.Tensor]) -> None:
    """Exercise 3: the identity loss (a target-domain image must pass through unchanged)."""
    check_function(
        "identity_loss", student_fn, reference_identity_loss, IDENTITY_CASES,
        mistakes=[
            Mistake("the identity loss feeds each generator an image that is already in its *target* "
                    "domain: G_AB(real_b) should equal real_b and G_BA(real_a) should equal real_a "
                    "(you fed them their source domain)",
                    lambda gab, gba, a, b, lambda_cycle=10.0, lambda_identity=0.5:
                    lambda_cycle * lambda_identity * ((gab(a) - a).abs().mean() + (gba(b) - b).abs().mean())),
            Mistake("the weight is lambda_cycle * lambda_identity (10 * 0.5 = 5), not lambda_identity alone",
                    lambda gab, gba, a, b, lambda_cycle=10.0, lambda_identity=0.5:
                    lambda_identity * ((gab(b) - b).abs().mean() + (gba(a) - a).abs().mean())),
            Mistake("the weight is lambda_cycle * lambda_identity (10 * 0.5 = 5), not lambda_cycle alone",
                    lambda gab, gba, a, b, lambda_cycle=10.0, lambda_identity=0.5:
                    lambda_cycle * ((gab(b) - b).abs().mean() + (gba(a) - a).abs().mean())),
            Mistake("compare G_AB(real_b) with real_b itself (identity), not with real_a",
                    lambda gab, gba, a, b, lambda_cycle=10.0, lambda_identity=0.5:
                    lambda_cycle * lambda_identity * ((gab(b) - a).abs().mean() + (gba(a) - b).abs().mean())),
            Mistake("the identity loss is an L1 loss, not a squared error",
                    lambda gab, gba, a, b, lambda_cycle=10.0, lambda_identity=0.5:
                    lambda_cycle * lambda_identity * (((gab(b) - b) ** 2).mean() + ((gba(a) - a) ** 2).mean())),
        ],
        hint="w = lambda_cycle * lambda_identity; w * ((G_AB(real_b) - real_b).abs().mean() + (G_BA(real_a) - real_a).abs().mean())",
    )


# ----------------------------------------------------------------------------- exercise 4: image pool
def _distinct(n: int, offset: int, size: int = 4) -> torch.Tensor:
    """n images whose pixels all equal their id (offset + i), so returned images can be identified."""
    ids = torch.arange(offset, offset + n, dtype=torch.float32)
    return ids.view(n, 1, 1, 1).expand(n, 3, size, size).clone()


def _ids(images: torch.Tensor) -> list[int]:
    return [int(round(float(im.flatten()[0]))) for im in images]


def _stored_ids(pool: object) -> list[int]:
    images = getattr(pool, "images", None)
    if not isinstance(images, list):
        raise Mismatch("keep the stored images in a list attribute `self.images` (as the template does)")
    return [int(round(float(torch.as_tensor(im).flatten()[0]))) for im in images]


def check_image_pool(pool_class: type) -> None:
    """Exercise 4: the history pool of generated images."""

    def make(size: int) -> object:
        return call_student(pool_class, size)

    def query(pool: object, images: torch.Tensor) -> torch.Tensor:
        out = call_student(pool.query, images)  # type: ignore[attr-defined]
        if not isinstance(out, torch.Tensor):
            raise Mismatch(f"query() must return a tensor, got {type(out).__name__}")
        if tuple(out.shape) != tuple(images.shape):
            raise Mismatch(f"query() returned shape {tuple(out.shape)} for a batch of shape {tuple(images.shape)}: "
                           "return one image per input image (torch.stack them)")
        return out

    def fills_first() -> None:
        torch.manual_seed(0)
        pool = make(5)
        first = query(pool, _distinct(2, 0))
        second = query(pool, _distinct(3, 2))
        if _ids(first) + _ids(second) != [0, 1, 2, 3, 4]:
            raise Mismatch("while the pool is not full, query() must return the new images themselves "
                           f"(expected ids [0, 1, 2, 3, 4], got {_ids(first) + _ids(second)})")
        if sorted(_stored_ids(pool)) != [0, 1, 2, 3, 4]:
            raise Mismatch(f"while the pool is not full every new image is stored: expected ids [0..4] in "
                           f"self.images, found {sorted(_stored_ids(pool))}")

    def mixes_half_and_replaces() -> None:
        # 2000 draws: the fraction of new images has a standard deviation of 1.1 points at p = 0.5, so
        # the band 45-55 % fails p = 0.6 (9 sd away) for sure and p = 0.5 with probability ~1e-5
        import random

        import numpy as np

        torch.manual_seed(1)
        random.seed(1)
        np.random.seed(1)
        pool = make(10)
        query(pool, _distinct(10, 0))
        new_returned, stored_returned, last_slot_returned = 0, 0, 0
        trials = 2000
        for t in range(trials):
            before = _stored_ids(pool)
            new_id = 100 + t
            out = _ids(query(pool, _distinct(1, new_id)))[0]
            after = _stored_ids(pool)
            if len(after) != 10:
                raise Mismatch(f"a full pool must keep exactly pool_size images; it has {len(after)} after a query")
            if out == new_id:
                new_returned += 1
                if sorted(after) != sorted(before):
                    raise Mismatch("when the new image is returned, the pool must stay unchanged")
            elif out in before:
                stored_returned += 1
                last_slot_returned += out == before[-1]
                expected = sorted([i for i in before if i != out] + [new_id]) if before.count(out) == 1 else None
                if expected is not None and sorted(after) != expected:
                    raise Mismatch("when a stored image is returned, the new image must take its place in the "
                                   "pool (the returned one leaves it)")
            else:
                raise Mismatch(f"query() returned an image (id {out}) that is neither the new one nor in the pool")
        fraction = new_returned / trials
        if fraction > 0.95:
            raise Mismatch("once the pool is full, half of the time a *stored* image must be returned; yours "
                           "always returns the new image, so the discriminator never sees older fakes")
        if fraction < 0.05:
            raise Mismatch("once the pool is full, the new image must be returned half of the time; yours "
                           "(almost) always returns a stored one")
        if not 0.45 <= fraction <= 0.55:
            raise Mismatch(f"the new image came back in {100 * fraction:.1f}% of {trials} queries; it should be "
                           "50% (probability 0.5 per image: `random.uniform(0, 1) > 0.5`)")
        if last_slot_returned == 0:  # expected about stored_returned / 10, i.e. about 100
            raise Mismatch(f"in {stored_returned} returns of a stored image, the one in the last slot "
                           "(self.images[pool_size - 1]) never came back: pick the index among all pool_size "
                           "slots (random.randint(0, pool_size - 1) includes its upper bound, "
                           "torch.randint(pool_size, ()) excludes it)")

    def per_image_choice() -> None:
        torch.manual_seed(2)
        pool = make(8)
        query(pool, _distinct(8, 0))
        mixed = 0
        for t in range(40):
            fresh = range(1000 + 4 * t, 1004 + 4 * t)
            ids = _ids(query(pool, _distinct(4, fresh[0])))
            new = sum(i in fresh for i in ids)
            mixed += 0 < new < 4
        if mixed == 0:
            raise Mismatch("decide for *each image* of the batch whether to return it or a stored one; "
                           "yours makes one choice for the whole batch")

    def detached() -> None:
        pool = make(3)
        fake = _distinct(2, 0).requires_grad_(True) * 1.0
        out = query(pool, fake)
        if out.requires_grad:
            raise Mismatch("the returned images still require a gradient: detach them (the discriminator's "
                           "update must not reach the generator, and stored images must not keep its graph)")
        for _ in range(6):  # fill the pool, then swap: every stored image must be free of the graph
            query(pool, _distinct(2, 10).requires_grad_(True) * 1.0)
            if any(torch.as_tensor(im).requires_grad or torch.as_tensor(im).grad_fn is not None
                   for im in pool.images):  # type: ignore[attr-defined]
                raise Mismatch("an image stored in self.images still requires a gradient: store image.detach() "
                               "(otherwise every stored fake keeps the generator's whole graph alive, and memory "
                               "grows with each step)")

    def size_zero() -> None:
        pool = make(0)
        images = _distinct(3, 7)
        out = query(pool, images)
        if _ids(out) != [7, 8, 9]:
            raise Mismatch("with pool_size = 0 the pool is off: return the new images unchanged")

    run_cases(
        "ImagePool",
        [("stores and returns the first pool_size images", fills_first),
         ("once full: new image half of the time, else a stored one that it replaces", mixes_half_and_replaces),
         ("one random choice per image of a batch", per_image_choice),
         ("returns detached images", detached),
         ("pool_size = 0 returns the input", size_zero)],
        hint="for each image: if len(self.images) < self.pool_size: store it and return it; otherwise with "
             "probability 0.5 return it, else swap it with a random stored image and return that one.",
    )


# ----------------------------------------------------------------------------- exercise 5
#: the grader's budget: 400 unpaired training images per season at 32x32, 100 updates of batch 4
#: (about 30 s on one CPU core: every update runs the generators six times)
TRAIN_IMAGES, TEST_SCENES, SIZE, STEPS, BATCH = 400, 64, 32, 100, 4
#: how much closer to the hidden true winter scenes than each baseline a working CycleGAN must get.
#: The reference solution, seeds 0-4: L1 0.180-0.228 against 0.265-0.288 for a winter scene of
#: another layout (margins 0.049-0.099) and 0.813-0.825 for the untranslated input. G never
#: stepped: 0.762; G_AB's fakes judged by the summer discriminator D_A: 0.540 (seed 0,
#: tests/test_lab06_checks.py).
L1_MARGIN = 0.02


def season_data(seed: int = 0) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The grader's unpaired training images and its held-out pairs.

    Training: ``{"A": summer, "B": winter}``, each (400, 3, 32, 32) in [-1, 1], drawn from
    independent layouts (no pairs). Held out: ``{"A", "B"}`` (64, 3, 32, 32), ``B[i]`` the same
    layout as ``A[i]`` rendered in winter: the truth that training never sees.
    """
    from course_lib.data.paired import InMemory
    from course_lib.data.unpaired import SeasonScenes

    train = InMemory(SeasonScenes(TRAIN_IMAGES, SIZE, seed=seed)).tensors
    test = SeasonScenes(TEST_SCENES, SIZE, seed=seed + 1000, paired=True).pairs()
    return {"A": train["A"], "B": train["B"]}, {"A": test["A"], "B": test["B"]}


def check_train_cyclegan(student_fn: Callable[..., tuple[nn.Module, nn.Module]], seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """Train with ``student_fn(domains, steps, batch_size, seed) -> (G_AB, G_BA)``; grade G_AB.

    The score is the L1 distance between ``G_AB(summer)`` and the hidden true winter scene of the
    same layout, on held-out scenes. Returns the student's two generators. ``seed`` selects the
    grader's data and is passed on.
    """
    from course_lib import metrics

    train, test = season_data(seed)
    x, y = test["A"], test["B"]

    def train_and_score() -> tuple[tuple[nn.Module, nn.Module], float]:
        out = call_student(student_fn, {k: v.clone() for k, v in train.items()}, STEPS, BATCH, seed)
        if not (isinstance(out, tuple) and len(out) == 2 and all(isinstance(g, nn.Module) for g in out)):
            raise Mismatch("train_cyclegan should return the two generators, (G_AB, G_BA), as a tuple of "
                           f"nn.Modules; got {type(out).__name__}")
        G_AB = out[0]
        was = G_AB.training
        G_AB.eval()
        try:
            with torch.no_grad():
                fake = G_AB(x)
        except Exception as exc:  # noqa: BLE001 - a generator of the wrong shape is reported, not raised
            raise Mismatch(f"G_AB fails on (N, 3, 32, 32) summer scenes: {type(exc).__name__}: {exc}") from exc
        finally:
            G_AB.train(was)
        if not isinstance(fake, torch.Tensor) or fake.shape != y.shape:
            raise Mismatch(f"G_AB should map (N, 3, 32, 32) summer scenes to {tuple(y.shape)} winter scenes, "
                           f"got {getattr(fake, 'shape', type(fake).__name__)}")
        return out, metrics.l1(fake, y).mean().item()

    def bars() -> list[Bar]:
        return [Bar("the untranslated summer scene", metrics.l1(x, y).mean().item(), L1_MARGIN),
                Bar("a real winter scene of another layout", metrics.l1(y.roll(1, 0), y).mean().item(), L1_MARGIN)]

    return check_outcome(
        "train_cyclegan", train_and_score, bars, metric="L1 to the true winter scene", lower_is_better=True,
        reference="L1 0.180-0.228 over seeds 0-4",
        advice="check that G_AB's adversarial loss uses D_B (the winter discriminator) and G_BA's uses D_A, "
               "that the generators' update adds the GAN, cycle and identity losses and steps both "
               "generators, that each discriminator sees its own domain's real images and pooled fakes, "
               "and that gradients are zeroed before each backward pass",
    )


# ----------------------------------------------------------------------------- hints on request
# The lab's stubs only say where help is ("Run lab06.hint('name') for a hint"); these are the
# hints, from the idea (level 1) through the steps and shapes (level 2) to nearly the code (3).
from course_lib.checks.core import make_hint  # noqa: E402  (kept apart from the checks above)

HINTS: dict[str, tuple[str, str, str]] = {
    'lsgan_d_loss': (
        'The least-squares GAN (Mao et al., 2017) replaces cross-entropy by squared distances to '
        'target scores: 1 for real images, 0 for fakes.',
        "Mean of (d_real - 1)^2, plus mean of d_fake^2, times 0.5 (CycleGAN halves D's loss).",
        'two means of squared errors, targets 1 (real) and 0 (fake), then halve',
    ),
    'lsgan_g_loss': (
        "The generator's least-squares loss measures how far the discriminator's scores of its "
        "fakes are from the 'real' target.",
        'Mean of (d_fake - 1)^2 over every score; no halving.',
        'the generator wants its fakes scored 1',
    ),
    'cycle_loss': (
        'Cycle consistency (Zhu et al., 2017, eq. 2): an image translated to the other domain and '
        'back should come back unchanged, in both directions.',
        'The mean absolute error between real_a and rec_a, plus the same for B; multiply the sum '
        'by lambda_cycle.',
        'lambda_cycle * (L1 of the A cycle + L1 of the B cycle), L1 = (x - y).abs().mean()',
    ),
    'identity_loss': (
        'The identity loss asks a generator to leave alone an image that is already in its target '
        'domain (G_AB given a B image should return it unchanged).',
        'Mean absolute error between G_AB(real_b) and real_b, plus between G_BA(real_a) and '
        "real_a; weight lambda_cycle * lambda_identity (the paper's 0.5 is relative to the cycle "
        'weight).',
        'feed G_AB a B image and compare with that same image; weight lambda_cycle * '
        'lambda_identity',
    ),
    'query': (
        'The image pool (Shrivastava et al., 2017) shows the discriminator a mix of new fakes and '
        'fakes of earlier generators: fill the pool first, then swap half of the time.',
        'Detach the images; pool_size 0 returns them as they are. For each image of the batch: '
        'while the pool is not full, store a copy and return the image; once full, with '
        'probability 0.5 return a random stored image and put the new one in its place, otherwise '
        'return the new image. Stack the returned images into a batch.',
        'loop over the images of the batch; len(self.images) < self.pool_size means "not full yet"',
    ),
    'train_cyclegan': (
        'Each iteration updates both generators together (fool the other domain\'s discriminator, '
        'come back through the cycle, leave images of their own output domain alone), then both '
        'discriminators on real images and on fakes from their pools.',
        'real_a, real_b: batches drawn independently from domains["A"] and ["B"]. fake_b = G_AB(real_a),'
        ' fake_a = G_BA(real_b), rec_a = G_BA(fake_b), rec_b = G_AB(fake_a). G loss: '
        'lsgan_g_loss(D_B(fake_b)) + lsgan_g_loss(D_A(fake_a)) + cycle_loss(...) + identity_loss(...).'
        ' D loss: lsgan_d_loss(D_B(real_b), D_B(pool_b.query(fake_b))) + the same for A. One Adam '
        'for both generators, one for both discriminators.',
        'opt_G.zero_grad(); loss_G.backward(); opt_G.step(); then opt_D.zero_grad(); '
        '(lsgan_d_loss(D_B(real_b), D_B(pool_b.query(fake_b))) + lsgan_d_loss(D_A(real_a), '
        'D_A(pool_a.query(fake_a)))).backward(); opt_D.step()',
    ),
}
hint = make_hint("lab06", HINTS, aliases={"ImagePool": "query"})  # check_image_pool names the class


# ----------------------------------------------------------------------------- graded questions
# The short, graded part of the lab's Questions (the written part is read by the teacher).
from course_lib.checks.core import check_answer  # noqa: E402  (kept apart from the checks above)


def check_question_1(answer: object) -> None:
    """Which loss takes its fakes from the image pool?"""
    check_answer(
        "question_1", answer, expected="A", choices=("A", "B", "C", "D"),
        wrong={
            "B": "the generator can only be improved through its current outputs: its gradient must flow "
                 "through today's G, and a pooled fake was made (and detached) earlier",
            "C": "the discriminator's loss uses the pool, but the generator's must use today's fakes, "
                 "or no gradient reaches today's G",
            "D": "the cycle loss compares an image with its own reconstruction; a stored fake of another "
                 "image has nothing to be compared with",
        },
    )


def check_question_2(answer: object) -> None:
    """The identity loss (defaults) when G_AB darkens every B image by 0.2 and G_BA is the identity."""
    check_answer(
        "question_2", answer, expected=1.0, tol=1e-3,
        wrong={
            0.2: "that is the mean absolute difference alone; the loss multiplies it by "
                 "lambda_cycle * lambda_identity = 10 x 0.5",
            2.0: "lambda_identity is relative to lambda_cycle: the weight is 10 x 0.5 = 5, not 10",
            0.1: "the weight is lambda_cycle * lambda_identity = 5, not lambda_identity alone",
            0.0: "G_BA is perfect, but G_AB(b) = b - 0.2 differs from b by 0.2 at every pixel",
        },
        explain="The loss is lambda_cycle * lambda_identity * (mean|G_AB(b) - b| + mean|G_BA(a) - a|); "
                "compute it with your identity_loss.",
    )
