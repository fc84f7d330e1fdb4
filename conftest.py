"""Test-suite settings: quick mode, no network, one thread per worker, notebook time budgets."""

from __future__ import annotations

import json
import os
import socket
import time
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent

# Before anything imports torch or starts a notebook kernel (kernels inherit this environment).
os.environ["COURSE_MODE"] = "quick"
os.environ["COURSE_OFFLINE"] = "1"  # nothing downloads: VGG weights and data sets fall back or refuse
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["TQDM_DISABLE"] = "1"
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", "4294967295")
os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", "4294967295")
if os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") != "1" or os.environ.get("PYTEST_XDIST_WORKER"):
    # Several workers on few cores: one thread each, or they slow each other down.
    os.environ["OMP_NUM_THREADS"] = "1"

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


# --------------------------------------------------------------------------- no network
_LOOPBACK = ("127.", "::1", "localhost", "0.0.0.0")


def _is_local(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0] if isinstance(address, tuple) and address else ""
    return isinstance(host, str) and host.startswith(_LOOPBACK)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that tries to reach another machine (the course must work offline)."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def guard(address: object) -> None:
        if not _is_local(address):
            raise RuntimeError(f"a test tried to open a network connection to {address!r}; tests must run offline")

    def connect(self: socket.socket, address: object) -> None:
        guard(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        guard(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        if host not in (None, "") and not (isinstance(host, str) and host.startswith(_LOOPBACK)):
            raise RuntimeError(f"a test tried to resolve {host!r}; tests must run offline")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


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
    return CAPSTONE_BUDGET_S if Path(path).name.startswith("12_") else NOTEBOOK_BUDGET_S


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
