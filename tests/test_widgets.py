"""The receptive-field explorer: sliders drive a plain tested function; tested without a browser."""

from course_lib.receptive_field import explore
from course_lib.widgets import ReceptiveFieldExplorer, draw_exploration


def test_sliders_drive_the_computation():
    ex = ReceptiveFieldExplorer(kernel_size=3, dilation=1, depth=2, stride=1)
    assert ex.last.analytic.size == 5 and ex.last.empirical.size == (5, 5)
    ex.sliders["dilation"].value = 2
    assert ex.last.analytic.size == 9
    ex.sliders["depth"].value = 4
    ex.sliders["stride"].value = 2
    assert ex.last.analytic.size == explore(3, 2, 4, 2).analytic.size == 61
    assert ex.last.empirical.size == (61, 61)


def test_impossible_settings_show_a_message_instead_of_crashing():
    ex = ReceptiveFieldExplorer()
    for name, value in [("kernel_size", 7), ("dilation", 8), ("depth", 6), ("stride", 3)]:
        ex.sliders[name].value = value
    assert ex.last is None and "reduce depth" in ex.error
    ex.sliders["depth"].value = 1
    assert ex.error is None and ex.last.analytic.size == 49


def test_draw_exploration_titles_both_numbers():
    fig = draw_exploration(explore(3, 2, 3))
    assert "analytic RF 13 px | measured 13x13" in fig.axes[0].get_title()


def test_style_code_sliders_drive_the_munit_decoder():
    import torch

    from course_lib.translation.munit import MUNITTask, decode_with_style
    from course_lib.widgets import StyleCodeExplorer

    torch.manual_seed(0)
    task = MUNITTask(dim=4, n_res=1, mlp_dim=8, dis_dim=4, dis_layers=2, dis_scales=1)
    image = torch.rand(3, 16, 16) * 2 - 1
    ex = StyleCodeExplorer(task, image)
    assert len(ex.sliders) == 8 and torch.allclose(ex.last, decode_with_style(task, image, [0.0] * 8))
    first = ex.last.clone()
    ex.sliders["s3"].value = 2.0
    code = [0.0] * 8
    code[3] = 2.0
    assert torch.allclose(ex.last, decode_with_style(task, image, code)) and not torch.allclose(ex.last, first)


# --------------------------------------------------------------------------- what a reader sees
def _png_pixels(png: bytes):
    import io

    import matplotlib.pyplot as plt

    return plt.imread(io.BytesIO(png))[..., :3]


def _figure_pixels(fig):
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, facecolor="white")  # the still image's resolution
    plt.close(fig)
    return _png_pixels(buf.getvalue())


def _holds(still, drawing) -> bool:
    """Whether ``drawing`` appears, pixel for pixel, centred below the sliders of ``still``."""
    h, w = drawing.shape[:2]
    x = (still.shape[1] - w) // 2
    errors = [abs(still[y:y + h, x + dx:x + dx + w] - drawing).mean()
              for y in range(still.shape[0] - h + 1) for dx in (-1, 0, 1)
              if still[y:y + h, x + dx:x + dx + w].shape == drawing.shape]
    return min(errors) < 0.01


def test_displaying_an_explorer_gives_a_still_image_and_a_sentence_not_the_widget_repr():
    """What IPython publishes for an explorer (display() or a cell's last value), without a front end."""
    import base64

    from IPython.core.formatters import DisplayFormatter

    from course_lib.widgets import RUN_HINT, WIDGET_VIEW

    ex = ReceptiveFieldExplorer(kernel_size=3, dilation=2, depth=3, stride=1)
    data, _ = DisplayFormatter().format(ex)
    assert set(data) == {WIDGET_VIEW, "image/png", "text/plain"}
    assert data[WIDGET_VIEW]["model_id"] == ex.widget.model_id  # the live widget, where widgets run
    text = data["text/plain"]
    assert not text.startswith(("VBox(", "HBox(")) and "IntSlider(" not in text and "children=" not in text
    assert text == f"Interactive explorer (kernel = 3, dilation = 2, depth = 3, stride = 1): {RUN_HINT}"
    still = _png_pixels(base64.b64decode(data["image/png"]))
    assert _holds(still, _figure_pixels(draw_exploration(ex.last)))
    # The still image is drawn when displayed: after moving a slider it shows the new drawing.
    ex.sliders["dilation"].value = 1
    now = _png_pixels(ex.still_png())
    assert _holds(now, _figure_pixels(draw_exploration(explore(3, 1, 3, 1))))
    assert not _holds(now, _figure_pixels(draw_exploration(explore(3, 2, 3, 1))))
    assert now.shape[0] > _figure_pixels(draw_exploration(ex.last)).shape[0] + 50  # sliders and the note too


def test_every_explorer_displays_a_still_image():
    import torch

    from course_lib.style.gatys import WeightSweep
    from course_lib.widgets import CompositingExplorer, StyleWeightExplorer, TrimapExplorer

    fg, bg, alpha = torch.rand(3, 16, 16), torch.rand(3, 16, 16), torch.rand(1, 16, 16)
    sweep = WeightSweep([1e2, 1e3], [torch.full((1, 3, 8, 8), v) for v in (0.1, 0.9)], [1.0, 2.0], [0.3, 0.2])
    for ex in (CompositingExplorer(fg, bg, alpha, opacity=0.6), TrimapExplorer(fg, alpha, radius=1),
               StyleWeightExplorer(sweep)):
        bundle = ex._repr_mimebundle_()
        assert bundle["image/png"] and "Slider(" not in bundle["text/plain"], type(ex).__name__
        assert _holds(_png_pixels(ex.still_png()), _figure_pixels(ex.figure())), type(ex).__name__


def test_settings_an_explorer_cannot_draw_give_a_still_image_of_the_message():
    ex = ReceptiveFieldExplorer(kernel_size=7, dilation=8, depth=6, stride=3)
    assert ex.error and "reduce depth" in ex.error
    assert _holds(_png_pixels(ex.still_png()), _figure_pixels(ex.figure()))
