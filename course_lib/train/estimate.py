"""How long would a notebook's training take on a GPU? Count the FLOPs instead of guessing.

When ``$COURSE_ESTIMATE_LOG`` names a file, every :meth:`Trainer.fit` call

1. runs **one** step of each phase of its schedule (so a notebook finishes in minutes on a CPU
   whatever its GPU-mode sizes), counting the floating-point operations of that step (forward
   and backward, all updates) with :class:`torch.utils.flop_counter.FlopCounterMode`;
2. appends one JSON line to the file: the task, the batch size, and per phase the steps the
   schedule plans and the FLOPs of one step;
3. leaves the trainer at the end of its schedule, so the notebook goes on as after a real run
   (with an untrained model: its numbers mean nothing, its shapes and data paths are real).

Optimisation loops outside the trainer (Gatys' pixel optimisation) do the same through
:func:`counted_loop`: two counted evaluations stand for the planned ones.

``python -m tools.estimate`` runs notebooks that way in ``gpu`` mode and turns the lines into
seconds on a stated sustained throughput (:data:`T4_SUSTAINED_FLOPS`). It doubles as the test
that every notebook's GPU-mode configuration builds, fits in memory and loads its data.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from course_lib.train.loop import History, Trainer

ESTIMATE_ENV = "COURSE_ESTIMATE_LOG"
T = TypeVar("T")

#: Sustained training throughput assumed for one Colab T4 with fp16 autocast (its peak is
#: 65 TFLOP/s on tensor cores, 8 in fp32). Convolutional GAN training reaches a fraction of the
#: peak (small channel counts, normalisation and element-wise layers are memory-bound); 25 % is
#: the assumption until a measurement on a T4 replaces it.
T4_SUSTAINED_FLOPS = 16e12


def active() -> bool:
    """True when the trainer should count FLOPs instead of training (``$COURSE_ESTIMATE_LOG`` set)."""
    return bool(os.environ.get(ESTIMATE_ENV))


_counting = False


def counting() -> bool:
    """True inside a counted run (so the loop that is being counted runs for real)."""
    return _counting


def _append(record: dict[str, Any]) -> None:
    with open(Path(os.environ[ESTIMATE_ENV]), "a") as f:
        f.write(json.dumps(record) + "\n")


def counted_loop(name: str, planned: int, executed: int, run: Callable[[int], T]) -> T:
    """Run ``run(executed)`` under a FLOP counter and log it as ``planned`` steps of the same cost.

    For optimisation loops outside the :class:`Trainer` (e.g. Gatys' pixel optimisation): the
    loop's own function calls itself with ``executed`` steps; FLOPs per step are the counted
    FLOPs divided by ``executed``.
    """
    global _counting
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    t0 = time.process_time()
    _counting = True
    try:
        with counter:
            result = run(executed)
    finally:
        _counting = False
    seconds = time.process_time() - t0
    _append({"task": name, "batch_size": 1, "device": "", "precision": "",
             "phases": [{"phase": name, "steps": planned, "flops_per_step": counter.get_total_flops() / executed,
                         "cpu_seconds_per_step": round(seconds / executed, 3), "executed": executed}]})
    return result


def measured_fit(trainer: Trainer) -> History:
    """One step per phase under a FLOP counter; log the plan; leave the trainer at its last step."""
    from torch.utils.flop_counter import FlopCounterMode

    cfg = trainer.config
    saved = cfg.log_every, cfg.checkpoint_path
    cfg.log_every, cfg.checkpoint_path = 1, None  # a history entry per step; nothing written to disk
    phases: list[dict[str, Any]] = []
    start = 0
    try:
        for ph in trainer.phases:
            if ph.steps == 0:
                continue
            trainer.step = start
            counter = FlopCounterMode(display=False)
            t0 = time.process_time()
            with counter:
                trainer.fit(until=start + 1)
            phases.append({"phase": ph.name, "steps": ph.steps, "flops_per_step": counter.get_total_flops(),
                           "cpu_seconds_per_step": round(time.process_time() - t0, 3)})
            start += ph.steps
    finally:
        cfg.log_every, cfg.checkpoint_path = saved
    trainer.step = trainer.total_steps
    trainer.history.stopped_by = "estimate"
    record = {"task": type(trainer.task).__name__, "batch_size": cfg.batch_size, "phases": phases,
              "device": str(trainer.device), "precision": trainer.precision.name}
    _append(record)
    return trainer.history


def read_log(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The records :func:`measured_fit` wrote (one per ``fit`` call)."""
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def training_flops(records: list[dict[str, Any]]) -> tuple[int, float]:
    """(planned steps, total FLOPs) of all runs in ``records``."""
    steps = sum(p["steps"] for r in records for p in r["phases"])
    flops = sum(p["steps"] * p["flops_per_step"] for r in records for p in r["phases"])
    return steps, float(flops)


def t4_seconds(flops: float, throughput: float = T4_SUSTAINED_FLOPS) -> float:
    """Seconds that ``flops`` of training take at ``throughput`` FLOP/s."""
    return flops / throughput
