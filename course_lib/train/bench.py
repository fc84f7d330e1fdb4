"""Training-speed benchmark of every trainable model: ``python -m course_lib.train.bench`` (``make bench``).

For each model recipe (the ones ``python -m course_lib.train --list`` shows) and each preset size
(``quick``, ``paper``), it trains a few steps with several *variants* in the same process, one
after the other from the same initial weights, and reports each as a ratio to the first
(the baseline):

* ``eager``: fp32, NCHW, the course's Trainer (the baseline);
* ``plain``: the same networks and losses in a hand-written loop on a fixed batch (no data
  loading, no logging): what the Trainer's conveniences cost;
* ``channels_last``: NHWC memory format;
* ``bf16`` / ``fp16``: autocast (fp16 with loss scaling; CUDA only);
* ``compile``: ``torch.compile`` on every network (compilation time excluded by the warm-up).

Measured: steps/s, images/s, peak memory (CUDA allocator, or the process's peak resident set on
CPU, reset per variant) and the share of time spent waiting for data. Timings use the wall clock
with a device synchronisation at both ends of the measured window only. Results go to a CSV file
and a printed table; ``build/bench.md`` holds the README's table (machine named as ``lscpu``
reports it, with its bf16 matrix units).
"""

from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import os
import sys
import time
from pathlib import Path

import torch

from course_lib.train.cli import RECIPES, Recipe, load_recipe, plain_description
from course_lib.train.device import PrecisionName
from course_lib.train.loop import Trainer, move_to

VARIANTS = ("eager", "plain", "channels_last", "bf16", "fp16", "compile")


@dataclasses.dataclass
class Result:
    model: str
    preset: str
    variant: str
    device: str
    batch: int
    steps_per_s: float
    images_per_s: float
    ratio: float
    peak_mem_mb: float
    data_share: float
    note: str = ""


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    else:
        try:  # Linux: writing 5 resets the peak resident set size (VmHWM)
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            pass


def _peak_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _compile_networks(task: torch.nn.Module) -> None:
    for name, child in list(task.named_children()):
        if any(True for _ in child.parameters()):
            setattr(task, name, torch.compile(child))


def _plain_loop(trainer: Trainer, steps: int) -> float:
    """The same updates without the Trainer: fixed batch, no logging, no scheduler; returns seconds."""
    task, phase = trainer.task, trainer.phases[-1]
    batch = move_to(next(iter(trainer._loader())), trainer.device)  # one full batch, reused every step
    names = [u for u in trainer.optimizers if phase.updates is None or u in phase.updates]

    def one_step() -> None:
        # As the Trainer does: every network updated this step is trainable during the shared
        # forward pass (otherwise G's outputs carry no graph and G's backward is skipped).
        trainer._set_trainable(names)
        out = task.forward_step(batch, phase)
        for name in names:
            trainer._set_trainable([name])
            loss = task.update_loss(name, batch, out, phase)["loss"]
            trainer.optimizers[name].zero_grad(set_to_none=True)
            loss.backward()
            trainer.optimizers[name].step()

    one_step()  # warm-up
    _sync(trainer.device)
    t0 = time.perf_counter()
    for _ in range(steps):
        one_step()
    _sync(trainer.device)
    return time.perf_counter() - t0


def measure(recipe: Recipe, variant: str, steps: int, warmup: int, device: str | None) -> tuple[float, float, float, int]:
    """Train ``warmup`` + ``steps`` steps with ``variant``; return (seconds, data seconds, peak MB, batch)."""
    task = copy.deepcopy(recipe.task)
    precisions: dict[str, PrecisionName] = {"bf16": "bf16", "fp16": "fp16"}
    precision = precisions.get(variant, "fp32")
    config = dataclasses.replace(recipe.config, precision=precision, channels_last=variant == "channels_last",
                                 log_every=10**9, sample_every=None, checkpoint_path=None, checkpoint_every=None,
                                 progress=False, time_budget_s=None, steps=warmup + steps + 1)
    phases = None
    if recipe.phases is not None:  # time the last (complete) phase of a schedule
        last = recipe.phases[-1]
        phases = [dataclasses.replace(last, steps=warmup + steps + 1)]
    if variant == "compile":
        _compile_networks(task)
    trainer = Trainer(task, recipe.data, config, phases=phases, device=device, sample_batch=recipe.sample_batch)
    _reset_peak(trainer.device)
    if variant == "plain":
        seconds = _plain_loop(trainer, steps)
        return seconds, 0.0, _peak_mb(trainer.device), config.batch_size
    trainer.fit(until=warmup)
    _sync(trainer.device)
    data_before, t0 = trainer.data_seconds, time.perf_counter()
    trainer.fit(until=warmup + steps)
    _sync(trainer.device)
    return time.perf_counter() - t0, trainer.data_seconds - data_before, _peak_mb(trainer.device), config.batch_size


def run(models: list[str], presets: list[str], variants: list[str], steps: int, warmup: int,
        device: str | None = None) -> list[Result]:
    results: list[Result] = []
    dev = torch.device(device) if device else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    for model in models:
        for preset in presets:
            recipe = load_recipe(model)(preset, None)
            baseline = None
            for variant in variants:
                if variant == "fp16" and dev.type != "cuda":
                    continue
                try:
                    seconds, data_s, peak, batch = measure(recipe, variant, steps, warmup, device)
                except Exception as exc:  # noqa: BLE001 - a failed variant is a result, not a crash
                    results.append(Result(model, preset, variant, dev.type, 0, 0, 0, 0, 0, 0,
                                          f"failed: {type(exc).__name__}: {str(exc)[:80]}"))
                    continue
                rate = steps / seconds
                baseline = baseline or rate
                results.append(Result(model, preset, variant, dev.type, batch, rate, rate * batch,
                                      rate / baseline, peak, data_s / seconds))
                print(_row(results[-1]), flush=True)
    return results


def _row(r: Result) -> str:
    if r.note:
        return f"{r.model:<14} {r.preset:<6} {r.variant:<14} {r.note}"
    return (f"{r.model:<14} {r.preset:<6} {r.variant:<14} {r.steps_per_s:9.3f} {r.images_per_s:9.2f} "
            f"{r.ratio:6.2f}x {r.peak_mem_mb:9.0f} {100 * r.data_share:6.1f}%")


def machine() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} | torch {torch.__version__}"
    from course_lib.train.device import cpu_bf16_matmul, cpu_info

    name = cpu_info()[0]
    bf16 = cpu_bf16_matmul() or "no bf16 matrix units"
    return (f"{name} ({os.cpu_count()} CPUs, {bf16}), {torch.get_num_threads()} threads | "
            f"torch {torch.__version__}")


def markdown(results: list[Result], machine_line: str, steps: int, warmup: int) -> str:
    """The README's speed table: one row per (model, preset), one ratio column per variant."""
    variants = [v for v in VARIANTS[1:] if any(r.variant == v for r in results)]
    head = ["model", "preset", "batch", "eager steps/s", "images/s", "data share", *variants, "peak MB"]
    lines = [f"Machine: {machine_line}; {steps} measured steps after {warmup} warm-up steps, "
             f"{time.strftime('%Y-%m-%d')}. Ratios > 1 are faster than eager fp32.", "",
             "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for model, preset in dict.fromkeys((r.model, r.preset) for r in results):
        rows = {r.variant: r for r in results if (r.model, r.preset) == (model, preset)}
        base = rows.get("eager")
        if base is None or base.note:
            lines.append(f"| {model} | {preset} | - | {base.note if base else 'not run'} |")
            continue
        cells = [model, preset, str(base.batch), f"{base.steps_per_s:.3g}", f"{base.images_per_s:.3g}",
                 f"{100 * base.data_share:.0f}%"]
        for v in variants:
            r = rows.get(v)
            cells.append("-" if r is None else (r.note[:24] if r.note else f"{r.ratio:.2f}x"))
        cells.append(f"{base.peak_mem_mb:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.train.bench", description=plain_description(__doc__))
    parser.add_argument("--models", nargs="*", default=None, help=f"default: all ({', '.join(sorted(RECIPES))})")
    parser.add_argument("--presets", nargs="*", default=["quick", "paper"], choices=["quick", "paper"],
                        help="preset sizes to measure (default: both)")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=VARIANTS,
                        help="training variants, each reported as a ratio to the first (default: all)")
    parser.add_argument("--steps", type=int, default=5, help="measured steps per variant")
    parser.add_argument("--warmup", type=int, default=2, help="steps before measuring (compilation, autotuning)")
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: best available)")
    parser.add_argument("--csv", default="build/bench.csv", help="where the results table is written")
    args = parser.parse_args(argv)
    models = args.models or sorted(RECIPES)
    print(f"machine: {machine()}")
    print(f"{'model':<14} {'preset':<6} {'variant':<14} {'steps/s':>9} {'images/s':>9} {'ratio':>7} {'peak MB':>9} {'data':>7}")
    results = run(models, args.presets, args.variants, args.steps, args.warmup, args.device)
    out = Path(args.csv)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["machine", *[fld.name for fld in dataclasses.fields(Result)]])
        for r in results:
            writer.writerow([machine(), *dataclasses.astuple(r)])
    table = out.with_suffix(".md")
    table.write_text(markdown(results, machine(), args.steps, args.warmup) + "\n")
    print(f"wrote {out} and {table} (the README's table)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

