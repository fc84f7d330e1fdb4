"""CycleGAN: fidelity to the reference implementation, the pool, the losses, training, data and recipe."""

import subprocess
import sys

import pytest
import torch

from course_lib.data.unpaired import SeasonScenes
from course_lib.losses import discriminator_loss
from course_lib.nn import PatchGAN
from course_lib.train import Phase, TrainConfig, Trainer
from course_lib.translation import cyclegan, recipes
from course_lib.translation.cyclegan import CycleGANTask, ImagePool, ResnetGenerator
from tests.helpers import random_image, write_image


def n_params(m):
    return sum(p.numel() for p in m.parameters())


# --------------------------------------------------------------------------- fidelity
def test_resnet_generator_matches_the_reference_count():
    # junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py, ResnetGenerator(input_nc=3, output_nc=3,
    # ngf=64, norm_layer=InstanceNorm2d (affine=False, so conv biases are kept), use_dropout=False,
    # n_blocks=9): 11,378,179 parameters. By layer: c7s1-64 3*64*49+64 = 9,472; d128 73,856;
    # d256 295,168; 9 blocks x 2 x (256*256*9+256) = 10,621,440; u128 295,040; u64 73,792;
    # c7s1-3 64*3*49+3 = 9,411.
    assert n_params(ResnetGenerator(3, 3, ngf=64, n_blocks=9)) == 11_378_179
    # The 128x128 variant (6 blocks) drops three blocks of 1,180,160 parameters.
    assert n_params(ResnetGenerator(3, 3, ngf=64, n_blocks=6)) == 11_378_179 - 3 * 1_180_160


def test_the_task_uses_the_shared_70x70_patchgan_with_instance_norm():
    task = CycleGANTask()
    assert isinstance(task.D_A, PatchGAN) and isinstance(task.D_B, PatchGAN)
    # Same reference file, NLayerDiscriminator(3, ndf=64, n_layers=3, InstanceNorm2d): 2,764,737.
    assert cyclegan.describe(task) == {"G_AB": 11_378_179, "G_BA": 11_378_179, "D_A": 2_764_737, "D_B": 2_764_737}
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in task.modules())
    opt = task.configure_optimizers()
    assert list(opt) == ["G", "D"]  # the reference's order: generators, then discriminators
    for o in opt.values():
        assert o.defaults["lr"] == 2e-4 and o.defaults["betas"] == (0.5, 0.999)
    assert task.lambda_cycle == 10 and task.lambda_identity == 0.5 and task.pool_A.pool_size == 50


def test_generator_shapes_range_and_reflection_padding():
    g = ResnetGenerator(3, 3, ngf=8, n_blocks=2)
    for size in (8, 32, 44):
        y = g(torch.randn(2, 3, size, size))
        assert y.shape == (2, 3, size, size) and float(y.detach().abs().max()) <= 1
    assert sum(isinstance(m, torch.nn.ReflectionPad2d) for m in g.modules()) == 2 + 2 * 2
    assert ResnetGenerator(1, 3, ngf=8, n_blocks=1)(torch.randn(1, 1, 16, 16)).shape == (1, 3, 16, 16)


@pytest.mark.parametrize("shape, message", [
    ((1, 3, 30, 32), "multiple of 4"),
    ((1, 3, 4, 4), "at least 8 pixels"),
    ((1, 1, 32, 32), r"expects \(N, 3, H, W\)"),
])
def test_generator_bad_input(shape, message):
    with pytest.raises(ValueError, match=message):
        ResnetGenerator(3, 3, ngf=4, n_blocks=1)(torch.zeros(shape))


# --------------------------------------------------------------------------- image pool
def test_pool_fills_then_returns_half_old_and_replaces():
    torch.manual_seed(0)
    pool = ImagePool(4)
    first = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 3, 2, 2)
    assert torch.equal(pool.query(first), first) and len(pool) == 4
    new_count = 0
    for t in range(400):
        before = {float(im[0, 0, 0]) for im in pool.images}
        out = float(pool.query(torch.full((1, 3, 2, 2), 100.0 + t))[0, 0, 0, 0])
        after = {float(im[0, 0, 0]) for im in pool.images}
        if out == 100.0 + t:
            new_count += 1
            assert after == before
        else:
            assert out in before and after == (before - {out}) | {100.0 + t}
    assert 160 < new_count < 240  # probability 1/2


def test_pool_detaches_passes_through_at_size_zero_and_checks_its_size():
    fake = torch.randn(3, 3, 4, 4, requires_grad=True) * 2
    out = ImagePool(3).query(fake)
    assert not out.requires_grad and torch.equal(out, fake.detach())
    assert torch.equal(ImagePool(0).query(fake), fake.detach())
    with pytest.raises(ValueError, match="pool_size must be an int >= 0"):
        ImagePool(-1)


def test_pool_is_saved_with_the_state_dict():
    task = CycleGANTask(ngf=4, ndf=4, n_blocks=1, pool_size=3)
    task.pool_A.query(torch.randn(2, 3, 8, 8))
    state = task.state_dict()
    other = CycleGANTask(ngf=4, ndf=4, n_blocks=1, pool_size=3)
    other.load_state_dict(state)
    assert len(other.pool_A) == 2 and torch.equal(torch.stack(other.pool_A.images), torch.stack(task.pool_A.images))
    assert len(other.pool_B) == 0


# --------------------------------------------------------------------------- losses
def _tiny_task(**kw):
    torch.manual_seed(0)
    return CycleGANTask(ngf=4, ndf=4, n_blocks=1, n_layers_d=2, **kw)


def test_generator_and_discriminator_losses_follow_the_paper():
    task = _tiny_task(pool_size=0)
    batch = {"A": torch.rand(2, 3, 16, 16) * 2 - 1, "B": torch.rand(2, 3, 16, 16) * 2 - 1}
    out = task.forward_step(batch, Phase("t", 1))
    g = task.update_loss("G", batch, out, Phase("t", 1))
    l1 = lambda x, y: (x - y).abs().mean()
    expected_cycle = 10 * (l1(task.G_BA(task.G_AB(batch["A"])), batch["A"]) + l1(task.G_AB(task.G_BA(batch["B"])), batch["B"]))
    expected_identity = 5 * (l1(task.G_AB(batch["B"]), batch["B"]) + l1(task.G_BA(batch["A"]), batch["A"]))
    expected_adv = ((task.D_B(out["fake_b"]) - 1) ** 2).mean() + ((task.D_A(out["fake_a"]) - 1) ** 2).mean()
    assert torch.allclose(g["cycle"], expected_cycle) and torch.allclose(g["identity"], expected_identity)
    assert torch.allclose(g["adv"], expected_adv)
    assert torch.allclose(g["loss"], expected_cycle + expected_identity + expected_adv)
    d = task.update_loss("D", batch, out, Phase("t", 1))
    half = 0.5 * discriminator_loss(task.D_B(batch["B"]), task.D_B(out["fake_b"].detach()), "lsgan")
    assert torch.allclose(d["D_B"], half)  # the discriminator's loss is halved
    assert task.update_loss("D", batch, out, Phase("t", 1))["loss"].grad_fn is not None
    assert "identity" not in _tiny_task(lambda_identity=0.0).update_loss("G", batch, out, Phase("t", 1))


def test_cycle_and_identity_loss_functions():
    x, y = torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 0.5)
    assert float(cyclegan.cycle_consistency_loss(x, y)) == 0.5 == float(cyclegan.identity_loss(x, y))
    with pytest.raises(ValueError, match="differ in shape"):
        cyclegan.cycle_consistency_loss(x, y[..., :2])


def test_mismatched_channel_counts():
    with pytest.raises(ValueError, match="channel counts must match.*lambda_identity=0"):
        CycleGANTask(channels_a=1, channels_b=3)
    task = CycleGANTask(channels_a=1, channels_b=3, ngf=4, ndf=4, n_blocks=1, n_layers_d=2, lambda_identity=0.0)
    batch = {"A": torch.zeros(1, 1, 16, 16), "B": torch.zeros(1, 3, 16, 16)}
    out = task.forward_step(batch, Phase("t", 1))
    assert out["fake_b"].shape == (1, 3, 16, 16) and out["rec_a"].shape == (1, 1, 16, 16)
    assert task.sample(batch).shape == (6, 3, 16, 16)
    with pytest.raises(ValueError, match=r"domain B images must be \(N, 3, H, W\)"):
        task.forward_step({"A": torch.zeros(1, 1, 16, 16), "B": torch.zeros(1, 1, 16, 16)}, Phase("t", 1))
    with pytest.raises(KeyError, match="'A' and a 'B'"):
        task.forward_step(torch.zeros(1, 3, 16, 16), Phase("t", 1))


def test_images_too_small_for_the_discriminator():
    task = CycleGANTask(ngf=4, ndf=4, n_blocks=1)  # 70x70 PatchGAN: 3 stride-2 layers
    with pytest.raises(ValueError, match="too small for a PatchGAN with 3 stride-2 layers.*sides >= 24"):
        task.forward_step({"A": torch.zeros(1, 3, 16, 16), "B": torch.zeros(1, 3, 16, 16)}, Phase("t", 1))
    with pytest.raises(ValueError, match="domain A images are 18x18.*multiple of 4"):
        task.forward_step({"A": torch.zeros(1, 3, 18, 18), "B": torch.zeros(1, 3, 16, 16)}, Phase("t", 1))


# --------------------------------------------------------------------------- learning and resume
def test_a_tiny_cyclegan_beats_the_untranslated_input_in_seconds():
    torch.manual_seed(0)
    task = CycleGANTask(ngf=8, ndf=8, n_blocks=2, n_layers_d=2, lr=2e-3)
    data = SeasonScenes(length=500, size=16, seed=0)
    Trainer(task, data, TrainConfig(steps=60, batch_size=4, progress=False, log_every=20)).fit()
    held = SeasonScenes(length=16, size=16, seed=1, paired=True).pairs()
    scores = cyclegan.heldout_scores(lambda x: task.translate(x, "AtoB"), held["A"], held["B"])
    assert scores["model"]["l1"] < 0.6 * scores["input"]["l1"]
    assert scores["model"]["psnr"] > scores["input"]["psnr"] + 3


def test_resume_is_exact_including_the_pools(tmp_path):
    data = SeasonScenes(length=50, size=16, seed=0)

    def run(until=None, resume=False):
        torch.manual_seed(0)
        task = CycleGANTask(ngf=4, ndf=4, n_blocks=1, n_layers_d=2, pool_size=3)
        cfg = TrainConfig(steps=6, batch_size=2, progress=False, log_every=2, lr_decay_start=3,
                          checkpoint_path=str(tmp_path / "ck.pt"))
        Trainer(task, data, cfg).fit(resume=resume, until=until)
        return task

    straight = run()
    run(until=3)
    resumed = run(resume=True)
    assert all(torch.equal(a, b) for a, b in zip(straight.state_dict().values(), resumed.state_dict().values())
               if isinstance(a, torch.Tensor))
    assert torch.equal(torch.stack(straight.pool_B.images), torch.stack(resumed.pool_B.images))


def test_heldout_scores_of_the_identity_equal_the_baseline():
    held = SeasonScenes(length=4, size=16, seed=3, paired=True).pairs()
    s = cyclegan.heldout_scores(lambda x: x, held["A"], held["B"])
    assert s["model"] == s["input"] and s["input"]["l1"] > 0.3


# --------------------------------------------------------------------------- recipe and CLI
def _unpaired_folder(root, n_a=3, n_b=2):
    for i in range(n_a):
        write_image(root / "trainA" / f"{i}.png", random_image(40, 40, i))
    for i in range(n_b):
        write_image(root / "trainB" / f"{i}.jpg", random_image(40, 40, 10 + i))
    return root


def test_recipes_build_for_both_presets_and_real_folders(tmp_path):
    quick = recipes.cyclegan("quick")
    assert isinstance(quick.data, SeasonScenes) and quick.config.lr_decay_start == cyclegan.PRESETS["quick"].lr_decay_start
    assert quick.data[0]["A"].shape == (3, 32, 32)
    paper = recipes.cyclegan("paper", str(_unpaired_folder(tmp_path / "h2z")))
    assert cyclegan.describe(paper.task)["G_AB"] == 11_378_179
    assert paper.data[0]["A"].shape == (3, 256, 256)  # 286 -> 256 random crops of the folder's images
    assert paper.config.steps == 200 * 3 and paper.config.lr_decay_start == 100 * 3 and paper.config.batch_size == 1
    with pytest.raises(ValueError, match="unknown CycleGAN preset"):
        recipes.cyclegan("huge")


def test_empty_trainB_and_bad_data_names(tmp_path):
    root = _unpaired_folder(tmp_path / "h2z", n_b=0)
    (root / "trainB").mkdir()
    with pytest.raises(ValueError, match="trainB contains no images"):
        recipes.cyclegan("quick", str(root))
    with pytest.raises(ValueError, match="neither a procedural data set"):
        recipes.cyclegan("quick", str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="'facades' is a paired data set"):
        recipes.cyclegan("quick", "facades")


def test_registry_names_download_and_read_the_unpaired_layout(tmp_path, monkeypatch):
    import hashlib

    from course_lib.data import REGISTRY, DatasetSpec
    from tests.helpers import jpeg_bytes, make_zip

    members = {f"tiny2zebra/{split}/{i}.jpg": jpeg_bytes(random_image(36, 36, i))
               for split in ("trainA", "trainB", "testA", "testB") for i in range(2)}
    archive = make_zip(tmp_path / "tiny2zebra.zip", members)
    spec = DatasetSpec("tiny2zebra", (archive.as_uri(),), "tiny2zebra.zip", hashlib.sha256(archive.read_bytes()).hexdigest(),
                       archive.stat().st_size, "unpaired", "tiny2zebra", "test", "a tiny unpaired archive")
    monkeypatch.setitem(REGISTRY, "tiny2zebra", spec)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    rec = recipes.cyclegan("quick", "tiny2zebra")
    assert len(rec.data) == 2 and rec.data[1]["B"].shape == (3, 32, 32)
    assert (tmp_path / "cache" / "tiny2zebra" / ".complete").is_file()
    # the real entries are wired to the same path (their archives are verified by sha256 in the registry)
    for name in ("horse2zebra", "summer2winter_yosemite", "monet2photo"):
        assert REGISTRY[name].layout == "unpaired" and REGISTRY[name].sha256


def test_recipe_rejects_images_too_small_for_the_generator(monkeypatch):
    for size, message in ((4, "at least 8 pixels"), (30, "multiple of 4"), (16, "too small for the 70x70 PatchGAN")):
        monkeypatch.setitem(cyclegan.PRESETS, "quick", cyclegan.Preset(size=size, ngf=4, ndf=4, n_blocks=1, steps=1,
                                                                       batch_size=1, lr=1e-3, lr_decay_start=None))
        with pytest.raises(ValueError, match=message):
            recipes.cyclegan("quick")


def test_cli_trains_cyclegan_on_a_folder(tmp_path):
    root = _unpaired_folder(tmp_path / "h2z")
    cmd = [sys.executable, "-m", "course_lib.train", "cyclegan", "--data", str(root), "--steps", "2",
           "--batch-size", "1", "--out", str(tmp_path / "run")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "step 2/2" in done.stdout and (tmp_path / "run" / "checkpoint.pt").is_file()
    listing = subprocess.run([sys.executable, "-m", "course_lib.train", "--list"], capture_output=True, text=True)
    assert "cyclegan" in listing.stdout and "munit" in listing.stdout
