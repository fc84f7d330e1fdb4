"""Receptive fields: the formula, its agreement with back-propagation, and bad input."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from course_lib.receptive_field import (
    LayerSpec,
    empirical_receptive_field,
    explore,
    kernel_footprint,
    layers_from_module,
    network_from_specs,
    receptive_field,
    receptive_field_table,
)


def test_dilated_3x3_covers_5x5_and_7x7():
    # A 3x3 kernel with dilation d spans (3 - 1) * d + 1 pixels: 5x5 for d = 2, 7x7 for d = 3
    # (Yu & Koltun, "Multi-Scale Context Aggregation by Dilated Convolutions", ICLR 2016).
    assert receptive_field([LayerSpec(3, dilation=2)]).size == 5
    assert receptive_field([LayerSpec(3, dilation=3)]).size == 7
    assert kernel_footprint(3, 2).shape == (5, 5) and kernel_footprint(3, 2).sum() == 9


def test_doubling_dilations_grow_exponentially():
    sizes = [int(r.size) for r in receptive_field_table([LayerSpec(3, dilation=d) for d in (1, 2, 4, 8, 16)])]
    assert sizes == [1, 3, 7, 15, 31, 63]


def test_patchgan_is_70x70_with_30x30_outputs():
    # pix2pix's default discriminator (Isola et al. 2017; junyanz/pytorch-CycleGAN-and-pix2pix,
    # models/networks.py NLayerDiscriminator, n_layers=3): 4x4 convs, strides 2, 2, 2, 1, 1.
    specs = [LayerSpec(4, 2, 1, 1)] * 3 + [LayerSpec(4, 1, 1, 1)] * 2
    rf = receptive_field(specs)
    assert (rf.size, rf.jump) == (70, 8)
    net = network_from_specs(specs, in_channels=6)
    assert net(torch.zeros(1, 6, 256, 256)).shape[-2:] == (30, 30)
    assert empirical_receptive_field(net, 256).size == (70, 70)


@pytest.mark.parametrize("layer, size", [("relu4_1", 68), ("relu5_1", 156), ("relu5_4", 252)])
def test_vgg19_receptive_fields(layer, size):
    # VGG-19 (Simonyan & Zisserman, ICLR 2015, Table 1, configuration E): 3x3 convolutions with
    # padding 1 in five blocks of 2, 2, 4, 4, 4, each followed by 2x2 max pooling with stride 2.
    # By hand: in block b the jump is 2**(b-1), so each conv adds 2 * 2**(b-1) and the pool 2**(b-1):
    # relu5_1 = 1 + 5*1 + 5*2 + 9*4 + 9*8 + 2*16 = 156 and relu5_4 = 156 + 3 * 32 = 252.
    # Lecture 02 prints these numbers.
    from course_lib.style.vgg import build_features, layer_names

    names, features = layer_names("vgg19"), build_features("vgg19")
    assert receptive_field(layers_from_module(features[: names.index(layer) + 1])).size == size
    # the same geometry written as specs, independent of the module walk
    specs = []
    for n_convs in (2, 2, 4, 4, 4):
        specs += [LayerSpec(3, padding=1)] * n_convs + [LayerSpec(2, stride=2)]
    b, c = int(layer[4]), int(layer[6])
    upto = sum((2, 2, 4, 4, 4)[: b - 1]) + (b - 1) + c  # convs and pools before it, plus itself
    assert receptive_field(specs[:upto]).size == size


def test_layers_from_module_reads_convs_and_pools_and_skips_pointwise():
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(4, 4, 3, dilation=2, padding=2), nn.ReflectionPad2d(1))
    specs = layers_from_module(net)
    assert [(s.kernel_size, s.stride, s.dilation) for s in specs] == [(3, 1, 1), (2, 2, 1), (3, 1, 2)]
    assert receptive_field(specs).size == 1 + 2 + 1 + 2 * 2 * 2


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 2), st.integers(1, 3)), min_size=1, max_size=4))
def test_formula_matches_backpropagation(layers):
    specs = [LayerSpec(k, s, d) for k, s, d in layers]
    rf = receptive_field(specs)
    net = network_from_specs(specs, channels=2)
    size = int(rf.size + 4 * rf.jump + 4)
    measured = empirical_receptive_field(net, size, n_samples=2)
    assert measured.size == (rf.size, rf.size)
    assert not measured.touches_border


def test_transposed_conv_field_is_within_a_jump_of_the_formula():
    specs = [LayerSpec(3, 2, 1, 1), LayerSpec(3, 2, 1, 1), LayerSpec(4, 2, 1, 1, transposed=True), LayerSpec(3, 1, 1, 1)]
    rf = receptive_field(specs)
    net = network_from_specs(specs)
    for pos in [(16, 16), (17, 17)]:
        measured = empirical_receptive_field(net, 64, position=pos).size[0]
        assert abs(measured - rf.size) <= 4  # uneven overlap of the transposed conv: a few pixels


def test_batch_norm_mode_is_restored_and_used_in_eval():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 1, 3))
    net.train()
    assert empirical_receptive_field(net, 32).size == (5, 5)
    assert net.training and net[1].training


def test_instance_norm_mixes_every_position():
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.InstanceNorm2d(4), nn.Conv2d(4, 1, 3, padding=1))
    emp = empirical_receptive_field(net, 24)
    assert emp.size == (24, 24) and emp.touches_border


def test_heatmap_is_normalised_and_centred():
    emp = empirical_receptive_field(nn.Conv2d(1, 1, 5, padding=2), (1, 21, 21))
    assert emp.heatmap.max() == pytest.approx(1.0) and emp.position == (10, 10)
    assert emp.bbox == (8, 8, 12, 12)


def test_explore_reports_gridding_holes():
    ex = explore(3, 2, 3)
    assert ex.analytic.size == 13 and ex.empirical.size == (13, 13)
    top, left, bottom, right = ex.empirical.bbox
    inside = ex.empirical.heatmap[top:bottom + 1, left:right + 1]
    assert 0 < (inside > 0).mean() < 0.5  # every second pixel is never reached
    assert (explore(3, (1, 2, 5)).empirical.heatmap > 0).sum() == 17 * 17


@pytest.mark.parametrize(
    "kwargs, message",
    [({"kernel_size": 0}, "kernel_size must be an int >= 1"),
     ({"kernel_size": 3, "dilation": -1}, "dilation must be an int >= 1"),
     ({"kernel_size": 3, "stride": 0}, "stride must be an int >= 1"),
     ({"kernel_size": 3, "padding": -2}, "padding must be an int >= 0")],
)
def test_bad_layer_geometry(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LayerSpec(**kwargs)


def test_empirical_rf_rejects_non_modules_and_global_layers():
    with pytest.raises(TypeError, match="expects an nn.Module"):
        empirical_receptive_field(lambda x: x, 32)
    with pytest.raises(ValueError, match="whole input"):
        layers_from_module(nn.Sequential(nn.Conv2d(3, 3, 3), nn.AdaptiveAvgPool2d(1)))
    with pytest.raises(ValueError, match="outside the output map"):
        empirical_receptive_field(nn.Conv2d(3, 1, 3), 8, position=(10, 10))
    with pytest.raises(ValueError, match="more than max_input"):
        explore(7, 8, 6, 3)
    with pytest.raises(TypeError, match="each layer must be"):
        receptive_field([3])


def test_table_accepts_tuples_and_dicts():
    assert receptive_field([(3, 1, 2), {"kernel_size": 3, "dilation": 4}]).size == 1 + 4 + 8
    assert isinstance(kernel_footprint(5), np.ndarray)
