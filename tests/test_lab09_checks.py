"""Lab 09's graders pass the reference, fail the stub, and catch plausible wrong answers by name."""

import pytest
import torch
from torch import nn

from course_lib.checks import CheckFailure, lab09
from course_lib.inpainting.global_local import local_crop


def stub(*args, **kwargs):
    raise NotImplementedError("not written yet")


def test_reference_solutions_pass():
    lab09.check_dilated_block(lab09.reference_dilated_block)
    lab09.check_complete(lab09.reference_complete)
    lab09.check_local_crop(lab09.reference_local_crop)


def test_the_library_crop_is_the_reference():
    for case in lab09.CROP_CASES:
        images, mask, size = case.args
        assert torch.equal(local_crop(images, mask, size), lab09.reference_local_crop(images, mask, size))
    lab09.check_local_crop(local_crop)


@pytest.mark.parametrize("check", [lab09.check_dilated_block, lab09.check_complete, lab09.check_local_crop])
def test_untouched_exercises_fail_as_not_implemented(check):
    with pytest.raises(CheckFailure, match="not implemented yet"):
        check(stub)


def _block(dilations=(2, 4, 8, 16), padding=None, bn=True, order="conv-bn-relu", kernel=3):
    def build(c):
        layers = []
        for d in dilations:
            pad = d * (kernel - 1) // 2 if padding is None else padding
            conv = nn.Conv2d(c, c, kernel, padding=pad, dilation=d)
            parts = {"conv": conv, "bn": nn.BatchNorm2d(c), "relu": nn.ReLU()}
            layers += [parts[k] for k in order.split("-") if bn or k != "bn"]
        return nn.Sequential(*layers)
    return build


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_block(padding=1), "padding = d"),
        (_block(dilations=(1, 1, 1, 1)), "dilations 2, 4, 8, 16"),
        (_block(dilations=(1, 2, 4, 8)), "dilations 2, 4, 8, 16"),
        (_block(bn=False), "batch norm after"),
        (_block(order="conv-relu-bn"), "conv -> batch norm -> ReLU"),
        (lambda c: [nn.Conv2d(c, c, 3, padding=2, dilation=2)], "must return an nn.Module"),
        (lambda c: _block()(c).append(nn.Conv2d(c, c, 1)), "dilations"),
    ],
)
def test_dilated_block_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        lab09.check_dilated_block(wrong)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lab09._complete_no_range, "raw \\* 2 - 1 before"),
        (lab09._complete_inverted, "mask convention is inverted"),
        (lab09._complete_everywhere, "prediction everywhere"),
        (lab09._complete_wrong_direction, "wrong direction"),
        (lab09._complete_raw_everywhere, "multiply \\(raw \\* 2 - 1\\) by the mask"),
        (lambda r, i, m: lab09.reference_complete(r, i, m).detach(), "detached"),
    ],
)
def test_complete_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        lab09.check_complete(wrong)


def _unclamped(images, mask, size):
    return lab09._crop_with(images, mask, size, lambda f, last, e: (f + last + 1) // 2 - size // 2)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lab09._crop_corner, "centred"),
        (lab09._crop_floor_centre, "off by one"),
        (lab09._crop_clamp_to_extent, "H - size"),
        (lab09._crop_first_box, "per image"),
        (lab09._crop_swapped, "swapped"),
        (_unclamped, "not right yet"),
        (lambda images, mask, size: images[..., :size, :size], "not right yet"),
    ],
)
def test_local_crop_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        lab09.check_local_crop(wrong)


def _block(shared_relu=False, relu_before_norm=False):
    def build(channels):
        one = nn.ReLU()
        layers = []
        for d in (2, 4, 8, 16):
            relu = one if shared_relu else nn.ReLU()
            conv, norm = nn.Conv2d(channels, channels, 3, padding=d, dilation=d), nn.BatchNorm2d(channels)
            layers += [conv, relu, norm] if relu_before_norm else [conv, norm, relu]
        return nn.Sequential(*layers)
    return build


def test_a_dilated_block_reusing_one_relu_object_passes():
    lab09.check_dilated_block(_block(shared_relu=True))


def test_a_dilated_block_with_relu_before_batch_norm_fails():
    with pytest.raises(CheckFailure, match="conv -> batch norm -> ReLU"):
        lab09.check_dilated_block(_block(relu_before_norm=True))


# ----------------------------------------------------------------------------- exercise 4
def _train_completion(variant: str = "reference"):
    """The lab's solution to exercise 4 (with the reference block and output), or a wrong assembly."""
    def train_completion(images, masks, steps, batch_size, seed):
        torch.manual_seed(seed)
        net = lab09.SmallCompletionNet(lab09.reference_dilated_block)
        optimizer = torch.optim.Adam(net.parameters(), 2e-3)
        generator = torch.Generator().manual_seed(seed)
        for _ in range(steps):
            i = torch.randint(len(images), (batch_size,), generator=generator)
            image, mask = images[i], masks[i]
            shown = mask * 0 if variant == "mask_not_fed" else mask  # a zero fourth channel: where is the hole?
            raw = net(torch.cat([image * (1 - mask), shown], dim=1))
            # skipping complete(): the sigmoid's [0, 1] output is compared with [-1, 1] images
            completed = raw if variant == "no_complete" else lab09.reference_complete(raw, image, mask)
            loss = ((mask * (completed - image)) ** 2).sum() / (3 * mask.sum())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return net
    return train_completion


def test_train_completion_reference_passes():
    net = lab09.check_train_completion(_train_completion(), seed=0)
    assert isinstance(net, lab09.SmallCompletionNet)


def test_train_completion_untouched_fails():
    with pytest.raises(CheckFailure, match="not implemented yet"):
        lab09.check_train_completion(stub)


# measured (seed 0, lab09.L1_MARGIN): need < 0.0805; mask not fed 0.0916, complete() skipped 0.3935
@pytest.mark.parametrize("variant", ["mask_not_fed", "no_complete"])
def test_train_completion_wrong_assemblies_fail(variant):
    with pytest.raises(CheckFailure, match="should be below"):
        lab09.check_train_completion(_train_completion(variant))


def test_train_completion_must_return_a_network():
    with pytest.raises(CheckFailure, match="should return the trained network"):
        lab09.check_train_completion(lambda images, masks, steps, batch_size, seed: None)


def test_small_completion_net_names_its_input():
    net = lab09.SmallCompletionNet(lab09.reference_dilated_block)
    assert net(torch.zeros(2, 4, 32, 32)).shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="fourth channel"):
        net(torch.zeros(2, 3, 32, 32))


def test_smooth_images_are_in_range_and_differ_by_seed():
    a, b = lab09.smooth_images(8, 0), lab09.smooth_images(8, 1)
    assert a.shape == (8, 3, 32, 32) and a.min() >= -1 and a.max() <= 1
    assert torch.equal(a, lab09.smooth_images(8, 0)) and not torch.equal(a, b)
