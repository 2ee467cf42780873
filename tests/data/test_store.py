import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trainpipe.data import store
from trainpipe.data.records import arrow_schema, message, sft_record
from trainpipe.data.store import SplitWriter, read_records, save_splits


def _records(n):
    return [
        sft_record(
            "s.jsonl",
            [message("user", f"question {i} " * (i % 7 + 1)), message("assistant", f"a{i}")],
            reward=None if i % 3 else 0.5,
            step_rewards=[1.0] * (i % 4),
            task_id=None if i % 2 else str(i),
        )
        for i in range(n)
    ]


def test_split_writer_writes_what_write_table_writes(tmp_path):
    # 2,500 records arrive as three Arrow batches; below the row-group bounds they become one row group,
    # byte for byte the file pq.write_table makes of the whole list (so existing outputs do not change).
    records = _records(2500)
    pq.write_table(pa.Table.from_pylist(records, schema=arrow_schema("sft")), tmp_path / "whole.parquet")
    with SplitWriter(tmp_path / "streamed.parquet", "sft") as writer:
        for r in records:
            writer.add(r)
    assert (tmp_path / "streamed.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()
    pq.write_table(pa.Table.from_pylist([], schema=arrow_schema("sft")), tmp_path / "empty_whole.parquet")
    save_splits(tmp_path / "out", "sft", {"train": records[:3]})
    assert (tmp_path / "out" / "eval.parquet").read_bytes() == (tmp_path / "empty_whole.parquet").read_bytes()
    assert list(read_records(tmp_path / "out" / "train.parquet")) == records[:3]


def test_split_writer_bounds_its_row_groups(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "ROW_GROUP_BYTES", 20_000)
    records = _records(2500)
    with SplitWriter(tmp_path / "t.parquet", "sft") as writer:
        for r in records:
            writer.add(r)
    assert pq.ParquetFile(tmp_path / "t.parquet").num_row_groups == 3  # each 1,024-row batch is over 20 kB
    assert list(read_records(tmp_path / "t.parquet")) == records
    assert list(read_records(tmp_path / "t.parquet", limit=2, columns=["id"])) == [{"id": r["id"]} for r in records[:2]]


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "train.parquet"
    save_splits(tmp_path, "sft", {"train": _records(5)})
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="source went away"):
        with SplitWriter(path, "sft") as writer:
            for r in _records(3000):
                writer.add(r)
            raise RuntimeError("source went away")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval.parquet", "train.parquet"]
