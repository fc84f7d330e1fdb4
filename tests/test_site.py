"""The course website (`make site`): how it is made, and the built site opened in Chromium.

The browser test builds the site from the committed notebooks, serves it on 127.0.0.1 and drives
Debian's Chromium with Playwright. It needs the `site` extra, MathJax (`npm ci --prefix book`) and
a Chromium (`apt-get install chromium`, or COURSE_CHROMIUM=/path/to/chrome); `make test`
installs the first two. Without them it is skipped, with the reason, on a laptop; under CI
(CI=true) it fails instead, so CI can never pass without having run it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tools import site

ROOT = site.ROOT
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
#: flags for Chromium on a machine without network (no background connections, no sandbox as root)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


# the theme and myst call Sphinx APIs that Sphinx 11 will remove: not this course's to fix
pytestmark = pytest.mark.filterwarnings("ignore:.*Check CHANGES for Sphinx API modifications")


def _require(ok: bool, reason: str) -> None:
    """Skip with ``reason`` on a laptop; fail under CI, where everything must be installed."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}: CI must run the browser test (.ci/run installs Chromium, "
                    "`make test` the site extra and MathJax)", pytrace=False)
    pytest.skip(f"browser test skipped: {reason}")


def _chromium() -> str | None:
    candidates = [os.environ.get("COURSE_CHROMIUM", "")]
    candidates += [shutil.which(n) or "" for n in ("chromium", "chromium-browser", "google-chrome")]
    return next((c for c in candidates if c and Path(c).is_file()), None)


# --------------------------------------------------------------------------- without a browser
def test_missing_tools_skip_on_a_laptop_and_fail_under_ci(monkeypatch):
    me = sys.modules[__name__]
    me._require(True, "nothing missing")  # no effect
    monkeypatch.setattr(me, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="browser test skipped: no Chromium"):
        me._require(False, "no Chromium")
    monkeypatch.setattr(me, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="CI=true but no Chromium"):
        me._require(False, "no Chromium")


def test_landing_page_is_the_readme_course_map_with_pages_instead_of_badges():
    readme = (ROOT / "README.md").read_text()
    page = site.index_page(readme)
    assert page.startswith("# Image to Image\n")
    assert site.readme_section(readme, "Course map").splitlines()[0] in page
    assert "colab-badge.svg" not in page and "https://" in page  # Colab links kept, badge images gone
    for folder, caption in site.FOLDERS:
        nbs = site.notebooks(folder)
        assert nbs, folder
        toctree = re.search(rf"```{{toctree}}\n:caption: {caption}\n:hidden:\n\n(.*?)\n```", page, flags=re.S)
        assert toctree is not None, caption
        assert toctree.group(1).splitlines() == [f"{folder}/{p.stem}" for p in nbs]  # syllabus order
        for p in nbs:
            assert f"]({folder}/{p.name})" in page  # the course map links each notebook's page
    with pytest.raises(site.SiteError, match="Course map"):
        site.index_page("# Title\n\nno map\n")


def test_widget_outputs_become_snapshots_of_their_saved_state():
    view = {"model_id": "box", "version_major": 2, "version_minor": 0}
    png = {"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBOR", "text/plain": "<Figure>"}}
    state = {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_slider", "IPY_MODEL_out"]}},
        "slider": {"model_name": "FloatSliderModel", "state": {"description": "opacity", "value": 0.6}},
        "out": {"model_name": "OutputModel", "state": {"outputs": [png]}},
    }
    nb = {"metadata": {"widgets": {site.WIDGET_STATE: {"state": state}}},
          "cells": [{"cell_type": "code", "source": "w", "outputs": [
              {"output_type": "display_data", "metadata": {}, "data": {site.WIDGET_VIEW: view, "text/plain": "VBox(...)"}},
              {"output_type": "stream", "name": "stdout", "text": "kept\n"}]},
              {"cell_type": "markdown", "source": "text"}]}
    assert site.snapshot_widgets(nb) == 1
    outputs = nb["cells"][0]["outputs"]
    assert outputs[0] == png and outputs[2]["text"] == "kept\n"
    assert "opacity = 0.6" in outputs[1]["data"]["text/markdown"]
    assert "widgets" not in nb["metadata"]
    assert site.snapshot_widgets(nb) == 0  # nothing left to replace


def test_a_widget_output_with_its_own_still_image_keeps_only_that_image():
    """The course's explorers store a still image with the widget (course_lib.widgets): the page
    shows it alone, neither the Output widget's figure again nor a note, nor an empty widget."""
    view = {"model_id": "box", "version_major": 2, "version_minor": 0}
    state = {"box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_out"]}},
             "out": {"model_name": "OutputModel", "state": {"outputs": [
                 {"output_type": "display_data", "metadata": {}, "data": {"image/png": "OLD"}}]}}}
    explorer = {"output_type": "execute_result", "execution_count": 3, "metadata": {},
                "data": {site.WIDGET_VIEW: view, "image/png": "STILL", "text/plain": "Interactive explorer"}}
    nb = {"metadata": {"widgets": {site.WIDGET_STATE: {"state": state}}},
          "cells": [{"cell_type": "code", "source": "w", "outputs": [explorer]}]}
    assert site.snapshot_widgets(nb) == 1
    assert nb["cells"][0]["outputs"] == [{**explorer, "data": {"image/png": "STILL", "text/plain": "Interactive explorer"}}]


def test_markdown_links_stay_offline_and_repository_files_link_to_github():
    url = site.repository_url()
    cell = {"cell_type": "markdown", "source": [
        "# 99 · T\n", "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://x/y.ipynb)\n",
        "See [the lab](../labs/01_receptive_fields_lab.ipynb), [the code](../course_lib/widgets.py), ",
        "[a section](#top), [gone](../no_such_file.py) and [the web](https://example.org)."]}
    nb = {"cells": [cell, {"cell_type": "code", "source": "x = a[0](b)", "outputs": []}]}
    assert site.offline_markdown(nb, "lectures") == 1
    text = cell["source"]
    assert "[Open In Colab](https://x/y.ipynb)" in text and "badge.svg" not in text
    assert "[the lab](../labs/01_receptive_fields_lab.ipynb)" in text  # a page of the site: MyST resolves it
    assert f"[the code]({url}/blob/{site.release_tag()}/course_lib/widgets.py)" in text
    assert "[a section](#top)" in text and "[gone](../no_such_file.py)" in text and "(https://example.org)" in text
    assert nb["cells"][1]["source"] == "x = a[0](b)"
    assert site.offline_markdown(nb, "lectures") == 0


def test_repository_url_comes_from_pyproject():
    url = site.repository_url()
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url)
    assert f"colab.research.google.com/github/{url.removeprefix('https://github.com/')}/blob/{site.release_tag()}/" in \
        (ROOT / "README.md").read_text()


# --------------------------------------------------------------------------- the built site
def _expected_images(nb_path: Path) -> int:
    """Figures a page should show: stored image outputs, and those held by widget snapshots."""
    nb = json.loads(nb_path.read_text())
    site.snapshot_widgets(nb)
    return sum("image/png" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))


def _title(nb_path: Path) -> str:
    """The notebook's first Markdown heading, e.g. '04 · pix2pix: ...'."""
    cells = json.loads(nb_path.read_text())["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return re.search(r"^# (.+)$", text, flags=re.M).group(1).strip()


def _unique_search_term(html: Path) -> tuple[str, str]:
    """(word, lecture page) for a word that the search index finds in that lecture page only."""
    from sphinx.search.en import SearchEnglish

    raw = (html / "searchindex.js").read_text()
    index = json.loads(raw[raw.index("(") + 1: raw.rindex(")")])
    docs, terms = index["docnames"], index["terms"]
    stem = SearchEnglish({}).stem
    for nb_path in site.notebooks("lectures"):
        text = " ".join("".join(c["source"]) for c in json.loads(nb_path.read_text())["cells"]
                        if c["cell_type"] == "markdown")
        counts: dict[str, int] = {}
        for word in re.findall(r"\b[a-z]{8,}\b", text):
            counts[word] = counts.get(word, 0) + 1
        for word in sorted(counts, key=lambda w: (-counts[w], w)):
            found = terms.get(stem(word))
            found = [found] if isinstance(found, int) else found or []
            if [docs[i] for i in found] == [f"lectures/{nb_path.stem}"] and stem(word) not in index["titleterms"]:
                return word, f"lectures/{nb_path.stem}"
    raise AssertionError("no word of a lecture's Markdown is found in that lecture only")


@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    try:
        import myst_nb  # noqa: F401
        import sphinx  # noqa: F401
        import sphinx_book_theme  # noqa: F401
        has_sphinx = True
    except ImportError:
        has_sphinx = False
    _require(has_sphinx, "Sphinx, myst-nb or sphinx-book-theme is not installed (pip install -e '.[site]')")
    _require((site.MATHJAX / "tex-mml-chtml.js").is_file(), "MathJax is not installed (npm ci --prefix book)")
    t0 = time.perf_counter()
    index = site.build(tmp_path_factory.mktemp("site"), fresh=True)
    seconds = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in index.parent.rglob("*") if f.is_file())
    print(f"\nsite built in {seconds:.0f} s, {size / 2**20:.1f} MiB")
    return index.parent


def test_built_site_has_a_page_and_a_download_for_every_notebook(built_site):
    for folder, _ in site.FOLDERS:
        for nb_path in site.notebooks(folder):
            assert (built_site / folder / f"{nb_path.stem}.html").is_file(), nb_path
            assert (built_site / "_sources" / folder / nb_path.name).read_bytes() == nb_path.read_bytes()
    assert (built_site / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()
    assert (built_site / "searchindex.js").is_file()


def test_site_in_chromium(built_site):
    """Open the site as a reader would and check what the course promises of it."""
    chromium = _chromium()
    _require(chromium is not None, "no Chromium found (apt-get install chromium, or COURSE_CHROMIUM=/path)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require(False, "Playwright is not installed (pip install -e '.[site]')")

    handler = partial(_QuietHandler, directory=str(built_site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    org_repo = site.repository_url().removeprefix("https://github.com/")
    tag = site.release_tag()  # the Colab buttons open the release, like the notebooks' own badges
    outside, errors = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context()

            def route(r):  # loopback only: anything else is recorded and never sent
                if urlparse(r.request.url).hostname == "127.0.0.1":
                    r.continue_()
                else:
                    outside.append(r.request.url)
                    r.abort()

            context.route("**/*", route)
            page = context.new_page()
            page.set_default_timeout(90_000)  # a loaded 2-core machine typesets slowly
            page.on("console", lambda m: m.type == "error" and errors.append(f"{page.url}: {m.text}"))
            page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
            page.on("response", lambda r: r.status >= 400 and errors.append(f"HTTP {r.status} {r.url}"))

            # The landing page: README's course map, linking every lecture's page.
            page.goto(base)
            assert "Course map" in page.locator("article h2").all_inner_texts()
            map_links = page.eval_on_selector_all("article table a", "as => as.map(a => a.href)")
            for nb_path in site.notebooks("lectures"):
                assert f"{base}lectures/{nb_path.stem}.html" in map_links, nb_path.name

            # The sidebar lists every page in syllabus order; each is reached by clicking it there.
            sidebar = "nav.bd-docs-nav a.reference.internal"
            hrefs = page.eval_on_selector_all(sidebar, "as => as.map(a => a.href)")
            expected = [f"{base}{folder}/{p.stem}.html" for folder, _ in site.FOLDERS for p in site.notebooks(folder)]
            assert [h for h in hrefs if h in expected] == expected, "sidebar pages or their order"
            pages_with_math = n_images = 0
            for folder, _ in site.FOLDERS:
                for nb_path in site.notebooks(folder):
                    url = f"{base}{folder}/{nb_path.stem}.html"
                    here = page.eval_on_selector_all(sidebar, "as => as.map(a => a.href)")
                    assert url in here, f"{url} is not in the sidebar of {page.url}"
                    page.locator(sidebar).nth(here.index(url)).click()
                    page.wait_for_url(url)
                    page.wait_for_load_state("load")
                    letters = lambda t: re.sub(r"\W+", "", t)  # Sphinx typesets quotes and dashes
                    assert letters(_title(nb_path)) in letters(page.locator("article h1").first.inner_text())
                    # Figures (and widget snapshots) are all there, and every one loaded.
                    imgs = page.eval_on_selector_all(
                        "article .cell_output img", "is => is.map(i => [i.src, i.complete && i.naturalWidth > 0])")
                    assert len(imgs) == _expected_images(nb_path), url
                    assert all(ok for _, ok in imgs), [src for src, ok in imgs if not ok]
                    n_images += len(imgs)
                    assert "VBox(children" not in page.locator("article").inner_text()
                    # Launch buttons: Colab on this notebook's path, download of the committed .ipynb.
                    colab = page.eval_on_selector_all(
                        "a[href*='colab.research.google.com']", "as => as.map(a => a.href)")
                    assert f"https://colab.research.google.com/github/{org_repo}/blob/{tag}/{folder}/{nb_path.name}" in colab
                    download = page.eval_on_selector_all(
                        f"a[href$='_sources/{folder}/{nb_path.name}']", "as => as.map(a => a.href)")
                    assert download, f"no download button on {url}"
                    if folder == "lectures":
                        assert context.request.get(download[0]).body() == nb_path.read_bytes()
                    # Formulas are typeset by MathJax (no TeX errors).
                    if page.locator("article .math").count():
                        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise"
                                               " && document.querySelector('article mjx-container')")
                        page.evaluate("() => MathJax.startup.promise")
                        assert page.locator("article mjx-container").count() >= page.locator("article .math").count()
                        assert page.locator("article mjx-merror").count() == 0, url
                        width = page.locator("article mjx-container").first.bounding_box()["width"]
                        assert width > 0
                        pages_with_math += 1
            assert pages_with_math >= 5, "the lectures' formulas were not found"

            # Search finds a word that only one lecture contains, and lists that lecture alone.
            word, doc = _unique_search_term(built_site)
            page.goto(base)
            page.locator("button.search-button__button:visible").first.click()
            page.locator("#pst-search-dialog input[name='q']").fill(word)
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r".*/search\.html\?q=.*"))
            page.wait_for_selector("#search-results ul.search li a")
            results = page.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.href)")
            pages = {urlparse(h).path for h in results}
            assert pages == {f"/{doc}.html"}, (word, results)
            print(f"browser test: {len(expected)} pages reached from the sidebar, {n_images} figures loaded, "
                  f"math typeset on {pages_with_math} pages, search for {word!r} found only {doc}")
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    assert not outside, f"pages asked for non-loopback addresses: {sorted(set(outside))[:10]}"
    assert not errors, "\n".join(errors[:20])


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # noqa: ANN002 (the request log would flood the test output)
        pass
