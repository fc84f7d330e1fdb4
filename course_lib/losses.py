"""Losses shared by the course's methods.

GAN losses take the discriminator's raw outputs (*logits*, any shape; or a list of them for
multi-scale discriminators, whose losses are summed over scales as in pix2pixHD):

=========  ====================================================  ===============================
mode       discriminator loss (real r, fake f)                   generator loss (fake f)
=========  ====================================================  ===============================
vanilla    BCE(r, 1) + BCE(f, 0)   (Goodfellow et al. 2014)      BCE(f, 1) (non-saturating)
lsgan      (r - 1)^2 + f^2         (Mao et al. 2017)             (f - 1)^2
hinge      relu(1 - r) + relu(1 + f)  (Lim & Ye 2017; SN-GAN)    -f
=========  ====================================================  ===============================

Each term is a mean over its elements. ``discriminator_loss`` returns the *sum* of the real and
fake terms; pix2pix and CycleGAN halve it (``0.5 * discriminator_loss(...)``) to slow D down
relative to G, and say so where they do it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

GAN_MODES = ("vanilla", "lsgan", "hinge")
Logits = torch.Tensor | Sequence[torch.Tensor]


def _check_mode(mode: str) -> None:
    if mode not in GAN_MODES:
        raise ValueError(f"GAN mode must be one of {GAN_MODES}, got {mode!r}")


def _scales(logits: Logits) -> list[torch.Tensor]:
    if isinstance(logits, torch.Tensor):
        return [logits]
    out = [t[-1] if isinstance(t, (list, tuple)) else t for t in logits]
    if not out:
        raise ValueError("got an empty list of discriminator outputs")
    return out


def gan_loss(logits: Logits, target_is_real: bool, mode: str = "vanilla") -> torch.Tensor:
    """Loss pushing ``logits`` towards "real" (``True``) or "fake" (``False``); vanilla or lsgan.

    A list of tensors (one per discriminator scale; a nested list's last entry is used, so the
    output of a discriminator that also returns its features can be passed as is) sums the losses.
    """
    _check_mode(mode)
    if mode == "hinge":
        raise ValueError("hinge loss is not a target-based loss; use discriminator_loss/generator_loss")
    total = 0.0
    for t in _scales(logits):
        target = torch.ones_like(t) if target_is_real else torch.zeros_like(t)
        if mode == "vanilla":
            total = total + F.binary_cross_entropy_with_logits(t, target)
        else:
            total = total + F.mse_loss(t, target)
    return total  # type: ignore[return-value]


def discriminator_loss(real_logits: Logits, fake_logits: Logits, mode: str = "vanilla") -> torch.Tensor:
    """Real term + fake term (not halved). ``fake_logits`` must come from a *detached* fake."""
    _check_mode(mode)
    if mode == "hinge":
        real = sum(F.relu(1 - t).mean() for t in _scales(real_logits))
        fake = sum(F.relu(1 + t).mean() for t in _scales(fake_logits))
        return real + fake  # type: ignore[return-value]
    return gan_loss(real_logits, True, mode) + gan_loss(fake_logits, False, mode)


def generator_loss(fake_logits: Logits, mode: str = "vanilla") -> torch.Tensor:
    """The generator's adversarial loss: make D call the fake real."""
    _check_mode(mode)
    if mode == "hinge":
        return -sum(t.mean() for t in _scales(fake_logits))  # type: ignore[return-value]
    return gan_loss(fake_logits, True, mode)
