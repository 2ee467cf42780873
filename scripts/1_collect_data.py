#!/usr/bin/env python
"""Stage 1: collect and validate data (writes data_cache/collect)."""

import sys

from trainpipe.cli import stage_main

if __name__ == "__main__":
    sys.exit(stage_main("collect"))
