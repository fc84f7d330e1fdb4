"""``python -m course_lib.pretrained list | verify | build NAME... | build all``."""

from __future__ import annotations

import argparse
import sys

from course_lib import pretrained


def markdown_table() -> str:
    """One row per shipped checkpoint: lecture, name, size, training budget, held-out metrics."""
    rows = ["| lecture | checkpoint | size | training (data, resolution, steps x batch, wall time of the build) | held-out metrics |",
            "| --- | --- | --- | --- | --- |"]
    for name, e in sorted(pretrained.manifest().items(), key=lambda kv: (kv[1]["lecture"], kv[0])):
        metrics = ", ".join(f"{k} {v}" for k, v in e["metric"].items())
        rows.append(f"| {e['lecture']} | `{name}` | {e['bytes'] / 2**20:.2f} MiB {e['dtype']} | {e['data']}, "
                    f"{e['resolution']} px, {e['steps']:,} steps x {e['batch_size']}, {e['wall_s'] / 60:.0f} min"
                    + (f" ({e['cpu_s'] / 60:.0f} CPU-min)" if "cpu_s" in e else "") + f" | {metrics} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.pretrained",
        description="List, verify or rebuild the course's shipped checkpoints.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every known model and whether its checkpoint is built",
                   description="Every known model and whether its checkpoint is built.")
    sub.add_parser("verify", help="check every shipped file against the manifest's sha256",
                   description="Check every shipped file against the manifest's sha256.")
    sub.add_parser("table", help="the README's table of shipped checkpoints (markdown)",
                   description="Print the README's table of shipped checkpoints (markdown).")
    b = sub.add_parser("build", help="retrain from scratch (fixed seeds) and rewrite the manifest entry",
                       description="Retrain from scratch (fixed seeds) and rewrite the manifest entry.")
    b.add_argument("names", nargs="+", help="model names, or 'all'")
    args = parser.parse_args(argv)
    if args.command == "list":
        built = pretrained.manifest()
        for name, spec in sorted(pretrained.SPECS.items()):
            e = built.get(name)
            state = (f"{e['bytes'] / 2**20:.2f} MiB, {e['steps']} steps at {e['resolution']} px, {e['wall_s'] / 60:.0f} min"
                     if e else f"not built (about {spec.budget_min} CPU-min)")
            print(f"{name:<16} lecture {spec.lecture}  {state}  {spec.description}")
        return 0
    if args.command == "table":
        print(markdown_table())
        return 0
    if args.command == "verify":
        bad = 0
        for name in pretrained.available():
            try:
                pretrained.load(name)
                print(f"{name}: ok")
            except (ValueError, FileNotFoundError) as exc:
                bad += 1
                print(f"{name}: {exc}")
        return 1 if bad else 0
    names = sorted(pretrained.SPECS) if args.names == ["all"] else args.names
    for name in names:
        entry = pretrained.build(name)
        print(f"{name}: {entry['bytes'] / 2**20:.2f} MiB in {entry['wall_s']:.0f} s, sha256 {entry['sha256'][:16]}..., "
              f"metric {entry['metric']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
