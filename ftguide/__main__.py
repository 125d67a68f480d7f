"""``python -m ftguide``: see ftguide/cli.py."""

import sys

from ftguide.cli import main

if __name__ == "__main__":
    sys.exit(main())
