"""``python -m course_lib.grade LAB SUBMISSIONS... --out DIR``: see :mod:`course_lib.grade`."""

from __future__ import annotations

import argparse
import sys

from course_lib.grade import STATUS_ORDER, grade


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.grade",
        description="Grade lab submissions into a gradebook (gradebook.csv) and feedback files.")
    parser.add_argument("lab", help="the released lab: its number ('04') or the path of its .ipynb")
    parser.add_argument("submissions", nargs="+", help="notebooks, folders of notebooks, or zip archives")
    parser.add_argument("--out", required=True, help="folder for gradebook.csv and feedback/")
    parser.add_argument("--jobs", type=int, default=2, help="submissions run at once (default 2)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per submission (default 600)")
    parser.add_argument("--memory-mb", type=int, default=6144, help="address-space limit per submission")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per submission (default 1)")
    args = parser.parse_args(argv)
    try:
        results = grade(args.lab, args.submissions, args.out, jobs=args.jobs, timeout=args.timeout,
                        memory_mb=args.memory_mb, threads=args.threads)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = {s: sum(r.status == s for r in results) for s in STATUS_ORDER}
    print(", ".join(f"{n} {s}" for s, n in counts.items() if n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
