"""Image-to-image translation: pix2pix (paired, lecture 04) and pix2pixHD (lecture 05).

Import the model families from their modules (``from course_lib.translation import pix2pix``).
"""
