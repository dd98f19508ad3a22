"""Title normalisation: which titles count as the same thing."""

from __future__ import annotations

import pytest

from novel_events.novelty.normalize import fold, title_keys
from novel_events.novelty.variants import related, words_match


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Gym", "gym 🏋️"),  # case, emoji
        ("Water aerobics", "Water aerobics 🏊\u200d♀️"),  # ZWJ emoji sequence
        ("School pickup", "School pick-up (me)"),  # punctuation, bracketed note
        ("Sprint 21 review", "Sprint 46 review"),  # numbers
        ("Nicole teaching at MRU [Cam]", "Nicole teaching at MRU [Dana]"),  # bracketed roster name
        ("Café crème", "CAFE CREME"),  # accents
        ("Stay at Hyatt Stockholm (Jun 21)", "Stay at Hyatt Stockholm"),
        ("Réunion   d'équipe", "reunion d'equipe"),  # spacing
    ],
)
def test_same_full_key(a: str, b: str) -> None:
    assert title_keys(a).full == title_keys(b).full


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Coffee with Alex", "Coffee with Alexandra (new PM)"),
        ("Bridge club", "Bridge club – holiday luncheon"),
        ("Lunch with Hana Dubois", "Lunch with Rosa Costa"),
        ("Vendor demo: Sentry", "Vendor demo: Datadog"),
        ("Drinks w/ Alex & Maya", "Drinks w/ Tom & Diego"),  # different company, different outing
        ("会議", "会話"),  # non-Latin scripts keep their distinctions
    ],
)
def test_different_full_key(a: str, b: str) -> None:
    assert title_keys(a).full != title_keys(b).full


@pytest.mark.parametrize(
    ("title", "activity"),
    [("Gym w/ Sam", "gym"), ("Bouldering w/Jonas & Ana", "bouldering"), ("Gym", None), ("w/ Sam", None)],
)
def test_activity_drops_the_company(title: str, activity: str | None) -> None:
    assert title_keys(title).activity == activity


@pytest.mark.parametrize(
    ("title", "head", "tail"),
    [
        ("Book club: Intermezzo", "bookclub", "intermezzo"),
        ("Estate lawyer – Park & Co.", "estatelawyer", "parkco"),
        ("Team | planning", "team", "planning"),
        ("Buchclub：Momo", "buchclub", "momo"),
        ("Gym", None, None),
        ("Sprint 46 review", None, None),
        ("ECON-UA 18 – Econometrics", "econua#", "econometrics"),
    ],
)
def test_head_and_tail(title: str, head: str | None, tail: str | None) -> None:
    keys = title_keys(title)
    assert (keys.head, keys.tail) == (head, tail)


def test_exact_keeps_numbers_full_does_not() -> None:
    a, b = title_keys("CSCI-UA 102 – Recitation"), title_keys("CSCI-UA 201 – Recitation")
    assert a.exact != b.exact
    assert a.full == b.full


@pytest.mark.parametrize("title", ["", "   ", "🎉", "🎉🎉", "\u200d", "((()))", "#1"])
def test_degenerate_titles_have_keys(title: str) -> None:
    keys = title_keys(title)
    assert isinstance(keys.full, str)
    assert isinstance(keys.exact, str)


def test_fold() -> None:
    assert fold("Ärzte\tTermin 🦷") == "arzte termin  "
    assert fold("ŁÓDŹ") == "łodz"


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        ("grp", "group", True),
        ("study", "study", True),
        ("alex", "alexandra", True),
        ("mom", "mum", False),
        ("gy", "gym", False),
        ("aqua", "water", False),
    ],
)
def test_words_match(a: str, b: str, match: bool) -> None:
    assert words_match(a, b) is match


@pytest.mark.parametrize(
    ("a", "b", "rel"),
    [
        ("📞 Mom", "Call Mom", True),
        ("study grp @ Bobst", "Study group", True),
        ("laundry + groceries", "Laundry", True),
        ("Lunch with Tom", "Lunch", False),  # the extra words outweigh the habit
        ("Aqua fit", "Water aerobics", False),
        ("x", "x y", False),  # too short to say
    ],
)
def test_related_titles(a: str, b: str, rel: bool) -> None:
    assert related(title_keys(a).words, title_keys(b).words) is rel
