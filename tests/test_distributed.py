"""Multi-process training (gloo on CPU): two processes on half the data each == one process on all of it."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from course_lib.data import SmoothFieldHoles
from course_lib.losses import discriminator_loss, generator_loss
from course_lib.train import TrainConfig, Trainer, TrainingTask

STEPS, GLOBAL_BATCH = 6, 8


class DeterministicCGAN(TrainingTask):
    """A conditional GAN without dropout, noise or batch norm: its training is a function of the data."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.G = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1), nn.Tanh())
        self.D = nn.Sequential(nn.Conv2d(6, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(8, 1, 4, 2, 1))

    def configure_optimizers(self):
        return {"D": torch.optim.SGD(self.D.parameters(), lr=0.05), "G": torch.optim.SGD(self.G.parameters(), lr=0.05)}

    def forward_step(self, batch, phase):
        x = torch.cat([batch["image"] * (1 - batch["mask"]), batch["mask"]], 1)
        return {"x": x, "fake": self.G(x)}

    def update_loss(self, name, batch, out, phase):
        cond = batch["image"] * (1 - batch["mask"])
        if name == "D":
            real = self.D(torch.cat([cond, batch["image"]], 1))
            fake = self.D(torch.cat([cond, out["fake"].detach()], 1))
            return {"loss": 0.5 * discriminator_loss(real, fake, "lsgan")}
        adv = generator_loss(self.D(torch.cat([cond, out["fake"]], 1)), "lsgan")
        return {"loss": adv + 10 * (out["fake"] - batch["image"]).abs().mean()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train(rank: int, world: int, port: int, out: str, steps: int, until: int | None, resume: bool) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank), OMP_NUM_THREADS="1")
    torch.set_num_threads(1)
    task = DeterministicCGAN()
    cfg = TrainConfig(steps=steps, batch_size=GLOBAL_BATCH // world, log_every=2, progress=False,
                      checkpoint_path=out + ".ckpt")
    trainer = Trainer(task, SmoothFieldHoles(64, size=16, hole=6), cfg)
    trainer.fit(resume=resume, until=until)
    if rank == 0:
        torch.save({k: v.detach().clone() for k, v in task.state_dict().items()}, out)
        torch.save(trainer.history.values, out + ".hist")
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def _run(world: int, out: Path, steps: int = STEPS, until: int | None = None, resume: bool = False) -> dict:
    mp.spawn(_train, args=(world, _free_port(), str(out), steps, until, resume), nprocs=world, join=True)
    return torch.load(out, weights_only=True)


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    return _run(1, tmp_path_factory.mktemp("one") / "w.pt")


@pytest.mark.slow
def test_two_processes_match_one(single, tmp_path):
    double = _run(2, tmp_path / "w.pt")
    for k in single:
        assert torch.allclose(single[k], double[k], atol=1e-5, rtol=1e-4), k
    assert not torch.equal(single["G.0.weight"], DeterministicCGAN().G[0].weight.detach()), "it trained"
    h1 = torch.load(tmp_path / "w.pt.hist", weights_only=True)
    assert set(h1) == {"D/loss", "G/loss"}  # rank 0 logs losses averaged over both processes


@pytest.mark.slow
def test_resume_across_world_sizes(single, tmp_path):
    _run(2, tmp_path / "w.pt", until=3)  # two processes stop at step 3 and checkpoint
    resumed = _run(1, tmp_path / "w.pt", resume=True)  # one process continues to step 6
    for k in single:
        assert torch.allclose(single[k], resumed[k], atol=1e-5, rtol=1e-4), k


def test_single_process_is_not_distributed():
    trainer = Trainer(DeterministicCGAN(), SmoothFieldHoles(8, size=16, hole=6), TrainConfig(steps=1, progress=False))
    assert not trainer.dist.enabled and trainer._ddp == {}
