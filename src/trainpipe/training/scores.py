"""Scored conversations in SFT (sft.score): the minimum-score filter, score -> per-example loss weight, and the
score-conditioned prefix with the chat template that serves the top score. Reads sft records' meta_eval_score.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Optional, Sequence

from trainpipe.config import ScoreConfig
from trainpipe.data.records import record_score
from trainpipe.errors import UserError

log = logging.getLogger("trainpipe.sft")
SCORE_PREFIX = "score: "


@dataclass
class ScorePlan:
    """What sft.score does to one training set: records kept, how many the filter dropped, the top score."""

    records: list[dict]
    filtered: int
    scored: int  # scored records kept
    high: Optional[float]  # resolved top of the scale; None when no kept record has a score

    def report(self, cfg: ScoreConfig) -> dict:
        """Manifest fields; none at all in the default (no mode, no filter), so today's manifests stay as they are."""
        out = {}
        if cfg.min_score is not None:
            out["score_filtered"] = self.filtered
        if cfg.mode != "none":
            out.update(scored_records=self.scored, score_high=self.high)
        return out


def plan(records: Sequence[dict], cfg: ScoreConfig) -> ScorePlan:
    """Drop scored records below cfg.min_score and resolve the top score (cfg.high, else the highest kept)."""
    kept, filtered = [], 0
    for rec in records:
        score = record_score(rec)
        if score is not None and cfg.min_score is not None and score < cfg.min_score:
            filtered += 1
            continue
        kept.append(rec)
    if filtered and not kept:
        raise UserError(f"sft.score.min_score={cfg.min_score:g} drops all {filtered} training records; lower it")
    found = [s for s in map(record_score, kept) if s is not None]
    high = cfg.high if cfg.high is not None else (max(found) if found else None)
    if cfg.mode == "weight" and high is not None and high <= cfg.low:
        raise UserError(
            f"sft.score.high ({high}{'' if cfg.high is not None else ', the highest training score'}) "
            f"must be above sft.score.low ({cfg.low})"
        )
    if filtered:
        log.info("sft: dropped %d scored records below sft.score.min_score=%g", filtered, cfg.min_score)
    if cfg.mode != "none" and not found:
        log.warning(
            "sft.score.mode=%s: no training record has a meta_eval_score; nothing is weighted or prefixed", cfg.mode
        )
    return ScorePlan(kept, filtered, len(found), high)


def score_weight(score: float, low: float, high: float) -> float:
    """Loss weight of an example scored `score`: linear from low (0) to high (1), clipped to [0, 1]."""
    if high <= low:
        raise ValueError(f"high ({high}) must be above low ({low})")
    return min(1.0, max(0.0, (float(score) - low) / (high - low)))


def score_line(score: float) -> str:
    """The conditioning line, e.g. 'score: 4.5' ('%g': 5.0 renders as 5)."""
    return f"{SCORE_PREFIX}{float(score):g}"


def with_score_prefix(messages: Sequence[dict], score: float) -> list[dict]:
    """The conversation conditioned on `score`: the line opens the system message, or is the system message."""
    line = score_line(score)
    msgs = [dict(m) for m in messages]
    if msgs and msgs[0]["role"] == "system":
        msgs[0]["content"] = f"{line}\n{msgs[0]['content']}"
        return msgs
    return [{"role": "system", "content": line}] + msgs


def served_template(template: str, score: float) -> str:
    """`template` preceded by Jinja that renders every conversation as with_score_prefix(messages, score) would,
    unless its system message already opens with a score line (a caller may ask for another score)."""
    line = json.dumps(score_line(score))
    # No whitespace between the tags, so the preamble itself renders nothing. Jinja `if` opens no scope, so
    # the reassigned `messages` is what the original template loops over.
    preamble = (
        "{% if messages and messages[0]['role'] == 'system' %}"
        f"{{% if not messages[0]['content'].startswith({json.dumps(SCORE_PREFIX)}) %}}"
        f"{{% set messages = [{{'role': 'system', 'content': {line} + '\\n' + messages[0]['content']}}]"
        " + messages[1:] %}"
        "{% endif %}"
        f"{{% else %}}{{% set messages = [{{'role': 'system', 'content': {line}}}] + messages %}}"
        "{% endif %}"
    )
    return preamble + template


def serve_top_score(tokenizer, cfg: ScoreConfig, report: dict) -> None:
    """Prefix mode: give the tokenizer the served template at the top score, so everything rendered after this
    (replay, the saved model's chat_template, evaluation, deploy) conditions on the top score as trained."""
    high = report.get("score_high")
    if cfg.mode != "prefix" or high is None:
        return
    if not isinstance(tokenizer.chat_template, str):
        raise UserError("sft.score.mode=prefix needs a tokenizer with one chat template (a string)")
    tokenizer.chat_template = served_template(tokenizer.chat_template, high)
    log.info("sft: the saved chat template conditions on %r when no score line is given", score_line(high))
