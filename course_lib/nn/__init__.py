"""Building blocks shared by the course's models."""

from course_lib.nn.dilated import ContextNet, dilated_conv, dilated_stack, same_padding
from course_lib.nn.norm import conv_bias, init_weights, norm_layer
from course_lib.nn.patchgan import PatchGAN

__all__ = ["ContextNet", "dilated_conv", "dilated_stack", "same_padding", "conv_bias", "init_weights",
           "norm_layer", "PatchGAN"]
