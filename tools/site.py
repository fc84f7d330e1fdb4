"""Build the course website: Sphinx + myst-nb with the book theme, from the committed notebooks.

    python -m tools.site                  # build/site/html/index.html (incremental)
    python -m tools.site --fresh          # from scratch
    python -m tools.site --serve          # then serve it on http://127.0.0.1:8000 (Ctrl-C stops)

Nothing is executed: the pages show the outputs stored in lectures/ and solutions/ (labs/ are
shown as students get them). The landing page is README.md's introduction and course map. Every
page has a Colab button and a download button for its .ipynb; search, math and figures work
offline (MathJax is served from the site: ``npm ci --prefix book``, which ``make site`` runs).
The Sphinx configuration is book/conf.py.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from pathlib import Path

from course_lib._project import read_pyproject

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT / "book"
OUT = ROOT / "build" / "site"
MATHJAX = CONF_DIR / "node_modules" / "mathjax" / "es5"
#: the site's sections, in syllabus order within each
FOLDERS = (("lectures", "Lectures"), ("labs", "Labs"), ("solutions", "Solutions"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
SNAPSHOT_NOTE = "Snapshot of an interactive widget"


class SiteError(RuntimeError):
    """The site cannot be built; the message says what to install or fix."""


def repository_url() -> str:
    """The repository's web address, from pyproject.toml's ``[project.urls] Repository``."""
    url = read_pyproject(ROOT / "pyproject.toml").repository
    if not url:
        raise SiteError("pyproject.toml has no [project.urls] Repository = \"https://github.com/ORG/REPO\"")
    return url


def release_tag() -> str:
    """``vVERSION`` (pyproject.toml's version): the tag the Colab buttons and GitHub links point at,
    as the notebooks' own badges and install cells do (``tools.sync_links``)."""
    return read_pyproject(ROOT / "pyproject.toml").tag


def notebooks(folder: str) -> list[Path]:
    """The committed notebooks of ``folder`` (``NN_*.ipynb``), in syllabus order."""
    return sorted((ROOT / folder).glob("[0-9][0-9]_*.ipynb"))


# --------------------------------------------------------------------------- landing page
def readme_section(text: str, heading: str) -> str:
    """The body of README's ``## heading`` section (up to the next ``## ``)."""
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    if m is None:
        raise SiteError(f"README.md has no '## {heading}' section: the site's landing page is made from it")
    return m.group(1).strip()


def _offline_badges(markdown: str) -> str:
    """``[![Open In Colab](badge.svg)](url)`` -> ``[Open In Colab](url)``: a badge is an image
    from the internet, and the site loads nothing from there."""
    return re.sub(r"\[!\[([^\]]*)\]\([^)]*\)\]\(([^)]*)\)", r"[\1](\2)", markdown)


def index_page(readme: str) -> str:
    """The landing page (MyST Markdown): README's title and introduction, its course map, the sidebar."""
    title = re.search(r"^# (.+)$", readme, flags=re.M)
    intro = readme[title.end():].split("\n## ", 1)[0].strip() if title else ""
    course_map = _offline_badges(readme_section(readme, "Course map"))
    parts = [f"# {title.group(1) if title else 'Image to Image'}", intro,
             "Every page below shows a notebook with the outputs stored in the repository (quick mode, "
             "2-core CPU). The rocket button at the top of a page opens it in Colab; the download button "
             f"gives its `.ipynb`. The source, the set-up and the tests: <{repository_url()}>.",
             "## Course map", course_map]
    for folder, caption in FOLDERS:
        pages = "\n".join(f"{folder}/{p.stem}" for p in notebooks(folder))
        parts.append(f"```{{toctree}}\n:caption: {caption}\n:hidden:\n\n{pages}\n```")
    return "\n\n".join(parts) + "\n"


# --------------------------------------------------------------------------- widgets
def _widget_parts(state: dict, model_id: str, seen: set[str]) -> tuple[list[dict], list[str]]:
    """The outputs held by a widget's Output children, and its controls' ``description = value``."""
    if model_id in seen or model_id not in state:
        return [], []
    seen.add(model_id)
    model = state[model_id]
    values = model.get("state", {})
    outputs: list[dict] = []
    settings: list[str] = []
    if model.get("model_name") == "OutputModel":
        outputs.extend(values.get("outputs", []))
    elif values.get("description") and "value" in values:
        settings.append(f"{values['description']} = {values['value']}")
    for child in values.get("children", []):
        if isinstance(child, str) and child.startswith("IPY_MODEL_"):
            more_outputs, more_settings = _widget_parts(state, child.removeprefix("IPY_MODEL_"), seen)
            outputs += more_outputs
            settings += more_settings
    return outputs, settings


def snapshot_widgets(nb: dict) -> int:
    """Replace every widget output by a still picture of it; drop the widget state.

    A widget output is a reference into the notebook's saved widget state, which only the
    ipywidgets JavaScript (from a CDN) can draw. An output that carries its own still image (the
    course's explorers do: ``course_lib.widgets``) keeps just that image, whose caption says how to
    make it live. Any other widget output is replaced by the figures its Output widgets held when
    the notebook was stored, and a line naming the controls' values. Returns the number of widget
    outputs replaced. ``nb`` is the notebook's JSON (a dict), changed in place.
    """
    state = nb.get("metadata", {}).pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    replaced = 0
    for cell in nb.get("cells", []):
        new_outputs = []
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                new_outputs.append(output)
                continue
            replaced += 1
            if "image/png" in output["data"]:
                still = {**output, "data": {k: v for k, v in output["data"].items() if k != WIDGET_VIEW}}
                new_outputs.append(still)
                continue
            shown, settings = _widget_parts(state, view.get("model_id", ""), set())
            new_outputs += [o for o in shown if o.get("output_type") != "stream" or o.get("text")]
            where = f" ({', '.join(settings)})" if settings else ""
            note = (f"*{SNAPSHOT_NOTE}{where}: run the notebook in Jupyter or Colab to move its "
                    "controls.*")
            new_outputs.append({"output_type": "display_data", "metadata": {},
                                "data": {"text/markdown": note, "text/plain": note}})
        if "outputs" in cell:
            cell["outputs"] = new_outputs
    return replaced


def _repository_links(markdown: str, folder: str) -> str:
    """Links to repository files that are no page of the site (``../course_lib/x.py``) -> GitHub.

    Links to notebooks stay relative: they are pages of the site, and MyST resolves them.
    """
    def rewrite(m: re.Match) -> str:
        target = m.group(1)
        path = (ROOT / folder / target.split("#")[0]).resolve()
        if not path.is_relative_to(ROOT) or not path.exists() or path.suffix == ".ipynb":
            return m.group(0)
        kind = "tree" if path.is_dir() else "blob"
        return f"]({repository_url()}/{kind}/{release_tag()}/{path.relative_to(ROOT).as_posix()})"

    return re.sub(r"\]\((?!\w+:|#)([^)\s]+)\)", rewrite, markdown)


def offline_markdown(nb: dict, folder: str = "lectures") -> int:
    """Turn the Colab badges of ``nb``'s Markdown cells into plain links, and links to repository
    files into GitHub links (``folder``: where the notebook lies); return how many cells changed."""
    changed = 0
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        new = _repository_links(_offline_badges(text), folder)
        if new != text:
            cell["source"], changed = new, changed + 1
    return changed


# --------------------------------------------------------------------------- build
def _write_if_changed(path: Path, data: bytes) -> None:
    """Write ``data`` unless ``path`` holds it already (Sphinx rebuilds pages whose source is newer)."""
    if path.exists() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _copy_tree_if_changed(src: Path, dst: Path, keep: callable) -> None:
    for f in sorted(src.rglob("*")):
        if f.is_file() and keep(f.relative_to(src)):
            _write_if_changed(dst / f.relative_to(src), f.read_bytes())


def _mathjax_file(rel: Path) -> bool:
    """The parts of MathJax's es5/ folder the site needs: the combined TeX/MathML -> CHTML file,
    its CHTML fonts and the components it loads on demand (TeX extensions, menu)."""
    parts = rel.parts
    if len(parts) == 1:
        return parts[0] == "tex-mml-chtml.js"
    return parts[0] in ("input", "ui", "a11y", "adaptors") or parts[:2] == ("output", "chtml")


def stage(src: Path, static: Path) -> None:
    """Lay out the Sphinx sources in ``src`` and the local MathJax copy in ``static/mathjax``."""
    if not (MATHJAX / "tex-mml-chtml.js").is_file():
        raise SiteError(f"MathJax is not installed in {MATHJAX.parent.relative_to(ROOT)}: run "
                        "`npm ci --prefix book` (needs Node.js; `make site` does it), so that pages "
                        "render math without loading anything from the internet")
    _copy_tree_if_changed(MATHJAX, static / "mathjax", _mathjax_file)
    _write_if_changed(src / "index.md", index_page((ROOT / "README.md").read_text()).encode())
    wanted = {src / "index.md"}
    for folder, _ in FOLDERS:
        for nb_path in notebooks(folder):
            nb = json.loads(nb_path.read_text())
            data = nb_path.read_bytes()
            if snapshot_widgets(nb) + offline_markdown(nb, folder):
                data = (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode()
            target = src / folder / nb_path.name
            _write_if_changed(target, data)
            wanted.add(target)
    for old in list(src.rglob("*.ipynb")) + list(src.rglob("*.md")):
        if old not in wanted:  # a renamed or removed notebook leaves no page behind
            old.unlink()


def build(out: Path = OUT, fresh: bool = False, quiet: bool = True, jobs: int = 1) -> Path:
    """Build the site into ``out/html``; return the path of its index.html.

    Raises :class:`SiteError` when Sphinx reports a warning (a broken link or reference, a
    notebook it cannot read): the site is built strictly.
    """
    try:
        from sphinx.application import Sphinx
        from sphinx.util.docutils import docutils_namespace, patch_docutils
    except ImportError as exc:
        raise SiteError(f"the site needs Sphinx, myst-nb and sphinx-book-theme ({exc}): "
                        "pip install -c constraints.txt -e '.[site]' (`make site` does it)") from exc
    if fresh and out.exists():
        shutil.rmtree(out)
    src, html, doctrees = out / "src", out / "html", out / "doctrees"
    stage(src, out / "static")
    import io

    warnings = io.StringIO()
    with patch_docutils(CONF_DIR), docutils_namespace():
        app = Sphinx(str(src), str(CONF_DIR), str(html), str(doctrees), "html",
                     confoverrides={"html_static_path": [str(out / "static")]},
                     status=None if quiet else sys.stdout, warning=warnings, parallel=jobs,
                     keep_going=True)
        app.build()
    # The download button gives the notebook as it is in the repository (not the staged copy,
    # whose widget outputs were replaced by snapshots).
    for folder, _ in FOLDERS:
        for nb_path in notebooks(folder):
            shutil.copyfile(nb_path, html / "_sources" / folder / nb_path.name)
    if warnings.getvalue().strip():
        raise SiteError("Sphinx reported problems:\n" + warnings.getvalue())
    return html / "index.html"


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def serve(html: Path, port: int) -> None:
    """Serve ``html`` on 127.0.0.1 only, until Ctrl-C."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    handler = partial(SimpleHTTPRequestHandler, directory=str(html))
    with ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        print(f"serving http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="build folder (default build/site)")
    parser.add_argument("--fresh", action="store_true", help="delete the previous build first")
    parser.add_argument("--jobs", type=int, default=1, help="Sphinx processes")
    parser.add_argument("--serve", action="store_true", help="serve the site on 127.0.0.1 afterwards")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        index = build(args.out, fresh=args.fresh, quiet=True, jobs=args.jobs)
    except SiteError as exc:
        print(f"make site: {exc}", file=sys.stderr)
        return 1
    html = index.parent
    print(f"built {index.relative_to(ROOT) if index.is_relative_to(ROOT) else index} in "
          f"{time.perf_counter() - t0:.0f} s ({_size(html) / 2**20:.1f} MiB)")
    if args.serve:
        serve(html, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
