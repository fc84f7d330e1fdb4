"""Interactive explorers built from core ipywidgets (the API shared by ipywidgets 7.7 and 8).

Each explorer only wires sliders to a plain, tested function of course_lib and draws its result;
the ``last`` attribute holds the most recent result, so tests can drive the sliders headlessly.
Without a widget front end (a static page, CI), call the drawing function directly.

Displaying an explorer gives one output holding three representations of it (a mimebundle):

* the live widget (``application/vnd.jupyter.widget-view+json``);
* a still image (``image/png``): the sliders at their current values, the drawing they give, and a
  line saying how to make it live (:func:`still_image`);
* the slider values and that line as plain text (``text/plain``), instead of the widget's repr
  ``VBox(children=...``.

A front end shows the first of these it can: the live widget where widgets run (a live kernel, or
a trusted notebook with its widget state stored), the still image everywhere else (JupyterLab on a
downloaded notebook, which it does not trust; GitHub; nbviewer; the course website). So the
reader sees the explorer once, never a still image next to the live one.
"""

from __future__ import annotations

import base64
import io
import textwrap
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from course_lib.receptive_field import Exploration, explore

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: how to make an explorer live: said under its still image and in its plain-text representation
RUN_HINT = "run the notebook down to this cell to drag its sliders."
RUN_NOTE = f"Still image of an interactive explorer: {RUN_HINT}"


def readout(slider: Any) -> str:
    """A slider's value as the widget shows it (its ``readout_format``: ``d`` or ``.2f``...)."""
    try:
        return format(slider.value, getattr(slider, "readout_format", ""))
    except (TypeError, ValueError):
        return str(slider.value)


def draw_sliders(ax: Any, rows: list[list[Any]]) -> None:
    """Draw ipywidgets sliders into ``ax`` as the widget lays them out: one line of them per row,
    each as its description, a track filled up to a knob at its value, and its readout."""
    ncols = max(len(row) for row in rows)
    ax.set_xlim(0, ncols)
    ax.set_ylim(len(rows), 0)
    ax.axis("off")
    for i, row in enumerate(rows):
        y = i + 0.5
        for j, slider in enumerate(row):
            span = slider.max - slider.min
            frac = (slider.value - slider.min) / span if span else 0.0
            x0, x1 = j + 0.36, j + 0.82
            knob = x0 + frac * (x1 - x0)
            ax.text(j + 0.33, y, slider.description, ha="right", va="center", fontsize=8)
            ax.plot([x0, x1], [y, y], color="#d0d0d0", lw=3, solid_capstyle="round")
            ax.plot([x0, knob], [y, y], color="#2f7fc1", lw=3, solid_capstyle="round")
            ax.plot([knob], [y], "o", ms=7, color="white", mec="#2f7fc1", mew=1.5)
            ax.text(x1 + 0.04, y, readout(slider), ha="left", va="center", fontsize=8)


def still_image(drawing: plt.Figure, rows: list[list[Any]], note: str = RUN_NOTE, dpi: int = 100) -> bytes:
    """A PNG of an explorer: its sliders (``rows``, as in :func:`draw_sliders`) above ``drawing``
    (a figure, closed here) and ``note`` below it, in italics. Returns the PNG file's bytes."""
    buf = io.BytesIO()
    drawing.savefig(buf, format="png", dpi=dpi, facecolor="white")
    plt.close(drawing)
    buf.seek(0)
    pixels = plt.imread(buf)  # (h, w, 4) in [0, 1]
    h, w = pixels.shape[:2]
    width = max(w, int(2.3 * dpi * max(len(row) for row in rows)))  # room for every slider's label
    lines = textwrap.wrap(note, width=max(30, width // 6))  # about 6 px per character at 8 pt
    top, bottom = int(0.3 * dpi * len(rows)), int((0.12 + 0.15 * len(lines)) * dpi)
    height = top + h + bottom
    fig = plt.figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor="white")
    draw_sliders(fig.add_axes((0, (h + bottom) / height, 1, top / height)), rows)
    ax = fig.add_axes(((width - w) / 2 / width, bottom / height, w / width, h / height))
    ax.imshow(pixels, interpolation="nearest")
    ax.axis("off")
    fig.text(0.5, bottom / 2 / height, "\n".join(lines), ha="center", va="center", fontsize=8,
             style="italic", color="#555555")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    plt.close(fig)
    return buf.getvalue()


class _Explorer:
    """Shared wiring: sliders -> ``update(**values)`` (sets ``last``) -> ``figure()`` in an Output.

    Subclasses call :meth:`_connect` with their sliders and how to lay them out (rows of names).
    """

    sliders: dict[str, Any]
    last: Any

    def _connect(self, sliders: dict[str, Any], rows: list[list[str]]) -> None:
        import ipywidgets as w

        self.sliders, self._rows = sliders, rows
        self.out = w.Output()

        def update(**values: Any) -> None:
            self.update(**values)
            self._redraw()

        self.widget = w.VBox([*(w.HBox([sliders[name] for name in row]) for row in rows),
                              w.interactive_output(update, sliders), self.out])

    # ``*args: Any, **values: Any`` is mypy's spelling of "any signature": each subclass declares
    # its own keywords (its sliders' names), which a plain ``**values`` base would forbid.
    def update(self, *args: Any, **values: Any) -> None:
        """Compute the result for the sliders' ``values`` (keywords: the sliders' names) into ``last``."""
        raise NotImplementedError

    def figure(self) -> plt.Figure:
        """The drawing of the current result."""
        raise NotImplementedError

    def _redraw(self) -> None:
        from IPython.display import display

        with self.out:
            self.out.clear_output(wait=True)
            fig = self.figure()
            display(fig)
            plt.close(fig)

    def settings(self) -> str:
        """The sliders' values, e.g. ``'kernel = 3, dilation = 2'``."""
        return ", ".join(f"{s.description} = {readout(s)}" for s in self.sliders.values())

    def still_png(self) -> bytes:
        """A PNG of the explorer as it is now: sliders, drawing, and :data:`RUN_NOTE`."""
        return still_image(self.figure(), [[self.sliders[name] for name in row] for row in self._rows])

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        # The widget view is the one ipywidgets 7.7 and 8 both publish (protocol 2.0); the still
        # image and the plain text are what a front end that cannot run the widget shows instead.
        return {
            WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": self.widget.model_id},
            "image/png": base64.b64encode(self.still_png()).decode("ascii"),
            "text/plain": f"Interactive explorer ({self.settings()}): {RUN_HINT}",
        }


# ----------------------------------------------------------------------------- receptive fields (lecture 01)
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


def draw_message(text: str) -> plt.Figure:
    """A small figure holding only ``text`` (what an explorer shows for settings it cannot draw)."""
    fig, ax = plt.subplots(figsize=(4.2, 1.0))
    ax.axis("off")
    ax.text(0.5, 0.5, textwrap.fill(text, 60), ha="center", va="center", fontsize=9, transform=ax.transAxes)
    return fig


class ReceptiveFieldExplorer(_Explorer):
    """Sliders for kernel size, dilation, depth and stride of a conv stack.

    Shows the analytic receptive field and the measured (effective) one side by side; see
    :func:`course_lib.receptive_field.explore`. ``last`` is the latest
    :class:`~course_lib.receptive_field.Exploration`, or None with the reason in ``error``.
    """

    def __init__(self, kernel_size: int = 3, dilation: int = 1, depth: int = 3, stride: int = 1) -> None:
        import ipywidgets as w

        style = {"description_width": "70px"}
        self.last: Exploration | None = None
        self.error: str | None = None
        self._connect({
            "kernel_size": w.IntSlider(kernel_size, min=1, max=7, description="kernel", style=style, continuous_update=False),
            "dilation": w.IntSlider(dilation, min=1, max=8, description="dilation", style=style, continuous_update=False),
            "depth": w.IntSlider(depth, min=1, max=6, description="depth", style=style, continuous_update=False),
            "stride": w.IntSlider(stride, min=1, max=3, description="stride", style=style, continuous_update=False),
        }, [["kernel_size", "dilation"], ["depth", "stride"]])

    def update(self, kernel_size: int, dilation: int, depth: int, stride: int) -> None:
        try:
            self.last, self.error = explore(kernel_size, dilation, depth, stride), None
        except ValueError as exc:  # a field larger than the explorer's canvas
            self.last, self.error = None, str(exc)

    def figure(self) -> plt.Figure:
        if self.error:
            return draw_message(self.error)
        assert self.last is not None  # update() sets one of last and error (and runs when the sliders connect)
        return draw_exploration(self.last)


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


class CompositingExplorer(_Explorer):
    """A slider that fades a matted foreground in over a background: C = (o a) F + (1 - o a) B.

    ``fg``, ``bg``: (3, H, W) in [0, 1]; ``alpha``: (1, H, W). ``last`` holds the latest composite.
    """

    def __init__(self, fg: Any, bg: Any, alpha: Any, opacity: float = 1.0) -> None:
        import ipywidgets as w

        self.fg, self.bg, self.alpha = fg, bg, alpha
        self.last = None
        self.slider = w.FloatSlider(opacity, min=0.0, max=1.0, step=0.05, description="opacity",
                                    continuous_update=False)
        self._connect({"opacity": self.slider}, [["opacity"]])

    def update(self, opacity: float) -> None:
        from course_lib.matting.compositing import fade

        self.last = fade(self.fg, self.bg, self.alpha, opacity)

    def figure(self) -> plt.Figure:
        return draw_fade(self.fg, self.bg, self.alpha, self.slider.value)


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


class TrimapExplorer(_Explorer):
    """A slider for the trimap's band width (erosion radius); shows what the band leaves to estimate.

    ``image``: (3, H, W); ``alpha``: (1, H, W) ground truth. ``last`` holds the latest
    :class:`~course_lib.matting.trimap.TrimapStudy`.
    """

    def __init__(self, image: Any, alpha: Any, radius: int = 3, max_radius: int = 12) -> None:
        import ipywidgets as w

        self.image, self.alpha = image, alpha
        self.last = None
        self.slider = w.IntSlider(radius, min=0, max=max_radius, description="radius", continuous_update=False)
        self._connect({"radius": self.slider}, [["radius"]])

    def update(self, radius: int) -> None:
        from course_lib.matting.trimap import trimap_study

        self.last = trimap_study(self.alpha, radius)

    def figure(self) -> plt.Figure:
        return draw_trimap_study(self.image, self.alpha, self.last)


# --------------------------------------------------------------------------- style transfer (topics 02-03)
def _show_tensor(image: Any, title: str) -> plt.Figure:
    """One (1, 3, H, W) or (3, H, W) image in [0, 1], with a title."""
    from course_lib.viz import show_images

    return show_images(image, (0, 1), titles=[title], scale=3.2)


class _ImageExplorer(_Explorer):
    """Sliders in one row -> ``compute(**values)`` -> (result, title); draws ``image()`` with the title."""

    def __init__(self, sliders: dict[str, Any]) -> None:
        self.last: Any = None
        self._title = ""
        self._connect(sliders, [list(sliders)])

    def compute(self, *args: Any, **values: Any) -> tuple[Any, str]:  # any signature, as update
        """(result, title) for the sliders' ``values`` (keywords: the sliders' names)."""
        raise NotImplementedError

    def update(self, *args: Any, **values: Any) -> None:
        self.last, self._title = self.compute(*args, **values)

    def image(self) -> Any:
        return self.last

    def figure(self) -> plt.Figure:
        return _show_tensor(self.image(), self._title)


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
class StyleCodeExplorer(_Explorer):
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

        start = torch.zeros(task.style_dim) if style is None else torch.as_tensor(style, dtype=torch.float32).flatten()
        if start.numel() != task.style_dim:
            raise ValueError(f"style must have {task.style_dim} numbers, got {start.numel()}")
        self.task, self.input, self.direction = task, image, direction
        self.last: Any = None
        names = [f"s{k}" for k in range(task.style_dim)]
        half = (len(names) + 1) // 2  # two columns: s0.. on the left, the rest on the right
        self._connect({
            name: w.FloatSlider(float(start[k]), min=-3.0, max=3.0, step=0.1, description=f"style[{k}]",
                                style={"description_width": "60px"}, continuous_update=False)
            for k, name in enumerate(names)
        }, [names[i::half] for i in range(half)])

    def update(self, **values: float) -> None:
        from course_lib.translation.munit import decode_with_style

        code = [values[f"s{k}"] for k in range(self.task.style_dim)]
        self.last = decode_with_style(self.task, self.input, code, self.direction)

    def figure(self) -> plt.Figure:
        from course_lib.viz import to_numpy_image

        fig, axes = plt.subplots(1, 2, figsize=(4.4, 2.4))
        for ax, img, title in zip(axes, (self.input, self.last), ("input", "output for this style")):
            ax.imshow(to_numpy_image(img.clamp(-1, 1), (-1, 1)), interpolation="nearest")
            ax.set_title(title, fontsize=9)
            ax.axis("off")
        fig.tight_layout()
        return fig
