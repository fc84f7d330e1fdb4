"""Image quality measures: L1, PSNR, SSIM (optionally inside a mask) and a patch-distribution distance.

All functions take batches (N, C, H, W) and the ``value_range`` of the images (``(0, 1)`` or
``(-1, 1)``), because PSNR and SSIM depend on it. They return one number per image (a (N,) tensor);
average them yourself. ``mask`` (N, 1, H, W), 1 = pixel counted, restricts the measure to a region
(e.g. the hole of an inpainting method).

SSIM follows Wang et al. 2004 with an 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03,
computed per channel and averaged, over "valid" window positions: the same numbers as
``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, channel_axis=0)``.

Every function checks its input first (see :mod:`course_lib._validate`): shapes, and for PSNR and
SSIM that the images are finite and inside ``value_range``. A wrong range does not fail loudly on
its own: 0-255 images measured with ``value_range=(0, 1)`` give PSNR -40 dB and SSIM near 0. The
check costs one reduction per image batch, which is fine here: metrics run once per evaluation,
not at every training step.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from course_lib._validate import (
    check_4d,
    check_finite,
    check_nonempty,
    check_range,
    check_tensor,
    check_value_range,
)

ValueRange = tuple[float, float]


def _check(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None, where: str = "metrics") -> None:
    """Shapes (and the mask's values): x and y (N, C, H, W) alike, mask (N, 1, H, W) selecting pixels."""
    check_4d(x, "x", where)
    check_4d(y, "y", where)
    if x.shape != y.shape:
        raise ValueError(f"{where}: x and y must have the same shape, got x {tuple(x.shape)} and y {tuple(y.shape)}; "
                         "compare each prediction with its own target")
    check_nonempty(x, "x", where)
    if mask is not None:
        check_tensor(mask, "mask", where, "an (N, 1, H, W) tensor")
        if mask.dim() != 4 or mask.shape[0] != x.shape[0] or mask.shape[1] != 1 or mask.shape[-2:] != x.shape[-2:]:
            raise ValueError(f"{where}: mask must be (N, 1, H, W) = ({x.shape[0]}, 1, {x.shape[2]}, {x.shape[3]}), "
                             f"got {tuple(mask.shape)}")
        check_range(mask, "mask", where, (0.0, 1.0), range_arg=None)
        if (mask.flatten(1).sum(1) == 0).any():
            raise ValueError(f"{where}: mask selects no pixel in at least one image")


def _check_images(x: torch.Tensor, y: torch.Tensor, value_range: ValueRange, where: str) -> ValueRange:
    """:func:`_check` for metrics that depend on the range, plus both images finite and inside it."""
    value_range = check_value_range(value_range, where)
    check_range(x, "x", where, value_range)
    check_range(y, "y", where, value_range)
    return value_range


def _as_float(x: torch.Tensor) -> torch.Tensor:
    """Integer images (e.g. uint8) as float32: their differences would wrap around in 8 bits."""
    return x if x.is_floating_point() else x.float()


def _masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Per-image mean of (N, C, H, W) values over channels and (masked) pixels."""
    if mask is None:
        return values.flatten(1).mean(1)
    m = mask.expand_as(values)
    return (values * m).flatten(1).sum(1) / m.flatten(1).sum(1)


def l1(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean absolute error per image, (N,)."""
    _check(x, y, mask, "l1")
    return _masked_mean((_as_float(x) - _as_float(y)).abs(), mask)


def mse(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error per image, (N,)."""
    _check(x, y, mask, "mse")
    return _masked_mean((_as_float(x) - _as_float(y)) ** 2, mask)


def psnr(x: torch.Tensor, y: torch.Tensor, value_range: ValueRange, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image: ``10 log10(range^2 / MSE)``, (N,)."""
    _check(x, y, mask, "psnr")
    value_range = _check_images(x, y, value_range, "psnr")
    peak = value_range[1] - value_range[0]
    err = _masked_mean((x.double() - y.double()) ** 2, None if mask is None else mask.double())
    return (10 * torch.log10(peak**2 / err.clamp_min(1e-20))).float()


def _gaussian_window(size: int = 11, sigma: float = 1.5, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    coords = torch.arange(size, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def ssim_map(x: torch.Tensor, y: torch.Tensor, value_range: ValueRange, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """SSIM at every valid window position, (N, C, H - window + 1, W - window + 1)."""
    return _ssim_map(x, y, value_range, window, sigma, "ssim_map")


def _ssim_map(x: torch.Tensor, y: torch.Tensor, value_range: ValueRange, window: int, sigma: float,
              where: str) -> torch.Tensor:
    _check(x, y, None, where)
    value_range = _check_images(x, y, value_range, where)
    if min(x.shape[-2:]) < window:
        raise ValueError(f"{where}: images must be at least {window}x{window} for SSIM, got {tuple(x.shape[-2:])}")
    c = x.shape[1]
    x, y = x.double(), y.double()
    w = _gaussian_window(window, sigma).to(x.device).expand(c, 1, window, window)
    filt = lambda t: F.conv2d(t, w, groups=c)
    peak = value_range[1] - value_range[0]
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    mu_x, mu_y = filt(x), filt(y)
    sxx = filt(x * x) - mu_x**2
    syy = filt(y * y) - mu_y**2
    sxy = filt(x * y) - mu_x * mu_y
    return ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))


def ssim(x: torch.Tensor, y: torch.Tensor, value_range: ValueRange, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean SSIM per image, (N,). With ``mask``: mean over windows centred on masked pixels."""
    _check(x, y, mask, "ssim")
    smap = _ssim_map(x, y, value_range, 11, 1.5, "ssim")
    if mask is None:
        return smap.flatten(1).mean(1).float()
    pad = (x.shape[-1] - smap.shape[-1]) // 2
    m = mask[..., pad:mask.shape[-2] - pad, pad:mask.shape[-1] - pad].double()
    if (m.flatten(1).sum(1) == 0).any():
        raise ValueError("ssim: the mask selects no pixel at least 5 px away from the border (SSIM needs an 11x11 window)")
    return _masked_mean(smap, m).float()


def sliced_wasserstein(
    x: torch.Tensor, y: torch.Tensor, patch: int = 4, projections: int = 128, seed: int = 0
) -> float:
    """Distance between the distributions of ``patch x patch`` patches of two image sets.

    Both sets' patches are projected on random directions; for each direction the sorted
    projections are compared (the 1-D Wasserstein distance), then averaged. 0 means the patch
    statistics match. Used to tell whether a generator's images *look like* the data.
    """
    where = "sliced_wasserstein"
    check_4d(x, "x", where)
    check_4d(y, "y", where)
    if x.shape[1:] != y.shape[1:]:
        raise ValueError(f"{where}: x and y must hold images of the same (C, H, W), got x {tuple(x.shape)} "
                         f"and y {tuple(y.shape)}")
    if min(x.shape[-2:]) < patch:
        raise ValueError(f"{where}: images must be at least patch x patch = {patch}x{patch}, got {tuple(x.shape[-2:])}")
    check_finite(x, "x", where)
    check_finite(y, "y", where)
    px = F.unfold(x.double(), patch, stride=patch // 2).transpose(1, 2).reshape(-1, x.shape[1] * patch * patch)
    py = F.unfold(y.double(), patch, stride=patch // 2).transpose(1, 2).reshape(-1, y.shape[1] * patch * patch)
    n = min(px.shape[0], py.shape[0])
    g = torch.Generator().manual_seed(seed)
    px = px[torch.randperm(px.shape[0], generator=g)[:n]]
    py = py[torch.randperm(py.shape[0], generator=g)[:n]]
    dirs = torch.randn(px.shape[1], projections, generator=g, dtype=torch.float64)
    dirs = dirs / dirs.norm(dim=0, keepdim=True)
    proj_x, _ = (px @ dirs).sort(dim=0)
    proj_y, _ = (py @ dirs).sort(dim=0)
    return float((proj_x - proj_y).abs().mean())


def psnr_from_mse(mse_value: float, value_range: ValueRange) -> float:
    """PSNR in dB of a mean squared error (for averaged numbers)."""
    low, high = check_value_range(value_range, "psnr_from_mse")
    try:
        value = float(mse_value)
    except (TypeError, ValueError):
        raise TypeError(f"psnr_from_mse: mse_value must be a number, got {type(mse_value).__name__}") from None
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"psnr_from_mse: mse_value must be a finite number >= 0, got {value}")
    peak = high - low
    return 10 * math.log10(peak**2 / max(value, 1e-20))
