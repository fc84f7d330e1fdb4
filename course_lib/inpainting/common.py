"""What every inpainting entry point of the course does first: check an image and its mask, and paste a fill.

The rules (mask convention 1 = hole, see :mod:`course_lib.inpainting.masks`):

* the mask must have the image's height and width, and one mask per image (or one for all);
* it must be binary (0/1); a soft mask is an error that says how to threshold it;
* a mask that covers the whole image is an error: there is no context to fill from;
* a mask with no hole is **allowed** by the inpainting methods and returns the image unchanged
  (nothing to do), but it is an error for the evaluation (:mod:`course_lib.inpainting.evaluate`),
  where "error inside the hole" would be undefined.
"""

from __future__ import annotations

import torch

from course_lib.inpainting.masks import validate_mask


def check_image_mask(image: torch.Tensor, mask: torch.Tensor, *, allow_empty: bool = True,
                     name: str = "image") -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Validate and batch an image and its mask.

    Args:
        image: (C, H, W) or (N, C, H, W) float tensor (any value range).
        mask: (1, H, W) or (N, 1, H, W) (or (H, W)), 1 = hole.
        allow_empty: whether a mask without any hole is accepted (see the module docstring).
        name: what to call ``image`` in error messages.

    Returns:
        ``(image (N, C, H, W), mask (N, 1, H, W) float, batched)``; ``batched`` says whether the
        caller passed a batch, so that it can return the same shape it was given.
    """
    if not isinstance(image, torch.Tensor) or image.dim() not in (3, 4):
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"{name} must be a (C, H, W) or (N, C, H, W) tensor, got {shape}")
    if not image.is_floating_point():
        raise ValueError(f"{name} must be a float tensor, got {image.dtype}: convert it with .float() "
                         "(and divide by 255 if it holds 8-bit values)")
    if isinstance(mask, torch.Tensor) and mask.dim() == 2:
        mask = mask[None]
    batched = image.dim() == 4
    images = image if batched else image[None]
    if isinstance(mask, torch.Tensor) and mask.dim() == 3 and mask.shape[0] == 1:
        mask = mask[None]
    validate_mask(mask, images, allow_empty=allow_empty)
    masks = mask.to(device=images.device, dtype=images.dtype)
    if masks.shape[0] == 1 and images.shape[0] > 1:
        masks = masks.expand(images.shape[0], -1, -1, -1)
    return images, masks, batched


def composite(image: torch.Tensor, mask: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    """Known pixels from ``image``, hole pixels from ``fill``: ``image * (1 - mask) + fill * mask``.

    Every method of the course returns this composite, so that no method is ever judged (or
    rewarded) for what it does to pixels that were never missing.
    """
    return image * (1 - mask) + fill * mask
