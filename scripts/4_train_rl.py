#!/usr/bin/env python
"""Stage 4: reinforcement learning / preference optimisation (reads the previous model; writes models/rl)."""

import sys

from trainpipe.cli import stage_main

if __name__ == "__main__":
    sys.exit(stage_main("rl"))
