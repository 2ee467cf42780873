#!/usr/bin/env python
"""Stage 6: build, verify and optionally push the final model (writes models/final)."""

import sys

from trainpipe.cli import stage_main

if __name__ == "__main__":
    sys.exit(stage_main("deploy"))
