"""report.html from a real evaluate stage run (models scored by a fixed answer pattern), opened in headless Chromium:
it loads without console errors, fetches nothing, shows user text as text, and choosing two models and "got worse" /
"got better" shows exactly the items the paired test counted."""

import itertools
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from trainpipe import artifacts
from trainpipe.evaluation import report_html, runner
from trainpipe.evaluation.checks import CHECKS
from trainpipe.evaluation.generate import Completion
from trainpipe.pipeline import run_stage
from trainpipe.tasks.sat import render_assignment, satisfies

SMALL = (
    "data.sources=[{kind: task, task: arithmetic, n: 40}, {kind: task, task: sat, n: 40}]",
    "data.eval_fraction=0.25",
    "evaluate.tasks=[arithmetic, sat]",
    "evaluate.max_examples=6",
    "evaluate.max_new_tokens=4",
    "evaluate.retention_max_new_tokens=4",
)
MARKUP = "</pre><script>console.error('ran')</script> & <b>bold</b>"  # a wrong answer that must stay text
RIGHT = {"base": lambda n: n % 2 == 0, "sft": lambda n: n % 3 == 0, "mine": lambda n: n % 5 == 0}


def _chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("TRAINPIPE_REQUIRE_CHROMIUM") == "1":
            pytest.fail("TRAINPIPE_REQUIRE_CHROMIUM=1 but no chromium on PATH (apt-get install chromium)")
        pytest.skip("no chromium on PATH (apt-get install chromium); TRAINPIPE_REQUIRE_CHROMIUM=1 makes this fail")
    return found


def _publish_model(root: Path, stage: str, seed: int) -> None:
    from trainpipe.models.load import build_tiny_random, embedded_tokenizer

    tok = embedded_tokenizer()
    dest = root / "models" / stage
    tmp = artifacts.temp_dir_for(dest)
    build_tiny_random(tok, seed).save_pretrained(tmp)
    tok.save_pretrained(tmp)
    artifacts.publish(tmp, dest, {"stage": stage, "fingerprint": f"{stage}-seed{seed}"})


def _right_answer(item: dict) -> str:
    """A completion the item's scorer accepts; for SAT, the first satisfying assignment in counting order."""
    if item["task"] in CHECKS:
        return item["answer"]
    if item["task"] == "sat":
        instance = json.loads(item["answer"])
        for bits in itertools.product((False, True), repeat=instance["n"]):
            values = dict(enumerate(bits, start=1))
            if satisfies(instance["clauses"], values):
                return f"Answer: {render_assignment(values)}"
    return f"Answer: {item['answer']}"


def _patterned_evaluate(cfg, path, suites):
    """Each model answers right the items its RIGHT rule picks (by position in the suite), else MARKUP; sft draws two
    samples on arithmetic (the first as above, the second wrong), so its scores there are 0.5 or 0. Text suites get a
    per-document NLL that rises and falls by model."""
    name = Path(path).name
    shift = {"base": 0, "sft": 1, "mine": 2}[name]
    out = {}
    for s in suites:
        if s.kind == "text":
            docs = [((1.0 + 0.1 * ((n + shift) % 3)) * 10, 10) for n in range(len(s.items))]
            out[s.name] = runner.text_result(s.items, docs, cfg.evaluate.level)
            continue
        right = [_right_answer(i) for i in s.items]
        texts = [r if RIGHT[name](n) else MARKUP for n, r in enumerate(right)]
        samples = [
            [Completion(t, 3)] + ([Completion(MARKUP, 3)] if name == "sft" and s.name == "arithmetic" else [])
            for t in texts
        ]
        out[s.name] = runner.task_result(s.items, samples, cfg.evaluate.level)
    return out


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Evaluate base, sft and an extra model once; every test reads the same logs/evaluate."""
    from conftest import make_config

    _chromium()  # skip (or fail) before the run when there is no browser to open its report
    root = tmp_path_factory.mktemp("report")
    _publish_model(root / "extra", "mine", 2)
    cfg = make_config(root, *SMALL, f"evaluate.models=[{root / 'extra' / 'models' / 'mine'}]")
    run_stage(cfg, "collect")
    _publish_model(root, "sft", 1)
    ckpt = root / "checkpoints" / "sft" / "checkpoint-4"  # a loss curve, for the second plot
    ckpt.mkdir(parents=True)
    (ckpt / "trainer_state.json").write_text(
        json.dumps({"log_history": [{"loss": 3.0, "step": 2}, {"loss": 2.0, "step": 4}]})
    )
    (ckpt / "COMPLETE").write_text("")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "evaluate_model", _patterned_evaluate)
        run_stage(cfg, "evaluate")
    return root / "logs" / "evaluate"


class _Items(HTMLParser):
    """From a dumped DOM: (suite, id) of the item articles without `hidden`, the #shown text, script and <b> counts,
    and the text of every completion."""

    def __init__(self, html: str):
        super().__init__()
        self.visible, self.all, self.samples, self.shown, self.scripts, self.bold = [], [], [], "", 0, 0
        self._into = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "article" and "item" in a.get("class", "").split():
            self.all.append((a["data-suite"], a["data-id"]))
            if "hidden" not in a:
                self.visible.append((a["data-suite"], a["data-id"]))
        self.scripts += tag == "script"
        self.bold += tag == "b"
        if (tag == "pre" and "sample" in a.get("class", "")) or a.get("id") == "shown":
            self._into = "sample" if tag == "pre" else "shown"
            if tag == "pre":
                self.samples.append("")

    def handle_endtag(self, tag):
        if tag in ("pre", "span"):
            self._into = None

    def handle_data(self, data):
        if self._into == "sample":
            self.samples[-1] += data
        elif self._into == "shown":
            self.shown += data


def _open(page: Path, fragment: str = "", *flags: str) -> tuple[_Items, list[str]]:
    """The DOM Chromium dumps after loading page#fragment, and its console lines (errors, uncaught exceptions)."""
    profile = page.parent / "chromium-profile"
    proc = subprocess.run(
        [
            _chromium(),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            f"--user-data-dir={profile}",
            *flags,
            "--dump-dom",
            page.resolve().as_uri() + fragment,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    return _Items(proc.stdout), console


def _expected(folder: Path, later: str, earlier: str) -> dict[str, set]:
    """From items.jsonl: the (suite, id) where `later` scores above / below `earlier` (−NLL per token for text)."""

    def score(rec: dict, kind: str) -> float:
        return -rec["nll"] / rec["tokens"] if kind == "text" else rec["score"]

    out = {"better": set(), "worse": set()}
    for line in (folder / "items.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        a, b = (score(row["models"][m], row["kind"]) for m in (later, earlier))
        if a != b:
            out["better" if a > b else "worse"].add((row["suite"], row["id"]))
    return out


def test_report_loads_in_chromium_and_fetches_nothing(report):
    html = (report / "report.html").read_text(encoding="utf-8")
    assert not re.findall(r'(?:src|href)="(?!data:|#)', html)  # plots inline, no scripts or styles from elsewhere
    assert html.count('src="data:image/png;base64,') == 2  # accuracy and training curves
    page, console = _open(report / "report.html")
    assert console == []
    rows = [json.loads(line) for line in (report / "items.jsonl").read_text(encoding="utf-8").splitlines()]
    metrics = json.loads((report / "metrics.json").read_text())
    assert len(rows) == sum(s["n"] for s in metrics["suites"]) == len(page.all) == len(page.visible)
    assert page.shown == f"{len(rows)} of {len(rows)} items shown"
    # Every completion is there, markup shown as text: the page's two scripts are its only ones, its <b>s its own.
    arithmetic = [r for r in rows if r["suite"] == "arithmetic"]
    assert [r["models"]["sft"]["completions"] for r in arithmetic] == [
        [f"Answer: {r['reference']}" if n % 3 == 0 else MARKUP, MARKUP] for n, r in enumerate(arithmetic)
    ]
    records = [r["models"][m["name"]] for r in rows for m in metrics["models"]]  # the page's order
    texts = [t for rec in records if rec and "completion" in rec for t in rec.get("completions") or [rec["completion"]]]
    assert page.samples == texts and texts.count(MARKUP) > 0
    template = Path(report_html.__file__).with_name("templates") / "report.html.j2"
    assert page.scripts == 2 and page.bold == template.read_text().count("<b>") == 3


def test_the_console_check_catches_a_script_error(report, tmp_path):
    broken = tmp_path / "report.html"
    broken.write_text(
        (report / "report.html")
        .read_text(encoding="utf-8")
        .replace("</body>", "<script>undefinedHelper();</script></body>"),
        encoding="utf-8",
    )
    _, console = _open(broken)
    assert len(console) == 1 and "Uncaught ReferenceError: undefinedHelper is not defined" in console[0]


@pytest.mark.parametrize("later, earlier", [("sft", "base"), ("base", "sft"), ("mine", "base"), ("mine", "sft")])
def test_worse_and_better_show_exactly_the_items_the_paired_test_counted(report, later, earlier):
    metrics = json.loads((report / "metrics.json").read_text())
    expected = _expected(report, later, earlier)
    assert expected["better"] and expected["worse"]
    for change in ("worse", "better"):
        page, console = _open(report / "report.html", f"#a={earlier}&b={later}&filter={change}")
        assert console == [] and set(page.visible) == expected[change] and len(page.visible) == len(expected[change])
        word = "got worse" if change == "worse" else "got better"
        assert page.shown == f"{len(expected[change])} of {len(page.all)} items shown, {word} from {earlier} to {later}"
        for comp in metrics["comparisons"]:  # the pairs the report compares: the paired test's own counts
            if (comp["model"], comp["baseline"]) == (later, earlier):
                for suite, v in comp["suites"].items():
                    assert sum(s == suite for s, _ in page.visible) == v["paired"][change]


def test_the_selects_and_the_suite_filter_drive_the_same_view(report, tmp_path):
    """Choosing from, to, filter and suite in the page's own controls (a script changes them as a person would)."""
    choose = (
        "<script>for (const [id, v] of [['a', 'mine'], ['b', 'base'], ['filter', 'better'], ['suite', 'sat']]) {"
        "const s = document.getElementById(id); s.value = v; s.dispatchEvent(new Event('change')); }</script>"
    )
    page_file = tmp_path / "report.html"
    page_file.write_text(
        (report / "report.html").read_text(encoding="utf-8").replace("</body>", choose + "</body>"), encoding="utf-8"
    )
    page, console = _open(page_file, "", "--virtual-time-budget=3000")  # lets the hashchange task run
    assert console == []
    assert set(page.visible) == {k for k in _expected(report, "base", "mine")["better"] if k[0] == "sat"} != set()
    assert page.shown == f"{len(page.visible)} of {len(page.all)} items shown, got better from mine to base"


def test_each_kind_of_record_is_put_in_words():
    from trainpipe.evaluation.report_html import _answer

    episode = {
        "score": 1.0,
        "return": 0.75,
        "turns": 3,
        "samples": 1,
        "correct": 1,
        "tokens": 9,
        "format_ok": True,
        "completion": "[assistant] Action: up",
    }
    assert _answer("environment", episode) == {
        "score": "1.00",
        "verdict": "goal reached, return +0.75, 3 turns",
        "tone": "good",
        "texts": ["[assistant] Action: up"],
    }
    sampled = {
        "score": 0.5,
        "samples": 2,
        "correct": 1,
        "tokens": 3,
        "format_ok": False,
        "completion": "a",
        "completions": ["a", "b"],
    }
    assert _answer("task", sampled) == {
        "score": "0.50",
        "verdict": "1 of 2 samples correct, format not followed",
        "tone": "part",
        "texts": ["a", "b"],
    }
    assert _answer("text", {"nll": 12.0, "tokens": 8}) == {
        "score": "1.500",
        "verdict": "NLL/token over 8 tokens",
        "tone": "",
        "texts": [],
    }
    assert _answer("task", None)["verdict"] == "not scored"
