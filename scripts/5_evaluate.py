#!/usr/bin/env python
"""Stage 5: evaluate every model on every suite (writes logs/evaluate)."""

import sys

from trainpipe.cli import stage_main

if __name__ == "__main__":
    sys.exit(stage_main("evaluate"))
