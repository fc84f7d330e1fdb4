"""Notebook pipeline: pairs in sync, labs generated from solutions, the conventions every notebook follows."""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from course_lib._project import read_pyproject
from tools import make_labs
from tools.notebooks import LABS, LECTURES, ROOT, SOLUTIONS, sources

PROJECT = read_pyproject(ROOT / "pyproject.toml")  # the repository address and version (tests/test_links.py)
REPO_URL = PROJECT.repository
ALL_SOURCES = [p for folder in (LECTURES, SOLUTIONS, LABS) for p in sources(folder)]
IDS = [f"{p.parent.name}/{p.name}" for p in ALL_SOURCES]


def cells_of(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


@pytest.mark.parametrize("py", ALL_SOURCES, ids=IDS)
def test_pair_is_in_sync(py: Path):
    ipynb = py.with_suffix(".ipynb")
    assert ipynb.is_file(), f"{ipynb} is missing: run `make notebooks` (lectures, solutions) or `make labs`"
    from_py = jupytext.read(py, fmt="py:percent")
    from_ipynb = nbformat.read(ipynb, as_version=4)
    assert cells_of(from_py) == cells_of(from_ipynb), (
        f"{py.name} and its .ipynb differ: edit the .py, then run `make notebooks` or `make labs`"
    )


def test_labs_are_generated_from_solutions():
    assert make_labs.check() == [], "labs/ is stale: run `make labs` and commit the result"
    assert {p.name for p in sources(LABS)} == {p.name for p in sources(SOLUTIONS)}


@pytest.mark.parametrize("py", ALL_SOURCES, ids=IDS)
def test_first_cells_follow_the_course_conventions(py: Path):
    nb = jupytext.read(py, fmt="py:percent")
    title = nb.cells[0]
    assert title.cell_type == "markdown" and title.source.startswith("# "), "the first cell is the title"
    # badge and install cell pin the release tag, so a notebook opened in Colab installs its own release
    badge = (f"https://colab.research.google.com/github/{REPO_URL.split('github.com/')[1]}/blob/{PROJECT.tag}/"
             f"{py.parent.name}/{py.stem}.ipynb")
    assert badge in title.source, f"the title cell needs the Colab badge pointing at {badge} (make links)"
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert '"google.colab" in sys.modules' in first_code.source
    assert f'"course-lib @ git+{REPO_URL}@{PROJECT.tag}"' in first_code.source, "run `make links`"
    assert "course_lib.setup(" in first_code.source, "the first code cell seeds and prints the set-up"
    assert "torch" not in re.sub(r"#.*", "", first_code.source).split("pip", 1)[-1].split("check=True")[0], \
        "the Colab cell must never reinstall torch"


@pytest.mark.parametrize("py", [p for d in (LECTURES, SOLUTIONS) for p in sources(d)], ids=lambda p: p.name)
def test_lectures_and_solutions_are_committed_executed(py: Path):
    nb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), f"{py.name}: run `make notebooks` to store outputs"
    assert not any(o.output_type == "error" for c in code for o in c.outputs)


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_REPRS = re.compile(r"\b[VH]Box\(children=|\b(Int|Float)(Range)?Slider\(|\bOutput\(")


@pytest.mark.parametrize("py", ALL_SOURCES, ids=IDS)
def test_stored_widget_outputs_show_a_still_image_not_the_widget_repr(py: Path):
    """A front end that does not run the widget (JupyterLab on a downloaded notebook, which it does
    not trust; GitHub) shows an output's image or text instead: never ``VBox(children=(IntSlider(...``."""
    nb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            text = data.get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            assert not WIDGET_REPRS.search(text), f"{py.name}, code cell {i}: a widget's repr is stored: {text[:80]}"
            if WIDGET_VIEW in data:
                assert "image/png" in data, f"{py.name}, code cell {i}: a widget output with no still image"


@pytest.mark.parametrize("py", sources(LABS), ids=lambda p: p.name)
def test_labs_ship_without_outputs_or_solutions(py: Path):
    nb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    text = py.read_text()
    assert "BEGIN SOLUTION" not in text and "solution-only" not in text
    assert "raise NotImplementedError(" in text


# --------------------------------------------------------------------------- the generator itself
SOLVED = '''# %% [markdown]
# # Lab 99 · Test
# See [this](https://colab.research.google.com/github/x/y/blob/main/solutions/99_test_lab.ipynb)

# %% [markdown] tags=["solution-only"]
# Instructor notes.

# %%
def area(w, h):
    """Area of a rectangle."""
    ### BEGIN SOLUTION
    product_of_the_sides = w * h
    return product_of_the_sides
    ### END SOLUTION


# %% [markdown]
# Why? <!-- BEGIN SOLUTION -->Because rectangles are products.<!-- END SOLUTION -->
'''


def _lab_of(text: str) -> nbformat.NotebookNode:
    return make_labs.make_lab(jupytext.reads(text, fmt="py:percent"))


def test_generator_stubs_code_strips_answers_and_drops_instructor_cells():
    lab = _lab_of(SOLVED)
    text = "\n".join(c.source for c in lab.cells)
    assert "raise NotImplementedError('area: not written yet.')" in text  # no lab module: no hints
    assert "    # YOUR CODE HERE" in text and "product_of_the_sides" not in text
    assert "Instructor notes" not in text and "Because rectangles" not in text and "*Your answer here.*" in text
    assert "/blob/main/labs/99_test_lab.ipynb" in text
    assert make_labs.leaks(jupytext.reads(SOLVED, fmt="py:percent"), lab) == []
    assert make_labs.syntax_errors(lab) == []
    namespace: dict = {}
    exec(lab.cells[1].source, namespace)
    with pytest.raises(NotImplementedError, match="area: not written yet"):
        namespace["area"](2, 3)


@pytest.mark.parametrize(
    "broken, message",
    [
        (SOLVED.replace("    ### END SOLUTION\n", ""), "has no END"),
        (SOLVED.replace("    ### BEGIN SOLUTION\n", ""), "without a BEGIN"),
        (SOLVED.replace("    ### BEGIN SOLUTION\n", "    ### BEGIN SOLUTION hint: w * h\n"), "hints go in HINTS"),
        (SOLVED.replace("    return product_of_the_sides\n", "    ### BEGIN SOLUTION\n"), "nested"),
        (SOLVED.replace("def area(w, h):\n    \"\"\"Area of a rectangle.\"\"\"\n", ""), "not inside a function"),
        (SOLVED.replace("<!-- END SOLUTION -->", ""), "unbalanced Markdown"),
    ],
)
def test_generator_rejects_broken_markers(broken, message):
    with pytest.raises(make_labs.MarkerError, match=message):
        _lab_of(broken)


def test_leak_detector_finds_solution_lines():
    solution = jupytext.reads(SOLVED, fmt="py:percent")
    lab = _lab_of(SOLVED)
    lab.cells[1].source += "\n    product_of_the_sides = w * h"
    assert "product_of_the_sides = w * h" in make_labs.leaks(solution, lab)
