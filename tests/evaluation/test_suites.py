"""Suite building: per-suite sampling settings, user eval files, the general-text (perplexity) suites and the
retention Q&A suites, each split into dev and test."""

import json

import pytest

from trainpipe.errors import DataError, UserError
from trainpipe.evaluation import general_text
from trainpipe.evaluation.results import RETENTION, Suite
from trainpipe.evaluation.retention import candidate_items, part_of
from trainpipe.evaluation.suites import file_suites, generation_settings, load_suites, retention_suites, text_suites


def test_greedy_by_default_and_sampling_per_suite(smoke_cfg):
    cfg = smoke_cfg("evaluate.sampling={sat: {temperature: 0.7, samples: 4}}")
    assert generation_settings(cfg, "arithmetic") == {"max_new_tokens": 8, "temperature": 0.0, "samples": 1, "seed": 0}
    assert generation_settings(cfg, "sat") == {"max_new_tokens": 8, "temperature": 0.7, "samples": 4, "seed": 0}


@pytest.mark.parametrize(
    "override,message",
    [
        ("{sat: {temp: 0.7}}", "unknown key(s) temp"),
        ("{sat: {samples: 4}}", "set a temperature > 0 for pass@k"),
        ("{sat: {samples: 0, temperature: 1.0}}", "expected samples >= 1"),
    ],
)
def test_bad_sampling_settings_are_user_errors(smoke_cfg, override, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        generation_settings(smoke_cfg(f"evaluate.sampling={override}"), "sat")


def test_fingerprint_follows_items_and_settings():
    items = [{"id": "a", "prompt": "p", "answer": "1", "task": "number"}]
    base = Suite("s", "task", items, {"temperature": 0.0})
    assert base.fingerprint == Suite("s", "task", [dict(items[0])], {"temperature": 0.0}).fingerprint
    assert base.fingerprint != Suite("s", "task", items, {"temperature": 0.5}).fingerprint
    assert base.fingerprint != Suite("s", "task", [{**items[0], "answer": "2"}], {"temperature": 0.0}).fingerprint
    history = [{"role": "user", "content": "My name is Sam."}, {"role": "assistant", "content": "Hi Sam!"}]
    chat = Suite("s", "task", [{**items[0], "history": history}], {"temperature": 0.0})
    assert chat.fingerprint != base.fingerprint  # earlier turns change what the model is asked
    other = [{**history[0], "content": "My name is Ann."}, history[1]]
    assert chat.fingerprint != Suite("s", "task", [{**items[0], "history": other}], {"temperature": 0.0}).fingerprint


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_eval_file_becomes_a_suite(smoke_cfg, tmp_path):
    cfg = smoke_cfg()
    cfg.evaluate.files = [
        _write_jsonl(
            tmp_path / "mine.jsonl",
            [
                {"prompt": "Capital of France?", "answer": "Paris", "task": "word"},
                {"prompt": "What is 2 + 2?", "answer": 4, "task": "arithmetic"},
            ],
        )
    ]
    [suite] = file_suites(cfg)
    assert (suite.name, suite.kind, suite.group) == ("file:mine", "task", "file")
    assert [(i["prompt"], i["answer"], i["task"]) for i in suite.items] == [
        ("Capital of France?", "Paris", "word"),
        ("What is 2 + 2?", "4", "arithmetic"),
    ]


def test_eval_file_errors_name_file_and_record(smoke_cfg, tmp_path):
    cfg = smoke_cfg()
    cfg.evaluate.files = [
        _write_jsonl(
            tmp_path / "bad.jsonl",
            [{"prompt": "a", "answer": "b", "task": "word"}, {"prompt": "c", "answer": "d", "task": "poetry"}],
        )
    ]
    with pytest.raises(
        UserError, match=r"bad.jsonl: record 2: field 'task': expected one of arithmetic, .*got 'poetry'"
    ):
        file_suites(cfg)
    cfg.evaluate.files = [
        _write_jsonl(
            tmp_path / "short.jsonl",
            [{"prompt": "a", "answer": "b", "task": "word"}, {"prompt": "c", "task": "word", "answer": None}],
        )
    ]
    with pytest.raises(DataError, match=r"short.jsonl:2: field 'answer'"):
        file_suites(cfg)


def _save(folder, eval_rows):
    from trainpipe.data.store import save_splits

    use = folder.name
    defaults = {
        "sft": {"source": "t", "weight": 1.0, "reward": None, "step_rewards": [], "task_id": None, "meta": "{}"},
        "cpt": {"source": "t"},
    }[use]
    rows = [{**defaults, **r} for r in eval_rows]
    save_splits(folder, use, {"train": rows, "eval": rows})


def test_text_suites_without_cpt_hold_the_builtin_passages_split_into_dev_and_test(smoke_cfg, tmp_path):
    collect = tmp_path / "collect"
    # Task answers in the sft split are in-domain; they must not stand in for general text.
    _save(
        collect / "sft",
        [
            {
                "id": f"s{i}",
                "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": f"reply {i}"}],
            }
            for i in range(3)
        ],
    )
    dev, test = text_suites(smoke_cfg("evaluate.max_examples=200"), collect)
    assert [(s.name, s.kind, s.group, s.part) for s in (dev, test)] == [
        ("retention_text_dev", "text", RETENTION, "dev"),
        ("retention_text_test", "text", RETENTION, "test"),
    ]
    everything = general_text.items()
    assert dev.items == [i for i in everything if part_of(i["id"]) == "dev"]
    assert test.items == [i for i in everything if part_of(i["id"]) == "test"]
    assert len(dev.items) + len(test.items) == len(everything) == len(general_text.PASSAGES)
    assert 0.3 <= len(dev.items) / len(everything) <= 0.5
    assert dev.settings == test.settings == {"max_tokens": 256}
    assert dev.note == (
        f"retention_text_dev: {len(dev.items)} built-in general-prose passages (collect holds no cpt eval split)"
    )
    assert [s.fingerprint for s in text_suites(smoke_cfg("evaluate.max_examples=200"), tmp_path / "empty")] == [
        dev.fingerprint,
        test.fingerprint,
    ]
    capped = text_suites(smoke_cfg(), collect)  # smoke caps suites at 16 items
    assert [s.items for s in capped] == [dev.items[:16], test.items[:16]]
    assert capped[1].note.startswith(f"retention_text_test: 16 of {len(test.items)} (evaluate.max_examples) built-in")
    assert text_suites(smoke_cfg("evaluate.max_examples=1"), collect) == []  # one document gives no interval


def test_text_suites_use_the_cpt_eval_split_when_each_part_has_enough_documents(smoke_cfg, tmp_path):
    collect = tmp_path / "collect"
    rows = [{"id": f"c{i}", "text": f"General text {i}."} for i in range(12)] + [{"id": "blank", "text": "  "}]
    _save(collect / "cpt", rows)
    dev, test = text_suites(smoke_cfg(), collect)
    assert dev.items == [r for r in rows[:12] if part_of(r["id"]) == "dev"]  # the same stable split as built-ins
    assert test.items == [r for r in rows[:12] if part_of(r["id"]) == "test"]
    assert len(dev.items) >= 2 and len(test.items) >= 2
    assert dev.note == f"retention_text_dev: {len(dev.items)} documents from collect's cpt eval split"
    assert dev.fingerprint != text_suites(smoke_cfg(), tmp_path / "empty")[0].fingerprint
    _save(collect / "cpt", [{"id": "c1", "text": "Only one document."}])  # too few for an interval
    dev, test = text_suites(smoke_cfg(), collect)
    assert all(i["id"].startswith("general-") for i in dev.items + test.items)
    assert (
        "(collect's cpt eval split holds 1 non-empty document(s), too few for an interval on each of dev and test)"
    ) in dev.note


def test_builtin_passages_are_distinct_plain_prose_of_bounded_length():
    passages = general_text.PASSAGES
    assert len(passages) >= 64 and len(set(passages)) == len(passages)
    for text in passages:
        assert text == text.strip() and "  " not in text and text.endswith("."), text[:40]
        assert 60 <= len(text.split()) <= 120, (len(text.split()), text[:40])
    items = general_text.items()
    assert [i["id"] for i in items] == [f"general-{i:03d}" for i in range(len(passages))]
    assert items == general_text.items()


def test_load_suites_checks_sampling_names_and_missing_prompts(smoke_cfg, tmp_path):
    with pytest.raises(UserError, match="held-out prompts"):
        load_suites(smoke_cfg(), tmp_path)
    cfg = smoke_cfg("evaluate.tasks=[]", "evaluate.sampling={arith: {temperature: 1.0}}")
    with pytest.raises(UserError, match="evaluate.sampling names unknown suite"):
        load_suites(cfg, tmp_path)


def test_retention_suites_are_greedy_and_split_every_builtin_item_into_dev_and_test(smoke_cfg):
    cfg = smoke_cfg("evaluate.temperature=0.9", "evaluate.retention_max_new_tokens=12")
    dev, test = retention_suites(cfg)
    assert [(s.name, s.kind, s.group, s.part) for s in (dev, test)] == [
        ("retention_dev", "task", RETENTION, "dev"),
        ("retention_test", "task", RETENTION, "test"),
    ]
    assert dev.settings == test.settings == {"max_new_tokens": 12, "temperature": 0.0, "samples": 1, "seed": 0}
    everything = candidate_items()
    assert dev.items == [i for i in everything if part_of(i["id"]) == "dev"]
    assert test.items == [i for i in everything if part_of(i["id"]) == "test"]
    # Dropping an item never moves another one between the parts.
    some = everything[::3]
    assert retention_suites(cfg, some[1:])[1].items == [i for i in retention_suites(cfg, some)[1].items if i != some[0]]
    only_test = [i for i in everything if part_of(i["id"]) == "test"][:2]
    assert [s.name for s in retention_suites(cfg, only_test)] == ["retention_test"]
    assert retention_suites(cfg, []) == []
