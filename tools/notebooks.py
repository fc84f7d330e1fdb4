"""Shared helpers of the notebook tools: where notebooks live, how to read and execute them."""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
LECTURES, LABS, SOLUTIONS = ROOT / "lectures", ROOT / "labs", ROOT / "solutions"
EXECUTED_DIRS = (LECTURES, SOLUTIONS)  # committed with outputs
KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def sources(folder: Path) -> list[Path]:
    """The percent-format ``.py`` sources of a notebook folder (``NN_*.py``), sorted."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.py"))


def read_source(path: Path) -> nbformat.NotebookNode:
    """Read a ``.py`` source as a notebook (no outputs), with cell ids that do not change between runs."""
    nb = jupytext.read(path, fmt="py:percent")
    nb.metadata["kernelspec"] = dict(KERNEL)
    for i, cell in enumerate(nb.cells):
        cell["id"] = cell_id(i, cell.source)
    return nb


def cell_id(index: int, source: str) -> str:
    """The id of cell ``index`` with ``source``: stable between runs, new when the source changes."""
    return f"c{index:03d}-{hashlib.sha1(source.encode()).hexdigest()[:8]}"


def pair_texts(nb: nbformat.NotebookNode) -> dict[str, str]:
    """The text of the ``.py`` and ``.ipynb`` files of ``nb`` (the .ipynb keeps nb's outputs)."""
    nb.metadata["kernelspec"] = dict(KERNEL)
    nb.metadata.setdefault("jupytext", {})["formats"] = "ipynb,py:percent"
    return {".py": jupytext.writes(nb, fmt="py:percent"), ".ipynb": jupytext.writes(nb, fmt="ipynb")}


def write_pair(nb: nbformat.NotebookNode, py_path: Path) -> None:
    """Write ``nb`` as the ``.py``/``.ipynb`` pair at ``py_path``."""
    for suffix, text in pair_texts(nb).items():
        py_path.with_suffix(suffix).write_text(text)


def kernel_env(threads: int | None = None, inline_figures: bool = True) -> dict[str, str]:
    """Environment for executing notebooks in quick mode, reproducibly and without noise."""
    env = dict(os.environ)
    env["COURSE_MODE"] = "quick"
    env["TQDM_DISABLE"] = "1"
    env["PYTHONHASHSEED"] = "0"
    env["COURSE_OFFLINE"] = "1"  # stored outputs never depend on what a download would bring
    env.setdefault("MALLOC_MMAP_THRESHOLD_", "4294967295")
    env.setdefault("MALLOC_TRIM_THRESHOLD_", "4294967295")
    if inline_figures:
        env.pop("MPLBACKEND", None)  # let ipykernel use the inline backend, so figures are stored
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


@dataclass
class Executed:
    path: Path
    seconds: float
    error: str | None


def execute(nb: nbformat.NotebookNode, cwd: Path, env: dict[str, str], timeout: int = 900,
            allow_errors: bool = False) -> tuple[nbformat.NotebookNode, float, str | None]:
    """Execute ``nb`` in a fresh kernel of this Python; return (notebook, seconds, error or None)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    # The kernel must be this interpreter (the project's venv), whatever kernelspecs exist.
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}},
        allow_errors=allow_errors, record_timing=False,
        kernel_manager_class=_this_python_kernel_manager(),
    )
    t0 = time.perf_counter()
    error = None
    try:
        client.execute(env=env)
    except CellExecutionError as exc:
        error = str(exc)
    return nb, time.perf_counter() - t0, error


def _this_python_kernel_manager() -> type:
    from jupyter_client.manager import KernelManager

    class ThisPythonKernelManager(KernelManager):
        def format_kernel_cmd(self, extra_arguments=None):  # noqa: ANN001
            return [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file]

    return ThisPythonKernelManager


def title_of(nb: nbformat.NotebookNode) -> str:
    """The first Markdown heading of a notebook."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, flags=re.M)
            if m:
                return m.group(1).strip()
    return "untitled"
