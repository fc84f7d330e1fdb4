"""Estimate every notebook's run time in gpu mode on one Colab T4, from FLOPs (``make estimate``).

Each notebook is executed on this machine's CPU with ``COURSE_MODE=gpu`` (its Colab-GPU sizes)
and ``COURSE_ESTIMATE_LOG`` set: every training run then takes one step per phase and records
the FLOPs of that step and the steps its schedule plans (:mod:`course_lib.train.estimate`).
The estimate of a notebook is

    training FLOPs (planned steps x FLOPs per step) / sustained T4 throughput
    + everything else at the CPU time it took here (an upper bound: Colab gives 2 CPU cores too,
      and a GPU runs the evaluations faster)

    python -m tools.estimate                 # every lecture and solution
    python -m tools.estimate 04 06 --write   # some of them; store gpu_s in notebook_times.json
    python -m tools.estimate --table         # the README's table, from notebook_times.json

The run also proves that each GPU-mode configuration builds, fits in memory and finds its data
(offline: ``COURSE_OFFLINE=1``; data sets must be in the cache). Results go to
``build/estimate.json`` and, with ``--write``, into ``course_lib/notebook_times.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
from pathlib import Path

from course_lib.train import estimate
from tools.notebooks import EXECUTED_DIRS, ROOT, execute, kernel_env, read_source, sources

TIMES = ROOT / "course_lib" / "notebook_times.json"
#: errors that the shortcut itself causes (untrained models fail the learning asserts; a loss
#: history of two entries has no 25th): reported, not failures. Anything else (a shape mismatch,
#: out of memory, a missing data set) is what this check exists to find.
SHORTCUT_ERRORS = ("AssertionError", "IndexError")


#: code lines that configure a notebook's modes: changing one means its GPU configuration must be
#: checked again (``make estimate``); other edits leave the estimate valid
MODE_LINE = ("by_mode(", "is_quick(", "mode()", "COURSE_MODE")


def config_fingerprint(src: Path) -> str:
    """sha256 (12 hex digits) of ``src``'s mode-dependent code lines, in order."""
    import hashlib

    nb = read_source(src)
    lines = [line.strip() for cell in nb.cells if cell.cell_type == "code" for line in cell.source.splitlines()
             if any(key in line for key in MODE_LINE) and not line.strip().startswith("#")]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:12]


def estimate_one(src: Path, threads: int | None = 1) -> dict:
    """Execute ``src`` in gpu mode with FLOP counting; return its estimate (see the module docstring)."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "flops.jsonl"
        env = kernel_env(threads)
        env.update({"COURSE_MODE": "gpu", estimate.ESTIMATE_ENV: str(log), "COURSE_OFFLINE": "1"})
        # Untrained models fail the notebooks' learning asserts: run on, and keep only the other
        # errors (wrong shapes, out of memory, missing data), which are what this check is for.
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        nb, wall, _ = execute(read_source(src), cwd=src.parent, env=env, allow_errors=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # The kernel's CPU time (it is our child process, reaped when it shuts down): unlike the
        # wall time, it does not grow when other work shares the cores. One thread: CPU ~ wall.
        seconds = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime) or wall
        records = estimate.read_log(log)
    errors = [f"cell {i}: {o['ename']}: {o['evalue']}" for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
              for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    real = [e for e in errors if not any(f": {kind}:" in e for kind in SHORTCUT_ERRORS)]
    error = "\n".join(real) if real else None
    steps, flops = estimate.training_flops(records)
    measured = sum(p["cpu_seconds_per_step"] * p.get("executed", 1) for r in records for p in r["phases"])
    other = max(seconds - measured, 0.0)
    return {
        "notebook": f"{src.parent.name}/{src.stem}",
        "config": config_fingerprint(src),
        "error": None if error is None else error[-2000:],
        "shortcut_errors": len(errors) - len(real),
        "runs": len(records),
        "steps": steps,
        "flops": flops,
        "flops_per_step": flops / steps if steps else 0.0,
        "training_s": estimate.t4_seconds(flops),
        "other_s": other,
        "gpu_s": estimate.t4_seconds(flops) + other,
        "cpu_check_s": seconds,
        "wall_s": wall,
    }


def table(times: dict) -> str:
    """The README's table of run times, from ``notebook_times.json`` (``python -m tools.estimate --table``)."""
    detail = times.get("gpu_detail", {})
    lines = [
        f"T4 throughput assumed: {estimate.T4_SUSTAINED_FLOPS / 1e12:.0f} TFLOP/s sustained (fp16 autocast); "
        f"quick times measured {times['measured']}.",
        "",
        "| notebook | quick mode, 2-core CPU (measured) | GPU-mode training steps | GFLOP per step | "
        "est. T4 training | est. T4 total |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in sorted(times["quick_s"]):
        q, d, g = times["quick_s"][name], detail.get(name), times["gpu_s"].get(name)
        if d is None:
            gpu_cols = "not estimated | - | - | -"
        else:
            per_step = d["gflop"] / d["steps"] if d["steps"] else 0.0
            gpu_cols = (f"{d['steps']:,} | {per_step:,.1f} | {d['training_s'] / 60:.1f} min | "
                        f"{g / 60:.1f} min")
        lines.append(f"| {name} | {q / 60:.1f} min | {gpu_cols} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.estimate", description=__doc__.split("\n\n")[0])
    parser.add_argument("prefixes", nargs="*", help="notebook name prefixes (default: all)")
    parser.add_argument("--write", action="store_true", help="store the estimates in course_lib/notebook_times.json")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--table", action="store_true",
                        help="only print the README's table from course_lib/notebook_times.json")
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(TIMES.read_text())))
        return 0
    paths = [p for d in EXECUTED_DIRS for p in sources(d)
             if not args.prefixes or any(p.name.startswith(x) for x in args.prefixes)]
    rows = []
    for p in paths:
        row = estimate_one(p, args.threads)
        print(f"{row['notebook']}: {row['steps']:,} steps, {row['flops'] / 1e12:,.1f} TFLOP -> "
              f"{row['gpu_s'] / 60:.1f} min on a T4 (checked on CPU in {row['cpu_check_s']:.0f} s)"
              + ("" if row["error"] is None else "  FAILED"), flush=True)
        rows.append(row)
    times = json.loads(TIMES.read_text())
    out = ROOT / "build" / "estimate.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    if args.write:
        for r in rows:
            if r["error"] is None:
                times["gpu_s"][r["notebook"]] = round(r["gpu_s"])
                times.setdefault("gpu_detail", {})[r["notebook"]] = {
                    "steps": r["steps"], "gflop": round(r["flops"] / 1e9, 1),
                    "training_s": round(r["training_s"], 1), "other_s": round(r["other_s"], 1),
                    "config": r["config"]}
        times["gpu_s"] = dict(sorted(times["gpu_s"].items()))
        times["gpu_detail"] = dict(sorted(times["gpu_detail"].items()))
        print(table(times))
        TIMES.write_text(json.dumps(times, indent=1) + "\n")
        print(f"wrote {TIMES.relative_to(ROOT)}")
    failed = [r["notebook"] for r in rows if r["error"]]
    for r in rows:
        if r["error"]:
            print(f"\n--- {r['notebook']} ---\n{r['error']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
