#!/usr/bin/env python
"""Stage 3: supervised fine-tuning (reads data_cache/collect and the previous model; writes models/sft)."""

import sys

from trainpipe.cli import stage_main

if __name__ == "__main__":
    sys.exit(stage_main("sft"))
