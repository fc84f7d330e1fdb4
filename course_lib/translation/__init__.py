"""Image-to-image translation models: one model family per module.

Import the modules explicitly, e.g. ``from course_lib.translation import cyclegan`` or
``from course_lib.translation.munit import MUNITTask``.
"""
