"""Run one prepared submission: ``python -m course_lib.grade.runner JOB.json`` (internal).

The grader (:mod:`course_lib.grade`) starts this in a fresh process per submission, with limits on
time and memory. It installs the network guard, then executes the job's cells in order in one
IPython shell (so magics and ``display`` work as in Jupyter) and appends one JSON line per cell
to the results file, flushed at once: a submission that later hangs or crashes keeps the checks
it had passed.

Checks are protected: after the lab's own set-up cells have run, every function of the graders'
modules (``course_lib.checks.*``) is remembered; before each check cell, any that a student's
code replaced is put back and the replacement is reported as tampering.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from types import ModuleType
from typing import Any


def _grader_modules() -> dict[str, ModuleType]:
    return {name: mod for name, mod in list(sys.modules.items())
            if mod is not None and (name == "course_lib.checks" or name.startswith("course_lib.checks."))}


def snapshot() -> dict[str, dict[str, Any]]:
    """The current attributes of every loaded grader module."""
    return {name: dict(vars(mod)) for name, mod in _grader_modules().items()}


def restore(saved: dict[str, dict[str, Any]]) -> list[str]:
    """Put back every grader attribute changed since ``saved``; return what was changed."""
    changed = []
    for name, mod in _grader_modules().items():
        before = saved.get(name)
        if before is None:
            continue
        now = vars(mod)
        for attr, value in before.items():
            if now.get(attr, _MISSING) is not value:
                changed.append(f"{name}.{attr}")
                setattr(mod, attr, value)
    return changed


_MISSING = object()


def _message(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 4000 else text[:4000] + " ..."


def run(job: dict[str, Any]) -> None:
    netguard = sys.modules.get("course_netguard")  # the test suite's copy, if it is already installed
    if netguard is None:
        from course_lib import netguard as own_netguard

        netguard = own_netguard
    netguard.install()
    import matplotlib

    matplotlib.use("Agg")
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    saved: dict[str, dict[str, Any]] | None = None
    with open(job["results"], "a", encoding="utf-8") as log:
        for cell in job["cells"]:
            if cell["role"] == "answer" and saved is None:
                saved = snapshot()  # the graders as the lab's set-up loaded them
            record: dict[str, Any] = {"id": cell["id"], "role": cell["role"]}
            if cell["role"] == "check":
                if saved is not None:
                    for name in _grader_modules():  # a grader imported later by a student is remembered too
                        saved.setdefault(name, dict(vars(sys.modules[name])))
                    tampered = restore(saved)
                    if tampered:
                        record["tampered"] = tampered
            start = time.perf_counter()
            result = shell.run_cell(cell["source"], store_history=False, silent=True)
            error = result.error_before_exec or result.error_in_exec
            record["seconds"] = round(time.perf_counter() - start, 3)
            record["ok"] = error is None
            if error is not None:
                record["error"] = type(error).__name__
                record["message"] = _message(error)
            log.write(json.dumps(record) + "\n")
            log.flush()


def limit_resources(memory_mb: int | None, max_file_mb: int = 64) -> None:
    """Cap this process's address space and the size of any file it writes (soft and hard limits:
    the student's code cannot raise them again)."""
    import resource

    if memory_mb:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 2**20, memory_mb * 2**20))
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_mb * 2**20, max_file_mb * 2**20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    with open(args[0], encoding="utf-8") as f:
        job = json.load(f)
    limit_resources(job.get("memory_mb"))
    try:
        run(job)
    except Exception:  # the runner's own failure: reported on stderr, the grader marks it crashed
        traceback.print_exc()
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
