"""The course's version and repository address, read from their one home: pyproject.toml.

``pyproject.toml``'s ``[project] version`` and ``[project.urls] Repository`` are the only place
these two facts are written. ``course_lib.__version__`` comes from here, and ``python -m
tools.sync_links`` copies both into every Colab badge and install cell (``make links``).

In a clone (an editable install, or ``PYTHONPATH`` pointing at the checkout) the pyproject.toml
next to the package is read, so a bumped version shows before reinstalling; an installed wheel
has no pyproject.toml, and its metadata (written from that file at build time) is read instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

DIST_NAME = "course-lib"
#: the pyproject.toml of a checkout: course_lib/ sits next to it
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


@dataclass(frozen=True)
class ProjectInfo:
    """What pyproject.toml says about the project."""

    name: str
    version: str
    repository: str  # "https://github.com/ORG/REPO", no trailing slash

    @property
    def tag(self) -> str:
        """The git tag of this version's release (``v0.2.0``): what Colab badges and install cells
        point at, so that a notebook and the library it installs come from the same commit."""
        return f"v{self.version}"


def _table(text: str, name: str) -> str:
    """The body of TOML table ``[name]`` (up to the next table header); "" if absent."""
    m = re.search(rf"^\[{re.escape(name)}\][ \t]*\n(.*?)(?=^\[|\Z)", text, flags=re.M | re.S)
    return m.group(1) if m else ""


def _string(table: str, key: str) -> str:
    m = re.search(rf'^{re.escape(key)}\s*=\s*"([^"]*)"', table, flags=re.M)
    return m.group(1) if m else ""


def parse_pyproject(text: str) -> ProjectInfo:
    """Name, version and repository address from pyproject.toml's text.

    tomllib where Python has it (3.11+); on 3.10 a reader for the three plain strings, which is
    all this file needs (they are always written as ``key = "value"``).
    """
    try:
        # mypy checks for Python 3.10 (pyproject's python_version), where tomllib does not exist:
        # the except branch below is that case, so the missing module is expected here
        import tomllib  # type: ignore[import-not-found, unused-ignore]
    except ModuleNotFoundError:  # Python 3.10
        project, urls = _table(text, "project"), _table(text, "project.urls")
        name, version, repository = _string(project, "name"), _string(project, "version"), _string(urls, "Repository")
    else:
        project = tomllib.loads(text).get("project", {})
        name, version = project.get("name", ""), project.get("version", "")
        repository = project.get("urls", {}).get("Repository", "")
    return ProjectInfo(name=name, version=version, repository=repository.rstrip("/"))


def read_pyproject(path: Path = PYPROJECT) -> ProjectInfo:
    """:func:`parse_pyproject` of the file at ``path``."""
    return parse_pyproject(Path(path).read_text(encoding="utf-8"))


def version() -> str:
    """The course_lib version: the checkout's pyproject.toml, else the installed metadata.

    ``"0+unknown"`` when neither exists (the package copied somewhere by hand).
    """
    if PYPROJECT.is_file():
        info = read_pyproject(PYPROJECT)
        if info.name == DIST_NAME and info.version:
            return info.version
    try:
        return metadata.version(DIST_NAME)
    except metadata.PackageNotFoundError:
        return "0+unknown"
