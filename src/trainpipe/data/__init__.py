"""Data: read files and datasets into canonical records per use, validate them with file:line errors,
and dedup, split, contamination-check and mix them.
"""
from trainpipe.data.hygiene import contamination_report, dedup, is_eval, mix, split_records
from trainpipe.data.records import USES, arrow_schema, record_text
from trainpipe.data.sources import LoadResult, load_sources, source_name
from trainpipe.data.trajectory import parse_steps, trajectory_messages

__all__ = [
    "USES", "LoadResult", "arrow_schema", "contamination_report", "dedup", "is_eval", "load_sources", "mix",
    "parse_steps", "record_text", "source_name", "split_records", "trajectory_messages",
]
