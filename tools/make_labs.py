"""Generate the student labs (``labs/``) from the solved notebooks (``solutions/``).

``solutions/NN_topic_lab.py`` is the only place a lab is edited. This tool writes
``labs/NN_topic_lab.py`` and ``.ipynb`` from it:

* code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes a stub,
  ``raise NotImplementedError("<function>: ...")``, indented like the marker. Text after
  ``hint:`` on the BEGIN line becomes the stub's hint;
* Markdown between ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->`` is removed;
* cells tagged ``solution-only`` are dropped;
* outputs and execution counts are stripped; Colab links to ``solutions/`` point to ``labs/``;
* every cell gets nbgrader-compatible metadata (``course_lib.grade.cells``: answer cells are
  nbgrader solution cells, check cells locked autograder tests worth ``points``, the rest locked),
  so the labs work in an nbgrader course and ``python -m course_lib.grade`` can restore locked cells.

Usage: ``python -m tools.make_labs`` (write) or ``python -m tools.make_labs --check`` (exit 1 if
``labs/`` is not what the solutions generate, or if a solution line leaks into a lab).
"""

from __future__ import annotations

import argparse
import ast
import copy
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


def strip_code(source: str, where: str) -> str:
    """Replace every solution region of a code cell by a stub."""
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
        message = f"{name}: not written yet."
        if hint:
            message += f" Hint: {hint}"
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
    cells = []
    for k, cell in enumerate(lab.cells):
        if "solution-only" in cell.get("metadata", {}).get("tags", []):
            continue
        where = f"{name}, cell {k}"
        if cell.cell_type == "code":
            cell.source = strip_code(cell.source, where)
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown":
            cell.source = strip_markdown(cell.source, where)
        cell.source = cell.source.replace("/blob/main/solutions/", "/blob/main/labs/")
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


def leaks(solution: nbformat.NotebookNode, lab: nbformat.NotebookNode) -> list[str]:
    """Solution lines (or markers) found in the lab."""
    text = "\n".join(c.source for c in lab.cells)
    found = [m for m in ("BEGIN SOLUTION", "END SOLUTION", "solution-only") if m in text]
    lab_lines = {line.strip() for c in lab.cells for line in c.source.split("\n")}
    return found + sorted(solution_lines(solution) & lab_lines)


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
    problems = leaks(solution, lab) + syntax_errors(lab)
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
