"""Build the course book: execute every lecture and solution in quick mode, write HTML pages.

    python -m tools.build_book                 # execute all into build/book/, then HTML + index
    python -m tools.build_book --no-execute    # convert the committed (already executed) notebooks

The committed notebooks are not modified. Open ``build/book/index.html``.
"""

from __future__ import annotations

import argparse
import html
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from tools.notebooks import (
    EXECUTED_DIRS,
    ROOT,
    Executed,
    execute,
    kernel_env,
    read_source,
    sources,
    title_of,
)

BOOK = ROOT / "build" / "book"


def to_html(nb: nbformat.NotebookNode, path: Path) -> None:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    path.write_text(body)


def build(folders: tuple[Path, ...] = EXECUTED_DIRS, out: Path = BOOK, run: bool = True, jobs: int = 1) -> list[Executed]:
    """Execute (or just read) each notebook of ``folders``, write ``out/<folder>/<name>.html`` and an index."""
    out.mkdir(parents=True, exist_ok=True)
    srcs = [p for folder in folders for p in sources(folder)]
    threads = 1 if jobs > 1 else None

    def one(src: Path) -> tuple[Executed, str]:
        if run:
            nb, seconds, error = execute(read_source(src), cwd=src.parent, env=kernel_env(threads), allow_errors=False)
        else:
            nb, seconds, error = nbformat.read(src.with_suffix(".ipynb"), as_version=4), 0.0, None
        page = out / src.parent.name / (src.stem + ".html")
        page.parent.mkdir(parents=True, exist_ok=True)
        to_html(nb, page)
        return Executed(page, seconds, error), title_of(nb)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(one, srcs))
    rows = []
    for (res, title), src in zip(results, srcs):
        status = "" if res.error is None else " <strong>(failed: see the page)</strong>"
        rel = res.path.relative_to(out).as_posix()
        timing = f" <small>({res.seconds:.0f} s)</small>" if run else ""
        rows.append(f'<li><a href="{rel}">{html.escape(src.parent.name)}/{html.escape(src.stem)}</a>: '
                    f"{html.escape(title)}{timing}{status}</li>")
    index = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Image to Image: the book</title></head>"
             "<body><h1>Image to Image: the book</h1><p>Every lecture and solution, executed in quick mode.</p>"
             f"<ul>{''.join(rows)}</ul></body></html>")
    (out / "index.html").write_text(index)
    return [r for r, _ in results]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-execute", action="store_true", help="convert the committed notebooks as they are")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    results = build(run=not args.no_execute, jobs=args.jobs)
    failed = [r for r in results if r.error]
    for r in results:
        print(f"{r.path.relative_to(ROOT)}  {r.seconds:6.1f} s  {'FAILED' if r.error else 'ok'}")
    print(f"open {(BOOK / 'index.html').relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
