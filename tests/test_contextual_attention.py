"""Contextual attention: exact copies, no weight on the hole, the propagation step, the flow colours."""

import pytest
import torch
import torch.nn.functional as F

from course_lib.inpainting.contextual_attention import (
    ContextualAttention,
    _fuse,
    color_wheel,
    contextual_attention,
    extract_patches,
    flow_to_color,
)


def periodic_image(period: int = 6, repeats: int = 6, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, 3, period, period, generator=g).repeat(1, 1, repeats, repeats)


@pytest.mark.parametrize("rate", [1, 2])
@pytest.mark.parametrize("fuse", [False, True])
def test_hole_is_reconstructed_exactly_from_an_exact_copy_in_the_background(rate, fuse):
    # The background (the image with the hole blanked out) contains exact copies of every missing
    # patch (the image is periodic); with a sharp softmax the pasted result equals the truth.
    image = periodic_image()
    hole = torch.zeros(1, 1, 36, 36)
    hole[..., 14:22, 12:24] = 1
    result = contextual_attention(image, image * (1 - hole), hole, rate=rate, fuse=fuse, softmax_scale=1000.0)
    assert float(((result.output - image) * hole).abs().max()) < 1e-4


def test_a_unique_copy_is_found_and_the_offset_points_at_it():
    g = torch.Generator().manual_seed(1)
    image = torch.randn(1, 3, 32, 32, generator=g)
    image[..., 18:28, 16:26] = image[..., 2:12, 4:14]  # the hole's content also sits 16 rows up, 12 columns left
    hole = torch.zeros(1, 1, 32, 32)
    hole[..., 20:26, 18:24] = 1
    result = contextual_attention(image, image * (1 - hole), hole, rate=1, softmax_scale=1000.0)
    assert result.offsets[0, :, 22, 20].tolist() == [-16, -12]
    assert float(((result.output - image) * hole).abs().max()) < 1e-4


def test_patches_touching_the_hole_get_no_weight():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 16, 16)
    hole = torch.zeros(2, 1, 16, 16)
    hole[0, :, 4:8, 4:8] = 1
    hole[1, :, 10:14, 2:12] = 1
    result = contextual_attention(x, x, hole, rate=2)
    patches = extract_patches(hole[:, :, ::2, ::2], 3).flatten(2).amax(2)  # (N, L): touches the hole
    weights = result.attention.flatten(2).amax(2)
    assert torch.all(weights[patches > 0] == 0) and torch.all(weights[patches == 0] > 0)
    total = result.attention.sum(1)
    assert torch.all(total <= 1 + 1e-6) and result.attention.shape == (2, 64, 8, 8)


def test_propagation_sums_scores_along_both_diagonals():
    torch.manual_seed(0)
    h, w = 3, 4
    scores = torch.randn(h * w, h * w)
    fused = _fuse(scores, (h, w), 3)

    # First pass: neighbours in row-major order (p + d, q + d), wrapping across rows as the release does.
    n = h * w
    first = torch.zeros_like(scores)
    for i in range(n):
        for j in range(n):
            first[i, j] = sum(scores[i + d, j + d] for d in (-1, 0, 1) if 0 <= i + d < n and 0 <= j + d < n)
    # Second pass: the same in column-major order (neighbours along columns).
    to_row_major = lambda k: (k % h) * w + k // h  # column-major index -> row-major index
    expected = torch.zeros_like(scores)
    for p in range(n):
        for q in range(n):
            pc, qc = (p % w) * h + p // w, (q % w) * h + q // w  # their column-major indices
            expected[p, q] = sum(first[to_row_major(pc + d), to_row_major(qc + d)] for d in (-1, 0, 1)
                                 if 0 <= pc + d < n and 0 <= qc + d < n)
    assert torch.allclose(fused, expected, atol=1e-5)


def test_module_and_bad_input():
    layer = ContextualAttention(rate=2)
    x = torch.randn(1, 8, 12, 12)
    out, offsets = layer(x, torch.zeros(1, 1, 12, 12))
    assert out.shape == x.shape and offsets.shape == (1, 2, 6, 6) and layer.last is not None
    assert sum(p.numel() for p in layer.parameters()) == 0
    with pytest.raises(ValueError, match="divisible by rate"):
        contextual_attention(torch.zeros(1, 2, 9, 9), torch.zeros(1, 2, 9, 9))
    with pytest.raises(ValueError, match="same shape"):
        contextual_attention(torch.zeros(1, 2, 8, 8), torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="hole must be"):
        contextual_attention(torch.zeros(1, 2, 8, 8), torch.zeros(1, 2, 8, 8), torch.zeros(1, 1, 4, 4))
    # Documented: a hole covering everything leaves no background patch. The function says so;
    # the module inside a network keeps the release's zero attention and output (no sync per step).
    with pytest.raises(ValueError, match="nothing to copy from"):
        contextual_attention(x, x, torch.ones(1, 1, 12, 12))
    out, _ = layer(x, torch.ones(1, 1, 12, 12))
    assert torch.all(layer.last.attention == 0) and torch.all(out == 0)


def test_flow_colours():
    offsets = torch.zeros(1, 2, 4, 4)
    offsets[0, 1, 0, 0] = 3     # right: red
    offsets[0, 0, 1, 1] = -3    # up
    rgb = flow_to_color(offsets)
    assert rgb.shape == (1, 3, 4, 4) and rgb.min() >= 0 and rgb.max() <= 1
    assert torch.allclose(rgb[0, :, 3, 3], torch.ones(3)), "no displacement is white"
    assert torch.allclose(rgb[0, :, 0, 0], torch.tensor([1.0, 0.0, 0.0]), atol=1e-6)
    wheel = color_wheel(33)
    assert wheel.shape == (3, 33, 33) and torch.allclose(wheel[:, 16, 16], torch.ones(3))
    with pytest.raises(ValueError, match="offsets must be"):
        flow_to_color(torch.zeros(1, 3, 4, 4))


def test_attention_is_differentiable():
    x = torch.randn(1, 4, 16, 16, requires_grad=True)
    hole = torch.zeros(1, 1, 16, 16)
    hole[..., 4:9, 4:9] = 1
    out = contextual_attention(x, x, hole, rate=2).output
    F.mse_loss(out, torch.zeros_like(out)).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
