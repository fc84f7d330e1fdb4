"""Partial convolution (Liu et al. 2018): the formula on hand-made inputs, the mask update, the U-Net, the loss."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.inpainting.partial_conv import (
    PCONV_LOSS_WEIGHTS,
    PConvTask,
    PConvUNet,
    PartialConv2d,
    partial_conv2d,
    pconv_loss,
)
from course_lib.train import Phase


def formula(x: np.ndarray, m: np.ndarray, w: np.ndarray, b: np.ndarray, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 1-2 of the paper, window by window: x' = W^T(X*M) sum(1)/sum(M) + b if sum(M) > 0, else 0."""
    c_out, c_in, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    mp = np.pad(np.broadcast_to(m, x.shape), ((0, 0), (pad, pad), (pad, pad)))
    h, wd = x.shape[1] + 2 * pad - k + 1, x.shape[2] + 2 * pad - k + 1
    out, new = np.zeros((c_out, h, wd)), np.zeros((1, h, wd))
    for i in range(h):
        for j in range(wd):
            X, M = xp[:, i:i + k, j:j + k], mp[:, i:i + k, j:j + k]
            if M.sum() > 0:
                new[0, i, j] = 1
                for o in range(c_out):
                    out[o, i, j] = (w[o] * X * M).sum() * M.size / M.sum() + b[o]
    return out, new


def test_partial_conv_equals_the_formula_on_hand_made_inputs():
    x = np.arange(2 * 5 * 5, dtype=np.float64).reshape(2, 5, 5) / 10
    m = np.ones((1, 5, 5))
    m[0, 1:4, 1:4] = 0        # a 3x3 hole: the centre window sees no valid pixel
    m[0, 0, 4] = 0
    w = np.random.default_rng(0).normal(size=(3, 2, 3, 3))
    b = np.array([0.5, -1.0, 2.0])
    out, new = partial_conv2d(torch.tensor(x)[None], torch.tensor(m)[None], torch.tensor(w), torch.tensor(b), padding=1)
    ref_out, ref_new = formula(x, m, w, b, pad=1)
    assert torch.allclose(out[0], torch.tensor(ref_out), atol=1e-10)
    assert torch.equal(new[0], torch.tensor(ref_new))
    assert new[0, 0, 2, 2] == 0 and torch.all(out[0, :, 2, 2] == 0), "no valid input: output 0, bias included"
    # The padding counts as missing: a corner window holds 4 real pixels out of 9.
    valid = torch.ones(1, 1, 5, 5)
    ones = torch.ones(1, 1, 5, 5)
    o, _ = partial_conv2d(ones, valid, torch.ones(1, 1, 3, 3), None, padding=1)
    assert torch.allclose(o, torch.full_like(o, 9.0)), "renormalisation makes a constant image exact at borders too"


def test_multichannel_mask_and_module_match_the_function():
    torch.manual_seed(0)
    conv = PartialConv2d(3, 4, 3, padding=1)
    x = torch.randn(2, 3, 8, 8)
    m = (torch.rand(2, 1, 8, 8) > 0.5).float()
    a, ma = conv(x, m)
    b, mb = conv(x, m.expand(-1, 3, -1, -1))
    assert torch.allclose(a, b, atol=1e-6) and torch.equal(ma, mb)
    assert sum(p.numel() for p in conv.parameters()) == 3 * 4 * 9 + 4  # the same parameters as nn.Conv2d


def test_output_ignores_what_the_hole_contains():
    torch.manual_seed(0)
    conv = PartialConv2d(3, 5, 5, stride=2, padding=2)
    x = torch.randn(1, 3, 16, 16)
    m = torch.ones(1, 1, 16, 16)
    m[..., 4:12, 3:9] = 0
    garbage = x.clone()
    garbage[..., 4:12, 3:9] = 100.0
    assert torch.allclose(conv(x, m)[0], conv(garbage, m)[0])


def test_mask_update_shrinks_the_hole_by_the_kernel_radius_per_layer():
    valid = torch.ones(1, 1, 32, 32)
    valid[..., 8:24, 8:24] = 0  # a 16x16 hole
    w = torch.ones(1, 1, 3, 3)
    x = torch.ones(1, 1, 32, 32)
    sizes = []
    for _ in range(9):
        x, valid = partial_conv2d(x, valid, w, None, padding=1)
        sizes.append(int((valid == 0).any(-1).sum()))
    assert sizes == [14, 12, 10, 8, 6, 4, 2, 0, 0], "one pixel per side per 3x3 layer, then all valid"


def test_pconv_unet_parameter_count_follows_the_paper_table():
    # Liu et al. 2018, supplementary table (512x512): PConv1-8 with kernels 7,5,5,3,3,3,3,3 and
    # channels 64,128,256,512,512,512,512,512, stride 2; PConv9-16: 3x3 on [upsampled, skip]
    # with outputs 512,512,512,512,256,128,64,3. Biases only where no batch norm follows
    # (PConv1 and PConv16).
    enc = [(7, 3, 64), (5, 64, 128), (5, 128, 256), (3, 256, 512)] + [(3, 512, 512)] * 4
    dec = [(512 + 512, 512)] * 4 + [(512 + 256, 256), (256 + 128, 128), (128 + 64, 64), (64 + 3, 3)]
    weights = sum(k * k * ci * co for k, ci, co in enc) + sum(9 * ci * co for ci, co in dec)
    batch_norm = 2 * (sum(co for _, _, co in enc[1:]) + sum(co for _, co in dec[:-1]))
    expected = weights + batch_norm + 64 + 3
    net = PConvUNet()
    assert sum(p.numel() for p in net.parameters()) == expected == 32_859_796


def test_pconv_unet_shapes_hole_invariance_and_bad_input():
    torch.manual_seed(0)
    net = PConvUNet(layers=4, width=8).eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    hole = torch.zeros(2, 1, 32, 32)
    hole[:, :, 8:20, 10:26] = 1
    y = net(x * (1 - hole), hole)
    assert y.shape == (2, 3, 32, 32)
    assert torch.allclose(y, net(x * (1 - hole) + 5 * hole, hole), atol=1e-5), "the hole's content must not matter"
    with pytest.raises(ValueError, match="divisible by 2\\*\\*layers = 16"):
        net(torch.zeros(1, 3, 40, 40), torch.zeros(1, 1, 40, 40))
    with pytest.raises(ValueError, match="same height and width"):
        net(torch.zeros(1, 3, 32, 32), torch.zeros(1, 1, 16, 16))
    with pytest.raises(ValueError, match="must be binary"):
        net(torch.zeros(1, 3, 32, 32), torch.full((1, 1, 32, 32), 0.5))
    with pytest.raises(ValueError, match="layers must be"):
        PConvUNet(layers=9)
    # Documented: no hole -> the image is reconstructed from everything; an all-hole mask -> every
    # window is invalid, the encoder outputs zeros, and the output is finite (it carries no information).
    assert torch.isfinite(net(x, torch.ones(2, 1, 32, 32))).all()
    assert torch.isfinite(net(x, torch.zeros(2, 1, 32, 32))).all()


class FakeExtractor(torch.nn.Module):
    def forward(self, x):
        return {"pool1": F.avg_pool2d(x, 2), "pool2": F.avg_pool2d(x, 4)}


def test_loss_terms_follow_the_paper():
    assert PCONV_LOSS_WEIGHTS == {"valid": 1.0, "hole": 6.0, "perceptual": 0.05, "style": 120.0, "tv": 0.1}
    torch.manual_seed(0)
    gt = torch.rand(2, 3, 16, 16) * 2 - 1
    out = torch.rand(2, 3, 16, 16) * 2 - 1
    hole = torch.zeros(2, 1, 16, 16)
    hole[..., 4:10, 5:12] = 1
    t = pconv_loss(out, gt, hole, FakeExtractor())
    n = gt.numel()
    assert torch.isclose(t["hole"], ((out - gt).abs() * hole).sum() / n)
    assert torch.isclose(t["valid"], ((out - gt).abs() * (1 - hole)).sum() / n)
    comp = gt * (1 - hole) + out * hole
    feats = [(F.avg_pool2d(a, s), F.avg_pool2d(b, s), F.avg_pool2d(gt, s)) for s in (2, 4) for a, b in [(out, comp)]]
    perceptual = sum((fo - fg).abs().mean() + (fc - fg).abs().mean() for fo, fc, fg in feats)
    assert torch.isclose(t["perceptual"], perceptual)

    def gram(f):
        nb, c, h, w = f.shape
        f = f.reshape(nb, c, h * w)
        return f @ f.transpose(1, 2) / (c * h * w)

    style = sum((gram(fo) - gram(fg)).abs().mean() + (gram(fc) - gram(fg)).abs().mean() for fo, fc, fg in feats)
    assert torch.isclose(t["style"], style)
    total = sum(PCONV_LOSS_WEIGHTS[k] * t[k] for k in PCONV_LOSS_WEIGHTS)
    assert torch.isclose(t["loss"], total)
    # Perfect output: no L1 error, and the TV term is that of the ground truth around the hole only.
    perfect = pconv_loss(gt, gt, hole)
    assert perfect["hole"] == 0 and perfect["valid"] == 0 and perfect["perceptual"] == 0
    far = gt.clone()
    far[..., 0, 0] += 1  # far from the hole: not in the dilated region P
    assert torch.isclose(pconv_loss(far, gt, hole)["tv"], perfect["tv"])


def test_a_tiny_pconv_net_learns_to_fill_holes():
    torch.manual_seed(0)
    g = torch.linspace(-1, 1, 16)
    images = torch.stack([torch.stack([g[None, :].expand(16, 16) * s, g[:, None].expand(16, 16) * s, torch.zeros(16, 16) + s / 2])
                          for s in (-1.0, -0.5, 0.5, 1.0)])
    hole = torch.zeros(4, 1, 16, 16)
    hole[:, :, 5:11, 4:12] = 1
    batch = {"image": images, "mask": hole}
    task = PConvTask(PConvUNet(layers=3, width=8), lr=3e-3, use_vgg=False)
    opt = task.configure_optimizers()["G"]
    known = 1 - hole
    mean_fill = (images * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True)
    baseline = ((mean_fill - images).abs() * hole).sum() / (3 * hole.sum())
    for _ in range(150):
        task.forward_step(batch, Phase("train", 1))
        loss = task.update_loss("G", batch, {}, Phase("train", 1))["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    err = ((task.complete(batch) - images).abs() * hole).sum() / (3 * hole.sum())
    assert err < 0.5 * baseline, f"hole L1 {float(err):.3f} vs mean fill {float(baseline):.3f}"
