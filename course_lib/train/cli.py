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

A run folder belongs to one run. Training into a folder that already holds a checkpoint needs
``--resume`` (continue it: the model, data, batch size, seed and precision must be the same;
the step budget, time budget and intervals may change) or ``--force`` (delete it and start
over). ``--seed`` (default 0) fixes the initial weights and the data order, so two identical
commands give identical weights, and a resumed run the same weights as one never interrupted.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import importlib
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from course_lib.config import seed_everything
from course_lib.train import distributed
from course_lib.train.checkpoint import (
    CheckpointError,
    CheckpointWriteError,
    check_free_space,
    clean_stale_temp_files,
    ensure_writable,
    rng_state,
    set_rng_state,
    state_nbytes,
)
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


#: name -> "module:function"; the function has the signature ``(preset, data) -> Recipe``. Every
#: recipe of a topic lives in ``course_lib/<topic>/recipes.py`` (lecture 00's tinygan in
#: ``course_lib/train/recipes.py``), next to nothing else: models and training steps stay in their modules.
RECIPES: dict[str, str] = {
    "tinygan": "course_lib.train.recipes:tinygan",  # lecture 00
    # topic 03: fast style transfer, conditional instance norm, AdaIN, super-resolution
    "fast_style": "course_lib.style.recipes:fast_style",
    "cin_style": "course_lib.style.recipes:cin_style",
    "adain": "course_lib.style.recipes:adain",
    "srresnet": "course_lib.style.recipes:srresnet",
    "srgan": "course_lib.style.recipes:srgan",
    # topics 04-07: paired, unpaired and multimodal translation
    "pix2pix": "course_lib.translation.recipes:pix2pix",
    "pix2pixhd": "course_lib.translation.recipes:pix2pixhd",
    "cyclegan": "course_lib.translation.recipes:cyclegan",
    "munit": "course_lib.translation.recipes:munit",
    # topics 08-10: inpainting
    "context_encoder": "course_lib.inpainting.recipes:context_encoder",
    "global_local": "course_lib.inpainting.recipes:global_local",
    "pconv": "course_lib.inpainting.recipes:pconv",
    "deepfill_v1": "course_lib.inpainting.recipes:deepfill_v1",
    "deepfill_v2": "course_lib.inpainting.recipes:deepfill_v2",  # the release's unguided model
    "deepfill_v2_guided": "course_lib.inpainting.recipes:deepfill_v2_guided",  # the sketch-guided variant
    # topic 11: matting
    "matting": "course_lib.matting.recipes:matting",
}


#: name -> (lecture, paper, what it trains): the one-line description ``--list`` prints
ABOUT: dict[str, tuple[str, str, str]] = {
    "tinygan": ("00", "Radford et al. 2016 (DCGAN)", "a tiny GAN on procedural blobs"),
    "fast_style": ("03", "Johnson et al. 2016", "a feed-forward style transfer network for one style"),
    "cin_style": ("03", "Dumoulin et al. 2017", "one network for N styles (conditional instance norm)"),
    "adain": ("03", "Huang & Belongie 2017", "arbitrary style transfer with adaptive instance norm"),
    "srresnet": ("03", "Ledig et al. 2017", "x4 super-resolution with a pixel loss (SRResNet)"),
    "srgan": ("03", "Ledig et al. 2017", "x4 super-resolution with VGG and adversarial losses (SRGAN)"),
    "pix2pix": ("04", "Isola et al. 2017", "paired translation: U-Net + PatchGAN (labels -> facades)"),
    "pix2pixhd": ("05", "Wang et al. 2018", "coarse-to-fine label-to-photo translation with instance boundaries"),
    "cyclegan": ("06", "Zhu et al. 2017", "unpaired translation with cycle consistency"),
    "munit": ("07", "Huang et al. 2018", "multimodal unpaired translation (content + style codes)"),
    "context_encoder": ("08", "Pathak et al. 2016", "centre-hole inpainting with L2 + adversarial loss"),
    "global_local": ("09", "Iizuka et al. 2017", "inpainting with global and local discriminators"),
    "pconv": ("10", "Liu et al. 2018", "irregular-hole inpainting with partial convolutions"),
    "deepfill_v1": ("10", "Yu et al. 2018", "coarse-to-fine inpainting with contextual attention"),
    "deepfill_v2": ("10", "Yu et al. 2019", "free-form inpainting: gated convolution + SN-PatchGAN"),
    "deepfill_v2_guided": ("10", "Yu et al. 2019", "DeepFill v2 guided by a user's sketch"),
    "matting": ("11", "Xu et al. 2017 (Deep Image Matting)", "alpha mattes from an image and a trimap"),
}


def listing() -> str:
    """One line per recipe: name, lecture, paper, what it trains (what ``--list`` prints)."""
    width = max(map(len, RECIPES))
    lines = []
    for name in sorted(RECIPES, key=lambda n: (ABOUT.get(n, ("99",))[0], n)):
        lecture, paper, what = ABOUT.get(name, ("--", "", "(registered by the user)"))
        lines.append(f"{name:<{width}}  lecture {lecture}  {what}" + (f" [{paper}]" if paper else ""))
    return "\n".join(lines)


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


def _describe_item(item: Any) -> str:
    """``{"image": (3, 64, 64) tensor, ...}`` -> ``"image 3x64x64"``: the data's shapes, for the settings."""
    if isinstance(item, torch.Tensor):
        return "x".join(map(str, item.shape)) or "scalar"
    if isinstance(item, dict):
        return ", ".join(f"{k} {_describe_item(v)}" for k, v in item.items())
    if isinstance(item, (list, tuple)):
        return "(" + ", ".join(_describe_item(v) for v in item) + ")"
    return type(item).__name__


def _item_shapes(data: Dataset) -> str:
    """The shapes of the data set's first item (image size, channels), leaving every RNG as it was."""
    if len(data) == 0:  # type: ignore[arg-type]
        return "(no items)"  # the trainer says what to do about it
    state = rng_state()  # augmentation may draw random numbers: this run must not depend on it
    try:
        return _describe_item(data[0])
    finally:
        set_rng_state(state)


def _remove_previous_run(out: Path, checkpoint: Path) -> list[Path]:
    """``--force``: delete what a previous run wrote into ``out`` (only files this command writes)."""
    removed = [p for p in (checkpoint, out / "history.csv", *sorted((out / "samples").glob("step_*.png")))
               if p.is_file()]
    for p in removed:
        p.unlink()
    return removed


def plain_description(doc: str | None) -> str:
    """The first paragraph of a module docstring as plain text for ``--help``: RST markup such as
    double backticks and ``:func:`name``` roles would be printed literally by argparse."""
    first = (doc or "").strip().split("\n\n")[0]
    first = re.sub(r":\w+:`~?([^`]+)`", r"\1", first).replace("``", "")
    return " ".join(first.split())


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m course_lib.train`` (also installed as ``course-train``)."""
    parser = argparse.ArgumentParser(prog="python -m course_lib.train",
                                     description=plain_description(__doc__))
    parser.add_argument("model", nargs="?", help="the method to train (see --list)")
    parser.add_argument("--list", action="store_true", help="list the available models and exit")
    parser.add_argument("--preset", choices=PRESETS, default="quick", help="quick: minutes on a CPU; paper: the paper's setup")
    parser.add_argument("--data", default=None, help="data set name or folder (default: the recipe's procedural data)")
    parser.add_argument("--out", default=None, help="run folder (default runs/MODEL-PRESET)")
    parser.add_argument("--steps", type=int, default=None, help="override the number of steps")
    parser.add_argument("--batch-size", type=int, default=None, help="override the preset's batch size")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the initial weights, the data order and the noise (default 0)")
    parser.add_argument("--device", default=None, help="cuda, cuda:1, mps or cpu (default: best available)")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), default=None,
                        help="auto (default): bf16/fp16 autocast on a GPU; fp32 on a CPU, except bf16 for "
                             "--preset paper on CPUs with AMX bf16 units")
    parser.add_argument("--time-budget", type=float, default=None, help="stop (and checkpoint) after this many seconds")
    parser.add_argument("--checkpoint-every", type=int, default=None, help="steps between checkpoints")
    parser.add_argument("--log-every", type=int, default=None, help="steps between loss averages in history.csv")
    parser.add_argument("--workers", type=int, default=None, help="data loading processes")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt if it exists")
    parser.add_argument("--force", action="store_true",
                        help="delete the run in OUT (checkpoint, history, samples) and start over")
    parser.add_argument("--tensorboard", action="store_true",
                        help="also log the losses for TensorBoard into OUT/tensorboard (needs `pip install "
                             "tensorboard`; watch with `tensorboard --logdir OUT`)")
    parser.add_argument("--sync-bn", action="store_true", help="under torchrun: share batch-norm statistics across GPUs")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    if args.list or not args.model:
        print(listing())
        return 0
    if args.resume and args.force:
        raise SystemExit("--resume continues the run in the --out folder and --force deletes it: pass one of them.")
    for flag in ("steps", "batch_size", "checkpoint_every", "log_every"):
        value = getattr(args, flag)
        if value is not None and value <= 0:
            raise SystemExit(f"--{flag.replace('_', '-')} must be a positive number of steps, got {value}.")
    build_recipe = load_recipe(args.model)  # an unknown name fails before anything is written
    is_main = distributed.from_env().is_main  # under torchrun, one process tidies the folder
    out = Path(args.out or f"runs/{args.model}-{args.preset}")
    checkpoint = out / "checkpoint.pt"
    try:
        # Before any work (data download, model, training): can the results be written at all?
        ensure_writable(out, "the --out folder")
    except CheckpointWriteError as exc:
        raise SystemExit(f"error: {exc}") from None
    stale = clean_stale_temp_files(checkpoint) if is_main else []
    if stale:
        print(f"removed {len(stale)} unfinished temporary checkpoint file(s) left in {out} by an interrupted save")
    if checkpoint.is_file() and not (args.resume or args.force):
        raise SystemExit(
            f"error: {out} already holds a run ({checkpoint}); training would overwrite it. Pass "
            "--resume to continue that run, --force to delete it and start over, or another --out "
            "for a new run."
        )
    if args.force and is_main:
        removed = _remove_previous_run(out, checkpoint)
        if removed:
            print(f"--force: deleted the previous run in {out} ({len(removed)} file(s): checkpoint, history, samples)")

    # Seeded before the recipe builds the model: the initial weights are a function of --seed.
    seed_everything(args.seed)
    recipe = build_recipe(args.preset, args.data)
    precision = args.precision
    if args.preset == "paper":
        # Long CPU runs use bf16 where the CPU has AMX units (1.5x at 256 px); quick runs stay fp32.
        from course_lib.train.device import (
            cpu_bf16_matmul,
            cpu_precision_for_long_runs,
            select_device,
        )

        precision = cpu_precision_for_long_runs(precision, select_device(args.device, verbose=False))
        if precision == "bf16" and args.precision is None:
            print(f"this CPU has {cpu_bf16_matmul()} units: the paper preset trains in bf16 (--precision fp32 to refuse)")
    overrides = {
        "steps": args.steps, "batch_size": args.batch_size, "precision": precision,
        "time_budget_s": args.time_budget, "checkpoint_every": args.checkpoint_every, "num_workers": args.workers,
        "sync_batchnorm": args.sync_bn or None, "log_every": args.log_every, "seed": args.seed,
    }
    config = dataclasses.replace(recipe.config, **{k: v for k, v in overrides.items() if v is not None})
    config.checkpoint_path = str(checkpoint)
    if config.checkpoint_every is None:
        config.checkpoint_every = max(config.log_every, 500)
    phases = recipe.phases
    if args.steps is not None and phases is not None:
        raise SystemExit("--steps cannot change a phased schedule; edit the recipe's phases instead")
    trainer = Trainer(recipe.task, recipe.data, config, phases=phases, device=args.device,
                      sample_batch=recipe.sample_batch)
    # What a resumed run must share with this one (on top of Trainer.settings()); --steps,
    # --time-budget, the intervals, --workers and --device may change between sessions.
    trainer.run_info = {"model": args.model, "preset": args.preset, "data": args.data or "(recipe default)",
                        "items": _item_shapes(recipe.data)}
    say = print if trainer.dist.is_main else (lambda *a, **k: None)
    board = None
    if args.tensorboard and trainer.dist.is_main:
        from course_lib.train.tensorboard_log import TensorBoardLog

        try:
            board = TensorBoardLog(out / "tensorboard")
        except ImportError as exc:
            raise SystemExit(f"error: {exc}") from None
        trainer.log_hooks.append(board)
    say(f"{args.model} ({args.preset}): {recipe.description}")
    say(f"{trainer.total_steps} steps, batch {config.batch_size} x {trainer.dist.world_size} process(es), "
        f"precision {trainer.precision.name}, seed {config.seed}, device {trainer.device}, run folder {out}")
    try:
        if args.resume and checkpoint.is_file():
            trainer.load()
            say(f"resumed from {checkpoint} at step {trainer.step}")
            if trainer.step >= trainer.total_steps:
                say(f"the checkpoint is already at step {trainer.step} of {trainer.total_steps}: nothing "
                    "to train (pass a larger --steps to go on)")
        elif args.resume:
            say(f"no checkpoint in {out}: starting from step 0")
        # A checkpoint is written next to the previous one before replacing it: make sure it fits
        # now rather than after the first interval of training. Resuming: the old file's size;
        # otherwise the weights and buffers plus Adam's two moments per weight (an estimate).
        needed = (checkpoint.stat().st_size if checkpoint.is_file()
                  else 3 * state_nbytes(trainer.task.state_dict()))
        check_free_space(checkpoint, needed)
        start, t0 = trainer.step, time.perf_counter()
        history = trainer.fit()
    except (CheckpointError, CheckpointWriteError, FloatingPointError) as exc:
        # Known failures with a message that says what to do: no traceback needed.
        raise SystemExit(f"error: {exc}") from None
    finally:
        if board is not None:
            board.close()
    if trainer.dist.is_main:
        _save_samples(trainer, out)
        _save_history(trainer, out)
    rate = (trainer.step - start) / max(time.perf_counter() - t0, 1e-9)
    say(f"done: step {trainer.step}/{trainer.total_steps} ({history.stopped_by}), {rate:.2f} steps/s this run; "
          f"checkpoint {config.checkpoint_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
