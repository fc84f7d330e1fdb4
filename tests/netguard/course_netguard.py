"""The test suite's name for the network guard, which lives in ``course_lib/netguard.py``.

The grader (``course_lib.grade``) installs the same guard in every submission's process, so the
code has one home in the package. It is loaded here by file path, not as ``course_lib.netguard``:
``sitecustomize`` imports this module at the start of every Python process the tests start, and
importing the ``course_lib`` package there would import torch into each of them.
"""

import importlib.util
import os
import sys

_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "course_lib", "netguard.py")
_spec = importlib.util.spec_from_file_location(__name__, _PATH)
_module = importlib.util.module_from_spec(_spec)
sys.modules[__name__] = _module  # `import course_netguard` now yields the guard module itself
_spec.loader.exec_module(_module)
