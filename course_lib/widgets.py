"""Interactive explorers built from core ipywidgets (the API shared by ipywidgets 7.7 and 8).

Each explorer only wires sliders to a plain, tested function of course_lib and draws its result;
the ``last`` attribute holds the most recent result, so tests can drive the sliders headlessly.
Without a widget front end (a static page, CI), call the drawing function directly.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from course_lib.receptive_field import Exploration, explore


def draw_exploration(ex: Exploration, ax: Any = None) -> plt.Figure:
    """Heatmap of the effective receptive field with the analytic field's square drawn on top."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.2, 4.2))
    else:
        fig = ax.figure
    heat = ex.empirical.heatmap
    ax.imshow(np.sqrt(heat), cmap="magma", interpolation="nearest")
    row, col = ex.empirical.position
    top, left, bottom, right = ex.empirical.bbox
    ax.add_patch(plt.Rectangle((left - 0.5, top - 0.5), right - left + 1, bottom - top + 1,
                               fill=False, edgecolor="cyan", linewidth=1.2))
    reached = float((heat[top:bottom + 1, left:right + 1] > 0).mean())
    size = ex.analytic.size
    ax.set_title(
        f"analytic RF {size:g} px | measured {ex.empirical.size[0]}x{ex.empirical.size[1]}\n"
        f"{100 * reached:.0f}% of the pixels inside are reached" + (" (clipped)" if ex.clipped else ""),
        fontsize=9,
    )
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    return fig


class ReceptiveFieldExplorer:
    """Sliders for kernel size, dilation, depth and stride of a conv stack.

    Shows the analytic receptive field and the measured (effective) one side by side; see
    :func:`course_lib.receptive_field.explore`.
    """

    def __init__(self, kernel_size: int = 3, dilation: int = 1, depth: int = 3, stride: int = 1) -> None:
        import ipywidgets as w
        from IPython.display import display

        style = {"description_width": "70px"}
        self.sliders = {
            "kernel_size": w.IntSlider(kernel_size, min=1, max=7, description="kernel", style=style, continuous_update=False),
            "dilation": w.IntSlider(dilation, min=1, max=8, description="dilation", style=style, continuous_update=False),
            "depth": w.IntSlider(depth, min=1, max=6, description="depth", style=style, continuous_update=False),
            "stride": w.IntSlider(stride, min=1, max=3, description="stride", style=style, continuous_update=False),
        }
        self.last: Exploration | None = None
        self.error: str | None = None
        self.out = w.Output()

        def update(kernel_size: int, dilation: int, depth: int, stride: int) -> None:
            try:
                self.last, self.error = explore(kernel_size, dilation, depth, stride), None
            except ValueError as exc:  # a field larger than the explorer's canvas
                self.last, self.error = None, str(exc)
            with self.out:
                self.out.clear_output(wait=True)
                if self.error:
                    print(self.error)
                else:
                    fig = draw_exploration(self.last)
                    display(fig)
                    plt.close(fig)

        self._update = update
        self.widget = w.VBox([w.HBox(list(self.sliders.values())[:2]), w.HBox(list(self.sliders.values())[2:]),
                              w.interactive_output(update, self.sliders), self.out])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


# ----------------------------------------------------------------------------- matting (lecture 11)
def draw_fade(fg: Any, bg: Any, alpha: Any, opacity: float, ax: Any = None) -> plt.Figure:
    """Foreground, matte and the composite at ``opacity`` (see :func:`course_lib.matting.compositing.fade`)."""
    from course_lib.matting.compositing import fade

    out = fade(fg, bg, alpha, opacity)
    if ax is None:
        fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.8))
    else:
        fig, axes = ax[0].figure, ax
    panels = [(fg * alpha, "foreground (alpha x F)"), (alpha * opacity, f"matte x {opacity:.2f}"), (out, "composite")]
    for a, (img, title) in zip(axes, panels):
        arr = img.permute(1, 2, 0).clamp(0, 1).numpy()
        a.imshow(arr[..., 0] if arr.shape[-1] == 1 else arr, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        a.set_title(title, fontsize=9)
        a.set_xticks([])
        a.set_yticks([])
    fig.tight_layout()
    return fig


class CompositingExplorer:
    """A slider that fades a matted foreground in over a background: C = (o a) F + (1 - o a) B.

    ``fg``, ``bg``: (3, H, W) in [0, 1]; ``alpha``: (1, H, W). ``last`` holds the latest composite.
    """

    def __init__(self, fg: Any, bg: Any, alpha: Any, opacity: float = 1.0) -> None:
        import ipywidgets as w
        from IPython.display import display

        from course_lib.matting.compositing import fade

        self.slider = w.FloatSlider(opacity, min=0.0, max=1.0, step=0.05, description="opacity",
                                    continuous_update=False)
        self.sliders = {"opacity": self.slider}
        self.last = None
        self.out = w.Output()

        def update(opacity: float) -> None:
            self.last = fade(fg, bg, alpha, opacity)
            with self.out:
                self.out.clear_output(wait=True)
                fig = draw_fade(fg, bg, alpha, opacity)
                display(fig)
                plt.close(fig)

        self.widget = w.VBox([self.slider, w.interactive_output(update, self.sliders), self.out])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def draw_trimap_study(image: Any, alpha: Any, study: Any, ax: Any = None) -> plt.Figure:
    """Image, trimap and the nearest-known baseline of a :class:`~course_lib.matting.trimap.TrimapStudy`."""
    if ax is None:
        fig, axes = plt.subplots(1, 4, figsize=(10, 2.9))
    else:
        fig, axes = ax[0].figure, ax
    panels = [(image, "image"), (alpha, "true alpha"),
              (study.trimap, f"trimap, radius {study.radius}\n{100 * study.unknown_fraction:.0f}% unknown"),
              (study.baseline, f"nearest-known baseline\nSAD {study.sad_nearest:.3f} (0.5-fill {study.sad_half:.3f})")]
    for a, (img, title) in zip(axes, panels):
        arr = img.permute(1, 2, 0).clamp(0, 1).numpy()
        a.imshow(arr[..., 0] if arr.shape[-1] == 1 else arr, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        a.set_title(title, fontsize=9)
        a.set_xticks([])
        a.set_yticks([])
    fig.tight_layout()
    return fig


class TrimapExplorer:
    """A slider for the trimap's band width (erosion radius); shows what the band leaves to estimate.

    ``image``: (3, H, W); ``alpha``: (1, H, W) ground truth. ``last`` holds the latest
    :class:`~course_lib.matting.trimap.TrimapStudy`.
    """

    def __init__(self, image: Any, alpha: Any, radius: int = 3, max_radius: int = 12) -> None:
        import ipywidgets as w
        from IPython.display import display

        from course_lib.matting.trimap import trimap_study

        self.slider = w.IntSlider(radius, min=0, max=max_radius, description="radius", continuous_update=False)
        self.sliders = {"radius": self.slider}
        self.last = None
        self.out = w.Output()

        def update(radius: int) -> None:
            self.last = trimap_study(alpha, radius)
            with self.out:
                self.out.clear_output(wait=True)
                fig = draw_trimap_study(image, alpha, self.last)
                display(fig)
                plt.close(fig)

        self.widget = w.VBox([self.slider, w.interactive_output(update, self.sliders), self.out])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


# --------------------------------------------------------------------------- style transfer (topics 02-03)
def _show_tensor(image: Any, title: str) -> plt.Figure:
    """One (1, 3, H, W) or (3, H, W) image in [0, 1], with a title."""
    from course_lib.viz import show_images

    return show_images(image, (0, 1), titles=[title], scale=3.2)


class _ImageExplorer:
    """Shared wiring: sliders -> ``compute(**values)`` -> (image, title) drawn in an Output widget."""

    def __init__(self, sliders: dict[str, Any]) -> None:
        import ipywidgets as w

        self.sliders = sliders
        self.last: Any = None
        self.out = w.Output()

        def update(**values: Any) -> None:
            self.last, title = self.compute(**values)
            with self.out:
                from IPython.display import display

                self.out.clear_output(wait=True)
                fig = _show_tensor(self.image(), title)
                display(fig)
                plt.close(fig)

        self.widget = w.VBox([w.HBox(list(sliders.values())), w.interactive_output(update, sliders), self.out])

    def compute(self, **values: Any) -> tuple[Any, str]:
        raise NotImplementedError

    def image(self) -> Any:
        return self.last

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


class StyleWeightExplorer(_ImageExplorer):
    """A slider over log10(beta / alpha) showing a precomputed :class:`course_lib.style.gatys.WeightSweep`.

    ``last`` is the index of the result shown.
    """

    def __init__(self, sweep: Any, start: int | None = None) -> None:
        import ipywidgets as w

        self.sweep = sweep
        logs = [float(np.log10(r)) for r in sweep.ratios]
        step = min(np.diff(logs)) if len(logs) > 1 else 1.0
        index = len(logs) // 2 if start is None else start
        slider = w.FloatSlider(logs[index], min=min(logs), max=max(logs), step=float(step),
                               description="log10 b/a", continuous_update=False, readout_format=".1f")
        super().__init__({"log10_ratio": slider})

    def compute(self, log10_ratio: float) -> tuple[int, str]:
        i = self.sweep.nearest(log10_ratio)
        s = self.sweep
        return i, (f"style/content weight {s.ratios[i]:.2g}\ncontent loss {s.content_losses[i]:.3g}, "
                   f"style loss {s.style_losses[i]:.3g}")

    def image(self) -> Any:
        return self.sweep.images[self.last]


class AdaINExplorer(_ImageExplorer):
    """Sliders for AdaIN's content-style trade-off ``alpha`` and the mix between two styles.

    Computes :func:`course_lib.style.adain.stylise_mix`; ``last`` is the (1, 3, H, W) result.
    """

    def __init__(self, net: Any, content: Any, style_a: Any, style_b: Any, alpha: float = 1.0, mix: float = 0.0) -> None:
        import ipywidgets as w

        self.net, self.content, self.style_a, self.style_b = net, content, style_a, style_b
        super().__init__({
            "alpha": w.FloatSlider(alpha, min=0.0, max=1.0, step=0.1, description="alpha", continuous_update=False),
            "mix": w.FloatSlider(mix, min=0.0, max=1.0, step=0.1, description="style A->B", continuous_update=False),
        })

    def compute(self, alpha: float, mix: float) -> tuple[Any, str]:
        from course_lib.style.adain import stylise_mix

        out = stylise_mix(self.net, self.content, self.style_a, self.style_b, alpha=alpha, mix=mix)
        return out, f"alpha = {alpha:.1f}, style = {1 - mix:.1f} A + {mix:.1f} B"


class CINExplorer(_ImageExplorer):
    """A slider mixing two styles of a conditional-instance-norm network (their gamma and beta).

    Computes :func:`course_lib.style.cin.stylise_mix`; ``last`` is the (1, 3, H, W) result.
    """

    def __init__(self, net: Any, content: Any, style_a: int = 0, style_b: int = 1, mix: float = 0.5) -> None:
        import ipywidgets as w

        self.net, self.content = net, content
        n = net.n_styles
        super().__init__({
            "style_a": w.IntSlider(style_a, min=0, max=n - 1, description="style A", continuous_update=False),
            "style_b": w.IntSlider(style_b, min=0, max=n - 1, description="style B", continuous_update=False),
            "mix": w.FloatSlider(mix, min=0.0, max=1.0, step=0.1, description="A->B", continuous_update=False),
        })

    def compute(self, style_a: int, style_b: int, mix: float) -> tuple[Any, str]:
        from course_lib.style.cin import stylise_mix

        out = stylise_mix(self.net, self.content, style_a, style_b, mix)
        return out, f"{1 - mix:.1f} x style {style_a} + {mix:.1f} x style {style_b}"


# --------------------------------------------------------------------------- MUNIT style codes (lecture 07)
class StyleCodeExplorer:
    """Sliders over the style code of a trained MUNIT: one input image, the output for the chosen style.

    Each slider sets one of the ``style_dim`` numbers of the style code (the prior is N(0, 1), so
    -3..3 covers almost all of it); the computation is
    :func:`course_lib.translation.munit.decode_with_style`. ``last`` holds the latest output,
    (C, H, W) in [-1, 1].

    Args:
        task: a trained :class:`~course_lib.translation.munit.MUNITTask`.
        image: (C, H, W) input in [-1, 1] from the source domain of ``direction``.
        direction: ``"AtoB"`` or ``"BtoA"``.
        style: starting style code (default: zeros, the prior's mean).
    """

    def __init__(self, task: Any, image: Any, direction: str = "AtoB", style: Any = None) -> None:
        import ipywidgets as w
        import torch
        from IPython.display import display

        from course_lib.translation.munit import decode_with_style
        from course_lib.viz import to_numpy_image

        start = torch.zeros(task.style_dim) if style is None else torch.as_tensor(style, dtype=torch.float32).flatten()
        if start.numel() != task.style_dim:
            raise ValueError(f"style must have {task.style_dim} numbers, got {start.numel()}")
        self.sliders = {
            f"s{k}": w.FloatSlider(float(start[k]), min=-3.0, max=3.0, step=0.1, description=f"style[{k}]",
                                   style={"description_width": "60px"}, continuous_update=False)
            for k in range(task.style_dim)
        }
        self.last: Any = None
        self.out = w.Output()

        def update(**values: float) -> None:
            code = [values[f"s{k}"] for k in range(task.style_dim)]
            self.last = decode_with_style(task, image, code, direction)
            with self.out:
                self.out.clear_output(wait=True)
                fig, axes = plt.subplots(1, 2, figsize=(4.4, 2.4))
                for ax, img, title in zip(axes, (image, self.last), ("input", "output for this style")):
                    ax.imshow(to_numpy_image(img.clamp(-1, 1), (-1, 1)), interpolation="nearest")
                    ax.set_title(title, fontsize=9)
                    ax.axis("off")
                fig.tight_layout()
                display(fig)
                plt.close(fig)

        names = list(self.sliders)
        half = (len(names) + 1) // 2
        self.widget = w.HBox([w.VBox([self.sliders[n] for n in names[:half]]),
                              w.VBox([self.sliders[n] for n in names[half:]]),
                              w.interactive_output(update, self.sliders), self.out])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
