"""Readers: a file, folder, glob or datasets folder/hub id -> raw rows (dicts), each with its location.

Locations: JSONL and CSV give the 1-based line, JSON lists "record N", parquet and datasets "row N" (from 1).
A record that cannot be read comes back as a Row carrying its DataError, so the caller may skip it.
JSONL, CSV/TSV and parquet are read lazily (a line, a CSV record, a batch of 1,024 rows at a time), so a file of any
size streams through; a .json list and .txt are read whole.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import math
import os
from dataclasses import dataclass
from typing import Iterator, Optional, Union

from trainpipe.errors import DataError, UserError

# Longer lines are refused unread: a multi-gigabyte line is junk, and json.loads on it would exhaust memory.
MAX_LINE_BYTES = 64 * 1024 * 1024
EXTENSIONS = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet", ".txt", ".md")

Where = Union[int, str]


@dataclass
class Row:
    file: str  # as shown in messages (relative to the config's folder when inside it)
    where: Where  # line number, "record N" or "row N"
    data: Optional[dict] = None
    error: Optional[DataError] = None


def type_name(value: object) -> str:
    """The JSON name of a value's type, for messages."""
    names = {bool: "boolean", dict: "object", list: "array", str: "string", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def resolve(path: str, base_dir: str) -> str:
    return os.path.normpath(path if os.path.isabs(path) else os.path.join(base_dir, path))


def display_name(file: str, base_dir: str) -> str:
    rel = os.path.relpath(file, base_dir)
    return file if rel.startswith("..") else rel


def is_saved_dataset(folder: str) -> bool:
    """A folder written by `Dataset.save_to_disk` / `DatasetDict.save_to_disk`."""
    return any(os.path.isfile(os.path.join(folder, n)) for n in ("state.json", "dataset_dict.json"))


def expand_paths(path: str, base_dir: str) -> list[str]:
    """The data files a file path, folder (recursive) or glob names, sorted; DataError when none."""
    full = resolve(path, base_dir)
    if any(ch in path for ch in "*?["):
        found = [f for f in glob.glob(full, recursive=True) if os.path.isfile(f)]
    elif os.path.isdir(full):
        found = [os.path.join(d, f) for d, _, files in os.walk(full) for f in files if not f.startswith(".")]
    elif os.path.isfile(full):
        if not full.lower().endswith(EXTENSIONS):
            raise DataError(
                path, None, None, f"unsupported file type; expected one of {' '.join(EXTENSIONS)}", "unsupported"
            )
        return [full]
    else:
        raise DataError(path, None, None, "no such file or folder", "missing")
    files = sorted(f for f in found if f.lower().endswith(EXTENSIONS))
    if not files:
        raise DataError(path, None, None, f"matched no data files ({' '.join(EXTENSIONS)})", "missing")
    return files


def read_file(file: str, name: str, txt_mode: str = "blocks") -> Iterator[Row]:
    """Rows of one data file, by extension."""
    ext = os.path.splitext(file)[1].lower()
    if ext in (".jsonl", ".ndjson"):
        return _read_jsonl(file, name)
    if ext == ".json":
        return _read_json(file, name)
    if ext in (".csv", ".tsv"):
        return _read_csv(file, name, "\t" if ext == ".tsv" else ",")
    if ext == ".parquet":
        return _read_parquet(file, name)
    return _read_txt(file, name, txt_mode)


def _lines(fh) -> Iterator[Optional[bytes]]:
    """Lines of a binary file; None stands for a line over MAX_LINE_BYTES, which is skipped in chunks."""
    while True:
        line = fh.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_LINE_BYTES:
            while line and not line.endswith(b"\n"):
                line = fh.readline(MAX_LINE_BYTES)
            yield None
        else:
            yield line


def _parse_json_line(raw: Optional[bytes], name: str, number: int) -> Optional[Row]:
    def bad(expected: str, reason: str) -> Row:
        return Row(name, number, error=DataError(name, number, None, expected, reason))

    if raw is None:
        return bad(f"expected a line under {MAX_LINE_BYTES} bytes", "too_long")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return bad(f"invalid UTF-8 at byte {exc.start + 1} of the line", "invalid_utf8")
    # Without its line break, a truncated line reports the column where it ends, not "line 2, column 1".
    text = (text.lstrip("\ufeff") if number == 1 else text).rstrip("\r\n")
    if not text.strip():
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return bad(f"expected one JSON object per line; invalid JSON at column {exc.colno} ({exc.msg})", "unparseable")
    except RecursionError:
        return bad("expected one JSON object per line; nested too deeply", "unparseable")
    if not isinstance(data, dict):
        return bad(f"expected a JSON object; got {type_name(data)}", "wrong_type")
    return Row(name, number, data)


def _read_jsonl(file: str, name: str) -> Iterator[Row]:
    # Bytes are decoded line by line so invalid UTF-8 is reported at its line and skippable.
    with open(file, "rb") as fh:
        for number, raw in enumerate(_lines(fh), start=1):
            row = _parse_json_line(raw, name, number)
            if row is not None:
                yield row


def _decode_whole(file: str, name: str) -> str:
    with open(file, "rb") as fh:
        data = fh.read()
    try:
        return data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(name, line, None, "invalid UTF-8", "invalid_utf8") from None


def _read_json(file: str, name: str) -> Iterator[Row]:
    text = _decode_whole(file, name)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # Many ".json" files are really JSON Lines: a second value after the first one says so.
        if exc.msg == "Extra data":
            yield from _read_jsonl(file, name)
            return
        expected = f"expected valid JSON; invalid JSON at column {exc.colno} ({exc.msg})"
        raise DataError(name, exc.lineno, None, expected, "unparseable") from None
    except RecursionError:
        raise DataError(name, None, None, "expected valid JSON; nested too deeply", "unparseable") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise DataError(name, None, None, f"expected a JSON list of objects; got {type_name(data)}", "wrong_type")
    for number, item in enumerate(data, start=1):
        where = f"record {number}"
        if isinstance(item, dict):
            yield Row(name, where, item)
        else:
            error = DataError(name, where, None, f"expected a JSON object; got {type_name(item)}", "wrong_type")
            yield Row(name, where, error=error)


def _text_lines(file: str, name: str) -> Iterator[str]:
    """A text file's lines, decoded as read (line breaks kept and recognised as by open(newline=""))."""
    with open(file, "rb") as raw:
        lines = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        try:
            first = next(lines, None)
            if first is not None:
                yield first.lstrip("\ufeff")
                yield from lines
        except UnicodeDecodeError:
            raise DataError(name, _first_bad_utf8_line(file), None, "invalid UTF-8", "invalid_utf8") from None


def _first_bad_utf8_line(file: str) -> Optional[int]:
    # UTF-8 never encodes a character with byte 0x0A, so lines split at b"\n" decode (or fail) on their own.
    with open(file, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


def _read_csv(file: str, name: str, delimiter: str) -> Iterator[Row]:
    # The default field limit (128 KiB) would refuse ordinary long documents.
    csv.field_size_limit(MAX_LINE_BYTES)
    reader = csv.reader(_text_lines(file, name), delimiter=delimiter)
    header: Optional[list[str]] = None
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            error = DataError(name, reader.line_num, None, f"expected valid CSV; {exc}", "unparseable")
            if header is None:  # without the header no later row can be read
                raise error from None
            yield Row(name, start, error=error)  # the reader goes on at the next line: the caller may skip it
            continue
        if not cells:
            continue
        if header is None:
            header = cells
        elif len(cells) != len(header):
            expected = f"expected {len(header)} columns like the header; got {len(cells)}"
            yield Row(name, start, error=DataError(name, start, None, expected, "wrong_type"))
        else:
            yield Row(name, start, dict(zip(header, cells)))


def parquet_batches(file, batch_size: int = 1024, columns: Optional[list[str]] = None) -> Iterator:
    """A parquet file's Arrow record batches in order, one row group read at a time."""
    import pyarrow.parquet as pq

    # pyarrow pre-buffers every row group's column chunks by default when iterating a whole file: the file in memory.
    with pq.ParquetFile(file, pre_buffer=False) as pf:
        for group in range(pf.num_row_groups):
            yield from pf.iter_batches(batch_size=batch_size, columns=columns, row_groups=[group])


def _read_parquet(file: str, name: str) -> Iterator[Row]:
    import pyarrow as pa

    number = 0
    try:
        for batch in parquet_batches(file):
            for data in batch.to_pylist():
                number += 1
                yield Row(name, f"row {number}", _plain(data))
    except (pa.ArrowException, OSError) as exc:
        raise DataError(name, None, None, f"expected a readable parquet file; {exc}", "unparseable") from None


def _read_txt(file: str, name: str, txt_mode: str) -> Iterator[Row]:
    text = _decode_whole(file, name)
    if txt_mode == "file":
        if text.strip():
            yield Row(name, 1, {"text": text.strip()})
        return
    block: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines() + [""], start=1):
        if line.strip():
            start = start or number
            block.append(line.rstrip())
        elif block:
            yield Row(name, start, {"text": "\n".join(block)})
            block, start = [], 0


def _open_dataset(path: str, base_dir: str, split: str, subset: Optional[str], revision: Optional[str]):
    import datasets

    full = resolve(path, base_dir)
    try:
        if os.path.isdir(full) and is_saved_dataset(full):
            ds = datasets.load_from_disk(full)
        else:
            target = full if os.path.exists(full) else path
            return datasets.load_dataset(target, name=subset, split=split, revision=revision)
    except Exception as exc:  # the Hub, disk and builders raise many types; all mean "cannot load this"
        raise UserError(f"could not load dataset '{path}' (subset {subset}, split {split}): {exc}") from None
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise UserError(f"{path}: no split '{split}'; it has {', '.join(ds)}")
        ds = ds[split]
    return ds


def read_datasets(
    path: str, base_dir: str, split: str, subset: Optional[str], revision: Optional[str]
) -> Iterator[Row]:
    """Rows of a `save_to_disk` folder (tried first for local paths), a local dataset folder or a Hub id."""
    ds = _open_dataset(path, base_dir, split, subset, revision)
    for number, data in enumerate(ds, start=1):
        yield Row(path, f"row {number}", _plain(data))


def _plain(data: dict) -> dict:
    # Arrow gives NaN for a missing float cell; downstream checks treat None as "absent".
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in data.items()}
