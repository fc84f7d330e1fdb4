"""Multi-GPU / multi-node training with ``torchrun`` and DistributedDataParallel.

Launch any training command with ``torchrun`` and the :class:`~course_lib.train.Trainer` notices
(``WORLD_SIZE`` > 1 in the environment): it joins the process group (NCCL on GPUs, gloo on CPU),
gives each process its share of every batch, averages gradients, and lets only rank 0 log, show
progress and write checkpoints::

    torchrun --nproc_per_node=4 -m course_lib.train pix2pix --preset paper --data facades

How the gradients are averaged. A GAN iteration has several *updates* (D, then G), and each runs
its networks more than once (D on the real and on the fake batch). DDP synchronises the gradients
of the parameters it wraps once per backward pass, so the trainer builds one DDP wrapper *per
update*, around that update's loss computation, holding exactly that update's parameters. Each
update's backward pass then all-reduces its own gradients, as single-network DDP training does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job (``world_size == 1`` when not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_env() -> DistInfo:
    """Read ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (set by ``torchrun``)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    return DistInfo(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))


def init(info: DistInfo, device: torch.device) -> None:
    """Join the process group (once); NCCL for CUDA devices, gloo otherwise."""
    if not info.enabled or dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend, rank=info.rank, world_size=info.world_size)


def device_for(info: DistInfo, requested: str | torch.device | None) -> str | torch.device | None:
    """On a multi-GPU job each process uses the GPU of its local rank."""
    if info.enabled and requested is None and torch.cuda.is_available():
        torch.cuda.set_device(info.local_rank)
        return torch.device("cuda", info.local_rank)
    return requested


class UpdateStep(nn.Module):
    """``forward(batch, out, phase)`` = ``task.update_loss(name, ...)``: the unit DDP wraps."""

    def __init__(self, task: nn.Module, name: str) -> None:
        super().__init__()
        self.task, self.name = task, name

    def forward(self, batch: Any, out: dict[str, Any], phase: Any) -> dict[str, torch.Tensor]:
        return self.task.update_loss(self.name, batch, out, phase)  # type: ignore[operator]


def wrap_update(task: nn.Module, name: str, device: torch.device) -> nn.Module:
    """DDP around one update; call it while only that update's parameters require gradients."""
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    # broadcast_buffers=False: batch-norm statistics stay per process (use sync_batchnorm to share
    # them); the parameters themselves are broadcast from rank 0 when the wrapper is built.
    return DistributedDataParallel(UpdateStep(task, name), device_ids=ids, broadcast_buffers=False)


def all_reduce_mean(values: dict[str, torch.Tensor], info: DistInfo) -> dict[str, torch.Tensor]:
    """Average logged values across processes (one collective for all of them)."""
    if not info.enabled or not values:
        return values
    keys = sorted(values)
    stacked = torch.stack([values[k].float() for k in keys])
    dist.all_reduce(stacked)
    stacked /= info.world_size
    return dict(zip(keys, stacked.unbind()))


def barrier(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.barrier()
