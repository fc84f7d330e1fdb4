"""A batch stream that is a pure function of (seed, step): the key to exact resume.

Ordinary ``DataLoader(shuffle=True)`` ties the order of samples to the state of an iterator that a
checkpoint cannot capture. Here the global stream of samples is fixed by the seed: epoch ``e`` is a
permutation drawn from a generator seeded with ``(seed, e)``, and every sample also gets its own
seed for random augmentation. Resuming at step ``s`` simply starts the stream at sample
``s * global_batch``; the result is bit-identical to never having stopped, with or without worker
processes, and it splits cleanly across distributed ranks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import Dataset, Sampler


class StepSampler(Sampler):
    """Infinite sampler yielding ``(index, sample_seed)`` pairs.

    Args:
        length: number of items in the dataset (> 0).
        batch_size: items per batch *on this rank*.
        seed: fixes the order of the whole stream.
        start_step: the first batch to produce (resume point).
        start_sample: alternatively, the position in the global sample stream to start at.
        rank, world_size: this process's share of each global batch (distributed training):
            rank ``r`` takes items ``[r * batch_size, (r + 1) * batch_size)`` of every global batch
            of ``world_size * batch_size`` items.
    """

    def __init__(
        self,
        length: int,
        batch_size: int,
        seed: int = 0,
        start_step: int = 0,
        rank: int = 0,
        world_size: int = 1,
        start_sample: int | None = None,
    ) -> None:
        if length <= 0:
            raise ValueError("the dataset is empty: it has 0 items, so there is nothing to train on.")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size={world_size}), got {rank}")
        self.length, self.batch_size, self.seed = length, batch_size, seed
        self.start_step, self.rank, self.world_size = start_step, rank, world_size
        self.start_sample = start_sample

    def _epoch(self, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        order = torch.randperm(self.length, generator=g)
        seeds = torch.randint(0, 2**62, (self.length,), generator=g)
        return order, seeds

    def __iter__(self) -> Iterator[tuple[int, int]]:
        global_batch = self.batch_size * self.world_size
        # Position in the global stream. Resuming with another number of processes passes the
        # number of samples already seen, which does not depend on how they were split.
        position = self.start_sample if self.start_sample is not None else self.start_step * global_batch
        epoch, offset = divmod(position, self.length)
        order, seeds = self._epoch(epoch)
        while True:
            in_batch = position % global_batch
            if self.rank * self.batch_size <= in_batch < (self.rank + 1) * self.batch_size:
                yield int(order[offset]), int(seeds[offset])
            position += 1
            offset += 1
            if offset == self.length:
                epoch, offset = epoch + 1, 0
                order, seeds = self._epoch(epoch)

    def __len__(self) -> int:  # pragma: no cover - infinite; DataLoader only needs it for len()
        raise TypeError("StepSampler is infinite")


class SeededItems(Dataset):
    """Wraps a dataset so that item ``(index, seed)`` is computed with torch's RNG seeded by ``seed``.

    Random augmentation written with torch's RNG (``torch.rand``, ``torchvision.transforms.v2``)
    thus becomes reproducible per sample, independent of worker processes and of resuming.
    The global RNG of the caller is left untouched.
    """

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: tuple[int, int]) -> Any:
        index, seed = key
        with torch.random.fork_rng(devices=[]):
            # Seed only the CPU generator: fork_rng(devices=[]) restores only the CPU state, and
            # torch.manual_seed would also (lazily) seed every accelerator, which costs ~10 ms per
            # item on a machine without one (it records a stack trace each time).
            torch.random.default_generator.manual_seed(seed)
            return self.dataset[index]
