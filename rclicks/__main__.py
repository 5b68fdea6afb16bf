"""`python -m rclicks ...`."""

import sys

from rclicks.cli import main

sys.exit(main())
