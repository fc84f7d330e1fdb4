"""PatchGAN fidelity to pix2pix/CycleGAN's reference implementation, and the norm helpers."""

import pytest
import torch
from torch import nn

from course_lib.nn import PatchGAN, init_weights, norm_layer
from course_lib.receptive_field import (
    empirical_receptive_field,
    layers_from_module,
    receptive_field,
)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_patchgan_matches_the_reference_counts():
    # junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py NLayerDiscriminator(ndf=64, n_layers=3):
    # pix2pix (input_nc + output_nc = 6, batch norm) has 2,768,705 parameters;
    # CycleGAN (3 channels, instance norm without affine) has 2,764,737.
    assert n_params(PatchGAN(6, norm="batch")) == 2_768_705
    assert n_params(PatchGAN(3, norm="instance")) == 2_764_737


def test_patchgan_is_70x70_with_30x30_scores():
    d = PatchGAN(6)
    assert d(torch.zeros(1, 6, 256, 256)).shape == (1, 1, 30, 30)
    assert receptive_field(layers_from_module(d)).size == 70
    assert empirical_receptive_field(d, 256).size == (70, 70)


@pytest.mark.parametrize("n_layers, field", [(0, 1), (1, 16), (2, 34), (3, 70), (4, 142)])
def test_patch_size_grows_with_depth(n_layers, field):
    assert receptive_field(layers_from_module(PatchGAN(6, ndf=8, n_layers=n_layers))).size == field


def test_patchgan_bad_input_names_the_fix():
    with pytest.raises(ValueError, match=r"torch.cat\(\[x, y\], 1\)"):
        PatchGAN(6)(torch.zeros(1, 3, 64, 64))
    with pytest.raises(ValueError, match="norm must be one of"):
        norm_layer("group", 8)


def test_init_weights_is_normal_0_02():
    net = init_weights(nn.Sequential(nn.Conv2d(64, 64, 3), nn.BatchNorm2d(64)))
    w = net[0].weight.detach()
    assert abs(float(w.mean())) < 2e-3 and 0.018 < float(w.std()) < 0.022 and float(net[0].bias.detach().abs().max()) == 0
    assert abs(float(net[1].weight.detach().mean()) - 1) < 0.01
