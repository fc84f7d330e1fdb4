"""The three modes (quick, gpu, full), and the one-line set-up every notebook starts with.

The course runs every notebook at three sizes:

* ``quick``: small images and few steps, so a notebook finishes in minutes on a laptop CPU
  (and in CI). Results are reproducible (fp32, fixed seeds).
* ``gpu``: sized for one free Colab GPU (a T4: 16 GB, about 8 fp32 / 65 fp16 TFLOP/s), each
  notebook within about 15 minutes. A value a notebook gives no GPU-mode size for keeps its
  quick size, which is always safe on a GPU.
* ``full``: the papers' image sizes and schedules (hours to days on one GPU). Only when asked
  for: ``COURSE_MODE=full``.

One environment variable decides: ``COURSE_MODE=quick|gpu|full``. When it is unset (or
``auto``) the course picks ``gpu`` if a CUDA GPU is present and ``quick`` otherwise. It never
picks ``full`` by itself: a student who switches Colab to a GPU must not be handed a
three-day run. Notebooks never hard-code sizes twice: they ask :func:`by_mode` or a topic's preset.
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

Mode = Literal["quick", "gpu", "full"]
T = TypeVar("T")

MODE_ENV = "COURSE_MODE"
OFFLINE_ENV = "COURSE_OFFLINE"
_VALID = ("quick", "gpu", "full", "auto")
_UNSET: object = object()


def auto_mode(cuda_available: bool | None = None) -> Mode:
    """The automatic choice: ``"gpu"`` with a CUDA GPU, else ``"quick"``; never ``"full"``."""
    if cuda_available is None:
        cuda_available = torch.cuda.is_available()
    return "gpu" if cuda_available else "quick"


def mode() -> Mode:
    """The current mode: ``"quick"``, ``"gpu"`` or ``"full"`` (read from ``$COURSE_MODE`` every call)."""
    value = os.environ.get(MODE_ENV, "auto").strip().lower() or "auto"
    if value not in _VALID:
        raise ValueError(
            f"{MODE_ENV} must be one of {', '.join(_VALID)}; got {value!r}. "
            f"Set it with e.g. `export {MODE_ENV}=quick` (or unset it for the automatic choice)."
        )
    if value == "auto":
        return auto_mode()
    return value  # type: ignore[return-value]


def is_quick() -> bool:
    """True unless in ``full`` mode: quick sizes apply (the GPU mode overrides some of them)."""
    return mode() != "full"


def by_mode(quick: T, full: T, gpu: T = _UNSET) -> T:  # type: ignore[assignment]
    """Return the ``quick``, ``gpu`` or ``full`` value for the current mode.

    ``gpu`` defaults to the quick value: a quick size is always safe on a GPU, and a notebook
    lifts only the sizes that a Colab T4 can afford.

    >>> size = by_mode(quick=64, gpu=128, full=256)
    """
    current = mode()
    if current == "full":
        return full
    if current == "gpu" and gpu is not _UNSET:
        return gpu
    return quick


def offline() -> bool:
    """True when ``$COURSE_OFFLINE`` is 1/true/yes: nothing may be downloaded (tests and CI set it)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes")


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


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def expected_run_time(notebook: str, current: Mode, device: torch.device) -> str:
    """One line on how long ``notebook`` (e.g. ``"lectures/04_pix2pix"``) should take here.

    Quick-mode times are measured on the course's 2-core CPU (one torch thread); GPU-mode
    times are estimated for one Colab T4 from the FLOPs of every training step (``make
    estimate``). Both live in ``course_lib/notebook_times.json``.
    """
    import json
    from pathlib import Path

    table = json.loads((Path(__file__).with_name("notebook_times.json")).read_text())
    key = notebook.removesuffix(".ipynb").removesuffix(".py")
    if "/" not in key:  # "04_pix2pix" -> the lecture; "04_pix2pix_lab" -> the solution
        key = ("solutions/" if key.endswith("_lab") else "lectures/") + key
    key = key.replace("labs/", "solutions/")
    if key not in table["quick_s"]:
        known = ", ".join(sorted(table["quick_s"]))
        raise ValueError(f"setup(notebook={notebook!r}): unknown notebook; expected one of {known}")
    quick = table["quick_s"][key]
    if current == "full":
        return "hours or days: the papers' schedules (use the command-line trainer for runs this long)"
    if current == "gpu":
        gpu = table["gpu_s"].get(key)
        if gpu is None:
            return f"at most about {_minutes(quick)} (its quick sizes; no GPU-mode estimate yet)"
        return f"about {_minutes(gpu)} on a Colab T4 (estimated from FLOPs; faster GPUs take less)"
    where = "on a 2-core CPU (measured)" if device.type == "cpu" else "or less (measured on a 2-core CPU)"
    return f"about {_minutes(quick)} {where}"


_HINTS = {
    "quick": "small images, few steps, reproducible; COURSE_MODE=gpu for the Colab-GPU sizes",
    "gpu": "sized for one Colab T4, <= 15 min; COURSE_MODE=quick for the fast CPU run",
    "full": "the papers' sizes and schedules, asked for explicitly; COURSE_MODE=gpu or quick to go back",
}


def setup(
    seed: int = 0,
    device: str | torch.device | None = None,
    verbose: bool = True,
    notebook: str | None = None,
) -> Setup:
    """Seed everything, choose the device and print one summary line per fact.

    Every notebook calls this in its first code cell, naming itself (``notebook="04_pix2pix"``),
    so that a run's output says which versions, device and mode produced it and how long the
    run should take.
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
        print(f"mode: {current} ({_HINTS[current]}) | seed {seed}")
        if notebook is not None:
            print(f"expected run time: {expected_run_time(notebook, current, dev)}")
        if current == "gpu" and dev.type != "cuda":
            print("note: gpu mode on a machine without a CUDA GPU will be slow; COURSE_MODE=quick is the CPU size")
    elif notebook is not None:
        expected_run_time(notebook, current, dev)  # still refuse an unknown name
    return Setup(device=dev, mode=current, seed=seed)
