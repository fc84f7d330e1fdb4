import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity

from course_lib import losses, metrics, viz
from course_lib.train.loop import History


def test_viz_refuses_images_outside_the_named_range():
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    with pytest.raises(ValueError, match=r"look like \[-1, 1\] images: pass value_range=\(-1, 1\)"):
        viz.show_images(x, value_range=(0, 1))
    with pytest.raises(ValueError, match="look like 0-255 images"):
        viz.image_grid(torch.full((1, 3, 4, 4), 200.0), (0, 1))
    with pytest.raises(ValueError, match="value_range must be"):
        viz.check_range(x, (1, 0))
    with pytest.raises(ValueError, match="C = 1 or 3"):
        viz.show_images(torch.rand(2, 4, 8, 8), (0, 1))


def test_viz_figures_and_grids():
    x = torch.rand(3, 3, 8, 8)
    assert viz.image_grid(x, (0, 1), nrow=3).shape == (3, 12, 32)  # 2 px padding around every tile
    fig = viz.show_images(x, (0, 1), titles=["a", "b", "c"])
    assert len(fig.axes) == 3
    fig = viz.show_rows({"in": x, "out": x[:2] * 2 - 1}, (-1, 1))
    assert len(fig.axes) == 6
    arr = viz.to_numpy_image(torch.zeros(1, 4, 5), (-1, 1))
    assert arr.shape == (4, 5) and np.allclose(arr, 0.5)
    h = History(step=[1, 2], phase=["a", "a"], values={"G/loss": [1.0, 0.5]}, value_steps={"G/loss": [1, 2]})
    assert viz.plot_history(h).axes[0].get_lines()[0].get_ydata().tolist() == [1.0, 0.5]
    with pytest.raises(KeyError, match="not logged"):
        viz.plot_history(h, keys=["D/loss"])


def test_psnr_l1_and_masks():
    x = torch.zeros(2, 3, 8, 8)
    y = torch.full_like(x, 0.1)
    assert torch.allclose(metrics.psnr(x, y, (0, 1)), torch.tensor([20.0, 20.0]))
    assert torch.allclose(metrics.psnr(x, y, (-1, 1)), torch.tensor([10 * math.log10(4 / 0.01)] * 2))
    mask = torch.zeros(2, 1, 8, 8)
    mask[..., :2, :2] = 1
    y2 = y.clone()
    y2[..., :2, :2] = 0.5
    assert torch.allclose(metrics.l1(x, y2, mask), torch.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="selects no pixel"):
        metrics.l1(x, y, torch.zeros(2, 1, 8, 8))
    with pytest.raises(ValueError, match="same shape"):
        metrics.psnr(x, y[:1], (0, 1))


def test_ssim_matches_scikit_image():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 32, 32, generator=g)
    y = (x + 0.1 * torch.randn(1, 3, 32, 32, generator=g)).clamp(0, 1)
    ours = float(metrics.ssim(x, y, (0, 1)))
    ref = structural_similarity(x[0].numpy(), y[0].numpy(), channel_axis=0, data_range=1.0,
                                gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    assert ours == pytest.approx(ref, abs=1e-5)
    assert float(metrics.ssim(x, x, (0, 1))) == pytest.approx(1.0)
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 10:20, 10:20] = 1
    assert 0 < float(metrics.ssim(x, y, (0, 1), mask)) < 1


def test_sliced_wasserstein_is_zero_for_identical_sets_and_grows_with_shift():
    x = torch.rand(16, 3, 16, 16)
    assert metrics.sliced_wasserstein(x, x) == pytest.approx(0.0, abs=1e-12)
    assert metrics.sliced_wasserstein(x, x + 0.5) > metrics.sliced_wasserstein(x, x + 0.1) > 0


def test_gan_losses_match_their_definitions():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    bce = F.binary_cross_entropy_with_logits
    assert torch.allclose(losses.discriminator_loss(real, fake, "vanilla"),
                          bce(real, torch.ones(2)) + bce(fake, torch.zeros(2)))
    assert torch.allclose(losses.generator_loss(fake, "vanilla"), bce(fake, torch.ones(2)))
    assert torch.allclose(losses.discriminator_loss(real, fake, "lsgan"), ((real - 1) ** 2).mean() + (fake**2).mean())
    assert torch.allclose(losses.generator_loss(fake, "lsgan"), ((fake - 1) ** 2).mean())
    assert torch.allclose(losses.discriminator_loss(real, fake, "hinge"), torch.tensor((0 + 2) / 2 + (1.5 + 0) / 2))
    assert torch.allclose(losses.generator_loss(fake, "hinge"), -fake.mean())
    two_scales = losses.generator_loss([fake, 2 * fake], "lsgan")
    assert torch.allclose(two_scales, losses.generator_loss(fake, "lsgan") + losses.generator_loss(2 * fake, "lsgan"))
    with pytest.raises(ValueError, match="GAN mode must be one of"):
        losses.generator_loss(fake, "wgan")
