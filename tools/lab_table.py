"""The README's "labs at a glance" table: ``python -m tools.lab_table``.

For each solved lab (``solutions/NN_topic_lab.py``): its exercises with the size of each
solution (code lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, blank lines and
comments not counted), its graded questions, the student time the lab states in its
introduction, and the measured run time of the whole solution in quick mode (from
``course_lib/notebook_times.json``, written by ``make test``). A test keeps the README in sync.
"""

from __future__ import annotations

import json
import re
import sys

from tools.make_labs import BEGIN, DEF, END
from tools.notebooks import ROOT, SOLUTIONS, read_source, sources

TIME = re.compile(r"\*\*Time:\*\*\s*(?P<time>about [^.;]+)")


def exercise_sizes(src) -> list[tuple[str, int]]:
    """``[(function, solution lines), ...]`` of one solved lab, in order (questions excluded)."""
    out: list[tuple[str, int]] = []
    for cell in read_source(src).cells:
        if cell.cell_type != "code":
            continue
        lines = cell.source.split("\n")
        i = 0
        while i < len(lines):
            if BEGIN.match(lines[i]):
                name = next((m.group("name") for line in reversed(lines[:i]) if (m := DEF.match(line))), "?")
                j = i + 1
                while j < len(lines) and not END.match(lines[j]):
                    j += 1
                body = [x for x in lines[i + 1:j] if x.strip() and not x.strip().startswith("#")]
                if not name.startswith("question"):
                    out.append((name, len(body)))
                i = j
            i += 1
    return out


def stated_time(src) -> str:
    for cell in read_source(src).cells:
        if cell.cell_type == "markdown" and (m := TIME.search(cell.source)):
            return m.group("time").strip()
    return "-"


def table() -> str:
    times = json.loads((ROOT / "course_lib" / "notebook_times.json").read_text())["quick_s"]
    lines = ["| lab | exercises (lines in the solution) | graded questions | student time (stated) | "
             "solution run, 2-core CPU |", "| --- | --- | --- | --- | --- |"]
    for src in sources(SOLUTIONS):
        nb_text = src.read_text()
        questions = len(re.findall(r"^lab\d\d\.check_question_\d+\(", nb_text, flags=re.M))
        exercises = ", ".join(f"`{name}` ({n})" for name, n in exercise_sizes(src))
        seconds = times.get(f"solutions/{src.stem}")
        run = "-" if seconds is None else f"{seconds} s"
        lines.append(f"| {src.stem.split('_')[0]} | {exercises} | {questions} | {stated_time(src)} | {run} |")
    return "\n".join(lines)


def main() -> int:
    print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
