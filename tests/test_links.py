"""One home for the repository address and version: pyproject.toml (tools/sync_links.py)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

import course_lib
from course_lib import _project
from tools import make_labs, sync_links
from tools.notebooks import ROOT, cell_id

HOME = sync_links.Home("course-lib", "1.2.0", "https://github.com/new-org/course")
OLD = "https://github.com/old-org/course"
REFERENCE = "https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix"
REFERENCE_COLAB = "https://colab.research.google.com/github/junyanz/pytorch-CycleGAN-and-pix2pix/blob/master/pix2pix.ipynb"
BADGE = "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"


def test_every_link_agrees_with_pyproject():
    """Badges, install cells, README, CONTRIBUTING: what `make links` writes is what is committed."""
    stale = [f"{c.path.relative_to(ROOT)}, {where}: {old} (expected {new})"
             for c in sync_links.changes() for where, old, new in c.lines]
    assert stale == [], "run `make links` (python -m tools.sync_links) and commit:\n" + "\n".join(stale[:20])


def test_the_one_home_is_pyproject():
    info = _project.read_pyproject()
    assert info.name == "course-lib" and info.repository.startswith("https://github.com/")
    assert course_lib.__version__ == info.version
    current = sync_links.home()
    assert (current.repository, current.tag) == (info.repository, f"v{info.version}")
    readme = (ROOT / "README.md").read_text()
    assert f"colab.research.google.com/github/{current.org_repo}/blob/{current.tag}/lectures/" in readme


def test_pyproject_is_parsed_the_same_without_tomllib(monkeypatch):
    """Python 3.10 has no tomllib: the fallback reads the same three strings."""
    text = (ROOT / "pyproject.toml").read_text()
    with_tomllib = _project.parse_pyproject(text)
    monkeypatch.setitem(__import__("sys").modules, "tomllib", None)  # import now raises
    assert _project.parse_pyproject(text) == with_tomllib


def test_version_falls_back_to_installed_metadata(monkeypatch, tmp_path):
    """An installed wheel has no pyproject.toml beside the package: its metadata says the version."""
    monkeypatch.setattr(_project, "PYPROJECT", tmp_path / "pyproject.toml")
    monkeypatch.setattr(_project.metadata, "version", lambda name: "9.9.9" if name == "course-lib" else "")
    assert _project.version() == "9.9.9"
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\nversion = "0.0.1"\n')
    assert _project.version() == "9.9.9", "another project's pyproject.toml is not ours"


def test_rewrite_fixes_stale_address_and_version_and_leaves_other_repositories_alone():
    text = (
        f"# 04 · Title\n{BADGE}(https://colab.research.google.com/github/old-org/course/blob/main/lectures/03_x.ipynb)\n"
        f'    "course-lib @ git+{OLD}"], check=True)\n'
        f'pip install "course-lib @ git+{OLD}.git@v1.1.0"\n'
        f"Lab: [![Colab](x.svg)](https://colab.research.google.com/github/new-org/course/blob/v1.1.0/labs/04_x_lab.ipynb)\n"
        f"The code: {OLD}/blob/main/course_lib/nn.py, issues at {OLD}/issues.\n"
        f"Reference: {REFERENCE} ({REFERENCE}/blob/master/models/networks.py), demo {REFERENCE_COLAB}\n"
        "Data: https://github.com/old-org/course-data and https://github.com/old-org/courses\n"
    )
    new, changed = sync_links.rewrite(text, HOME, own="lectures/04_x.ipynb")
    colab = "https://colab.research.google.com/github/new-org/course/blob/v1.2.0"
    assert f"{BADGE}({colab}/lectures/04_x.ipynb)" in new  # the badge points at its own notebook
    assert new.count('"course-lib @ git+https://github.com/new-org/course@v1.2.0"') == 2
    assert f"[![Colab](x.svg)]({colab}/labs/04_x_lab.ipynb)" in new
    assert "https://github.com/new-org/course/blob/main/course_lib/nn.py" in new  # address only; its branch stays
    assert "https://github.com/new-org/course/issues." in new
    assert "old-org/course/" not in new and "old-org/course\"" not in new and "@main" not in new
    # other repositories, even with similar names, are untouched
    assert f"Reference: {REFERENCE} ({REFERENCE}/blob/master/models/networks.py), demo {REFERENCE_COLAB}\n" in new
    assert "https://github.com/old-org/course-data and https://github.com/old-org/courses\n" in new
    assert len(changed) == 6
    assert sync_links.rewrite(new, HOME, own="lectures/04_x.ipynb") == (new, [])  # idempotent


def test_rewrite_keeps_the_punctuation_after_an_address():
    text = (f"Set-up: `course-lib @ git+{OLD}@v1.1.0`; or pip install course-lib @ git+{OLD}.git@main.\n"
            f'JSON: "\\"course-lib @ git+{OLD}\\"], check=True)\\n",\n'
            f"See {OLD}. Or ({OLD}), <{OLD}>, [repo]({OLD}).\n")
    new, changed = sync_links.rewrite(text, HOME)
    spec, url = "course-lib @ git+https://github.com/new-org/course@v1.2.0", HOME.repository
    assert new == (f"Set-up: `{spec}`; or pip install {spec}.\n"
                   f'JSON: "\\"{spec}\\"], check=True)\\n",\n'
                   f"See {url}. Or ({url}), <{url}>, [repo]({url}).\n")
    assert len(changed) == 7


def test_a_text_without_course_links_is_left_alone():
    text = f"See {REFERENCE} and {REFERENCE_COLAB}; https://github.com/new-org/course is ours.\n"
    assert sync_links.rewrite(text, HOME) == (text, [])


def test_a_lab_links_to_labs_at_the_same_tag():
    solution = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        f"{BADGE}(https://colab.research.google.com/github/new-org/course/blob/v1.2.0/solutions/01_t_lab.ipynb)")])
    lab = make_labs.make_lab(solution)
    assert "/blob/v1.2.0/labs/01_t_lab.ipynb)" in lab.cells[0].source


def _tree(tmp_path: Path) -> Path:
    """A small course: pyproject.toml, a README, a lecture pair with outputs, a solution pair."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "course-lib"\nversion = "1.2.0"\n\n[project.urls]\nRepository = "https://github.com/new-org/course"\n')
    (tmp_path / "README.md").write_text(
        f"[lecture](lectures/01_t.ipynb) [![Colab](b.svg)](https://colab.research.google.com/github/old-org/course/blob/main/lectures/01_t.ipynb)\n"
        f"Reference: {REFERENCE}\n")
    for folder, name in (("lectures", "01_t"), ("solutions", "01_t_lab")):
        (tmp_path / folder).mkdir()
        title = f"# 01 · T\n\n{BADGE}(https://colab.research.google.com/github/old-org/course/blob/main/{folder}/{name}.ipynb)"
        setup = f'subprocess.run(["pip", "install", "course-lib @ git+{OLD}"], check=True)\nprint("hi")'
        reference = f"As in [the reference code]({REFERENCE}/blob/master/train.py)."
        py = "\n\n".join(["# %% [markdown]\n" + "\n".join(f"# {line}".rstrip() for line in title.split("\n")),
                          f"# %%\n{setup}", f"# %% [markdown]\n# {reference}"]) + "\n"
        (tmp_path / folder / f"{name}.py").write_text(py)
        nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}, "custom": [1, 2]})
        nb.cells = [nbformat.v4.new_markdown_cell(title), nbformat.v4.new_code_cell(setup),
                    nbformat.v4.new_markdown_cell(reference)]
        for i, cell in enumerate(nb.cells):
            cell["id"] = cell_id(i, cell.source)
        nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
        nb.cells[1].execution_count = 1
        nb.cells[1].metadata["tags"] = ["keep"]
        (tmp_path / folder / f"{name}.ipynb").write_text(nbformat.writes(nb))  # no final newline
    return tmp_path


def test_sync_rewrites_both_halves_of_a_pair_in_place_and_check_lists_every_disagreement(tmp_path):
    root = _tree(tmp_path)
    before = {p: p.read_text() for p in root.rglob("*") if p.is_file()}
    found = sync_links.changes(root, ("lectures", "solutions"))
    assert sorted(str(c.path.relative_to(root)) for c in found) == [
        "README.md", "lectures/01_t.ipynb", "lectures/01_t.py", "solutions/01_t_lab.ipynb", "solutions/01_t_lab.py"]
    assert sum(c.occurrences for c in found) == 9  # README's badge; a badge and an install cell in each of 4
    assert {p: p.read_text() for p in before} == before, "changes() only looks"

    for change in found:  # what sync() writes for lectures, solutions and text (labs: see make_labs)
        change.path.write_text(change.new_text)
    nb = nbformat.read(root / "lectures/01_t.ipynb", as_version=4)
    assert "https://colab.research.google.com/github/new-org/course/blob/v1.2.0/lectures/01_t.ipynb" in nb.cells[0].source
    assert "course-lib @ git+https://github.com/new-org/course@v1.2.0" in nb.cells[1].source
    assert f"{REFERENCE}/blob/master/train.py" in nb.cells[2].source
    assert nb.cells[1].outputs[0]["text"] == "hi\n" and nb.cells[1].execution_count == 1
    assert nb.cells[1].metadata["tags"] == ["keep"] and nb.metadata["custom"] == [1, 2]
    assert [c.id for c in nb.cells] == [cell_id(i, c.source) for i, c in enumerate(nb.cells)]
    assert not (root / "lectures/01_t.ipynb").read_text().endswith("\n"), "the file's formatting is kept"
    py = (root / "solutions/01_t_lab.py").read_text()
    assert "blob/v1.2.0/solutions/01_t_lab.ipynb" in py and "git+https://github.com/new-org/course@v1.2.0" in py
    assert (root / "README.md").read_text().endswith(f"Reference: {REFERENCE}\n")
    assert sync_links.changes(root, ("lectures", "solutions")) == [], "idempotent"


def test_sync_regenerates_the_labs_from_the_fixed_solutions(tmp_path, monkeypatch):
    root = _tree(tmp_path)
    shutil.rmtree(root / "lectures")
    (root / "labs").mkdir()
    shutil.copy(root / "solutions/01_t_lab.py", root / "labs/01_t_lab.py")  # a stale lab
    done = sync_links.sync(root)
    assert {str(c.path.relative_to(root)) for c in done} >= {"labs/01_t_lab.py", "labs/01_t_lab.ipynb"}
    lab = (root / "labs/01_t_lab.py").read_text()
    assert "blob/v1.2.0/labs/01_t_lab.ipynb" in lab and "course-lib @ git+https://github.com/new-org/course@v1.2.0" in lab
    assert sync_links.sync(root) == []


def test_check_exits_non_zero_and_names_the_file(tmp_path, monkeypatch, capsys):
    root = _tree(tmp_path)
    monkeypatch.setattr(sync_links, "ROOT", root)
    assert sync_links.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "README.md, line 1: https://colab.research.google.com/github/old-org/course/blob/main/lectures/01_t.ipynb" in out
    assert "lectures/01_t.ipynb, cell 1, line 1: course-lib @ git+https://github.com/old-org/course" in out
    assert sync_links.main([]) == 0 and sync_links.main(["--check"]) == 0


@pytest.mark.parametrize("bad, message", [
    ('Repository = "https://gitlab.com/a/b"', "Repository is 'https://gitlab.com/a/b'"),
    ('Homepage = "https://x.org"', "Repository is ''"),
])
def test_a_bad_home_is_reported(tmp_path, bad, message):
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "course-lib"\nversion = "1.0"\n\n[project.urls]\n{bad}\n')
    with pytest.raises(sync_links.SyncError, match=message):
        sync_links.home(tmp_path)


def test_make_links_runs_the_tool_and_the_release_steps_say_so():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^links: .*\n\t\$\(BIN\)/python -m tools\.sync_links$", makefile, flags=re.M)
    contributing = (ROOT / "CONTRIBUTING.md").read_text()
    steps = contributing.split("## Releases", 1)[1]
    assert "bump `version` in pyproject.toml" in steps and "`make links`" in steps and "tag" in steps
