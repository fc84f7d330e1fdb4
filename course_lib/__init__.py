"""course_lib: the tested library behind the "Image to Image" course.

Sub-packages are imported explicitly (``from course_lib import receptive_field``); importing
``course_lib`` itself stays light so that notebooks start fast.

Map of the package::

    config            quick/full mode, seeding, the set-up line of every notebook
    receptive_field   analytic and empirical receptive fields
    losses            GAN and reconstruction losses shared by the topics
    nn                building blocks (dilated stacks, ...)
    data              bundled photos, procedural datasets, folder loaders, safe downloads
    train             device, precision, checkpoints, the alternating training loop, the CLI
    viz, widgets      figures and ipywidgets explorers
    checks            the lab graders
"""

from course_lib._project import version as _version
from course_lib.config import by_mode, is_quick, mode, seed_everything, setup

#: from pyproject.toml, the one place the version is written (course_lib/_project.py)
__version__ = _version()

__all__ = ["__version__", "by_mode", "is_quick", "mode", "seed_everything", "setup", "hello"]


def hello() -> None:
    """Print versions, device and mode (a quick check that the installation works)."""
    setup(seed=0)
