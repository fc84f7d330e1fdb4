"""Sphinx configuration of the course website, built by ``make site`` (``python -m tools.site``).

tools/site.py lays out the sources (the committed notebooks, an index made from README.md) and
passes what depends on the build: where the local MathJax copy lies. Nothing here executes a
notebook, and no page loads anything from the internet (tests/test_site.py checks it in Chromium).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools.site import release_tag, repository_url  # noqa: E402 (needs the line above)

project = "Image to Image"
author = "the Image to Image course"
copyright = "the Image to Image course authors, MIT licence"
html_title = "Image to Image"

extensions = ["myst_nb"]
exclude_patterns = ["_build", "**/.ipynb_checkpoints"]

# The stored outputs are the ones `make notebooks` wrote and `make test` checks: never re-run here.
nb_execution_mode = "off"
# Widget outputs are replaced by snapshots of their saved state (tools/site.py): no widget JS,
# which would come from a CDN.
nb_ipywidgets_js: dict = {}
myst_enable_extensions = ["dollarmath", "amsmath"]
# The lectures' Markdown starts with '# NN · Title' and uses ### under ## freely.
suppress_warnings = ["myst.header"]

html_theme = "sphinx_book_theme"
html_theme_options = {
    "repository_url": repository_url(),
    # the Colab button opens the notebook at the release tag, whose install cell pins the same release
    "repository_branch": release_tag(),
    "path_to_docs": "",  # the site's pages mirror the repository: lectures/, labs/, solutions/
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
    "show_toc_level": 2,
    "home_page_in_toc": True,
}
# Without a default the theme logs "invalid theme mode" to the console on a first visit.
html_context = {"default_mode": "light"}
html_copy_source = True  # the download button serves _sources/<page>.ipynb
html_show_sphinx = False

# MathJax 3 from book/node_modules (npm, pinned in book/package-lock.json), copied into _static
# by tools/site.py, which adds that folder to html_static_path.
mathjax_path = "mathjax/tex-mml-chtml.js"
mathjax3_config = {"options": {}}
html_static_path: list[str] = []
