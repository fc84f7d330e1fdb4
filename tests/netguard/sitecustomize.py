"""Start-up hook of every Python process the test suite starts: install the network guard.

``conftest.py`` puts this folder first on ``PYTHONPATH`` and sets ``COURSE_NO_NETWORK=1``; the
processes the tests start (``python -m course_lib.train``, notebook kernels, ``make lab``) inherit
both, and Python's ``site`` module imports the first ``sitecustomize`` on the path: this one.
The guard itself lives in ``course_netguard`` (the same code conftest installs in pytest).

Because this file shadows any other ``sitecustomize`` (a virtual environment's or a Python
distribution's), it runs that one afterwards, so installing the guard takes nothing away.
"""

from __future__ import annotations

import os
import sys


def _run_shadowed_sitecustomize() -> None:
    """Execute the next ``sitecustomize`` on ``sys.path`` after this folder, if there is one."""
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


if os.environ.get("COURSE_NO_NETWORK") == "1":
    try:
        import course_netguard

        course_netguard.install()
    except Exception as exc:  # pragma: no cover - a broken guard must not let a process run unguarded
        # ``site`` would print one line and carry on without the guard: stop the process instead.
        sys.stderr.write(f"tests/netguard/sitecustomize.py: could not install the network guard: {exc!r}\n")
        os._exit(70)

_run_shadowed_sitecustomize()
