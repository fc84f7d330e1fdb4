"""Checkpoints that never lose work: atomic writes, safe loads, and the RNG states for exact resume.

A checkpoint is a plain dictionary of tensors, numbers, strings, lists and dicts, so it loads
with ``torch.load(..., weights_only=True)``: no pickled classes, nothing that breaks when the
library changes.
"""

from __future__ import annotations

import contextlib
import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

FORMAT_VERSION = 1


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``state`` to ``path`` atomically.

    The data goes to a temporary file in the same folder, is flushed to disk, and then renamed
    over ``path``. An interruption (Ctrl-C, a killed job, a full disk) leaves either the old
    checkpoint or the new one, never a half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({"format": FORMAT_VERSION, **state}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Raises ``FileNotFoundError`` or ``ValueError`` with a message that says what to do when the
    file is missing, truncated or not a course checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}; train first, or pass the path of an existing checkpoint."
        )
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - re-raised with a clearer message
        raise ValueError(
            f"could not read checkpoint {path} ({type(exc).__name__}: {exc}). The file is "
            "corrupt or was not written by course_lib; delete it and train again."
        ) from exc
    if not isinstance(state, dict) or "format" not in state:
        raise ValueError(f"{path} is not a course_lib checkpoint (no 'format' entry).")
    if state["format"] > FORMAT_VERSION:
        raise ValueError(
            f"{path} was written by a newer course_lib (format {state['format']}); upgrade course_lib."
        )
    return state


def rng_state() -> dict[str, Any]:
    """The state of every random generator the training loop touches (Python, NumPy, torch)."""
    np_state = np.random.get_state()
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
    """Restore what :func:`rng_state` captured."""
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

