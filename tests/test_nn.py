import pytest
import torch

from course_lib.nn import ContextNet, dilated_conv, dilated_stack, same_padding
from course_lib.receptive_field import (
    empirical_receptive_field,
    layers_from_module,
    receptive_field,
)


def test_dilated_stack_keeps_size_and_has_the_expected_field():
    net = dilated_stack(4, (1, 2, 4, 8))
    x = torch.randn(2, 4, 37, 29)
    assert net(x).shape == x.shape
    assert receptive_field(layers_from_module(net)).size == 31
    assert sum(p.numel() for p in net.parameters()) == 4 * (4 * 4 * 9 + 4)


def test_same_padding_and_bad_arguments():
    assert same_padding(3, 4) == 4 and same_padding(5, 2) == 4
    with pytest.raises(ValueError, match="odd kernel_size"):
        same_padding(4)
    with pytest.raises(ValueError, match="dilation must be >= 1"):
        dilated_conv(3, 3, 3, dilation=0)
    with pytest.raises(ValueError, match="at least one layer"):
        dilated_stack(3, [])


def test_context_net_copies_known_pixels_and_only_fills_the_hole():
    net = ContextNet(8, (1, 2))
    image = torch.rand(2, 3, 24, 24) * 2 - 1
    mask = torch.zeros(2, 1, 24, 24)
    mask[..., 8:16, 8:16] = 1
    out = net(image, mask)
    assert torch.equal(out * (1 - mask), image * (1 - mask))
    # The hole's content must not leak into the prediction.
    changed = image.clone()
    changed[..., 8:16, 8:16] = 0.5
    assert torch.allclose(net(changed, mask), out)
    assert empirical_receptive_field(ContextNet(4, (1, 2, 4)).body, (4, 64, 64)).size == (15, 15)
