"""``python -m course_lib.train``: see :mod:`course_lib.train.cli`."""

import sys

from course_lib.train.cli import main

sys.exit(main())
