"""Store the quick-mode times measured by ``make test`` in ``course_lib/notebook_times.json``.

``make test`` writes every notebook's time under the test runner (one torch thread each) to
``build/test-notebook-times.json``; this copies them into the table that ``course_lib.setup``
reads to print a notebook's expected run time. Run it after a test run on a quiet machine:

    python -m tools.notebook_times [--measured "2026-12-03, 2 vCPU AMD EPYC"]
"""

from __future__ import annotations

import argparse
import json
import sys

from tools.notebooks import ROOT

TIMES = ROOT / "course_lib" / "notebook_times.json"
MEASURED = ROOT / "build" / "test-notebook-times.json"


def update(measured: dict[str, float], table: dict) -> list[str]:
    """Copy ``{"lectures/NN_x.ipynb": seconds}`` into ``table["quick_s"]``; return the names updated."""
    updated = []
    for path, seconds in measured.items():
        key = path.removesuffix(".ipynb")
        if key in table["quick_s"] or key.startswith(("lectures/", "solutions/")):
            table["quick_s"][key] = round(seconds)
            updated.append(key)
    table["quick_s"] = dict(sorted(table["quick_s"].items()))
    return updated


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.notebook_times", description=__doc__.split("\n\n")[0])
    parser.add_argument("--measured", help="when and where (e.g. the date and `lscpu`'s model name)")
    args = parser.parse_args(argv)
    if not MEASURED.is_file():
        print(f"{MEASURED} is missing: run `make test` first", file=sys.stderr)
        return 1
    table = json.loads(TIMES.read_text())
    names = update(json.loads(MEASURED.read_text())["seconds"], table)
    if args.measured:
        table["measured"] = args.measured
    TIMES.write_text(json.dumps(table, indent=1) + "\n")
    print(f"updated {len(names)} quick-mode times in {TIMES.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
