"""What each cell of a lab is, and its nbgrader metadata.

A released lab (``labs/NN_topic_lab.ipynb``, generated from ``solutions/`` by ``tools.make_labs``)
has four kinds of cells:

* ``answer``: a code cell with an exercise stub (``# YOUR CODE HERE`` then ``raise
  NotImplementedError(...)``); the student writes the function there. Its id is
  ``answer_<function>``;
* ``check``: a code cell that is exactly one call ``labNN.check_<exercise>(...)``; locked, and
  worth ``points`` (1 unless the cell has a ``points=N`` tag). Its id is ``check_<exercise>``;
* ``question``: a Markdown cell with a free-text answer (``*Your answer here.*``), graded by hand;
* ``fixed``: everything else (instructions, set-up, demonstrations): locked.

The same roles give every cell nbgrader-compatible metadata (``nbgrader.grade_id``, ``points``,
``locked``, ``solution``, ``grade``; schema 3), so the labs also work in an nbgrader course, and
the course's own grader (:mod:`course_lib.grade`) uses them to restore locked cells.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

#: a check cell: one call of a lab's check function (comments and blank lines allowed around it),
#: whose result may be bound to names (``G = lab04.check_train_pix2pix(train_pix2pix)``: an outcome
#: check returns the trained network for the cells that show it)
CHECK_CALL = re.compile(r"^(?:[A-Za-z_][\w\s,]*=\s*)?(?P<lab>lab\d\d)\.(?P<check>check_\w+)\((?P<args>.*)\)$", re.S)
STUB_MARK = "# YOUR CODE HERE"
QUESTION_MARK = "*Your answer here.*"
POINTS_TAG = re.compile(r"^points=(?P<points>\d+(?:\.\d+)?)$")
NBGRADER_SCHEMA = 3


@dataclass(frozen=True)
class Role:
    kind: str  # "answer", "check", "question" or "fixed"
    grade_id: str
    points: float = 0.0


def _code_lines(source: str) -> str:
    """The source without comment-only and blank lines."""
    return "\n".join(line for line in source.splitlines() if line.strip() and not line.lstrip().startswith("#"))


def check_call(source: str) -> re.Match[str] | None:
    """The ``labNN.check_x(...)`` call if ``source`` is a check cell, else ``None``."""
    return CHECK_CALL.match(_code_lines(source).strip())


def defined_names(source: str) -> list[str]:
    """Top-level functions and classes that a code cell defines (empty if it does not parse)."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def _points(cell: Any) -> float:
    for tag in cell.get("metadata", {}).get("tags", []):
        m = POINTS_TAG.match(tag)
        if m:
            return float(m.group("points"))
    return 1.0


def roles(nb: Any) -> list[Role]:
    """The role of every cell of a released lab, in order (ids are unique)."""
    out: list[Role] = []
    questions = 0
    for index, cell in enumerate(nb.cells):
        source = cell.source
        if cell.cell_type == "code" and (m := check_call(source)):
            out.append(Role("check", m.group("check"), _points(cell)))
        elif cell.cell_type == "code" and STUB_MARK in source and "NotImplementedError" in source:
            names = defined_names(source)
            out.append(Role("answer", "answer_" + (names[0] if names else str(index))))
        elif cell.cell_type == "markdown" and QUESTION_MARK in source:
            questions += 1
            out.append(Role("question", f"question_{questions}"))
        else:
            out.append(Role("fixed", f"cell_{index}"))
    ids = [r.grade_id for r in out]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"a lab's cells must have unique grade ids; repeated: {duplicates} (two check cells "
                         "call the same check, or two stubs define the same function)")
    return out


def nbgrader_metadata(role: Role) -> dict[str, Any]:
    """nbgrader's cell metadata for ``role`` (answer: solution cell; check: autograder test)."""
    meta: dict[str, Any] = {"grade_id": role.grade_id, "schema_version": NBGRADER_SCHEMA}
    if role.kind == "answer":
        meta.update(solution=True, grade=False, locked=False)
    elif role.kind == "check":
        meta.update(solution=False, grade=True, locked=True, points=role.points)
    elif role.kind == "question":  # a written answer, graded by hand (no points unless the teacher sets them)
        meta.update(solution=True, grade=False, locked=False)
    else:
        meta.update(solution=False, grade=False, locked=True)
    return meta


def add_nbgrader_metadata(nb: Any) -> Any:
    """Write every cell's nbgrader metadata into ``nb`` (in place); return it."""
    for cell, role in zip(nb.cells, roles(nb)):
        cell.metadata["nbgrader"] = nbgrader_metadata(role)
        if role.kind == "check":  # JupyterLab and Colab keep these cells read-only
            cell.metadata["deletable"] = False
            cell.metadata["editable"] = False
    return nb
