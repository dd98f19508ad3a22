"""Variant titles of a habit: "📞 Mom" for "Call Mom", "study grp @ Bobst" for "Study group".

Two titles are *word-related* when every word of the shorter one matches a word of the longer one
(equal, one a prefix of the other, or an abbreviation: same first letter, letters in order) and the
shorter one has at least half of the longer one's words. Word-related titles are looked up
through an index of the habits' vocabulary (word -> habits, first letter -> words), never by
comparing every pair of titles.

Whether a word-related event *is* the habit (rather than a special edition next to it) is the
rules' call: see :func:`novel_events.novelty.rules.assess`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

MIN_FUZZY_LEN = 3
MIN_SHARE = 1 / 2


def words_match(a: str, b: str) -> bool:
    """Equal words, or one a prefix / abbreviation of the other ("grp" ~ "group")."""
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) < MIN_FUZZY_LEN or short[0] != long_[0]:
        return False
    if long_.startswith(short):
        return True
    it = iter(long_)
    return all(ch in it for ch in short)


def related(a: frozenset[str], b: frozenset[str]) -> bool:
    """Every word of the shorter title matches a word of the longer, which is at most twice as long."""
    if not a or not b:
        return False
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) < MIN_SHARE * len(long_):
        return False
    if not any(len(w) >= MIN_FUZZY_LEN or not w.isascii() for w in short):
        return False
    return all(any(words_match(w, x) for x in long_) for w in short)


class Vocabulary:
    """Index of habit titles by their words, for word-related lookups."""

    def __init__(self, habits: Iterable[tuple[str, frozenset[str]]]) -> None:
        self._words: dict[str, frozenset[str]] = {}
        self._by_word: dict[str, set[str]] = defaultdict(set)
        self._by_initial: dict[str, set[str]] = defaultdict(set)
        for key, words in habits:
            if not words:
                continue
            self._words[key] = words
            for w in words:
                self._by_word[w].add(key)
                self._by_initial[w[0]].add(w)

    def __len__(self) -> int:
        return len(self._words)

    def related_habits(self, words: frozenset[str]) -> list[str]:
        """Habit keys whose words are related to ``words``, sorted."""
        candidates: set[str] = set()
        for w in words:
            candidates |= self._by_word.get(w, set())
            if len(w) >= MIN_FUZZY_LEN:
                for other in self._by_initial.get(w[0], ()):
                    if other != w and words_match(w, other):
                        candidates |= self._by_word[other]
        return sorted(k for k in candidates if related(words, self._words[k]))
