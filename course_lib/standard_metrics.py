"""FID, KID and LPIPS, the measures the papers report, through torchmetrics, never downloading by surprise.

The course's own measures (:mod:`course_lib.metrics`: L1, PSNR, SSIM, the patch sliced Wasserstein
distance) need no network weights. The papers' standard measures do:

* **FID** (Heusel et al. 2017, Sec. 3): the Frechet distance between two Gaussians fitted to the
  2048-d pool features of an ImageNet-trained InceptionV3, for a set of real and a set of fake
  images; lower is better, 0 = same feature statistics.
* **KID** (Binkowski et al. 2018, Sec. 3): the squared maximum mean discrepancy of the same
  features under a cubic polynomial kernel, unbiased (so it can be slightly negative), averaged
  over random subsets; it needs fewer images than FID to be trustworthy.
* **LPIPS** (Zhang et al. 2018, Sec. 3): the distance between *pairs* of images in the normalised
  activations of an ImageNet-trained AlexNet, weighted by linear layers fitted to human judgements;
  0 = identical, lower is better.

Images: (N, 3, H, W) float tensors (grayscale (N, 1, H, W) is repeated to 3 channels) in the
``value_range`` you name, ``(0, 1)`` or ``(-1, 1)``: every function converts itself (FID and KID
quantise to 8 bits, as the Inception network was trained on; LPIPS maps to [-1, 1]). FID/KID
resize to 299x299 inside the network; LPIPS needs H, W >= 31 (AlexNet's two poolings).

Weights (never downloaded unless you pass ``download=True``; ``COURSE_OFFLINE=1`` forbids even that).
All files are looked for in torch's cache, ``torch.hub.get_dir()/checkpoints`` (``$TORCH_HOME/hub/
checkpoints``, by default ``~/.cache/torch/hub/checkpoints``), under the names the libraries use:

* FID, KID: torch-fidelity's port of the TensorFlow FID Inception, ``weights-inception-2015-12-05-6726825d.pth``;
* LPIPS: torchvision's AlexNet, ``alexnet-owt-7be5be79.pth`` (its linear layers ship with torchmetrics).

:func:`standard_metrics` is the entry point for notebooks: it scores several methods against one
real set and, for each measure whose package or weights are missing, records a "skipped: why, how
to get it" line instead of raising. :func:`fid`, :func:`kid` and :func:`lpips` raise
:class:`MetricUnavailable` instead. ``python -m course_lib.standard_metrics`` lists the files and
whether they are present; ``--download`` fetches them (about 100 MB and 230 MB) where there is a
network.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from course_lib._validate import (
    check_4d,
    check_nonempty,
    check_positive_int,
    check_range,
    check_value_range,
)

ValueRange = tuple[float, float]

#: the weight files, named as torch-fidelity and torchvision name them (tests check the names
#: against the installed libraries); the hex digits of AlexNet's are the start of its sha256
INCEPTION_URL = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
                 "weights-inception-2015-12-05-6726825d.pth")
ALEXNET_URL = "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"
#: what each measure needs: (packages, weight URL)
NEEDS = {
    "FID": (("torchmetrics", "torch_fidelity"), INCEPTION_URL),
    "KID": (("torchmetrics", "torch_fidelity"), INCEPTION_URL),
    "LPIPS": (("torchmetrics",), ALEXNET_URL),
}
#: Inception feature sizes torchmetrics offers; the papers' FID and KID use 2048
FEATURE_SIZES = (64, 192, 768, 2048)
#: LPIPS's AlexNet needs this many pixels per side (conv 11/4 then two 3/2 max-poolings)
LPIPS_MIN_SIZE = 31
INSTALL_HINT = 'pip install -e ".[metrics]" in the repository, or pip install torchmetrics torch-fidelity'


class MetricUnavailable(RuntimeError):
    """A standard measure cannot run here: its package or its network weights are missing."""


def weights_path(metric: str) -> Path:
    """Where the weights of ``metric`` ("FID", "KID" or "LPIPS") must be: torch's hub cache."""
    if metric not in NEEDS:
        raise ValueError(f"metric must be one of {sorted(NEEDS)}, got {metric!r}")
    return Path(torch.hub.get_dir()) / "checkpoints" / NEEDS[metric][1].rsplit("/", 1)[1]


def _shown(path: Path) -> str:
    """``path`` with the home folder written ``~`` (messages and stored notebook outputs)."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except (ValueError, RuntimeError):  # not under home, or no home
        return str(path)


#: how to get missing weights (``python -m course_lib.standard_metrics`` also prints where each file comes from)
HOW_TO_GET = "get it with `python -m course_lib.standard_metrics --download` and a network, or copy the file there"


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    """The state dict in ``path``, loaded as plain tensors only (no code from a pickle ever runs)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - truncated, not a torch file, or not plain tensors
        raise MetricUnavailable(f"{path} is not a readable state dict of plain tensors ({type(exc).__name__}); "
                                "delete it and fetch it again") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise MetricUnavailable(f"{path} does not hold a state dict (a dict of tensors)")
    return state


def unavailable(metric: str) -> str | None:
    """Why ``metric`` cannot run here (missing package or weight file), or ``None`` when it can.

    Looks at files only: nothing is loaded or downloaded.
    """
    packages, _ = NEEDS[metric] if metric in NEEDS else (None, None)
    if packages is None:
        raise ValueError(f"metric must be one of {sorted(NEEDS)}, got {metric!r}")
    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    if missing:
        return f"{', '.join(missing)} not installed ({INSTALL_HINT})"
    path = weights_path(metric)
    if not path.is_file():
        return f"no weights at {_shown(path)} ({HOW_TO_GET})"
    return None


def download(metrics: tuple[str, ...] = tuple(NEEDS)) -> list[Path]:
    """Fetch the weight files of ``metrics`` into torch's cache (explicitly asked for: a network is needed)."""
    from course_lib.config import OFFLINE_ENV, offline

    if offline():
        raise MetricUnavailable(f"{OFFLINE_ENV}=1 forbids downloading the weights")
    done: list[Path] = []
    for metric in metrics:
        path = weights_path(metric)
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            url = NEEDS[metric][1]
            prefix = "7be5be79" if url == ALEXNET_URL else None  # torchvision's published sha256 prefix
            print(f"downloading {url} -> {path}", flush=True)
            torch.hub.download_url_to_file(url, str(path), hash_prefix=prefix)
        if path not in done:
            done.append(path)
    return done


def _require(metric: str, allow_download: bool) -> Path:
    reason = unavailable(metric)
    if reason is not None and allow_download and "not installed" not in reason:
        download((metric,))
        reason = unavailable(metric)
    if reason is not None:
        raise MetricUnavailable(f"{metric}: {reason}")
    return weights_path(metric)


# ----------------------------------------------------------------------------- networks
_networks: dict[tuple, nn.Module] = {}  # (kind, path, size, mtime, option) -> the built network


def _cache_key(kind: str, path: Path, option: object) -> tuple:
    stat = path.stat()
    return (kind, str(path), stat.st_size, stat.st_mtime_ns, option)


def inception(feature: int = 2048, download: bool = False) -> nn.Module:
    """torchmetrics' InceptionV3 for FID/KID: (N, 3, H, W) uint8 in [0, 255] -> (N, ``feature``) float32."""
    if feature not in FEATURE_SIZES:
        raise ValueError(f"feature must be one of {FEATURE_SIZES} (the papers use 2048), got {feature!r}")
    path = _require("FID", download)
    key = _cache_key("inception", path, feature)
    if key not in _networks:
        _read_state(path)  # refuse a file with pickled code: torch-fidelity loads with weights_only=False
        from torchmetrics.image.fid import NoTrainInceptionV3

        # An explicit path: torch-fidelity then loads the file and never calls its downloader.
        _networks.clear()  # one network at a time: the Inception holds about 100 MB
        _networks[key] = NoTrainInceptionV3(name="inception-v3-compat", features_list=[str(feature)],
                                            feature_extractor_weights_path=str(path))
    return _networks[key]


def _lpips_network(download: bool = False) -> nn.Module:
    """torchmetrics' LPIPS (AlexNet, per-pair scores) with torchvision's ImageNet AlexNet from the cache."""
    path = _require("LPIPS", download)
    key = _cache_key("lpips", path, "alex")
    if key not in _networks:
        _read_state(path)
        from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

        # torchvision finds the file in torch's cache and does not download (checked just above).
        _networks.clear()
        _networks[key] = LearnedPerceptualImagePatchSimilarity(net_type="alex", reduction="none")
    return _networks[key]


# ----------------------------------------------------------------------------- inputs
def _check_images(x: torch.Tensor, name: str, where: str, value_range: ValueRange) -> torch.Tensor:
    """(N, 1 or 3, H, W) float in ``value_range`` -> (N, 3, H, W) in [0, 1], float32."""
    check_4d(x, name, where, channels=(1, 3))
    check_nonempty(x, name, where)
    if not x.is_floating_point():
        raise TypeError(f"{where}: {name} must be float images in value_range {value_range}, got {x.dtype}; "
                        "convert 8-bit images with x.float() / 255 and value_range=(0, 1)")
    check_range(x, name, where, value_range)
    low, high = value_range
    x = ((x.detach().float() - low) / (high - low)).clamp(0, 1)
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def _to_uint8(x01: torch.Tensor) -> torch.Tensor:
    return (x01 * 255).round().to(torch.uint8)


@torch.no_grad()
def inception_features(images: torch.Tensor, value_range: ValueRange, feature: int = 2048, batch_size: int = 64,
                       download: bool = False) -> torch.Tensor:
    """Inception features of ``images`` (N, 3, H, W) in ``value_range``: (N, ``feature``) float64 on the CPU.

    Runs on the images' device, ``batch_size`` images at a time.
    """
    where = "inception_features"
    value_range = check_value_range(value_range, where)
    x = _check_images(images, "images", where, value_range)
    batch_size = check_positive_int(batch_size, "batch_size", where)
    net = inception(feature, download).to(x.device)
    out = [net(_to_uint8(x[i:i + batch_size])).double().cpu() for i in range(0, len(x), batch_size)]
    return torch.cat(out)


class _Given(nn.Module):
    """Feature "extractor" that returns what it is given: lets torchmetrics' FID and KID take features
    computed once per image set (one Inception pass per set, shared by FID and KID)."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def _check_feature_sets(real: torch.Tensor, fake: torch.Tensor, where: str) -> None:
    if real.dim() != 2 or fake.dim() != 2 or real.shape[1] != fake.shape[1] or min(len(real), len(fake)) < 2:
        raise ValueError(f"{where}: need two feature sets (N, D), (M, D) with N, M >= 2, got {tuple(real.shape)} "
                         f"and {tuple(fake.shape)}; it needs at least 2 images per set (papers use 10,000-50,000)")


def _fid_torchmetrics(real: torch.Tensor, fake: torch.Tensor) -> float:
    """torchmetrics' FrechetInceptionDistance on given features."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    metric = FrechetInceptionDistance(feature=_Given(real.shape[1]))
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    return float(metric.compute())


def _fid_low_rank(real: torch.Tensor, fake: torch.Tensor) -> float:
    """The same number as :func:`_fid_torchmetrics`, computed in the images' space (N, M < D).

    With A, B the centred features divided by sqrt(N - 1), sqrt(M - 1), the covariances are
    S1 = A^T A and S2 = B^T B; the non-zero eigenvalues of S1 S2 are those of (A B^T)(A B^T)^T, so
    tr (S1 S2)^(1/2) is the sum of the singular values of the N x M matrix A B^T.
    """
    real, fake = real.double(), fake.double()
    a = (real - real.mean(0)) / (len(real) - 1) ** 0.5
    b = (fake - fake.mean(0)) / (len(fake) - 1) ** 0.5
    mean_term = (real.mean(0) - fake.mean(0)).square().sum()
    return float(mean_term + a.square().sum() + b.square().sum() - 2 * torch.linalg.svdvals(a @ b.T).sum())


def fid_from_features(real: torch.Tensor, fake: torch.Tensor) -> float:
    """FID of two feature sets (N, D) and (M, D), N, M >= 2.

    torchmetrics' formula takes the eigenvalues of a D x D matrix (2048 x 2048: about 16 s on one
    CPU core, whatever N). With fewer images than dimensions, the course's usual case, the same
    number is computed exactly in the images' space instead (:func:`_fid_low_rank`, milliseconds;
    the tests check that both agree).
    """
    _check_feature_sets(real, fake, "fid")
    if max(len(real), len(fake)) < real.shape[1]:
        return _fid_low_rank(real, fake)
    return _fid_torchmetrics(real, fake)


def kid_from_features(real: torch.Tensor, fake: torch.Tensor, subsets: int = 100, subset_size: int = 1000,
                      seed: int = 0) -> tuple[float, float]:
    """torchmetrics' KID (mean, std over ``subsets``) of two feature sets; subsets of min(``subset_size``, N, M)."""
    from torchmetrics.image.kid import KernelInceptionDistance

    _check_feature_sets(real, fake, "kid")
    size = min(subset_size, len(real), len(fake))
    with warnings.catch_warnings():  # "will save all extracted features": they are already in memory here
        warnings.filterwarnings("ignore", message=".*will save all extracted features", category=UserWarning)
        metric = KernelInceptionDistance(feature=_Given(real.shape[1]), subsets=subsets, subset_size=size)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    with torch.random.fork_rng(devices=[]):  # the subsets are drawn with torch's global generator
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)


def fid(real: torch.Tensor, fake: torch.Tensor, value_range: ValueRange, feature: int = 2048,
        download: bool = False) -> float:
    """FID between image sets ``real`` (N, 3, H, W) and ``fake`` (M, 3, H', W'), both in ``value_range``.

    Raises :class:`MetricUnavailable` without the weights. With N, M < ``feature`` the covariances are
    singular and the value is biased upwards: compare FIDs only at equal N (Chong & Forsyth 2020).
    """
    return fid_from_features(inception_features(real, value_range, feature, download=download),
                             inception_features(fake, value_range, feature, download=download))


def kid(real: torch.Tensor, fake: torch.Tensor, value_range: ValueRange, feature: int = 2048, subsets: int = 100,
        subset_size: int = 1000, seed: int = 0, download: bool = False) -> tuple[float, float]:
    """KID (mean, std over subsets) between image sets ``real`` and ``fake`` in ``value_range``.

    Raises :class:`MetricUnavailable` without the weights. With fewer than ``subset_size`` images
    every subset is the whole set, and the std is 0.
    """
    return kid_from_features(inception_features(real, value_range, feature, download=download),
                             inception_features(fake, value_range, feature, download=download),
                             subsets, subset_size, seed)


@torch.no_grad()
def lpips(a: torch.Tensor, b: torch.Tensor, value_range: ValueRange, batch_size: int = 64,
          download: bool = False) -> torch.Tensor:
    """LPIPS (AlexNet) of each pair ``a[i]``, ``b[i]``: (N, 3, H, W) each, in ``value_range`` -> (N,) on the CPU.

    Raises :class:`MetricUnavailable` without the weights.
    """
    where = "lpips"
    value_range = check_value_range(value_range, where)
    x, y = _check_images(a, "a", where, value_range), _check_images(b, "b", where, value_range)
    if x.shape != y.shape:
        raise ValueError(f"{where}: a and b must have the same shape (one pair per index), got {tuple(a.shape)} "
                         f"and {tuple(b.shape)}")
    if min(x.shape[-2:]) < LPIPS_MIN_SIZE:
        raise ValueError(f"{where}: AlexNet needs images of at least {LPIPS_MIN_SIZE}x{LPIPS_MIN_SIZE}, got "
                         f"{x.shape[-2]}x{x.shape[-1]}; upsample both (e.g. F.interpolate(x, scale_factor=2))")
    batch_size = check_positive_int(batch_size, "batch_size", where)
    net = _lpips_network(download).to(x.device).get_submodule("net")  # the network itself: torchmetrics' state is not needed
    out = [net(x[i:i + batch_size] * 2 - 1, y[i:i + batch_size] * 2 - 1).reshape(-1).cpu()
           for i in range(0, len(x), batch_size)]
    return torch.cat(out)


# ----------------------------------------------------------------------------- the report
@dataclass
class StandardMetrics:
    """What :func:`standard_metrics` measured: ``values[method][measure]`` and ``skipped[measure] = why``."""

    values: dict[str, dict[str, float]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    n_real: int = 0

    def __str__(self) -> str:
        lines = []
        measures = [m for m in ("FID", "KID", "LPIPS") if any(m in v for v in self.values.values())]
        if measures and self.values:
            width = max(len(n) for n in self.values)
            header = "  ".join(f"{m + (' x1e3' if m == 'KID' else ''):>10}" for m in measures)
            lines.append(f"{'method':<{width}}  {header}   ({self.n_real} real images)")
            for name, v in self.values.items():
                cells = [(v[m] * 1e3 if m == "KID" else v[m]) if m in v else float("nan") for m in measures]
                lines.append(f"{name:<{width}}  " + "  ".join(f"{c:10.4f}" for c in cells))
        reasons: dict[str, list[str]] = {}  # FID and KID usually miss the same file: one line
        for m, why in self.skipped.items():
            reasons.setdefault(why, []).append(m)
        lines += [f"{', '.join(ms)} skipped: {why}" for why, ms in reasons.items()]
        return "\n".join(lines)


def standard_metrics(real: torch.Tensor, fakes: torch.Tensor | Mapping[str, torch.Tensor], value_range: ValueRange,
                     paired: bool = True, measures: tuple[str, ...] = ("FID", "KID", "LPIPS"),
                     feature: int = 2048, download: bool = False) -> StandardMetrics:
    """FID, KID and LPIPS of each method's outputs against ``real``, skipping what cannot run here.

    Args:
        real: (N, 3, H, W) real images in ``value_range``.
        fakes: one method's outputs, or ``{method name: outputs}``; (M, 3, H, W) each.
        value_range: ``(0, 1)`` or ``(-1, 1)``, the range of all the images.
        paired: ``fakes[name][i]`` is the output for ``real[i]`` (same shape), so LPIPS between
            them is meaningful (the mean is reported); otherwise LPIPS is left out.
        measures: which of FID, KID, LPIPS to compute.
        feature: Inception feature size for FID and KID (2048 as in the papers; 64 is much faster).
        download: fetch missing weights (needs a network; never with ``COURSE_OFFLINE=1``).

    A measure whose package or weights are missing is recorded in ``.skipped`` with the reason
    and the way to get it, never raised; bad images still raise. The real set's Inception
    features are computed once and shared by every method, FID and KID.
    """
    fakes = {"output": fakes} if isinstance(fakes, torch.Tensor) else dict(fakes)
    unknown = [m for m in measures if m not in NEEDS]
    if unknown or not measures:
        raise ValueError(f"standard_metrics: measures must be among {tuple(NEEDS)}, got {measures!r}")
    where = "standard_metrics"
    value_range = check_value_range(value_range, where)
    _check_images(real, "real", where, value_range)  # bad images raise even when every measure is skipped
    for name, images in fakes.items():
        _check_images(images, f"fakes[{name!r}]", where, value_range)
        if paired and images.shape != real.shape:
            raise ValueError(f"{where}: with paired=True, fakes[{name!r}] must have real's shape {tuple(real.shape)} "
                             f"(one output per real image), got {tuple(images.shape)}; pass paired=False otherwise")
    report = StandardMetrics(values={name: {} for name in fakes}, n_real=len(real))
    for m in measures:
        if m == "LPIPS" and not paired:
            continue
        reason = None
        try:
            _require(m, download)
        except (MetricUnavailable, OSError) as exc:  # OSError: a download that failed
            reason = str(exc).removeprefix(f"{m}: ")
        if reason is not None:
            report.skipped[m] = reason
    inception_measures = [m for m in ("FID", "KID") if m in measures and m not in report.skipped]
    if inception_measures:
        real_features = inception_features(real, value_range, feature)
        for name, images in fakes.items():
            fake_features = inception_features(images, value_range, feature)
            if "FID" in inception_measures:
                report.values[name]["FID"] = fid_from_features(real_features, fake_features)
            if "KID" in inception_measures:
                report.values[name]["KID"] = kid_from_features(real_features, fake_features)[0]
    if "LPIPS" in measures and paired and "LPIPS" not in report.skipped:
        for name, images in fakes.items():
            report.values[name]["LPIPS"] = float(lpips(images, real, value_range).mean())
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The weight files of FID, KID and LPIPS: where they go, "
                                                 "whether they are there; --download fetches them.")
    parser.add_argument("--download", action="store_true",
                        help="fetch the missing weight files (needs a network; refused with COURSE_OFFLINE=1)")
    args = parser.parse_args(argv)
    if args.download:
        for path in download():
            print(f"present: {path}")
        return 0
    for m in NEEDS:
        reason = unavailable(m)
        print(f"{m:<5} {'ready (' + str(weights_path(m)) + ')' if reason is None else 'unavailable: ' + reason}")
        if reason is not None:
            print(f"      the file: {NEEDS[m][1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
