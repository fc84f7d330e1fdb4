"""Test-suite settings: quick mode, no network, one thread per worker, notebook time budgets."""

from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
#: holds the network guard (course_netguard) and the sitecustomize that installs it at start-up
NETGUARD = ROOT / "tests" / "netguard"


def _prepend_to_pythonpath(*folders: Path) -> str:
    """PYTHONPATH with ``folders`` first, each once (conftest is imported again in xdist workers)."""
    entries = [str(f) for f in folders]
    entries += [e for e in os.environ.get("PYTHONPATH", "").split(os.pathsep) if e and e not in entries]
    return os.pathsep.join(entries)


# Before anything imports torch or starts a notebook kernel (kernels inherit this environment).
os.environ["COURSE_MODE"] = "quick"
os.environ["COURSE_OFFLINE"] = "1"  # nothing downloads: VGG weights and data sets fall back or refuse
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["TQDM_DISABLE"] = "1"
os.environ["PYTHONPATH"] = _prepend_to_pythonpath(NETGUARD, ROOT)
os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", "4294967295")
os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", "4294967295")
if os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") != "1" or os.environ.get("PYTEST_XDIST_WORKER"):
    # Several workers on few cores: one thread each, or they slow each other down.
    os.environ["OMP_NUM_THREADS"] = "1"

# No network, in every process. Each Python process the tests start (CLI runs, notebook kernels,
# `make lab`) inherits PYTHONPATH and imports tests/netguard/sitecustomize.py at start-up, which
# installs the guard when COURSE_NO_NETWORK=1; this process installs the same guard right here.
os.environ["COURSE_NO_NETWORK"] = "1"
sys.path.insert(0, str(NETGUARD))
import course_netguard  # noqa: E402 (found through the line above)

course_netguard.install()

#: seconds a notebook may take in quick mode under the test runner (a hard ceiling; aim lower)
NOTEBOOK_BUDGET_S = float(os.environ.get("COURSE_NOTEBOOK_BUDGET_S", "240"))
CAPSTONE_BUDGET_S = float(os.environ.get("COURSE_CAPSTONE_BUDGET_S", "480"))


def pytest_configure(config: pytest.Config) -> None:
    try:
        import torch

        if os.environ.get("OMP_NUM_THREADS") == "1":
            torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


# --------------------------------------------------------------------------- notebook timing
_notebook_seconds: dict[str, float] = defaultdict(float)
_notebook_failed: set[str] = set()


def pytest_collectstart(collector: pytest.Collector) -> None:
    # nbval compares only cells marked NBVAL_CHECK_OUTPUT in lax mode; never compare these.
    if hasattr(collector, "skip_compare"):
        collector.skip_compare += ("stderr", "application/vnd.jupyter.widget-view+json", "text/html")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] += report.duration
        if report.failed:
            _notebook_failed.add(path)


def _budget(path: str) -> float:
    # the capstones (lectures 12 and 13) train several methods each: they get the larger budget
    return CAPSTONE_BUDGET_S if Path(path).name.startswith(("12_", "13_")) else NOTEBOOK_BUDGET_S


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _notebook_seconds:
        return
    tr = terminalreporter
    tr.section("notebook times (quick mode)")
    for path, seconds in sorted(_notebook_seconds.items()):
        flag = "  OVER BUDGET" if seconds > _budget(path) else ""
        flag += "  FAILED" if path in _notebook_failed else ""
        tr.write_line(f"{seconds:7.1f} s  {path}{flag}")
    tr.write_line(f"{sum(_notebook_seconds.values()):7.1f} s  total")
    out = ROOT / "build" / "test-notebook-times.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"when": time.strftime("%Y-%m-%d %H:%M"), "seconds": dict(sorted(_notebook_seconds.items()))}, indent=1))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    over = {p: s for p, s in _notebook_seconds.items() if s > _budget(p)}
    if over and exitstatus == 0 and not hasattr(session.config, "workerinput"):
        print("\nnotebooks over their quick-mode budget: " + ", ".join(f"{p} ({s:.0f} s > {_budget(p):.0f} s)" for p, s in over.items()))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
