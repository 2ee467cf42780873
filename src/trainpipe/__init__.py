"""trainpipe: collect → CPT → SFT → RL → evaluate → deploy, one config tree."""

__version__ = "0.1.0"
