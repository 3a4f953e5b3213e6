"""``python -m mockauth serve``."""

import sys

from .cli import main

sys.exit(main())
