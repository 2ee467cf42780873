"""Dataset hygiene on canonical records: dedup, a stable hash split into train/eval,
a train/eval word n-gram contamination report, and weighted mixing of sources.

Each step also runs one record at a time in bounded memory, so collect can stream data larger than memory: the split
keeps eval_max candidates per group, mixing orders row numbers, and contamination indexes the (small) eval side.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import random
import re
import sys
import unicodedata
from collections import Counter
from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np

from trainpipe.data.records import canonical_json, content_of
from trainpipe.errors import UserError

_TOKEN = re.compile(r"\w+|[^\w\s]")
BOILERPLATE_CHUNK = 1 << 18  # bigram counts (about 100 bytes each) kept before a chunk's candidates are taken


# ---- dedup --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _punctuation() -> dict[int, None]:
    # Every code point of Unicode category P*, for str.translate: one C pass instead of a Python loop per character.
    return {c: None for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)).startswith("P")}


def normalize_text(text: str) -> str:
    """Lowercase, drop punctuation (Unicode category P*), collapse whitespace."""
    return " ".join(text.lower().translate(_punctuation()).split())


def _normalize_value(value: Any) -> Any:
    # Normalise each string in place, so field boundaries still separate text ("a" + "b" is not "ab").
    if isinstance(value, str):
        return normalize_text(value)
    if isinstance(value, list):
        return [_normalize_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalize_value(v) for k, v in value.items()}
    return value


def dedup_key(record: dict, use: str, mode: str) -> bytes:
    """sha1 of the canonical JSON of the content fields ("exact"), or of their normalized text."""
    content = content_of(record, use)
    if mode == "normalized":
        content = _normalize_value(content)
    return hashlib.sha1(canonical_json(content).encode("utf-8")).digest()


class Dedup:
    """First occurrences, one record at a time: keeps one 20-byte digest per distinct record, never the records."""

    def __init__(self, use: str, mode: str):
        self.use, self.mode, self.dropped = use, mode, 0
        self._seen: set[bytes] = set()

    def first(self, record: dict) -> bool:
        if self.mode == "none":
            return True
        key = dedup_key(record, self.use, self.mode)
        if key in self._seen:
            self.dropped += 1
            return False
        self._seen.add(key)
        return True


def dedup(records: list[dict], use: str, mode: str) -> tuple[list[dict], int]:
    """Keep the first occurrence of each record; returns (kept, number dropped). mode: none, exact, normalized."""
    found = Dedup(use, mode)
    return [r for r in records if found.first(r)], found.dropped


# ---- split --------------------------------------------------------------------------------------------


def split_hash(record_id: str, seed: int | str) -> float:
    """(seed, id) -> [0, 1), uniform and independent of every other record."""
    digest = hashlib.sha256(f"{seed}:{record_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_eval(record_id: str, eval_fraction: float, seed: int) -> bool:
    """Held out iff the record's hash is below eval_fraction: adding records never moves an old one."""
    return split_hash(record_id, seed) < eval_fraction


class HeldOut:
    """split_records' choice made one record at a time: per group, the `eval_max` records with the smallest
    (hash, index) among those whose hash is below eval_fraction, kept in a bounded heap."""

    def __init__(self, eval_fraction: float, eval_max: int, seed: int):
        self.eval_fraction, self.eval_max, self.seed = eval_fraction, eval_max, seed
        self._heaps: dict[Any, list[tuple[float, int]]] = {}  # (-hash, -index): the largest kept pair on top

    def offer(self, index: int, record_id: str, group: Any = None) -> None:
        h = split_hash(record_id, self.seed)
        if h >= self.eval_fraction or self.eval_max <= 0:
            return
        heap = self._heaps.setdefault(group, [])
        if len(heap) < self.eval_max:
            heapq.heappush(heap, (-h, -index))
        elif (-h, -index) > heap[0]:
            heapq.heapreplace(heap, (-h, -index))

    def indexes(self) -> set[int]:
        return {-i for heap in self._heaps.values() for _, i in heap}


def split_records(
    records: list[dict],
    eval_fraction: float,
    eval_max: int,
    seed: int,
    group: Optional[Callable[[dict], Any]] = None,
) -> tuple[list[dict], list[dict]]:
    """(train, eval) in input order. At most `eval_max` eval records per group (e.g. per task): those with
    the smallest hash stay eval and the overflow goes to train, so growth only ever moves records from eval
    to train, never from train to eval (a model trained earlier never saw a record that is eval now).
    """
    chosen = HeldOut(eval_fraction, eval_max, seed)
    for i, record in enumerate(records):
        chosen.offer(i, record["id"], group(record) if group else None)
    held = chosen.indexes()
    train = [r for i, r in enumerate(records) if i not in held]
    return train, [r for i, r in enumerate(records) if i in held]


# ---- contamination ------------------------------------------------------------------------------------


def _grams(words: list[str], n: int) -> set[int]:
    # Python hashes of the gram tuples: a set of ints is far smaller than a set of tuples of strings.
    return {hash(tuple(words[i : i + n])) for i in range(len(words) - n + 1)}


def _tokens(text: str) -> list[str]:
    # Operators and punctuation stay tokens, so "47 + 38" and "47 - 38" are different content.
    return _TOKEN.findall(text.lower())


class Boilerplate:
    """Per group of texts (e.g. a source), the bigrams in at least `share` of its texts (and 3 of them): the
    instructions a template repeats. The texts are read twice rather than held: the first pass keeps, per chunk
    of texts, the bigrams in `share` of that chunk's texts (a bigram in `share` of all texts is so in some chunk),
    the second counts only those, so memory follows one chunk's bigrams and the candidates, not all texts. The first
    pass counts bigrams by their Python hash: a collision only adds a candidate, which the second pass counts."""

    def __init__(self, share: float = 0.2):
        self.share = share
        self.texts: Counter = Counter()  # group -> texts read in the first pass
        self._candidates: dict[Any, set[int]] = {}  # group -> hashes of its candidate bigrams
        self._chunk: dict[Any, Counter] = {}
        self._chunk_texts: Counter = Counter()
        self._chunk_size = 0
        self._counts: dict[Any, Counter] = {}

    def first(self, text: str, *groups: Any) -> None:
        """First pass: one text of each of `groups`."""
        toks = _tokens(text)
        bigrams = {hash(b) for b in zip(toks, toks[1:])}
        for group in groups:
            self._chunk.setdefault(group, Counter()).update(bigrams)
            self._chunk_texts[group] += 1
            self.texts[group] += 1
            self._chunk_size += len(bigrams)
        if self._chunk_size >= BOILERPLATE_CHUNK:
            self._end_chunk()

    def _end_chunk(self) -> None:
        for group, counts in self._chunk.items():
            floor = self.share * self._chunk_texts[group]
            self._candidates.setdefault(group, set()).update(b for b, n in counts.items() if n >= floor)
        self._chunk, self._chunk_texts, self._chunk_size = {}, Counter(), 0

    def second(self, text: str, *groups: Any) -> None:
        """Second pass: the same texts again, in any order."""
        if self._chunk:
            self._end_chunk()
        toks = _tokens(text)
        bigrams = set(zip(toks, toks[1:]))
        for group in groups:
            wanted = self._candidates.get(group, set())
            self._counts.setdefault(group, Counter()).update(b for b in bigrams if hash(b) in wanted)

    def bigrams(self, group: Any) -> set[tuple[str, str]]:
        floor = max(3, self.share * self.texts[group])
        return {bigram for bigram, count in self._counts.get(group, {}).items() if count >= floor}


def _boilerplate(texts: list[str], share: float = 0.2) -> set[tuple[str, str]]:
    found = Boilerplate(share)
    for pass_ in (found.first, found.second):
        for text in texts:
            pass_(text, None)
    return found.bigrams(None)


def _runs(toks: list[str], boiler: set[tuple[str, str]]) -> list[list[str]]:
    """Runs of tokens not covered by a boilerplate bigram: the content that identifies a record."""
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


class Overlap:
    """Which texts of each eval set share content with training text (see contamination_report), with the
    training side streamed: the eval sets are indexed first (the n-grams of their content runs, and their runs
    shorter than n as token tuples by length), then each training text is matched against them as it comes, its
    n-grams and its windows of each short length. Memory follows the eval sets, not the training data."""

    def __init__(self, eval_sets: dict[str, list[str]], n: int, boilers: dict[str, set], min_tokens: int = 3):
        self.n, self.boilers = n, boilers
        self.totals = {name: len(texts) for name, texts in eval_sets.items()}
        self._hit: dict[str, set[int]] = {name: set() for name in eval_sets}
        self._grams: dict[str, dict[int, list[int]]] = {name: {} for name in eval_sets}
        self._short: dict[str, dict[int, dict[tuple, list[int]]]] = {name: {} for name in eval_sets}
        for name, texts in eval_sets.items():
            for i, text in enumerate(texts):
                toks = _tokens(text)
                for run in _runs(toks, boilers[name]) or [toks]:
                    if len(run) >= n:
                        for gram in _grams(run, n):
                            self._grams[name].setdefault(gram, []).append(i)
                    elif run and min(min_tokens, len(toks)) <= len(run):  # a text without tokens matches nothing
                        self._short[name].setdefault(len(run), {}).setdefault(tuple(run), []).append(i)
        self._gram_sets = {name: set(grams) for name, grams in self._grams.items()}
        self._short_sets = {
            name: {k: set(runs) for k, runs in by_length.items()} for name, by_length in self._short.items()
        }

    def add(self, text: str, names: Optional[Iterable[str]] = None) -> None:
        """One training text, matched against every eval set (or those in `names`)."""
        toks = _tokens(text)
        for name in self._grams if names is None else names:
            hit = self._hit[name]
            if len(hit) == self.totals[name]:
                continue
            for run in _runs(toks, self.boilers[name]):
                for gram in _grams(run, self.n) & self._gram_sets[name]:
                    hit.update(self._grams[name][gram])
                # A short eval run occurs verbatim in training content iff it equals a window of a training run.
                for k, wanted in self._short_sets[name].items():
                    for found in wanted.intersection(zip(*(run[j:] for j in range(k)))) if len(run) >= k else ():
                        hit.update(self._short[name][k][found])

    def report(self) -> dict[str, dict]:
        return {
            name: {
                "overlapping": len(self._hit[name]),
                "total": total,
                "share": len(self._hit[name]) / total if total else 0.0,
            }
            for name, total in self.totals.items()
        }


def eval_boilerplate(texts: list[str], groups: Iterable[list[str]] = ()) -> set[tuple[str, str]]:
    """The bigrams masked for an eval set: its own template and each group's (see contamination_report)."""
    return _boilerplate(texts).union(*(_boilerplate(group) for group in groups))


def contamination_report(
    train_texts: Iterable[str],
    eval_sets: dict[str, list[str]],
    n: int,
    min_tokens: int = 3,
    templates: Optional[dict[str, list[list[str]]]] = None,
) -> dict[str, dict]:
    """{eval set: {"overlapping", "total", "share"}}. Template boilerplate is masked first (generated
    prompts all repeat their instructions): bigrams shared by many texts of the eval set, and by many texts
    of each group in `templates[eval set]` (e.g. all records, train and held-out, of each source the eval
    set draws on: an eval set of two generated items cannot show its own template). An eval text is
    contaminated when one of its content runs shares an n-gram with training content, or, for runs shorter
    than n (but at least `min_tokens`), when the run occurs verbatim in a training text.
    """
    boilers = {name: eval_boilerplate(texts, (templates or {}).get(name, [])) for name, texts in eval_sets.items()}
    check = Overlap(eval_sets, n, boilers, min_tokens)
    for text in train_texts:
        check.add(text)
    return check.report()


# ---- mixing -------------------------------------------------------------------------------------------


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Integer shares of `total` proportional to weights (largest remainder; ties to the earlier source)."""
    quotas = [total * w / sum(weights) for w in weights]
    shares = [int(q) for q in quotas]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - shares[i]), i))
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares


def mix_order(pools: Sequence[tuple[np.ndarray, np.ndarray, float]], seed: int) -> np.ndarray:
    """The rule of `mix` on row numbers: pools of (row numbers, mixing hashes of their ids, weight) -> the row numbers
    of the mixed result, shuffled with `seed` (the permutation random.shuffle gives a list of that length)."""
    if any(weight < 0 for _, _, weight in pools):
        raise UserError("data.sources: a mixing weight is negative; expected weight >= 0")
    pools = [(rows, hashes, w) for rows, hashes, w in pools if len(rows) and w > 0]
    if not pools:
        return np.zeros(0, dtype=np.int64)
    shares = _apportion(sum(len(rows) for rows, _, _ in pools), [w for _, _, w in pools])
    parts = []
    for (rows, hashes, _), share in zip(pools, shares):
        # Whole copies, then the rows first in the hash order (ties by position), kept in their own order.
        copies, rest = divmod(share, len(rows))
        parts += [np.tile(rows, copies), rows[np.sort(np.argsort(hashes, kind="stable")[:rest])]]
    mixed = np.concatenate(parts).astype(np.int64)
    random.Random(seed).shuffle(mixed)
    return mixed


def mix_hash(record_id: str, seed: int) -> float:
    return split_hash(record_id, f"mix-{seed}")


def mix(records_by_source: list[tuple[list[dict], float, Optional[int]]], seed: int) -> list[dict]:
    """Mix sources so each one's share of the result is proportional to its weight.

    Rule: each source is cut to its first `limit` records; the result has as many records as those pools
    hold together, and source i gets round(total * w_i / sum(w)) of them: every record repeated whole as
    often as fits (upsampling), the remainder taken in a hash order of record ids (so downsampling keeps
    the same records as the data grows). Weight 0 drops a source. The result is shuffled with `seed`.
    """
    cut = [(list(recs)[:limit] if limit is not None else list(recs), w) for recs, w, limit in records_by_source]
    flat = [r for pool, _ in cut for r in pool]
    pools, start = [], 0
    for pool, w in cut:
        hashes = np.array([mix_hash(r["id"], seed) for r in pool], dtype=np.float64)
        pools.append((np.arange(start, start + len(pool)), hashes, w))
        start += len(pool)
    return [flat[i] for i in mix_order(pools, seed)]
