"""Checkpoints that never lose work: atomic writes, checked loads, and the RNG states for exact resume.

A checkpoint is a plain dictionary of tensors, numbers, strings, lists and dicts, so it loads
with ``torch.load(..., weights_only=True)``: no pickled classes, nothing that breaks when the
library changes.

What can go wrong with a file on disk, and what this module does about it:

* an interruption during a save (Ctrl-C, a killed job): the data goes to a temporary file that
  replaces the checkpoint only when complete, so the old checkpoint survives; the orphaned
  temporary file is removed by :func:`clean_stale_temp_files` at the next start;
* a full disk: the write fails, the temporary file is deleted and :class:`CheckpointWriteError`
  says how much room the checkpoint needs and how much there is (:func:`check_free_space` can
  say so before training starts);
* silent corruption (a flipped bit on disk or in a copy): every checkpoint stores a SHA-256
  digest of its contents, verified on load (:class:`CheckpointCorruptedError`);
* a truncated or foreign file: a clear :class:`CheckpointError` instead of a zip-reader message.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import shutil
import tempfile
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

#: 1: plain dictionary; 2: adds the ``"sha256"`` digest of the contents.
FORMAT_VERSION = 2
DIGEST_KEY = "sha256"


class CheckpointError(ValueError):
    """A checkpoint cannot be used: unreadable, corrupted, or written by another run."""


class CheckpointCorruptedError(CheckpointError):
    """The contents of a checkpoint do not match the digest stored when it was written."""


class CheckpointMismatchError(CheckpointError):
    """A checkpoint belongs to another model or to a run with other settings."""


class CheckpointWriteError(OSError):
    """A checkpoint (or the run folder) cannot be written: full disk, read-only folder, ..."""


# ---------------------------------------------------------------------------- helpers
def human_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``: sizes in error messages."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _map_tensors(obj: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    """Apply ``fn`` to every tensor in a nest of dicts, lists and tuples."""
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, Mapping):
        return {k: _map_tensors(v, fn) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map_tensors(v, fn) for v in obj)
    return obj


def state_nbytes(state: Any) -> int:
    """Bytes of tensor data in a (nested) state: a checkpoint file is about this large."""
    total = 0

    def add(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    _map_tensors(state, add)
    return total


def state_digest(state: Any) -> str:
    """SHA-256 of a state's contents: keys, numbers, strings, and every tensor's dtype, shape and bytes.

    Computed from the values rather than from the file, so the digest can be stored *inside* the
    file it protects. A bit flip anywhere in a tensor's data changes it.
    """
    h = hashlib.sha256()

    def feed(obj: Any) -> None:
        if isinstance(obj, torch.Tensor):
            t = obj.detach().cpu().contiguous()
            h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
            # view(uint8) handles every dtype (numpy has no bfloat16); reshape(-1) handles 0-d tensors.
            h.update(t.reshape(-1).view(torch.uint8).numpy().data)
        elif isinstance(obj, Mapping):
            h.update(f"D{len(obj)}".encode())
            for k, v in obj.items():
                h.update(repr(k).encode())
                feed(v)
        elif isinstance(obj, (list, tuple)):  # a tuple may come back as a list: hash both alike
            h.update(f"L{len(obj)}".encode())
            for v in obj:
                feed(v)
        else:  # int, float (repr is exact), str, bool, None
            h.update(f"S{type(obj).__name__}:{obj!r}".encode())

    feed(state)
    return h.hexdigest()


def _unlink_quietly(path: str | Path | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


# ---------------------------------------------------------------------------- disk checks
def ensure_writable(folder: str | os.PathLike, what: str = "the run folder") -> Path:
    """Create ``folder`` and write and delete a probe file there, before any training is spent.

    Raises :class:`CheckpointWriteError` naming the folder and what to do when that fails
    (read-only file system, missing permission, a file in the way).
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise CheckpointWriteError(
            f"{what} {folder} is not writable ({type(exc).__name__}: {exc}); checkpoints are "
            "written there, so training would be lost. Choose a folder you can write to (command "
            "line: --out DIR; in code: TrainConfig.checkpoint_path) or fix the folder's permissions."
        ) from exc
    return folder


def _space_advice(path: Path, needed: int, free: int) -> str:
    kept = (f"The previous checkpoint {path} is intact. " if path.is_file() else "")
    return (
        f"Writing it needs about {human_bytes(needed)} free in {path.parent} (a checkpoint is "
        f"written next to the previous one and replaces it only when complete), and "
        f"{human_bytes(free)} is free there. {kept}Free at least {human_bytes(max(needed - free, 0))} "
        "(old runs, caches) or train into a folder on another disk (--out), then resume."
    )


def check_free_space(path: str | os.PathLike, needed: int) -> None:
    """Raise :class:`CheckpointWriteError` when the folder of ``path`` has less than ``needed`` bytes free."""
    path = Path(path)
    free = shutil.disk_usage(path.parent).free
    if free < needed:
        raise CheckpointWriteError(f"not enough disk space for the checkpoint {path}. "
                                   + _space_advice(path, needed, free))


def clean_stale_temp_files(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that saves of checkpoint ``path`` left behind when killed.

    Call it when a run starts (one writer per checkpoint path): a save in progress at that
    moment would belong to another run writing into the same folder, which is an error anyway.
    Returns the deleted files.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return []
    stale = sorted(path.parent.glob(f".{path.name}.*.tmp"))
    for p in stale:
        _unlink_quietly(p)
    return stale


# ---------------------------------------------------------------------------- save and load
def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``state`` to ``path`` atomically, with a digest of its contents.

    The data goes to a temporary file in the same folder, is flushed to disk, and then renamed
    over ``path``. An interruption (Ctrl-C, a killed job, a full disk) leaves either the old
    checkpoint or the new one, never a half-written file. A failed write (full disk, read-only
    folder) deletes the temporary file and raises :class:`CheckpointWriteError` with the space
    needed and free.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # One copy on the CPU serves both the digest and torch.save (which would copy anyway).
    payload: dict[str, Any] = {"format": FORMAT_VERSION, **_map_tensors(state, lambda t: t.detach().cpu())}
    payload[DIGEST_KEY] = state_digest(payload)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:
        # torch.save reports a full disk as "RuntimeError: [enforce fail at inline_container.cc]
        # ... unexpected pos": translate it into something a person can act on.
        _unlink_quietly(tmp)
        needed = state_nbytes(payload) + 64 * 1024  # tensor bytes plus the zip and pickle overhead
        free = shutil.disk_usage(path.parent).free
        cause = f"{type(exc).__name__}: {exc}"
        if free < needed:
            detail = "the disk is full. " + _space_advice(path, needed, free)
        else:
            detail = (f"{human_bytes(free)} is free in {path.parent} and the checkpoint needs about "
                      f"{human_bytes(needed)}, so check the folder's permissions and the disk. "
                      + (f"The previous checkpoint {path} is intact." if path.is_file() else ""))
        raise CheckpointWriteError(f"could not write the checkpoint {path} ({cause}): {detail}") from exc
    except BaseException:  # KeyboardInterrupt during the save: the old checkpoint stays
        _unlink_quietly(tmp)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` (``weights_only=True``) and verify it.

    Raises ``FileNotFoundError`` when the file is missing, :class:`CheckpointCorruptedError`
    when its contents do not match the stored digest, and :class:`CheckpointError` (a
    ``ValueError``) when it is truncated or not a course checkpoint; each says what to do.
    Checkpoints of course_lib versions without a digest load with a warning.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}; train first, or pass the path of an existing checkpoint."
        )
    try:
        # Always to the CPU first: the digest is computed there, and RNG states must stay there.
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - re-raised with a clearer message
        raise CheckpointError(
            f"could not read checkpoint {path} ({type(exc).__name__}: {exc}). The file is "
            "corrupt or was not written by course_lib (a truncated copy, an interrupted download?). "
            "Restore a good copy, or delete it (command line: --force) and train again."
        ) from exc
    if not isinstance(state, dict) or "format" not in state:
        raise CheckpointError(f"{path} is not a course_lib checkpoint (no 'format' entry).")
    if state["format"] > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} was written by a newer course_lib (format {state['format']}); upgrade course_lib."
        )
    stored = state.pop(DIGEST_KEY, None)
    if stored is None:
        warnings.warn(
            f"{path} has no checksum (written by an older course_lib), so it cannot be checked for "
            "corruption; loading it anyway. The next checkpoint written will have one.",
            stacklevel=2,
        )
    elif state_digest(state) != stored:
        raise CheckpointCorruptedError(
            f"checkpoint {path} is corrupted: its contents do not match the checksum stored when it "
            "was written (a bit flipped on disk, in memory or in a copy). Its weights cannot be "
            "trusted. Restore an earlier copy of the checkpoint if you have one, or delete it "
            "(command line: --force) and train again."
        )
    if torch.device(map_location).type != "cpu":
        state = _map_tensors(state, lambda t: t.to(map_location))
    return state


# ---------------------------------------------------------------------------- random generators
def rng_state() -> dict[str, Any]:
    """The state of every random generator the training loop touches (Python, NumPy, torch)."""
    # the legacy tuple (name, keys, pos, has_gauss, cached_gaussian): NumPy's default, which its
    # stubs type as a union with the dict form
    np_state = cast(tuple[str, np.ndarray, int, int, float], np.random.get_state(legacy=True))
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured (its tensors must be on the CPU)."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    npst = state["numpy"]
    np.random.set_state(
        ("MT19937", npst["keys"].numpy().astype(np.uint32), npst["pos"], npst["has_gauss"],
         npst["cached_gaussian"])
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
