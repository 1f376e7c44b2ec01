#!/usr/bin/env python
"""Django's command-line utility for this project (``agentsview`` is the friendlier front)."""

import sys

from agentsview.cli import manage_main

if __name__ == "__main__":
    sys.exit(manage_main(sys.argv))
