"""trainpipe package."""
