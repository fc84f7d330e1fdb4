"""pix2pix (course_lib.translation.pix2pix): fidelity to the reference, losses, test-time modes, learning, bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.losses import discriminator_loss, generator_loss
from course_lib.nn import PatchGAN
from course_lib.receptive_field import layers_from_module, receptive_field
from course_lib.train import Phase, TrainConfig, Trainer
from course_lib.translation.pix2pix import (
    LAMBDA_L1,
    Pix2PixTask,
    UnetGenerator,
    UnetSkipBlock,
    run_mode,
    translate,
    unet_channels,
)


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# --------------------------------------------------------------------------- fidelity
def test_unet_256_has_the_reference_parameter_count():
    # junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py: define_G(3, 3, 64, "unet_256", norm="batch",
    # use_dropout=True) builds UnetGenerator(3, 3, num_downs=8, ngf=64) with 54,413,955 parameters.
    with torch.device("meta"):  # shapes only: no memory, instant
        g = UnetGenerator(3, 3, num_downs=8, ngf=64, norm="batch", dropout=True)
    assert n_params(g) == 54_413_955
    # dropout in the three decoder blocks next to the innermost one (num_downs - 5 in the reference)
    assert sum(isinstance(m, nn.Dropout) for m in g.modules()) == 3
    assert unet_channels(8, 64) == [64, 128, 256, 512, 512, 512, 512, 512]


def test_pix2pix_discriminator_is_the_reference_patchgan():
    # Same reference, NLayerDiscriminator(6, ndf=64, n_layers=3, norm=batch): 2,768,705 parameters,
    # 30x30 scores for a 256x256 pair, each seeing a 70x70 patch (course_lib.receptive_field).
    task = Pix2PixTask()
    assert isinstance(task.D, PatchGAN)
    assert n_params(task.D) == 2_768_705
    assert task.D(torch.zeros(1, 6, 256, 256)).shape == (1, 1, 30, 30)
    assert receptive_field(layers_from_module(task.D)).size == 70
    assert task.lambda_l1 == LAMBDA_L1 == 100.0
    opt = task.configure_optimizers()
    assert list(opt) == ["D", "G"]  # reference order: D step, then G step
    for o in opt.values():
        assert o.defaults["lr"] == 2e-4 and o.defaults["betas"] == (0.5, 0.999)


def test_weights_are_initialised_from_normal_0_02():
    g = UnetGenerator(3, 3, num_downs=5, ngf=16)
    w = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))])
    assert abs(float(w.mean())) < 2e-3 and 0.018 < float(w.std()) < 0.022


# --------------------------------------------------------------------------- unit
def test_unet_shapes_range_and_gradients():
    g = UnetGenerator(1, 3, num_downs=5, ngf=8)
    x = torch.randn(2, 1, 64, 96, requires_grad=True)
    y = g(x)
    assert y.shape == (2, 3, 64, 96) and y.min() >= -1 and y.max() <= 1
    y.sum().backward()
    assert x.grad is not None and all(p.grad is not None for p in g.parameters())


def test_skip_block_concatenates_input_and_output():
    inner = UnetSkipBlock(8, 8, None, norm="none")
    block = UnetSkipBlock(4, 8, inner, norm="none")
    x = torch.randn(1, 4, 16, 16)
    out = block(x)
    assert out.shape == (1, 8, 16, 16) and torch.equal(out[:, :4], x)  # the skip carries x unchanged


def test_encoder_decoder_ablation_has_no_skips():
    plain = UnetGenerator(3, 3, num_downs=5, ngf=8, skip=False)
    unet = UnetGenerator(3, 3, num_downs=5, ngf=8)
    assert n_params(plain) < n_params(unet)
    assert plain(torch.randn(1, 3, 32, 32)).shape == (1, 3, 32, 32)
    # no skip: the output cannot depend on input pixels outside the bottleneck's path in a trivial way,
    # but it still depends on all of them; with skips the first level's features reach the output directly
    assert all(not isinstance(m, UnetSkipBlock) or not m.skip for m in plain.modules())


def test_losses_of_one_iteration_match_the_paper():
    torch.manual_seed(0)
    task = Pix2PixTask(num_downs=5, ngf=8, ndf=8)
    x, y = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)
    batch = {"input": x, "target": y}
    out = task.forward_step(batch, Phase("t", 1))
    fake = out["fake"]
    d = task.update_loss("D", batch, out, Phase("t", 1))
    expected_d = 0.5 * discriminator_loss(task.D(torch.cat([x, y], 1)), task.D(torch.cat([x, fake.detach()], 1)))
    assert torch.allclose(d["loss"], expected_d)
    d["loss"].backward()
    assert all(p.grad is None for p in task.G.parameters()), "the D step must not reach G (fake.detach())"
    g = task.update_loss("G", batch, out, Phase("t", 1))
    expected_g = generator_loss(task.D(torch.cat([x, fake], 1))) + 100 * F.l1_loss(fake, y)
    assert torch.allclose(g["loss"], expected_g)


def test_variants_l1_only_lsgan_and_unconditional():
    l1_only = Pix2PixTask(num_downs=5, ngf=8, gan_mode=None)
    assert l1_only.D is None and list(l1_only.configure_optimizers()) == ["G"]
    uncond = Pix2PixTask(num_downs=5, ngf=8, ndf=8, conditional=False)
    assert uncond.D.in_channels == 3
    ls = Pix2PixTask(num_downs=5, ngf=8, ndf=8, gan_mode="lsgan")
    batch = {"input": torch.randn(1, 3, 32, 32), "target": torch.randn(1, 3, 32, 32)}
    out = ls.forward_step(batch, Phase("t", 1))
    logits = ls.discriminate(batch["input"], out["fake"].detach())
    assert torch.allclose(ls.update_loss("D", batch, out, Phase("t", 1))["loss"],
                          0.5 * (((ls.discriminate(batch["input"], batch["target"]) - 1) ** 2).mean() + (logits**2).mean()))
    with pytest.raises(ValueError, match="gan_mode must be"):
        Pix2PixTask(gan_mode="hinge")


def test_test_time_modes_and_running_stats_untouched():
    torch.manual_seed(0)
    g = UnetGenerator(3, 3, num_downs=6, ngf=8)
    g.train()
    g(torch.randn(4, 3, 64, 64))  # give batch norm some running statistics
    stats = {k: v.clone() for k, v in g.state_dict().items() if "running" in k}
    x = torch.randn(2, 3, 64, 64)
    a, b = translate(g, x), translate(g, x)
    assert not torch.allclose(a, b), "dropout is on at test time (pix2pix's only noise)"
    c, d = translate(g, x, dropout=False), translate(g, x, dropout=False)
    assert torch.allclose(c, d)
    e = translate(g, x, dropout=False, batch_stats=False)
    g.eval()
    with torch.no_grad():
        assert torch.allclose(e, g(x), atol=1e-6), "dropout off + running statistics == model.eval()"
    assert all(torch.equal(v, g.state_dict()[k]) for k, v in stats.items()), "test batches must not change running stats"
    g.train()
    with run_mode(g, dropout=False, batch_stats=False):
        assert not any(m.training for m in g.modules())
    assert all(m.training for m in g.modules()), "the previous modes are restored"


# --------------------------------------------------------------------------- learning
def test_tiny_pix2pix_beats_the_mean_target_in_seconds():
    from course_lib.data.paired import InMemory, ProceduralFacades
    from course_lib.metrics import l1

    train = InMemory(ProceduralFacades(48, size=32, seed=0))
    test = InMemory(ProceduralFacades(8, size=32, seed=1))
    torch.manual_seed(0)
    task = Pix2PixTask(num_downs=5, ngf=8, ndf=8, lr=1e-3)  # a larger step than the paper's 2e-4: 100 steps only
    trainer = Trainer(task, train, TrainConfig(steps=100, batch_size=4, lr_decay_start=50, progress=False, log_every=50))
    history = trainer.fit()
    x, y = test.tensors["input"], test.tensors["target"]
    baseline = train.tensors["target"].mean(0, keepdim=True).expand_as(y)
    assert float(l1(translate(task.G, x), y).mean()) < 0.9 * float(l1(baseline, y).mean())
    assert history.last("G/l1") < history.values["G/l1"][0]
    assert all(g["lr"] == 0 for o in trainer.optimizers.values() for g in o.param_groups), "linear decay to 0"


def test_sample_grid_has_inputs_outputs_targets():
    task = Pix2PixTask(1, 3, num_downs=5, ngf=8, ndf=8)
    grid = task.sample({"input": torch.randn(2, 1, 32, 32), "target": torch.rand(2, 3, 32, 32) * 2 - 1})
    assert grid.shape == (6, 3, 32, 32)


# --------------------------------------------------------------------------- bad input
def test_bad_input_raises_errors_that_say_what_to_do():
    g = UnetGenerator(3, 3, num_downs=6, ngf=8)
    with pytest.raises(ValueError, match=r"100x100 is not divisible by 2\*\*num_downs = 64.*64, 128, 256"):
        g(torch.randn(1, 3, 100, 100))
    with pytest.raises(ValueError, match="must have 3 channels, got 1.*in_channels=1"):
        g(torch.randn(1, 1, 64, 64))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\).*x\[None\]"):
        g(torch.randn(3, 64, 64))
    with pytest.raises(ValueError, match="num_downs must be an int >= 2"):
        UnetGenerator(num_downs=1)
    with pytest.raises(ValueError, match="ngf must be a positive int"):
        UnetGenerator(ngf=0)
    task = Pix2PixTask(num_downs=5, ngf=8, ndf=8)
    with pytest.raises(ValueError, match=r"torch.cat\(\[x, y\], 1\)"):
        task.D(torch.randn(1, 3, 32, 32))


def test_output_measures():
    from course_lib.translation.pix2pix import (
        colourfulness,
        format_scores,
        paired_scores,
        sharpness,
    )

    grey = torch.zeros(2, 3, 8, 8)
    red = torch.tensor([1.0, -1.0, -1.0]).view(1, 3, 1, 1).expand(2, 3, 8, 8)
    assert colourfulness(grey) == 0 and colourfulness(red) == 1
    mask = torch.zeros(8, 8, dtype=torch.bool)
    mask[:, :4] = True
    half = torch.where(mask, red, grey)
    assert colourfulness(half, mask) == 1 and colourfulness(half, ~mask) == 0
    with pytest.raises(ValueError, match="selects no pixel"):
        colourfulness(half, torch.zeros(8, 8, dtype=torch.bool))
    stripes = torch.zeros(1, 1, 4, 4)
    stripes[..., ::2] = 1.0  # columns alternate 0.5 and 1 in [0, 1] units
    assert sharpness(grey) == 0 and abs(sharpness(stripes) - 0.25) < 1e-6  # (0.5 horizontally + 0 vertically) / 2
    scores = paired_scores(half, half)
    assert scores["L1"] == 0 and scores["patch dist"] == 0 and scores["PSNR"] > 100
    table = format_scores({"a": scores, "b": paired_scores(grey, half)})
    assert table.splitlines()[0].split() == ["L1", "PSNR", "chroma", "sharpness", "patch", "dist"]
