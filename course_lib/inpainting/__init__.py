"""Inpainting: masks, data, classical methods (PatchMatch, Poisson blending) and the learned models.

Mask convention: 1 = hole (missing), 0 = known. See :mod:`course_lib.inpainting.masks`.
"""

from course_lib.inpainting.data import MaskedImages
from course_lib.inpainting.masks import center_mask, hole_ratio, random_rect_mask, validate_mask

__all__ = ["MaskedImages", "center_mask", "hole_ratio", "random_rect_mask", "validate_mask"]
