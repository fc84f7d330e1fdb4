"""Re-execute the lectures and solutions in quick mode and store their outputs.

The committed ``.ipynb`` of every lecture and solution is executed (figures visible on GitHub and
Colab) by this command, with fixed seeds, in a fresh kernel of the project's Python:

    python -m tools.run_notebooks            # all of them
    python -m tools.run_notebooks 01 03      # those whose name starts with 01 or 03

Per-notebook times are printed and written to ``build/notebook-times.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tools.notebooks import (
    EXECUTED_DIRS,
    ROOT,
    Executed,
    execute,
    kernel_env,
    read_source,
    sources,
    write_pair,
)


def selected(prefixes: list[str]) -> list[Path]:
    paths = [p for folder in EXECUTED_DIRS for p in sources(folder)]
    if prefixes:
        paths = [p for p in paths if any(p.name.startswith(x) for x in prefixes)]
    return paths


def run_one(src: Path, threads: int | None, out_dir: Path | None = None) -> Executed:
    """Execute ``src`` (a .py source); write the executed pair next to it, or into ``out_dir``."""
    nb = read_source(src)
    nb, seconds, error = execute(nb, cwd=src.parent, env=kernel_env(threads))
    target = (out_dir / src.name) if out_dir else src
    if error is None or out_dir is not None:
        write_pair(nb, target)
    return Executed(target, seconds, error)


def report(results: list[Executed], json_path: Path) -> int:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps({r.path.name: round(r.seconds, 1) for r in results}, indent=1))
    width = max(len(r.path.name) for r in results)
    for r in results:
        status = "ok" if r.error is None else "FAILED"
        print(f"{r.path.name:<{width}}  {r.seconds:7.1f} s  {status}")
    failed = [r for r in results if r.error]
    for r in failed:
        print(f"\n--- {r.path.name} ---\n{r.error[-3000:]}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("prefixes", nargs="*", help="only notebooks whose name starts with one of these")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks executed at once (each gets 1 thread when > 1)")
    args = parser.parse_args(argv)
    paths = selected(args.prefixes)
    if not paths:
        print("no notebook matches")
        return 1
    threads = 1 if args.jobs > 1 else None
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda p: run_one(p, threads), paths))
    return report(results, ROOT / "build" / "notebook-times.json")


if __name__ == "__main__":
    sys.exit(main())
