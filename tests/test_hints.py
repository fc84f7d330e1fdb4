"""Hints on request: every exercise has three levels, the stubs only point to them, and they escalate."""

from __future__ import annotations

import importlib
import re

import jupytext
import nbformat
import pytest

from course_lib.checks import Hints, make_hint
from tools import make_labs
from tools.notebooks import LABS, SOLUTIONS, read_source, sources

LABS_PY = sources(LABS)
STUB = re.compile(r"raise NotImplementedError\((?P<message>.*)\)\s*$")


def module_of(py) -> object:
    return importlib.import_module(f"course_lib.checks.{make_labs.lab_module_name(py.name)}")


def stubbed_exercises(py) -> list[str]:
    """The functions whose body the lab replaced by a stub (questions excluded)."""
    names = []
    nb = jupytext.read(py, fmt="py:percent")
    for cell in nb.cells:
        lines = cell.source.split("\n")
        for i, line in enumerate(lines):
            if STUB.search(line):
                name = make_labs._enclosing_function(lines, i, re.match(r"\s*", line).group())
                if not name.startswith("question_"):
                    names.append(name)
    return names


@pytest.mark.parametrize("py", LABS_PY, ids=lambda p: p.name)
def test_every_exercise_has_three_escalating_hints(py):
    hints = module_of(py).HINTS
    exercises = stubbed_exercises(py)
    assert exercises, f"{py.name}: no exercises found"
    assert set(exercises) == set(hints), f"{py.name}: hints for {sorted(hints)}, exercises {sorted(exercises)}"
    for name, levels in hints.items():
        assert len(levels) == 3, f"{name}: three levels (idea, steps and shapes, near-code)"
        assert len(set(levels)) == 3 and all(len(t) > 20 for t in levels), f"{name}: three different hints"
        # the idea comes before the code: level 1 has no code-like text
        assert not re.search(r"\w\(.*\)|\[.*:.*\]|\w\.\w+\(|==|\*\*", levels[0]), f"{name}: level 1 is code-like"


@pytest.mark.parametrize("py", LABS_PY, ids=lambda p: p.name)
def test_stubs_point_to_the_hints_and_never_contain_them(py):
    nb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    lab = make_labs.lab_module_name(py.name)
    assert make_labs.hint_leaks(nb, lab) == []
    hints = module_of(py).HINTS
    text = py.read_text()
    for name in hints:
        assert f"{name}: not written yet. Run {lab}.hint('{name}') for a hint" in text
        for level in hints[name]:
            assert level not in text, f"{py.name}: a hint of {name} is in the lab itself"
    first_instructions = next(c.source for c in nb.cells[1:] if c.cell_type == "markdown")
    assert f"{lab}.hint('" in first_instructions, "the instructions must say how to ask for a hint"


@pytest.mark.parametrize("py", sources(SOLUTIONS), ids=lambda p: p.name)
def test_solutions_keep_no_hint_on_the_begin_lines(py):
    assert "BEGIN SOLUTION hint:" not in py.read_text(), "hints live in HINTS of course_lib/checks/labNN.py"


def test_leak_check_catches_code_like_stub_messages():
    solution = read_source(SOLUTIONS / "01_receptive_fields_lab.py")
    lab = make_labs.make_lab(solution, "01_receptive_fields_lab.py")
    assert make_labs.hint_leaks(lab, "lab01") == []
    for bad in ("receptive_field: not written yet. Hint: start with r, j = 1, 1",
                "receptive_field: r = r + (k - 1) * d * j",
                "receptive_field: not written yet. Run lab02.hint('receptive_field') for a hint"):
        broken = make_labs.make_lab(solution, "01_receptive_fields_lab.py")
        cell = next(c for c in broken.cells if "def receptive_field" in c.source)
        cell.source = re.sub(r"raise NotImplementedError\(.*\)", f"raise NotImplementedError({bad!r})", cell.source)
        assert make_labs.hint_leaks(broken, "lab01"), bad


def test_hints_escalate_per_exercise_and_can_be_asked_by_level(capsys):
    hint = make_hint("lab99", {"area": ("idea", "steps", "code"), "volume": ("v1", "v2", "v3")})
    hint("area")
    out = capsys.readouterr().out
    assert "Hint 1/3 for area: idea" in out and "2 more levels" in out and "lab99.hint('area')" in out
    assert hint.text("area").startswith("Hint 2/3 for area: steps")
    assert hint.text("volume").startswith("Hint 1/3 for volume: v1"), "each exercise has its own level"
    assert hint.text("area").startswith("Hint 3/3 for area: code") and "last level" in hint.text("area")
    assert hint.text("area").startswith("Hint 3/3"), "past the last level, the last one is repeated"
    assert hint.text("volume", level=3).startswith("Hint 3/3 for volume: v3")
    assert hint.text("volume", level=1).startswith("Hint 1/3"), "an earlier level can be asked again"
    hint.reset()
    assert hint.text("area").startswith("Hint 1/3")
    aliased = make_hint("lab99", {"query": ("a1", "a2", "a3")}, aliases={"ImagePool": "query"})
    assert aliased.text("ImagePool").startswith("Hint 1/3 for query: a1")
    with pytest.raises(ValueError, match="unknown exercises"):
        make_hint("lab99", {"query": ("a", "b", "c")}, aliases={"Pool": "quer"})


def test_hint_errors_name_the_exercises_and_levels():
    hint = Hints("lab99", {"gram_matrix": ("a", "b", "c")})
    with pytest.raises(KeyError, match="Did you mean 'gram_matrix'"):
        hint.text("gram_matrx")
    with pytest.raises(ValueError, match="levels 1 to 3"):
        hint.text("gram_matrix", level=4)
    with pytest.raises(ValueError, match="non-empty"):
        Hints("lab99", {"x": ("a", "")})


def test_every_lab_module_has_a_working_hint_function():
    for py in LABS_PY:
        module = module_of(py)
        name = next(iter(module.HINTS))
        assert module.hint.text(name, level=1).startswith(f"Hint 1/3 for {name}: ")


class _StubPool:
    """Lab 06's ImagePool as the lab hands it out: query not written yet."""

    def __init__(self, pool_size: int = 50) -> None:
        self.pool_size, self.images = pool_size, []

    def query(self, images):
        raise NotImplementedError("query: not written yet.")


def _stub(*args, **kwargs):
    raise NotImplementedError("not written yet.")


@pytest.mark.parametrize("nn", [f"{i:02d}" for i in range(1, 12)])
def test_checks_of_untouched_exercises_point_to_the_hints_not_to_code(nn):
    from course_lib.checks import CheckFailure

    module = importlib.import_module(f"course_lib.checks.lab{nn}")
    for name in module.HINTS:
        check = module.check_image_pool if name == "query" else getattr(module, f"check_{name}")
        with pytest.raises(CheckFailure) as info:
            check(_StubPool if name == "query" else _stub)
        message = str(info.value)
        assert "not implemented yet" in message and f"lab{nn}.hint('{name}')" in message, message
        assert "Hint:" not in message, f"check_{name} hands out its code hint: {message}"
