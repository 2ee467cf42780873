"""How collected datasets live on disk: data_cache/collect/<use>/{train,eval}.parquet with the use's schema.

Parquet rather than save_to_disk because an empty split (a tiny dataset, eval_fraction 0) must round-trip.
"""
from __future__ import annotations

from pathlib import Path

from trainpipe.errors import UserError

SPLITS = ("train", "eval")


def save_splits(folder: Path, use: str, splits: dict[str, list[dict]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from trainpipe.data.records import arrow_schema

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in SPLITS:
        pq.write_table(pa.Table.from_pylist(splits.get(name, []), schema=arrow_schema(use)), folder / f"{name}.parquet")


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
        raise UserError(f"{path} is damaged ({exc}); rerun stage collect with --force "
                        "(python scripts/1_collect_data.py --force)") from None
