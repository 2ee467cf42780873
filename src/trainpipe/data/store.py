"""How collected datasets live on disk: data_cache/collect/<use>/{train,eval}.parquet with the use's schema.

Parquet rather than save_to_disk because an empty split (a tiny dataset, eval_fraction 0) must round-trip.
Splits are written incrementally (SplitWriter) and read back in batches, so their size is bounded by disk, not memory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Optional

from trainpipe.data.readers import parquet_batches
from trainpipe.errors import UserError

SPLITS = ("train", "eval")
BATCH_ROWS = 1024  # rows per Arrow batch built from records and read back from a file
# A row group holds at most pyarrow's default row count or about this many bytes; a split below both is one row
# group, byte for byte what pq.write_table writes, and a larger one never sits in memory whole.
ROW_GROUP_ROWS = 1024 * 1024
ROW_GROUP_BYTES = 64 << 20


class SplitWriter:
    """One parquet file of one use's records, written through a temp file beside it that close() renames into place
    (abort(), or an exception inside `with`, removes it): a file at `path` is always complete."""

    def __init__(self, path: Path, use: str):
        import pyarrow.parquet as pq

        from trainpipe.data.records import arrow_schema

        self.path, self.schema, self.rows = Path(path), arrow_schema(use), 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self._writer = pq.ParquetWriter(self._tmp, self.schema)
        self._records: list[dict] = []
        self._pending: list = []  # Arrow batches of the row group being gathered
        self._pending_rows = self._pending_bytes = 0

    def add(self, record: dict) -> None:
        self._records.append(record)
        if len(self._records) >= BATCH_ROWS:
            self._take_records()

    def write(self, batch) -> None:
        """Append an Arrow RecordBatch or Table with this use's schema."""
        self._take_records()
        if batch.num_rows:
            self._pending.append(batch)
            self._pending_rows += batch.num_rows
            self._pending_bytes += batch.nbytes
            self.rows += batch.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS or self._pending_bytes >= ROW_GROUP_BYTES:
            self._flush()

    def _take_records(self) -> None:
        import pyarrow as pa

        if self._records:
            records, self._records = self._records, []
            self.write(pa.RecordBatch.from_pylist(records, schema=self.schema))

    def _flush(self) -> None:
        import pyarrow as pa

        if self._pending:
            # One contiguous table per row group: the bytes then match a table built from all rows at once.
            table = pa.Table.from_batches(_batches(self._pending), schema=self.schema).combine_chunks()
            self._pending, self._pending_rows, self._pending_bytes = [], 0, 0
            self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)

    def close(self) -> Path:
        self._take_records()
        if not self.rows:
            self._writer.write_table(self.schema.empty_table())  # as pq.write_table writes an empty table
        self._flush()
        self._writer.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        self._writer.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> "SplitWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.abort() if exc_type else self.close()


def _batches(parts: list) -> Iterator:
    for part in parts:
        yield from (part.to_batches() if hasattr(part, "to_batches") else [part])


def save_splits(folder: Path, use: str, splits: dict[str, list[dict]]) -> None:
    for name in SPLITS:
        with SplitWriter(Path(folder) / f"{name}.parquet", use) as writer:
            for record in splits.get(name, []):
                writer.add(record)


def read_batches(path: Path, columns: Optional[list[str]] = None, batch_size: int = BATCH_ROWS) -> Iterator:
    """A parquet file's Arrow record batches in order, `batch_size` rows each (only `columns` when given)."""

    return parquet_batches(path, batch_size, columns)


def read_records(path: Path, limit: Optional[int] = None, columns: Optional[list[str]] = None) -> Iterator[dict]:
    """A parquet file's records as dicts, in order (the first `limit`, and only `columns`, when given)."""
    count = 0
    for batch in read_batches(path, columns):
        for record in batch.to_pylist():
            if limit is not None and count >= limit:
                return
            count += 1
            yield record


def has_use(collect_dir: Path, use: str) -> bool:
    return (Path(collect_dir) / use / "train.parquet").exists()


def load_split(collect_dir: Path, use: str, split: str):
    """One split of one use as a datasets.Dataset (possibly empty, always with the use's columns)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import Dataset

    path = Path(collect_dir) / use / f"{split}.parquet"
    if not path.exists():
        raise UserError(f"the collect stage holds no '{use}' data ({path}); add a source with use: {use}")
    try:
        return Dataset(pq.read_table(path))
    except (pa.ArrowException, OSError) as exc:
        raise UserError(
            f"{path} is damaged ({exc}); rerun stage collect with --force (python scripts/1_collect_data.py --force)"
        ) from None
