"""Collect's working files: each use's canonical records spooled to parquet as they are read (deduplicated on the way),
then split into train/eval and mixed from there, so memory holds digests, row numbers and the held-out records, never a
dataset. Reads records from sources.stream_sources; writes <use>/{train,eval}.parquet through store.SplitWriter.
"""

from __future__ import annotations

import math
import os
from array import array
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from trainpipe.data.hygiene import Dedup, mix_hash, mix_order
from trainpipe.data.store import SplitWriter, read_batches, read_records

BUCKET_BYTES = 64 << 20  # the rows of one bucket of the mixing shuffle, sorted in memory at once
MAX_BUCKETS = 512  # open files while scattering; past 32 GB of training data the buckets grow instead
_POSITION = "__position"


class Spool:
    """One use's records in arrival order, without duplicates (hygiene.Dedup keeps a digest per distinct record)."""

    def __init__(self, folder: Path, use: str, dedup: str):
        self.use, self.path, self.dropped = use, Path(folder) / f"{use}.parquet", 0
        self._dedup: Optional[Dedup] = Dedup(use, dedup)
        self._writer = SplitWriter(self.path, use)

    def add(self, record: dict) -> None:
        if self._dedup.first(record):
            self._writer.add(record)

    def close(self) -> None:
        self._writer.close()
        self.dropped, self._dedup = self._dedup.dropped, None  # the digests are no longer needed

    def columns(self, names: list[str]) -> Iterator[dict]:
        """The spooled records, in order, with only `names`."""
        return read_records(self.path, columns=names)


def write_split(spool: Spool, folder: Path, held: set[int], tied: Optional[set[str]] = None) -> dict[str, int]:
    """Write the spooled records to folder/train.parquet and folder/eval.parquet (the `held` row numbers), each in
    spool order; with `tied`, the records whose task_id is in it come first in both. Returns the train records per
    source, in order of first appearance."""
    import pyarrow as pa

    held_rows = np.array(sorted(held), dtype=np.int64)
    sources: dict[str, int] = {}
    with (
        SplitWriter(folder / "train.parquet", spool.use) as train,
        SplitWriter(folder / "eval.parquet", spool.use) as ev,
    ):
        for part in (True, False) if tied is not None else (None,):
            start = 0
            for batch in read_batches(spool.path):
                is_held = np.isin(np.arange(start, start + batch.num_rows), held_rows)
                start += batch.num_rows
                keep = (
                    np.ones(batch.num_rows, dtype=bool)
                    if part is None
                    else np.array([(t in tied) == part for t in batch.column("task_id").to_pylist()], dtype=bool)
                )
                kept = batch.filter(pa.array(keep & ~is_held))
                for source in kept.column("source").to_pylist():
                    sources[source] = sources.get(source, 0) + 1
                train.write(kept)
                ev.write(batch.filter(pa.array(keep & is_held)))
    return sources


def mix_split(folder: Path, use: str, weights: dict[str, float], seed: int, work: Path) -> int:
    """Replace folder/train.parquet by its records mixed by source weight (hygiene.mix_order); returns its length."""
    premix = Path(work) / f"{use}.premix.parquet"
    os.replace(folder / "train.parquet", premix)
    order = _mixed_rows(premix, weights, seed)
    with SplitWriter(folder / "train.parquet", use) as out:
        _gather(premix, order, out, Path(work))
    premix.unlink()
    return len(order)


def _mixed_rows(path: Path, weights: dict[str, float], seed: int) -> np.ndarray:
    """Row numbers of the mixed training part: per source (in order of first appearance) its rows and mixing hashes."""
    rows: dict[str, array] = {}
    hashes: dict[str, array] = {}
    start = 0
    for batch in read_batches(path, ["source", "id"], batch_size=8192):
        pairs = zip(batch.column("source").to_pylist(), batch.column("id").to_pylist())
        for i, (source, record_id) in enumerate(pairs, start=start):
            rows.setdefault(source, array("q")).append(i)
            hashes.setdefault(source, array("d")).append(mix_hash(record_id, seed))
        start += batch.num_rows
    pools = [
        (np.frombuffer(rows[s], dtype=np.int64), np.frombuffer(hashes[s], dtype=np.float64), weights.get(s, 1.0))
        for s in rows
    ]
    return mix_order(pools, seed)


def _gather(src: Path, order: np.ndarray, out: SplitWriter, work: Path) -> None:
    """Write the rows of `src` to `out` in `order` (row numbers, repeats allowed) in bounded memory: one pass scatters
    each row to the buckets of its output positions (Arrow IPC files in `work`), then each bucket is sorted alone."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.ipc as ipc
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(src).metadata
    row_bytes = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)) / max(meta.num_rows, 1)
    buckets = min(MAX_BUCKETS, max(1, math.ceil(row_bytes * len(order) / BUCKET_BYTES)))
    per_bucket = max(1, math.ceil(len(order) / buckets))
    by_row = np.argsort(order, kind="stable")  # output positions grouped by source row, each group ascending
    bounds = np.searchsorted(order[by_row], np.arange(meta.num_rows + 1))  # row r: by_row[bounds[r]:bounds[r + 1]]
    paths = [work / f"bucket-{b}.arrow" for b in range(buckets)]
    writers = [ipc.new_stream(str(p), out.schema.append(pa.field(_POSITION, pa.int64()))) for p in paths]
    start = 0
    for batch in read_batches(src, batch_size=8192):
        positions = by_row[bounds[start] : bounds[start + batch.num_rows]]
        local = np.repeat(np.arange(batch.num_rows), np.diff(bounds[start : start + batch.num_rows + 1]))
        start += batch.num_rows
        bucket = positions // per_bucket
        for b in np.unique(bucket):
            pick = bucket == b
            part = batch.take(pa.array(local[pick])).append_column(_POSITION, pa.array(positions[pick]))
            writers[b].write_batch(part)
    for writer in writers:
        writer.close()
    for path in paths:
        with pa.OSFile(str(path)) as fh:
            table = ipc.open_stream(fh).read_all()
        path.unlink()
        out.write(table.take(pc.sort_indices(table[_POSITION])).drop_columns([_POSITION]))
