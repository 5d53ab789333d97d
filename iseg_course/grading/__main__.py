"""``python -m iseg_course.grading ...``: the same commands as ``iseg-course assign | check-lessons | grade``."""

import sys

from .cli import main

sys.exit(main())
