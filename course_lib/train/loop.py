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
from course_lib.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
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
    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "samples_seen": self.samples_seen,
            "task": self.task.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "scaler": self.precision.scaler.state_dict(),
            "rng": rng_state(),
            "history": self.history.state_dict(),
            "config": dataclasses.asdict(self.config),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.task.load_state_dict(state["task"])
        for k, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        for k, s in self.schedulers.items():
            s.load_state_dict(state["schedulers"][k])
        if state.get("scaler"):
            self.precision.scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"])
        self.history.load_state_dict(state["history"])
        self.step = int(state["step"])
        self.samples_seen = int(state.get("samples_seen", self.step * self.config.batch_size))
        if self.dist.enabled:
            torch.manual_seed(torch.initial_seed() + self.dist.rank + self.step)

    def save(self, path: str | Path | None = None) -> Path:
        """Write a checkpoint atomically (default path: ``config.checkpoint_path``)."""
        path = path or self.config.checkpoint_path
        if path is None:
            raise ValueError("no checkpoint path: pass one, or set TrainConfig.checkpoint_path")
        if self.dist.is_main:  # one writer; the others wait until the file is complete
            save_checkpoint(self.state_dict(), path)
        distributed.barrier(self.dist)
        return Path(path)

    def load(self, path: str | Path | None = None) -> None:
        """Restore everything a checkpoint holds; the next :meth:`fit` continues exactly."""
        path = path or self.config.checkpoint_path
        if path is None:
            raise ValueError("no checkpoint path: pass one, or set TrainConfig.checkpoint_path")
        self.load_state_dict(load_checkpoint(path, map_location=self.device))

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
        if not self.dist.is_main:
            return
        try:
            with torch.no_grad(), self.precision.autocast():
                images = self.task.sample(self._first_batch())
        except NotImplementedError:
            return
        self.history.samples.append((self.step, images.detach().float().cpu()))

    def fit(self, resume: bool = False, until: int | None = None) -> History:
        """Train until the step budget (or the time budget) is spent; return the history.

        With ``resume=True`` an existing checkpoint at ``config.checkpoint_path`` is loaded
        first. ``until`` stops at that step (the schedule, e.g. the learning-rate decay, still
        spans all steps; call ``fit`` again to go on). A ``KeyboardInterrupt`` (the stop button)
        saves a checkpoint when a path is set and returns normally, so no work is lost.
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
        if resume and cfg.checkpoint_path and Path(cfg.checkpoint_path).is_file():
            self.load()
        stop_at = self.total_steps if until is None else min(until, self.total_steps)
        if self.step >= stop_at:
            self.history.stopped_by = "steps"
            return self.history
        self.task.train()
        loader = iter(self._loader())
        sums: dict[str, torch.Tensor] = {}
        count = 0
        t0 = time.perf_counter()
        seconds_before = self.history.seconds
        bar = progress_bar(total=self.total_steps, initial=self.step, desc=type(self.task).__name__,
                           enabled=cfg.progress and self.dist.is_main)
        global_batch = cfg.batch_size * self.dist.world_size
        stopped_by = "steps" if stop_at == self.total_steps else "until"
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
                count += 1
                bar.update(1)
                if self.step % cfg.log_every == 0 or self.step == self.total_steps:
                    self._log(sums, count, phase, bar)
                    sums, count = {}, 0
                if cfg.sample_every and self.step % cfg.sample_every == 0:
                    self._record_samples()
                if cfg.checkpoint_path and cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                    self.history.seconds = seconds_before + time.perf_counter() - t0
                    self.save()
                if cfg.time_budget_s is not None and time.perf_counter() - t0 >= cfg.time_budget_s:
                    stopped_by = "time budget"
                    break
        except KeyboardInterrupt:
            stopped_by = "interrupted"
        finally:
            bar.close()
            del loader
        if count:
            self._log(sums, count, self.phase_at(max(0, self.step - 1)), None)
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

    def _log(self, sums: dict[str, torch.Tensor], count: int, phase: Phase, bar: Any) -> None:
        # The only host-device sync of the loop, once every log_every steps.
        sums = distributed.all_reduce_mean(sums, self.dist)
        means = {k: float(v) / count for k, v in sums.items()}
        for k, v in means.items():
            if not math.isfinite(v):
                raise FloatingPointError(
                    f"{k} became {v} at step {self.step} (phase {phase.name!r}). Lower the learning "
                    "rate, check the loss for log(0) or division by zero, or train in fp32."
                )
        self.history.step.append(self.step)
        self.history.phase.append(phase.name)
        for k, v in means.items():
            self.history.values.setdefault(k, []).append(v)
            self.history.value_steps.setdefault(k, []).append(self.step)
        if bar is not None:
            bar.set_postfix({k: f"{v:.3g}" for k, v in list(means.items())[:4]}, refresh=False)
