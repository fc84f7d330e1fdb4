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
