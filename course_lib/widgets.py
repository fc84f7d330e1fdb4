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
