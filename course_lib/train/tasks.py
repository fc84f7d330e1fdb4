"""Ready-made training tasks for the cases that need no method-specific code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from course_lib.train.loop import Phase, TrainingTask

Batch = dict[str, torch.Tensor]


class SupervisedTask(TrainingTask):
    """One network, one loss, one Adam optimizer (update name ``"G"``).

    Args:
        model: maps ``*[batch[k] for k in inputs]`` to a prediction.
        loss_fn: ``loss_fn(prediction, batch) -> scalar tensor``.
        inputs: batch keys passed to the model, in order.
        lr, betas: Adam settings.
        sample_inputs: optional ``f(batch, prediction) -> images`` for sample grids
            (default: the prediction itself).
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: Callable[[torch.Tensor, Batch], torch.Tensor],
        inputs: tuple[str, ...] = ("input",),
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        sample_range: tuple[float, float] = (-1.0, 1.0),
        sample_inputs: Callable[[Batch, torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn
        self.inputs = inputs
        self.lr, self.betas = lr, betas
        self.sample_range = sample_range
        self._sample = sample_inputs

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": torch.optim.Adam(self.model.parameters(), lr=self.lr, betas=self.betas)}

    def predict(self, batch: Batch) -> torch.Tensor:
        missing = [k for k in self.inputs if k not in batch]
        if missing:
            raise KeyError(f"batch has no {missing}; it has {sorted(batch)}")
        return self.model(*[batch[k] for k in self.inputs])

    def update_loss(self, name: str, batch: Batch, out: dict[str, Any], phase: Phase) -> dict[str, torch.Tensor]:
        return {"loss": self.loss_fn(self.predict(batch), batch)}

    @torch.no_grad()
    def sample(self, batch: Batch) -> torch.Tensor:
        was = self.model.training
        self.model.eval()
        pred = self.predict(batch)
        self.model.train(was)
        return self._sample(batch, pred) if self._sample else pred
