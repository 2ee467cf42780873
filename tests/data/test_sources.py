"""Every supported format and container round-trips from files to exact canonical records."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from trainpipe.config import DataConfig, SourceConfig
from trainpipe.data.records import record_id, record_score
from trainpipe.data.sources import load_sources, source_name
from trainpipe.errors import UserError


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def load(tmp_path, path, data=None, **kw):
    return load_sources([SourceConfig(path=path, **kw)], data or DataConfig(), str(tmp_path))


def only(result, use):
    """The records of the single use loaded, without their ids (checked separately)."""
    assert list(result.records) == [use]
    return [{k: v for k, v in r.items() if k != "id"} for r in result.records[use]]


def sft(source, messages, weight=1.0, reward=None, step_rewards=(), task_id=None, meta="{}"):
    return {
        "source": source,
        "messages": messages,
        "weight": weight,
        "reward": reward,
        "step_rewards": list(step_rewards),
        "task_id": task_id,
        "meta": meta,
    }


def u(text):
    return {"role": "user", "content": text}


def a(text):
    return {"role": "assistant", "content": text}


def test_alpaca_jsonl(tmp_path):
    write_jsonl(
        tmp_path / "al.jsonl",
        [
            {"instruction": "Add", "input": "2 3", "output": "5", "category": "math"},
            {"instruction": "Greet", "input": "", "output": "Hello"},
            {"instruction": "Echo", "response": "echo"},
        ],
    )
    result = load(tmp_path, "al.jsonl")
    assert only(result, "sft") == [
        sft("al.jsonl", [u("Add\n\n2 3"), a("5")], meta='{"category":"math"}'),
        sft("al.jsonl", [u("Greet"), a("Hello")]),
        sft("al.jsonl", [u("Echo"), a("echo")]),
    ]
    assert result.records["sft"][0]["id"] == record_id({"messages": [u("Add\n\n2 3"), a("5")]})
    assert result.per_source == [{"source": "al.jsonl", "format": "alpaca", "use": "sft", "records": 3, "skipped": 0}]
    assert result.skipped == {}


def test_chat_json_list_with_system_turn(tmp_path):
    rows = [{"messages": [{"role": "system", "content": "Be brief."}, u("Hi"), a("Hello.")]}]
    (tmp_path / "chat.json").write_text(json.dumps(rows), encoding="utf-8")
    result = load(tmp_path, "chat.json")
    assert only(result, "sft") == [sft("chat.json", [{"role": "system", "content": "Be brief."}, u("Hi"), a("Hello.")])]


def test_sharegpt_roles_are_mapped(tmp_path):
    conv = [
        {"from": "system", "value": "S"},
        {"from": "human", "value": "Q1"},
        {"from": "gpt", "value": "A1"},
        {"from": "user", "value": "Q2"},
        {"from": "model", "value": "A2"},
    ]
    write_jsonl(tmp_path / "sg.jsonl", [{"conversations": conv, "id": 7}])
    result = load(tmp_path, "sg.jsonl")
    messages = [{"role": "system", "content": "S"}, u("Q1"), a("A1"), u("Q2"), a("A2")]
    assert only(result, "sft") == [sft("sg.jsonl", messages, meta='{"id":7}')]
    assert result.per_source[0]["format"] == "sharegpt"


def test_scored_conversation_keeps_score_raw(tmp_path):
    write_jsonl(
        tmp_path / "sc.jsonl",
        [
            {
                "conversation": [{"role": "human", "content": "Q"}, {"role": "assistant", "content": "A"}],
                "meta_eval_score": 7,
                "score_reason": "correct but terse",
            }
        ],
    )
    result = load(tmp_path, "sc.jsonl")
    assert only(result, "sft") == [
        sft("sc.jsonl", [u("Q"), a("A")], reward=7.0, meta='{"meta_eval_score":7.0,"score_reason":"correct but terse"}')
    ]
    # The raw score is where sft.score and an external reward with field meta_eval_score look for it.
    assert record_score(only(result, "sft")[0]) == 7.0


def test_preference_strings_and_message_lists(tmp_path):
    write_jsonl(
        tmp_path / "pref.jsonl",
        [
            {"prompt": "Q", "chosen": "good", "rejected": "bad"},
            {"prompt": [u("Q2")], "chosen": [a("good2")], "rejected": [a("bad2")]},
        ],
    )
    result = load(tmp_path, "pref.jsonl")
    assert only(result, "preference") == [
        {"source": "pref.jsonl", "prompt": [u("Q")], "chosen": [a("good")], "rejected": [a("bad")]},
        {"source": "pref.jsonl", "prompt": [u("Q2")], "chosen": [a("good2")], "rejected": [a("bad2")]},
    ]


def test_kto_from_csv_spells_booleans(tmp_path):
    (tmp_path / "kto.csv").write_text("prompt,completion,label\nQ,yes,true\nQ,no,0\n", encoding="utf-8")
    result = load(tmp_path, "kto.csv")
    assert only(result, "kto") == [
        {"source": "kto.csv", "prompt": [u("Q")], "completion": [a("yes")], "label": True},
        {"source": "kto.csv", "prompt": [u("Q")], "completion": [a("no")], "label": False},
    ]


def test_csv_parse_error_is_skipped_under_skip_and_named_under_error(tmp_path, monkeypatch):
    # A csv.Error (here a cell over the field limit) used to abort the whole load even with on_bad_record=skip.
    from trainpipe.data import readers
    from trainpipe.errors import DataError

    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 40)
    (tmp_path / "p.csv").write_text(
        "prompt,answer\nWhat is 1+1?,2\nLong," + "x" * 60 + "\nWhat is 2+2?,4\n", encoding="utf-8"
    )
    result = load(tmp_path, "p.csv", DataConfig(on_bad_record="skip"))
    assert [r["prompt"] for r in result.records["prompts"]] == ["What is 1+1?", "What is 2+2?"]
    assert result.skipped["unparseable"]["count"] == 1
    assert "p.csv:3: expected valid CSV; field larger than field limit" in result.skipped["unparseable"]["examples"][0]
    with pytest.raises(DataError, match="p.csv:3: expected valid CSV"):
        load(tmp_path, "p.csv")


def test_prompts_csv_with_column_mapping_and_multiline_cell(tmp_path):
    (tmp_path / "p.csv").write_text(
        'question,solution,task\n"What is\n2+2?",4,arithmetic\nName it,x,\n', encoding="utf-8"
    )
    result = load(tmp_path, "p.csv", columns={"prompt": "question", "answer": "solution"})
    assert only(result, "prompts") == [
        {"source": "p.csv", "prompt": "What is\n2+2?", "task": "arithmetic", "answer": "4"},
        {"source": "p.csv", "prompt": "Name it", "task": "", "answer": "x"},
    ]


def test_prompts_numeric_answer_becomes_text(tmp_path):
    write_jsonl(tmp_path / "p.jsonl", [{"prompt": "1+1?", "task": "arithmetic", "answer": 2}])
    assert only(load(tmp_path, "p.jsonl"), "prompts") == [
        {"source": "p.jsonl", "prompt": "1+1?", "task": "arithmetic", "answer": "2"}
    ]


def test_cpt_id_output_list(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps([{"ID": 1, "output": "doc one"}, {"ID": 2, "output": "doc two"}]))
    result = load(tmp_path, "c.json")
    assert only(result, "cpt") == [{"source": "c.json", "text": "doc one"}, {"source": "c.json", "text": "doc two"}]
    assert result.records["cpt"][0]["id"] == record_id({"text": "doc one"})


def test_text_records_as_cpt_and_as_sft(tmp_path):
    write_jsonl(tmp_path / "t.jsonl", [{"text": "plain words"}])
    assert only(load(tmp_path, "t.jsonl"), "cpt") == [{"source": "t.jsonl", "text": "plain words"}]
    assert only(load(tmp_path, "t.jsonl", use="sft"), "sft") == [sft("t.jsonl", [a("plain words")])]


def test_txt_blocks_and_file_modes(tmp_path):
    (tmp_path / "d.txt").write_text("\n\nfirst para\nline two\n\n\n  \nsecond para\n", encoding="utf-8")
    assert only(load(tmp_path, "d.txt"), "cpt") == [
        {"source": "d.txt", "text": "first para\nline two"},
        {"source": "d.txt", "text": "second para"},
    ]
    assert only(load(tmp_path, "d.txt", txt_mode="file"), "cpt") == [
        {"source": "d.txt", "text": "first para\nline two\n\n\n  \nsecond para"}
    ]


def test_parquet(tmp_path):
    pd.DataFrame({"instruction": ["Q1", "Q2"], "output": ["A1", "A2"]}).to_parquet(tmp_path / "p.parquet")
    result = load(tmp_path, "p.parquet")
    assert only(result, "sft") == [sft("p.parquet", [u("Q1"), a("A1")]), sft("p.parquet", [u("Q2"), a("A2")])]


def test_folder_and_glob(tmp_path):
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    write_jsonl(folder / "a.jsonl", [{"text": "from jsonl"}])
    (folder / "sub" / "b.txt").write_text("from txt", encoding="utf-8")
    (folder / "notes.yaml").write_text("ignored: true", encoding="utf-8")
    (folder / ".hidden.jsonl").write_text("not json", encoding="utf-8")
    expected = [{"source": "corpus", "text": "from jsonl"}, {"source": "corpus", "text": "from txt"}]
    assert only(load(tmp_path, "corpus"), "cpt") == expected
    globbed = only(load(tmp_path, "corpus/**/*.txt"), "cpt")
    assert globbed == [{"source": "corpus/**/*.txt", "text": "from txt"}]


def test_folder_mixing_alpaca_and_text_follows_first_use(tmp_path):
    (tmp_path / "d").mkdir()
    write_jsonl(tmp_path / "d" / "1.jsonl", [{"instruction": "Q", "output": "A"}])
    (tmp_path / "d" / "2.txt").write_text("whole text", encoding="utf-8")
    result = load(tmp_path, "d")
    assert only(result, "sft") == [sft("d", [u("Q"), a("A")]), sft("d", [a("whole text")])]
    assert result.per_source[0]["format"] == "alpaca+text"


def test_structured_trajectory(tmp_path):
    steps = [
        {"thought": "look", "action": "ls", "observation": "a.txt", "reward": 0.5},
        {"thought": "read", "action": "cat a.txt", "observation": "", "reward": 1},
    ]
    write_jsonl(
        tmp_path / "tr.jsonl",
        [
            {"instruction": "Find it", "input": "in cwd", "steps": steps, "task_id": 12, "reward": 1.0, "env": "sh"},
            {"instruction": "Again", "steps": [{"thought": "t", "action": "x"}, {"action": "y", "reward": 1.0}]},
        ],
    )
    result = load(tmp_path, "tr.jsonl")
    assert only(result, "sft") == [
        sft(
            "tr.jsonl",
            [
                u("Find it\n\nin cwd"),
                a("Thought: look\nAction: ls"),
                u("Observation: a.txt"),
                a("Thought: read\nAction: cat a.txt"),
            ],
            reward=1.0,
            step_rewards=[0.5, 1.0],
            task_id="12",
            meta='{"env":"sh"}',
        ),
        sft("tr.jsonl", [u("Again"), a("Thought: t\nAction: x"), a("Action: y")]),
    ]


def test_text_trajectory_in_response_and_output(tmp_path):
    response = "Step 1:\nThought: check\nAction: ping\nObservation: pong\nStep 2:\nThought: done\nFinal Answer: up"
    write_jsonl(
        tmp_path / "k.jsonl",
        [
            {"instruction": "Is it up?", "input": "", "response": response},
            {"instruction": "Again?", "output": response},
        ],
    )
    messages = [a("Thought: check\nAction: ping"), u("Observation: pong"), a("Thought: done\nFinal Answer: up")]
    result = load(tmp_path, "k.jsonl")
    assert only(result, "sft") == [
        sft("k.jsonl", [u("Is it up?")] + messages),
        sft("k.jsonl", [u("Again?")] + messages),
    ]
    assert result.per_source[0]["format"] == "trajectory"


def test_limit_and_count_tokens(tmp_path):
    write_jsonl(tmp_path / "t.jsonl", [{"text": "a b"}, {"text": "a b c d e"}, {"text": "c"}, {"text": "d e"}])
    data = DataConfig(max_length=3, on_bad_record="skip")
    result = load_sources(
        [SourceConfig(path="t.jsonl", limit=2)], data, str(tmp_path), count_tokens=lambda r: len(r["text"].split())
    )
    assert only(result, "cpt") == [{"source": "t.jsonl", "text": "a b"}, {"source": "t.jsonl", "text": "c"}]
    assert result.per_source[0]["records"] == 2 and result.per_source[0]["skipped"] == 1
    assert result.skipped == {"too_long": {"count": 1, "examples": ["t.jsonl:2: expected at most 3 tokens; got 5"]}}


def test_task_sources_are_left_to_the_caller(tmp_path):
    write_jsonl(tmp_path / "t.jsonl", [{"text": "x"}])
    sources = [SourceConfig(kind="task", task="arithmetic"), SourceConfig(path="t.jsonl")]
    result = load_sources(sources, DataConfig(), str(tmp_path))
    assert [s["source"] for s in result.per_source] == ["t.jsonl"]


def test_absolute_path_and_declared_format(tmp_path):
    write_jsonl(tmp_path / "x.jsonl", [{"text": "hello", "messages": "not a chat"}])
    result = load_sources([SourceConfig(path=str(tmp_path / "x.jsonl"), format="text")], DataConfig(), "/nonexistent")
    assert only(result, "cpt") == [{"source": str(tmp_path / "x.jsonl"), "text": "hello"}]


def _save_dataset(path, rows, split=None):
    import datasets

    ds = datasets.Dataset.from_list(rows)
    (datasets.DatasetDict({split: ds}) if split else ds).save_to_disk(str(path))


def test_datasets_load_from_disk(tmp_path):
    _save_dataset(tmp_path / "ds", [{"prompt": "1+2?", "task": "arithmetic", "answer": "3"}])
    _save_dataset(tmp_path / "dd", [{"text": "doc"}], split="validation")
    expected = [{"source": "ds", "prompt": "1+2?", "task": "arithmetic", "answer": "3"}]
    assert only(load(tmp_path, "ds", kind="datasets"), "prompts") == expected
    assert only(load(tmp_path, "ds"), "prompts") == expected  # a saved folder under kind: file works too
    split = load(tmp_path, "dd", kind="datasets", split="validation")
    assert only(split, "cpt") == [{"source": "dd:validation", "text": "doc"}]
    with pytest.raises(UserError, match=r"^dd: no split 'train'; it has validation$"):
        load(tmp_path, "dd", kind="datasets")


def test_unreachable_hub_id_is_a_user_error(tmp_path, monkeypatch):
    import datasets
    import huggingface_hub.constants

    # Offline mode makes the failure immediate instead of retrying the network.
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(UserError, match=r"^could not load dataset 'nobody/no-such-set' \(subset cfg, split train\)"):
        load(tmp_path, "nobody/no-such-set", kind="datasets", subset="cfg")


def test_source_name():
    assert source_name(SourceConfig(kind="datasets", path="org/set", subset="s", split="test")) == "org/set/s:test"
    assert source_name(SourceConfig(path="data/*.jsonl")) == "data/*.jsonl"


def test_corrupt_saved_dataset_folder_is_a_user_error(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "state.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(UserError, match=r"^could not load dataset 'bad' \(subset None, split train\): "):
        load(tmp_path, "bad", kind="datasets")


def test_parquet_is_read_one_row_group_at_a_time(tmp_path):
    # pyarrow pre-buffers every row group when a whole file is iterated; the reader must not: after its first row,
    # Arrow holds about one row group of a 40-group file, not the file.
    import pyarrow as pa
    import pyarrow.parquet as pq

    from trainpipe.data.readers import read_file

    rows = [{"text": f"document {i} " + "word " * 200} for i in range(8000)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "t.parquet", row_group_size=200, compression="none")
    whole = pa.Table.from_pylist(rows).nbytes
    del rows
    before = pa.total_allocated_bytes()
    reading = read_file(str(tmp_path / "t.parquet"), "t.parquet")
    first = next(reading)
    assert first.where == "row 1" and first.data["text"].startswith("document 0 word")
    assert pa.total_allocated_bytes() - before < whole / 10
    assert sum(1 for _ in reading) == 7999
