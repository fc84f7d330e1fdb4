"""Shipped checkpoints: models trained well past a notebook's quick run, verified before use.

A lecture trains each model for a couple of minutes to show the mechanics; what the method can
do shows only after much longer training. The course therefore ships small trained weight files
*inside the package* (a plain or Colab install has them, nothing is downloaded)::

    from course_lib import pretrained
    G = pretrained.load("tinygan")          # nn.Module in eval mode, weights sha256-checked
    pretrained.info("tinygan")              # how it was built: data, size, steps, time, metric

Every file is reproducible: ``python -m course_lib.pretrained build NAME`` (``make weights``)
retrains it from scratch with fixed seeds on the course's offline data and rewrites its manifest
entry (data, resolution, steps, wall time, machine, sha256, held-out metric). Files are
safetensors (plain tensors and a JSON header: loading one can never run code), in fp16 where the
quality allows, at most :data:`MAX_FILE_BYTES` each.

What each model is, how it is built and how it is scored lives in :mod:`course_lib.pretrained.specs`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from course_lib.pretrained.specs import SPECS, Spec

HERE = Path(__file__).resolve().parent
WEIGHTS_DIR = HERE / "weights"
MANIFEST = HERE / "manifest.json"
#: budget per file and for all files together (the package must stay small to install)
MAX_FILE_BYTES = 5 * 2**20
MAX_TOTAL_BYTES = 40 * 2**20


def manifest() -> dict[str, dict[str, Any]]:
    """The manifest: one entry per built checkpoint (see :func:`build`)."""
    return json.loads(MANIFEST.read_text()) if MANIFEST.is_file() else {}


def available() -> list[str]:
    """Names of the checkpoints this installation ships (built and listed in the manifest)."""
    return sorted(manifest())


def info(name: str) -> dict[str, Any]:
    """How the checkpoint ``name`` was built: its manifest entry."""
    _spec(name)
    entries = manifest()
    if name not in entries:
        raise FileNotFoundError(
            f"pretrained.info({name!r}): no checkpoint has been built for this model yet; build it "
            f"with `python -m course_lib.pretrained build {name}` (about {SPECS[name].budget_min} CPU-minutes)"
        )
    return dict(entries[name])


def _spec(name: str) -> Spec[Any]:
    if name not in SPECS:
        raise ValueError(f"unknown pretrained model {name!r}; known: {', '.join(sorted(SPECS))}")
    return SPECS[name]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load(name: str, device: str | torch.device = "cpu", weights_dir: str | os.PathLike | None = None) -> nn.Module:
    """The trained model ``name``, in eval mode, in fp32 on ``device``.

    The file's sha256 must equal the manifest's: a truncated, edited or swapped file is refused
    with an error that says how to rebuild it. ``weights_dir`` reads the file from elsewhere
    (a rebuilt copy), still checked against the manifest.
    """
    from safetensors.torch import load_file

    spec = _spec(name)
    entry = info(name)
    path = Path(weights_dir or WEIGHTS_DIR) / entry["file"]
    if not path.is_file():
        raise FileNotFoundError(
            f"pretrained.load({name!r}): the weight file {path} is missing (the manifest lists it); "
            f"reinstall course_lib or rebuild it with `python -m course_lib.pretrained build {name}`"
        )
    got = sha256_of(path)
    if got != entry["sha256"]:
        raise ValueError(
            f"pretrained.load({name!r}): {path} has sha256 {got[:16]}..., the manifest expects "
            f"{entry['sha256'][:16]}...: the file is corrupt or not the one that was built. Reinstall "
            f"course_lib, or rebuild it with `python -m course_lib.pretrained build {name}`."
        )
    state = load_file(str(path))
    model = spec.make_model()
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.to(device).eval()


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build(name: str, weights_dir: str | os.PathLike | None = None, update_manifest: bool = True,
          steps: int | None = None) -> dict[str, Any]:
    """Retrain ``name`` from scratch (fixed seeds), save its weights, score it; return the entry.

    With ``update_manifest`` the entry replaces the manifest's (what ``make weights`` does).
    ``steps`` shortens the run (tests); a shortened build never updates the manifest.
    """
    import platform
    import time

    from safetensors.torch import save_file

    from course_lib.train.device import cpu_info

    spec = _spec(name)
    out_dir = Path(weights_dir or WEIGHTS_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0, c0 = time.perf_counter(), time.process_time()
    model, settings = spec.train(steps)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    model = model.cpu().eval()
    dtype = torch.float16 if spec.fp16 else torch.float32
    tensors = {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()
               if v.is_floating_point()}
    tensors.update({k: v.detach().contiguous() for k, v in model.state_dict().items() if not v.is_floating_point()})
    path = out_dir / f"{name}.safetensors"
    fd, tmp = tempfile.mkstemp(dir=out_dir, suffix=".tmp")
    os.close(fd)
    try:
        # One metadata key only: safetensors writes its metadata map in hash order, which changes
        # from run to run, and a second key would make the file's bytes (and sha256) unstable.
        save_file(tensors, tmp, metadata={"model": name})
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{path} is {size / 2**20:.1f} MiB, over the {MAX_FILE_BYTES / 2**20:.0f} MiB budget "
                         "per checkpoint: choose a narrower model in its spec")
    # Score what a user will load: the saved (possibly fp16) weights, read back as fp32.
    from safetensors.torch import load_file

    reloaded = spec.make_model()
    reloaded.load_state_dict({k: v.float() for k, v in load_file(str(path)).items()})
    entry = {
        "file": path.name,
        "sha256": sha256_of(path),
        "bytes": size,
        "dtype": "fp16" if spec.fp16 else "fp32",
        "lecture": spec.lecture,
        "description": spec.description,
        **settings,
        "wall_s": round(seconds, 1),
        # CPU time does not grow when other work shares the machine; wall time does
        "cpu_s": round(cpu_seconds, 1),
        "machine": f"{cpu_info()[0]}, {torch.get_num_threads()} torch threads, torch {torch.__version__}, "
                   f"python {platform.python_version()}",
        "built": time.strftime("%Y-%m-%d"),
        "metric": spec.score(reloaded.eval()),
    }
    if update_manifest and steps is None:
        entries = manifest()
        entries[name] = entry
        total = sum(e["bytes"] for e in entries.values())
        if total > MAX_TOTAL_BYTES:
            raise ValueError(f"all checkpoints together would be {total / 2**20:.1f} MiB, over the "
                             f"{MAX_TOTAL_BYTES / 2**20:.0f} MiB budget")
        _atomic_write_text(MANIFEST, json.dumps(dict(sorted(entries.items())), indent=1) + "\n")
    return entry


__all__ = ["MAX_FILE_BYTES", "MAX_TOTAL_BYTES", "SPECS", "available", "build", "info", "load", "manifest"]
