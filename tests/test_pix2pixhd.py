"""pix2pixHD (course_lib.translation.pix2pixhd): fidelity to NVIDIA/pix2pixHD, parts, training stages, bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_lib.losses import feature_matching_loss
from course_lib.train import Phase, TrainConfig, Trainer
from course_lib.translation.pix2pixhd import (
    VGG_LAYERS,
    VGG_WEIGHTS,
    FeatureEncoder,
    GlobalGenerator,
    LocalEnhancer,
    MultiscaleDiscriminator,
    Pix2PixHDTask,
    VGGLoss,
    boundary_map,
    cluster_features,
    count_parameters,
    encode_input,
    instance_average_pool,
    kmeans,
    one_hot,
    pix2pixhd_phases,
    sample_feature_map,
)


# --------------------------------------------------------------------------- fidelity
def test_parameter_counts_match_the_reference_configurations():
    """NVIDIA/pix2pixHD, models/networks.py with the defaults of options/base_options.py and train_options.py.

    Cityscapes: label_nc 35, plus 1 channel for the instance boundary map -> G input 36 channels;
    D input 35 + 1 + 3 (the image) = 39 channels; instance norm (affine=False: no parameters),
    every conv with a bias. Counts from the layer lists, k*k*c_in*c_out + c_out per conv:

    * GlobalGenerator, ``label2city_512p`` (netG global, ngf 64, n_downsample_global 4, 9 blocks):
      front 112,960 + down 6,268,800 + 9 res blocks 169,887,744 + up 6,267,840 + out 9,411 = 182,546,755.
    * LocalEnhancer, ``label2city_1024p`` (netG local, ngf 32: G1 with 64 filters minus its output
      layer, + G2 front 74,976 + 3 res blocks 221,568 + up 18,464 + out 4,707) = 182,857,059.
    * NLayerDiscriminator (ndf 64, n_layers_D 3) on 39 channels: 2,801,601 per scale; num_D 2 (the
      default) 5,603,202, num_D 3 (the 1024p scripts and the paper) 8,404,803.
    * Encoder (--instance_feat: nef 16, n_downsample_E 4, feat_num 3): 788,803.

    (Built on the "meta" device: shapes only, no memory, instant.)
    """
    with torch.device("meta"):
        _count_reference_configurations()


def _count_reference_configurations() -> None:
    assert count_parameters(GlobalGenerator(36, 3, ngf=64, n_downsampling=4, n_blocks=9)) == 182_546_755
    g = LocalEnhancer(36, 3, ngf=32, n_downsample_global=4, n_blocks_global=9, n_blocks_local=3)
    # we keep G1's own output layer (ReflectionPad, 7x7 conv 64 -> 3, tanh: 9,411 parameters) for stage 1
    assert count_parameters(g) - count_parameters(g.global_generator.head) == 182_857_059
    assert count_parameters(MultiscaleDiscriminator(39, ndf=64, n_layers=3, num_D=1)) == 2_801_601
    assert count_parameters(MultiscaleDiscriminator(39)) == 5_603_202
    assert count_parameters(MultiscaleDiscriminator(39, num_D=3)) == 8_404_803
    assert count_parameters(FeatureEncoder(3, 3, nef=16, n_downsampling=4)) == 788_803


def test_task_defaults_are_the_references():
    task = Pix2PixHDTask(35, vgg=False, ngf=4, n_downsample_global=1, n_blocks_global=1, n_blocks_local=1, ndf=4)
    assert task.gan_mode == "lsgan" and task.lambda_feat == 10.0 and task.D.num_D == 3 and task.D.n_layers == 3
    assert task.G.in_channels == 36 and task.D.in_channels == 39
    opts = task.configure_optimizers()
    assert list(opts) == ["G", "D"] and all(o.defaults["lr"] == 2e-4 and o.defaults["betas"] == (0.5, 0.999)
                                            for o in opts.values())
    assert VGG_LAYERS == ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    assert VGG_WEIGHTS == (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)


# --------------------------------------------------------------------------- the input
def test_boundary_map_marks_both_sides_of_every_instance_border():
    inst = torch.tensor([[[1, 1, 2, 2],
                          [1, 1, 2, 2],
                          [3, 3, 3, 3]]])
    expected = torch.tensor([[[0, 1, 1, 0],
                              [1, 1, 1, 1],
                              [1, 1, 1, 1]]]).float()
    assert torch.equal(boundary_map(inst)[:, 0], expected)
    inst = torch.zeros(1, 5, 5, dtype=torch.long)
    inst[0, 1:4, 1:4] = 7
    b = boundary_map(inst)[0, 0]
    assert b[2, 2] == 0 and b[1, 1] == 1 and b[0, 1] == 1 and b[0, 0] == 0  # 4-neighbours only
    assert boundary_map(inst[:, None]).shape == (1, 1, 5, 5)


def test_touching_objects_of_one_class_are_separated_only_by_the_boundary_map():
    labels = torch.ones(1, 4, 6, dtype=torch.long)  # one class everywhere: two touching cars
    inst = torch.tensor([[[1, 1, 1, 2, 2, 2]] * 4])
    x = encode_input(labels, inst, label_nc=3)
    assert x.shape == (1, 4, 4, 6)
    assert torch.equal(x[0, 1], torch.ones(4, 6))  # the one-hot labels show no border at all
    assert x[0, 3, :, 2:4].eq(1).all() and x[0, 3, :, :2].eq(0).all()


def test_one_hot_and_its_errors():
    lab = torch.tensor([[[0, 2], [1, 2]]])
    oh = one_hot(lab, 3)
    assert oh.shape == (1, 3, 2, 2) and torch.equal(oh.argmax(1), lab) and torch.equal(oh.sum(1), torch.ones(1, 2, 2))
    with pytest.raises(ValueError, match=r"ids in \[0, 5\] but label_nc = 3.*at least 6"):
        one_hot(torch.tensor([[[0, 5]]]), 3)
    with pytest.raises(ValueError, match="label_nc"):
        one_hot(torch.tensor([[[-1, 0]]]), 3)
    with pytest.raises(TypeError, match="integer ids"):
        one_hot(torch.zeros(1, 2, 2), 3)
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        one_hot(torch.zeros(2, 2, dtype=torch.long), 3)


# --------------------------------------------------------------------------- generators
def test_local_enhancer_shapes_stage_outputs_and_frozen_global():
    g = LocalEnhancer(5, 3, ngf=4, n_downsample_global=2, n_blocks_global=1, n_blocks_local=1)
    x = torch.randn(2, 5, 32, 48)
    y = g(x)
    assert y.shape == (2, 3, 32, 48) and y.abs().max() <= 1
    assert g.forward_global(x).shape == (2, 3, 16, 24)
    g(x, fix_global=True).sum().backward()
    assert all(p.grad is None for p in g.global_generator.parameters()), "stage 2 trains G2 only"
    assert all(p.grad is not None for p in g.front.parameters())
    g.zero_grad(set_to_none=True)
    g(x).sum().backward()
    assert all(p.grad is not None for p in g.global_generator.body.parameters())


def test_g2_features_are_added_to_g1_features():
    torch.manual_seed(0)
    g = LocalEnhancer(3, 3, ngf=4, n_downsample_global=1, n_blocks_global=1, n_blocks_local=1)
    x = torch.randn(1, 3, 16, 16)
    coarse = g.global_generator.features(g.downsample(x))
    assert coarse.shape == g.front(x).shape == (1, 8, 8, 8)
    assert torch.allclose(g(x), g.head(g.up(g.blocks(g.front(x) + coarse))))


def test_multiscale_discriminator_returns_features_per_scale():
    d = MultiscaleDiscriminator(5, ndf=4, n_layers=3, num_D=3)
    out = d(torch.randn(2, 5, 64, 64))
    assert len(out) == 3 and all(len(s) == 5 for s in out)  # 4 intermediate maps + logits per scale
    assert [s[0].shape[-1] for s in out] == [33, 17, 9]  # padding 2, as the reference; pyramid 64, 32, 16
    assert out[0][-1].shape[1] == 1
    # the same PatchGAN weights shape at every scale, applied to average-pooled inputs
    x = torch.randn(1, 5, 32, 32)
    pooled = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
    assert torch.allclose(d(x)[1][-1], d.scales[1](pooled)[-1])
    assert all(isinstance(d.scales[0].groups[i][-1], torch.nn.LeakyReLU) for i in range(4))


def test_feature_matching_loss_weights_and_gradients():
    fake = [[torch.ones(1, 2, 4, 4, requires_grad=True), torch.zeros(1, 2, 2, 2, requires_grad=True), torch.zeros(1, 1, 2, 2)]
            for _ in range(2)]
    real = [[torch.zeros(1, 2, 4, 4, requires_grad=True), torch.zeros(1, 2, 2, 2), torch.ones(1, 1, 2, 2)]
            for _ in range(2)]
    # per scale: 2 intermediate maps, weight 4/2 each; 2 scales, weight 1/2 each; lambda 10; L1 = 1 then 0
    loss = feature_matching_loss(fake, real, lambda_feat=10)
    assert torch.isclose(loss, torch.tensor(2 * (4 / 2) * (1 / 2) * 10 * 1.0))
    loss.backward()
    assert real[0][0].grad is None, "the real features are targets"
    assert fake[0][0].grad is not None
    same = [[t.detach() for t in s] for s in real]
    assert float(feature_matching_loss(same, real)) == 0.0
    with pytest.raises(ValueError, match="same discriminator"):
        feature_matching_loss(fake[:1], real)


# --------------------------------------------------------------------------- feature encoder and k-means
def test_instance_average_pool_is_the_mean_per_instance_and_image():
    torch.manual_seed(0)
    feats = torch.randn(2, 3, 6, 6, requires_grad=True)
    inst = torch.randint(0, 3, (2, 6, 6))
    pooled = instance_average_pool(feats, inst)
    for b in range(2):
        for i in inst[b].unique():
            m = inst[b] == i
            assert torch.allclose(pooled[b][:, m], feats[b][:, m].mean(1, keepdim=True).expand(-1, int(m.sum())))
    pooled.sum().backward()
    assert feats.grad is not None
    enc = FeatureEncoder(3, 2, nef=4, n_downsampling=2)
    out = enc(torch.randn(1, 3, 16, 16), torch.zeros(1, 16, 16, dtype=torch.long))
    assert out.shape == (1, 2, 16, 16) and torch.allclose(out, out[:, :, :1, :1].expand_as(out))


def test_kmeans_finds_separated_clusters_and_sampling_varies():
    pytest.importorskip("sklearn", reason="pix2pixHD's clustering uses scikit-learn: `pip install scikit-learn`")
    g = torch.Generator().manual_seed(0)
    pts = torch.cat([torch.randn(20, 2, generator=g) * 0.05 + c for c in (torch.tensor([0.0, 0.0]), torch.tensor([3.0, 3.0]))])
    centres = kmeans(pts, 2)
    assert sorted(round(float(c.sum())) for c in centres) == [0, 6]
    assert len(kmeans(pts[:1], 5)) == 1
    with pytest.raises(ValueError, match="non-empty"):
        kmeans(torch.zeros(0, 2), 2)
    labels = torch.tensor([[[1, 1, 2, 2]]])
    inst = torch.tensor([[[5, 5, 6, 6]]])
    bank = {1: torch.tensor([[1.0], [-1.0]])}
    maps = [sample_feature_map(bank, labels, inst, 1, torch.Generator().manual_seed(s)) for s in range(8)]
    assert all(float(m[0, 0, 0, 2:].abs().sum()) == 0 for m in maps), "a class without clusters gets zeros"
    assert {float(m[0, 0, 0, 0]) for m in maps} == {1.0, -1.0} and all(m[0, 0, 0, 0] == m[0, 0, 0, 1] for m in maps)


def test_kmeans_is_scikit_learns_deterministic_and_keeps_dtype_and_distinct_centres():
    pytest.importorskip("sklearn", reason="pix2pixHD's clustering uses scikit-learn: `pip install scikit-learn`")
    g = torch.Generator().manual_seed(1)
    pts = torch.cat([torch.randn(30, 3, generator=g) * 0.1 + c for c in (-2.0, 0.0, 2.0)]).double()
    first, again = kmeans(pts, 3, seed=4), kmeans(pts, 3, seed=4)
    assert first.dtype == torch.float32 and first.shape == (3, 3) and torch.equal(first, again)
    # each centre is the mean of one blob: within 0.1 of -2, 0 or 2 in every coordinate
    assert sorted(round(float(c.mean())) for c in first) == [-2, 0, 2]
    assert torch.allclose(first, first.round(), atol=0.1)
    # repeated instances: never more centres than distinct points (and no scikit-learn warning)
    twice = torch.tensor([[1.0, 2.0]] * 4 + [[5.0, 5.0]] * 3)
    assert sorted(kmeans(twice, 5).tolist()) == [[1.0, 2.0], [5.0, 5.0]]


def test_kmeans_without_scikit_learn_says_how_to_install_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sklearn.cluster", None)  # an import of it now fails
    with pytest.raises(ImportError, match=r"pip install scikit-learn"):
        kmeans(torch.rand(4, 2), 2)


def test_cluster_features_groups_instances_by_class():
    pytest.importorskip("sklearn", reason="pix2pixHD's clustering uses scikit-learn: `pip install scikit-learn`")
    torch.manual_seed(0)
    enc = FeatureEncoder(3, 2, nef=4, n_downsampling=1)
    inst = torch.tensor([[[0, 0, 1, 1]] * 4] * 2)
    labels = torch.tensor([[[3, 3, 4, 4]] * 4] * 2)
    batch = {"target": torch.rand(2, 3, 4, 4) * 2 - 1, "labels": labels, "instances": inst}
    bank = cluster_features(enc, [batch], n_clusters=5)
    assert set(bank) == {3, 4} and all(c.shape[1] == 2 and len(c) <= 2 for c in bank.values())


def test_vgg_loss_uses_the_reference_layers_and_weights():
    loss = VGGLoss(weights=None)
    x, y = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    fx, fy = loss.vgg(x), loss.vgg(y)
    expected = sum(w * F.l1_loss(fx[k], fy[k]) for w, k in zip(VGG_WEIGHTS, VGG_LAYERS))
    assert torch.isclose(loss(x, y), expected) and float(loss(x, x)) == 0.0


# --------------------------------------------------------------------------- training
def _tiny_task(**kw) -> Pix2PixHDTask:
    kw = {"ngf": 4, "n_downsample_global": 1, "n_blocks_global": 1, "n_blocks_local": 1, "ndf": 8, "n_layers": 2,
          "num_D": 2, "vgg": False, "lr": 1e-3, **kw}
    return Pix2PixHDTask(**kw)


def test_three_stages_train_and_beat_the_mean_target():
    from course_lib.data.paired import InMemory, StreetScenes
    from course_lib.metrics import l1

    train = InMemory(StreetScenes(32, size=32, seed=0))
    test = StreetScenes(8, size=32, seed=1)
    test_batch = torch.utils.data.default_collate([test[i] for i in range(8)])
    torch.manual_seed(0)
    task = _tiny_task(label_nc=StreetScenes.label_nc, use_features=True, feat_num=2, nef=4, n_downsample_E=1)
    stages = pix2pixhd_phases(30, 20, 50)
    trainer = Trainer(task, train, TrainConfig(batch_size=4, progress=False, log_every=10), phases=stages)
    g1_before = [p.detach().clone() for p in task.G.global_generator.parameters()]
    trainer.fit(until=30)
    g2_front = [p.detach().clone() for p in task.G.front.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(g2_front, [p.detach() for p in task.G.front.parameters()]))
    assert not all(torch.equal(a, b) for a, b in zip(g1_before, task.G.global_generator.parameters())), "stage 1 trains G1"
    g1_after_stage1 = [p.detach().clone() for p in task.G.global_generator.body.parameters()]
    trainer.fit(until=50)
    assert all(torch.equal(a, b) for a, b in zip(g1_after_stage1, task.G.global_generator.body.parameters())), \
        "stage 2 keeps G1 fixed"
    assert not all(torch.equal(a, b) for a, b in zip(g2_front, task.G.front.parameters())), "stage 2 trains G2"
    trainer.fit()
    assert trainer.history.phase[0] == "global G1" and trainer.history.phase[-1] == "joint G1 + G2"
    feats = task.E(test_batch["target"], test_batch["instances"])
    pred = task.translate(test_batch, feats)
    baseline = train.tensors["target"].mean(0, keepdim=True).expand_as(pred)
    assert float(l1(pred, test_batch["target"]).mean()) < float(l1(baseline, test_batch["target"]).mean())
    grid = task.sample(test_batch)
    assert grid.shape == (24, 3, 32, 32)


def test_losses_of_one_iteration():
    torch.manual_seed(0)
    task = _tiny_task(label_nc=4)
    batch = {"labels": torch.randint(0, 4, (2, 16, 16)), "instances": torch.randint(0, 3, (2, 16, 16)),
             "target": torch.rand(2, 3, 16, 16) * 2 - 1}
    out = task.forward_step(batch, Phase("joint", 1))
    g = task.update_loss("G", batch, out, Phase("joint", 1))
    assert set(g) == {"loss", "gan", "feat"} and torch.isclose(g["loss"], g["gan"] + g["feat"])
    d = task.update_loss("D", batch, out, Phase("joint", 1))
    assert torch.isclose(d["loss"], 0.5 * (d["real"] + d["fake"]))
    task.G.zero_grad(set_to_none=True)
    d["loss"].backward()
    assert all(p.grad is None for p in task.G.parameters()), "the D step uses fake.detach()"
    glob = task.forward_step(batch, Phase("global", 1, options={"stage": "global"}))
    assert glob["fake"].shape == glob["real"].shape == (2, 3, 8, 8)
    with pytest.raises(ValueError, match="stage"):
        task.forward_step(batch, Phase("x", 1, options={"stage": "middle"}))


def test_l1_only_baseline_has_no_discriminator():
    task = _tiny_task(label_nc=4, gan_mode=None)
    assert task.D is None and list(task.configure_optimizers()) == ["G"]
    batch = {"labels": torch.randint(0, 4, (1, 16, 16)), "instances": torch.randint(0, 3, (1, 16, 16)),
             "target": torch.rand(1, 3, 16, 16) * 2 - 1}
    out = task.forward_step(batch, Phase("joint", 1))
    losses = task.update_loss("G", batch, out, Phase("joint", 1))
    assert torch.isclose(losses["loss"], F.l1_loss(out["fake"], batch["target"]))


def test_image_condition_mode_label_nc_0():
    task = _tiny_task(label_nc=0, use_instance=False, input_nc=1)
    batch = {"input": torch.randn(1, 1, 16, 16), "target": torch.rand(1, 3, 16, 16) * 2 - 1}
    assert task.translate(batch).shape == (1, 3, 16, 16)
    assert task.sample(batch).shape == (3, 3, 16, 16)


# --------------------------------------------------------------------------- bad input
def test_bad_input_names_the_problem():
    g = LocalEnhancer(4, 3, ngf=4, n_downsample_global=2, n_blocks_global=1, n_blocks_local=1)
    with pytest.raises(ValueError, match=r"36x36 is not divisible by the network's total downsampling factor = 8"):
        g(torch.randn(1, 4, 36, 36))
    with pytest.raises(ValueError, match="must have 4 channels, got 3"):
        g(torch.randn(1, 3, 32, 32))
    task = _tiny_task(label_nc=3)
    batch = {"labels": torch.full((1, 16, 16), 7), "instances": torch.zeros(1, 16, 16, dtype=torch.long),
             "target": torch.zeros(1, 3, 16, 16)}
    with pytest.raises(ValueError, match=r"ids in \[7, 7\] but label_nc = 3"):
        task.forward_step(batch, Phase("joint", 1))
    with pytest.raises(ValueError, match="feature map"):
        _tiny_task(label_nc=3, use_features=True, nef=4, n_downsample_E=1).translate(
            {"labels": torch.zeros(1, 16, 16, dtype=torch.long), "instances": torch.zeros(1, 16, 16, dtype=torch.long)})
    with pytest.raises(ValueError, match="same shape"):
        encode_input(torch.zeros(1, 4, 4, dtype=torch.long), torch.zeros(1, 4, 5, dtype=torch.long), 2)
    with pytest.raises(ValueError, match="label_nc must be an int >= 0"):
        _tiny_task(label_nc=-1)
    with pytest.raises(ValueError, match="gan_mode"):
        _tiny_task(label_nc=3, gan_mode="hinge")


def test_same_class_boundaries_are_the_ones_labels_cannot_show():
    from course_lib.translation.pix2pixhd import same_class_boundaries

    labels = torch.tensor([[[1, 1, 1, 1, 2, 2]]])
    inst = torch.tensor([[[5, 5, 6, 6, 7, 7]]])
    got = same_class_boundaries(labels, inst)[0, 0, 0]
    assert got.tolist() == [False, True, True, False, False, False]  # 5|6 is one class; 6|7 is a class border


def test_discriminator_encoder_and_label_errors():
    with pytest.raises(ValueError, match="num_D must be >= 1, got 0"):
        MultiscaleDiscriminator(6, ndf=4, num_D=0)
    d = MultiscaleDiscriminator(6, ndf=4, n_layers=2, num_D=2)
    with pytest.raises(ValueError, match="must have 6 channels, got 3.*in_channels=3"):
        d(torch.rand(1, 3, 32, 32))  # the condition was not stacked with the image
    with pytest.raises(ValueError, match=r"kmeans needs a non-empty \(M, D\) matrix"):
        kmeans(torch.zeros(0, 3), 2)
    with pytest.raises(ValueError, match=r"instances \(1, 4, 4\) do not match features \(1, 3, 8, 8\)"):
        instance_average_pool(torch.rand(1, 3, 8, 8), torch.zeros(1, 4, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"negative ids \(min -1\).*void"):
        one_hot(torch.full((1, 4, 4), -1), 3)
    with pytest.raises(ValueError, match=r"ids in \[0, 5\] but label_nc = 3.*at least 6"):
        one_hot(torch.tensor([[[0, 5]]]), 3)
    with pytest.raises(TypeError, match=r"integer ids.*\.long\(\)"):
        one_hot(torch.zeros(1, 4, 4), 3)  # a float map (e.g. resized with interpolation)
