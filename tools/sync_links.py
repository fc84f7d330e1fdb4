"""Copy the repository address and version from pyproject.toml into every place that repeats them.

pyproject.toml's ``[project] version`` and ``[project.urls] Repository`` are the one home of both
facts (``course_lib/_project.py`` reads them). This tool writes them into

* every notebook's **Colab install cell**: ``course-lib @ git+https://github.com/ORG/REPO@vVERSION``,
  so that a notebook opened in Colab installs the library release it was written for (the default
  branch moves on; the tag does not);
* every **Colab badge and link** to a course notebook (notebooks, README, CONTRIBUTING):
  ``https://colab.research.google.com/github/ORG/REPO/blob/vVERSION/FOLDER/NAME.ipynb``, the same
  tag, and in a notebook's own ``Open In Colab`` badge its own path;
* any other ``https://github.com/ORG/REPO`` address of the course that is not the current one.

Files: lectures/ and solutions/ (both halves of each pair: the ``.py`` as text, the ``.ipynb`` cell
sources in place with nbformat, outputs and metadata kept, nothing executed), labs/ (regenerated
from the fixed solutions by ``tools.make_labs``, which only rewrites text), the Markdown files at
the top and under datasets/, environment.yml, .ci/run and course_lib/.

Which addresses are the course's: the current one, and any that an install cell (``course-lib @
git+...``) or a Colab link to a course notebook (``lectures|labs|solutions/NN_*.ipynb``) names, so a
moved repository's old address is found and replaced everywhere. Other GitHub addresses (a paper's
reference repository, its Colab demo) are never touched.

    python -m tools.sync_links            # rewrite (``make links``); idempotent
    python -m tools.sync_links --check    # list every disagreement; exit 1 if there is one

Release: bump ``version`` in pyproject.toml, ``make links``, commit, tag ``vVERSION`` and push the
tag (the badges and install cells point at it, so they work once it is pushed).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_lib._project import ProjectInfo, read_pyproject
from tools.notebooks import cell_id

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIRS = ("lectures", "solutions")  # labs/ is generated from solutions/
LAB_DIR = "labs"
#: text files that may mention the repository (besides the notebooks)
TEXT_GLOBS = ("*.md", "datasets/**/*.md", "environment.yml", ".ci/run", "course_lib/**/*.py")

GITHUB = "https://github.com/"
COLAB = "https://colab.research.google.com/github/"
_NAME = r"[\w.-]+/[\w.-]+?"  # ORG/REPO
#: ``course-lib @ git+https://github.com/ORG/REPO[.git][@REF]``; neither name nor ref takes the
#: punctuation after it (``...@v0.1.0.`` at the end of a sentence, ``...@v0.1.0`"`` in Markdown)
INSTALL = re.compile(
    r"course[-_]lib\s*@\s*git\+https://github\.com/(?P<org_repo>" + _NAME + r")(?:\.git)?"
    r"(?:@(?P<ref>[\w.+/-]*[\w+/-]))?(?![\w.+/-]*[\w+/-])"
)
COLAB_LINK = re.compile(
    re.escape(COLAB) + r"(?P<org_repo>[\w.-]+/[\w.-]+)/blob/(?P<ref>[^/\s)\"'`\]>\\]+)/"
    r"(?P<path>[^\s)\"'`\]>\\]*)"
)
#: ``[![Open In Colab](badge.svg)](link)``: a notebook's badge for itself
OWN_BADGE = re.compile(r"(\[!\[Open In Colab\]\([^)\s]*\)\]\()(" + re.escape(COLAB) + r"[^)\s]*)(\))")
COURSE_NOTEBOOK = re.compile(r"(?:lectures|labs|solutions)/\d\d_[\w-]+\.ipynb")


class SyncError(RuntimeError):
    """pyproject.toml does not say what the links need; the message says what to write there."""


@dataclass(frozen=True)
class Home(ProjectInfo):
    """pyproject.toml's address and version (and release ``tag``), as the links use them."""

    @property
    def org_repo(self) -> str:
        return self.repository.removeprefix(GITHUB)

    @property
    def install_spec(self) -> str:
        """What pip installs on Colab: the release tag of this version."""
        return f"course-lib @ git+{self.repository}@{self.tag}"

    def colab(self, path: str) -> str:
        """The Colab address of the course file ``path`` (``lectures/04_pix2pix.ipynb``) at the tag."""
        return f"{COLAB}{self.org_repo}/blob/{self.tag}/{path}"


def home(root: Path = ROOT) -> Home:
    """The address and version in ``root``'s pyproject.toml, checked."""
    info = read_pyproject(root / "pyproject.toml")
    if not re.fullmatch(re.escape(GITHUB) + r"[\w.-]+/[\w.-]+", info.repository):
        raise SyncError(
            f"pyproject.toml: [project.urls] Repository is {info.repository!r}; expected "
            '"https://github.com/ORG/REPO" (the Colab links and install cells are made from it)'
        )
    if not re.fullmatch(r"\d+(\.\d+)*([abc]|rc)?\d*(\.post\d+)?(\.dev\d+)?", info.version):
        raise SyncError(f"pyproject.toml: [project] version is {info.version!r}; expected e.g. \"0.2.0\"")
    return Home(info.name, info.version, info.repository)


# --------------------------------------------------------------------------- the rewrite
def course_homes(texts: Iterable[str], current: Home) -> set[str]:
    """ORG/REPO (lower case) of every address that is the course's: the current one, and those
    named by install cells or by Colab links to course notebooks (an old address of the course)."""
    homes = {current.org_repo.lower()}
    for text in texts:
        homes.update(m.group("org_repo").lower() for m in INSTALL.finditer(text))
        homes.update(m.group("org_repo").lower() for m in COLAB_LINK.finditer(text)
                     if COURSE_NOTEBOOK.fullmatch(m.group("path")))
    return homes


def rewrite(text: str, current: Home, homes: set[str] | None = None,
            own: str | None = None) -> tuple[str, list[tuple[str, str]]]:
    """``text`` with every course address and version made the current one, and the replacements
    made (``(found, written)`` for each occurrence that changed).

    ``homes``: the course's addresses (:func:`course_homes`; by default those found in ``text``).
    ``own``: the path of the notebook ``text`` belongs to (``lectures/04_pix2pix.ipynb``): its
    ``Open In Colab`` badge is pointed there. Addresses of other repositories are left alone.
    """
    homes = course_homes([text], current) if homes is None else homes | {current.org_repo.lower()}
    changed: list[tuple[str, str]] = []

    def count(old: str, new: str) -> str:
        if new != old:
            changed.append((old, new))
        return new

    text = INSTALL.sub(lambda m: count(m.group(0), current.install_spec), text)
    if own is not None:
        text = OWN_BADGE.sub(lambda m: m.group(1) + count(m.group(2), current.colab(own)) + m.group(3), text)

    def colab(m: re.Match) -> str:
        ours = m.group("org_repo").lower() in homes or COURSE_NOTEBOOK.fullmatch(m.group("path"))
        return count(m.group(0), current.colab(m.group("path")) if ours else m.group(0))

    text = COLAB_LINK.sub(colab, text)
    for old in sorted(homes - {current.org_repo.lower()}):
        # not followed by more of a name: .../image-to-image-old is another repository
        pattern = re.compile(re.escape(GITHUB) + "(?i:" + re.escape(old) + r")(?![\w.-]*[\w-])")
        text = pattern.sub(lambda m: count(m.group(0), current.repository), text)
    return text, changed


# --------------------------------------------------------------------------- files
@dataclass
class Change:
    """One file that disagrees with the home: where, and the lines as they are and should be."""

    path: Path
    occurrences: int
    lines: list[tuple[str, str, str]]  # (where, found, expected), one per occurrence
    new_text: str


def _rewrite_lines(text: str, current: Home, homes: set[str], own: str | None = None,
                   where: str = "") -> tuple[str, list[tuple[str, str, str]]]:
    """:func:`rewrite` line by line (every pattern lies within a line), saying where each change is."""
    out, found = [], []
    for k, line in enumerate(text.split("\n"), 1):
        new, changed = rewrite(line, current, homes, own)
        out.append(new)
        found += [(f"{where}line {k}", a, b) for a, b in changed]
    return "\n".join(out), found


def sync_text(path: Path, current: Home, homes: set[str], own: str | None = None) -> Change | None:
    """The change ``path`` (a text file or a notebook's ``.py``) needs, or None."""
    old = path.read_text(encoding="utf-8")
    new, found = _rewrite_lines(old, current, homes, own)
    return Change(path, len(found), found, new) if new != old else None


def sync_ipynb(path: Path, current: Home, homes: set[str], own: str | None = None) -> Change | None:
    """The change ``path`` (an ``.ipynb``) needs, or None: cell sources only; outputs, metadata and
    the file's formatting are kept; a cell id made from the old source is made from the new one."""
    old_text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(old_text, as_version=4)
    diffs = []
    for i, cell in enumerate(nb.cells):
        new, found = _rewrite_lines(cell.source, current, homes, own, f"cell {i}, ")
        if new == cell.source:
            continue
        diffs += found
        if cell.get("id") == cell_id(i, cell.source):
            cell["id"] = cell_id(i, new)
        cell.source = new
    if not diffs:
        return None
    new_text = nbformat.writes(nb) + ("\n" if old_text.endswith("\n") else "")
    return Change(path, len(diffs), diffs, new_text)


def text_files(root: Path) -> list[Path]:
    files = {p for pattern in TEXT_GLOBS for p in root.glob(pattern) if p.is_file()}
    return sorted(p for p in files if not {"node_modules", "_build", ".venv"} & set(p.parts))


def notebook_sources(root: Path, folder: str) -> list[Path]:
    return sorted((root / folder).glob("[0-9][0-9]_*.py"))


def _pairs(root: Path, folders: Iterable[str]) -> list[tuple[Path, str]]:
    """(file, own Colab path) of both halves of every notebook pair in ``folders``."""
    out = []
    for folder in folders:
        for py in notebook_sources(root, folder):
            own = f"{folder}/{py.stem}.ipynb"
            out += [(py, own)] + ([(py.with_suffix(".ipynb"), own)] if py.with_suffix(".ipynb").is_file() else [])
    return out


def _homes(root: Path, current: Home) -> set[str]:
    files = [*text_files(root), *(p for p, _ in _pairs(root, (*NOTEBOOK_DIRS, LAB_DIR)))]
    return course_homes((p.read_text(encoding="utf-8") for p in files), current)


def changes(root: Path = ROOT, folders: Iterable[str] = (*NOTEBOOK_DIRS, LAB_DIR),
            homes: set[str] | None = None) -> list[Change]:
    """Every file under ``root`` that disagrees with its pyproject.toml (nothing is written):
    the text files and the notebook pairs in ``folders``."""
    current = home(root)
    homes = _homes(root, current) if homes is None else homes
    found = [sync_text(p, current, homes) for p in text_files(root)]
    found += [(sync_ipynb if p.suffix == ".ipynb" else sync_text)(p, current, homes, own)
              for p, own in _pairs(root, folders)]
    return [c for c in found if c is not None]


def sync(root: Path = ROOT) -> list[Change]:
    """Rewrite every disagreeing file (text, lectures, solutions), then regenerate with
    ``tools.make_labs`` each lab whose solution changed or that disagrees; return what changed."""
    current = home(root)
    homes = _homes(root, current)  # before anything is rewritten: old addresses are still there
    done = changes(root, NOTEBOOK_DIRS, homes)
    for change in done:
        change.path.write_text(change.new_text, encoding="utf-8")
    stale = {c.path.stem for c in done if c.path.parent == root / "solutions"}
    lab_changes = {c.path: c for c in changes(root, (LAB_DIR,), homes) if c.path.parent == root / LAB_DIR}
    stale |= {path.stem for path in lab_changes}
    if stale:
        from tools import make_labs
        from tools.notebooks import pair_texts

        for src in notebook_sources(root, "solutions"):
            if src.stem not in stale:
                continue
            target = make_labs.lab_path(src, root / LAB_DIR)
            target.parent.mkdir(exist_ok=True)
            for suffix, text in pair_texts(make_labs.generate(src)).items():
                path = target.with_suffix(suffix)
                old = path.read_text(encoding="utf-8") if path.is_file() else ""
                if text != old:
                    path.write_text(text, encoding="utf-8")
                    found = lab_changes[path].lines if path in lab_changes else []  # [] : other edits
                    done.append(Change(path, len(found), found, text))
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="only compare; list every disagreement and exit 1 if there is one")
    args = parser.parse_args(argv)
    try:
        current = home(ROOT)
        found = changes(ROOT) if args.check else sync(ROOT)
    except SyncError as exc:
        print(exc, file=sys.stderr)
        return 2
    for change in found:
        if not change.lines:
            print(f"{change.path.relative_to(ROOT)}: regenerated from its solution (tools.make_labs)")
        for where, old, new in change.lines:
            print(f"{change.path.relative_to(ROOT)}, {where}: {old}\n    expected: {new}")
    occurrences = sum(c.occurrences for c in found)
    print(f"home: {current.repository} version {current.version} (tag {current.tag}), from pyproject.toml")
    if args.check:
        if found:
            print(f"{occurrences} occurrence(s) in {len(found)} file(s) disagree: run `make links` "
                  "(python -m tools.sync_links) and commit the result")
        else:
            print("every link agrees with pyproject.toml")
        return 1 if found else 0
    print(f"rewrote {occurrences} occurrence(s) in {len(found)} file(s)" if found else "all links agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
