"""Command-line trainer: ``python -m course_lib.train MODEL [--preset quick|paper] [--data ...]``.

Every trainable method registers a *recipe*: a function ``recipe(preset, data) -> Recipe`` that
builds the task, the dataset, the schedule and the run settings for a preset. ``quick`` runs
anywhere in minutes; ``paper`` is the paper's configuration, meant for a GPU. The command adds
what a long run needs: a run folder, atomic checkpoints every few minutes, ``--resume``, sample
grids as PNG files and the loss history as CSV.

Examples::

    python -m course_lib.train --list
    python -m course_lib.train tinygan --preset quick --out runs/tinygan
    python -m course_lib.train tinygan --preset quick --out runs/tinygan --resume --steps 2000
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import importlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from course_lib.train.loop import Phase, TrainConfig, Trainer, TrainingTask

PRESETS = ("quick", "paper")


@dataclass
class Recipe:
    """Everything the trainer needs for one method and preset."""

    task: TrainingTask
    data: Dataset
    config: TrainConfig
    phases: list[Phase] | None = None
    sample_batch: Any = None
    description: str = ""


#: name -> "module:function"; the function has the signature ``(preset, data) -> Recipe``.
RECIPES: dict[str, str] = {
    "tinygan": "course_lib.train.recipes:tinygan",
    "matting": "course_lib.matting.recipes:matting",
    "context_encoder": "course_lib.inpainting.recipes:context_encoder",
    "global_local": "course_lib.inpainting.recipes:global_local",
}


def register(name: str, target: str) -> None:
    """Add a recipe (``target`` = ``"package.module:function"``)."""
    RECIPES[name] = target


def load_recipe(name: str) -> Callable[[str, str | None], Recipe]:
    if name not in RECIPES:
        raise SystemExit(f"unknown model {name!r}; available: {', '.join(sorted(RECIPES))}")
    module, _, fn = RECIPES[name].partition(":")
    return getattr(importlib.import_module(module), fn)


def _save_samples(trainer: Trainer, out: Path) -> None:
    from torchvision.utils import save_image

    from course_lib.viz import image_grid

    if not trainer.history.samples:
        return
    step, images = trainer.history.samples[-1]
    (out / "samples").mkdir(parents=True, exist_ok=True)
    save_image(image_grid(images, trainer.task.sample_range), out / "samples" / f"step_{step:07d}.png")


def _save_history(trainer: Trainer, out: Path) -> None:
    hist = trainer.history
    keys = sorted(hist.values)
    with open(out / "history.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["key", "step", "value"])
        for k in keys:
            for s, v in zip(hist.value_steps[k], hist.values[k]):
                writer.writerow([k, s, f"{v:.6g}"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", help="the method to train (see --list)")
    parser.add_argument("--list", action="store_true", help="list the available models and exit")
    parser.add_argument("--preset", choices=PRESETS, default="quick", help="quick: minutes on a CPU; paper: the paper's setup")
    parser.add_argument("--data", default=None, help="data set name or folder (default: the recipe's procedural data)")
    parser.add_argument("--out", default=None, help="run folder (default runs/MODEL-PRESET)")
    parser.add_argument("--steps", type=int, default=None, help="override the number of steps")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--device", default=None, help="cuda, cuda:1, mps or cpu (default: best available)")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), default=None)
    parser.add_argument("--time-budget", type=float, default=None, help="stop (and checkpoint) after this many seconds")
    parser.add_argument("--checkpoint-every", type=int, default=None, help="steps between checkpoints")
    parser.add_argument("--workers", type=int, default=None, help="data loading processes")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt if it exists")
    parser.add_argument("--sync-bn", action="store_true", help="under torchrun: share batch-norm statistics across GPUs")
    args = parser.parse_args(argv)

    if args.list or not args.model:
        for name in sorted(RECIPES):
            print(name)
        return 0
    recipe = load_recipe(args.model)(args.preset, args.data)
    out = Path(args.out or f"runs/{args.model}-{args.preset}")
    out.mkdir(parents=True, exist_ok=True)
    overrides = {
        "steps": args.steps, "batch_size": args.batch_size, "precision": args.precision,
        "time_budget_s": args.time_budget, "checkpoint_every": args.checkpoint_every, "num_workers": args.workers,
        "sync_batchnorm": args.sync_bn or None,
    }
    config = dataclasses.replace(recipe.config, **{k: v for k, v in overrides.items() if v is not None})
    config.checkpoint_path = str(out / "checkpoint.pt")
    if config.checkpoint_every is None:
        config.checkpoint_every = max(config.log_every, 500)
    phases = recipe.phases
    if args.steps is not None and phases is not None:
        raise SystemExit("--steps cannot change a phased schedule; edit the recipe's phases instead")
    trainer = Trainer(recipe.task, recipe.data, config, phases=phases, device=args.device,
                      sample_batch=recipe.sample_batch)
    say = print if trainer.dist.is_main else (lambda *a, **k: None)
    say(f"{args.model} ({args.preset}): {recipe.description}")
    say(f"{trainer.total_steps} steps, batch {config.batch_size} x {trainer.dist.world_size} process(es), "
        f"precision {trainer.precision.name}, device {trainer.device}, run folder {out}")
    if args.resume and Path(config.checkpoint_path).is_file():
        trainer.load()
        say(f"resumed from {config.checkpoint_path} at step {trainer.step}")
    start, t0 = trainer.step, time.perf_counter()
    history = trainer.fit()
    if trainer.dist.is_main:
        _save_samples(trainer, out)
        _save_history(trainer, out)
    rate = (trainer.step - start) / max(time.perf_counter() - t0, 1e-9)
    say(f"done: step {trainer.step}/{trainer.total_steps} ({history.stopped_by}), {rate:.2f} steps/s this run; "
          f"checkpoint {config.checkpoint_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
