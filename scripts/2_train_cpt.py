#!/usr/bin/env python
"""Stage 2: continued pretraining (reads data_cache/collect and the base model; writes models/cpt)."""

import sys

from trainpipe.cli import stage_main

if __name__ == "__main__":
    sys.exit(stage_main("cpt"))
