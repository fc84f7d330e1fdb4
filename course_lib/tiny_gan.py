"""A GAN in one page: a small DCGAN (Radford et al. 2016) for 16x16 images.

Lecture 00 prints this file: it is the whole recipe that pix2pix, CycleGAN and the inpainting GANs
elaborate. The generator G maps noise z to an image; the discriminator D outputs a logit
("real" > 0). Each iteration the course's :class:`~course_lib.train.Trainer`

1. draws z and computes ``fake = G(z)`` once (:meth:`TinyGANTask.forward_step`);
2. updates D to call real images real and ``fake.detach()`` fake (detached: this step must not
   change G);
3. updates G so that D calls ``fake`` real (D is frozen during this step).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from course_lib.losses import discriminator_loss, generator_loss
from course_lib.train.loop import Phase, TrainingTask


class TinyGenerator(nn.Module):
    """z (N, z_dim) -> image (N, 3, 16, 16) in [-1, 1]: 4x4 -> 8x8 -> 16x16 by transposed convs."""

    def __init__(self, z_dim: int = 32, width: int = 64) -> None:
        super().__init__()
        self.z_dim, self.width = z_dim, width
        self.project = nn.Linear(z_dim, width * 4 * 4)
        self.net = nn.Sequential(
            nn.BatchNorm2d(width), nn.ReLU(True),
            nn.ConvTranspose2d(width, width // 2, 4, 2, 1), nn.BatchNorm2d(width // 2), nn.ReLU(True),  # 8x8
            nn.ConvTranspose2d(width // 2, width // 4, 4, 2, 1), nn.BatchNorm2d(width // 4), nn.ReLU(True),  # 16x16
            nn.Conv2d(width // 4, 3, 3, 1, 1), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.project(z).view(-1, self.width, 4, 4))


class TinyDiscriminator(nn.Module):
    """image (N, 3, 16, 16) -> logit (N,): 16 -> 8 -> 4 -> 1 by strided convs."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, width, 4, 2, 1), nn.LeakyReLU(0.2, True),  # 8x8
            nn.Conv2d(width, width * 2, 4, 2, 1), nn.BatchNorm2d(width * 2), nn.LeakyReLU(0.2, True),  # 4x4
            nn.Conv2d(width * 2, 1, 4, 1, 0),  # 1x1
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


class TinyGANTask(TrainingTask):
    """The training recipe of the tiny GAN (see the module docstring). Batches are (N, 3, 16, 16) in [-1, 1]."""

    def __init__(self, z_dim: int = 32, lr: float = 2e-4, mode: str = "vanilla") -> None:
        super().__init__()
        self.G, self.D = TinyGenerator(z_dim), TinyDiscriminator()
        self.lr, self.mode = lr, mode
        self.register_buffer("fixed_z", torch.randn(16, z_dim, generator=torch.Generator().manual_seed(0)))

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        betas = (0.5, 0.999)  # DCGAN's momentum: 0.9 makes GAN training oscillate
        return {"D": torch.optim.Adam(self.D.parameters(), self.lr, betas=betas),
                "G": torch.optim.Adam(self.G.parameters(), self.lr, betas=betas)}

    def forward_step(self, real: torch.Tensor, phase: Phase) -> dict[str, Any]:
        z = torch.randn(real.shape[0], self.G.z_dim, device=real.device)
        return {"fake": self.G(z)}

    def update_loss(self, name: str, real: torch.Tensor, out: dict[str, Any], phase: Phase) -> dict[str, torch.Tensor]:
        fake = out["fake"]
        if name == "D":
            return {"loss": discriminator_loss(self.D(real), self.D(fake.detach()), self.mode)}
        return {"loss": generator_loss(self.D(fake), self.mode)}

    @torch.no_grad()
    def sample(self, batch: Any = None) -> torch.Tensor:
        was = self.G.training
        self.G.eval()
        images = self.G(self.fixed_z)
        self.G.train(was)
        return images
