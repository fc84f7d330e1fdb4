"""One evaluation for every inpainting method: L1, PSNR and SSIM *inside the holes* on a fixed held-out set.

Lectures 08-10 and the capstone (lecture 12) compare methods with exactly this code::

    from course_lib.inpainting.evaluate import held_out, compare, format_table, classical_baselines

    test = held_out(dataset, n=32)                       # fixed images + masks, [-1, 1], 1 = hole
    scores = compare({**classical_baselines(), "Global & Local": task.inpaint}, test)
    print(format_table(scores, baseline="mean colour"))
    assert_beats(scores, "Global & Local", "mean colour")

A *method* is any function ``method(masked_image, mask) -> completed`` on batches:
``masked_image`` (N, 3, H, W) in [-1, 1] with the hole set to 0 (so no method can peek at the
truth), ``mask`` (N, 1, H, W) with 1 = hole; it returns (N, 3, H, W) in [-1, 1]. The evaluation
pastes the method's hole pixels into the known image (known pixels are never judged), clamps to
[-1, 1], and measures on the [0, 1] scale:

* **L1**: mean absolute error over the hole's pixels and channels ([0, 1] scale, lower is better);
* **PSNR**: ``10 log10(1 / MSE)`` with the MSE over the hole (dB, higher is better);
* **SSIM**: the mean of the SSIM map (11x11 Gaussian windows, as scikit-image) over windows
  centred on hole pixels at least 5 px from the border (higher is better).

Each is computed per image and averaged over the set.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
from torch.utils.data import Dataset, default_collate

from course_lib import metrics
from course_lib.inpainting.common import check_image_mask, composite

Method = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class Scores:
    """The result of :func:`evaluate` for one method: means over the set, and per-image values."""

    l1: float
    psnr: float
    ssim: float
    seconds_per_image: float
    per_image: dict[str, torch.Tensor] = field(default_factory=dict)
    outputs: torch.Tensor | None = None

    def as_dict(self) -> dict[str, float]:
        return {"l1": self.l1, "psnr": self.psnr, "ssim": self.ssim}


def held_out(dataset: Dataset, n: int = 32, start: int = 0) -> dict[str, torch.Tensor]:
    """A fixed evaluation batch: items ``start .. start + n - 1`` of a dataset of ``{"image", "mask"}``.

    Use a dataset with another seed than the training data (held-out images *and* masks). Every
    mask must have a hole and must not cover the whole image.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if len(dataset) < start + n:  # type: ignore[arg-type]
        raise ValueError(f"the dataset has {len(dataset)} items, fewer than start + n = {start + n}")  # type: ignore[arg-type]
    batch = default_collate([dataset[i] for i in range(start, start + n)])
    if not isinstance(batch, dict) or "image" not in batch or "mask" not in batch:
        raise ValueError("the dataset's items must be dicts with 'image' and 'mask' (e.g. MaskedImages)")
    check_image_mask(batch["image"], batch["mask"], allow_empty=False)
    return {"image": batch["image"], "mask": batch["mask"]}


def _check_range(images: torch.Tensor) -> None:
    lo, hi = float(images.min()), float(images.max())
    if lo < -1.001 or hi > 1.001:
        raise ValueError(f"evaluation images must be in [-1, 1], found values in [{lo:.3g}, {hi:.3g}]: "
                         "convert [0, 1] images with x * 2 - 1")


def _ssim_in_holes(pred01: torch.Tensor, truth01: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    try:
        return metrics.ssim(pred01, truth01, (0, 1), mask=mask)
    except ValueError:  # some hole lies entirely within 5 px of the border: no SSIM window centred in it
        out = torch.full((pred01.shape[0],), float("nan"))
        for i in range(pred01.shape[0]):
            try:
                out[i] = metrics.ssim(pred01[i:i + 1], truth01[i:i + 1], (0, 1), mask=mask[i:i + 1])[0]
            except ValueError:
                pass
        return out


def evaluate(method: Method, data: Mapping[str, torch.Tensor], batch_size: int = 16,
             keep_outputs: bool = True) -> Scores:
    """Run ``method`` on ``data`` (from :func:`held_out`) and measure it inside the holes.

    Returns :class:`Scores` (means, per-image tensors, the completed images if ``keep_outputs``).
    Images whose hole lies entirely within 5 px of the border get no SSIM (NaN, left out of the mean).
    """
    images, masks, _ = check_image_mask(data["image"], data["mask"], allow_empty=False)
    _check_range(images)
    outputs = []
    start = time.perf_counter()
    for i in range(0, images.shape[0], batch_size):
        img, m = images[i:i + batch_size], masks[i:i + batch_size]
        with torch.no_grad():
            out = method(img * (1 - m), m)
        if not isinstance(out, torch.Tensor) or out.shape != img.shape:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(f"the method must return a tensor of shape {tuple(img.shape)}, got {got}")
        outputs.append(composite(img, m, out.detach().float().cpu().clamp(-1, 1)))
    seconds = (time.perf_counter() - start) / images.shape[0]
    completed = torch.cat(outputs)
    pred01, truth01 = (completed + 1) / 2, (images + 1) / 2
    per_image = {
        "l1": metrics.l1(pred01, truth01, masks),
        "psnr": metrics.psnr(pred01, truth01, (0, 1), mask=masks),
        "ssim": _ssim_in_holes(pred01, truth01, masks),
    }
    return Scores(l1=float(per_image["l1"].mean()), psnr=float(per_image["psnr"].mean()),
                  ssim=float(per_image["ssim"].nanmean()), seconds_per_image=seconds, per_image=per_image,
                  outputs=completed if keep_outputs else None)


def compare(methods: Mapping[str, Method], data: Mapping[str, torch.Tensor], batch_size: int = 16) -> dict[str, Scores]:
    """:func:`evaluate` for each named method, in order."""
    if not methods:
        raise ValueError("methods is empty: pass a dict name -> method(masked_image, mask)")
    return {name: evaluate(fn, data, batch_size) for name, fn in methods.items()}


def format_table(scores: Mapping[str, Scores], baseline: str | None = None, title: str = "") -> str:
    """A plain-text table of L1 / PSNR / SSIM inside the holes (and the change vs ``baseline``)."""
    if baseline is not None and baseline not in scores:
        raise KeyError(f"baseline {baseline!r} is not among the methods {list(scores)}")
    width = max(len(n) for n in scores) + 2
    lines = [title] if title else []
    header = f"{'method':<{width}}{'L1 (0-1) v':>12}{'PSNR dB ^':>11}{'SSIM ^':>9}{'s/image':>9}"
    if baseline is not None:
        header += f"   vs {baseline}"
    lines += [header, "-" * len(header)]
    for name, s in scores.items():
        row = f"{name:<{width}}{s.l1:>12.4f}{s.psnr:>11.2f}{s.ssim:>9.3f}{s.seconds_per_image:>9.3f}"
        if baseline is not None and name != baseline:
            b = scores[baseline]
            row += f"   L1 {s.l1 - b.l1:+.4f}, PSNR {s.psnr - b.psnr:+.2f}"
        lines.append(row)
    return "\n".join(lines)


def beats(scores: Mapping[str, Scores], method: str, baseline: str = "mean colour") -> bool:
    """Whether ``method`` has a lower L1 *and* a higher PSNR than ``baseline`` inside the holes."""
    s, b = scores[method], scores[baseline]
    return s.l1 < b.l1 and s.psnr > b.psnr


def assert_beats(scores: Mapping[str, Scores], method: str, baseline: str = "mean colour") -> None:
    """Raise ``AssertionError`` with both numbers unless ``method`` beats ``baseline`` (see :func:`beats`)."""
    if not beats(scores, method, baseline):
        s, b = scores[method], scores[baseline]
        raise AssertionError(f"{method} does not beat {baseline} inside the holes: L1 {s.l1:.4f} vs {b.l1:.4f}, "
                             f"PSNR {s.psnr:.2f} vs {b.psnr:.2f} dB")


def high_frequency_energy(
    images: torch.Tensor, mask: torch.Tensor, margin: int = 2, ignore_period_2: bool = False
) -> torch.Tensor:
    """Sharpness inside the holes: mean |Laplacian| per image over hole pixels ``margin`` px from the hole's edge.

    ``images`` (N, C, H, W) in [-1, 1], ``mask`` (N, 1, H, W) 1 = hole. The 4-neighbour Laplacian
    ``4 x(p) - sum of neighbours`` responds to edges and texture; a blurry fill scores low, the true
    image's texture high. The hole's border band is left out so the seam between fill and context
    does not count. Returns (N,); compare a method's value with the truth's.

    The Laplacian responds most to period-2 patterns, so the plain measure also counts artefacts as
    detail, notably the checkerboard that stride-2 transposed convolutions leave (Odena et al.,
    "Deconvolution and Checkerboard Artifacts", Distill 2016). ``ignore_period_2=True`` first
    averages every 2x2 block (a box filter with stride 1): that maps *any* pattern of period 2 in
    both directions (checkerboard, one-pixel stripes) to a constant, which the Laplacian ignores, so
    only structure coarser than 2 px is counted.
    """
    images, masks, _ = check_image_mask(images, mask, allow_empty=False)
    x = images
    inner = -torch.nn.functional.max_pool2d(-masks, 2 * margin + 1, 1, margin) if margin > 0 else masks
    if ignore_period_2:
        x = torch.nn.functional.avg_pool2d(x, 2, 1)
        inner = -torch.nn.functional.max_pool2d(-inner, 2, 1)  # a filtered pixel counts if its 4 sources do
    lap = 4 * x[..., 1:-1, 1:-1] - x[..., :-2, 1:-1] - x[..., 2:, 1:-1] - x[..., 1:-1, :-2] - x[..., 1:-1, 2:]
    inner = inner[..., 1:-1, 1:-1]
    if bool((inner.flatten(1).sum(1) == 0).any()):
        raise ValueError(f"a hole is too thin to keep any pixel {margin} px away from its edge: lower margin")
    return (lap.abs() * inner).flatten(1).sum(1) / (inner.flatten(1).sum(1) * x.shape[1])


def classical_baselines(patchmatch: bool = True, biharmonic: bool = True, **patchmatch_kwargs) -> dict[str, Method]:
    """The course's non-learned methods as evaluation methods: mean colour, biharmonic, PatchMatch."""
    from course_lib.inpainting.blending import biharmonic_inpaint, mean_fill
    from course_lib.inpainting.patchmatch import inpaint_patchmatch

    methods: dict[str, Method] = {"mean colour": mean_fill}
    if biharmonic:
        methods["biharmonic"] = biharmonic_inpaint
    if patchmatch:
        methods["PatchMatch"] = lambda image, mask: inpaint_patchmatch(image, mask, **patchmatch_kwargs)
    return methods


def show_comparison(scores: Mapping[str, Scores], data: Mapping[str, torch.Tensor], indices: list[int] | None = None,
                    scale: float = 1.6, suptitle: str | None = None):
    """A figure: masked input | each method's completion | truth, one held-out image per row.

    ``scores`` from :func:`compare` (with ``outputs`` kept), ``data`` from :func:`held_out`. Each
    column's title holds the method's in-hole L1 and PSNR averaged over the *whole* set, each
    image the L1 / PSNR of that image. Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    from course_lib.viz import to_numpy_image

    missing = [name for name, s in scores.items() if s.outputs is None]
    if missing:
        raise ValueError(f"no outputs kept for {missing}: run evaluate(..., keep_outputs=True)")
    indices = list(range(min(4, data["image"].shape[0]))) if indices is None else list(indices)
    images, masks = data["image"], data["mask"]
    outputs = {n: s.outputs for n, s in scores.items() if s.outputs is not None}  # all of them (checked above)
    columns: list[tuple[str, torch.Tensor, Scores | None]] = [
        ("masked input", images * (1 - masks), None), *((n, outputs[n], s) for n, s in scores.items()),
        ("truth", images, None)]
    fig, axes = plt.subplots(len(indices), len(columns), figsize=(scale * len(columns), scale * len(indices) + 0.6),
                             squeeze=False)
    for c, (name, batch, s) in enumerate(columns):
        title = name if s is None else f"{name}\nL1 {s.l1:.3f}, {s.psnr:.1f} dB"
        axes[0, c].set_title(title, fontsize=8)
        for r, i in enumerate(indices):
            ax = axes[r, c]
            ax.imshow(to_numpy_image(batch[i], (-1, 1)), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if s is not None:
                ax.set_xlabel(f"{float(s.per_image['l1'][i]):.3f}, {float(s.per_image['psnr'][i]):.1f} dB", fontsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    fig.tight_layout()
    return fig
