"""Context Encoder and Global & Local: fidelity to the official code / the paper, behaviour, learning, bad input."""

import pytest
import torch
from torch import nn

from course_lib.inpainting import center_mask
from course_lib.inpainting.context_encoder import (
    LAMBDA_ADV,
    LAMBDA_REC,
    ChannelwiseFC,
    ContextEncoder,
    ContextEncoderDiscriminator,
    ContextEncoderTask,
    context_encoder_mask,
    overlap_weights,
    parameter_count,
)
from course_lib.inpainting.datasets import (
    InpaintingImages,
    context_encoder_mask_fn,
    gl_rect_mask_fn,
    inpainting_dataset,
)
from course_lib.inpainting.evaluate import compare, held_out
from course_lib.inpainting.global_local import (
    ALPHA,
    COMPLETION_TABLE,
    CompletionNetwork,
    ContextDiscriminator,
    GlobalLocalTask,
    completion_layer_specs,
    crop,
    hole_boxes,
    hole_mse,
    local_crop,
    three_phases,
)
from course_lib.receptive_field import (
    empirical_receptive_field,
    network_from_specs,
    receptive_field,
)
from course_lib.train import Phase, TrainConfig, Trainer


# ----------------------------------------------------------------------------- Context Encoder fidelity
def _conv(c_in, c_out, k=4, bias=False):
    return k * k * c_in * c_out + (c_out if bias else 0)


def _official_ce_generator(nef=64, ngf=64, nc=3, n_bottleneck=4000, bias=False):
    """Parameters of netG in pathak22/context-encoder train.lua (fineSize 128), layer by layer.

    netE: conv(nc, nef) LReLU; conv(nef, nef) BN; conv(nef, 2nef) BN; conv(2nef, 4nef) BN;
    conv(4nef, 8nef) BN; conv(8nef, nBottleneck, 4x4 valid). netG: netE, BN(nBottleneck), LReLU,
    fullconv(nBottleneck, 8ngf) BN; fullconv 8ngf -> 4ngf -> 2ngf -> ngf (BN each) -> nc, Tanh.
    BN has a weight and a bias per channel.
    """
    enc = [(nc, nef, False), (nef, nef, True), (nef, 2 * nef, True), (2 * nef, 4 * nef, True),
           (4 * nef, 8 * nef, True), (8 * nef, n_bottleneck, False)]
    dec = [(n_bottleneck, 8 * ngf, True), (8 * ngf, 4 * ngf, True), (4 * ngf, 2 * ngf, True),
           (2 * ngf, ngf, True), (ngf, nc, False)]
    total = sum(_conv(i, o, bias=bias) + (2 * o if bn else 0) for i, o, bn in enc + dec)
    return total + 2 * n_bottleneck  # SpatialBatchNormalization(nBottleneck) after the encoder


def test_context_encoder_parameter_count_matches_the_official_torch_code():
    # pathak22/context-encoder README: `wtl2=0.999 nBottleneck=4000 overlapPred=4 fineSize=128`,
    # nef = ngf = ndf = 64 (train.lua). train.lua zeroes every conv bias before each update
    # (`m.bias:zero()`), so the course builds the convs without biases: the Torch model has the same
    # weights plus 5987 bias entries held at zero.
    g = ContextEncoder(128, 64, 64, bottleneck="fc", n_bottleneck=4000)
    assert parameter_count(g) == _official_ce_generator() == 71_124_544
    assert _official_ce_generator(bias=True) - _official_ce_generator() == 5987
    # netD (conditionAdv = 0): conv(3, 64) LReLU; 64->128, 128->256, 256->512 with BN; conv(512, 1, 4x4)
    d = ContextEncoderDiscriminator(64, 64)
    expected_d = _conv(3, 64) + sum(_conv(i, o) + 2 * o for i, o in [(64, 128), (128, 256), (256, 512)]) + _conv(512, 1)
    assert parameter_count(d) == expected_d == 2_765_568


def test_context_encoder_shapes_ranges_and_channelwise_bottleneck():
    g = ContextEncoder(128, 64, 64, bottleneck="fc", n_bottleneck=4000)
    x = torch.rand(2, 3, 128, 128) * 2 - 1
    y = g(x)
    assert y.shape == (2, 3, 64, 64) and y.abs().max() <= 1  # the 64x64 centre, tanh
    cw = ContextEncoder(128, 64, 64, bottleneck="channelwise")
    fc_layer = 512 * 16 * 4000 * 2  # the two 4x4 layers around the 4000 units
    cw_layer = 512 * 16 * 16 + 512 * 16 + 512 * 512  # channel-wise FC (m n^4 + m n^2) + 1x1 conv (m^2)
    cw_params = sum(p.numel() for p in cw.bottleneck[0].parameters())
    assert cw_params == cw_layer and fc_layer / cw_layer > 100
    # channel-wise: channel c of the output depends only on channel c of the input (before the 1x1 mix)
    layer = ChannelwiseFC(4, 2)
    z = torch.randn(1, 4, 2, 2, requires_grad=True)
    out = torch.einsum("nci,cio->nco", z.flatten(2), layer.weight)
    out[0, 1].sum().backward()
    assert z.grad[0, 1].abs().sum() > 0 and z.grad[0, [0, 2, 3]].abs().sum() == 0
    full = ContextEncoder(64, 16, 16, bottleneck="channelwise", output="full")
    assert full(torch.zeros(1, 3, 64, 64)).shape == (1, 3, 64, 64) and full.region == (0, 64)


def test_context_encoder_loss_weights_follow_train_lua():
    w = overlap_weights(64, 4, 56)
    assert w.shape == (1, 1, 64, 64) and w[0, 0, 3, 32] == 10 and w[0, 0, 4, 32] == 1 and w[0, 0, 32, 32] == 1
    assert float(w.sum()) == 56 * 56 + 10 * (64 * 64 - 56 * 56)
    assert (LAMBDA_REC, LAMBDA_ADV) == (0.999, 0.001)
    task = ContextEncoderTask(ContextEncoder(64, 8, 8, "channelwise"), adversarial=True, ndf=8)
    mask = context_encoder_mask(64)[None].expand(2, -1, -1, -1)
    torch.testing.assert_close(task._weights(mask)[0], overlap_weights(32, 2, 28)[0])
    batch = {"image": torch.rand(2, 3, 64, 64) * 2 - 1, "mask": mask}
    out = task.forward_step(batch, Phase("p", 1))
    g = task.update_loss("G", batch, out, Phase("p", 1))
    torch.testing.assert_close(g["loss"], 0.999 * g["l2"] + 0.001 * g["adv"])
    opts = task.configure_optimizers()
    assert list(opts) == ["D", "G"] and opts["G"].param_groups[0]["lr"] == 10 * opts["D"].param_groups[0]["lr"]


def test_context_encoder_inpaint_and_bad_input():
    g = ContextEncoder(64, 8, 8, "channelwise")
    img = torch.rand(3, 64, 64) * 2 - 1
    m = context_encoder_mask(64)
    out = g.inpaint(img, m)
    assert out.shape == img.shape and torch.equal(out * (1 - m), img * (1 - m)) and g.training
    assert torch.equal(g.inpaint(img, torch.zeros(1, 64, 64)), img)  # no hole: unchanged
    with pytest.raises(ValueError, match="holes outside it"):
        g.inpaint(img, center_mask(64, 40))
    with pytest.raises(ValueError, match="covers the whole image"):
        g.inpaint(img, torch.ones(1, 64, 64))
    with pytest.raises(ValueError, match="binary"):
        g.inpaint(img, m * 0.7)
    with pytest.raises(ValueError, match="same height and width"):
        g.inpaint(img, context_encoder_mask(32))
    with pytest.raises(ValueError, match=r"expects \(N, 3, 64, 64\)"):
        g(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match="power of two"):
        ContextEncoder(100)
    with pytest.raises(ValueError, match="bottleneck"):
        ContextEncoder(64, bottleneck="dense")


def test_context_encoder_learns_beyond_the_mean_colour_fill():
    torch.manual_seed(0)
    train = inpainting_dataset(InpaintingImages(32, 2000, seed=0), context_encoder_mask_fn(32), seed=0)
    test = held_out(inpainting_dataset(InpaintingImages(32, 16, seed=1), context_encoder_mask_fn(32), seed=1), 16)
    task = ContextEncoderTask(ContextEncoder(32, 16, 16, "channelwise"), adversarial=False)
    Trainer(task, train, TrainConfig(steps=150, batch_size=16, log_every=50, progress=False)).fit()
    from course_lib.inpainting.blending import mean_fill

    scores = compare({"mean colour": mean_fill, "CE": task.inpaint}, test)
    assert scores["CE"].l1 < scores["mean colour"].l1, {k: v.l1 for k, v in scores.items()}


# ----------------------------------------------------------------------------- Global & Local fidelity
def test_completion_network_parameter_count_matches_table_1():
    # Iizuka, Simo-Serra & Ishikawa, "Globally and Locally Consistent Image Completion", SIGGRAPH 2017,
    # Table 1: (type, kernel, dilation, stride, outputs). Input RGB + mask (4 channels); every layer
    # but the output has a bias and batch norm (Sec. 4: BN after all convs except the last).
    table = [("conv", 5, 1, 1, 64), ("conv", 3, 1, 2, 128), ("conv", 3, 1, 1, 128), ("conv", 3, 1, 2, 256),
             ("conv", 3, 1, 1, 256), ("conv", 3, 1, 1, 256), ("dilated conv", 3, 2, 1, 256),
             ("dilated conv", 3, 4, 1, 256), ("dilated conv", 3, 8, 1, 256), ("dilated conv", 3, 16, 1, 256),
             ("conv", 3, 1, 1, 256), ("conv", 3, 1, 1, 256), ("deconv", 4, 1, 2, 128), ("conv", 3, 1, 1, 128),
             ("deconv", 4, 1, 2, 64), ("conv", 3, 1, 1, 32), ("output", 3, 1, 1, 3)]
    assert [tuple(r) for r in COMPLETION_TABLE] == table
    expected, c_in = 0, 4
    for kind, k, _, _, c_out in table:
        expected += k * k * c_in * c_out + c_out + (0 if kind == "output" else 2 * c_out)
        c_in = c_out
    net = CompletionNetwork(64)
    assert parameter_count(net) == expected == 6_072_131
    dil = [m.dilation[0] for m in net.modules() if isinstance(m, nn.Conv2d) and m.dilation[0] > 1]
    strides = [m.stride[0] for m in net.modules() if isinstance(m, nn.Conv2d) and m.stride[0] > 1]
    assert dil == [2, 4, 8, 16] and strides == [2, 2] and isinstance(net.net[-1], nn.Sigmoid)


def test_discriminator_parameter_count_matches_table_2():
    # Table 2: local (128x128): 5x5 stride-2 convs 64-128-256-512-512, FC 1024; global (256x256):
    # 64-128-256-512-512-512, FC 1024; concatenation -> FC -> sigmoid. BN after every conv.
    def convs(channels):
        total, c_in = 0, 3
        for c in channels:
            total += 25 * c_in * c + c + 2 * c
            c_in = c
        return total
    fc = 512 * 4 * 4 * 1024 + 1024
    expected = convs([64, 128, 256, 512, 512]) + fc + convs([64, 128, 256, 512, 512, 512]) + fc + 2048 + 1
    d = ContextDiscriminator(256, 128, 64)
    assert parameter_count(d) == expected == 45_063_681
    assert d(torch.zeros(2, 3, 256, 256), torch.zeros(2, 3, 128, 128)).shape == (2,)


def test_completion_network_receptive_field_is_about_300_px():
    # lecture 01: analytic 301 px for this geometry, 299-303 measured (transposed convs are uneven)
    assert receptive_field(completion_layer_specs()).size == 301
    specs = completion_layer_specs()
    net = network_from_specs(specs, channels=2, in_channels=4)
    size = empirical_receptive_field(net, (4, 352, 352), n_samples=1).size[0]
    assert 299 <= size <= 303


def test_completion_network_keeps_known_pixels_and_handles_any_size():
    net = CompletionNetwork(8)
    for h, w in ((32, 32), (40, 56)):
        img = torch.rand(2, 3, h, w) * 2 - 1
        m = torch.zeros(2, 1, h, w)
        m[:, :, 8:20, 10:30] = 1
        out = net(img, m)
        assert out.shape == img.shape and torch.equal(out * (1 - m), img * (1 - m))
        raw = net.predict(img, m)
        assert 0 <= float(raw.min()) and float(raw.max()) <= 1
    # the network never sees the hole's content
    m = center_mask(32, 12)[None]
    a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    b = a * (1 - m) + b * m
    net.eval()
    torch.testing.assert_close(net(a, m), net(b, m))


def test_local_crop_is_centred_on_the_hole_and_clamped():
    mask = torch.zeros(3, 1, 64, 64)
    mask[0, :, 10:42, 20:50] = 1  # centre rows (10 + 41 + 1) // 2 = 26, cols (20 + 49 + 1) // 2 = 35
    mask[1, :, 0:8, 56:64] = 1  # top-right corner: clamped
    mask[2, :, 30:31, 31:32] = 1
    boxes = hole_boxes(mask, 32)
    assert boxes.tolist() == [[10, 19], [0, 32], [14, 15]]
    images = torch.arange(3 * 64 * 64, dtype=torch.float32).view(3, 1, 64, 64)
    crops = local_crop(images, mask, 32)
    assert crops.shape == (3, 1, 32, 32) and torch.equal(crops[0], images[0, :, 10:42, 19:51])
    with pytest.raises(ValueError, match="no hole"):
        hole_boxes(torch.zeros(1, 1, 64, 64), 32)
    with pytest.raises(ValueError, match="does not fit"):
        hole_boxes(mask, 80)
    x = torch.rand(3, 3, 64, 64, requires_grad=True)
    crop(x, boxes, 32).sum().backward()
    assert float(x.grad.sum()) == 3 * 3 * 32 * 32


def test_three_phases_train_the_right_networks():
    torch.manual_seed(0)
    task = GlobalLocalTask(image_size=32, width=4, optimizer="adam")
    data = inpainting_dataset(InpaintingImages(32, 64), gl_rect_mask_fn(32))
    trainer = Trainer(task, data, TrainConfig(batch_size=4, log_every=1, progress=False), phases=three_phases(2, 2, 2))
    snap = lambda: ({k: v.clone() for k, v in task.C.state_dict().items() if "running" not in k and "num_batches" not in k},
                    {k: v.clone() for k, v in task.D.state_dict().items() if "running" not in k and "num_batches" not in k})
    c0, d0 = snap()
    trainer.fit(until=2)
    c1, d1 = snap()
    assert all(torch.equal(d0[k], d1[k]) for k in d0) and not all(torch.equal(c0[k], c1[k]) for k in c0)
    trainer.fit(until=4)
    c2, d2 = snap()
    assert all(torch.equal(c1[k], c2[k]) for k in c1) and not all(torch.equal(d1[k], d2[k]) for k in d1)
    trainer.fit()
    c3, d3 = snap()
    assert not all(torch.equal(c2[k], c3[k]) for k in c2) and not all(torch.equal(d2[k], d3[k]) for k in d2)
    h = trainer.history
    assert "C/gan" in h.values and h.value_steps["C/gan"] == [5, 6] and h.value_steps["D/loss"] == [3, 4, 5, 6]
    assert ALPHA == 4e-4 and [p.steps for p in three_phases(90_000, 10_000, 400_000)] == [90_000, 10_000, 400_000]


def test_hole_mse_and_gan_weight():
    img = torch.zeros(1, 3, 8, 8)  # 0 in [-1, 1] is 0.5 on the [0, 1] scale
    m = torch.zeros(1, 1, 8, 8)
    m[..., :2, :] = 1
    pred = torch.full((1, 3, 8, 8), 0.5)
    pred[..., 4:, :] = 1.0  # wrong only outside the hole: no loss
    assert float(hole_mse(pred, img, m)) == 0
    pred[..., :1, :] = 0.7
    assert float(hole_mse(pred, img, m)) == pytest.approx(0.04 / 2)


def test_global_local_learns_and_postprocesses():
    torch.manual_seed(0)
    task = GlobalLocalTask(image_size=32, width=8, optimizer="adam", lr=2e-3)
    data = inpainting_dataset(InpaintingImages(32, 2000), gl_rect_mask_fn(32))
    trainer = Trainer(task, data, TrainConfig(batch_size=8, log_every=20, progress=False), phases=three_phases(120, 10, 10))
    trainer.fit()
    mse = trainer.history.values["C/mse"]
    assert mse[-1] < mse[0]
    img = torch.rand(2, 3, 32, 32) * 2 - 1
    m = center_mask(32, 12)[None].expand(2, -1, -1, -1)
    blended = task.inpaint(img, m, blend=True)
    assert blended.shape == img.shape and torch.equal(blended * (1 - m), img * (1 - m))


def test_global_local_bad_input():
    net = CompletionNetwork(4)
    with pytest.raises(ValueError, match="multiple of 4"):
        net(torch.zeros(1, 3, 30, 32), torch.zeros(1, 1, 30, 32))
    with pytest.raises(ValueError, match="mask must be"):
        net(torch.zeros(1, 3, 32, 32), torch.zeros(1, 1, 16, 16))
    img = torch.zeros(3, 32, 32)
    with pytest.raises(ValueError, match="covers the whole image"):
        net.inpaint(img, torch.ones(1, 32, 32))
    with pytest.raises(ValueError, match="binary"):
        net.inpaint(img, torch.full((1, 32, 32), 0.5))
    with pytest.raises(ValueError, match="same height and width"):
        net.inpaint(img, torch.zeros(1, 16, 16))
    assert torch.equal(net.inpaint(img, torch.zeros(1, 32, 32)), img)
    d = ContextDiscriminator(64, 32, 4)
    with pytest.raises(ValueError, match="local_crop"):
        d(torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 64, 64))
    with pytest.raises(ValueError, match="power of two"):
        ContextDiscriminator(100, 50)
    with pytest.raises(ValueError, match="optimizer"):
        GlobalLocalTask(32, 4, optimizer="sgd")
    with pytest.raises(ValueError, match="tc must be"):
        three_phases(-1, 0, 0)
