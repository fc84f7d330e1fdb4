"""Image-to-image translation: one model family per module.

* :mod:`course_lib.translation.pix2pix` (paired, lecture 04) and
  :mod:`course_lib.translation.pix2pixhd` (lecture 05);
* :mod:`course_lib.translation.cyclegan` (unpaired, lecture 06) and
  :mod:`course_lib.translation.munit` (multimodal, lecture 07);
* :mod:`course_lib.translation.capstone`: all of them on one task with a hidden truth (lecture 13).

Import the modules explicitly, e.g. ``from course_lib.translation import pix2pix`` or
``from course_lib.translation.munit import MUNITTask``.
"""
