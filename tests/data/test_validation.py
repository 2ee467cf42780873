"""Every class of bad input gives a DataError naming file, line/record/row and field; skip mode counts them."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from trainpipe.config import DataConfig, SourceConfig
from trainpipe.data import readers
from trainpipe.data.sources import load_sources
from trainpipe.errors import DataError, UserError

GOOD_CHAT = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def error_of(tmp_path, path, **kw):
    with pytest.raises(DataError) as info:
        load_sources([SourceConfig(path=path, **kw)], DataConfig(), str(tmp_path))
    return info.value


def chat_then(tmp_path, bad: dict | str) -> DataError:
    """A chat file whose second line is `bad`; returns the error it raises."""
    bad_line = bad if isinstance(bad, str) else json.dumps(bad)
    write_lines(tmp_path / "x.jsonl", [json.dumps(GOOD_CHAT), bad_line])
    return error_of(tmp_path, "x.jsonl")


@pytest.mark.parametrize(
    "bad, message, reason",
    [
        (
            '{"messages": [',
            "x.jsonl:2: expected one JSON object per line; invalid JSON at column 15 (Expecting value)",
            "unparseable",
        ),
        ('["a"]', "x.jsonl:2: expected a JSON object; got array", "wrong_type"),
        ({"messages": "hi"}, "x.jsonl:2: field 'messages': expected a list of messages; got string", "wrong_type"),
        (
            {"messages": [{"role": "user", "content": 3}, {"role": "assistant", "content": "a"}]},
            "x.jsonl:2: field 'messages[0].content': expected a string; got number",
            "wrong_type",
        ),
        (
            {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": " \n"}]},
            "x.jsonl:2: field 'messages[1].content': expected non-empty text",
            "empty_text",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "q"},
                    {"role": "assistant", "content": "a"},
                    {"role": "bot", "content": "b"},
                ]
            },
            "x.jsonl:2: field 'messages[2].role': expected one of system, user, assistant; got 'bot'",
            "unknown_role",
        ),
        (
            {"messages": [{"role": "user", "content": "q"}]},
            "x.jsonl:2: field 'messages': expected at least one assistant turn",
            "no_assistant",
        ),
        ({"messages": None}, "x.jsonl:2: field 'messages': expected a value; the field is missing", "missing_field"),
        (
            {"text": "plain"},
            "x.jsonl:2: expected a record in the file's format (chat, from its first record); "
            "got one in the text format",
            "mixed_format",
        ),
    ],
)
def test_bad_jsonl_record(tmp_path, bad, message, reason):
    err = chat_then(tmp_path, bad)
    assert (str(err), err.file, err.line, err.reason) == (message, "x.jsonl", 2, reason)


def test_invalid_utf8_names_its_line(tmp_path):
    (tmp_path / "u.jsonl").write_bytes(b'{"text": "ok"}\n{"text": "ok"}\n{"text": "\xff\xfe"}\n')
    assert str(error_of(tmp_path, "u.jsonl")) == "u.jsonl:3: invalid UTF-8 at byte 11 of the line"
    (tmp_path / "u.csv").write_bytes(b"text\nfine\n\xc3\x28\n")
    assert str(error_of(tmp_path, "u.csv")) == "u.csv:3: invalid UTF-8"


def test_json_list_names_the_record(tmp_path):
    rows = [{"instruction": "q", "output": "a"}, {"instruction": "q", "output": ""}]
    (tmp_path / "l.json").write_text(json.dumps(rows), encoding="utf-8")
    err = error_of(tmp_path, "l.json")
    assert str(err) == "l.json:record 2: field 'output': expected non-empty text"
    (tmp_path / "broken.json").write_text('[\n {"text": "a"},\n {"text": }\n]', encoding="utf-8")
    assert str(error_of(tmp_path, "broken.json")) == (
        "broken.json:3: expected valid JSON; invalid JSON at column 11 (Expecting value)"
    )


def test_json_file_holding_json_lines_is_read_as_jsonl(tmp_path):
    write_lines(tmp_path / "lines.json", ['{"text": "a"}', '{"text": 5}'])
    assert str(error_of(tmp_path, "lines.json")) == "lines.json:2: field 'text': expected a string; got number"


def test_csv_names_the_row_line(tmp_path):
    (tmp_path / "k.csv").write_text('prompt,completion,label\n"two\nlines",ok,true\nq,ok,maybe\n', encoding="utf-8")
    assert str(error_of(tmp_path, "k.csv")) == "k.csv:4: field 'label': expected true or false; got string 'maybe'"
    (tmp_path / "w.csv").write_text("text,extra\nfine,1\nbad\n", encoding="utf-8")
    assert str(error_of(tmp_path, "w.csv")) == "w.csv:3: expected 2 columns like the header; got 1"


def test_parquet_names_the_row(tmp_path):
    pd.DataFrame({"prompt": ["a", "b"], "answer": ["1", None]}).to_parquet(tmp_path / "p.parquet")
    assert (
        str(error_of(tmp_path, "p.parquet"))
        == "p.parquet:row 2: field 'answer': expected a value; the field is missing"
    )


def test_mapped_column_is_named_as_in_the_file(tmp_path):
    write_lines(tmp_path / "m.jsonl", [json.dumps({"question": "q", "solution": "a"}), json.dumps({"question": ""})])
    err = error_of(tmp_path, "m.jsonl", columns={"prompt": "question", "answer": "solution"})
    assert str(err) == "m.jsonl:2: field 'question': expected non-empty text"


def test_nested_field_of_trajectory(tmp_path):
    row = {"instruction": "do", "steps": [{"thought": "t", "action": "a"}, {"thought": "", "action": " "}]}
    write_lines(tmp_path / "t.jsonl", [json.dumps(row)])
    assert (
        str(error_of(tmp_path, "t.jsonl"))
        == "t.jsonl:1: field 'steps[1].action': expected a non-empty thought or action"
    )
    write_lines(
        tmp_path / "s.jsonl",
        [
            json.dumps({"instruction": "do", "response": "Step 1:\nThought: x\nAction: y"}),
            json.dumps({"instruction": "do", "response": "no steps here"}),
        ],
    )
    assert str(error_of(tmp_path, "s.jsonl")) == (
        "s.jsonl:2: field 'response': expected 'Step N:' blocks with Thought/Action/Observation"
    )


def test_unknown_format(tmp_path):
    write_lines(tmp_path / "q.jsonl", [json.dumps({"foo": 1, "bar": 2})])
    err = error_of(tmp_path, "q.jsonl")
    assert re.fullmatch(
        r"q\.jsonl:1: expected a record in a known format \(alpaca, .*\); got keys \['bar', 'foo'\]", str(err)
    )
    assert err.reason == "unknown_format"


@pytest.mark.parametrize(
    "path, message",
    [
        ("empty.jsonl", "empty.jsonl: no records"),
        ("blank.txt", "blank.txt: no records"),
        ("header.csv", "header.csv: no records"),
        (
            "missing/*.jsonl",
            "missing/*.jsonl: matched no data files (.jsonl .ndjson .json .csv .tsv .parquet .txt .md)",
        ),
        ("nofile.jsonl", "nofile.jsonl: no such file or folder"),
        (
            "notes.yaml",
            "notes.yaml: unsupported file type; expected one of .jsonl .ndjson .json .csv .tsv .parquet .txt .md",
        ),
        (
            "junk.parquet",
            "junk.parquet: expected a readable parquet file; Parquet magic bytes not found in footer. "
            "Either the file is corrupted or this is not a parquet file.",
        ),
        ("junk.json", "junk.json:1: invalid UTF-8"),
    ],
)
def test_file_level_errors(tmp_path, path, message):
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "blank.txt").write_text("\n  \n", encoding="utf-8")
    (tmp_path / "header.csv").write_text("prompt,answer\n", encoding="utf-8")
    (tmp_path / "notes.yaml").write_text("a: 1\n", encoding="utf-8")
    (tmp_path / "junk.parquet").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "junk.json").write_bytes(b"\x00\x9f\x92\x96" * 100)
    assert str(error_of(tmp_path, path)) == message


def test_binary_junk_jsonl_is_reported_not_a_traceback(tmp_path):
    (tmp_path / "bin.jsonl").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8\n")
    assert str(error_of(tmp_path, "bin.jsonl")) == "bin.jsonl:1: invalid UTF-8 at byte 1 of the line"
    data = DataConfig(on_bad_record="skip")
    with pytest.raises(DataError) as info:
        load_sources([SourceConfig(path="bin.jsonl")], data, str(tmp_path))
    assert str(info.value) == (
        "bin.jsonl: no usable records (3 skipped; first: bin.jsonl:1: invalid UTF-8 at byte 1 of the line)"
    )


def test_huge_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 1000)
    long_text = json.dumps({"text": "x" * 5000})
    write_lines(tmp_path / "h.jsonl", [json.dumps({"text": "short"}), long_text, json.dumps({"text": "after"})])
    data = DataConfig(on_bad_record="skip")
    result = load_sources([SourceConfig(path="h.jsonl")], data, str(tmp_path))
    assert [r["text"] for r in result.records["cpt"]] == ["short", "after"]
    assert result.skipped == {"too_long": {"count": 1, "examples": ["h.jsonl:2: expected a line under 1000 bytes"]}}


def test_huge_unparseable_line_is_a_parse_error(tmp_path):
    (tmp_path / "big.jsonl").write_text('{"text": "' + "y" * 3_000_000 + "\n", encoding="utf-8")
    assert str(error_of(tmp_path, "big.jsonl")) == (
        "big.jsonl:1: expected one JSON object per line; invalid JSON at column 10 (Unterminated string starting at)"
    )


def test_skip_counts_per_reason_with_first_three_examples(tmp_path):
    bad_role = {"messages": [{"role": "bot", "content": "x"}]}
    lines = [json.dumps(GOOD_CHAT)] + ["{oops"] * 5 + [json.dumps(bad_role), json.dumps(GOOD_CHAT)]
    write_lines(tmp_path / "s.jsonl", lines)
    result = load_sources([SourceConfig(path="s.jsonl")], DataConfig(on_bad_record="skip"), str(tmp_path))
    assert len(result.records["sft"]) == 2
    assert result.per_source == [{"source": "s.jsonl", "format": "chat", "use": "sft", "records": 2, "skipped": 6}]
    oops = "expected one JSON object per line; invalid JSON at column 2 (Expecting property name enclosed in double quotes)"
    assert result.skipped == {
        "unparseable": {"count": 5, "examples": [f"s.jsonl:{n}: {oops}" for n in (2, 3, 4)]},
        "unknown_role": {
            "count": 1,
            "examples": ["s.jsonl:7: field 'messages[0].role': expected one of system, user, assistant; got 'bot'"],
        },
    }


def test_use_conflict_is_a_config_error_even_when_skipping(tmp_path):
    write_lines(tmp_path / "al.jsonl", [json.dumps({"instruction": "q", "output": "a"})])
    with pytest.raises(UserError) as info:
        load_sources([SourceConfig(path="al.jsonl", use="cpt")], DataConfig(on_bad_record="skip"), str(tmp_path))
    assert not isinstance(info.value, DataError)
    assert str(info.value) == (
        "al.jsonl: alpaca records feed 'sft'; this source's use is 'cpt' (set `use:` or split the source)"
    )


def test_unknown_declared_format(tmp_path):
    with pytest.raises(UserError, match=r"^data.sources \(x.jsonl\): format 'yaml'; expected auto or one of alpaca, "):
        load_sources([SourceConfig(path="x.jsonl", format="yaml")], DataConfig(), str(tmp_path))
