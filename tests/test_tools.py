"""make lab, the Makefile and the packaging files (the website: tests/test_site.py)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import tomllib

from tools.notebooks import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_constraints_pin_the_working_torch_pair():
    pins = _constraints()
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1"
    deps = PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["dev"]
    assert all(">=" in d and "==" not in d for d in deps), "pyproject holds lower bounds only"
    missing = [_name(d) for d in deps if _name(d) not in pins]
    assert not missing, f"constraints.txt does not pin {missing}"


def test_site_extra_is_pinned_in_constraints():
    site = PYPROJECT["project"]["optional-dependencies"]["site"]
    assert {_name(d) for d in site} >= {"sphinx", "myst-nb", "sphinx-book-theme", "playwright"}
    assert all(">=" in d and "==" not in d for d in site), "pyproject holds lower bounds only"
    pins = _constraints()
    assert not [_name(d) for d in site if _name(d) not in pins], "constraints.txt does not pin the site extra"


def test_metrics_extra_is_pinned_and_installed_by_make():
    metrics = PYPROJECT["project"]["optional-dependencies"]["metrics"]
    assert {_name(d) for d in metrics} == {"torchmetrics", "torch-fidelity"}
    assert all(">=" in d and "==" not in d for d in metrics), "pyproject holds lower bounds only"
    pins = _constraints()
    assert not [_name(d) for d in metrics if _name(d) not in pins], "constraints.txt does not pin the metrics extra"
    # the development install (make install, hence make test and CI) includes it, so that the
    # tests of course_lib.standard_metrics run rather than skip
    makefile = (ROOT / "Makefile").read_text()
    installs = re.findall(r'pip install .*-e "\.\[([^\]]*)\]"', makefile)
    assert installs and all("metrics" in extras.split(",") for extras in installs), installs


def test_environment_yml_names_the_same_packages_and_versions():
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s*- python=3\.11\s*$", text, flags=re.M)
    pip_lines = re.findall(r"^\s{6}- (\S.*)$", text, flags=re.M)
    named = {_name(line): line.split("==")[1] for line in pip_lines if "==" in line}
    extras = PYPROJECT["project"]["optional-dependencies"]
    deps = PYPROJECT["project"]["dependencies"] + extras["dev"] + extras["metrics"]
    assert set(named) == {_name(d) for d in deps}
    pins = _constraints()
    assert {k: v for k, v in named.items()} == {k: pins[k] for k in named}
    assert any(line.startswith("-e .") for line in pip_lines)


def test_readme_ci_and_makefile_agree_on_the_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make lab" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for target in ("lab:", "test:", "site:", "book:", "labs:", "notebooks:"):
        assert re.search(rf"^{target}", makefile, flags=re.M), target


def test_readme_course_map_links_every_notebook():
    readme = (ROOT / "README.md").read_text()
    for folder in ("lectures", "labs", "solutions"):
        for nb in sorted((ROOT / folder).glob("[0-9][0-9]_*.ipynb")):
            assert f"{folder}/{nb.name}" in readme, f"README's course map does not link {folder}/{nb.name}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_make_lab_starts_jupyterlab_and_it_answers(tmp_path):
    """`make lab` starts the server at the course home; its API lists the lectures; then it stops."""
    port, token = _free_port(), "course-test-token"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data")}
    args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token}"
    proc = subprocess.Popen(["make", "-s", "lab", f"LAB_ARGS={args}", f"PYTHON={sys.executable}"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, answer = time.time() + 120, None
        while time.time() < deadline and answer is None and proc.poll() is None:
            time.sleep(0.5)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents/lectures?token={token}", timeout=2) as r:
                    answer = r.read().decode()
            except OSError:
                pass
        log = "" if proc.poll() is None else proc.stdout.read().decode()[-2000:]
        assert answer is not None, f"JupyterLab did not answer: {log}"
        assert "01_receptive_fields.ipynb" in answer
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_readme_lists_each_lab_s_exercises_sizes_and_times_as_the_tool_prints_them():
    from tools import lab_table

    text = lab_table.table()
    assert text in (ROOT / "README.md").read_text(), "README's lab table is stale: paste `python -m tools.lab_table`"
    rows = text.splitlines()[2:]
    assert len(rows) == 11
    for row in rows:  # every lab has exercises with a size, a stated time and a measured run
        assert "`" in row and "about" in row and row.rstrip(" |").endswith(" s")


def test_course_lib_type_checks_clean_and_make_lint_runs_mypy():
    """`course_lib` ships py.typed, so its annotations are part of its API: mypy must pass on it
    (config in pyproject's [tool.mypy]), and `make lint` runs it. About 30 s cold on one core."""
    lint = re.search(r"^lint:.*?(?=^\S)", (ROOT / "Makefile").read_text() + "\nend:", flags=re.S | re.M)
    assert lint and "mypy course_lib" in lint.group(0)
    assert "mypy" in PYPROJECT["tool"] and (ROOT / "course_lib" / "py.typed").is_file()
    done = subprocess.run([sys.executable, "-m", "mypy", "course_lib"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
