"""Dataset hygiene on canonical records: dedup, a stable hash split into train/eval,
a train/eval word n-gram contamination report, and weighted mixing of sources.
"""
from __future__ import annotations

from collections import Counter

import hashlib
import random
import re
import unicodedata
from typing import Any, Callable, Iterable, Optional

from trainpipe.data.records import canonical_json, content_of
from trainpipe.errors import UserError

_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORD = re.compile(r"\w+")


# ---- dedup --------------------------------------------------------------------------------------------


def normalize_text(text: str) -> str:
    """Lowercase, drop punctuation (Unicode category P*), collapse whitespace."""
    kept = "".join(ch for ch in text.lower() if not unicodedata.category(ch).startswith("P"))
    return " ".join(kept.split())


def _normalize_value(value: Any) -> Any:
    # Normalise each string in place, so field boundaries still separate text ("a" + "b" is not "ab").
    if isinstance(value, str):
        return normalize_text(value)
    if isinstance(value, list):
        return [_normalize_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalize_value(v) for k, v in value.items()}
    return value


def dedup_key(record: dict, use: str, mode: str) -> str:
    """sha1 of the canonical JSON of the content fields ("exact"), or of their normalized text."""
    content = content_of(record, use)
    if mode == "normalized":
        content = _normalize_value(content)
    return hashlib.sha1(canonical_json(content).encode("utf-8")).hexdigest()


def dedup(records: list[dict], use: str, mode: str) -> tuple[list[dict], int]:
    """Keep the first occurrence of each record; returns (kept, number dropped). mode: none, exact, normalized."""
    if mode == "none":
        return list(records), 0
    seen: set[str] = set()
    kept = []
    for record in records:
        key = dedup_key(record, use, mode)
        if key not in seen:
            seen.add(key)
            kept.append(record)
    return kept, len(records) - len(kept)


# ---- split --------------------------------------------------------------------------------------------


def split_hash(record_id: str, seed: int | str) -> float:
    """(seed, id) -> [0, 1), uniform and independent of every other record."""
    digest = hashlib.sha256(f"{seed}:{record_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_eval(record_id: str, eval_fraction: float, seed: int) -> bool:
    """Held out iff the record's hash is below eval_fraction: adding records never moves an old one."""
    return split_hash(record_id, seed) < eval_fraction


def split_records(
    records: list[dict], eval_fraction: float, eval_max: int, seed: int,
    group: Optional[Callable[[dict], Any]] = None,
) -> tuple[list[dict], list[dict]]:
    """(train, eval) in input order. At most `eval_max` eval records per group (e.g. per task): those with
    the smallest hash stay eval and the overflow goes to train, so growth only ever moves records from eval
    to train, never from train to eval (a model trained earlier never saw a record that is eval now).
    """
    candidates: dict[Any, list[tuple[float, int]]] = {}
    for i, record in enumerate(records):
        h = split_hash(record["id"], seed)
        if h < eval_fraction:
            candidates.setdefault(group(record) if group else None, []).append((h, i))
    held = {i for found in candidates.values() for _, i in sorted(found)[:eval_max]}
    train = [r for i, r in enumerate(records) if i not in held]
    return train, [r for i, r in enumerate(records) if i in held]


# ---- contamination ------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _grams(words: list[str], n: int) -> set[int]:
    # Python hashes of the gram tuples: a set of ints is far smaller than a set of tuples of strings.
    return {hash(tuple(words[i:i + n])) for i in range(len(words) - n + 1)}


def _tokens(text: str) -> list[str]:
    # Operators and punctuation stay tokens, so "47 + 38" and "47 - 38" are different content.
    return _TOKEN.findall(text.lower())


def _boilerplate(texts: list[str], share: float = 0.2) -> set[tuple[str, str]]:
    """Bigrams in at least `share` of the texts (and 3 of them): the instructions a template repeats."""
    doc_freq: Counter = Counter()
    for text in texts:
        toks = _tokens(text)
        doc_freq.update(set(zip(toks, toks[1:])))
    floor = max(3, share * len(texts))
    return {bigram for bigram, count in doc_freq.items() if count >= floor}


def _segments(text: str, boiler: set[tuple[str, str]]) -> list[list[str]]:
    """Runs of tokens not covered by a boilerplate bigram: the content that identifies a record."""
    toks = _tokens(text)
    masked = [False] * len(toks)
    for i in range(len(toks) - 1):
        if (toks[i], toks[i + 1]) in boiler:
            masked[i] = masked[i + 1] = True
    runs, current = [], []
    for tok, m in zip(toks, masked):
        if m:
            runs, current = (runs + [current] if current else runs), []
        else:
            current.append(tok)
    return runs + [current] if current else runs


def contamination_report(train_texts: Iterable[str], eval_sets: dict[str, list[str]], n: int,
                         min_tokens: int = 3, templates: Optional[dict[str, list[list[str]]]] = None
                         ) -> dict[str, dict]:
    """{eval set: {"overlapping", "total", "share"}}. Template boilerplate is masked first (generated
    prompts all repeat their instructions): bigrams shared by many texts of the eval set, and by many texts
    of each group in `templates[eval set]` (e.g. all records, train and held-out, of each source the eval
    set draws on: an eval set of two generated items cannot show its own template). An eval text is
    contaminated when one of its content runs shares an n-gram with training content, or, for runs shorter
    than n (but at least `min_tokens`), when the run occurs verbatim in a training text.
    """
    train_texts = list(train_texts)
    report = {}
    for name, texts in eval_sets.items():
        boiler = _boilerplate(texts)
        for group in (templates or {}).get(name, []):
            boiler |= _boilerplate(group)
        grams: set[int] = set()
        joined: list[str] = []
        for text in train_texts:
            for run in _segments(text, boiler):
                grams |= _grams(run, n)
                joined.append(f" {' '.join(run)} ")
        haystack = "\n".join(joined)
        hits = 0
        for text in texts:
            runs = _segments(text, boiler) or [_tokens(text)]
            hits += any((len(r) >= n and not grams.isdisjoint(_grams(r, n)))
                        or (min(min_tokens, len(_tokens(text))) <= len(r) < n and f" {' '.join(r)} " in haystack)
                        for r in runs)
        report[name] = {"overlapping": hits, "total": len(texts), "share": hits / len(texts) if texts else 0.0}
    return report


# ---- mixing -------------------------------------------------------------------------------------------


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Integer shares of `total` proportional to weights (largest remainder; ties to the earlier source)."""
    quotas = [total * w / sum(weights) for w in weights]
    shares = [int(q) for q in quotas]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - shares[i]), i))
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares


def _resample(pool: list[dict], target: int, seed: int) -> list[dict]:
    """`target` records from pool: whole copies, then the records first in a seeded hash order."""
    copies, rest = divmod(target, len(pool))
    order = sorted(range(len(pool)), key=lambda i: split_hash(pool[i]["id"], f"mix-{seed}"))
    return pool * copies + [pool[i] for i in sorted(order[:rest])]


def mix(records_by_source: list[tuple[list[dict], float, Optional[int]]], seed: int) -> list[dict]:
    """Mix sources so each one's share of the result is proportional to its weight.

    Rule: each source is cut to its first `limit` records; the result has as many records as those pools
    hold together, and source i gets round(total * w_i / sum(w)) of them: every record repeated whole as
    often as fits (upsampling), the remainder taken in a hash order of record ids (so downsampling keeps
    the same records as the data grows). Weight 0 drops a source. The result is shuffled with `seed`.
    """
    if any(weight < 0 for _, weight, _ in records_by_source):
        raise UserError("data.sources: a mixing weight is negative; expected weight >= 0")
    pools = [(list(recs)[:limit] if limit is not None else list(recs), w) for recs, w, limit in records_by_source]
    pools = [(pool, w) for pool, w in pools if pool and w > 0]
    if not pools:
        return []
    shares = _apportion(sum(len(pool) for pool, _ in pools), [w for _, w in pools])
    mixed = [r for (pool, _), share in zip(pools, shares) for r in _resample(pool, share, seed)]
    random.Random(seed).shuffle(mixed)
    return mixed
