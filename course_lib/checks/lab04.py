"""Graders of lab 04 (pix2pix: the U-Net skip block, the PatchGAN, the discriminator and generator losses)."""

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
    StudentError,
    call_student,
    check_function,
    check_outcome,
    describe_difference,
    executed_layers,
    run_cases,
)
from course_lib.nn import PatchGAN
from course_lib.receptive_field import empirical_receptive_field
from course_lib.translation.pix2pix import UnetSkipBlock


# ----------------------------------------------------------------------------- exercise 1
def reference_skip_forward(block: UnetSkipBlock, x: torch.Tensor) -> torch.Tensor:
    """A U-Net level: ``cat([x, up(inner(down(x)))], 1)``; the outermost level returns the image alone."""
    y = block.up(block.inner(block.down(x)))
    return y if block.outermost else torch.cat([x, y], dim=1)


def _skip_sum(block: UnetSkipBlock, x: torch.Tensor) -> torch.Tensor:
    y = block.up(block.inner(block.down(x)))
    return y if block.outermost else x + y


def _skip_reversed(block: UnetSkipBlock, x: torch.Tensor) -> torch.Tensor:
    y = block.up(block.inner(block.down(x)))
    return y if block.outermost else torch.cat([y, x], dim=1)


def _skip_missing(block: UnetSkipBlock, x: torch.Tensor) -> torch.Tensor:
    return block.up(block.inner(block.down(x)))


def _skip_outermost_too(block: UnetSkipBlock, x: torch.Tensor) -> torch.Tensor:
    return torch.cat([x, block.up(block.inner(block.down(x)))], dim=1)


def _skip_batch_dim(block: UnetSkipBlock, x: torch.Tensor) -> torch.Tensor:
    y = block.up(block.inner(block.down(x)))
    return y if block.outermost else torch.cat([x, y], dim=0)


def _skip_down_features(block: UnetSkipBlock, x: torch.Tensor) -> torch.Tensor:
    d = block.down(x)
    y = block.up(block.inner(d))
    return y if block.outermost else torch.cat([F.interpolate(d, size=x.shape[-2:]), y], dim=1)[:, : 2 * x.shape[1]]


def _blocks() -> tuple[UnetSkipBlock, UnetSkipBlock, UnetSkipBlock]:
    torch.manual_seed(0)
    innermost = UnetSkipBlock(8, 8, None, norm="none")
    middle = UnetSkipBlock(4, 8, UnetSkipBlock(8, 8, None, norm="none"), norm="none")
    outermost = UnetSkipBlock(3, 4, UnetSkipBlock(4, 8, UnetSkipBlock(8, 8, None, norm="none"), norm="none"),
                              in_channels=2, outermost=True, norm="none")
    return innermost.eval(), middle.eval(), outermost.eval()


def check_skip_forward(student_fn: Callable[[UnetSkipBlock, torch.Tensor], torch.Tensor]) -> None:
    """Exercise 1: the forward pass of one U-Net level."""
    innermost, middle, outermost = _blocks()
    g = torch.Generator().manual_seed(1)
    check_function(
        "skip_forward",
        student_fn,
        reference_skip_forward,
        [
            Case("innermost block (8 -> 8 channels, 8x8 input)", (innermost, torch.randn(2, 8, 8, 8, generator=g)), grad=True),
            Case("a middle block with an inner level (4 channels, 16x16)", (middle, torch.randn(1, 4, 16, 16, generator=g)),
                 grad=True),
            Case("outermost block: 2-channel image in, 3-channel image out", (outermost, torch.randn(1, 2, 32, 32, generator=g)),
                 grad=True),
        ],
        mistakes=[
            Mistake("a U-Net skip concatenates, it does not add: torch.cat([x, y], dim=1) gives the decoder the "
                    "encoder's features *and* its own (and doubles the channels)", _skip_sum),
            Mistake("the channels are in the wrong order: the skip comes first, torch.cat([x, y], dim=1), which is "
                    "the order the next layer's weights were built for", _skip_reversed),
            Mistake("the skip connection is missing: every level except the outermost returns torch.cat([x, y], dim=1)",
                    _skip_missing),
            Mistake("the outermost block must return the image y alone (3 channels), without concatenating x",
                    _skip_outermost_too),
            Mistake("you concatenated along the batch dimension (dim=0): the skip adds *channels*, use dim=1",
                    _skip_batch_dim),
        ],
        hint="y = block.up(block.inner(block.down(x))); return y if block.outermost else torch.cat([x, y], dim=1)",
    )


# ----------------------------------------------------------------------------- exercise 2
def reference_patchgan(in_channels: int, ndf: int = 64, n_layers: int = 3) -> nn.Module:
    return PatchGAN(in_channels, ndf, n_layers, norm="batch")


def check_patchgan(student_fn: Callable[..., nn.Module]) -> None:
    """Exercise 2: the PatchGAN discriminator (C64-C128-C256-C512, 4x4 convs, batch norm, LeakyReLU 0.2)."""

    def build(*args: int) -> nn.Module:
        torch.manual_seed(0)
        net = call_student(student_fn, *args)
        if not isinstance(net, nn.Module):
            raise Mismatch(f"patchgan must return an nn.Module (e.g. nn.Sequential), got {type(net).__name__}")
        return net

    def parameters() -> None:
        with torch.device("meta"):  # shapes only: fast, no memory
            net = build(6, 64, 3)
        got = sum(p.numel() for p in net.parameters())
        expected = 2_768_705
        if got == expected:
            return
        diagnoses = {
            expected + 2 * 64: "the first layer has no normalisation (C64 without batch norm, as in the paper)",
            expected + 128 + 256 + 512: "a conv followed by batch norm needs no bias (bias=False): the norm's shift "
                                        "does the same job",
            expected - 1: "the last conv (512 -> 1) keeps its bias",
            expected - 64: "the first conv keeps its bias (it has no batch norm after it)",
        }
        raise Mismatch(f"PatchGAN(6, ndf=64, n_layers=3) has {got:,} parameters, expected {expected:,} (the "
                       "reference's 70x70 PatchGAN). " + diagnoses.get(got, "Check the channel numbers 64-128-256-512-1, "
                                                                          "the 4x4 kernels and which layers have norm/bias."))

    def width_cap() -> None:
        with torch.device("meta"):
            got = sum(p.numel() for p in build(3, 8, 5).parameters())
            expected = sum(p.numel() for p in reference_patchgan(3, 8, 5).parameters())
        if got != expected:
            raise Mismatch(f"PatchGAN(3, ndf=8, n_layers=5) has {got:,} parameters, expected {expected:,}: the "
                           "channel multiplier is capped at 8 (m = min(2 ** n, 8), so ndf * 8 at most), for the "
                           "stride-2 convs and for the stride-1 conv after them")

    def input_channels() -> None:
        for c in (3, 1):
            net = build(c, 8, 2)
            try:
                with torch.no_grad():
                    out = call_student(net, torch.randn(1, c, 64, 64))
            except StudentError as exc:
                raise Mismatch(f"patchgan({c}, ...) fails on a {c}-channel input ({exc}): the first conv must "
                               "take in_channels channels, not a hard-coded number") from None
            if not isinstance(out, torch.Tensor) or out.dim() != 4 or out.shape[1] != 1:
                raise Mismatch(f"patchgan({c}, ...) should return a (N, 1, H, W) map of scores")

    def layer_order() -> None:
        net = build(6, 8, 3).eval()
        kinds = [type(m).__name__ for m in executed_layers(net, torch.randn(1, 6, 64, 64))
                 if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.LeakyReLU))]
        expected = (["Conv2d", "LeakyReLU"] + ["Conv2d", "BatchNorm2d", "LeakyReLU"] * 3 + ["Conv2d"])
        if kinds == expected:
            return
        for i, k in enumerate(kinds):
            if k == "BatchNorm2d" and (i == 0 or kinds[i - 1] != "Conv2d"):
                raise Mismatch(f"the layers run in the order {kinds[:8]}...: batch norm must come right after its "
                               "conv, before the LeakyReLU (conv -> batch norm -> LeakyReLU, as in pix2pix's C_k "
                               "blocks), or it normalises away the non-linearity's effect")
        raise Mismatch(f"the layers run in the order {kinds}, expected {expected}")

    def output_size() -> None:
        net = build(6, 8, 3)
        out = call_student(net, torch.randn(1, 6, 256, 256))
        if tuple(out.shape) == (1, 1, 30, 30):
            return
        msg = f"a 256x256 input gave scores of shape {tuple(out.shape)}, expected (1, 1, 30, 30)"
        if tuple(out.shape[-2:]) == (15, 15):
            msg += ": the 4th conv (C512) has stride 1, not 2"
        elif out.shape[1] != 1:
            msg += ": the last conv outputs 1 channel (one score per patch)"
        else:
            msg += ": 4x4 kernels, padding 1, strides 2, 2, 2, 1, 1"
        raise Mismatch(msg)

    def field(n_layers: int, expected: int) -> Callable[[], None]:
        def run() -> None:
            net = build(6, 4, n_layers)
            rf = empirical_receptive_field(net, (6, 160, 160), n_samples=1).size
            if rf != (expected, expected):
                raise Mismatch(f"with n_layers={n_layers} each score sees {rf[0]}x{rf[1]} pixels, expected "
                               f"{expected}x{expected}: n_layers stride-2 convs, then two stride-1 convs")
        return run

    def logits_and_activations() -> None:
        net = build(6, 8, 3)
        out = call_student(net, torch.randn(2, 6, 64, 64))
        if bool((out >= 0).all()) and bool((out <= 1).all()):
            raise Mismatch("the scores are all in [0, 1]: return raw logits (no sigmoid); the loss applies it "
                           "(binary_cross_entropy_with_logits is more accurate)")
        if any(type(m) is nn.ReLU for m in net.modules()):
            raise Mismatch("the discriminator uses LeakyReLU(0.2), not ReLU (so that gradients flow for negative inputs)")
        slopes = {m.negative_slope for m in net.modules() if isinstance(m, nn.LeakyReLU)}
        if slopes != {0.2}:
            raise Mismatch(f"LeakyReLU slopes {sorted(slopes)}: use nn.LeakyReLU(0.2) after every conv but the last")
        if not any(isinstance(m, nn.BatchNorm2d) for m in net.modules()):
            raise Mismatch("pix2pix's discriminator uses batch norm (nn.BatchNorm2d) after every conv but the first and the last")

    run_cases(
        "patchgan",
        [("2,768,705 parameters for (6, 64, 3)", parameters), ("30x30 scores for a 256x256 pair", output_size),
         ("70x70 receptive field (n_layers=3)", field(3, 70)), ("34x34 receptive field (n_layers=2)", field(2, 34)),
         ("logits, LeakyReLU(0.2), batch norm", logits_and_activations),
         ("conv -> batch norm -> LeakyReLU order", layer_order),
         ("in_channels is used (3- and 1-channel inputs)", input_channels),
         ("width capped at ndf * 8 (n_layers=5)", width_cap)],
        hint="conv(in, ndf, 4, 2, 1) + LeakyReLU; for n in 1..n_layers-1: conv(ndf*m_prev, ndf*m, 4, 2, 1, bias=False) "
             "+ BatchNorm + LeakyReLU with m = min(2**n, 8); the same with stride 1; then conv(ndf*m, 1, 4, 1, 1).",
    )


# ----------------------------------------------------------------------------- losses: a spy discriminator
class SpyDiscriminator(nn.Module):
    """Records what it is called with; scores 6-channel pairs and (to diagnose) 3-channel images."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        # instance norm: the score of an image does not depend on what else is in the batch
        self.pair = PatchGAN(6, 8, 2, norm="instance")
        self.single = PatchGAN(3, 8, 2, norm="instance")
        self.calls: list[torch.Tensor] = []

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        self.calls.append(inp.detach().clone())
        return self.pair(inp) if inp.dim() == 4 and inp.shape[1] == 6 else self.single(inp)


def _bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, 1.0 if real else 0.0))


def reference_d_loss(D: nn.Module, x: torch.Tensor, y: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """pix2pix's discriminator loss: 0.5 * (BCE(D(x, y), real) + BCE(D(x, fake.detach()), fake))."""
    return 0.5 * (_bce(D(torch.cat([x, y], 1)), True) + _bce(D(torch.cat([x, fake.detach()], 1)), False))


def reference_g_loss(D: nn.Module, x: torch.Tensor, y: torch.Tensor, fake: torch.Tensor,
                     lambda_l1: float = 100.0) -> torch.Tensor:
    """pix2pix's generator loss: BCE(D(x, fake), real) + lambda_L1 * L1(fake, y)."""
    return _bce(D(torch.cat([x, fake], 1)), True) + lambda_l1 * F.l1_loss(fake, y)


def _inputs(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    y = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    w = torch.rand(2, 3, 32, 32, generator=g).requires_grad_(True)  # "G's parameters"
    return x, y, w, torch.tanh(w * 3 - 1.5)  # fake depends on w, like G's output


def _check_calls(D: SpyDiscriminator, x: torch.Tensor) -> None:
    if not D.calls:
        raise Mismatch("your loss never called D")
    for c in D.calls:
        if c.dim() == 4 and c.shape[1] == 3:
            raise Mismatch("D was called on an image alone: pix2pix's discriminator is *conditional*, it judges the "
                           "pair (input, output) stacked as channels, D(torch.cat([x, y], 1)); an unconditional D would "
                           "accept any realistic photo, whether or not it matches the input")
        if c.dim() != 4 or c.shape[1] != 6:
            raise Mismatch(f"D was called on a tensor of shape {tuple(c.shape)}; it expects (N, 6, H, W) pairs")
        if not torch.allclose(c[:, :3], x.repeat(c.shape[0] // x.shape[0], 1, 1, 1)):
            raise Mismatch("the pair must be stacked condition first: torch.cat([x, y], dim=1) (x = the input image)")


def _loss_value(got: object, name: str) -> torch.Tensor:
    if not isinstance(got, torch.Tensor) or got.numel() != 1:
        raise Mismatch(f"{name} must return a scalar tensor (a single number with a gradient), got "
                       f"{type(got).__name__ if not isinstance(got, torch.Tensor) else tuple(got.shape)}")
    return got.reshape(())


def _matches(got: torch.Tensor, expected: torch.Tensor) -> bool:
    return describe_difference(got.detach(), expected.detach(), rtol=1e-4, atol=1e-6) is None


def check_d_loss(student_fn: Callable[..., torch.Tensor]) -> None:
    """Exercise 3: the discriminator's loss (conditional, detached fake, halved)."""

    def case(seed: int) -> Callable[[], None]:
        def run() -> None:
            D = SpyDiscriminator(seed)
            x, y, w, fake = _inputs(seed)
            got = _loss_value(call_student(student_fn, D, x, y, fake), "d_loss")
            _check_calls(D, x)
            with torch.no_grad():
                real_l, fake_l = D.pair(torch.cat([x, y], 1)), D.pair(torch.cat([x, fake], 1))
                expected = 0.5 * (_bce(real_l, True) + _bce(fake_l, False))
                wrong = {
                    "real and fake labels are swapped: D must output 'real' (1) for (x, y) and 'fake' (0) for "
                    "(x, fake)": 0.5 * (_bce(real_l, False) + _bce(fake_l, True)),
                    "the loss is not halved: pix2pix divides D's objective by 2 to slow D down relative to G":
                        _bce(real_l, True) + _bce(fake_l, False),
                    "only the real term: D must also learn to call the fake pair fake": 0.5 * _bce(real_l, True),
                    "only the fake term: D must also learn to call the real pair real": 0.5 * _bce(fake_l, False),
                    "that is the least-squares (LSGAN) loss; pix2pix uses the vanilla GAN loss, binary cross-entropy "
                    "with logits": 0.5 * (((real_l - 1) ** 2).mean() + (fake_l**2).mean()),
                }
            if not _matches(got, expected):
                for message, value in wrong.items():
                    if _matches(got, value):
                        raise Mismatch(message)
                raise Mismatch(describe_difference(got.detach(), expected) or "wrong value")
            if got.requires_grad:
                got.backward()
            if w.grad is not None and float(w.grad.abs().sum()) > 0:
                raise Mismatch("the gradient of D's loss reaches the generator: use fake.detach() in D's loss, or "
                               "D's update would also push G (towards making its outputs easier to spot)")
            if not got.requires_grad or not any(p.grad is not None for p in D.pair.parameters()):
                raise Mismatch("no gradient reaches D's weights: do not compute D's scores under torch.no_grad() "
                               "or call .item() / .detach() on the loss")
        return run

    run_cases("d_loss", [("a batch of 2 pairs", case(0)), ("another batch and discriminator", case(1))],
              hint="0.5 * (BCE-with-logits(D(cat[x, y]), ones) + BCE-with-logits(D(cat[x, fake.detach()]), zeros))")


def check_g_loss(student_fn: Callable[..., torch.Tensor]) -> None:
    """Exercise 4: the generator's loss (fool the conditional D + lambda_L1 * L1)."""

    def case(seed: int, lam: float | None) -> Callable[[], None]:
        def run() -> None:
            D = SpyDiscriminator(seed)
            x, y, w, fake = _inputs(seed)
            args = (D, x, y, fake) if lam is None else (D, x, y, fake, lam)
            got = _loss_value(call_student(student_fn, *args), "g_loss")
            _check_calls(D, x)
            lam_ = 100.0 if lam is None else lam
            with torch.no_grad():
                logits = D.pair(torch.cat([x, fake], 1))
                gan, l1 = _bce(logits, True), F.l1_loss(fake, y)
                expected = gan + lam_ * l1
                wrong = {
                    "lambda_L1 multiplies the GAN term instead of the L1 term: the loss is GAN + lambda_L1 * L1 "
                    "(L1 carries the low frequencies, the GAN only sharpens)": lam_ * gan + l1,
                    "the label is wrong: G wants D to call its output *real* (target 1), the non-saturating loss "
                    "BCE(D(x, fake), 1)": _bce(logits, False) + lam_ * l1,
                    "that is the saturating minimax loss -BCE(D(x, fake), 0), whose gradient vanishes when D wins; "
                    "use the non-saturating BCE(D(x, fake), 1)": -_bce(logits, False) + lam_ * l1,
                    "the L1 term is missing (lambda_L1 * mean |fake - y|)": gan,
                    "the GAN term is missing: add BCE(D(x, fake), 1)": lam_ * l1,
                    "use the L1 distance (mean absolute error), not the squared error": gan + lam_ * F.mse_loss(fake, y),
                    "use the mean absolute error (F.l1_loss), not the sum": gan + lam_ * (fake - y).abs().sum(),
                }
                if lam is None:
                    wrong["lambda_l1 must default to 100 (the paper's weight)"] = gan + l1
            if not _matches(got, expected):
                for message, value in wrong.items():
                    if _matches(got, value):
                        raise Mismatch(message)
                raise Mismatch(describe_difference(got.detach(), expected) or "wrong value")
            if not got.requires_grad:
                raise Mismatch("the loss has no gradient: do not detach it or compute it under torch.no_grad()")
            got.backward()
            w_ref = w.detach().clone().requires_grad_(True)
            fake_ref = torch.tanh(w_ref * 3 - 1.5)
            (_bce(D.pair(torch.cat([x, fake_ref], 1)), True) + lam_ * F.l1_loss(fake_ref, y)).backward()
            assert w_ref.grad is not None  # a leaf of the graph just back-propagated
            if w.grad is None or not torch.allclose(w.grad, w_ref.grad, rtol=1e-3, atol=1e-7):
                raise Mismatch("the right value but the wrong gradient for G: do not detach the fake in G's loss; "
                               "the adversarial gradient must flow through D back to G")
        return run

    run_cases("g_loss", [("lambda_l1 = 100 (default)", case(0, None)), ("lambda_l1 = 10", case(1, 10.0))],
              hint="BCE-with-logits(D(cat[x, fake]), ones) + lambda_l1 * F.l1_loss(fake, y)")


# ----------------------------------------------------------------------------- hints on request
# The lab's stubs only say where help is ("Run lab04.hint('name') for a hint"); these are the
# hints, from the idea (level 1) through the steps and shapes (level 2) to nearly the code (3).
from course_lib.checks.core import make_hint  # noqa: E402  (kept apart from the checks above)

# ----------------------------------------------------------------------------- exercise 5
#: the grader's budget: 400 training pairs at 32x32, 300 updates of batch 4 (about 30 s on one CPU core)
TRAIN_PAIRS, TEST_PAIRS, SIZE, STEPS, BATCH = 400, 64, 32, 300, 4
#: how much lower than the mean training facade's L1 a working pix2pix must get. Measured with
#: reference_train_pix2pix: seeds 0-4 reach L1 0.316-0.332 where the mean facade scores
#: 0.391-0.412 (margins 0.073-0.082); broken loops (tests/test_lab04_checks.py), seed 0: G never
#: stepped 0.435, input and target swapped 0.623.
L1_MARGIN = 0.04


class _ReferenceSkipBlock(UnetSkipBlock):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return reference_skip_forward(self, x)


def reference_train_pix2pix(pairs: dict[str, torch.Tensor], steps: int, batch_size: int, seed: int,
                            *, step_G: bool = True) -> nn.Module:
    """The reference of exercise 5, from the reference pieces; ``step_G=False`` is a named mistake (for tests)."""
    from course_lib.translation.pix2pix import UnetGenerator

    torch.manual_seed(seed)
    G = UnetGenerator(3, 3, num_downs=5, ngf=16)
    for module in G.modules():
        if isinstance(module, UnetSkipBlock):
            module.__class__ = _ReferenceSkipBlock
    D = reference_patchgan(6, 16, 2)
    opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    inputs, targets = pairs["input"], pairs["target"]
    for _ in range(steps):
        index = torch.randint(len(inputs), (batch_size,))
        x, y = inputs[index], targets[index]
        fake = G(x)
        opt_D.zero_grad()
        reference_d_loss(D, x, y, fake).backward()
        opt_D.step()
        opt_G.zero_grad()
        reference_g_loss(D, x, y, fake).backward()
        if step_G:
            opt_G.step()
    return G


def facade_data(seed: int = 0) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The grader's training pairs and held-out pairs: ``{"input", "target"}`` (N, 3, 32, 32) in [-1, 1]."""
    from course_lib.data.paired import InMemory, ProceduralFacades

    train = InMemory(ProceduralFacades(TRAIN_PAIRS, SIZE, seed=seed)).tensors
    test = InMemory(ProceduralFacades(TEST_PAIRS, SIZE, seed=seed + 1000)).tensors
    return train, test


def check_train_pix2pix(student_fn: Callable[..., nn.Module], seed: int = 0) -> nn.Module:
    """Train with ``student_fn(pairs, steps, batch_size, seed) -> G``; grade G's held-out L1.

    Returns the student's trained generator. ``seed`` selects the grader's data and is passed on.
    """
    from course_lib import metrics
    from course_lib.translation.pix2pix import translate

    train, test = facade_data(seed)
    x, y = test["input"], test["target"]

    def train_and_score() -> tuple[nn.Module, float]:
        G = call_student(student_fn, {k: v.clone() for k, v in train.items()}, STEPS, BATCH, seed)
        if not isinstance(G, nn.Module):
            raise Mismatch(f"train_pix2pix should return the generator (an nn.Module), got {type(G).__name__}")
        with torch.no_grad():
            fake = translate(G, x)  # pix2pix's test protocol: dropout on, batch statistics
        if fake.shape != y.shape:
            raise Mismatch(f"the returned generator maps (N, 3, 32, 32) labels to {tuple(fake.shape)}, "
                           f"expected {tuple(y.shape)}")
        return G, metrics.l1(fake, y).mean().item()

    def bars() -> list[Bar]:
        mean_facade = train["target"].mean(0, keepdim=True).expand_as(y)
        return [Bar("the mean training facade", metrics.l1(mean_facade, y).mean().item(), L1_MARGIN)]

    return check_outcome(
        "train_pix2pix", train_and_score, bars, metric="L1", lower_is_better=True,
        reference="L1 0.316-0.332 over seeds 0-4",
        advice="check that G is trained on (labels -> facade), that both optimizers step their own "
               "network every iteration (D first, then G on a fresh score of the updated D), and "
               "that gradients are zeroed before each backward pass",
    )


HINTS: dict[str, tuple[str, str, str]] = {
    'skip_forward': (
        'A U-Net level passes its input down and back up through the inner levels, then hands the '
        'decoder both the upsampled result and the input itself (the skip connection), except at '
        'the outermost level, whose output is the image.',
        'y = up(inner(down(x))) has the same height and width as x; join x and y along the channel'
        ' axis (x first), giving the channels of both. When block.outermost, return y alone.',
        'y = block.up(block.inner(block.down(x))); concatenate along dim=1 unless block.outermost',
    ),
    'patchgan': (
        'The PatchGAN is a stack of 4x4 convolutions that halves the size a few times and ends '
        'with one score per patch; the channels double at each layer up to 8 * ndf.',
        'First layer: conv in_channels -> ndf, stride 2, no norm, LeakyReLU(0.2). Then n_layers - '
        '1 layers with stride 2 and one with stride 1, each conv (no bias) -> BatchNorm -> '
        'LeakyReLU(0.2), the channel multiplier going from m_prev to min(2**n, 8). Last: conv to 1'
        ' channel, stride 1. Padding 1 everywhere.',
        'see the bullet list; keep m_prev and m = min(2**n, 8) as you go',
    ),
    'd_loss': (
        'The conditional discriminator judges (input, output) pairs: real pairs should score 1, '
        "pairs with the generator's output 0. Its loss must not train the generator.",
        'Score the real pair cat([x, y]) and the fake pair cat([x, fake detached]) along channels;'
        " binary cross-entropy on logits with all-ones and all-zeros targets of the scores' shape;"
        " average the two losses (pix2pix halves D's loss).",
        'two calls of D on torch.cat([x, ...], 1); targets torch.ones_like / torch.zeros_like',
    ),
    'g_loss': (
        'The generator wants the discriminator to call its (input, fake) pair real, and its output'
        ' to stay close to the target in L1 (Isola et al., 2017, eq. 4).',
        'Score cat([x, fake]) along channels without detaching (the gradient must reach G); BCE on'
        ' logits with an all-ones target; add lambda_l1 times the mean absolute error between fake'
        ' and y.',
        'one call of D on torch.cat([x, fake], 1), target ones; plus lambda_l1 * F.l1_loss(fake, '
        'y)',
    ),
    'train_pix2pix': (
        'One iteration of pix2pix: generate, then improve D on a real and a fake pair, then improve G'
        ' against the updated D. Each network has its own optimizer, and each update starts from '
        'zeroed gradients.',
        'Build G (use_my_skips on the U-Net) and D = patchgan(6, 16, 2); Adam(lr=2e-4, betas=(0.5, '
        '0.999)) for each. Per step: draw batch_size random indices, x = pairs["input"][i], y = '
        'pairs["target"][i]; fake = G(x); D: zero_grad, d_loss(...).backward(), step; G: zero_grad,'
        ' g_loss(...).backward(), step. Return G.',
        'index = torch.randint(len(inputs), (batch_size,)); fake = G(x); opt_D.zero_grad(); d_loss(D,'
        ' x, y, fake).backward(); opt_D.step(); then the same with opt_G and g_loss',
    ),
}
hint = make_hint("lab04", HINTS)


# ----------------------------------------------------------------------------- graded questions
# The short, graded part of the lab's Questions (the written part is read by the teacher).
from course_lib.checks.core import check_answer  # noqa: E402  (kept apart from the checks above)


def check_question_1(answer: object) -> None:
    """With an unconditional D, which term of G's loss alone ties the output to the input?"""
    check_answer(
        "question_1", answer, expected="B", choices=("A", "B", "C"),
        wrong={
            "A": "an unconditional D never sees x: it only asks whether the output looks like a real "
                 "facade, whatever the label map said",
            "C": "the L1 term compares G(x) with the photo y that belongs to x, so it still ties the "
                 "output to the input",
        },
    )


def check_question_2(answer: object) -> None:
    """Input channels of the outermost up-convolution of U-Net 256 with ngf=64 (128: 64 skipped + 64 decoded)."""
    check_answer(
        "question_2", answer, expected=128,
        wrong={
            64: "that is what the second level decodes; its skip connection adds the 64 channels it "
                "received, so the outermost decoder gets both",
            131: "the outermost block does not concatenate the image: its input x (3 channels) only "
                 "goes down; count what its inner level returns",
            3: "3 is what the outermost up-convolution outputs (the image), not what it takes in",
        },
        explain="the inner level returns torch.cat([x, y], 1): its own input plus what it decoded. "
                "Print the in_channels of unet.model.up's ConvTranspose2d to check.",
    )
