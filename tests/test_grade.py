"""The class grader (python -m course_lib.grade): restored checks, limits, flags, a gradebook.

End to end on lab 01 (the fastest lab) with a folder of submissions that covers every status:
the solution, the untouched lab, an edited check cell, a check replaced at run time, a solution
that returns the library's implementation, an infinite loop, an unbounded allocation, a socket,
and files that are not notebooks.
"""

from __future__ import annotations

import copy
import csv
import zipfile

import nbformat
import pytest

from course_lib.grade import cells as grade_cells
from course_lib.grade import grade, prepare, static_flags
from tools.notebooks import LABS, ROOT

SOLUTION = ROOT / "solutions" / "01_receptive_fields_lab.ipynb"
LAB = LABS / "01_receptive_fields_lab.ipynb"
WRONG_RF = '''def receptive_field(layers):
    r, j = 1, 1
    for k, s, d in layers:
        r = r + (k - 1) * d   # forgets the jump
        j = j * s
    return r, j
'''


def _solution() -> nbformat.NotebookNode:
    return nbformat.read(SOLUTION, as_version=4)


def _cell(nb, startswith: str):
    for c in nb.cells:
        if c.cell_type == "code" and c.source.lstrip().startswith(startswith):
            return c
    raise LookupError(startswith)


def _variants() -> dict[str, nbformat.NotebookNode]:
    v = {}
    v["solution"] = _solution()
    v["untouched"] = nbformat.read(LAB, as_version=4)
    nb = _solution()  # wrong answer, and the check cell "fixed" so that it cannot fail
    _cell(nb, "def receptive_field").source = WRONG_RF
    _cell(nb, "lab01.check_receptive_field").source = "print('all good')"
    v["edited_check"] = nb
    nb = _solution()  # wrong answer, and the check replaced at run time
    _cell(nb, "def receptive_field").source = WRONG_RF + "\nlab01.check_receptive_field = lambda f: None\n"
    v["replaced_check"] = nb
    nb = _solution()  # the library's implementation instead of their own
    _cell(nb, "def receptive_field").source = (
        "from course_lib.receptive_field import receptive_field as _theirs\n\n"
        "def receptive_field(layers):\n    return lab01.reference_receptive_field(layers)\n")
    v["reference"] = nb
    nb = _solution()
    _cell(nb, "def dilated_stack").source += "\nwhile True:\n    pass\n"
    v["infinite_loop"] = nb
    nb = _solution()
    _cell(nb, "def dilated_stack").source += (
        "\nhoard = []\nwhile True:\n    hoard.append(torch.empty(2**30, dtype=torch.uint8))\n")
    v["unbounded_memory"] = nb
    nb = _solution()
    _cell(nb, "def empirical_rf").source = (
        "import socket\nsocket.create_connection(('192.0.2.1', 80), timeout=1)\n" + _cell(nb, "def empirical_rf").source)
    v["socket"] = nb
    return v


def test_lab_cells_have_consistent_nbgrader_metadata():
    for lab in sorted(LABS.glob("*_lab.ipynb")):
        nb = nbformat.read(lab, as_version=4)
        kinds = grade_cells.roles(nb)
        checks = [r for r in kinds if r.kind == "check"]
        answers = [r for r in kinds if r.kind == "answer"]
        assert checks and answers, f"{lab.name}: no exercises found"
        for cell, role in zip(nb.cells, kinds):
            meta = cell.metadata.get("nbgrader")
            assert meta == grade_cells.nbgrader_metadata(role), f"{lab.name}: {role.grade_id} has stale metadata"
        # every exercise's function is checked by a check cell further down
        for a in answers:
            name = a.grade_id.removeprefix("answer_")
            assert any(name in c.source for c in nb.cells if grade_cells.check_call(c.source)), (lab.name, name)


def test_prepare_restores_checks_and_reports_tampering_and_flags():
    lab = nbformat.read(LAB, as_version=4)
    v = _variants()
    ok = prepare(lab, v["solution"])
    assert not ok.tampered and not ok.flags and not ok.notes
    edited = prepare(lab, v["edited_check"])
    assert edited.tampered == ["check cell check_receptive_field was deleted or replaced (graded with the lab's original)"]
    # with the lab's metadata kept (JupyterLab, Colab), an edit is named as one
    lab_edited = copy.deepcopy(lab)
    _cell(lab_edited, "lab01.check_receptive_field").source = "lab01.check_receptive_field(lambda layers: (1, 1))"
    assert prepare(lab, lab_edited).tampered == [
        "check cell check_receptive_field was edited (graded with the lab's original)"]
    run_check = next(c for c in edited.cells if c["id"] == "check_receptive_field")
    assert run_check["source"].strip() == "lab01.check_receptive_field(receptive_field)"
    flags = prepare(lab, v["reference"]).flags
    assert any("imports course_lib.receptive_field" in f for f in flags)
    assert any("lab01.reference_receptive_field" in f for f in flags)
    assert any("changes lab01.check_receptive_field" in f for f in prepare(lab, v["replaced_check"]).flags)
    # a student's extra cell is reported, not run
    extra = copy.deepcopy(v["solution"])
    extra.cells.append(nbformat.v4.new_code_cell("print('my experiment')"))
    assert "not run" in prepare(lab, extra).notes[0]


def test_static_flags_leave_ordinary_answers_alone():
    src = "def f(x):\n    import math\n    return torch.relu(x) * math.pi\n"
    assert static_flags("answer_f", src, "def f(x):\n    raise NotImplementedError\n") == []
    assert static_flags("answer_f", "import subprocess\n", "") == ["answer_f: imports subprocess"]


@pytest.mark.slow
def test_grade_a_folder_end_to_end(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name, nb in _variants().items():
        nbformat.write(nb, subs / f"{name}.ipynb")
    (subs / "corrupt.ipynb").write_text('{"cells": [')
    (subs / "notes.txt").write_text("not a notebook")
    with zipfile.ZipFile(tmp_path / "late.zip", "w") as z:  # a zip of submissions is read too
        z.write(LAB, "late/untouched_late.ipynb")
    results = grade(LAB, [subs, tmp_path / "late.zip"], tmp_path / "out", jobs=2, timeout=60, memory_mb=4096,
                    progress=False)
    by = {r.name: r for r in results}
    expected = {  # status, points per check (receptive_field, dilated_stack, empirical_rf); +1 for question_1
        "solution": ("ok", [1, 1, 1]),
        "untouched_late": ("ok", [0, 0, 0]),
        "untouched": ("ok", [0, 0, 0]),
        "edited_check": ("tampered", [0, 1, 1]),
        "replaced_check": ("tampered", [0, 1, 1]),
        "reference": ("review", [1, 1, 1]),
        "infinite_loop": ("timeout", [1, 0, 0]),
        "unbounded_memory": ("memory", [1, 1, 1]),  # defined before it ran out
        "socket": ("review", [1, 1, 0]),
        "corrupt": ("invalid", [0, 0, 0]),
        "notes.txt": ("invalid", [0, 0, 0]),
    }
    assert set(by) == set(expected)
    for name, (status, points) in expected.items():
        got = by[name]
        assert got.status == status, (name, got.status, got.flags, got.messages)
        assert [got.points[k] for k in ("check_receptive_field", "check_dilated_stack", "check_empirical_rf")] == points, \
            (name, got.points, got.messages)
    assert any("replaced course_lib.checks.lab01.check_receptive_field" in f for f in by["replaced_check"].flags)
    assert any("network" in f for f in by["socket"].flags)
    rows = list(csv.DictReader(open(tmp_path / "out" / "gradebook.csv")))
    # 5 checks: receptive_field, dilated_stack, empirical_rf, train_hole_filler, question_1
    assert {r["student"]: r["total"] for r in rows}["solution"] == "5" and len(rows) == len(expected)
    feedback = (tmp_path / "out" / "feedback" / "untouched.md").read_text()
    assert "0 / 5 points" in feedback and "not implemented yet" in feedback


def test_a_refused_archive_is_one_invalid_submission(tmp_path):
    from course_lib.grade import find_submissions, run_submission

    bad = tmp_path / "class.zip"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    (sub,) = find_submissions([bad], tmp_path / "work")
    assert sub.problem and sub.problem.startswith("archive refused")
    result = run_submission(sub, nbformat.read(LAB, as_version=4), tmp_path / "runs", timeout=10, memory_mb=4096)
    assert result.status == "invalid" and sum(result.points.values()) == 0 and "archive refused" in result.flags[0]
