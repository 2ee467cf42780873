"""Canonical records: content-hash ids and one Arrow schema per use."""

from __future__ import annotations

import hashlib

import pyarrow as pa

from trainpipe.data.records import (
    arrow_schema,
    cpt_record,
    kto_record,
    message,
    preference_record,
    prompt_record,
    record_score,
    record_text,
    sft_record,
)


def test_id_is_sha1_of_canonical_content_json():
    record = cpt_record("any source", "héllo")
    expected = hashlib.sha1('{"text":"héllo"}'.encode("utf-8")).hexdigest()[:16]
    assert record == {"id": expected, "source": "any source", "text": "héllo"}
    # Bookkeeping fields do not change the id; content does.
    msgs = [message("user", "q"), message("assistant", "a")]
    assert sft_record("x", msgs, weight=3.0, meta={"k": 1})["id"] == sft_record("y", msgs)["id"]
    assert sft_record("x", msgs)["id"] != sft_record("x", msgs[:1] + [message("assistant", "b")])["id"]


def test_every_use_saves_as_one_arrow_table():
    msgs = [message("user", "q"), message("assistant", "a")]
    samples = {
        "cpt": [cpt_record("s", "t")],
        "sft": [
            sft_record("s", msgs, reward=0.5, step_rewards=[1, 0], task_id="7", meta={"why": "x"}),
            sft_record("s", msgs),
        ],
        "preference": [preference_record("s", msgs[:1], msgs[1:], [message("assistant", "b")])],
        "kto": [kto_record("s", msgs[:1], msgs[1:], 1)],
        "prompts": [prompt_record("s", "1+1?", "arithmetic", "2")],
    }
    for use, records in samples.items():
        table = pa.Table.from_pylist(records, schema=arrow_schema(use))
        assert table.to_pylist() == records
    assert samples["sft"][0]["meta"] == '{"why":"x"}' and samples["sft"][1]["meta"] == "{}"
    assert samples["sft"][0]["step_rewards"] == [1.0, 0.0] and samples["kto"][0]["label"] is True
    assert arrow_schema("sft").names == [
        "id",
        "source",
        "messages",
        "weight",
        "reward",
        "step_rewards",
        "task_id",
        "meta",
    ]


def test_record_text():
    pref = preference_record("s", [message("user", "q")], [message("assistant", "yes")], [message("assistant", "no")])
    assert record_text(pref, "preference") == "q\nyes\nno"
    assert record_text(prompt_record("s", "1+1?", "arithmetic", "2"), "prompts") == "1+1?\n2"


def test_record_score_reads_meta_eval_score_only():
    msgs = [message("user", "q"), message("assistant", "a")]
    assert record_score(sft_record("s", msgs, meta={"meta_eval_score": 4.5})) == 4.5
    assert record_score(sft_record("s", msgs, meta={"meta_eval_score": 3})) == 3.0
    # A trajectory's episode reward is not a score; neither is a bool, text, or a record without meta.
    assert record_score(sft_record("s", msgs, reward=0.9)) is None
    assert record_score(sft_record("s", msgs, meta={"meta_eval_score": True})) is None
    assert record_score(sft_record("s", msgs, meta={"meta_eval_score": "high"})) is None
    assert record_score({"messages": msgs}) is None and record_score({"meta": "not json"}) is None
