"""Matting and compositing: C = alpha F + (1 - alpha) B, trimaps, metrics, classical and learned matting.

Map of the package (lecture 11)::

    compositing   the compositing equation, straight vs premultiplied alpha, input checks
    trimap        trimaps from mattes (erosion), the trimap-only baselines
    metrics       SAD, MSE, gradient and connectivity errors over the unknown region
    data          procedural foregrounds (strands, veils, motion blur) over bundled photos; the logo
    folders       loaders for alphamatting.com, AIM-500 and Distinctions-646 folder layouts
    closed_form   Levin et al.'s matting Laplacian and sparse solve
    model         a small Deep-Image-Matting encoder-decoder, its losses and training task
    foreground    foreground colour estimation and background replacement (no halo)

Conventions: images (N, 3, H, W) or (3, H, W) float in [0, 1]; mattes (N, 1, H, W) or (1, H, W)
in [0, 1]; trimaps with values 0 / 0.5 / 1 (files: 0 / 128 / 255).
"""

from course_lib.matting.closed_form import closed_form_matting, matting_laplacian
from course_lib.matting.compositing import (
    as_trimap,
    composite,
    explanations_of_a_pixel,
    fade,
    premultiply,
    unknown_mask,
    unpremultiply,
    validate_alpha,
)
from course_lib.matting.data import (
    ID_PHOTO_COLOURS,
    MattingComposites,
    collate,
    logo_example,
    render_foreground,
)
from course_lib.matting.folders import (
    LAYOUTS,
    ForegroundFolder,
    MattingFolder,
    MattingLayout,
    read_alpha,
    read_trimap,
)
from course_lib.matting.foreground import (
    estimate_foreground,
    plain_background_colour,
    replace_background,
    solid_colour,
)
from course_lib.matting.metrics import (
    connectivity_error,
    format_table,
    gradient_error,
    matting_metrics,
    mse,
    sad,
    show_matte_comparison,
)
from course_lib.matting.model import (
    MattingNet,
    MattingTask,
    alpha_prediction_loss,
    compositional_loss,
    count_parameters,
    dim_loss,
    predict_alpha,
)
from course_lib.matting.trimap import (
    disk,
    fill_unknown,
    make_trimap,
    trimap_study,
    unknown_fraction,
)

__all__ = [
    "closed_form_matting", "matting_laplacian",
    "as_trimap", "composite", "explanations_of_a_pixel", "fade", "premultiply", "unknown_mask", "unpremultiply",
    "validate_alpha",
    "ID_PHOTO_COLOURS", "MattingComposites", "collate", "logo_example", "render_foreground",
    "LAYOUTS", "ForegroundFolder", "MattingFolder", "MattingLayout", "read_alpha", "read_trimap",
    "estimate_foreground", "plain_background_colour", "replace_background", "solid_colour",
    "connectivity_error", "format_table", "gradient_error", "matting_metrics", "mse", "sad",
    "show_matte_comparison",
    "MattingNet", "MattingTask", "alpha_prediction_loss", "compositional_loss", "count_parameters", "dim_loss",
    "predict_alpha",
    "disk", "fill_unknown", "make_trimap", "trimap_study", "unknown_fraction",
]
