"""An optional TensorBoard log of a training run (``python -m course_lib.train ... --tensorboard``).

The run's ``history.csv`` already holds every averaged loss; this writes the same numbers, at the
same steps, as TensorBoard scalars, so that a long GPU run can be watched live with
``tensorboard --logdir runs/``. It needs the ``tensorboard`` package, which the course does not
install by default (``pip install tensorboard``).
"""

from __future__ import annotations

import os
from pathlib import Path


class TensorBoardLog:
    """A :attr:`Trainer.log_hooks <course_lib.train.Trainer.log_hooks>` entry writing scalars into ``folder``.

    Each log point becomes one ``add_scalar(name, mean, step)`` per loss (names as in the
    history, e.g. ``G/loss``, which TensorBoard groups by the part before the slash), flushed at
    once so that a crash loses nothing that was logged.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:  # torch raises ImportError when the tensorboard package is missing
            raise ImportError(
                "--tensorboard needs the tensorboard package, which is not installed: run "
                "`pip install tensorboard` (or leave out --tensorboard; history.csv has the same numbers)"
            ) from exc
        self.folder = Path(folder)
        self.writer = SummaryWriter(log_dir=str(self.folder))

    def __call__(self, step: int, means: dict[str, float]) -> None:
        for name, value in means.items():
            self.writer.add_scalar(name, value, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
