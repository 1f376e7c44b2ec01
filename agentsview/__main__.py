"""``python -m agentsview``: the same as the ``agentsview`` command."""

import sys

from agentsview.cli import main

sys.exit(main())
