"""Title normalisation: which titles name "the same kind of thing".

People retitle their habits all the time ("Gym", "gym 🏋️", "Gym w/ Sam"), number them
("Sprint 46 review") and annotate them ("School pick-up (me)"). The keys built here erase exactly
those differences and nothing that names a different occasion:

* ``exact``  case, accents, emoji/symbols, punctuation and spacing erased; digits kept;
* ``full``   ``exact`` with bracketed notes erased and every number replaced by ``#``;
* ``activity`` ``full`` without a trailing "w/ <names>" ("Gym w/ Sam" -> "gym"), when there is one:
  the habit itself, done this time with someone;
* ``head``/``tail`` the ``full`` title split at its first separator ("Book club: Orbital" ->
  "book club" / "orbital"), for habits whose topic rotates;
* ``words`` the words of ``activity`` (or ``full``), for variant titles of a habit
  ("laundry + groceries" next to "Laundry").

Nothing here knows any language's vocabulary except the widespread "w/" abbreviation.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Bracketed notes: (me), [Cam Marsollier], {draft}, full-width （…） and 【…】.
_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|\{[^{}]*\}|（[^（）]*）|【[^【】]*】")
# "w/ Sam", "w/Alex & Maya": the company, not the activity.
_WITH_ABBREV = re.compile(r"(?:^|\s)w/\s*\S.*$")
# Separators between a recurring activity and a rotating detail.
_SEPARATORS = re.compile(r"\s*(?::|：|\s[-–—]\s|\s?[|·•]\s?)\s*")
_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"[^\W_]+|#", re.UNICODE)
# Scripts whose accents are decoration (Latin, Greek, Cyrillic and their extensions).
_STRIP_MARKS_BELOW = 0x0530


def _fold_char(ch: str) -> str:
    """One character case-folded, accent-free for Latin/Greek/Cyrillic, '' for symbols."""
    if ch.isspace():
        return " "
    if ch == "|":  # a separator, though Unicode files it as a math symbol
        return ch
    cat = unicodedata.category(ch)
    if cat[0] == "S":  # emoji, pictographs, currency/math symbols, skin tones
        return " "
    if cat[0] == "C" or cat == "Me" or (cat == "Mn" and _is_decoration_mark(ord(ch))):
        return ""  # ZWJ, control and private-use chars, variation selectors, keycaps
    if ord(ch) < _STRIP_MARKS_BELOW:
        decomposed = unicodedata.normalize("NFKD", ch)
        ch = "".join(c for c in decomposed if not unicodedata.combining(c))
    return ch.casefold()


def _is_decoration_mark(code: int) -> bool:
    return (
        0x0300 <= code <= 0x036F  # combining accents
        or 0x20D0 <= code <= 0x20FF  # combining marks for symbols
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF
    )


_ASCII_FOLD = {c: _fold_char(chr(c)) for c in range(128)}


def fold(text: str) -> str:
    """Case-folded text without accents, emoji or symbols (punctuation and spaces kept)."""
    if text.isascii():
        return text.translate(_ASCII_FOLD)
    text = unicodedata.normalize("NFKC", text)
    return "".join(_fold_char(ch) for ch in text)


def _squash(text: str) -> str:
    """Letters, digits and '#' only: 'School pick-up' and 'School pickup' become one key."""
    return "".join(_WORD.findall(text))


@dataclass(frozen=True, slots=True)
class TitleKeys:
    """The comparison keys of one title (see the module docstring)."""

    exact: str
    full: str
    activity: str | None = None
    head: str | None = None
    tail: str | None = None
    words: frozenset[str] = frozenset()

    @property
    def has_template(self) -> bool:
        return bool(self.head and self.tail)


@lru_cache(maxsize=65536)
def title_keys(title: str) -> TitleKeys:
    """Comparison keys of ``title`` (cached: calendars repeat their titles a lot)."""
    folded = " ".join(fold(title).split())
    exact = _squash(folded)
    if not exact:
        # a title made only of emoji/symbols is its own key
        raw = " ".join(title.split())
        return TitleKeys(exact=raw, full=raw)
    core = _DIGITS.sub("#", _strip_notes(folded))
    full = _squash(core) or exact
    alone = _WITH_ABBREV.sub("", core)
    activity = _squash(alone) if _squash(alone).strip("#") else None
    if activity == full:
        activity = None
    head = tail = None
    parts = _SEPARATORS.split(core, maxsplit=1)
    if len(parts) == 2:
        h, t = _squash(parts[0]), _squash(parts[1])
        if h and t and h.strip("#") and t.strip("#"):
            head, tail = h, t
    words = frozenset(w for w in _WORD.findall(alone or core) if w != "#" and (len(w) > 1 or not w.isascii()))
    return TitleKeys(exact=exact, full=full, activity=activity, head=head, tail=tail, words=words)


def _strip_notes(folded: str) -> str:
    """Remove bracketed notes, unless nothing would remain."""
    out = folded
    for _ in range(3):  # nested brackets
        stripped = _BRACKETS.sub(" ", out)
        if stripped == out:
            break
        out = stripped
    out = " ".join(out.split())
    return out if _squash(out).strip("#") else folded
