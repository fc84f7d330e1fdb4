"""FID, KID and LPIPS (course_lib.standard_metrics): the real torchmetrics wiring, offline.

The ImageNet weights are not available offline, so the tests write *randomly initialised* networks
under the exact file names the libraries look for, in a temporary TORCH_HOME. Random features
still separate distributions (what FID, KID and LPIPS are tested for here); the numbers are of
course not the papers'. No test downloads: ``torch.hub.download_url_to_file`` fails them if called.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from course_lib import standard_metrics as sm

N = 10  # images per set: 64-d Inception features need few; 10 keeps each set's pass under a second


@pytest.fixture(autouse=True)
def _no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a test tried to download {args[:1]}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return tmp_path


def _random_inception_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """torch-fidelity's InceptionV3 with random weights (Kaiming, so that features are O(1))."""
    from unittest import mock

    import torch_fidelity.feature_extractor_inceptionv3 as tf

    # Its constructor loads weights (downloading them without a path): build it with the loading
    # stubbed out, then initialise it ourselves.
    with mock.patch.object(tf, "load_state_dict_from_url", lambda *a, **k: {}), \
            mock.patch.object(tf.FeatureExtractorInceptionV3, "load_state_dict", lambda self, *a, **k: None):
        net = tf.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    return net.state_dict()


@pytest.fixture(scope="module")
def weights_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TORCH_HOME holding random InceptionV3 and AlexNet weights under the libraries' file names."""
    pytest.importorskip("torchmetrics", reason=f"the metrics extra is not installed ({sm.INSTALL_HINT})")
    pytest.importorskip("torch_fidelity", reason=f"the metrics extra is not installed ({sm.INSTALL_HINT})")
    import torchvision

    home = tmp_path_factory.mktemp("torch_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", str(home))
        fid_path, lpips_path = sm.weights_path("FID"), sm.weights_path("LPIPS")
    fid_path.parent.mkdir(parents=True)
    torch.save(_random_inception_state(), fid_path)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        torch.save(torchvision.models.alexnet(weights=None).state_dict(), lpips_path)
    return home


@pytest.fixture
def with_weights(weights_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(weights_home))
    return weights_home


def _sets(seed: int = 0) -> dict[str, torch.Tensor]:
    """Two samples of one distribution (smooth colour blobs) and one of another (fine noise), in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    blobs = lambda: torch.nn.functional.interpolate(torch.rand(N, 3, 4, 4, generator=g), size=32, mode="bilinear",
                                                    align_corners=False)
    return {"A": blobs(), "A2": blobs(), "B": torch.rand(N, 3, 32, 32, generator=g)}


@pytest.fixture(scope="module")
def features(weights_home: Path) -> dict[str, torch.Tensor]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", str(weights_home))
        return {k: sm.inception_features(v, (0, 1), feature=64) for k, v in _sets().items()}


# ----------------------------------------------------------------------------- names and skip path
def test_file_names_are_the_libraries():
    pytest.importorskip("torch_fidelity")
    import torchvision
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    assert sm.INCEPTION_URL == URL_INCEPTION_V3
    assert sm.ALEXNET_URL == torchvision.models.AlexNet_Weights.DEFAULT.url


def test_skipped_without_weights_says_why_and_how(empty_cache: Path):
    x = torch.rand(4, 3, 32, 32)
    report = sm.standard_metrics(x, {"m": x.flip(0)}, value_range=(0, 1))
    assert report.values == {"m": {}}
    assert set(report.skipped) == {"FID", "KID", "LPIPS"}
    text = str(report)
    for m in ("FID", "KID", "LPIPS"):
        path = sm.weights_path(m)
        assert path.is_relative_to(empty_cache)
        assert report.skipped[m] == f"no weights at {sm._shown(path)} ({sm.HOW_TO_GET})"
        assert "--download" in report.skipped[m] and path.name in report.skipped[m]
    # one line per missing file: FID and KID share the Inception's
    assert text.splitlines() == [f"FID, KID skipped: {report.skipped['FID']}", f"LPIPS skipped: {report.skipped['LPIPS']}"]
    with pytest.raises(sm.MetricUnavailable, match="FID: no weights at"):
        sm.fid(x, x, (0, 1))
    with pytest.raises(sm.MetricUnavailable, match="LPIPS: no weights at"):
        sm.lpips(x, x, (0, 1))


def test_skipped_without_the_package(empty_cache: Path, monkeypatch: pytest.MonkeyPatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch_fidelity" else real_find_spec(name, *a))
    x = torch.rand(2, 3, 32, 32)
    report = sm.standard_metrics(x, x, (0, 1), measures=("FID",))
    assert report.skipped == {"FID": f"torch_fidelity not installed ({sm.INSTALL_HINT})"}


def test_download_is_refused_offline(empty_cache: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    x = torch.rand(2, 3, 32, 32)
    report = sm.standard_metrics(x, x, (0, 1), measures=("LPIPS",), download=True)
    assert "COURSE_OFFLINE=1 forbids downloading" in report.skipped["LPIPS"]
    assert not sm.weights_path("LPIPS").exists()


def test_downloads_only_when_asked(empty_cache: Path, weights_home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COURSE_OFFLINE", "0")
    calls = []

    def fake_download(url: str, dst: str, hash_prefix: str | None = None, **kwargs: object) -> None:
        calls.append((url, hash_prefix))  # "downloads" the test's random file
        shutil.copy(weights_home / "hub" / "checkpoints" / url.rsplit("/", 1)[1], dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    x = torch.rand(2, 3, 32, 32)
    assert "LPIPS" in sm.standard_metrics(x, x, (0, 1), measures=("LPIPS",)).skipped and calls == []
    report = sm.standard_metrics(x, x, (0, 1), measures=("LPIPS",), download=True)
    assert calls == [(sm.ALEXNET_URL, "7be5be79")]  # torchvision's sha256 prefix is checked
    assert report.skipped == {} and report.values["output"]["LPIPS"] == 0.0
    assert sm.weights_path("LPIPS").is_relative_to(empty_cache)


def test_bad_images_raise_even_when_skipped(empty_cache: Path):
    x = torch.rand(2, 3, 32, 32)
    with pytest.raises(ValueError, match="value_range"):
        sm.standard_metrics(x * 255, x, (0, 1))
    with pytest.raises(ValueError, match="paired=False"):
        sm.standard_metrics(x, x[:1], (0, 1))
    with pytest.raises(TypeError, match="float"):
        sm.standard_metrics((x * 255).byte(), x, (0, 1))


def test_cli_lists_the_files(empty_cache: Path, capsys: pytest.CaptureFixture[str]):
    assert sm.main([]) == 0
    out = capsys.readouterr().out
    assert out.count("unavailable") == 3 and sm.weights_path("FID").name in out
    assert sm.INCEPTION_URL in out and sm.ALEXNET_URL in out


# ----------------------------------------------------------------------------- with (random) weights
def test_fid_same_set_zero_other_distribution_large(features: dict[str, torch.Tensor]):
    a, a2, b = features["A"], features["A2"], features["B"]
    assert a.shape == (N, 64) and a.dtype == torch.float64 and a.std() > 1e-2  # Kaiming init: O(1) features
    same, similar, other = sm.fid_from_features(a, a), sm.fid_from_features(a, a2), sm.fid_from_features(a, b)
    # measured over 5 seeds (sets and random weights): same -7e-8 to -2e-8 (round-off of the
    # eigenvalues), similar 0.14-0.31, other 1.19-1.84, other / similar 5.2-8.9
    assert abs(same) < 1e-6 * other
    assert 0 < similar < other / 3
    # the same number from the definition, ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)), with scipy
    from scipy import linalg

    s1, s2 = np.cov(a.numpy(), rowvar=False), np.cov(b.numpy(), rowvar=False)
    direct = (((a.mean(0) - b.mean(0)) ** 2).sum().item()
              + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real))
    assert other == pytest.approx(direct, rel=1e-6)
    # N < D: computed in the images' space; torchmetrics' own D x D formula gives the same numbers
    assert other == pytest.approx(sm._fid_torchmetrics(a, b), rel=1e-6)
    assert similar == pytest.approx(sm._fid_torchmetrics(a, a2), rel=1e-6)


def test_fid_uses_torchmetrics_with_more_images_than_dimensions():
    pytest.importorskip("torchmetrics")
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 8, generator=g, dtype=torch.float64), torch.randn(30, 8, generator=g, dtype=torch.float64)
    y = y * 1.5 + 0.5
    assert sm.fid_from_features(x, y) == sm._fid_torchmetrics(x, y)
    assert sm.fid_from_features(x, y) == pytest.approx(sm._fid_low_rank(x, y), rel=1e-9)  # exact for N >= D too


def test_kid_same_distribution_near_zero_other_large(features: dict[str, torch.Tensor]):
    a, a2, b = features["A"], features["A2"], features["B"]
    (same, std), (similar, _), (other, _) = (sm.kid_from_features(a, x) for x in (a, a2, b))
    # measured over 5 seeds: same -0.0095 to -0.0033 (the unbiased estimate leaves the kernel's
    # diagonal out: slightly negative for equal sets), similar -0.005 to 0.002, other 0.056-0.121;
    # other / max(|same|, |similar|) 8.2-25
    assert std < 1e-12  # 10 < subset_size: every subset is the whole set (std 2e-16: round-off)
    assert abs(same) < other / 4 and abs(similar) < other / 4 and other > 0
    assert sm.kid_from_features(a, b, seed=1) == sm.kid_from_features(a, b, seed=1)


def test_lpips_zero_for_identical_and_grows_with_noise(with_weights: Path):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 32, 32, generator=g) * 2 - 1  # [-1, 1]
    noise = torch.randn(x.shape, generator=g)
    assert torch.equal(sm.lpips(x, x, (-1, 1)), torch.zeros(4))
    scores = [sm.lpips(x, (x + s * noise).clamp(-1, 1), (-1, 1)) for s in (0.05, 0.2, 0.8)]
    # measured means over 5 seeds: 0.0006-0.0008, 0.0084-0.0092, 0.049-0.054 (random AlexNet,
    # torchmetrics' trained linear layers); increasing for every image at every seed
    assert all((lo < hi).all() for lo, hi in zip(scores, scores[1:])), scores
    # value ranges are converted: the same images on the [0, 1] scale give the same scores
    assert torch.allclose(sm.lpips((x + 1) / 2, (x + 0.2 * noise).clamp(-1, 1) / 2 + 0.5, (0, 1)), scores[1],
                          atol=1e-5)
    with pytest.raises(ValueError, match="at least 31x31"):
        sm.lpips(x[..., :16, :16], x[..., :16, :16], (-1, 1))


def _report(seed: int = 0) -> sm.StandardMetrics:
    """The report for 5 real blob images, the same with faint noise ("close") and fine noise, in [-1, 1]."""
    s = _sets(seed)
    real = s["A"][:5] * 2 - 1  # the report in [-1, 1]: converted like the rest
    noise = torch.randn(real.shape, generator=torch.Generator().manual_seed(seed))
    close = (real + 0.05 * noise).clamp(-1, 1)
    return sm.standard_metrics(real, {"close": close, "noise": s["B"][:5] * 2 - 1}, (-1, 1), feature=64)


def test_standard_metrics_report(with_weights: Path):
    report = _report()
    assert report.skipped == {}
    assert set(report.values["noise"]) == {"FID", "KID", "LPIPS"}
    close, noise = report.values["close"], report.values["noise"]
    # measured over 5 seeds (sets and random weights): noise / close = 411-641 for FID, 59-85 for
    # LPIPS; KID of "close" is -0.0056 to -0.030 (unbiased, 5 images), noise's 0.053-0.139
    assert 0 < close["FID"] < noise["FID"] / 50 and 0 < close["LPIPS"] < noise["LPIPS"] / 20, report.values
    assert abs(close["KID"]) < noise["KID"], report.values
    text = str(report)
    assert "FID" in text and "LPIPS" in text and "skipped" not in text and "(5 real images)" in text
    # unpaired: LPIPS is left out, FID and KID stay
    s = _sets()
    unpaired = sm.standard_metrics(s["A"][:3], s["B"][:2], (0, 1), paired=False, measures=("FID", "LPIPS"),
                                   feature=64)
    assert set(unpaired.values["output"]) == {"FID"} and unpaired.skipped == {}


def test_default_inception_gives_2048_features(with_weights: Path):
    f = sm.inception_features(torch.rand(1, 3, 32, 32), (0, 1))
    assert f.shape == (1, 2048) and torch.isfinite(f).all()
