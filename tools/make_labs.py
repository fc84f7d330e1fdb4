"""Generate the student labs (``labs/``) from the solved notebooks (``solutions/``).

``solutions/NN_topic_lab.py`` is the only place a lab is edited. This tool writes
``labs/NN_topic_lab.py`` and ``.ipynb`` from it:

* code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes a stub,
  ``raise NotImplementedError("<function>: not written yet. Run labNN.hint('<function>') for a hint")``,
  indented like the marker. The hints themselves live in ``HINTS`` of ``course_lib/checks/labNN.py``
  (three levels, given on request), never in the stub: a student who reads the error does not get
  the answer. A ``hint:`` on the BEGIN line is refused (move it to ``HINTS``). A function named
  ``question_N`` is the graded part of a Question: its stub asks for the answer instead;
* Markdown between ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->`` is removed;
* cells tagged ``solution-only`` are dropped;
* outputs and execution counts are stripped; Colab links to ``solutions/`` point to ``labs/``
  (at the same tag: ``tools.sync_links``);
* every cell gets nbgrader-compatible metadata (``course_lib.grade.cells``: answer cells are
  nbgrader solution cells, check cells locked autograder tests worth ``points``, the rest locked),
  so the labs work in an nbgrader course and ``python -m course_lib.grade`` can restore locked cells.

Usage: ``python -m tools.make_labs`` (write) or ``python -m tools.make_labs --check`` (exit 1 if
``labs/`` is not what the solutions generate, if a solution line leaks into a lab, or if a stub's
message is anything but the pointer to the hints).
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib
import re
import sys
from pathlib import Path

import nbformat

from course_lib.grade.cells import add_nbgrader_metadata
from tools.notebooks import LABS, SOLUTIONS, pair_texts, read_source, sources, write_pair

BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION(?:\s+hint:\s*(?P<hint>.*?))?\s*$")
END = re.compile(r"^[ \t]*### END SOLUTION\s*$")
MD_BEGIN, MD_END = "<!-- BEGIN SOLUTION -->", "<!-- END SOLUTION -->"
DEF = re.compile(r"^(?P<indent>[ \t]*)(?:async\s+)?def\s+(?P<name>\w+)\s*\(")
MD_STUB = "*Your answer here.*"
#: the only messages a stub may carry (no hint text: hints are given by ``labNN.hint``)
STUB_MESSAGE = re.compile(
    r"^(?P<name>\w+): (?:not written yet\. Run (?P<lab>lab\d\d)\.hint\('(?P=name)'\) for a hint"
    r"|not written yet\.|not answered yet\. Return your answer to the question above\.)$"
)
STUB_RAISE = re.compile(r"raise NotImplementedError\((?P<message>.*)\)\s*$")
#: a link into solutions/ on GitHub or Colab, at any branch or tag (a lab's points at labs/ instead)
LINK_TO_SOLUTIONS = re.compile(r"(/blob/[^/\s)\"']+/)solutions/")


class MarkerError(ValueError):
    """Unbalanced, nested or misplaced solution markers."""


def _enclosing_function(lines: list[str], index: int, indent: str) -> str:
    for line in reversed(lines[:index]):
        m = DEF.match(line)
        if m and len(m.group("indent")) < len(indent):
            return m.group("name")
    raise MarkerError(
        f"solution region at line {index + 1} is not inside a function; wrap the exercise in a def "
        "so the lab can name it"
    )


def lab_module_name(notebook_name: str) -> str:
    """``01_receptive_fields_lab.py`` -> ``lab01`` (the graders' module); ``""`` if unnumbered."""
    m = re.match(r"(\d\d)_", notebook_name)
    return f"lab{m.group(1)}" if m else ""


def exercises_with_hints(lab: str) -> set[str]:
    """The exercises that ``course_lib.checks.<lab>.HINTS`` has hints for (empty if none)."""
    if not lab:
        return set()
    try:
        module = importlib.import_module(f"course_lib.checks.{lab}")
    except ModuleNotFoundError:
        return set()
    return set(getattr(module, "HINTS", {}))


def stub_message(name: str, lab: str, hinted: set[str]) -> str:
    """What the stub of exercise ``name`` raises: where help is, never the help itself."""
    if name.startswith("question_"):
        return f"{name}: not answered yet. Return your answer to the question above."
    if name in hinted:
        return f"{name}: not written yet. Run {lab}.hint({name!r}) for a hint"
    return f"{name}: not written yet."


def strip_code(source: str, where: str, lab: str = "", hinted: set[str] | None = None) -> str:
    """Replace every solution region of a code cell by a stub (``lab``: e.g. ``"lab04"``)."""
    hinted = set() if hinted is None else hinted
    lines = source.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = BEGIN.match(lines[i])
        if END.match(lines[i]):
            raise MarkerError(f"{where}: '### END SOLUTION' without a BEGIN at line {i + 1}")
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent, hint = m.group("indent"), m.group("hint")
        name = _enclosing_function(lines, i, indent)
        j = i + 1
        while j < len(lines) and not END.match(lines[j]):
            if BEGIN.match(lines[j]):
                raise MarkerError(f"{where}: nested '### BEGIN SOLUTION' at line {j + 1}")
            j += 1
        if j == len(lines):
            raise MarkerError(f"{where}: '### BEGIN SOLUTION' at line {i + 1} has no END")
        if hint:
            raise MarkerError(
                f"{where}: line {i + 1} puts a hint on the BEGIN line; hints go in HINTS of "
                f"course_lib/checks/{lab or 'labNN'}.py (three levels, given by {lab or 'labNN'}.hint)"
            )
        message = stub_message(name, lab, hinted)
        out.append(f"{indent}# YOUR CODE HERE")
        out.append(f"{indent}raise NotImplementedError({message!r})")
        i = j + 1
    return "\n".join(out)


def strip_markdown(source: str, where: str) -> str:
    """Remove Markdown solution blocks (replaced by a prompt)."""
    if source.count(MD_BEGIN) != source.count(MD_END):
        raise MarkerError(f"{where}: unbalanced Markdown solution markers")
    pattern = re.compile(re.escape(MD_BEGIN) + r".*?" + re.escape(MD_END), flags=re.S)
    return pattern.sub(MD_STUB, source)


def make_lab(solution: nbformat.NotebookNode, name: str = "solution") -> nbformat.NotebookNode:
    """The student version of a solved notebook."""
    lab = copy.deepcopy(solution)
    module = lab_module_name(name)
    hinted = exercises_with_hints(module)
    cells = []
    for k, cell in enumerate(lab.cells):
        if "solution-only" in cell.get("metadata", {}).get("tags", []):
            continue
        where = f"{name}, cell {k}"
        if cell.cell_type == "code":
            cell.source = strip_code(cell.source, where, module, hinted)
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown":
            cell.source = strip_markdown(cell.source, where)
        cell.source = LINK_TO_SOLUTIONS.sub(r"\1labs/", cell.source)
        cells.append(cell)
    lab.cells = cells
    return add_nbgrader_metadata(lab)


def solution_lines(solution: nbformat.NotebookNode) -> set[str]:
    """Non-trivial lines that appear only inside solution regions (what must not leak)."""
    inside: set[str] = set()
    outside: set[str] = set()
    for cell in solution.cells:
        if cell.cell_type != "code":
            continue
        in_region = False
        for line in cell.source.split("\n"):
            if BEGIN.match(line):
                in_region = True
                continue
            if END.match(line):
                in_region = False
                continue
            stripped = line.strip()
            (inside if in_region else outside).add(stripped)
    return {line for line in inside - outside if len(line) > 12 and not line.startswith("#")}


def leaks(solution: nbformat.NotebookNode, lab: nbformat.NotebookNode, module: str = "") -> list[str]:
    """Solution lines (or markers) found in the lab, and stubs that say more than where the hints are."""
    text = "\n".join(c.source for c in lab.cells)
    found = [m for m in ("BEGIN SOLUTION", "END SOLUTION", "solution-only") if m in text]
    lab_lines = {line.strip() for c in lab.cells for line in c.source.split("\n")}
    return found + sorted(solution_lines(solution) & lab_lines) + hint_leaks(lab, module)


def hint_leaks(lab: nbformat.NotebookNode, module: str = "") -> list[str]:
    """Stubs whose message says more than where help is (a hint in an error gives the answer away).

    ``module`` (e.g. ``"lab04"``): the lab whose ``hint`` the pointers must name.
    """
    bad = []
    for cell in lab.cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.split("\n"):
            m = STUB_RAISE.search(line)
            if not m:
                continue
            try:
                message = ast.literal_eval(m.group("message"))
            except (ValueError, SyntaxError):
                message = None
            ok = isinstance(message, str) and (match := STUB_MESSAGE.match(message))
            if not ok or (module and match.group("lab") not in (None, module)):
                bad.append(f"stub message with more than a pointer to the hints: {line.strip()}")
    return bad


def syntax_errors(nb: nbformat.NotebookNode) -> list[str]:
    """Code cells that are not valid Python (IPython magics removed first)."""
    errors = []
    for k, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.split("\n"))
        try:
            ast.parse(code)
        except SyntaxError as exc:
            errors.append(f"cell {k}: {exc}")
    return errors


def generate(solution_path: Path) -> nbformat.NotebookNode:
    solution = read_source(solution_path)
    lab = make_lab(solution, solution_path.name)
    problems = leaks(solution, lab, lab_module_name(solution_path.name)) + syntax_errors(lab)
    if problems:
        raise MarkerError(f"{solution_path.name}: the generated lab is unsafe: {problems}")
    return lab


def lab_path(solution_path: Path, labs: Path = LABS) -> Path:
    return labs / solution_path.name


def check(solutions: Path = SOLUTIONS, labs: Path = LABS) -> list[str]:
    """Differences between the committed labs and what the solutions generate (empty: in sync)."""
    problems = []
    expected_names = set()
    for src in sources(solutions):
        lab = generate(src)
        target = lab_path(src, labs)
        expected_names.add(target.name)
        for suffix, want in pair_texts(lab).items():
            path = target.with_suffix(suffix)
            if not path.is_file():
                problems.append(f"{path.relative_to(labs.parent)} is missing")
            elif path.read_text() != want:
                problems.append(f"{path.relative_to(labs.parent)} differs from what {src.name} generates")
    for stray in sources(labs):
        if stray.name not in expected_names:
            problems.append(f"{stray.relative_to(labs.parent)} has no solution in {solutions.name}/")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when labs/ is stale")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for p in problems:
            print(f"stale: {p}")
        if problems:
            print("run `make labs` (python -m tools.make_labs) and commit the result")
        return 1 if problems else 0
    LABS.mkdir(exist_ok=True)
    for src in sources(SOLUTIONS):
        write_pair(generate(src), lab_path(src))
        print(f"wrote {lab_path(src).relative_to(LABS.parent)} (.py + .ipynb)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
