#!/usr/bin/env python
"""Run every enabled stage in order, each in its own process (--from/--to/--only/--force/--status)."""

import sys

from trainpipe.cli import pipeline_main

if __name__ == "__main__":
    sys.exit(pipeline_main())
