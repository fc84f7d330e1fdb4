"""Quick vs full mode, and the one-line set-up every notebook starts with.

The course runs every notebook in two sizes:

* ``quick``: small images and few steps, so a notebook finishes in minutes on a laptop CPU
  (and in CI);
* ``full``: the papers' image sizes and schedules, meant for a GPU.

One environment variable decides: ``COURSE_MODE=quick`` or ``COURSE_MODE=full``. When it is
unset (or ``auto``) the course picks ``full`` if a CUDA GPU is present and ``quick`` otherwise.
Notebooks never hard-code sizes twice: they ask :func:`by_mode` or a topic's preset.
"""

from __future__ import annotations

import os
import platform
import random
import sys
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np
import torch

Mode = Literal["quick", "full"]
T = TypeVar("T")

MODE_ENV = "COURSE_MODE"
_VALID = ("quick", "full", "auto")


def mode() -> Mode:
    """The current mode: ``"quick"`` or ``"full"`` (read from ``$COURSE_MODE`` every call)."""
    value = os.environ.get(MODE_ENV, "auto").strip().lower() or "auto"
    if value not in _VALID:
        raise ValueError(
            f"{MODE_ENV} must be one of {', '.join(_VALID)}; got {value!r}. "
            f"Set it with e.g. `export {MODE_ENV}=quick` (or unset it for the automatic choice)."
        )
    if value == "auto":
        return "full" if torch.cuda.is_available() else "quick"
    return value  # type: ignore[return-value]


def is_quick() -> bool:
    """True in quick mode (small sizes, few steps)."""
    return mode() == "quick"


def by_mode(quick: T, full: T) -> T:
    """Return ``quick`` or ``full`` depending on the current mode.

    >>> size = by_mode(quick=64, full=256)
    """
    return quick if is_quick() else full


def seed_everything(seed: int = 0, deterministic: bool = False) -> None:
    """Seed Python, NumPy and PyTorch (CPU and all GPUs).

    With ``deterministic=True`` PyTorch also refuses non-deterministic kernels where it can
    (slower on GPU; the default CPU kernels used in quick mode are already deterministic).
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


@dataclass(frozen=True)
class Setup:
    """What :func:`setup` decided: the device to use and the mode."""

    device: torch.device
    mode: Mode
    seed: int


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules


def setup(seed: int = 0, device: str | torch.device | None = None, verbose: bool = True) -> Setup:
    """Seed everything, choose the device and print one summary line per fact.

    Every notebook calls this in its first code cell so that a run's output says which versions,
    device and mode produced it.
    """
    from course_lib import __version__
    from course_lib.train.device import describe_device, select_device

    seed_everything(seed)
    dev = select_device(device, verbose=False)
    current = mode()
    if verbose:
        import torchvision

        print(
            f"course_lib {__version__} | python {platform.python_version()} | "
            f"torch {torch.__version__} | torchvision {torchvision.__version__}"
        )
        print(f"device: {describe_device(dev)}")
        hint = (
            "small images, few steps; set COURSE_MODE=full for the papers' sizes"
            if current == "quick"
            else "the papers' sizes and schedules; set COURSE_MODE=quick for a fast run"
        )
        print(f"mode: {current} ({hint}) | seed {seed}")
    return Setup(device=dev, mode=current, seed=seed)
