"""An untouched lab runs until its first check and stops there with the lab's own message."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tools.notebooks import LABS, execute, kernel_env, sources

ANSI = re.compile(r"\x1b\[[0-9;]*m")
CHECK = re.compile(r"\blab\d\d\.check_\w+\(")


@pytest.mark.parametrize("py", sources(LABS), ids=lambda p: p.name)
def test_untouched_lab_fails_at_its_first_check(py: Path):
    nb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    nb, _, error = execute(nb, cwd=LABS, env=kernel_env(threads=1, inline_figures=False), timeout=300)
    assert error is not None, "an untouched lab must not pass its checks"
    failing = [(i, c, o) for i, c in enumerate(nb.cells) if c.cell_type == "code"
               for o in c.get("outputs", []) if o.output_type == "error"]
    assert len(failing) == 1
    index, cell, output = failing[0]
    assert CHECK.search(cell.source), f"the first failure must be a check cell, not cell {index}:\n{cell.source}"
    first_check = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and CHECK.search(c.source))
    assert index == first_check, "the lab failed at a later check: an earlier check passed on a stub"
    assert output.ename == "CheckFailure" and "not implemented yet" in output.evalue
    traceback = ANSI.sub("", "\n".join(output.traceback))
    assert "course_lib/" not in traceback and "File " not in traceback, "students must see the message, not library frames"
