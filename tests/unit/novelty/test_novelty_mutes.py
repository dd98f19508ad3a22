"""Mute rules ("Not new to me — hide events like this"): the engine drops what a person muted, only that."""

from __future__ import annotations

from typing import Any

import pytest

from novel_events.errors import InvalidInput
from novel_events.novelty import MuteRule, NoveltyPrefs, rule_for_event


def test_a_muted_title_hides_that_event_and_its_title_variants_only(make_cal: Any) -> None:
    cal = make_cal()
    dentist = cal.event("Dentist", cal.at(2, 9))
    again = cal.event("dentist (me) 🦷", cal.at(5, 9))
    other = cal.event("Flight to Lisbon", cal.at(3, 7))
    assert set(cal.novel_ids()) >= {dentist["id"], again["id"], other["id"]}
    rule = rule_for_event(dentist)
    assert rule == MuteRule("title", "dentist", "Dentist")
    assert cal.novel_ids(mutes=(rule,)) == [other["id"]]


def test_a_muted_series_hides_the_rest_of_the_series_not_a_one_off_with_its_title(make_cal: Any) -> None:
    cal = make_cal()
    first, second = cal.weekly("Pottery class", cal.at(1, 19), 2, series="pottery")
    one_off = cal.event("Pottery class", cal.at(3, 10))  # same title, no series: not this rule
    found = cal.novel_ids()
    assert first["id"] in found and one_off["id"] in found
    rule = rule_for_event(first)
    assert rule is not None and (rule.kind, rule.value, rule.label) == ("series", "pottery", "Pottery class")
    after = cal.novel_ids(mutes=(rule,))
    assert first["id"] not in after and second["id"] not in after and one_off["id"] in after


def test_an_untitled_event_without_series_has_no_rule() -> None:
    assert rule_for_event({"id": "x"}) is None
    assert rule_for_event({"id": "x", "summary": "   "}) is None


@pytest.mark.parametrize("bad", [("title",), (MuteRule("colour", "x"),), (MuteRule("title", ""),)])
def test_bad_mutes_are_refused_naming_the_field(bad: Any) -> None:
    with pytest.raises(InvalidInput) as err:
        NoveltyPrefs(mutes=bad)
    assert err.value.field == "mutes"
