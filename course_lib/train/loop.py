"""The course's training loop: alternating updates (discriminator, generator, ...) in phases.

Every method of the course is trained by the same loop. A method is a :class:`TrainingTask`: an
``nn.Module`` that owns its networks and says three things:

* ``configure_optimizers()``: one optimizer per *update*, e.g. ``{"D": adam_d, "G": adam_g}``;
  the dict order is the order of the updates inside one iteration;
* ``forward_step(batch, phase)``: the computation the updates share (e.g. ``fake = G(x)``);
* ``update_loss(name, batch, out, phase)``: the losses of one update, a dict whose ``"loss"``
  entry is minimised by that update's optimizer (other entries are logged).

A schedule is a list of :class:`Phase` objects (e.g. Global & Local's three phases: completion
network only, discriminators only, then both). Supervised models are the special case with a
single update.

The :class:`Trainer` adds what every method needs and nobody should write twice: mixed precision,
a step budget and a time budget, linear learning-rate decay, logging without host syncs in the
hot loop, sample grids, atomic checkpoints with exact resume, and a progress bar.
"""

from __future__ import annotations

import dataclasses
import math
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from course_lib.train import distributed
from course_lib.train.checkpoint import (
    CheckpointMismatchError,
    clean_stale_temp_files,
    ensure_writable,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from course_lib.train.device import Precision, PrecisionName, select_device
from course_lib.train.sampling import SeededItems, StepSampler


@dataclass(frozen=True)
class Phase:
    """A stretch of training with its own set of updates.

    Args:
        name: shown in logs and progress bars.
        steps: iterations in this phase.
        updates: names of the updates that run (``None``: all of the task's updates).
        options: free-form settings passed to the task (e.g. ``{"adversarial": False}``).
    """

    name: str
    steps: int
    updates: tuple[str, ...] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise ValueError(f"Phase {self.name!r}: steps must be >= 0, got {self.steps}")


class TrainingTask(nn.Module):
    """Base class of a trainable method (see the module docstring)."""

    #: value range of the images returned by :meth:`sample`
    sample_range: tuple[float, float] = (-1.0, 1.0)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError(f"{type(self).__name__} must define configure_optimizers()")

    def forward_step(self, batch: Any, phase: Phase) -> dict[str, Any]:
        """Shared computation of one iteration (default: nothing)."""
        return {}

    def update_loss(self, name: str, batch: Any, out: dict[str, Any], phase: Phase) -> dict[str, torch.Tensor]:
        raise NotImplementedError(f"{type(self).__name__} must define update_loss()")

    @torch.no_grad()
    def sample(self, batch: Any) -> torch.Tensor:
        """Images to show for ``batch``, shape (N, C, H, W) in :attr:`sample_range`."""
        raise NotImplementedError


@dataclass
class TrainConfig:
    """Settings of one training run. Defaults suit quick mode on a CPU.

    ``steps`` is ignored when the trainer is given phases (their steps add up instead).
    ``batch_size`` is per process: under ``torchrun`` with N processes a step sees N times as many.
    ``lr_decay_start``: from this step on the learning rate falls linearly to zero at the end
    (pix2pix/CycleGAN's schedule); ``None`` keeps it constant.
    ``precision``: ``"auto"`` = bf16 (or fp16) autocast on CUDA GPUs, fp32 elsewhere.
    ``channels_last``: ``None`` = on for CUDA with mixed precision (tensor cores prefer NHWC), off
    on CPU where it does not help (see ``make bench``).
    ``sync_batchnorm``: share batch-norm statistics across processes (multi-GPU pix2pix).
    """

    steps: int = 1000
    batch_size: int = 1
    seed: int = 0
    precision: PrecisionName = "auto"
    channels_last: bool | None = None
    lr_decay_start: int | None = None
    time_budget_s: float | None = None
    log_every: int = 25
    sample_every: int | None = None
    checkpoint_path: str | None = None
    checkpoint_every: int | None = None
    num_workers: int = 0
    progress: bool = True
    sync_batchnorm: bool = False

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "log_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"TrainConfig.{name} must be a positive int, got {value!r}")
        if self.checkpoint_path is not None:
            self.checkpoint_path = str(self.checkpoint_path)


@dataclass
class History:
    """What a run logged: averaged losses every ``log_every`` steps, and sample grids."""

    step: list[int] = field(default_factory=list)
    phase: list[str] = field(default_factory=list)
    values: dict[str, list[float]] = field(default_factory=dict)
    #: the step of each entry in ``values[key]`` (updates that skip a phase log nothing there)
    value_steps: dict[str, list[int]] = field(default_factory=dict)
    samples: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    seconds: float = 0.0
    stopped_by: str = ""

    def last(self, key: str) -> float:
        """The most recent logged value of ``key`` (e.g. ``"G/loss"``)."""
        if key not in self.values or not self.values[key]:
            raise KeyError(f"{key!r} was never logged; logged keys: {sorted(self.values)}")
        return self.values[key][-1]

    def plot(self, keys: Sequence[str] | None = None, ax: Any = None, logy: bool = False) -> Any:
        from course_lib.viz import plot_history

        return plot_history(self, keys=keys, ax=ax, logy=logy)

    def drop_last_entry(self) -> None:
        """Remove the most recent log entry (a provisional one, see :meth:`Trainer.fit`)."""
        if not self.step:
            return
        step = self.step.pop()
        self.phase.pop()
        for key, steps in self.value_steps.items():
            if steps and steps[-1] == step:
                steps.pop()
                self.values[key].pop()
        for key in [k for k, v in self.values.items() if not v]:  # logged only in that entry
            del self.values[key], self.value_steps[key]

    def state_dict(self) -> dict[str, Any]:
        return {"step": list(self.step), "phase": list(self.phase),
                "values": {k: list(v) for k, v in self.values.items()},
                "value_steps": {k: list(v) for k, v in self.value_steps.items()},
                "seconds": self.seconds, "stopped_by": self.stopped_by}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.step, self.phase = list(state["step"]), list(state["phase"])
        self.values = {k: list(v) for k, v in state["values"].items()}
        self.value_steps = {k: list(v) for k, v in state["value_steps"].items()}
        self.seconds, self.stopped_by = float(state["seconds"]), str(state["stopped_by"])


def progress_bar(total: int, desc: str = "", initial: int = 0, enabled: bool = True) -> tqdm:
    """A ``tqdm.auto`` bar (a widget in Jupyter) that ``$TQDM_DISABLE=1`` turns off everywhere.

    (tqdm's notebook bar ignores ``TQDM_DISABLE``; headless notebook runs set it to keep their
    stored outputs clean.)
    """
    off = not enabled or os.environ.get("TQDM_DISABLE", "").lower() in ("1", "true", "yes")
    return tqdm(total=total, initial=initial, desc=desc, leave=False, disable=off)


def linear_decay(total_steps: int, decay_start: int) -> Callable[[int], float]:
    """LR multiplier: 1 until ``decay_start``, then linearly down to 0 at ``total_steps``."""
    span = max(1, total_steps - decay_start)
    return lambda step: 1.0 - max(0, step - decay_start) / span


def move_to(batch: Any, device: torch.device, channels_last: bool = False) -> Any:
    """Move every tensor in a (nested) batch to ``device`` without blocking the host."""
    if isinstance(batch, torch.Tensor):
        batch = batch.to(device, non_blocking=True)
        if channels_last and batch.dim() == 4:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch
    if isinstance(batch, Mapping):
        return {k: move_to(v, device, channels_last) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to(v, device, channels_last) for v in batch)
    return batch


class _DeferredInterrupt:
    """Turns Ctrl-C into a request to stop after the current step, while a ``fit`` runs.

    A ``KeyboardInterrupt`` in the middle of a step would leave it half done: the noise drawn,
    batch-norm statistics updated, one of several optimizers stepped. A checkpoint of that state
    would not resume exactly. So the first Ctrl-C only sets :attr:`requested` (the loop stops at
    the end of the step); a second one raises at once. Python lets only the main thread install
    signal handlers; elsewhere, or when someone else installed a SIGINT handler, nothing changes.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


class Trainer:
    """Runs a :class:`TrainingTask` on a dataset (see the module docstring).

    Args:
        task: the method to train.
        data: a map-style dataset; batches are drawn from a seeded, resumable stream.
        config: run settings.
        phases: the schedule; default is one phase of ``config.steps`` steps with all updates.
        device: where to train (default: the best available).
        sample_batch: a batch to draw sample grids from (default: the dataset's first items).
    """

    def __init__(
        self,
        task: TrainingTask,
        data: Dataset,
        config: TrainConfig | None = None,
        phases: Sequence[Phase] | None = None,
        device: str | torch.device | None = None,
        sample_batch: Any = None,
    ) -> None:
        if not isinstance(task, TrainingTask):
            raise TypeError(f"task must be a course_lib.train.TrainingTask, got {type(task).__name__}")
        self.config = config or TrainConfig()
        self.dist = distributed.from_env()
        self.device = select_device(distributed.device_for(self.dist, device), verbose=False)
        distributed.init(self.dist, self.device)
        if self.config.sync_batchnorm and self.dist.enabled:
            task = nn.SyncBatchNorm.convert_sync_batchnorm(task)
        self.task = task.to(self.device)
        self.precision = Precision(self.device, self.config.precision)
        self.channels_last = (self.config.channels_last if self.config.channels_last is not None
                              else self.device.type == "cuda" and self.precision.enabled)
        if self.channels_last:
            self.task = self.task.to(memory_format=torch.channels_last)
        if self.device.type == "cuda" and not torch.are_deterministic_algorithms_enabled():
            torch.backends.cudnn.benchmark = True  # pick the fastest conv algorithms for fixed sizes
        self.data = data
        self.optimizers = dict(task.configure_optimizers())
        if not self.optimizers:
            raise ValueError("configure_optimizers() returned no optimizers")
        self.phases = list(phases) if phases is not None else [Phase("train", self.config.steps)]
        for ph in self.phases:
            unknown = set(ph.updates or ()) - set(self.optimizers)
            if unknown:
                raise ValueError(
                    f"Phase {ph.name!r} names updates {sorted(unknown)} but the task's optimizers "
                    f"are {list(self.optimizers)}"
                )
        self.total_steps = sum(ph.steps for ph in self.phases)
        self.schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler] = {}
        if self.config.lr_decay_start is not None:
            rule = linear_decay(self.total_steps, self.config.lr_decay_start)
            self.schedulers = {k: torch.optim.lr_scheduler.LambdaLR(o, rule) for k, o in self.optimizers.items()}
        self.step = 0
        self.samples_seen = 0  # in the global stream, over all processes
        self.data_seconds = 0.0  # time spent waiting for batches (the data-loading share of a run)
        self.history = History()
        self._sample_batch = sample_batch
        self._params = {k: [p for g in o.param_groups for p in g["params"]] for k, o in self.optimizers.items()}
        self._ddp: dict[str, nn.Module] = {}
        #: Extra settings a resumed run must share with the checkpoint (the command line adds the
        #: recipe name, preset, --data, ...); see :meth:`settings`.
        self.run_info: dict[str, Any] = {}
        #: Called on the main process at every log point with ``(step, {loss name: mean})``, after
        #: the history is updated (the command line's ``--tensorboard`` adds one).
        self.log_hooks: list[Callable[[int, dict[str, float]], None]] = []
        # Loss sums since the last log point, on the device (no host sync per step). They are part
        # of the checkpoint, so a resumed run logs exactly what an uninterrupted one does.
        self._sums: dict[str, torch.Tensor] = {}
        self._count = 0
        # True when the last history entry averages a partial log interval (written when fit()
        # stops between log points); it is replaced by the full entry when training continues.
        self._provisional = False
        # (step, path) of the last checkpoint known to be good: named when training diverges.
        self._last_good: tuple[int, Path] | None = None
        if self.dist.enabled:
            # Each process draws different noise (dropout, latent codes) from here on.
            torch.manual_seed(torch.initial_seed() + self.dist.rank)
            for name in self.optimizers:
                self._set_trainable([name])
                self._ddp[name] = distributed.wrap_update(self.task, name, self.device)
            self._set_trainable(list(self.optimizers))

    # ------------------------------------------------------------------ schedule
    def phase_at(self, step: int) -> Phase:
        """The phase that iteration ``step`` belongs to."""
        end = 0
        for ph in self.phases:
            end += ph.steps
            if step < end:
                return ph
        return self.phases[-1]

    # ------------------------------------------------------------------ state
    def settings(self) -> dict[str, Any]:
        """The settings a resumed run must share with the run that wrote the checkpoint.

        Resuming with another model, batch size, seed, precision or learning-rate schedule would
        silently train a mixture of two runs. Settings that may change between sessions (the
        number of steps, the time budget, logging and checkpoint intervals, workers, device, the
        number of processes at the same global batch) are not listed. :attr:`run_info` adds
        the command line's settings (recipe, preset, data).
        """
        return {
            "task": f"{type(self.task).__module__}.{type(self.task).__qualname__}",
            "parameters": sum(p.numel() for p in self.task.parameters()),
            "global_batch": self.config.batch_size * self.dist.world_size,
            "seed": self.config.seed,
            "precision": self.precision.name,
            "lr_decay_start": self.config.lr_decay_start,
            **self.run_info,
        }

    def state_dict(self, pending: Mapping[str, torch.Tensor] | None = None) -> dict[str, Any]:
        """Everything a checkpoint holds (``pending``: the loss sums to store, default this process's)."""
        return {
            "step": self.step,
            "samples_seen": self.samples_seen,
            "task": self.task.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "scaler": self.precision.scaler.state_dict(),
            "rng": rng_state(),
            "history": self.history.state_dict(),
            "pending": {"sums": dict(self._sums if pending is None else pending), "count": self._count,
                        "provisional": self._provisional},
            "config": dataclasses.asdict(self.config),
            "settings": self.settings(),
        }

    def check_compatible(self, state: Mapping[str, Any], source: str = "the checkpoint") -> None:
        """Raise :class:`CheckpointMismatchError` unless ``state`` comes from this model and settings.

        Checked before anything is loaded, so a refused checkpoint leaves the trainer untouched.
        """
        saved = dict(state.get("settings") or {})
        if not saved and "config" in state:  # checkpoints of course_lib versions before settings
            saved = {"seed": state["config"].get("seed"), "lr_decay_start": state["config"].get("lr_decay_start")}
        now = self.settings()
        # Only settings both sides know: a checkpoint of the command line loads in code without
        # run_info, and an older checkpoint lacks the newer entries.
        diffs = [f"  {k}: checkpoint {saved[k]!r} vs now {now[k]!r}"
                 for k in now if k in saved and saved[k] != now[k]]
        if diffs:
            raise CheckpointMismatchError(
                f"{source} was written by a run with other settings; resuming would mix two runs:\n"
                + "\n".join(diffs)
                + "\nUse the checkpoint's settings to continue that run, or start a new one (command "
                "line: another --out, or --force to overwrite; in code: another checkpoint_path)."
            )
        mine, theirs = self.task.state_dict(), state["task"]
        missing = [k for k in mine if k not in theirs]
        unexpected = [k for k in theirs if k not in mine]
        reshaped = [f"{k} {tuple(theirs[k].shape)} vs {tuple(mine[k].shape)}" for k in mine
                    if k in theirs and isinstance(mine[k], torch.Tensor) and isinstance(theirs[k], torch.Tensor)
                    and tuple(theirs[k].shape) != tuple(mine[k].shape)]  # extra state (image pools) has no shape
        if missing or unexpected or reshaped:
            def some(items: list[str]) -> str:
                return ", ".join(items[:3]) + (", ..." if len(items) > 3 else "")

            problems = [f"{len(xs)} {what} (e.g. {some(xs)})" for xs, what in
                        ((missing, "weights missing"), (unexpected, "unexpected weights"),
                         (reshaped, "weights of another shape, checkpoint vs now")) if xs]
            raise CheckpointMismatchError(
                f"{source} holds a different model than this {type(self.task).__name__}: "
                + "; ".join(problems)
                + ". Build the same model (same recipe, preset and options) to resume it, or start "
                "a new run (command line: another --out, or --force)."
            )

    def load_state_dict(self, state: Mapping[str, Any], source: str = "the checkpoint") -> None:
        """Restore a :meth:`state_dict` after :meth:`check_compatible` accepts it."""
        self.check_compatible(state, source)
        self.task.load_state_dict(state["task"])
        for k, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        for k, s in self.schedulers.items():
            s.load_state_dict(state["schedulers"][k])
        if state.get("scaler"):
            self.precision.scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"])
        self.history.load_state_dict(state["history"])
        pending = state.get("pending") or {"sums": {}, "count": 0, "provisional": False}
        self._sums = {k: v.to(self.device) for k, v in pending["sums"].items()}
        self._count, self._provisional = int(pending["count"]), bool(pending["provisional"])
        self.step = int(state["step"])
        self.samples_seen = int(state.get("samples_seen", self.step * self.config.batch_size))
        if self.dist.enabled:
            torch.manual_seed(torch.initial_seed() + self.dist.rank + self.step)

    def _first_nonfinite(self, sums: Mapping[str, torch.Tensor]) -> str | None:
        """The name of the first logged loss sum, weight or buffer that is NaN or infinite, else None.

        One host sync (a single stacked flag tensor), paid at checkpoint time only.
        """
        named = [(f"the loss {k}", v) for k, v in sums.items()]
        named += [(f"the weight {k}", v) for k, v in self.task.state_dict().items()
                  if isinstance(v, torch.Tensor) and v.is_floating_point()]  # extra state (image pools) is not a tensor
        if not named:
            return None
        finite = torch.stack([torch.isfinite(v).all() for _, v in named]).float()
        if self.dist.enabled:  # every process must take the same decision, or the others hang
            finite = distributed.all_reduce_mean({"f": finite}, self.dist)["f"]
        bad = (finite < 1).nonzero()
        return named[int(bad[0])][0] if len(bad) else None

    def _diverged_message(self, what: str) -> str:
        """Say what diverged, where, what to try, and which checkpoint is still good."""
        where = f"step {self.step} (phase {self.phase_at(max(0, self.step - 1)).name!r})"
        advice = ("Lower the learning rate, check the loss for log(0) or division by zero, or train "
                  "in fp32.")
        if self._last_good is not None:
            step, path = self._last_good
            kept = (f" No checkpoint was written for step {self.step}: the last good checkpoint is "
                    f"kept, {path} (step {step}); resume from it after the fix.")
        elif self.config.checkpoint_path:
            kept = (f" No checkpoint was written for step {self.step}, and this run wrote no good "
                    f"one ({self.config.checkpoint_path} was left as it was).")
        else:
            kept = ""
        return f"training diverged: {what} at {where}. {advice}{kept}"

    def save(self, path: str | Path | None = None) -> Path:
        """Write a checkpoint atomically (default path: ``config.checkpoint_path``).

        Refuses (``FloatingPointError``) to write weights or losses that are NaN or infinite:
        the previous checkpoint stays, so a diverged run can be resumed from before it diverged.
        """
        path = path or self.config.checkpoint_path
        if path is None:
            raise ValueError("no checkpoint path: pass one, or set TrainConfig.checkpoint_path")
        # Collective calls first, on every process: the averaged loss sums and the finiteness check.
        pending = distributed.all_reduce_mean(self._sums, self.dist)
        bad = self._first_nonfinite(pending)
        if bad is not None:
            raise FloatingPointError(self._diverged_message(f"{bad} became NaN or infinite"))
        if self.dist.is_main:  # one writer; the others wait until the file is complete
            save_checkpoint(self.state_dict(pending), path)
        distributed.barrier(self.dist)
        self._last_good = (self.step, Path(path))
        return Path(path)

    def load(self, path: str | Path | None = None) -> None:
        """Restore everything a checkpoint holds; the next :meth:`fit` continues exactly.

        The checkpoint is verified (checksum) and must come from the same model and settings
        (:meth:`check_compatible`); otherwise a :class:`CheckpointError` says why and what to do.
        """
        path = path or self.config.checkpoint_path
        if path is None:
            raise ValueError("no checkpoint path: pass one, or set TrainConfig.checkpoint_path")
        # CPU first: the checksum is computed there, and RNG states must be CPU tensors; the
        # weights and optimizer states are copied to the training device by load_state_dict.
        self.load_state_dict(load_checkpoint(path, map_location="cpu"), source=f"checkpoint {path}")
        self._last_good = (self.step, Path(path))

    # ------------------------------------------------------------------ running
    def _loader(self) -> DataLoader:
        sampler = StepSampler(len(self.data), self.config.batch_size, self.config.seed,  # type: ignore[arg-type]
                              rank=self.dist.rank, world_size=self.dist.world_size, start_sample=self.samples_seen)
        return DataLoader(
            SeededItems(self.data),
            batch_size=self.config.batch_size,
            sampler=sampler,
            num_workers=self.config.num_workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
            # A private generator: creating an iterator must not draw from the global RNG, or a
            # resumed run (which creates one more iterator) would diverge from a straight one.
            generator=torch.Generator().manual_seed(self.config.seed),
        )

    def _first_batch(self) -> Any:
        if self._sample_batch is None:
            n = min(self.config.batch_size, len(self.data), 8)  # type: ignore[arg-type]
            items = [self.data[i] for i in range(n)]
            self._sample_batch = torch.utils.data.default_collate(items)
        return move_to(self._sample_batch, self.device, self.channels_last)

    def _set_trainable(self, active: Sequence[str]) -> None:
        for name, params in self._params.items():
            flag = name in active
            for p in params:
                p.requires_grad_(flag)

    def _record_samples(self) -> None:
        """Append a sample grid to the history, leaving the training state exactly as it was.

        Sampling may draw random numbers (pix2pix keeps dropout on at test time; the first
        batch's augmentation) and run batch norm in training mode (which counts batches). Left
        in, those side effects would make the weights depend on when samples were drawn, e.g. at
        the end of a run that is later resumed, so a resumed run would not match a straight one.
        """
        if not self.dist.is_main:
            return
        rng = rng_state()
        buffers = [(b, b.clone()) for b in self.task.buffers()]
        try:
            with torch.no_grad(), self.precision.autocast():
                images = self.task.sample(self._first_batch())
        except NotImplementedError:
            return
        finally:
            set_rng_state(rng)
            with torch.no_grad():
                for b, saved in buffers:
                    b.copy_(saved)
        self.history.samples.append((self.step, images.detach().float().cpu()))

    def fit(self, resume: bool = False, until: int | None = None) -> History:
        """Train until the step budget (or the time budget) is spent; return the history.

        With ``resume=True`` an existing checkpoint at ``config.checkpoint_path`` is loaded
        first. ``until`` stops at that step (the schedule, e.g. the learning-rate decay, still
        spans all steps; call ``fit`` again to go on). Ctrl-C (the notebook's stop button)
        finishes the current step, saves a checkpoint when a path is set and returns normally,
        so no work is lost and the resume stays exact; a second Ctrl-C stops at once.

        Losses are averaged over ``log_every`` steps. When training stops between two log points
        the history gets a *provisional* entry for the steps since the last one; continuing
        (also after a resume) replaces it with the full entry, so the history does not depend on
        where a run was interrupted.
        """
        from course_lib.train import estimate

        if estimate.active() and not getattr(self, "_estimating", False):
            # `python -m tools.estimate`: count one step per phase instead of training
            self._estimating = True
            try:
                return estimate.measured_fit(self)
            finally:
                self._estimating = False
        cfg = self.config
        if cfg.checkpoint_path and self.dist.is_main:
            # Fail now, not after the first checkpoint_every steps of work.
            ensure_writable(Path(cfg.checkpoint_path).parent, "the checkpoint folder")
            stale = clean_stale_temp_files(cfg.checkpoint_path)
            if stale:
                print(f"removed {len(stale)} unfinished temporary checkpoint file(s) left in "
                      f"{Path(cfg.checkpoint_path).parent} by an interrupted save")
        if resume and cfg.checkpoint_path and Path(cfg.checkpoint_path).is_file():
            self.load()
        stop_at = self.total_steps if until is None else min(until, self.total_steps)
        if self.step >= stop_at:
            self.history.stopped_by = "steps"
            return self.history
        if self._provisional:  # training goes on: the partial interval will be logged in full
            self.history.drop_last_entry()
            self._provisional = False
        self.task.train()
        loader = iter(self._loader())
        t0 = time.perf_counter()
        seconds_before = self.history.seconds
        bar = progress_bar(total=self.total_steps, initial=self.step, desc=type(self.task).__name__,
                           enabled=cfg.progress and self.dist.is_main)
        global_batch = cfg.batch_size * self.dist.world_size
        stopped_by = "steps" if stop_at == self.total_steps else "until"
        interrupt = _DeferredInterrupt()
        try:
            while self.step < stop_at:
                phase = self.phase_at(self.step)
                updates = [u for u in self.optimizers if phase.updates is None or u in phase.updates]
                t_data = time.perf_counter()
                batch = move_to(next(loader), self.device, self.channels_last)
                self.data_seconds += time.perf_counter() - t_data
                self._set_trainable(updates)
                with self.precision.autocast():
                    out = self.task.forward_step(batch, phase)
                sums = self._sums
                for name in updates:
                    self._set_trainable([name])
                    opt = self.optimizers[name]
                    with self.precision.autocast():
                        if self._ddp:
                            losses = self._ddp[name](batch, out, phase)
                        else:
                            losses = self.task.update_loss(name, batch, out, phase)
                    if "loss" not in losses:
                        raise KeyError(f"update_loss({name!r}) must return a dict with a 'loss' entry")
                    opt.zero_grad(set_to_none=True)
                    self.precision.scaler.scale(losses["loss"]).backward()
                    self.precision.scaler.step(opt)
                    for key, value in losses.items():
                        # Summed on the device: reading a value (.item()) every step would
                        # stall the GPU. The sums are checked at log and checkpoint time.
                        k = f"{name}/{key}"
                        v = value.detach().float()
                        sums[k] = sums[k] + v if k in sums else v
                self.precision.scaler.update()
                with warnings.catch_warnings():
                    # The learning rate is a function of the global step, so every scheduler ticks,
                    # also in phases that skip its optimizer (PyTorch would warn about the order).
                    warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step")
                    for sched in self.schedulers.values():
                        sched.step()
                self.step += 1
                self.samples_seen += global_batch
                self._count += 1
                bar.update(1)
                if self.step % cfg.log_every == 0:
                    self._log(phase, bar)
                    self._sums, self._count = {}, 0
                if cfg.sample_every and self.step % cfg.sample_every == 0:
                    self._record_samples()
                if cfg.checkpoint_path and cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                    self.history.seconds = seconds_before + time.perf_counter() - t0
                    self.save()
                if cfg.time_budget_s is not None and time.perf_counter() - t0 >= cfg.time_budget_s:
                    stopped_by = "time budget"
                    break
                if interrupt.requested:
                    stopped_by = "interrupted"
                    break
        except KeyboardInterrupt:  # a second Ctrl-C, or fit() running outside the main thread
            stopped_by = "interrupted"
        finally:
            interrupt.restore()
            bar.close()
            del loader
        if self._count:
            # Stopped between log points (end of the steps, until, interrupt, time budget): show
            # the partial interval, but keep its sums so that a continuation logs the full one.
            self._log(self.phase_at(max(0, self.step - 1)), None)
            self._provisional = True
        self._set_trainable(list(self.optimizers))
        self.history.seconds = seconds_before + time.perf_counter() - t0
        self.history.stopped_by = stopped_by
        if cfg.sample_every and (not self.history.samples or self.history.samples[-1][0] != self.step):
            self._record_samples()
        if cfg.checkpoint_path:
            self.save()
        if stopped_by not in ("steps", "until") and self.dist.is_main:
            where = f"; checkpoint saved to {cfg.checkpoint_path}" if cfg.checkpoint_path else ""
            print(f"stopped early ({stopped_by}) at step {self.step}/{self.total_steps}{where}. "
                  "Call fit() again to continue.")
        return self.history

    def _log(self, phase: Phase, bar: Any) -> None:
        """Append the mean of each loss since the last log point to the history."""
        # The only host-device sync of the loop, once every log_every steps.
        sums = distributed.all_reduce_mean(self._sums, self.dist)
        means = {k: float(v) / self._count for k, v in sums.items()}
        for k, v in means.items():
            if not math.isfinite(v):
                raise FloatingPointError(self._diverged_message(f"the loss {k} became {v}"))
        self.history.step.append(self.step)
        self.history.phase.append(phase.name)
        for k, v in means.items():
            self.history.values.setdefault(k, []).append(v)
            self.history.value_steps.setdefault(k, []).append(self.step)
        if bar is not None:
            bar.set_postfix({k: f"{v:.3g}" for k, v in list(means.items())[:4]}, refresh=False)
        if self.dist.is_main:
            for hook in self.log_hooks:
                hook(self.step, means)
