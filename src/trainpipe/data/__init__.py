"""Data: read files and datasets into canonical records per use, validate them with file:line errors,
and dedup, split, contamination-check and mix them. Import the modules themselves (readers, sources, hygiene, ...).
"""
