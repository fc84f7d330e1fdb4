"""Bad input to the public API: clear errors instead of wrong answers or raw PyTorch errors.

Two parts:

* regression tests, one per defect found in review (each failed before the fix);
* :data:`PROBES`, a catalogue of bad calls. Each is classified as *clear* (``ValueError`` or
  ``TypeError`` whose message names the argument and what was expected), *obscure* (any other
  exception, or one whose message does not say that) or *silent* (no error: a wrong answer).
  The test requires every probe to be clear. To compare with another checkout, run this file
  as a script with that checkout first on the path; it prints the counts::

      COURSE_MODE=quick COURSE_OFFLINE=1 MPLBACKEND=Agg PYTHONPATH=/path/to/checkout \\
          python tests/test_bad_input.py

This file imports only the public API, so that it runs against older checkouts too.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from course_lib import losses, metrics, viz
from course_lib.inpainting.blending import mean_fill, poisson_blend
from course_lib.inpainting.contextual_attention import ContextualAttention, contextual_attention
from course_lib.inpainting.masks import center_mask, validate_mask
from course_lib.inpainting.partial_conv import PConvUNet
from course_lib.matting.compositing import composite, premultiply
from course_lib.nn.patchgan import PatchGAN
from course_lib.receptive_field import empirical_receptive_field
from course_lib.style.vgg import VGGFeatures
from course_lib.translation.cyclegan import ResnetGenerator
from course_lib.translation.pix2pix import UnetGenerator

NAN = float("nan")


# --------------------------------------------------------------------------- inputs
def images(n: int = 2, c: int = 3, size: int = 16, seed: int = 0) -> torch.Tensor:
    """Random (n, c, size, size) images in [0, 1]."""
    return torch.rand(n, c, size, size, generator=torch.Generator().manual_seed(seed))


def as_uint8(x: torch.Tensor) -> torch.Tensor:
    return (x * 255).round().to(torch.uint8)


def hole_mask(size: int = 16) -> torch.Tensor:
    """(1, 1, size, size) with a square hole in the middle."""
    m = torch.zeros(1, 1, size, size)
    m[..., size // 4:size // 2, size // 4:size // 2] = 1
    return m


def with_nan(x: torch.Tensor) -> torch.Tensor:
    x = x.clone()
    x.view(-1)[3] = NAN
    return x


# Networks are built once per process (building VGG takes a moment).
@cache
def vgg(layer: str = "relu1_1", input_range: tuple[float, float] = (0.0, 1.0)) -> VGGFeatures:
    return VGGFeatures(layers=(layer,), weights=None, input_range=input_range)


@cache
def unet() -> UnetGenerator:
    return UnetGenerator(num_downs=4, ngf=4)


@cache
def resnet() -> ResnetGenerator:
    return ResnetGenerator(ngf=4, n_blocks=1)


@cache
def pconv() -> PConvUNet:
    return PConvUNet(layers=3, width=8)


@cache
def patchgan() -> PatchGAN:
    return PatchGAN(in_channels=3, ndf=4, n_layers=3)


@cache
def corrupt_weights() -> str:
    """A file that is not a pickle at all (e.g. an interrupted download of something else)."""
    path = Path(_tmp_dir()) / "corrupt_vgg.pth"
    path.write_bytes(b"<html>not a weight file</html>")
    return str(path)


@cache
def mismatched_weights() -> str:
    """A real state dict, but of a different network."""
    path = Path(_tmp_dir()) / "other_net.pth"
    torch.save(torch.nn.Conv2d(3, 8, 3).state_dict(), path)
    return str(path)


@cache
def _tmp_dir() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="bad_input_")


# --------------------------------------------------------------------------- probe catalogue
@dataclass(frozen=True)
class Probe:
    """One bad call; ``needles`` are regexes that a clear message contains (argument, expectation)."""

    id: str
    call: Callable[[], Any]
    needles: tuple[str, ...]


def P(id: str, call: Callable[[], Any], *needles: str) -> Probe:  # noqa: N802 - a short constructor
    return Probe(id, call, needles)


x, y = images(seed=0), images(seed=1)
fg, bg, alpha = images(1, 3, 16, 2)[0], images(1, 3, 16, 3)[0], images(1, 1, 16, 4)[0]

PROBES: list[Probe] = [
    # metrics
    P("psnr 0-255 with value_range (0, 1)", lambda: metrics.psnr(x * 255, y * 255, (0, 1)), "value_range", "255"),
    P("psnr uint8 with value_range (0, 1)", lambda: metrics.psnr(as_uint8(x), as_uint8(y), (0, 1)), "value_range", "255"),
    P("psnr [-1, 1] images with value_range (0, 1)", lambda: metrics.psnr(x * 2 - 1, y * 2 - 1, (0, 1)), "value_range", r"-1"),
    P("psnr 0-255 with value_range (-1, 1)", lambda: metrics.psnr(x * 255, y * 255, (-1, 1)), "value_range", "255"),
    P("psnr NaN in x", lambda: metrics.psnr(with_nan(x), y, (0, 1)), r"\bx\b", "NaN"),
    P("psnr inf in y", lambda: metrics.psnr(x, y.masked_fill(y > 0.9, float("inf")), (0, 1)), r"\by\b", "inf"),
    P("psnr value_range reversed", lambda: metrics.psnr(x, y, (1, 0)), "value_range", "low"),
    P("psnr value_range None", lambda: metrics.psnr(x, y, None), "value_range", "low"),
    P("psnr empty images (H = W = 0)", lambda: metrics.psnr(x[..., :0, :0], y[..., :0, :0], (0, 1)), r"\bx\b", "empty"),
    P("psnr x and y of different sizes", lambda: metrics.psnr(x, y[..., :8, :8], (0, 1)), "same shape"),
    P("psnr (C, H, W) without batch dimension", lambda: metrics.psnr(x[0], y[0], (0, 1)), r"\(N, C, H, W\)"),
    P("psnr numpy arrays", lambda: metrics.psnr(x.numpy(), y.numpy(), (0, 1)), r"\bx\b", "[Tt]ensor"),
    P("ssim 0-255 with value_range (0, 1)", lambda: metrics.ssim(x * 255, y * 255, (0, 1)), "value_range", "255"),
    P("ssim uint8 with value_range (0, 1)", lambda: metrics.ssim(as_uint8(x), as_uint8(y), (0, 1)), "value_range", "255"),
    P("ssim NaN", lambda: metrics.ssim(with_nan(x), y, (0, 1)), r"\bx\b", "NaN"),
    P("ssim images smaller than the window", lambda: metrics.ssim(x[..., :8, :8], y[..., :8, :8], (0, 1)), "11x11"),
    P("ssim_map 0-255", lambda: metrics.ssim_map(x * 255, y * 255, (0, 1)), "value_range", "255"),
    P("mse mask of the wrong shape", lambda: metrics.mse(x, y, torch.ones(2, 3, 16, 16)), "mask", r"\(N, 1, H, W\)"),
    P("l1 numpy arrays", lambda: metrics.l1(x.numpy(), y.numpy()), r"\bx\b", "[Tt]ensor"),
    P("sliced_wasserstein NaN", lambda: metrics.sliced_wasserstein(with_nan(x), y), r"\bx\b", "NaN"),
    P("sliced_wasserstein patch larger than the images", lambda: metrics.sliced_wasserstein(x, y, patch=32), "patch", "at least"),
    P("psnr_from_mse negative mse", lambda: metrics.psnr_from_mse(-1.0, (0, 1)), "mse_value", ">= 0"),
    P("psnr_from_mse value_range reversed", lambda: metrics.psnr_from_mse(0.01, (1, 0)), "value_range", "low"),
    # figures
    P("image_grid empty batch", lambda: viz.image_grid(x[:0], (0, 1)), "empty"),
    P("show_images empty batch", lambda: viz.show_images(x[:0], (0, 1)), "empty"),
    P("show_images empty list", lambda: viz.show_images([], (0, 1)), "empty"),
    P("image_grid 0-255 with value_range (0, 1)", lambda: viz.image_grid(x * 255, (0, 1)), "value_range", "255"),
    P("image_grid nrow = 0", lambda: viz.image_grid(x, (0, 1), nrow=0), "nrow", ">= 1"),
    P("show_images numpy array", lambda: viz.show_images(x.numpy(), (0, 1)), "images", "[Tt]ensor"),
    P("image_grid NaN", lambda: viz.image_grid(with_nan(x), (0, 1)), "NaN"),
    P("show_images value_range reversed", lambda: viz.show_images(x, (1, 0)), "value_range", "low"),
    # GAN losses
    P("gan_loss empty logits", lambda: losses.gan_loss(torch.zeros(0), True), "logits", "empty"),
    P("gan_loss target_is_real a tensor", lambda: losses.gan_loss(torch.zeros(4), torch.ones(4)), "target_is_real", "True"),
    P("generator_loss empty list", lambda: losses.generator_loss([]), "empty"),
    P("discriminator_loss hinge, empty fake logits",
      lambda: losses.discriminator_loss(torch.zeros(4), torch.zeros(0), "hinge"), "fake_logits", "empty"),
    P("gan_loss unknown mode", lambda: losses.gan_loss(torch.zeros(4), True, "wgan"), "mode", "vanilla"),
    P("gan_loss numpy logits", lambda: losses.gan_loss(np.zeros(4), True), "logits", "[Tt]ensor"),
    # compositing
    P("composite fg in 0-255", lambda: composite(fg * 255, bg, alpha), r"\bfg\b", "255"),
    P("composite bg in 0-255", lambda: composite(fg, bg * 255, alpha), r"\bbg\b", "255"),
    P("composite alpha in 0-255", lambda: composite(fg, bg, alpha * 255), "alpha", "255"),
    P("composite uint8 fg", lambda: composite(as_uint8(fg), bg, alpha), r"\bfg\b", "float"),
    P("composite 3-channel alpha", lambda: composite(fg, bg, fg), "alpha", "one channel"),
    P("composite bg in [-1, 1]", lambda: composite(fg, bg * 2 - 1, alpha), r"\bbg\b", r"\[0, 1\]"),
    P("composite NaN in fg", lambda: composite(with_nan(fg), bg, alpha), r"\bfg\b", "NaN"),
    P("composite fg without channels (H, W)", lambda: composite(fg[0], bg, alpha), r"\bfg\b", "channels"),
    P("premultiply fg in 0-255", lambda: premultiply(fg * 255, alpha), r"\bfg\b", "255"),
    # VGG features
    P("VGGFeatures 0-255 input", lambda: vgg()(x * 255), r"\bx\b", "255"),
    P("VGGFeatures uint8 input", lambda: vgg()(as_uint8(x)), r"\bx\b", "float"),
    P("VGGFeatures (-1, 1) with 0-255 input", lambda: vgg("relu1_1", (-1.0, 1.0))(x * 255), r"\bx\b", "255"),
    P("VGGFeatures NaN input", lambda: vgg()(with_nan(x)), r"\bx\b", "NaN"),
    P("VGGFeatures relu5_1 on 8x8", lambda: vgg("relu5_1")(images(1, 3, 8)), "relu5_1", "at least 16x16"),
    P("VGGFeatures one-channel input", lambda: vgg()(x[:, :1]), r"\(N, 3, H, W\)"),
    P("VGGFeatures corrupt weight file", lambda: VGGFeatures(weights=corrupt_weights()), "not a valid", "corrupt_vgg"),
    P("VGGFeatures weights of another network", lambda: VGGFeatures(weights=mismatched_weights()), "other_net", "do not fit"),
    # masks
    P("validate_mask empty mask", lambda: validate_mask(torch.zeros(1, 0, 0)), "mask", "empty"),
    P("center_mask negative size", lambda: center_mask(-4, 2), "size must be"),
    P("center_mask float size", lambda: center_mask(8.5, 2), "size must be"),
    P("center_mask hole as large as the image", lambda: center_mask(8, 8), "hole", "8"),
    P("validate_mask numpy mask", lambda: validate_mask(np.zeros((1, 8, 8))), "mask", r"\(1, H, W\)"),
    # contextual attention
    P("contextual_attention rate = 0", lambda: contextual_attention(x, x, rate=0), "rate", ">= 1"),
    P("contextual_attention all-hole mask", lambda: contextual_attention(x, x, torch.ones(1, 1, 16, 16)), "hole", "nothing to copy"),
    P("contextual_attention even ksize", lambda: contextual_attention(x, x, ksize=2), "ksize", "odd"),
    P("contextual_attention uint8 features", lambda: contextual_attention(as_uint8(x), as_uint8(x)), "foreground", "float"),
    P("contextual_attention negative softmax_scale",
      lambda: contextual_attention(x, x, hole_mask(), softmax_scale=-10.0), "softmax_scale", "positive"),
    P("contextual_attention 3-D hole", lambda: contextual_attention(x, x, torch.zeros(1, 16, 16)), "hole", r"\(N, 1, H, W\)"),
    # classical inpainting
    P("poisson_blend NaN source", lambda: poisson_blend(with_nan(x), y, hole_mask()), "source", "NaN"),
    P("poisson_blend NaN target", lambda: poisson_blend(x, with_nan(y), hole_mask()), "target", "NaN"),
    P("poisson_blend source of another shape", lambda: poisson_blend(x[..., :8, :8], y, hole_mask()), "source", "shape"),
    P("mean_fill NaN image", lambda: mean_fill(with_nan(x), hole_mask()), "image", "NaN"),
    # networks
    P("UnetGenerator uint8 input", lambda: unet()(as_uint8(x)), "float", r"\[-1, 1\]"),
    P("UnetGenerator wrong channel count", lambda: unet()(x[:, :1]), "3 channels"),
    P("UnetGenerator size not divisible", lambda: unet()(images(1, 3, 12)), "divisible"),
    P("ResnetGenerator uint8 input", lambda: resnet()(as_uint8(x)), "float", r"\[-1, 1\]"),
    P("ResnetGenerator numpy input", lambda: resnet()(x.numpy()), r"\bx\b", "[Tt]ensor"),
    P("PConvUNet 2-channel image", lambda: pconv()(images(1, 2, 16), hole_mask()), "image", "3 channels"),
    P("PConvUNet uint8 image", lambda: pconv()(as_uint8(images(1, 3, 16)), hole_mask()), "image", "float"),
    P("PatchGAN 16x16 input", lambda: patchgan()(images(1, 3, 16)), "at least 24x24"),
    P("PatchGAN uint8 input", lambda: patchgan()(as_uint8(images(1, 3, 32))), r"\bx\b", "float"),
    # receptive field
    P("empirical_receptive_field wrong channel count",
      lambda: empirical_receptive_field(torch.nn.Conv2d(3, 4, 3), (2, 16, 16)), "input_size", "3"),
    P("empirical_receptive_field n_samples = 0",
      lambda: empirical_receptive_field(torch.nn.Conv2d(3, 4, 3), 16, n_samples=0), "n_samples", ">= 1"),
]


def classify(probe: Probe) -> tuple[str, str]:
    """``(verdict, what happened)``: verdict is "clear", "obscure" or "silent"."""
    try:
        probe.call()
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if type(exc) in (ValueError, TypeError) or isinstance(exc, FileNotFoundError):
            if all(re.search(n, message) for n in probe.needles):
                return "clear", f"{type(exc).__name__}: {message}"
        return "obscure", f"{type(exc).__name__}: {message}"
    except Exception as exc:  # noqa: BLE001 - classifying every failure is the point
        return "obscure", f"{type(exc).__name__}: {exc}"
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")
    return "silent", "no error"


def test_probe_has_enough_calls():
    assert len(PROBES) >= 60
    assert len({p.id for p in PROBES}) == len(PROBES)


@pytest.mark.parametrize("probe", PROBES, ids=[p.id for p in PROBES])
def test_probe_is_clear(probe: Probe):
    verdict, what = classify(probe)
    assert verdict == "clear", f"{probe.id}: {verdict} ({what[:300]})"


# --------------------------------------------------------------------------- regression tests (review items)
@pytest.mark.parametrize("fn", [metrics.psnr, metrics.ssim])
@pytest.mark.parametrize("convert", [lambda t: t * 255, as_uint8], ids=["float 0-255", "uint8"])
def test_metrics_reject_0_255_images_with_unit_range(fn, convert):
    with pytest.raises(ValueError, match=r"x has values up to 25\d.* but value_range=\(0, 1\); .*divide by 255 "
                                         r"or pass value_range=\(0, 255\)"):
        fn(convert(x), convert(y), (0, 1))


def test_metrics_accept_rounding_and_the_right_range():
    # 1e-3 of the range is tolerated (rounding, resampling); the right range gives the right answer.
    assert torch.isfinite(metrics.psnr((x + 5e-4).clamp_max(1.0005), y, (0, 1))).all()
    assert torch.allclose(metrics.psnr(x * 255, y * 255, (0, 255)), metrics.psnr(x, y, (0, 1)), atol=1e-4)
    assert torch.allclose(metrics.ssim(x * 255, y * 255, (0, 255)), metrics.ssim(x, y, (0, 1)), atol=1e-5)


@pytest.mark.parametrize("call", [
    lambda: metrics.psnr(with_nan(x), y, (0, 1)),
    lambda: poisson_blend(with_nan(x), y, hole_mask()),
], ids=["psnr", "poisson_blend"])
def test_nan_input_is_an_error(call):
    with pytest.raises(ValueError, match="NaN"):
        call()


def test_l1_of_uint8_images_does_not_wrap_around():
    a, b = torch.zeros(1, 1, 2, 2, dtype=torch.uint8), torch.full((1, 1, 2, 2), 10, dtype=torch.uint8)
    assert metrics.l1(a, b).item() == 10  # uint8 0 - 10 used to wrap to 246


def test_composite_rejects_an_8bit_foreground():
    with pytest.raises(ValueError, match=r"composite: fg must be in \[0, 1\] but has values up to .*divide by 255"):
        composite(fg * 255, bg, alpha)
    assert composite(fg, torch.tensor([0.2, 0.4, 0.6]).view(3, 1, 1), alpha).shape == fg.shape  # a solid colour


def test_vgg_rejects_0_255_but_tolerates_network_overshoot():
    with pytest.raises(ValueError, match="VGGFeatures: x must be in .* up to .*divide by 255"):
        vgg()(x * 255)
    with pytest.raises(TypeError, match=r"x.float\(\) / 255"):
        vgg()(as_uint8(x))
    # Unsquashed network outputs (PConv U-Net, AdaIN's decoder) overshoot [-1, 1] by a few units.
    assert vgg("relu1_1", (-1.0, 1.0))(x * 6 - 3)["relu1_1"].shape[-1] == 16


def test_vgg_minimum_size_is_stated():
    with pytest.raises(ValueError, match=r"'relu5_1' .* at least 16x16, got 8x8"):
        vgg("relu5_1")(images(1, 3, 8))
    assert vgg("relu5_1")(images(1, 3, 16))["relu5_1"].shape[-1] == 1


def test_vgg_corrupt_weights_never_suggest_weights_only_false():
    with pytest.raises(ValueError) as info:
        VGGFeatures(weights=corrupt_weights())
    message = str(info.value)
    assert "is not a valid VGG state dict" in message and corrupt_weights() in message and "--download" in message
    assert "weights_only" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__  # torch's advice is not chained in


def test_empty_mask_is_an_error():
    with pytest.raises(ValueError, match="mask is empty"):
        validate_mask(torch.zeros(1, 0, 0))


def test_contextual_attention_all_hole_and_rate_zero():
    with pytest.raises(ValueError, match="nothing to copy from"):
        contextual_attention(x, x, torch.ones(1, 1, 16, 16))
    with pytest.raises(ValueError, match="rate must be an int >= 1, got 0"):
        contextual_attention(x, x, rate=0)
    # Inside a network the module keeps the release's behaviour (zeros), without a sync per step.
    out, _ = ContextualAttention()(x, torch.ones(1, 1, 16, 16))
    assert torch.all(out == 0)


@pytest.mark.parametrize("logits", [torch.zeros(0), [torch.zeros(4), torch.zeros(0, 1)]], ids=["tensor", "list"])
def test_gan_loss_rejects_empty_logits(logits):
    with pytest.raises(ValueError, match="empty"):
        losses.gan_loss(logits, True)


@pytest.mark.parametrize("fn", [viz.image_grid, viz.show_images])
def test_figures_reject_an_empty_batch(fn):
    with pytest.raises(ValueError, match="empty"):
        fn(torch.zeros(0, 3, 8, 8), (0, 1))


@pytest.mark.parametrize("net", [unet, resnet], ids=["UnetGenerator", "ResnetGenerator"])
def test_generators_reject_uint8(net):
    with pytest.raises(TypeError, match=r"floating-point .* \[-1, 1\], got dtype torch.uint8; .*x.float\(\)"):
        net()(as_uint8(x))


def test_pconv_unet_names_the_channel_count():
    with pytest.raises(ValueError, match=r"PConvUNet: image must have 3 channels .* got 2"):
        pconv()(images(1, 2, 16), hole_mask())


def test_patchgan_states_its_minimum_size():
    with pytest.raises(ValueError, match="at least 24x24.*got 16x16"):
        patchgan()(images(1, 3, 16))
    assert patchgan()(images(1, 3, 24)).shape[-2:] == (1, 1)


def test_receptive_field_wrong_channels():
    with pytest.raises(ValueError, match=r"input_size \(2, 16, 16\) has 2 channels .* takes 3"):
        empirical_receptive_field(torch.nn.Conv2d(3, 4, 3), (2, 16, 16))


@pytest.mark.parametrize(("size", "hole", "message"), [
    (-4, 2, "size must be an int >= 2, got -4"),
    (8, -1, "hole must be an int >= 1, got -1"),
    (8, 8, "hole must be smaller than size = 8"),
])
def test_center_mask_checks_each_argument(size, hole, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        center_mask(size, hole)


# --------------------------------------------------------------------------- script: counts for a checkout
def main() -> int:
    import course_lib

    print(f"course_lib from {Path(course_lib.__file__).parent}")
    verdicts = {}
    for probe in PROBES:
        verdicts[probe.id], what = classify(probe)
        print(f"{verdicts[probe.id]:8s} {probe.id}: {what[:160]!r}")
    counts = Counter(verdicts.values())
    print(f"\n{len(PROBES)} probes: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in ("clear", "obscure", "silent")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
