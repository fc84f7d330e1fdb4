"""VGG features and the Gatys/Johnson feature losses (hand-computed values; offline weights)."""

import pytest
import torch
from torchvision.models import vgg19

from course_lib import losses
from course_lib.style import vgg as vggmod
from course_lib.style.vgg import VGGFeatures, layer_names


def test_features_are_laid_out_like_torchvision_vgg19_and_vgg16():
    from torchvision.models import vgg16

    for arch, ref in (("vgg19", vgg19()), ("vgg16", vgg16())):
        ours = vggmod.build_features(arch)
        assert [type(m) for m in ours] == [type(m) for m in ref.features]
        assert ours.state_dict().keys() == ref.features.state_dict().keys()
        assert all(a.shape == b.shape for a, b in zip(ours.state_dict().values(), ref.features.state_dict().values()))
        assert len(layer_names(arch)) == len(ref.features)
    assert layer_names("vgg19")[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]
    assert "relu5_4" in layer_names("vgg19") and "relu5_4" not in layer_names("vgg16")


def test_features_are_named_sized_and_truncated():
    net = VGGFeatures(layers=("relu1_1", "conv3_1", "relu4_1"), weights=None)
    out = net(torch.rand(2, 3, 64, 64))
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "relu1_1": (2, 64, 64, 64), "conv3_1": (2, 256, 16, 16), "relu4_1": (2, 512, 8, 8)}
    assert len(net.body) == layer_names().index("relu4_1") + 1
    assert (out["relu1_1"] >= 0).all() and (out["conv3_1"] < 0).any()  # conv output kept before its ReLU
    assert not any(p.requires_grad for p in net.parameters()) and not net.train().training


def test_state_dict_file_is_loaded_and_normalisation_applied(tmp_path):
    torch.manual_seed(3)
    full = vgg19()
    torch.save(full.state_dict(), tmp_path / "vgg.pth")
    ours = VGGFeatures(layers=("relu2_1",), weights=tmp_path / "vgg.pth")
    x = torch.rand(1, 3, 32, 32)
    mean, std = torch.tensor(vggmod.IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(vggmod.IMAGENET_STD).view(1, 3, 1, 1)
    expected = full.features[:7]((x - mean) / std)
    assert ours.pretrained and torch.allclose(ours(x)["relu2_1"], expected, atol=1e-5)
    sym = VGGFeatures(layers=("relu2_1",), weights=tmp_path / "vgg.pth", input_range=(-1, 1))
    assert torch.allclose(sym(x * 2 - 1)["relu2_1"], expected, atol=1e-5)


def test_offline_imagenet_request_warns_once_and_falls_back(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(vggmod, "_warned", set())
    a = VGGFeatures(layers=("relu1_1",), weights="imagenet")
    b = VGGFeatures(layers=("relu1_1",), weights="imagenet")
    out = capsys.readouterr().out
    assert out.count("WARNING") == 1 and "COURSE_OFFLINE=1 forbids a download" in out
    assert not a.pretrained and "random" in a.weights_source
    assert torch.equal(a.body[0].weight, b.body[0].weight)  # the fallback is seeded


def _cached_vgg(tmp_path, monkeypatch):
    """A (random) VGG-19 features state dict in a fake torch cache, named as torchvision names it."""
    import hashlib

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(vggmod, "_warned", set())
    monkeypatch.setattr(vggmod, "_verified", set())
    path = vggmod.cached_weights_path("vgg19")
    path.parent.mkdir(parents=True)
    torch.manual_seed(5)
    torch.save(vggmod.build_features("vgg19").state_dict(), path)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_cached_imagenet_weights_are_used_in_every_mode_when_their_checksum_matches(tmp_path, monkeypatch, capsys):
    path, digest = _cached_vgg(tmp_path, monkeypatch)
    url = vggmod.WEIGHT_FILES["vgg19"][0]
    monkeypatch.setitem(vggmod.WEIGHT_FILES, "vgg19", (url, digest[:8]))
    for mode in ("quick", "gpu"):
        monkeypatch.setenv("COURSE_MODE", mode)
        v = VGGFeatures(layers=("relu1_1",), weights="imagenet")
        assert v.pretrained and v.weights_source == f"imagenet ({path.name})"
    assert torch.equal(v.body[0].weight, torch.load(path, weights_only=True)["0.weight"])
    assert "WARNING" not in capsys.readouterr().out


def test_cached_imagenet_weights_with_a_wrong_checksum_are_refused(tmp_path, monkeypatch):
    path, digest = _cached_vgg(tmp_path, monkeypatch)
    wrong = "0" * 8 if not digest.startswith("0" * 8) else "f" * 8
    monkeypatch.setitem(vggmod.WEIGHT_FILES, "vgg19", (vggmod.WEIGHT_FILES["vgg19"][0], wrong))
    with pytest.raises(ValueError, match=rf"sha256 starts with {digest[:8]}, expected {wrong}.*delete it"):
        VGGFeatures(layers=("relu1_1",), weights="imagenet")


def test_a_download_is_tried_only_when_not_offline(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(vggmod, "_warned", set())
    calls = []

    def fake_download(arch="vgg19", timeout=20.0):  # stands in for the network: nothing is sent
        calls.append(arch)
        raise OSError("no route to host")

    monkeypatch.setattr(vggmod, "download_weights", fake_download)
    VGGFeatures(layers=("relu1_1",), weights="imagenet")
    assert calls == []  # the tests run with COURSE_OFFLINE=1
    assert "COURSE_OFFLINE=1 forbids a download" in capsys.readouterr().out
    monkeypatch.setattr(vggmod, "_warned", set())
    monkeypatch.setenv("COURSE_OFFLINE", "0")
    monkeypatch.setenv("COURSE_MODE", "quick")  # quick mode downloads too when the network allows
    v = VGGFeatures(layers=("relu1_1",), weights="imagenet")
    assert calls == ["vgg19"] and not v.pretrained
    assert "download failed (OSError: no route to host)" in capsys.readouterr().out


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown VGG layer names"):
        VGGFeatures(layers=("relu9_9",), weights=None)
    with pytest.raises(ValueError, match=r"expects \(N, 3, H, W\)"):
        VGGFeatures(layers=("relu1_1",), weights=None)(torch.rand(1, 1, 8, 8))
    with pytest.raises(FileNotFoundError, match="no VGG weights at"):
        VGGFeatures(weights="/nonexistent.pth")


def test_gram_and_style_loss_hand_computed():
    f = torch.tensor([[[[1.0, 2.0], [0.0, 1.0]], [[0.0, 1.0], [2.0, 0.0]]]])  # N=1, C=2, H=W=2
    g = losses.gram_matrix(f)
    assert torch.equal(g, torch.tensor([[[6.0, 2.0], [2.0, 5.0]]]))
    assert torch.allclose(losses.gram_matrix(f, normalize=True), g / 8)
    a = torch.zeros(1, 2, 2)
    # E = 1 / (4 * N^2 * M^2) * sum (G - A)^2 with N = 2 channels, M = 4 positions
    assert torch.allclose(losses.style_layer_loss(f, a), torch.tensor((36 + 4 + 4 + 25) / (4 * 4 * 16)))
    assert torch.allclose(losses.style_loss({"l": f}, {"l": a}, {"l": 2.0}), 2 * losses.style_layer_loss(f, a))
    assert torch.allclose(losses.content_loss(f, torch.zeros_like(f)), torch.tensor(0.5 * 11))
    assert torch.allclose(losses.tv_loss(f), torch.tensor(((1 + 1) + (4 + 1)) + ((1 + 1) + (1 + 4)), dtype=torch.float))


def test_perceptual_loss_is_zero_for_identical_images_and_has_gradients():
    net = VGGFeatures(layers=("relu1_2", "relu2_2"), weights=None)
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    y = torch.rand(1, 3, 32, 32)
    assert float(losses.perceptual_loss(net, y, y)) == 0.0
    loss = losses.perceptual_loss(net, x, y, distance="l1")
    loss.backward()
    assert x.grad.abs().sum() > 0


def test_gram_and_style_loss_are_batched_hand_computed():
    # Two images in one batch: each gets its own Gram matrix, and Gatys' E_l sums over the batch.
    f1 = torch.tensor([[[1.0, 2.0], [0.0, 1.0]], [[0.0, 1.0], [2.0, 0.0]]])  # G = [[6, 2], [2, 5]]
    f2 = torch.tensor([[[1.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]]])  # G = [[1, 1], [1, 2]]
    f = torch.stack([f1, f2])  # (2, 2, 2, 2)
    g = losses.gram_matrix(f)
    assert g.shape == (2, 2, 2)
    assert torch.equal(g, torch.tensor([[[6.0, 2.0], [2.0, 5.0]], [[1.0, 1.0], [1.0, 2.0]]]))
    a = torch.zeros(1, 2, 2)  # one target for the whole batch (broadcast)
    expected = ((36 + 4 + 4 + 25) + (1 + 1 + 1 + 4)) / (4 * 2**2 * 4**2)
    assert torch.allclose(losses.style_layer_loss(f, a), torch.tensor(expected))
    assert torch.allclose(losses.gram_matrix(f, normalize=True), g / (2 * 2 * 2))


def test_feature_losses_reject_bad_input():
    f = torch.rand(1, 2, 3, 3)
    with pytest.raises(ValueError, match=r"gram_matrix expects \(N, C, H, W\) features, got shape \(2, 3\)"):
        losses.style_layer_loss(torch.rand(2, 3), torch.zeros(1, 3, 3))
    with pytest.raises(ValueError, match=r"target Gram \(1, 3, 3\) does not match features with 2 channels"):
        losses.style_layer_loss(f, torch.zeros(1, 3, 3))
    with pytest.raises(ValueError, match="target_grams is empty"):
        losses.style_loss({"l": f}, {})
    with pytest.raises(KeyError, match=r"lack the style layers \['m'\]"):
        losses.style_loss({"l": f}, {"m": torch.zeros(1, 2, 2)})
    with pytest.raises(ValueError, match="differ in shape"):
        losses.content_loss(f, torch.rand(1, 2, 3, 4))
    with pytest.raises(ValueError, match=r"tv_loss expects \(N, C, H, W\)"):
        losses.tv_loss(torch.rand(3, 4, 4))
    with pytest.raises(ValueError, match="reduction must be 'sum' or 'mean', got 'max'"):
        losses.tv_loss(torch.rand(1, 3, 4, 4), reduction="max")
    net = VGGFeatures(layers=("relu1_1",), weights=None)
    with pytest.raises(ValueError, match="distance must be 'l1' or 'l2'"):
        losses.perceptual_loss(net, torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), distance="l3")
    with pytest.raises(KeyError, match="'relu2_1' is missing"):
        losses.mean_std_loss({"relu1_1": f}, {"relu1_1": f}, layers=("relu2_1",))
    with pytest.raises(ValueError, match="no style layers"):
        losses.mean_std_loss({}, {})


def test_vgg_constructor_arguments_are_checked():
    with pytest.raises(ValueError, match="arch must be 'vgg19' or 'vgg16', got 'vgg11'"):
        VGGFeatures(arch="vgg11", weights=None)
    with pytest.raises(ValueError, match="pooling must be 'max' or 'avg'"):
        VGGFeatures(pooling="min", weights=None)
    with pytest.raises(ValueError, match=r"input_range must be \(0, 1\) or \(-1, 1\)"):
        VGGFeatures(input_range=(0, 255), weights=None)
