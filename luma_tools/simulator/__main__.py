"""`python -m luma_tools.simulator`: the same command as `luma-tools simulator`."""

from __future__ import annotations

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
