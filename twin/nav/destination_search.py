"""Find destinations by what a visitor types: Chinese or English words, pinyin (full or initials), a window number
("5号窗口", "window 5", "5") or a room name; ranked by how well and where the words match.

pypinyin turns every Chinese name and keyword into full pinyin ("hujiqianru") and initials ("hjqr") once, when
the index is built; a query is then a few string comparisons per destination (a hall has a few hundred).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from pypinyin import Style, lazy_pinyin

from twin.nav.destinations import KIND_ORDER, Destination

_HAN = re.compile(r"[\u3400-\u9fff]")
_WINDOW = re.compile(r"^(?:第|window|counter|no\.?|#)?\s*(\d{1,3}[a-z]?)\s*(?:号窗口|号窗|号|窗口|窗)?$")
# Scores of one match, by where it is found; a destination's score is its best match.
EXACT_NAME, NAME_PREFIX, NAME_PART = 100, 85, 70
EXACT_WORD, WORD_PREFIX, WORD_PART = 90, 65, 50
PINYIN_EXACT, PINYIN_PREFIX, INITIALS_EXACT, INITIALS_PREFIX = 75, 60, 72, 55
WINDOW_EXACT, SERVED_AT_WINDOW = 120, 90
FUZZY_MAX = 45  # Chinese queries that are no substring: shared character pairs, scaled to at most this
FUZZY_MIN_SHARE = 0.5
# What visitors add around the thing they want ("护照怎么办理", "我要办营业执照"): dropped from Chinese queries.
FILLERS = ("怎么办理", "如何办理", "怎么办", "在哪里", "在哪儿", "在哪", "哪里", "请问", "我要", "我想", "办理", "申请",
           "去哪", "怎么", "如何", "的")


def fold(text: str) -> str:
    """Full-width to half-width, lower case, spaces squeezed: how queries and names are compared."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass(frozen=True)
class _Entry:
    destination: Destination
    names: tuple[str, ...]  # folded zh and en names
    words: tuple[str, ...]  # folded keywords
    pinyin: tuple[str, ...]  # full pinyin without spaces, of the names then the keywords
    initials: tuple[str, ...]
    rank: int  # kind order


def _pinyin(text: str) -> tuple[str, str] | None:
    if not _HAN.search(text):
        return None
    syllables = [s for s in lazy_pinyin(text, errors="ignore") if s.strip()]
    letters = lazy_pinyin(text, style=Style.FIRST_LETTER, errors="ignore")
    return "".join(syllables).casefold(), "".join(letters).casefold()


@dataclass(frozen=True)
class Hit:
    destination: Destination
    score: int
    matched: str  # what matched, for the visitor page to show ("窗口 5", "hjqr" ...)


class DestinationSearch:
    """A search index over destinations; thread-safe (read-only after construction)."""

    def __init__(self, destinations: Iterable[Destination]) -> None:
        self.entries: list[_Entry] = []
        for destination in destinations:
            names = (fold(destination.name.zh), fold(destination.name.en))
            words = tuple(dict.fromkeys(fold(w) for w in destination.keywords if w.strip()))
            pinyins = [p for p in (_pinyin(t) for t in (destination.name.zh, *destination.keywords)) if p]
            rank = KIND_ORDER.index(destination.kind) if destination.kind in KIND_ORDER else len(KIND_ORDER)
            self.entries.append(_Entry(destination, names, words, tuple(p for p, _ in pinyins),
                                       tuple(i for _, i in pinyins), rank))

    def search(self, query: str, limit: int = 20, kinds: frozenset[str] | None = None,
               storey: str | None = None) -> list[Hit]:
        """The best ``limit`` matches of ``query``; an empty query lists everything (services first). Among equal
        matches, those on ``storey`` (the visitor's) come first: "toilet" from 2F lists the 2F toilets first."""
        q = _plain(fold(query))
        pool = [e for e in self.entries if kinds is None or e.destination.kind in kinds]
        if not q:
            hits = [Hit(e.destination, 0, "") for e in pool]
        else:
            hits = []
            for entry in pool:
                scored = self._score(entry, q)
                if scored is not None:
                    hits.append(Hit(entry.destination, *scored))
        by_rank = {e.destination.id: e.rank for e in pool}
        elsewhere = (lambda d: d.storey != storey) if storey is not None else (lambda d: False)
        hits.sort(key=lambda h: (-h.score, by_rank[h.destination.id], elsewhere(h.destination),
                                 len(h.destination.name.zh), h.destination.id))
        return hits[:limit]

    def _score(self, entry: _Entry, q: str) -> tuple[int, str] | None:
        best: tuple[int, str] | None = None

        def offer(score: int, matched: str) -> None:
            nonlocal best
            if best is None or score > best[0]:
                best = (score, matched)

        window = _WINDOW.match(q)
        if window:
            number = window.group(1).upper()
            if number in entry.destination.windows:
                offer(WINDOW_EXACT if entry.destination.kind == "window" else SERVED_AT_WINDOW, number)
        for name in entry.names:
            if q == name:
                offer(EXACT_NAME, name)
            elif name.startswith(q):
                offer(NAME_PREFIX, name)
            elif q in name or (len(q) > 2 and _words_in(q, name)):
                offer(NAME_PART, name)
        for word in entry.words:
            if q == word:
                offer(EXACT_WORD, word)
            elif word.startswith(q):
                offer(WORD_PREFIX, word)
            elif q in word and len(q) >= 2:
                offer(WORD_PART, word)
        compact = q.replace(" ", "").replace("'", "")
        if compact.isascii() and compact.isalpha() and len(compact) >= 2:
            for pinyin in entry.pinyin:
                if compact == pinyin:
                    offer(PINYIN_EXACT, pinyin)
                elif pinyin.startswith(compact) and len(compact) >= 3:
                    offer(PINYIN_PREFIX, pinyin)
            for initials in entry.initials:
                if compact == initials:
                    offer(INITIALS_EXACT, initials)
                elif initials.startswith(compact):
                    offer(INITIALS_PREFIX, initials)
        if best is None and _HAN.search(q) and len(q) >= 2:
            share = max((_pair_share(q, t) for t in (*entry.names, *entry.words)), default=0.0)
            if share >= FUZZY_MIN_SHARE:
                offer(round(FUZZY_MAX * share), q)
        return best


def _plain(query: str) -> str:
    """A Chinese query without the filler words around it (kept whole when nothing else would be left)."""
    if not _HAN.search(query):
        return query
    stripped = query
    for filler in FILLERS:
        stripped = stripped.replace(filler, "")
    stripped = stripped.strip()
    if stripped.startswith("办") and len(stripped) > 2:  # "办营业执照", but "办税" stays
        stripped = stripped[1:]
    return stripped or query


def _words_in(query: str, name: str) -> bool:
    """Every word of an English query appears in ``name`` (word order free: "licence business")."""
    words = query.split()
    return len(words) > 1 and all(w in name for w in words)


def _pair_share(query: str, text: str) -> float:
    """Share of the query's adjacent character pairs found in ``text`` ("护照办理" in "普通护照申领": 1/3)."""
    pairs = {query[i:i + 2] for i in range(len(query) - 1)}
    return sum(1 for p in pairs if p in text) / len(pairs) if pairs else 0.0
