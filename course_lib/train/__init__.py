"""Training helpers: device, precision, seeding, checkpoints and the alternating training loop.

Run ``python -m course_lib.train --help`` for the command-line trainer.
"""

from course_lib.config import seed_everything
from course_lib.train.checkpoint import (
    CheckpointCorruptedError,
    CheckpointError,
    CheckpointMismatchError,
    CheckpointWriteError,
    load_checkpoint,
    save_checkpoint,
)
from course_lib.train.device import Precision, describe_device, resolve_precision, select_device
from course_lib.train.loop import (
    History,
    Phase,
    TrainConfig,
    Trainer,
    TrainingTask,
    linear_decay,
    move_to,
    progress_bar,
)
from course_lib.train.sampling import SeededItems, StepSampler
from course_lib.train.tasks import SupervisedTask

__all__ = [
    "seed_everything", "load_checkpoint", "save_checkpoint", "CheckpointError", "CheckpointCorruptedError",
    "CheckpointMismatchError", "CheckpointWriteError", "Precision", "describe_device",
    "resolve_precision", "select_device", "History", "Phase", "Trainer", "TrainConfig",
    "TrainingTask", "linear_decay", "move_to", "progress_bar", "SeededItems", "StepSampler", "SupervisedTask",
]
