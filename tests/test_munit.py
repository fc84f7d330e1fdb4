"""MUNIT: fidelity to NVlabs/MUNIT (edges2shoes_folder.yaml), the AdaIN decoder, losses, training, recipe."""

import subprocess
import sys

import pytest
import torch

from course_lib.data.unpaired import ShapesToTextures
from course_lib.train import Phase, TrainConfig, Trainer
from course_lib.translation import munit, recipes
from course_lib.translation.munit import (
    AdaINGenerator,
    AdaINResBlock,
    LayerNorm,
    MultiScaleDiscriminator,
    MUNITTask,
)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


# --------------------------------------------------------------------------- fidelity
def test_parameter_counts_match_the_official_edges2shoes_configuration():
    # NVlabs/MUNIT networks.py (AdaINGen, MsImageDis) with configs/edges2shoes_folder.yaml: input_dim 3,
    # gen: dim 64, style_dim 8, n_downsample 2, n_res 4, mlp_dim 256, activ relu, pad_type reflect;
    # dis: dim 64, n_layer 4, norm none, num_scales 3. Every Conv2dBlock has a bias; instance norm has no
    # parameters; the decoder's LayerNorm has gamma and beta. Counted layer by layer:
    # style encoder  (StyleEncoder(4, ...)): 7x7 3->64 9,472; 4x4 64->128 131,200; 4x4 128->256 524,544;
    #                2 x 4x4 256->256 1,048,832; 1x1 256->8 2,056                         = 2,764,936
    # content encoder: 9,472 + 131,200 + 524,544 + 4 blocks x 2 x 3x3 256->256 (590,080)   = 5,385,856
    # decoder: 4 AdaIN blocks 4,720,640; up + 5x5 256->128 819,328 + LN 256; up + 5x5 128->64
    #          204,864 + LN 128; 7x7 64->3 9,411                                              = 5,754,627
    # MLP: 8->256 2,304; 256->256 65,792; 256->4,096 AdaIN parameters (4 blocks x 2 x 2 x 256) 1,052,672
    #                                                                                     = 1,120,768
    # generator = 15,026,187; discriminator per scale 3,136 + 131,200 + 524,544 + 2,097,664 + 513
    # = 2,757,057, three scales = 8,271,171; MUNIT (two of each) = 46,594,716.
    task = MUNITTask()
    assert munit.describe(task) == {
        "style encoder": 2_764_936, "content encoder": 5_385_856, "decoder": 5_754_627, "MLP": 1_120_768,
        "generator": 15_026_187, "discriminator": 8_271_171, "total": 46_594_716,
    }
    assert task.gen_a.dec.num_adain_params == 4096


def test_defaults_are_the_configs_hyper_parameters():
    task = MUNITTask(dim=8, mlp_dim=16, dis_dim=8)
    assert task.weights == {"gan": 1.0, "recon_x": 10.0, "recon_c": 1.0, "recon_s": 1.0, "recon_x_cyc": 0.0}
    opt = task.configure_optimizers()
    assert list(opt) == ["D", "G"]  # reference: dis_update, then gen_update
    for o in opt.values():
        assert o.defaults["lr"] == 1e-4 and o.defaults["betas"] == (0.5, 0.999) and o.defaults["weight_decay"] == 1e-4
    assert task.style_dim == 8 and task.lr_step == 100_000 and task.lr_gamma == 0.5


def test_shapes_of_codes_images_and_scores_at_256():
    torch.manual_seed(0)
    # The layout of the reference at a quarter of its width (dim 16 instead of 64), to stay fast.
    gen, dis = AdaINGenerator(dim=16, mlp_dim=32), MultiScaleDiscriminator(dim=8)
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    with torch.no_grad():
        content, style = gen.encode(x)
        y = gen.decode(content, style)
        scores = dis(x)
    assert content.shape == (1, 64, 64, 64) and style.shape == (1, 8, 1, 1)
    assert y.shape == x.shape and float(y.abs().max()) <= 1
    assert [tuple(s.shape) for s in scores] == [(1, 1, 16, 16), (1, 1, 8, 8), (1, 1, 4, 4)]


# --------------------------------------------------------------------------- building blocks
def test_adain_imposes_the_given_statistics():
    x = torch.randn(2, 3, 8, 8) * 5 + 2
    mean, std = torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]]), torch.tensor([[0.5, 2.0, 1.0], [1.5, 0.1, 3.0]])
    y = munit.adaptive_instance_norm(x, mean, std)
    assert torch.allclose(y.mean((2, 3)), mean, atol=1e-5)
    assert torch.allclose(y.std((2, 3), unbiased=False), std, atol=1e-3)
    with pytest.raises(ValueError, match=r"needs \(N, C\) = \(2, 3\)"):
        munit.adaptive_instance_norm(x, mean[:, :2], std)


def test_adain_block_parameter_layout_and_residual():
    torch.manual_seed(0)
    block = AdaINResBlock(4)
    x = torch.randn(2, 4, 6, 6)
    params = torch.randn(2, 16)
    params[:, 8:] = 0  # mean2 = std2 = 0: the residual branch outputs zeros, the block is the identity
    assert torch.allclose(block(x, params), x)
    params[:, 12:] = 1.0  # std2 = 1: now the branch matters
    assert not torch.allclose(block(x, params), x)
    with pytest.raises(ValueError, match=r"needs \(N, 16\) AdaIN parameters"):
        block(x, torch.zeros(2, 12))


def test_the_style_code_drives_the_decoder_through_the_mlp():
    torch.manual_seed(0)
    gen = munit.kaiming_init(AdaINGenerator(dim=8, n_res=2, mlp_dim=16))
    content, _ = gen.encode(torch.randn(1, 3, 16, 16))
    s1, s2 = torch.randn(1, 8, 1, 1), torch.randn(1, 8, 1, 1)
    assert torch.equal(gen.decode(content, s1), gen.decode(content, s1.flatten(1)))
    assert (gen.decode(content, s1) - gen.decode(content, s2)).abs().mean() > 1e-3
    with pytest.raises(ValueError, match=r"style codes must be \(N, 8\)"):
        gen.decode(content, torch.zeros(1, 4))


def test_munit_layer_norm_uses_the_whole_image_and_std_plus_eps():
    ln = LayerNorm(3)
    x = torch.randn(2, 3, 4, 5) * 3 + 1
    flat = x.flatten(1)
    expected = (x - flat.mean(1).view(2, 1, 1, 1)) / (flat.std(1).view(2, 1, 1, 1) + 1e-5)
    expected = expected * ln.gamma.view(1, 3, 1, 1) + ln.beta.view(1, 3, 1, 1)
    assert torch.allclose(ln(x), expected, atol=1e-6)
    gamma, beta = ln.gamma.detach(), ln.beta.detach()
    assert 0 <= float(gamma.min()) and float(gamma.max()) < 1 and float(beta.abs().max()) == 0


def test_no_normalisation_in_style_encoder_and_discriminator():
    gen = AdaINGenerator(dim=8, mlp_dim=16)
    norms = (torch.nn.InstanceNorm2d, torch.nn.BatchNorm2d, LayerNorm)
    assert not any(isinstance(m, norms) for m in gen.enc_style.modules())
    assert sum(isinstance(m, torch.nn.InstanceNorm2d) for m in gen.enc_content.modules()) == 3 + 2 * 4
    assert not any(isinstance(m, norms) for m in MultiScaleDiscriminator(dim=8).modules())
    assert sum(isinstance(m, LayerNorm) for m in gen.dec.modules()) == 2


@pytest.mark.parametrize("size, message", [(8, "sides >= 16"), (30, "multiples of 4"), (36, None)])
def test_image_sizes_the_encoders_can_halve(size, message):
    gen = AdaINGenerator(dim=4, n_res=1, mlp_dim=8)
    x = torch.zeros(1, 3, size, size)
    if message is None:
        assert gen(x).shape == x.shape
    else:
        with pytest.raises(ValueError, match=message):
            gen.encode(x)


def test_discriminator_rejects_images_too_small_for_its_scales():
    with pytest.raises(ValueError, match="too small for 3 scales of 4 stride-2 layers: use sides >= 64"):
        MultiScaleDiscriminator(dim=4)(torch.zeros(1, 3, 32, 32))
    assert len(MultiScaleDiscriminator(dim=4, n_layers=3, num_scales=2)(torch.zeros(1, 3, 32, 32))) == 2


# --------------------------------------------------------------------------- losses and training
def _tiny(**kw):
    torch.manual_seed(0)
    args = dict(dim=4, n_res=1, mlp_dim=8, dis_dim=4, dis_layers=2, dis_scales=1, lr_step=None)
    args.update(kw)
    return MUNITTask(**args)


def test_generator_losses_are_the_weighted_reconstructions_and_adversarial_terms():
    task = _tiny(recon_x_cyc_w=2.0)
    batch = {"A": torch.rand(2, 3, 16, 16) * 2 - 1, "B": torch.rand(2, 3, 16, 16) * 2 - 1}
    out = task.forward_step(batch, Phase("t", 1))
    assert out["style_a"].shape == (2, 8, 1, 1) and out["x_ab"].shape == (2, 3, 16, 16)
    g = task.update_loss("G", batch, out, Phase("t", 1))
    expected_x = munit.recon_loss(task.gen_a.decode(out["content_a"], out["style_a_prime"]), batch["A"]) + \
        munit.recon_loss(task.gen_b.decode(out["content_b"], out["style_b_prime"]), batch["B"])
    assert torch.allclose(g["recon_x"], expected_x)
    c_ab, s_ab = task.gen_b.encode(out["x_ab"])
    assert torch.allclose(g["recon_s"], munit.recon_loss(task.gen_a.encode(out["x_ba"])[1], out["style_a"])
                          + munit.recon_loss(s_ab, out["style_b"]))
    total = 10 * g["recon_x"] + g["recon_c"] + g["recon_s"] + g["adv"] + 2.0 * g["cycle"]
    assert torch.allclose(g["loss"], total)
    d = task.update_loss("D", batch, out, Phase("t", 1))
    assert torch.allclose(d["loss"], d["D_a"] + d["D_b"])
    assert "cycle" not in _tiny().update_loss("G", batch, _tiny().forward_step(batch, Phase("t", 1)), Phase("t", 1))


def test_latent_reconstruction_losses_are_zero_for_perfect_codes():
    class Perfect(torch.nn.Module):  # encodes back exactly the codes it was given
        def encode(self, x):
            return x[:, :2], x[:, 2:3, :1, :1]

    content, style = torch.randn(1, 2, 4, 4), torch.randn(1, 1, 1, 1)
    x = torch.cat([content, style.expand(1, 1, 4, 4)], 1)
    losses = munit.latent_reconstruction_losses(Perfect(), Perfect(), content, content, style, style, x, x)
    assert all(float(v) == 0 for v in losses.values()) and set(losses) == {"content_a", "content_b", "style_a", "style_b"}


def test_a_tiny_munit_learns_to_reconstruct_and_its_styles_diversify_the_output():
    task = _tiny(lr=2e-3)
    data = ShapesToTextures(length=500, size=16, seed=0)
    hist = Trainer(task, data, TrainConfig(steps=60, batch_size=4, progress=False, log_every=10)).fit()
    assert hist.values["G/recon_x"][-1] < 0.7 * hist.values["G/recon_x"][0]
    held = ShapesToTextures(length=4, size=16, seed=1, paired=True).pairs()
    outs = task.multimodal(held["A"], 3, "AtoB", torch.Generator().manual_seed(0))
    assert outs.shape == (4, 3, 3, 16, 16) and munit.mean_pairwise_distance(outs) > 0.01


def test_channels_of_each_domain_are_checked_and_may_differ():
    task = _tiny(channels_a=1)
    batch = {"A": torch.zeros(2, 1, 16, 16), "B": torch.zeros(2, 3, 16, 16)}
    out = task.forward_step(batch, Phase("t", 1))
    assert out["x_ab"].shape == (2, 3, 16, 16) and out["x_ba"].shape == (2, 1, 16, 16)
    assert task.sample(batch).shape == (16, 3, 16, 16)
    with pytest.raises(ValueError, match=r"domain B images must be \(N, 3, H, W\)"):
        task.forward_step({"A": torch.zeros(2, 1, 16, 16), "B": torch.zeros(2, 1, 16, 16)}, Phase("t", 1))


def test_step_schedule_halves_the_learning_rate_and_resumes_exactly(tmp_path):
    data = ShapesToTextures(length=20, size=16, seed=0)

    def run(until=None, resume=False):
        task = _tiny(lr=1e-3, lr_step=2)
        cfg = TrainConfig(steps=5, batch_size=2, progress=False, log_every=1, checkpoint_path=str(tmp_path / "m.pt"))
        trainer = Trainer(task, data, cfg)
        trainer.fit(resume=resume, until=until)
        return task, trainer

    straight, trainer = run()
    assert int(straight.iteration) == 5
    assert trainer.optimizers["G"].param_groups[0]["lr"] == pytest.approx(1e-3 * 0.25)  # iteration 4 used 1e-3 / 4
    run(until=2)
    resumed, _ = run(resume=True)
    assert all(torch.equal(a, b) for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()))


def test_translate_with_given_reference_and_random_styles():
    task = _tiny()
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    assert torch.equal(task.translate(x, "AtoB", generator=g1), task.translate(x, "AtoB", generator=g2))
    ref_style = task.style_of(x, "B")
    assert ref_style.shape == (2, 8, 1, 1)
    assert task.translate(x, "BtoA", style=ref_style.flatten(1)).shape == x.shape
    with pytest.raises(ValueError, match="one style code of 8 numbers per image"):
        task.translate(x, "AtoB", style=torch.zeros(3, 8))
    with pytest.raises(ValueError, match="direction must be"):
        task.translate(x, "AtoC")
    assert task.gen_a.training  # inference leaves the training mode as it was


def test_mean_pairwise_distance_and_decode_with_style():
    outs = torch.stack([torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2), torch.ones(1, 3, 2, 2)], 1)
    assert munit.mean_pairwise_distance(outs) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="K >= 2"):
        munit.mean_pairwise_distance(outs[:, :1])
    task = _tiny()
    image = torch.rand(3, 16, 16) * 2 - 1
    y = munit.decode_with_style(task, image, [0.5] * 8)
    assert y.shape == (3, 16, 16)
    assert torch.allclose(y, task.translate(image[None], "AtoB", torch.full((1, 8), 0.5))[0])
    with pytest.raises(ValueError, match="style must have 8 numbers"):
        munit.decode_with_style(task, image, [0.0] * 3)


# --------------------------------------------------------------------------- recipe and CLI
def test_recipes_and_sizes(monkeypatch):
    quick = recipes.munit("quick")
    assert isinstance(quick.data, ShapesToTextures) and quick.data[0]["B"].shape == (3, 32, 32)
    assert munit.describe(munit.PRESETS["paper"].task())["total"] == 46_594_716
    small = munit.Preset(size=32, dim=4, n_downsample=2, n_res=1, mlp_dim=8, dis_dim=4, dis_layers=4, dis_scales=3, steps=1,
                         batch_size=1, lr=1e-4, lr_step=None)
    monkeypatch.setitem(munit.PRESETS, "quick", small)
    with pytest.raises(ValueError, match="too small for 3 discriminator scales"):
        recipes.munit("quick")
    monkeypatch.setitem(munit.PRESETS, "quick", munit.Preset(**{**small.__dict__, "size": 12}))
    with pytest.raises(ValueError, match="sides >= 16"):
        recipes.munit("quick")


def test_empty_trainB_folder_is_refused(tmp_path):
    from tests.helpers import random_image, write_image

    write_image(tmp_path / "d" / "trainA" / "0.png", random_image(32, 32))
    (tmp_path / "d" / "trainB").mkdir()
    with pytest.raises(ValueError, match="trainB contains no images"):
        recipes.munit("quick", str(tmp_path / "d"))


def test_cli_trains_munit(tmp_path):
    cmd = [sys.executable, "-m", "course_lib.train", "munit", "--steps", "2", "--batch-size", "1",
           "--out", str(tmp_path / "run")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "step 2/2" in done.stdout and list((tmp_path / "run" / "samples").glob("*.png"))
