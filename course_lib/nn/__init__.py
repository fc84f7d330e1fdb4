"""Building blocks shared by the course's models."""

from course_lib.nn.dilated import ContextNet, dilated_conv, dilated_stack, same_padding

__all__ = ["ContextNet", "dilated_conv", "dilated_stack", "same_padding"]
