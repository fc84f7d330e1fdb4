"""Normalisation layers by name, and the N(0, 0.02) initialisation of the pix2pix/CycleGAN family."""

from __future__ import annotations

from typing import TypeVar

from torch import nn

M = TypeVar("M", bound=nn.Module)

NORMS = ("batch", "instance", "none")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """``"batch"``: BatchNorm2d; ``"instance"``: InstanceNorm2d without affine parameters or running
    statistics (as pix2pix/CycleGAN use it); ``"none"``: identity."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")


def conv_bias(kind: str) -> bool:
    """Whether a conv before this normalisation needs a bias (batch norm's shift makes it redundant)."""
    if kind not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")
    return kind != "batch"


def init_weights(module: M, gain: float = 0.02) -> M:
    """Initialise conv/linear weights from N(0, gain) and biases to 0; norm scales from N(1, gain).

    The initialisation of DCGAN, pix2pix and CycleGAN (``init_type='normal'``, ``init_gain=0.02``).
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return module
