"""VGG feature extractor with named layers, and pretrained weights that never hang offline.

``VGGFeatures`` wraps ``torchvision.models.vgg19`` (or ``vgg16``) and returns the activations you
name: ``conv1_1``, ``relu1_1``, ..., ``relu5_4``, ``pool1`` ... ``pool5``. It expects images in
[0, 1] (or says which range it gets) and applies the ImageNet normalisation itself, runs only up
to the deepest layer requested, and never trains.

Weights (``weights=``):

* ``"imagenet"``: torchvision's ImageNet weights, in every mode. Used when they are in torch's
  cache (``torch.hub.get_dir()/checkpoints``) and their sha256 starts with the digits in the
  file name (torchvision's own check); otherwise downloaded once (20 s timeout, same check)
  unless ``COURSE_OFFLINE=1`` (the tests, CI and the stored notebook outputs set it). When
  neither works, the extractor prints **one** warning and falls back to a seeded, randomly
  initialised network: random multi-layer features still carry texture statistics (Ustyuzhaninov
  et al. 2017, "What does it take to generate natural textures?"), so style transfer still runs,
  with different-looking results. ``.pretrained`` says which you got.
* a path: a state dict saved from ``torchvision.models.vgg19().state_dict()`` (or of ``.features``).
* ``None``: the seeded random network, without a warning.

Fetch the weights ahead of time with ``python -m course_lib.style.vgg --download``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.request
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn

from course_lib._validate import check_float, check_range, check_tensor

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: convolutions per block
BLOCKS = {"vgg19": (2, 2, 4, 4, 4), "vgg16": (2, 2, 3, 3, 3)}
#: torchvision's weight files (the 8 hex digits are the start of the file's sha256)
WEIGHT_FILES = {
    "vgg19": ("https://download.pytorch.org/models/vgg19-dcbb9e9d.pth", "dcbb9e9d"),
    "vgg16": ("https://download.pytorch.org/models/vgg16-397923af.pth", "397923af"),
}
_warned: set[str] = set()
_verified: set[tuple[str, int, int]] = set()


def layer_names(arch: str = "vgg19") -> list[str]:
    """Names of the modules of ``torchvision.models.<arch>().features``, in order."""
    names = []
    for b, n_convs in enumerate(BLOCKS[arch], start=1):
        for c in range(1, n_convs + 1):
            names += [f"conv{b}_{c}", f"relu{b}_{c}"]
        names.append(f"pool{b}")
    return names


def build_features(arch: str = "vgg19") -> nn.Sequential:
    """The convolutional part of VGG, laid out exactly as ``torchvision.models.<arch>().features``.

    Built directly (without the 120M-parameter classifier) and initialised as torchvision does:
    Kaiming-normal weights (fan out, ReLU gain), zero biases.
    """
    layers: list[nn.Module] = []
    c_in = 3
    for block, n_convs in enumerate(BLOCKS[arch]):
        c_out = (64, 128, 256, 512, 512)[block]
        for _ in range(n_convs):
            conv = nn.Conv2d(c_in, c_out, 3, padding=1)
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            assert conv.bias is not None  # Conv2d's default bias=True
            nn.init.zeros_(conv.bias)
            layers += [conv, nn.ReLU(inplace=True)]
            c_in = c_out
        layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers)


def cached_weights_path(arch: str = "vgg19") -> Path:
    url, _ = WEIGHT_FILES[arch]
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[1]


def check_weights_file(path: str | os.PathLike, arch: str = "vgg19") -> None:
    """Refuse a weights file whose sha256 does not start with torchvision's published prefix.

    torchvision names each weight file after the first 8 hex digits of its sha256 and checks
    them after a download; we check them on every first use, so a truncated or swapped cache
    file is never loaded silently. The result is remembered per (path, size, mtime).
    """
    path = Path(path)
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key in _verified:
        return
    _, prefix = WEIGHT_FILES[arch]
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    if not digest.hexdigest().startswith(prefix):
        raise ValueError(
            f"{path} is not torchvision's {arch} weight file: its sha256 starts with "
            f"{digest.hexdigest()[:8]}, expected {prefix}. The file is corrupt or incomplete: delete it "
            f"and run `python -m course_lib.style.vgg --download` (or copy a good {path.name} there)."
        )
    _verified.add(key)


def download_weights(arch: str = "vgg19", timeout: float = 20.0) -> Path:
    """Download torchvision's ImageNet weights into torch's cache (atomically, checksum checked)."""
    url, _ = WEIGHT_FILES[arch]
    target = cached_weights_path(arch)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        print(f"downloading the {arch} ImageNet weights (about 550 MB) from {url} ...", flush=True)
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=timeout) as r:
            shutil.copyfileobj(r, f, length=1 << 20)
        check_weights_file(tmp, arch)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return target


def _may_download() -> bool:
    from course_lib.config import offline

    return not offline()


def _load_state(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no VGG weights at {path}; pass weights='imagenet', None, or an existing file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - truncated, not a torch file, or not plain tensors
        # `from None`: torch's own message suggests weights_only=False, which would run any code
        # stored in the file; a weight file never needs it.
        raise ValueError(
            f"{path} is not a valid VGG state dict: torch.load could not read it as plain tensors "
            f"({type(exc).__name__}). The file may be truncated (an interrupted download) or be something "
            f"else. Delete it and fetch the weights again with `python -m course_lib.style.vgg --download`, "
            "or save your own with torch.save(torchvision.models.vgg19(weights=...).state_dict(), path)."
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} does not hold a state dict (a dict of tensors) but a {type(state).__name__}; "
                         "save one with torch.save(model.state_dict(), path)")
    # Accept the whole classifier's state dict or that of its `.features` part.
    return {k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier.")}


def _load_checked(features: nn.Sequential, path: str | os.PathLike, arch: str) -> None:
    """Load a state dict into ``features``, saying which file and architecture do not match."""
    try:
        features.load_state_dict(_load_state(path))
    except RuntimeError as exc:  # missing, unexpected or mis-shaped keys
        other = "vgg16" if arch == "vgg19" else "vgg19"
        detail = " ".join(line.strip() for line in str(exc).splitlines()[1:3])
        detail = detail if len(detail) <= 240 else detail[:240] + " ..."
        raise ValueError(
            f"the weights in {path} do not fit {arch}'s convolutional layers ({detail}). "
            f"Were they saved from {other}? Then pass arch={other!r}; otherwise save "
            f"torchvision.models.{arch}().state_dict() (or of its .features)."
        ) from None


class VGGFeatures(nn.Module):
    """Named activations of VGG-19 (or VGG-16) for images in ``input_range``.

    Args:
        layers: names to return, e.g. ``("relu1_1", "relu2_1", "relu3_1", "relu4_1")``.
        weights: ``"imagenet"``, a path to a state dict, or ``None`` (see the module docstring).
        arch: ``"vgg19"`` (the style-transfer papers') or ``"vgg16"`` (partial convolution's).
        input_range: value range of the images you pass; (0, 1) or (-1, 1).
        pooling: ``"max"`` (as trained) or ``"avg"`` (Gatys et al. found it gives smoother results).
        seed: seed of the random initialisation (used when no pretrained weights are loaded).

    ``forward(x)`` takes (N, 3, H, W) and returns ``{name: (N, C, H', W')}``. It raises a clear
    error for integer images, images smaller than the deepest layer needs (``.min_size``) and
    values far outside ``input_range`` (0-255 images, NaN); ``_check_input`` says when it reads
    values back, so that a loss that calls it at every step does not stall a GPU.
    """

    mean: torch.Tensor  # buffers (registered in __init__): ImageNet's statistics, (1, 3, 1, 1)
    std: torch.Tensor

    def __init__(
        self,
        layers: Iterable[str] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
        weights: str | os.PathLike | None = "imagenet",
        arch: str = "vgg19",
        input_range: tuple[float, float] = (0.0, 1.0),
        pooling: str = "max",
        seed: int = 0,
    ) -> None:
        super().__init__()
        if arch not in BLOCKS:
            raise ValueError(f"arch must be 'vgg19' or 'vgg16', got {arch!r}")
        names = layer_names(arch)
        self.layers = tuple(layers)
        unknown = [n for n in self.layers if n not in names]
        if unknown or not self.layers:
            raise ValueError(f"unknown VGG layer names {unknown or '(none given)'}; valid names: {names}")
        if pooling not in ("max", "avg"):
            raise ValueError(f"pooling must be 'max' or 'avg', got {pooling!r}")
        if tuple(input_range) not in ((0.0, 1.0), (-1.0, 1.0)):
            raise ValueError(f"input_range must be (0, 1) or (-1, 1), got {input_range}")
        self.arch, self.input_range = arch, (input_range[0], input_range[1])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            features = build_features(arch)
        self.pretrained, self.weights_source = self._load(features, weights)
        last = max(names.index(n) for n in self.layers)
        kept = list(features.children())[: last + 1]
        if pooling == "avg":
            kept = [nn.AvgPool2d(2, 2) if isinstance(m, nn.MaxPool2d) else m for m in kept]
        for m in kept:
            if isinstance(m, nn.ReLU):
                m.inplace = False  # we return the conv output *and* the relu output
        self.body = nn.Sequential(*kept)
        self.names = names[: last + 1]
        # Each pooling halves the size (rounding down) and needs at least 2x2 input.
        self.min_size = 2 ** sum(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for m in kept)
        self._checked_inputs: set[tuple] = set()  # (shape, device) whose values were checked (see forward)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def _load(self, features: nn.Sequential, weights: str | os.PathLike | None) -> tuple[bool, str]:
        if weights is None:
            return False, "random (seeded)"
        if weights != "imagenet":
            if not isinstance(weights, (str, os.PathLike)):
                raise TypeError(f"VGGFeatures: weights must be 'imagenet', a path to a state dict or None, "
                                f"got {type(weights).__name__}")
            _load_checked(features, weights, self.arch)
            return True, str(weights)
        path = cached_weights_path(self.arch)
        error = "not in torch's cache, and COURSE_OFFLINE=1 forbids a download"
        if not path.is_file() and _may_download():
            try:
                download_weights(self.arch)
            except Exception as exc:  # noqa: BLE001 - any failure means: fall back
                error = f"download failed ({type(exc).__name__}: {exc})"
        if path.is_file():
            check_weights_file(path, self.arch)  # a bad cache file is an error, never a silent fallback
            features.load_state_dict(_load_state(path))
            return True, f"imagenet ({path.name})"
        if self.arch not in _warned:
            _warned.add(self.arch)
            print(
                f"WARNING: {self.arch} ImageNet weights are unavailable ({error}). "
                "Using a seeded random network instead: its features still capture texture statistics, "
                "so style losses work, but results differ from the papers'. To use the real weights, "
                f"run `python -m course_lib.style.vgg --download` once with a network, or copy "
                f"{path.name} into {path.parent}."
            )
        return False, "random (seeded fallback: ImageNet weights unavailable)"

    def train(self, mode: bool = True) -> VGGFeatures:
        return super().train(False)  # a fixed feature extractor: never in training mode

    #: inputs beyond ``input_range`` by more than this many times its width are an error (see forward)
    RANGE_SLACK = 10.0

    def _check_input(self, x: torch.Tensor) -> None:
        where = "VGGFeatures"
        check_tensor(x, "x", where, "an (N, 3, H, W) tensor")
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"VGGFeatures expects (N, 3, H, W) images, got shape {tuple(x.shape)}"
                             + ("; add a batch dimension with x[None]" if x.dim() == 3 and x.shape[0] == 3 else ""))
        check_float(x, "x", where, self.input_range)
        if min(x.shape[-2:]) < self.min_size:
            deepest = self.names[-1]
            raise ValueError(
                f"{where}: layer {deepest!r} comes after {self.min_size.bit_length() - 1} poolings by 2 and needs "
                f"images of at least {self.min_size}x{self.min_size}, got {x.shape[-2]}x{x.shape[-1]}; "
                "use larger images (upsample them) or a shallower layer"
            )
        # The values. This forward runs at every step of a perceptual or style loss, and reading
        # values back on a GPU is a host-device sync that stalls the step; so on the CPU (no sync;
        # one pass over the input, small next to the convolutions) every call is checked, on other
        # devices only the first call with each input shape: that catches a data pipeline feeding
        # 0-255 images from its first batch on, at the cost of one sync per shape. The bound is
        # loose on purpose: network outputs fed to the loss (PConv U-Net's, AdaIN's decoder's) are
        # not squashed and overshoot the range early in training, by a few units at most; an 8-bit
        # image overshoots it by 250 times.
        if x.device.type != "cpu":
            key = (tuple(x.shape), x.device)
            if key in self._checked_inputs:
                return
            self._checked_inputs.add(key)
        check_range(x, "x", where, self.input_range, range_arg=None, tolerance=self.RANGE_SLACK)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """(N, 3, H, W) float images in ``input_range`` -> ``{layer name: activations}``."""
        self._check_input(x)
        if self.input_range == (-1.0, 1.0):
            x = (x + 1) / 2
        x = (x - self.mean) / self.std
        wanted, out = set(self.layers), {}
        for name, module in zip(self.names, self.body):
            x = module(x)
            if name in wanted:
                out[name] = x
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Download torchvision's VGG ImageNet weights into torch's cache.")
    parser.add_argument("--download", action="store_true",
                        help="fetch the weights (needs a network); without it, say whether they are cached")
    parser.add_argument("--arch", choices=sorted(BLOCKS), default="vgg19", help="which VGG (default vgg19)")
    args = parser.parse_args(argv)
    if args.download:
        print(f"saved {download_weights(args.arch)}")
    else:
        path = cached_weights_path(args.arch)
        print(f"{path}: {'present' if path.is_file() else 'missing (use --download)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
