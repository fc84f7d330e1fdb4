"""DeepFill v1 and v2: gated convolution, the release's widths and parameter counts, SN-PatchGAN, sketches."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.inpainting.deepfill_v1 import (
    PAPER_GAMMA,
    RELEASE_GAMMA,
    DeepFillV1Generator,
    DeepFillV1Task,
    distance_to_known,
    spatial_discount,
)
from course_lib.inpainting.deepfill_v2 import (
    DeepFillV2Generator,
    DeepFillV2Task,
    GatedConv2d,
    GatedConvTranspose2d,
    GatedUpConv2d,
    SNPatchGAN,
    WithSketch,
    edge_sketch,
    largest_singular_value,
    sn_patchgan_d_loss,
)
from course_lib.train import Phase

count = lambda m: sum(p.numel() for p in m.parameters())


def conv_params(layers):
    """Parameters of TF conv layers given as (kernel, in channels, out channels): weights + biases."""
    return sum(k * k * ci * co + co for k, ci, co in layers)


def test_gated_conv_shapes_and_gating_range():
    torch.manual_seed(0)
    layer = GatedConv2d(5, 8, 3, stride=2, dilation=1)
    x = torch.randn(2, 5, 17, 16)
    y = layer(x)
    assert y.shape == (2, 8, 9, 8) and count(layer) == 3 * 3 * 5 * 16 + 16  # one conv to 2 * 8 channels
    raw = layer.conv(x)
    features, gates = raw[:, :8], raw[:, 8:]
    assert torch.allclose(y, F.elu(features) * torch.sigmoid(gates), atol=1e-6), "features first, then gates"
    g = layer.gates(x)
    assert g.min() > 0 and g.max() < 1
    assert torch.all(y.abs() <= F.elu(features).abs() + 1e-6), "a gate only lets a fraction through"
    assert GatedConv2d(4, 6, 3, dilation=4)(torch.randn(1, 4, 20, 20)).shape == (1, 6, 20, 20)
    assert GatedUpConv2d(4, 6)(torch.randn(1, 4, 5, 7)).shape == (1, 6, 10, 14)
    t = GatedConvTranspose2d(4, 6)
    assert t(torch.randn(1, 4, 5, 7)).shape == (1, 6, 10, 14) and count(t) == 4 * 12 * 16 + 12
    with pytest.raises(ValueError, match="kernel_size = 2 \\* stride"):
        GatedConvTranspose2d(4, 6, kernel_size=3)


# generative_inpainting v2.0.0, inpaint_model.py build_inpaint_net with cnum = 48: every gen_conv
# convolves to its "cnum" argument (then splits it into features and gates, so the next layer sees
# half as many channels). (kernel, inputs, conv outputs):
C = 48
COARSE_V2 = ([(5, None, C), (3, C // 2, 2 * C), (3, C, 2 * C), (3, C, 4 * C)] + [(3, 2 * C, 4 * C)] * 8
             + [(3, 2 * C, 2 * C), (3, C, 2 * C), (3, C, C), (3, C // 2, C // 2), (3, C // 4, 3)])
REFINE_V2 = ([(5, 3, C), (3, C // 2, C), (3, C // 2, 2 * C), (3, C, 2 * C), (3, C, 4 * C)] + [(3, 2 * C, 4 * C)] * 5
             + [(5, 3, C), (3, C // 2, C), (3, C // 2, 2 * C), (3, C, 4 * C), (3, 2 * C, 4 * C), (3, 2 * C, 4 * C)]
             + [(3, 2 * C, 4 * C)] * 2
             + [(3, 4 * C, 4 * C), (3, 2 * C, 4 * C), (3, 2 * C, 2 * C), (3, C, 2 * C), (3, C, C), (3, C // 2, C // 2),
                (3, C // 4, 3)])


@pytest.mark.parametrize("guided, in_channels", [(False, 5), (True, 6)])
def test_deepfill_v2_generator_has_the_release_widths(guided, in_channels):
    # Input: incomplete image (3) [+ sketch (1), guided: True] + ones (1) + mask (1).
    coarse = [(k, in_channels if ci is None else ci, co) for k, ci, co in COARSE_V2]
    expected = conv_params(coarse) + conv_params(REFINE_V2)
    net = DeepFillV2Generator(cnum=48, guided=guided)
    assert count(net) == expected
    assert count(net) == (4_052_478 if not guided else 4_053_678)
    widths = [m.out_channels for m in net.coarse.modules() if isinstance(m, GatedConv2d)][:4]
    assert widths == [24, 48, 48, 96], "the release's layers output cnum / 2 = 24 features first (not 48)"


def test_sn_patchgan_layout_and_spectral_norm():
    # inpaint_model.py build_sn_patch_gan_discriminator: six dis_conv (5x5, stride 2, 'SAME') with
    # 64, 128, 256, 256, 256, 256 channels; input = image + mask (+ sketch when guided).
    torch.manual_seed(0)
    d = SNPatchGAN(in_channels=5, cnum=64)
    assert count(d) == conv_params([(5, 5, 64), (5, 64, 128), (5, 128, 256), (5, 256, 256), (5, 256, 256), (5, 256, 256)])
    assert d(torch.randn(2, 5, 256, 256)).shape == (2, 256 * 4 * 4)
    assert len(d.convs()) == 6 and all(c.kernel_size == (5, 5) and c.stride == (2, 2) for c in d.convs())
    small = SNPatchGAN(in_channels=4, cnum=8)
    with torch.no_grad():
        for c in small.convs():  # inflate the raw weights: the normalised ones must not care
            c.parametrizations.weight.original.mul_(5.0)
    raw = [float(torch.linalg.matrix_norm(c.parametrizations.weight.original.detach().flatten(1), ord=2))
           for c in small.convs()]
    assert min(raw) > 2.5, "the raw weights' largest singular values are far from 1"
    opt = torch.optim.Adam(small.parameters(), lr=1e-3)
    for _ in range(20):  # training moves the weights; every forward pass refines the power iteration
        loss = -small(torch.randn(4, 4, 64, 64)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    # One power iteration per forward pass: the estimate lags a little behind the changing weights
    # (here by < 15%), and converges when the weights stop moving.
    sigmas = [largest_singular_value(c) for c in small.convs()]
    assert all(abs(s - 1) < 0.15 for s in sigmas), sigmas
    with torch.no_grad():
        for _ in range(40):
            small(torch.randn(1, 4, 64, 64))
    sigmas = [largest_singular_value(c) for c in small.convs()]
    assert all(abs(s - 1) < 0.03 for s in sigmas), sigmas
    with pytest.raises(ValueError, match="image, mask"):
        small(torch.randn(1, 3, 64, 64))


def test_deepfill_v2_forward_shapes_ranges_and_hole_invariance():
    torch.manual_seed(0)
    g = DeepFillV2Generator(cnum=8).eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    hole = torch.zeros(2, 1, 32, 32)
    hole[:, :, 8:20, 6:22] = 1
    sketch = torch.zeros(2, 1, 32, 32)
    s1, s2, offsets = g(x, hole, sketch)
    assert s1.shape == s2.shape == (2, 3, 32, 32) and offsets.shape == (2, 2, 4, 4)
    assert s1.abs().max() <= 1 and s2.abs().max() <= 1
    _, s2b, _ = g(x + 3 * hole, hole, sketch)
    assert torch.allclose(s2, s2b, atol=1e-6), "the hole's content is zeroed before the network sees it"
    sketch_outside = torch.ones(2, 1, 32, 32) * (1 - hole)
    assert torch.allclose(s2, g(x, hole, sketch_outside)[1], atol=1e-6), "only the sketch inside the hole counts"
    with pytest.raises(ValueError, match="guided"):
        g(x, hole)
    with pytest.raises(ValueError, match="divisible by 8"):
        g(torch.zeros(1, 3, 36, 36), torch.zeros(1, 1, 36, 36), torch.zeros(1, 1, 36, 36))
    with pytest.raises(ValueError, match="same height and width"):
        g(x, hole[..., :16, :16], sketch)
    with pytest.raises(ValueError, match="must be binary"):
        g(x, hole * 0.5, sketch)
    with pytest.raises(ValueError, match="divisible by 4"):
        DeepFillV2Generator(cnum=10)


def test_no_hole_and_all_hole_are_documented_behaviour():
    torch.manual_seed(0)
    task = DeepFillV2Task(DeepFillV2Generator(cnum=8), SNPatchGAN(5, 8))
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    sketch = torch.zeros(1, 1, 32, 32)
    none = {"image": x, "mask": torch.zeros(1, 1, 32, 32), "sketch": sketch}
    assert torch.equal(task.complete(none), x), "no hole: the completed image is the input"
    full = {"image": x, "mask": torch.ones(1, 1, 32, 32), "sketch": sketch}
    out = task.complete(full)  # nothing known: the network invents everything (finite, in range)
    assert torch.isfinite(out).all() and out.abs().max() <= 1


def test_deepfill_v1_generator_matches_the_release():
    # generative_inpainting v1.0.0, inpaint_model.py with cnum = 32, plain ELU convolutions; both
    # stages take image + ones + mask (5 channels).
    c = 32
    coarse = ([(5, 5, c), (3, c, 2 * c), (3, 2 * c, 2 * c), (3, 2 * c, 4 * c)] + [(3, 4 * c, 4 * c)] * 8
              + [(3, 4 * c, 2 * c), (3, 2 * c, 2 * c), (3, 2 * c, c), (3, c, c // 2), (3, c // 2, 3)])
    hallu = [(5, 5, c), (3, c, c), (3, c, 2 * c), (3, 2 * c, 2 * c), (3, 2 * c, 4 * c)] + [(3, 4 * c, 4 * c)] * 5
    attention = [(5, 5, c), (3, c, c), (3, c, 2 * c), (3, 2 * c, 4 * c), (3, 4 * c, 4 * c), (3, 4 * c, 4 * c)] \
        + [(3, 4 * c, 4 * c)] * 2
    decoder = [(3, 8 * c, 4 * c), (3, 4 * c, 4 * c), (3, 4 * c, 2 * c), (3, 2 * c, 2 * c), (3, 2 * c, c),
               (3, c, c // 2), (3, c // 2, 3)]
    net = DeepFillV1Generator(cnum=32)
    assert count(net) == conv_params(coarse + hallu + attention + decoder) == 3_601_542
    small = DeepFillV1Generator(cnum=8).eval()
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    hole = torch.zeros(1, 1, 32, 32)
    hole[..., 10:20, 10:20] = 1
    s1, s2, offsets = small(x, hole)
    assert s1.shape == s2.shape == (1, 3, 32, 32) and s2.abs().max() <= 1 and offsets.shape == (1, 2, 4, 4)


def test_spatial_discount_is_gamma_to_the_distance():
    hole = torch.zeros(1, 1, 9, 9)
    hole[..., 2:7, 2:7] = 1
    d = distance_to_known(hole)[0, 0]
    assert d[2, 2] == 1 and d[4, 4] == 3 and d[3, 4] == 2 and d[0, 0] == 0
    w = spatial_discount(hole, gamma=0.5)[0, 0]
    assert w[4, 4] == 0.125 and w[2, 4] == 0.5 and w[0, 0] == 0


def test_v1_task_uses_the_releases_gamma():
    # Yu et al. 2018, Sec. 3.1: gamma = 0.99; the release's inpaint.yml: SPATIAL_DISCOUNTING_GAMMA 0.9.
    assert (PAPER_GAMMA, RELEASE_GAMMA) == (0.99, 0.9)
    task = DeepFillV1Task(DeepFillV1Generator(cnum=4))
    assert task.gamma == RELEASE_GAMMA
    hole = torch.zeros(1, 1, 9, 9)
    hole[..., 2:7, 2:7] = 1
    assert float(spatial_discount(hole)[0, 0, 4, 4]) == pytest.approx(0.99**3)  # the paper's formula
    assert float(spatial_discount(hole, task.gamma)[0, 0, 4, 4]) == pytest.approx(0.9**3)


def test_edge_sketch_marks_edges():
    image = -torch.ones(3, 32, 32)
    image[:, :, 16:] = 1  # a vertical step edge
    s = edge_sketch(image)
    assert s.shape == (1, 32, 32) and set(torch.unique(s).tolist()) <= {0.0, 1.0}
    assert s[0, 8:24, 14:18].sum() >= 16 and s[0, :, :10].sum() == 0
    assert edge_sketch(image[None].repeat(2, 1, 1, 1)).shape == (2, 1, 32, 32)


def test_training_steps_run_and_reduce_the_l1_loss():
    from course_lib.inpainting import MaskedImages
    from course_lib.inpainting.freeform import free_form_mask
    from course_lib.inpainting.patches import PhotoPatches

    data = WithSketch(MaskedImages(PhotoPatches(size=32, length=8), lambda r: free_form_mask(32, r, with_box=False)))
    batch = torch.utils.data.default_collate([data[i] for i in range(4)])
    assert batch["sketch"].shape == (4, 1, 32, 32)
    torch.manual_seed(0)
    task = DeepFillV2Task(DeepFillV2Generator(cnum=8), SNPatchGAN(5, 8), lr=2e-3)
    opts = task.configure_optimizers()
    phase = Phase("adversarial", 1)
    first = None
    for _ in range(25):
        out = task.forward_step(batch, phase)
        for name in ("D", "G"):
            losses = task.update_loss(name, batch, out, phase)
            opts[name].zero_grad()
            losses["loss"].backward(retain_graph=True)
            opts[name].step()
        first = first if first is not None else float(losses["l1"].detach())
    assert float(losses["l1"].detach()) < 0.8 * first
    v1 = DeepFillV1Task(DeepFillV1Generator(cnum=8))
    assert torch.isfinite(v1.update_loss("G", batch, {}, phase)["loss"])
    with pytest.raises(ValueError, match="image \\+ mask \\+ sketch: in_channels must be 5"):
        DeepFillV2Task(DeepFillV2Generator(cnum=8, guided=True), SNPatchGAN(in_channels=4, cnum=8))
    assert np.isfinite(float(losses["gan"].detach()))


def test_d_loss_is_the_releases_halved_hinge():
    # JiahuiYu/generative_inpainting uses neuralgym's gan_hinge_loss:
    # d_loss = 0.5 * mean(relu(1 - pos)) + 0.5 * mean(relu(1 + neg)).
    real, fake = torch.tensor([2.0, 0.5, -0.3]), torch.tensor([-2.0, 0.2, 1.5])
    expected = 0.5 * ((0 + 0.5 + 1.3) / 3 + (0 + 1.2 + 2.5) / 3)
    assert float(sn_patchgan_d_loss(real, fake)) == pytest.approx(expected)
    # at chance (every score 0) it is 0.5 * (1 + 1) = 1, the level lecture 10's D curve sits at
    assert float(sn_patchgan_d_loss(torch.zeros(4, 16), torch.zeros(4, 16))) == pytest.approx(1.0)
    torch.manual_seed(0)
    task = DeepFillV2Task(DeepFillV2Generator(cnum=8, guided=False), SNPatchGAN(4, 8))
    task.D.eval()  # no power iteration between the calls below, so D gives the same scores
    batch = {"image": torch.rand(2, 3, 32, 32) * 2 - 1, "mask": torch.zeros(2, 1, 32, 32)}
    batch["mask"][..., 8:20, 8:20] = 1
    out = task.forward_step(batch, Phase("adversarial", 1))
    with torch.no_grad():
        d = task.update_loss("D", batch, out, Phase("adversarial", 1))
        real = task.D(task._d_input(batch["image"], batch))
        fake = task.D(task._d_input(out["completed"], batch))
    assert float(d["loss"]) == pytest.approx(float(sn_patchgan_d_loss(real, fake)))


def test_open_gates_keep_the_signal_through_the_gated_stack():
    # The release's Glorot initialisation shrinks the signal ~0.3x per gated layer: an untrained
    # generator outputs ~1e-8. open_gates (He features, gate biases 2) keeps it of order 0.1.
    torch.manual_seed(0)
    image, hole = torch.rand(2, 3, 32, 32) * 2 - 1, torch.zeros(2, 1, 32, 32)
    hole[..., 8:20, 10:24] = 1
    sketch = torch.zeros_like(hole)
    release = DeepFillV2Generator(cnum=8, init="release")
    opened = DeepFillV2Generator(cnum=8, init="open")
    with torch.no_grad():
        assert float(release(image, hole, sketch)[0].std()) < 1e-4
        assert float(opened(image, hole, sketch)[0].std()) > 1e-2
    assert count(release) == count(opened), "only the initial values change"
    layer = opened.coarse.body[0]
    assert torch.all(layer.conv.bias[layer.out_channels:] == 2.0)
    assert torch.all(layer.gates(torch.zeros(1, 6, 8, 8)) > 0.85)
    with pytest.raises(ValueError, match="init must be one of"):
        DeepFillV2Generator(cnum=8, init="kaiming")


@pytest.mark.parametrize("model", ["pconv", "deepfill_v1", "deepfill_v2", "deepfill_v2_guided"])
def test_recipes_are_registered_and_their_quick_preset_trains(model):
    from course_lib.train import Trainer
    from course_lib.train.cli import RECIPES, load_recipe

    assert model in RECIPES
    recipe = load_recipe(model)("quick", None)
    item = recipe.data[0]
    assert item["image"].shape == (3, 64, 64) and item["image"].min() >= -1 and item["mask"].shape == (1, 64, 64)
    config = type(recipe.config)(**{**recipe.config.__dict__, "steps": 2, "batch_size": 2, "progress": False})
    phases = None if recipe.phases is None else [type(p)(p.name, 1, p.updates, p.options) for p in recipe.phases]
    history = Trainer(recipe.task, recipe.data, config, phases=phases).fit()
    assert all(np.isfinite(v).all() for v in history.values.values())


@pytest.mark.parametrize("preset", ["quick", "paper"])
def test_deepfill_v2_recipe_is_the_unguided_release_and_the_guided_one_says_so(preset):
    # The release's inpaint.yml trains without sketches (guided: False): 5 generator input channels,
    # D on image + mask. The sketch-guided model of the paper is the separate deepfill_v2_guided.
    from course_lib.train.cli import load_recipe

    release = load_recipe("deepfill_v2")(preset, None)
    assert release.task.G.guided is False and release.task.D.in_channels == 4
    assert "sketch" not in release.data[0]
    assert "unguided" in release.description and "guided (sketch" not in release.description
    guided = load_recipe("deepfill_v2_guided")(preset, None)
    assert guided.task.G.guided is True and guided.task.D.in_channels == 5
    assert guided.data[0]["sketch"].shape[0] == 1
    assert "user-guided" in guided.description
    if preset == "paper":
        assert "release's unguided model" in release.description
        assert sum(p.numel() for p in release.task.G.parameters()) == 4_052_478  # the release's widths
