"""Grade a class: ``python -m course_lib.grade LAB SUBMISSIONS... --out DIR``.

For every submitted notebook the grader

1. rebuilds the notebook from the **released lab**: every locked cell (set-up, instructions,
   demonstrations and, above all, the check cells) comes from the lab, and only the student's
   answer cells (found by their nbgrader ``grade_id``, or else by the function they define) are
   taken from the submission. Extra code cells of the student are not run: helpers belong in the
   exercise's cell. An edited or deleted check cell is reported as tampering;
2. reads the answer cells for things a person should look at (a course_lib import, a grader's
   reference function, patching a module, a socket or a subprocess): the ``flags`` column;
3. runs it in its own Python process (:mod:`course_lib.grade.runner`) with a wall-time limit, a
   memory limit, a file-size limit, one thread and no network (:mod:`course_lib.netguard`); a
   grader function replaced at run time is put back before each check and reported;
4. scores each check cell that passes with its points (nbgrader metadata of the lab: 1 each unless
   tagged ``points=N``), and writes ``gradebook.csv`` (one row per submission) and
   ``feedback/<student>.md`` (every check's message, in the student's words).

Statuses: ``ok``; ``review`` (ran, but flagged: see ``flags``); ``tampered`` (checks edited or
replaced: graded with the originals); ``timeout``; ``memory`` (hit the memory limit); ``crashed``
(the process died); ``invalid`` (not a readable notebook). One bad file never stops the run.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_lib.grade.cells import Role, check_call, defined_names, roles

__all__ = ["Result", "Submission", "find_submissions", "grade", "load_lab", "prepare"]

MAX_NOTEBOOK_BYTES = 50 * 2**20
#: statuses from the most to the least serious: a row shows the first that applies
STATUS_ORDER = ("invalid", "timeout", "memory", "crashed", "tampered", "review", "ok")
#: modules whose import in an answer cell a person should look at
SUSPICIOUS_MODULES = ("socket", "subprocess", "ctypes", "multiprocessing", "urllib", "http", "requests",
                      "importlib", "builtins", "gc", "inspect")
#: attribute patches of these names are reported (a student's answer must not change libraries)
PATCHABLE = re.compile(r"^(lab\d\d|course_lib|torch|nn|F|np|numpy|math|sys|os|builtins|__builtins__)$")


class InvalidSubmission(ValueError):
    """A file that is not a readable notebook."""


# --------------------------------------------------------------------------- inputs
def load_lab(lab: str | os.PathLike) -> tuple[Path, Any]:
    """The released lab notebook: a path to an ``.ipynb``, or a lab number ('01') in the repository's labs/."""
    import nbformat

    path = Path(lab)
    if not path.suffix:
        root = Path(__file__).resolve().parents[2] / "labs"
        found = sorted(root.glob(f"{lab}_*_lab.ipynb")) if root.is_dir() else []
        if len(found) != 1:
            raise FileNotFoundError(f"lab {lab!r}: expected one labs/{lab}_*_lab.ipynb in {root}, found "
                                    f"{[p.name for p in found]}; pass the path of the released lab notebook instead")
        path = found[0]
    if not path.is_file():
        raise FileNotFoundError(f"lab notebook {path} does not exist; pass a lab number ('01') or a .ipynb path")
    nb = nbformat.read(path, as_version=4)
    if not any(r.kind == "check" for r in roles(nb)):
        raise ValueError(f"{path} has no check cells (labNN.check_...(...)): is it a released lab?")
    return path, nb


@dataclass
class Submission:
    name: str  # the student's id in the gradebook (file name without .ipynb, unique)
    path: Path
    problem: str | None = None  # why it cannot be read at all (e.g. an archive that was refused)


def find_submissions(paths: list[str | os.PathLike], workdir: Path) -> list[Submission]:
    """Every file given, every file in the given folders, every file in the given zip archives.

    Archives are untrusted: they are unpacked with the course's safe extraction into ``workdir``.
    Hidden files and ``__MACOSX`` folders are skipped; any other file becomes a submission (a file
    that is not a notebook is graded ``invalid``, so that it shows up in the gradebook).
    """
    from course_lib.data import safe_extract

    files: list[Path] = []
    problems: dict[Path, str] = {}
    for k, raw in enumerate(paths):
        p = Path(raw)
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.is_file() and not _hidden(f.relative_to(p)))
        elif p.is_file() and p.suffix.lower() in (".zip", ".tar", ".tgz", ".gz"):
            target = workdir / f"archive{k}"
            try:
                safe_extract(p, target)
            except Exception as exc:  # an unsafe or corrupt archive is one invalid row
                files.append(p)
                problems[p] = f"archive refused: {exc}"
                continue
            files += sorted(f for f in target.rglob("*") if f.is_file() and not _hidden(f.relative_to(target)))
        elif p.is_file():
            files.append(p)
        else:
            raise FileNotFoundError(f"submission {p} does not exist")
    out: list[Submission] = []
    seen: dict[str, int] = {}
    for f in files:
        base = re.sub(r"[^A-Za-z0-9_.-]+", "_", f.stem if f.suffix == ".ipynb" else f.name)[:80] or "submission"
        seen[base] = seen.get(base, 0) + 1
        out.append(Submission(base if seen[base] == 1 else f"{base}_{seen[base]}", f, problems.get(f)))
    return out


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in rel.parts)


def read_submission(path: Path) -> Any:
    """The notebook in ``path``, or :class:`InvalidSubmission` saying what is wrong with it."""
    import nbformat

    if path.suffix.lower() != ".ipynb":
        raise InvalidSubmission(f"not a notebook (.ipynb): {path.name}")
    size = path.stat().st_size
    if size == 0:
        raise InvalidSubmission("empty file")
    if size > MAX_NOTEBOOK_BYTES:
        raise InvalidSubmission(f"file is {size / 2**20:.0f} MB, over the {MAX_NOTEBOOK_BYTES // 2**20} MB limit "
                                "(clear the outputs and submit again)")
    try:
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except Exception as exc:
        raise InvalidSubmission(f"not a readable notebook ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(nb.get("cells"), list) or any(not isinstance(c, dict) or "source" not in c for c in nb.cells):
        raise InvalidSubmission("not a readable notebook (cells missing or malformed)")
    return nb


# --------------------------------------------------------------------------- preparing a submission
def _norm(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines() if line.strip())


def _grade_id(cell: Any) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta.get("grade_id") if isinstance(meta, dict) else None


def _find_answer(role: Role, template: str, cells: list[Any]) -> Any | None:
    by_id = [c for c in cells if _grade_id(c) == role.grade_id]
    if by_id:
        return by_id[-1]
    names = set(defined_names(template))
    matches = [c for c in cells if names & set(defined_names(c.source)) and not check_call(c.source)]
    return matches[-1] if matches else None  # the last definition is the one in effect


def _check_problem(role: Role, template: str, cells: list[Any]) -> str | None:
    candidates = [c for c in cells if _grade_id(c) == role.grade_id]
    candidates += [c for c in cells if (m := check_call(c.source)) and m.group("check") == role.grade_id]
    if not candidates:
        return f"check cell {role.grade_id} was deleted or replaced"
    if not any(_norm(c.source) == _norm(template) for c in candidates):
        return f"check cell {role.grade_id} was edited"
    return None


def static_flags(role_id: str, source: str, template: str) -> list[str]:
    """What in a student's answer cell a person should look at (empty: nothing)."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []  # the run reports the syntax error
    template_imports = set(re.findall(r"(?:from|import)\s+(course_lib[\w.]*)", template))
    flags = []
    for node in ast.walk(tree):
        modules = []
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        for mod in modules:
            if mod.startswith("course_lib") and mod not in template_imports:
                flags.append(f"{role_id}: imports {mod} (the course's own implementation?)")
            elif mod.split(".")[0] in SUSPICIOUS_MODULES:
                flags.append(f"{role_id}: imports {mod}")
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            base, attr = node.value.id, node.attr
            if re.fullmatch(r"lab\d\d", base) and not attr.startswith("check_") and attr != "hint":
                flags.append(f"{role_id}: uses the grader's {base}.{attr}")
            elif base == "course_lib" and attr not in ("setup", "by_mode", "is_quick", "mode"):
                flags.append(f"{role_id}: uses course_lib.{attr}")
            elif base == "os" and (attr in ("system", "popen", "fork", "kill") or attr.startswith("exec")):
                flags.append(f"{role_id}: calls os.{attr}")
        targets: list[ast.expr] = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
        for t in targets:
            if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and PATCHABLE.match(t.value.id):
                flags.append(f"{role_id}: changes {t.value.id}.{t.attr}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in (
                "setattr", "delattr", "exec", "eval", "__import__"):
            flags.append(f"{role_id}: calls {node.func.id}()")
        if isinstance(node, ast.Name) and node.id in ("__builtins__", "globals"):
            flags.append(f"{role_id}: uses {node.id}")
    return sorted(set(flags))


@dataclass
class Prepared:
    cells: list[dict[str, str]]  # what the runner executes: {"id", "role", "source"}
    tampered: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def prepare(lab_nb: Any, student_nb: Any) -> Prepared:
    """The notebook to run: the lab's locked cells and the student's answer cells."""
    student_code = [c for c in student_nb.cells if c.get("cell_type") == "code" and isinstance(c.get("source"), str)]
    prepared = Prepared(cells=[])
    used: set[int] = set()
    for cell, role in zip(lab_nb.cells, roles(lab_nb)):
        if cell.cell_type != "code":
            continue
        source = cell.source
        if role.kind == "answer":
            answer = _find_answer(role, cell.source, student_code)
            if answer is None:
                prepared.notes.append(f"{role.grade_id}: no answer cell found; the lab's stub was run")
            else:
                used.add(id(answer))
                source = answer.source
                prepared.flags += static_flags(role.grade_id, source, cell.source)
        elif role.kind == "check":
            problem = _check_problem(role, cell.source, student_code)
            if problem:
                prepared.tampered.append(problem + " (graded with the lab's original)")
        prepared.cells.append({"id": role.grade_id, "role": role.kind, "source": source})
    lab_sources = {_norm(c.source) for c in lab_nb.cells if c.cell_type == "code"}
    extra = [c for c in student_code if id(c) not in used and _norm(c.source) not in lab_sources
             and not check_call(c.source) and _norm(c.source)]
    if extra:
        prepared.notes.append(f"{len(extra)} code cell(s) of yours outside the answer cells were not run: "
                              "put helper code inside the exercise's cell")
    return prepared


# --------------------------------------------------------------------------- running
@dataclass
class Result:
    name: str
    status: str
    points: dict[str, float]
    messages: dict[str, str]
    flags: list[str]
    notes: list[str]
    seconds: float


def _environment(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"COURSE_MODE": "quick", "COURSE_OFFLINE": "1", "OMP_NUM_THREADS": str(threads),
                "MKL_NUM_THREADS": str(threads), "MPLBACKEND": "Agg", "TQDM_DISABLE": "1", "PYTHONHASHSEED": "0"})
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([package_root, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _is_memory_error(record: dict[str, Any]) -> bool:
    text = f"{record.get('error', '')} {record.get('message', '')}"
    return "MemoryError" in text or "can't allocate memory" in text or "DefaultCPUAllocator" in text


def run_submission(sub: Submission, lab_nb: Any, workdir: Path, timeout: float, memory_mb: int,
                   threads: int = 1) -> Result:
    """Prepare, run and score one submission (never raises for a bad submission)."""
    lab_roles = [r for r in roles(lab_nb) if r.kind == "check"]
    zero = {r.grade_id: 0.0 for r in lab_roles}
    start = time.perf_counter()
    try:
        if sub.problem:
            raise InvalidSubmission(sub.problem)
        prepared = prepare(lab_nb, read_submission(sub.path))
    except InvalidSubmission as exc:
        return Result(sub.name, "invalid", zero, {}, [str(exc)], [], 0.0)
    folder = workdir / sub.name
    folder.mkdir(parents=True)
    results = folder / "results.jsonl"
    job = {"cells": prepared.cells, "results": str(results), "memory_mb": memory_mb}
    (folder / "job.json").write_text(json.dumps(job))
    with open(folder / "stderr.txt", "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "course_lib.grade.runner", str(folder / "job.json")],
                                cwd=folder, env=_environment(threads), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            rc, timed_out = proc.wait(), True
    records = [json.loads(line) for line in results.read_text().splitlines() if line.strip()] if results.exists() else []
    points, messages = dict(zero), {}
    check_points = {r.grade_id: r.points for r in lab_roles}
    flags, tampered = list(prepared.flags), list(prepared.tampered)
    memory = False
    for rec in records:
        memory |= _is_memory_error(rec)
        if rec.get("tampered"):
            tampered.append(f"before {rec['id']}: replaced {', '.join(rec['tampered'])} (put back)")
        message = rec.get("message", "")
        if "Network" in rec.get("error", "") or ("network" in message.lower() and "refused" in message):
            flags.append(f"{rec['id']}: tried to use the network (blocked)")
        if rec["role"] == "check":
            points[rec["id"]] = check_points[rec["id"]] if rec["ok"] else 0.0
            messages[rec["id"]] = "passed" if rec["ok"] else rec.get("message", rec.get("error", "failed"))
        elif rec["role"] == "answer" and not rec["ok"]:
            messages[rec["id"]] = f"your cell raised {rec.get('error')}: {rec.get('message', '')}"
    for r in lab_roles:
        messages.setdefault(r.grade_id, "not reached (the run stopped before this check)")
    stderr_text = (folder / "stderr.txt").read_text(errors="replace")[-2000:]
    if timed_out:
        status = "timeout"
    elif memory or "MemoryError" in stderr_text:
        status = "memory"
    elif rc != 0:
        status = "crashed"
        flags.append(f"the process ended with {'signal ' + str(-rc) if rc < 0 else 'exit code ' + str(rc)}")
    elif tampered:
        status = "tampered"
    elif flags:
        status = "review"
    else:
        status = "ok"
    return Result(sub.name, status, points, messages, sorted(set(tampered)) + sorted(set(flags)), prepared.notes,
                  round(time.perf_counter() - start, 1))


# --------------------------------------------------------------------------- the gradebook
def write_gradebook(results: list[Result], lab_nb: Any, out: Path) -> Path:
    checks = [r for r in roles(lab_nb) if r.kind == "check"]
    total_max = sum(r.points for r in checks)
    out.mkdir(parents=True, exist_ok=True)
    (out / "feedback").mkdir(exist_ok=True)
    book = out / "gradebook.csv"
    with open(book, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", "status", *[f"{r.grade_id} ({r.points:g})" for r in checks], "total", "max",
                    "flags", "seconds"])
        for res in results:
            total = sum(res.points.values())
            w.writerow([res.name, res.status, *[f"{res.points[r.grade_id]:g}" for r in checks], f"{total:g}",
                        f"{total_max:g}", " | ".join(res.flags), res.seconds])
    for res in results:
        lines = [f"# Feedback: {res.name}", "", f"**{sum(res.points.values()):g} / {total_max:g} points** "
                 f"(status: {res.status})", ""]
        for r in checks:
            mark = "passed" if res.points[r.grade_id] > 0 else "not passed"
            lines += [f"## {r.grade_id}: {res.points[r.grade_id]:g} / {r.points:g} ({mark})", "",
                      "```", res.messages.get(r.grade_id, ""), "```", ""]
        extra = {k: v for k, v in res.messages.items() if k.startswith("answer_")}
        if extra or res.notes or res.flags:
            lines += ["## Notes", ""] + [f"- {k}: {v}" for k, v in extra.items()] + [f"- {n}" for n in res.notes]
            lines += [f"- for your teacher: {fl}" for fl in res.flags]
        (out / "feedback" / f"{res.name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return book


def grade(lab: str | os.PathLike, submissions: list[str | os.PathLike], out: str | os.PathLike, jobs: int = 2,
          timeout: float = 600.0, memory_mb: int = 6144, threads: int = 1, progress: bool = True) -> list[Result]:
    """Grade ``submissions`` against the released ``lab``; write the gradebook into ``out``."""
    _, lab_nb = load_lab(lab)
    if jobs < 1 or timeout <= 0 or memory_mb < 2048:
        raise ValueError(f"jobs must be >= 1, timeout > 0 and memory_mb >= 2048 (torch needs about 2 GB of "
                         f"address space to start); got jobs={jobs}, timeout={timeout}, memory_mb={memory_mb}")
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="course_grade_") as tmp:
        work = Path(tmp)
        subs = find_submissions(list(submissions), work / "inputs")
        if not subs:
            raise ValueError(f"no submissions found in {[str(s) for s in submissions]}")

        def one(sub: Submission) -> Result:
            res = run_submission(sub, lab_nb, work / "runs", timeout, memory_mb, threads)
            if progress:
                print(f"{res.name}: {res.status}, {sum(res.points.values()):g} points ({res.seconds:.0f} s)", flush=True)
            return res

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(one, subs))
    book = write_gradebook(results, lab_nb, out)
    if progress:
        print(f"wrote {book} and {len(results)} feedback files in {out / 'feedback'}")
    return results
