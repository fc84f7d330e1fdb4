"""Matting metrics equal hand-computed values and the reference evaluation code's conventions.

Sources of the definitions (cited in course_lib/matting/metrics.py):
* Rhemann et al., "A Perceptually Motivated Online Benchmark for Image Matting", CVPR 2009
  (alphamatting.com): SAD, MSE, gradient and connectivity errors.
* Deep Image Matting's released evaluation code (Ning Xu, 2018): compute_sad_loss.m (sum over
  trimap == 128, / 1000), compute_mse_loss.m (mean over trimap == 128), compute_gradient_loss.m
  (mat2gray, gaussgradient with sigma 1.4, squared difference of magnitudes over trimap == 128),
  compute_connectivity_error.m (thresholds 0:0.1:1, largest 4-connected component, theta 0.15).
  Gradient and connectivity are reported / 1000 as in GCA-Matting's utils/evaluate.py and
  MMEditing's GradientError / ConnectivityError.
"""

import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from course_lib.matting import metrics
from course_lib.matting.metrics import (
    connectivity_error,
    connectivity_levels,
    gaussian_derivative_kernel,
    gradient_error,
    matting_metrics,
    mse,
    sad,
)

U = 0.5  # unknown


def test_sad_and_mse_by_hand():
    gt = torch.tensor([[0.0, 0.5, 1.0], [0.2, 0.4, 0.6]])
    pred = torch.tensor([[0.1, 0.5, 0.7], [0.2, 0.9, 0.6]])
    trimap = torch.tensor([[0.0, U, U], [U, U, 1.0]])
    # Unknown pixels: (0,1) err 0, (0,2) err 0.3, (1,0) err 0, (1,1) err 0.5; (0,0) and (1,2) are known.
    assert sad(pred, gt, trimap) == pytest.approx((0.3 + 0.5) / 1000)
    assert mse(pred, gt, trimap) == pytest.approx((0.09 + 0.25) / 4)
    # Over the whole image (trimap=None) the known pixel (0,0) also counts.
    assert sad(pred, gt, None) == pytest.approx((0.1 + 0.3 + 0.5) / 1000)
    assert mse(pred, gt, None) == pytest.approx((0.01 + 0.09 + 0.25) / 6)


def test_batches_average_the_per_image_values_and_8bit_trimaps_work():
    gt = torch.zeros(2, 1, 4, 4)
    pred = gt.clone()
    pred[0, 0, 1, 1] = 1.0   # one error of 1 in image 0
    pred[1, 0, 2, 2] = 0.5   # one error of 0.5 in image 1
    trimap8 = torch.full((2, 1, 4, 4), 128, dtype=torch.uint8)
    assert sad(pred, gt, trimap8) == pytest.approx((1.0 + 0.5) / 2 / 1000)
    assert mse(pred, gt, trimap8) == pytest.approx((1.0 / 16 + 0.25 / 16) / 2)


def test_no_unknown_pixel_gives_zero_mse():
    a = torch.rand(1, 5, 5)
    assert mse(a, torch.zeros(1, 5, 5), torch.ones(1, 5, 5)) == 0.0


def test_gaussian_derivative_kernel_matches_gaussgradient_m():
    # gaussgradient.m: halfsize = ceil(sigma * sqrt(-2 log(sqrt(2 pi) sigma eps))), eps = 1e-2.
    h = gaussian_derivative_kernel(1.4)
    half = math.ceil(1.4 * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * 1.4 * 1e-2)))
    assert half == 4 and h.shape == (9, 9)
    # Built the way the MATLAB loop does it: hx(i, j) = gauss(u1) * dgauss(u2), then unit L2 norm.
    ref = np.zeros((9, 9))
    for i in range(9):
        for j in range(9):
            u1, u2 = i - 4, j - 4
            g = math.exp(-u1 ** 2 / (2 * 1.4 ** 2)) / (1.4 * math.sqrt(2 * math.pi))
            dg = -u2 * math.exp(-u2 ** 2 / (2 * 1.4 ** 2)) / (1.4 * math.sqrt(2 * math.pi)) / 1.4 ** 2
            ref[i, j] = g * dg
    ref /= np.sqrt((ref ** 2).sum())
    np.testing.assert_allclose(h, ref, rtol=1e-12)
    assert np.sum(h * h) == pytest.approx(1.0)


def test_gradient_error_by_an_independent_implementation():
    rng = np.random.default_rng(0)
    gt = ndimage.gaussian_filter(rng.uniform(0, 1, (20, 24)), 2)
    gt = (gt - gt.min()) / (gt.max() - gt.min())
    pred = np.clip(gt + rng.normal(0, 0.1, gt.shape), 0, 1)
    trimap = np.full(gt.shape, U)
    trimap[:4] = 0.0

    def magnitude(a):
        a = (a - a.min()) / (a.max() - a.min())  # mat2gray
        hx = gaussian_derivative_kernel(1.4)
        gx = ndimage.convolve(a, hx, mode="nearest")  # imfilter(..., 'replicate', 'conv')
        gy = ndimage.convolve(a, hx.T, mode="nearest")
        return np.sqrt(gx ** 2 + gy ** 2)

    expected = ((magnitude(pred) - magnitude(gt)) ** 2 * (trimap == U)).sum() / 1000
    assert gradient_error(pred, gt, trimap) == pytest.approx(expected, rel=1e-9)
    assert gradient_error(gt, gt, trimap) == 0.0
    # A blurred prediction loses gradient: the error grows with the blur.
    blur1 = np.clip(ndimage.gaussian_filter(gt, 1), 0, 1)
    blur3 = np.clip(ndimage.gaussian_filter(gt, 3), 0, 1)
    assert gradient_error(blur3, gt, trimap) > gradient_error(blur1, gt, trimap) > 0


def test_connectivity_error_counts_a_floating_island_by_hand():
    gt = np.zeros((6, 8))
    gt[1:5, 1:4] = 1.0                  # the object
    pred = gt.copy()
    pred[2:4, 6:8] = 1.0                # a 2x2 island that is not in the truth
    trimap = np.full(gt.shape, U)
    # Island pixels: at t = 0.1 they are not in the largest component of (pred & gt >= t), so
    # l = 0; d_pred = 1 >= 0.15 -> phi_pred = 0; d_gt = 0 -> phi_gt = 1: error 1 each.
    # Object pixels stay connected at every level: l = 1, d = 0, phi = 1 for both.
    lv = connectivity_levels(pred, gt)
    assert np.all(lv[1:5, 1:4] == 1.0) and np.all(lv[2:4, 6:8] == 0.0)
    assert connectivity_error(pred, gt, trimap) == pytest.approx(4 / 1000)
    assert connectivity_error(gt, gt, trimap) == 0.0
    # Outside the unknown region nothing counts.
    trimap[2:4, 5:8] = 0.0
    assert connectivity_error(pred, gt, trimap) == 0.0


def test_connectivity_levels_and_theta_by_hand():
    # Main object with alpha 1 and a pixel of alpha 0.55 in both mattes, attached to it at levels
    # up to 0.5 through a bridge of alpha 0.5 (the bridge breaks above 0.5).
    gt = np.zeros((3, 6))
    gt[:, :2] = 1.0
    gt[1, 2] = 0.5          # bridge
    gt[1, 3] = 0.9          # island beyond the bridge
    pred = gt.copy()
    pred[1, 3] = 0.6
    lv = connectivity_levels(pred, gt)
    # The island is in the main component for t <= 0.5 and leaves it at t = 0.6: l = 0.5.
    assert lv[1, 3] == pytest.approx(0.5) and lv[1, 2] == pytest.approx(0.5)
    # d_gt = 0.9 - 0.5 = 0.4 >= 0.15 -> phi_gt = 0.6; d_pred = 0.6 - 0.5 = 0.1 < 0.15 -> phi_pred = 1.
    trimap = np.zeros(gt.shape)
    trimap[1, 3] = U
    assert connectivity_error(pred, gt, trimap) == pytest.approx(abs(1.0 - 0.6) / 1000)
    assert metrics.CONNECTIVITY_STEP == 0.1 and metrics.CONNECTIVITY_THETA == 0.15 and metrics.GRADIENT_SIGMA == 1.4


def test_all_metrics_are_zero_for_a_perfect_matte_and_named():
    a = torch.rand(2, 1, 12, 12)
    t = torch.full_like(a, 0.5)
    assert matting_metrics(a, a, t) == {"SAD": 0.0, "MSE": 0.0, "Grad": 0.0, "Conn": 0.0}


@pytest.mark.parametrize(
    "pred, gt, trimap, error, message",
    [
        (torch.rand(1, 4, 4) * 255, torch.rand(1, 4, 4), torch.full((1, 4, 4), 0.5), ValueError, "8-bit matte in 0-255"),
        (torch.randint(0, 255, (1, 4, 4), dtype=torch.uint8), torch.rand(1, 4, 4), torch.full((1, 4, 4), 0.5), TypeError, "float\\(\\) / 255"),
        (torch.rand(1, 4, 4) - 2, torch.rand(1, 4, 4), torch.full((1, 4, 4), 0.5), ValueError, "must be in \\[0, 1\\]"),
        (torch.rand(1, 4, 4), torch.rand(1, 5, 4), torch.full((1, 4, 4), 0.5), ValueError, "size mismatch"),
        (torch.rand(1, 4, 4), torch.rand(1, 4, 4), torch.full((1, 4, 5), 0.5), ValueError, "size mismatch"),
        (torch.rand(1, 4, 4), torch.rand(1, 4, 4), torch.full((1, 4, 4), 0.3), ValueError, "only 0, 0.5, 1"),
        (torch.rand(1, 4, 4), torch.rand(1, 4, 4), torch.full((1, 4, 4), 100), ValueError, "0, 128, 255"),
        (torch.rand(3, 4, 4), torch.rand(3, 4, 4), None, ValueError, "must be \\(H, W\\)"),
    ],
)
def test_bad_input_is_named(pred, gt, trimap, error, message):
    for fn in (sad, mse, gradient_error, connectivity_error):
        with pytest.raises(error, match=message):
            fn(pred, gt, trimap)
