"""Graders of lab 07 (MUNIT): AdaIN, the AdaIN residual block driven by the MLP, the latent
reconstruction losses, and translation with sampled style codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

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
)
from course_lib.translation.munit import MLP, AdaINGenerator, conv_block, kaiming_init


def _randn(*shape: int, seed: int, scale: float = 1.0, shift: float = 0.0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * scale + shift


# ----------------------------------------------------------------------------- exercise 1: AdaIN
def reference_adain(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Normalise each channel of each image (biased variance), then scale by ``std`` and shift by ``mean``."""
    mu = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), keepdim=True, unbiased=False)
    return (x - mu) / torch.sqrt(var + eps) * std[:, :, None, None] + mean[:, :, None, None]


def _adain_with(dims: tuple[int, ...], unbiased: bool = False) -> Callable[..., torch.Tensor]:
    def wrong(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
        mu = x.mean(dim=dims, keepdim=True)
        var = x.var(dim=dims, keepdim=True, unbiased=unbiased)
        return (x - mu) / torch.sqrt(var + eps) * std[:, :, None, None] + mean[:, :, None, None]
    return wrong


ADAIN_CASES = [
    Case("2 images, 4 channels, 8x8", (_randn(2, 4, 8, 8, seed=1, scale=2, shift=1), _randn(2, 4, seed=2),
                                       _randn(2, 4, seed=3, scale=0.5, shift=1)), grad=True),
    Case("1 image, 3 channels, 5x7", (_randn(1, 3, 5, 7, seed=4, shift=-2), _randn(1, 3, seed=5),
                                      _randn(1, 3, seed=6, shift=0.5)), grad=True),
    Case("4 images, 2 channels, 4x4", (_randn(4, 2, 4, 4, seed=7, scale=3), _randn(4, 2, seed=8),
                                       _randn(4, 2, seed=9, scale=0.3, shift=1)), grad=True),
]


def check_adain(student_fn: Callable[..., torch.Tensor]) -> None:
    """Exercise 1: adaptive instance normalisation with given means and standard deviations."""
    check_function(
        "adain", student_fn, reference_adain, ADAIN_CASES,
        mistakes=[
            Mistake("instance norm takes statistics per image *and* per channel (dims 2 and 3); you "
                    "averaged over the batch as well (that is batch norm)", _adain_with((0, 2, 3))),
            Mistake("instance norm takes statistics per channel; you averaged over the channels as well "
                    "(that is layer norm)", _adain_with((1, 2, 3))),
            Mistake("use the biased variance, x.var(dim=(2, 3), unbiased=False), as instance norm does",
                    _adain_with((2, 3), unbiased=True)),
            Mistake("scale the normalised features by `std` and shift them by `mean`, not the other way round",
                    lambda x, m, s, eps=1e-5: reference_adain(x, s, m, eps)),
            Mistake("normalise first: subtract the per-channel mean and divide by the per-channel standard "
                    "deviation, then apply std and mean",
                    lambda x, m, s, eps=1e-5: x * s[:, :, None, None] + m[:, :, None, None]),
        ],
        hint="mu = x.mean(dim=(2, 3), keepdim=True); var = x.var(dim=(2, 3), keepdim=True, unbiased=False); "
             "then (x - mu) / sqrt(var + eps) * std[:, :, None, None] + mean[:, :, None, None]",
    )


# ----------------------------------------------------------------------------- exercise 2: AdaIN res block
def reference_adain_res_block(x: torch.Tensor, style: torch.Tensor, mlp: nn.Module, conv1: nn.Module,
                              conv2: nn.Module) -> torch.Tensor:
    """``x + AdaIN2(conv2(relu(AdaIN1(conv1(x)))))`` with ``mlp(style) = [mean1, std1, mean2, std2]``."""
    c = x.shape[1]
    mean1, std1, mean2, std2 = mlp(style).split(c, dim=1)
    y = F.relu(reference_adain(conv1(x), mean1, std1))
    y = reference_adain(conv2(y), mean2, std2)
    return x + y


def _block_variant(order: str = "m1 s1 m2 s2", residual: bool = True, relu_after: bool = False,
                   reuse_first: bool = False) -> Callable[..., torch.Tensor]:
    def wrong(x, style, mlp, conv1, conv2):
        c = x.shape[1]
        chunks = dict(zip(order.split(), mlp(style).split(c, dim=1)))
        m2, s2 = (chunks["m1"], chunks["s1"]) if reuse_first else (chunks["m2"], chunks["s2"])
        y = F.relu(reference_adain(conv1(x), chunks["m1"], chunks["s1"]))
        y = reference_adain(conv2(y), m2, s2)
        if relu_after:
            y = F.relu(y)
        return x + y if residual else y
    return wrong


def _block_case(name: str, n: int, c: int, size: int, seed: int) -> Case:
    torch.manual_seed(seed)
    mlp = kaiming_init(MLP(8, 4 * c, hidden=16))
    conv1, conv2 = conv_block(c, c, 3, 1, 1)[:2], conv_block(c, c, 3, 1, 1)[:2]
    return Case(name, (_randn(n, c, size, size, seed=seed + 1), _randn(n, 8, 1, 1, seed=seed + 2), mlp, conv1, conv2),
                grad=True)


BLOCK_CASES = [_block_case("2 images, 4 channels, 8x8", 2, 4, 8, 10),
               _block_case("1 image, 6 channels, 6x6", 1, 6, 6, 20),
               _block_case("3 images, 2 channels, 4x4", 3, 2, 4, 30)]


def check_adain_res_block(student_fn: Callable[..., torch.Tensor]) -> None:
    """Exercise 2: a residual block whose two AdaINs take their parameters from the style MLP."""
    check_function(
        "adain_res_block", student_fn, reference_adain_res_block, BLOCK_CASES,
        mistakes=[
            Mistake("split mlp(style) as [mean1, std1, mean2, std2] (C numbers each): the mean comes "
                    "before the std", _block_variant("s1 m1 s2 m2")),
            Mistake("split mlp(style) as [mean1, std1, mean2, std2]: all parameters of the first AdaIN "
                    "come first, then those of the second", _block_variant("m1 m2 s1 s2")),
            Mistake("a residual block adds its input back: return x + y", _block_variant(residual=False)),
            Mistake("no ReLU after the second AdaIN: the block is x + AdaIN(conv(relu(AdaIN(conv(x)))))",
                    _block_variant(relu_after=True)),
            Mistake("each AdaIN has its own parameters: the second one uses mean2 and std2",
                    _block_variant(reuse_first=True)),
        ],
        hint="mean1, std1, mean2, std2 = mlp(style).split(C, dim=1); y = relu(adain(conv1(x), mean1, std1)); "
             "y = adain(conv2(y), mean2, std2); return x + y",
    )


# ----------------------------------------------------------------------------- exercise 3: latent losses
def _l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).abs().mean()


def reference_latent_losses(gen_a: AdaINGenerator, gen_b: AdaINGenerator, content_a: torch.Tensor,
                            content_b: torch.Tensor, style_a: torch.Tensor, style_b: torch.Tensor) -> dict[str, torch.Tensor]:
    """Translate with the sampled styles, encode again, compare with the codes used (L1 means)."""
    x_ba = gen_a.decode(content_b, style_a)
    x_ab = gen_b.decode(content_a, style_b)
    content_b_rec, style_a_rec = gen_a.encode(x_ba)
    content_a_rec, style_b_rec = gen_b.encode(x_ab)
    return {"content_a": _l1(content_a_rec, content_a), "content_b": _l1(content_b_rec, content_b),
            "style_a": _l1(style_a_rec, style_a), "style_b": _l1(style_b_rec, style_b)}


def _latent_wrong_encoder(gen_a, gen_b, ca, cb, sa, sb):
    x_ba, x_ab = gen_a.decode(cb, sa), gen_b.decode(ca, sb)
    cb_rec, sa_rec = gen_b.encode(x_ba)
    ca_rec, sb_rec = gen_a.encode(x_ab)
    return {"content_a": _l1(ca_rec, ca), "content_b": _l1(cb_rec, cb), "style_a": _l1(sa_rec, sa), "style_b": _l1(sb_rec, sb)}


def _latent_wrong_decoder(gen_a, gen_b, ca, cb, sa, sb):
    x_ba, x_ab = gen_b.decode(cb, sa), gen_a.decode(ca, sb)
    cb_rec, sa_rec = gen_a.encode(x_ba)
    ca_rec, sb_rec = gen_b.encode(x_ab)
    return {"content_a": _l1(ca_rec, ca), "content_b": _l1(cb_rec, cb), "style_a": _l1(sa_rec, sa), "style_b": _l1(sb_rec, sb)}


def _latent_swapped_targets(gen_a, gen_b, ca, cb, sa, sb):
    out = reference_latent_losses(gen_a, gen_b, ca, cb, sa, sb)
    x_ba, x_ab = gen_a.decode(cb, sa), gen_b.decode(ca, sb)
    _, sa_rec = gen_a.encode(x_ba)
    _, sb_rec = gen_b.encode(x_ab)
    return {**out, "style_a": _l1(sa_rec, sb), "style_b": _l1(sb_rec, sa)}


def _latent_content_targets_swapped(gen_a, gen_b, ca, cb, sa, sb):
    out = reference_latent_losses(gen_a, gen_b, ca, cb, sa, sb)
    x_ba, x_ab = gen_a.decode(cb, sa), gen_b.decode(ca, sb)
    cb_rec, _ = gen_a.encode(x_ba)
    ca_rec, _ = gen_b.encode(x_ab)
    return {**out, "content_a": _l1(cb_rec, ca), "content_b": _l1(ca_rec, cb)}


def _latent_mse(gen_a, gen_b, ca, cb, sa, sb):
    x_ba, x_ab = gen_a.decode(cb, sa), gen_b.decode(ca, sb)
    cb_rec, sa_rec = gen_a.encode(x_ba)
    ca_rec, sb_rec = gen_b.encode(x_ab)
    mse = lambda a, b: ((a - b) ** 2).mean()
    return {"content_a": mse(ca_rec, ca), "content_b": mse(cb_rec, cb), "style_a": mse(sa_rec, sa), "style_b": mse(sb_rec, sb)}


def _gen(seed: int, channels: int = 3) -> AdaINGenerator:
    torch.manual_seed(seed)
    gen = AdaINGenerator(channels, dim=4, style_dim=8, n_downsample=2, n_res=1, mlp_dim=16)
    kaiming_init(gen)  # in place
    return gen


def _latent_case(name: str, n: int, size: int, seed: int) -> Case:
    gen_a, gen_b = _gen(seed), _gen(seed + 1)
    with torch.no_grad():
        content_a, _ = gen_a.encode(_randn(n, 3, size, size, seed=seed + 2).tanh())
        content_b, _ = gen_b.encode(_randn(n, 3, size, size, seed=seed + 3).tanh())
    return Case(name, (gen_a, gen_b, content_a, content_b, _randn(n, 8, 1, 1, seed=seed + 4),
                       _randn(n, 8, 1, 1, seed=seed + 5)))


LATENT_CASES = [_latent_case("2 images per domain, 16x16", 2, 16, 40), _latent_case("1 image, 32x32", 1, 32, 50)]


def check_latent_losses(student_fn: Callable[..., dict[str, torch.Tensor]]) -> None:
    """Exercise 3: the content and style reconstruction losses after a cross-domain translation."""
    check_function(
        "latent_losses", student_fn, reference_latent_losses, LATENT_CASES,
        mistakes=[
            Mistake("x_ab = gen_b.decode(content_a, style_b) is a *B* image, so B's encoder (gen_b.encode) "
                    "reads it back, and A's encoder reads x_ba", _latent_wrong_encoder),
            Mistake("translating A -> B decodes A's content with *B's* decoder: x_ab = gen_b.decode(content_a, "
                    "style_b), x_ba = gen_a.decode(content_b, style_a)", _latent_wrong_decoder),
            Mistake("the style read back from x_ba (a B -> A translation made with style_a) must match style_a, "
                    "and the one from x_ab must match style_b", _latent_swapped_targets),
            Mistake("the content read back from x_ab must match content_a (the content it was made from), "
                    "and the one from x_ba must match content_b", _latent_content_targets_swapped),
            Mistake("MUNIT's reconstruction losses are L1 (mean absolute difference), not squared errors",
                    _latent_mse),
        ],
        hint="x_ba = gen_a.decode(content_b, style_a); x_ab = gen_b.decode(content_a, style_b); "
             "content_b_rec, style_a_rec = gen_a.encode(x_ba); content_a_rec, style_b_rec = gen_b.encode(x_ab)",
    )


# ----------------------------------------------------------------------------- exercise 4: style sampling
def reference_translate_multimodal(gen_a: AdaINGenerator, gen_b: AdaINGenerator, x_a: torch.Tensor,
                                   n_styles: int, seed: int = 0) -> torch.Tensor:
    """(N, n_styles, C, H, W): A's content decoded by B with ``n_styles`` codes from N(0, I)."""
    g = torch.Generator().manual_seed(seed)
    content, _ = gen_a.encode(x_a)
    styles = torch.randn(n_styles, gen_b.style_dim, 1, 1, generator=g)
    n = x_a.shape[0]
    return torch.stack([gen_b.decode(content, styles[k:k + 1].expand(n, -1, -1, -1)) for k in range(n_styles)], 1)


def _multimodal_uniform(gen_a, gen_b, x_a, n_styles, seed=0):
    g = torch.Generator().manual_seed(seed)
    content, _ = gen_a.encode(x_a)
    styles = torch.rand(n_styles, gen_b.style_dim, 1, 1, generator=g)
    return torch.stack([gen_b.decode(content, styles[k:k + 1].expand(x_a.shape[0], -1, -1, -1)) for k in range(n_styles)], 1)


def _multimodal_decoder_a(gen_a, gen_b, x_a, n_styles, seed=0):
    return reference_translate_multimodal(gen_a, gen_a, x_a, n_styles, seed)


def _multimodal_encoder_b(gen_a, gen_b, x_a, n_styles, seed=0):
    return reference_translate_multimodal(gen_b, gen_b, x_a, n_styles, seed)


def _multimodal_own_style(gen_a, gen_b, x_a, n_styles, seed=0):
    content, style = gen_a.encode(x_a)
    return torch.stack([gen_b.decode(content, style) for _ in range(n_styles)], 1)


def _multimodal_styles_per_image(gen_a, gen_b, x_a, n_styles, seed=0):
    g = torch.Generator().manual_seed(seed)
    content, _ = gen_a.encode(x_a)
    outs = [gen_b.decode(content, torch.randn(x_a.shape[0], gen_b.style_dim, 1, 1, generator=g)) for _ in range(n_styles)]
    return torch.stack(outs, 1)


def _multimodal_case(name: str, n: int, n_styles: int, size: int, seed: int) -> Case:
    return Case(name, (_gen(seed), _gen(seed + 1), _randn(n, 3, size, size, seed=seed + 2).tanh(), n_styles),
                {"seed": seed})


MULTIMODAL_CASES = [_multimodal_case("1 image, 3 styles", 1, 3, 16, 60),
                    _multimodal_case("2 images, 4 styles", 2, 4, 16, 70)]


def check_translate_multimodal(student_fn: Callable[..., torch.Tensor]) -> None:
    """Exercise 4: several translations of each image with style codes drawn from the prior."""
    check_function(
        "translate_multimodal", student_fn, reference_translate_multimodal, MULTIMODAL_CASES,
        mistakes=[
            Mistake("MUNIT's style prior is the standard normal N(0, I): use torch.randn, not torch.rand "
                    "(uniform in [0, 1))", _multimodal_uniform),
            Mistake("the output is a B image: decode with gen_b, not gen_a", _multimodal_decoder_a),
            Mistake("x_a is an A image: take its content with gen_a.encode, not gen_b", _multimodal_encoder_b),
            Mistake("every output uses x_a's own style, so all of them are the same: draw new style codes "
                    "from N(0, I) instead", _multimodal_own_style),
            Mistake("draw n_styles codes once, torch.randn(n_styles, style_dim, 1, 1, generator=g), and use "
                    "code k for column k of every image (you drew a new code per image)",
                    _multimodal_styles_per_image),
        ],
        hint="g = torch.Generator().manual_seed(seed); styles = torch.randn(n_styles, gen_b.style_dim, 1, 1, "
             "generator=g); column k = gen_b.decode(content, styles[k:k+1].expand(N, -1, -1, -1))",
    )


# ----------------------------------------------------------------------------- exercise 5
#: the grader's budget: 400 unpaired sketches and textured shapes at 32x32, 100 updates of batch 4
#: (about 30 s on one CPU core)
TRAIN_IMAGES, TEST_IMAGES, SIZE, STEPS, BATCH = 400, 64, 32, 100, 4
#: sketches 0..31 of the held-out set are translated in the style of textured shapes 32..63
GUIDED = 32
#: how much lower than the mean training shape's L1 gen_b's reconstructions must get. The reference
#: solution, seeds 0-4: L1 0.092-0.117 against the mean shape's 0.156-0.164 (margins 0.047-0.067).
#: G never stepped: 0.913; the within-domain reconstruction left out: 0.294 (seed 0,
#: tests/test_lab07_checks.py). Reconstructing with the random styles instead of the images' own
#: scores 0.132 on seed 0: caught by the 0.03 margin by only 0.004, so it is not a tested variant.
RECON_MARGIN = 0.03


def shape_data(seed: int = 0) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The grader's unpaired training images and its held-out pairs.

    Training: ``{"A": sketches, "B": textured shapes}``, each (400, 3, 32, 32) in [-1, 1], of
    independent shapes. Held out: ``{"A", "B", "mask"}``: 64 sketches, the same shapes textured,
    and their (64, 1, 32, 32) masks.
    """
    from course_lib.data.paired import InMemory
    from course_lib.data.unpaired import ShapesToTextures

    train = InMemory(ShapesToTextures(TRAIN_IMAGES, SIZE, seed=seed)).tensors
    test = ShapesToTextures(TEST_IMAGES, SIZE, seed=seed + 1000, paired=True).pairs()
    return {"A": train["A"], "B": train["B"]}, test


class EncoderDecoder(Protocol):
    """What the checks below need of a generator (an :class:`AdaINGenerator` or the student's own)."""

    def encode(self, x: torch.Tensor, /) -> tuple[torch.Tensor, torch.Tensor]: ...

    def decode(self, content: torch.Tensor, style: torch.Tensor, /) -> torch.Tensor: ...


def reconstruct(gen: EncoderDecoder, images: torch.Tensor) -> torch.Tensor:
    """Within-domain reconstruction: ``gen.decode(*gen.encode(images))``, (N, 3, H, W)."""
    with torch.no_grad():
        content, style = gen.encode(images)
        return gen.decode(content, style)


def guided_translation(gen_a: EncoderDecoder, gen_b: EncoderDecoder, sketches: torch.Tensor,
                       references: torch.Tensor) -> torch.Tensor:
    """Example-guided A -> B: each sketch's content decoded with its reference's style, (N, 3, H, W)."""
    with torch.no_grad():
        content, _ = gen_a.encode(sketches)
        _, style = gen_b.encode(references)
        return gen_b.decode(content, style)


def check_train_munit(student_fn: Callable[..., tuple[nn.Module, nn.Module]], seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """Train with ``student_fn(domains, steps, batch_size, seed) -> (gen_a, gen_b)``; grade gen_b's reconstructions.

    The score is the L1 distance between held-out textured shapes and ``gen_b``'s reconstruction
    of them from their own content and style codes: the content encoder's instance norm removes
    the colours, so only a style path that works (style encoder -> MLP -> your AdaIN) brings them
    back. Returns the student's two generators. ``seed`` selects the grader's data and is passed on.
    """
    from course_lib import metrics

    train, test = shape_data(seed)
    y = test["B"]

    def train_and_score() -> tuple[tuple[nn.Module, nn.Module], float]:
        out = call_student(student_fn, {k: v.clone() for k, v in train.items()}, STEPS, BATCH, seed)
        if not (isinstance(out, tuple) and len(out) == 2 and all(isinstance(g, nn.Module) for g in out)):
            raise Mismatch("train_munit should return the two generators, (gen_a, gen_b), as a tuple of "
                           f"nn.Modules; got {type(out).__name__}")
        try:
            rec = reconstruct(out[1], y)
        except Exception as exc:  # noqa: BLE001 - a generator that cannot reconstruct is reported, not raised
            raise Mismatch(f"gen_b.decode(*gen_b.encode(x)) fails on (N, 3, 32, 32) textured shapes: "
                           f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(rec, torch.Tensor) or rec.shape != y.shape:
            raise Mismatch(f"gen_b's reconstruction should be {tuple(y.shape)}, got "
                           f"{getattr(rec, 'shape', type(rec).__name__)}")
        return out, metrics.l1(rec, y).mean().item()

    def bars() -> list[Bar]:
        mean_shape = train["B"].mean(0, keepdim=True).expand_as(y)
        return [Bar("the mean training textured shape", metrics.l1(mean_shape, y).mean().item(), RECON_MARGIN)]

    return check_outcome(
        "train_munit", train_and_score, bars, metric="reconstruction L1", lower_is_better=True,
        reference="L1 0.092-0.117 over seeds 0-4",
        advice="check that the within-domain reconstruction decodes each image's content with its *own* "
               "style code, gen_a.decode(content_a, own_style_a) (that is what teaches the style encoder), "
               "weighted by 10, that the discriminators see detached translations, and that both "
               "optimizers step their own networks",
    )


# ----------------------------------------------------------------------------- hints on request
# The lab's stubs only say where help is ("Run lab07.hint('name') for a hint"); these are the
# hints, from the idea (level 1) through the steps and shapes (level 2) to nearly the code (3).
from course_lib.checks.core import make_hint  # noqa: E402  (kept apart from the checks above)

HINTS: dict[str, tuple[str, str, str]] = {
    'adain': (
        "MUNIT's AdaIN normalises each channel of x per image and gives it a mean and standard "
        "deviation that the style's MLP produced (one value per image and channel).",
        'Per-image, per-channel mean and biased variance of x over (H, W), shape (N, C, 1, 1); '
        'normalise with sqrt(var + eps); multiply by std and add mean, both (N, C), after adding '
        'two trailing axes.',
        'statistics over dim=(2, 3) with keepdim=True; mean[:, :, None, None] broadcasts',
    ),
    'adain_res_block': (
        'A residual block whose two normalisation layers are AdaIN with parameters computed from '
        'the style code by the MLP; the input is added back at the end.',
        'The MLP maps the style to (N, 4C) numbers: the mean and std for the first AdaIN, then for'
        ' the second. y = relu(adain(conv1(x), ...)); y = adain(conv2(y), ...) (no ReLU); return x'
        ' + y.',
        'params = mlp(style) has shape (N, 4C); params.split(C, dim=1) gives four (N, C) pieces',
    ),
    'latent_losses': (
        'Latent reconstruction (Huang et al., 2018, eq. 3): translate with swapped codes, encode '
        'the translation again, and the content and style codes must come back.',
        'x_ba = gen_a.decode(content_b, style_a) and x_ab = gen_b.decode(content_a, style_b); '
        'encode each with the generator of its own domain; the L1 (mean absolute) distance of '
        'every recovered code to the code that made it, returned in a dict with keys content_a, '
        'content_b, style_a, style_b.',
        'x_ab is a B image, so gen_b.encode(x_ab) gives (content_a_rec, style_b_rec)',
    ),
    'translate_multimodal': (
        "One content code, many styles: encode the A images' content once and decode it with "
        'several random B style codes, the same codes for every image.',
        'Draw (n_styles, style_dim, 1, 1) normal codes from a generator seeded with seed; for '
        'style k, give that one code to every image of the batch and decode with gen_b; stack the '
        'n_styles outputs along a new axis 1: (N, n_styles, C, H, W).',
        'styles[k:k+1].expand(N, -1, -1, -1) gives every image style k; torch.stack(outputs, '
        'dim=1)',
    ),
    'train_munit': (
        'Each iteration encodes a batch of each domain, translates it with random styles, updates '
        'the discriminators on real images against the detached translations, then updates both '
        'auto-encoders: fool the discriminators, rebuild each image from its own codes, and '
        'recover the codes from the translations.',
        'content_a, own_style_a = gen_a.encode(x_a) (same for B); style_a, style_b from '
        'torch.randn(batch_size, 8, 1, 1); x_ba = gen_a.decode(content_b, style_a), x_ab = '
        "gen_b.decode(content_a, style_b). D's loss: discriminator_loss(dis_a(x_a), "
        "dis_a(x_ba.detach()), 'lsgan') + the same for B. G's loss: generator_loss(dis_a(x_ba), "
        "'lsgan') + the same for B + 10 * (L1 of gen_a.decode(content_a, own_style_a) to x_a + the "
        'same for B) + the sum of your latent_losses(...).',
        'opt_D.zero_grad(); loss_D.backward(); opt_D.step(); then opt_G.zero_grad(); (adv + 10 * '
        'recon_x + sum(latent_losses(gen_a, gen_b, content_a, content_b, style_a, '
        'style_b).values())).backward(); opt_G.step()',
    ),
}
hint = make_hint("lab07", HINTS)


# ----------------------------------------------------------------------------- graded questions
# The short, graded part of the lab's Questions (the written part is read by the teacher).
from course_lib.checks.core import check_answer  # noqa: E402  (kept apart from the checks above)


def check_question_1(answer: object) -> None:
    """Where the style code comes from in example-guided translation A -> B."""
    check_answer(
        "question_1", answer, expected="B", choices=("A", "B", "C", "D"),
        wrong={
            "A": "a content code holds the layout, not the style (and gen_a's encoders read A images, "
                 "while the reference is a B image)",
            "C": "that is the sketch's own style, in domain A; B's decoder was trained with B style codes",
            "D": "a random code gives a random style; the reference's style comes from encoding it",
        },
    )


def check_question_2(answer: object) -> None:
    """What instance normalisation removes from each feature map (and why the style encoder has none)."""
    check_answer(
        "question_2", answer, expected="A", choices=("A", "B", "C", "D"),
        wrong={
            "B": "instance norm subtracts one number and divides by another per channel: the layout "
                 "(where the edges are) survives it; that is why the content encoder can use it",
            "C": "that is batch normalisation; instance norm computes its statistics image by image",
            "D": "it does help training, but it also removes the per-channel mean and standard deviation, "
                 "which AdaIN sets to impose a style",
        },
    )
