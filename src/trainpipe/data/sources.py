"""Entry point: load the configured file and datasets sources into canonical records grouped by use.

Records stream one at a time from the readers to a sink (stream_sources), so no source is ever held whole;
load_sources gathers them into lists. Bad records raise DataError (`on_bad_record: error`) or are skipped and counted
per reason with examples.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional

from trainpipe.config import DataConfig, SourceConfig
from trainpipe.data import formats
from trainpipe.data.readers import Row, display_name, expand_paths, is_saved_dataset, read_datasets, read_file, resolve
from trainpipe.errors import DataError, UserError

MAX_EXAMPLES = 3


@dataclass
class LoadResult:
    records: dict[str, list[dict]] = field(default_factory=dict)  # use -> canonical records (load_sources only)
    per_source: list[dict] = field(default_factory=list)  # {"source", "format", "use", "records", "skipped"}
    skipped: dict[str, dict] = field(default_factory=dict)  # reason -> {"count": int, "examples": [str, ...]}


def source_name(src: SourceConfig) -> str:
    """The name records carry in `source`: the path as configured, plus subset and split for datasets."""
    name = src.path or ""
    if src.kind == "datasets":
        name += f"/{src.subset}" if src.subset else ""
        name += f":{src.split}" if src.split != "train" else ""
    return name


@dataclass
class _FileState:
    """What the first usable record of one file fixed: its format and use."""

    fmt: Optional[str] = None
    use: Optional[str] = None
    rows: int = 0


@dataclass
class _SourceLoad:
    """One source being read: how many records it passed to `sink` so far, its skips, and the use its files agreed on."""

    src: SourceConfig
    name: str
    data_cfg: DataConfig
    count_tokens: Optional[Callable[[dict], int]]
    skipped_by_reason: dict[str, dict]
    sink: Callable[[str, dict], None]
    kept: int = 0
    skipped: int = 0
    formats: set = field(default_factory=set)
    use: Optional[str] = None
    first_error: str = ""

    def full(self) -> bool:
        return self.src.limit is not None and self.kept >= self.src.limit

    def bad(self, err: DataError) -> None:
        if self.data_cfg.on_bad_record == "error":
            raise err
        self.skipped += 1
        self.first_error = self.first_error or str(err)
        entry = self.skipped_by_reason.setdefault(err.reason, {"count": 0, "examples": []})
        entry["count"] += 1
        if len(entry["examples"]) < MAX_EXAMPLES:
            entry["examples"].append(str(err))

    def read(self, file: str, rows: Iterator[Row]) -> None:
        state = _FileState()
        for row in rows:
            if self.full():
                break
            state.rows += 1
            try:
                if row.error is not None:
                    raise row.error
                record = self.record(row, state)
            except DataError as err:
                self.bad(err)
                continue
            self.kept += 1
            self.sink(state.use, record)
        if state.rows == 0 and not self.full():
            raise DataError(file, None, None, "no records", "empty")

    def record(self, row: Row, state: _FileState) -> dict:
        data = formats.rename_columns(row.data, self.src.columns)
        ctx = formats.Ctx(row.file, row.where, self.name, self.src.columns)
        declared = self.src.format if self.src.format != "auto" else None
        if state.fmt is None:
            self.start_file(data, declared, state, ctx)
        elif declared is None:
            formats.check_same_format(data, state.fmt, ctx)
        record = formats.normalise(data, state.fmt, state.use, ctx)
        if self.count_tokens is not None:
            count = self.count_tokens(record)
            if count > self.data_cfg.max_length:
                ctx.fail(None, f"expected at most {self.data_cfg.max_length} tokens; got {count}", "too_long")
        return record

    def start_file(self, data: dict, declared: Optional[str], state: _FileState, ctx: formats.Ctx) -> None:
        fmt = declared or formats.detect_format(data)
        if fmt is None:
            known = ", ".join(formats.FORMATS)
            ctx.fail(None, f"expected a record in a known format ({known}); got keys {sorted(data)}", "unknown_format")
        # Once an earlier file fixed the use, text files follow it (a folder may mix alpaca and plain text).
        wanted = self.src.use if self.src.use != "auto" else (self.use or "auto")
        use = formats.resolve_use(fmt, wanted)
        if use is None:
            # A config problem, not a bad record: never skipped.
            raise UserError(
                f"{ctx.file}: {fmt} records feed '{formats.default_use(fmt)}'; this source's use is "
                f"'{wanted}' (set `use:` or split the source)"
            )
        state.fmt, state.use, self.use = fmt, use, use
        self.formats.add(fmt)


def _check_source(src: SourceConfig) -> None:
    if not src.path:
        raise UserError(f"data.sources: a '{src.kind}' source needs a path")
    if src.format != "auto" and src.format not in formats.FORMATS:
        raise UserError(
            f"data.sources ({src.path}): format '{src.format}'; expected auto or one of {', '.join(formats.FORMATS)}"
        )


def _streams(src: SourceConfig, base_dir: str) -> Iterator[tuple[str, Iterator[Row]]]:
    """(file name, rows) per file of a source; a saved datasets folder counts as one file."""
    full = resolve(src.path, base_dir)
    if src.kind == "datasets" or (os.path.isdir(full) and is_saved_dataset(full)):
        yield src.path, read_datasets(src.path, base_dir, src.split, src.subset, src.revision)
        return
    for file in expand_paths(src.path, base_dir):
        name = display_name(file, base_dir)
        yield name, read_file(file, name, src.txt_mode)


def stream_sources(
    sources: list[SourceConfig],
    data_cfg: DataConfig,
    base_dir: str,
    sink: Callable[[str, dict], None],
    count_tokens: Optional[Callable[[dict], int]] = None,
) -> LoadResult:
    """Read every file/datasets source (task and environment sources are the caller's), passing each canonical record
    to `sink(use, record)` as it is read; the result holds the per-source counts and skips, not the records.

    `limit` keeps a source's first N usable records; `count_tokens(record)` above `data.max_length` is a bad record.
    """
    result = LoadResult()
    for src in sources:
        if src.kind in ("task", "environment"):
            continue
        _check_source(src)
        load = _SourceLoad(src, source_name(src), data_cfg, count_tokens, result.skipped, sink)
        for file, rows in _streams(src, base_dir):
            if load.full():
                break
            load.read(file, rows)
        if not load.kept and load.skipped:
            raise DataError(
                load.name, None, None, f"no usable records ({load.skipped} skipped; first: {load.first_error})", "empty"
            )
        result.per_source.append(
            {
                "source": load.name,
                "format": "+".join(sorted(load.formats)),
                "use": load.use or src.use,
                "records": load.kept,
                "skipped": load.skipped,
            }
        )
    return result


def load_sources(
    sources: list[SourceConfig],
    data_cfg: DataConfig,
    base_dir: str,
    count_tokens: Optional[Callable[[dict], int]] = None,
) -> LoadResult:
    """stream_sources with the records gathered into `records` (use -> list), for sources that fit in memory."""
    records: dict[str, list[dict]] = {}
    result = stream_sources(
        sources, data_cfg, base_dir, lambda use, r: records.setdefault(use, []).append(r), count_tokens
    )
    result.records = records
    return result
