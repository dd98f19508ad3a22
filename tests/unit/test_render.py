"""Rendering: chronological, grouped by day, user's zone, untrusted text made inert."""

from __future__ import annotations

import datetime as dt

from novel_events.events import NovelEvent, event_start, zone
from novel_events.render import render_digest, safe_url, subject_for

NOW = dt.datetime(2026, 11, 29, 6, 30, tzinfo=dt.UTC)


def _novel(ev: dict, tz: str = "Europe/Berlin", reasons: tuple[str, ...] = ("first time",)) -> NovelEvent:  # type: ignore[type-arg]
    start, all_day = event_start(ev, zone(tz))  # type: ignore[misc]
    return NovelEvent("cal", ev["id"], 0.9, reasons, ev, start, all_day)


def _render(novel: list[NovelEvent]):  # type: ignore[no-untyped-def]
    return render_digest(novel, user_id="ada", tz_name="Europe/Berlin", lookahead_days=14,
                         schedule_text="daily at 07:00 Europe/Berlin", generated_at=NOW)


def test_hostile_event_text_is_inert() -> None:
    ev = {"id": "x", "summary": "<script>alert(1)</script>", "htmlLink": "javascript:alert(1)",
          "location": "<img src=x onerror=alert(1)>",
          "start": {"dateTime": "2026-12-01T10:00:00+01:00"}, "end": {"dateTime": "2026-12-01T11:00:00+01:00"}}
    out = _render([_novel(ev)])
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html
    assert "javascript:" not in out.html and "<img" not in out.html
    assert "<script>alert(1)</script>" in out.text  # plain text is shown as-is, never interpreted


def test_chronological_grouped_and_in_users_zone_with_own_zone() -> None:
    later = {"id": "b", "summary": "Dinner", "start": {"dateTime": "2026-12-02T19:00:00+01:00"},
             "end": {"dateTime": "2026-12-02T21:00:00+01:00"}}
    flight = {"id": "a", "summary": "Flight to Lisbon",
              "start": {"dateTime": "2026-12-01T09:00:00+00:00", "timeZone": "Europe/Lisbon"},
              "end": {"dateTime": "2026-12-01T11:00:00+00:00", "timeZone": "Europe/Lisbon"},
              "hangoutLink": "https://meet.example.com/abc"}
    trip = {"id": "c", "summary": "Trip", "start": {"date": "2026-12-01"}, "end": {"date": "2026-12-04"}}
    out = _render([_novel(later), _novel(flight), _novel(trip)])
    assert out.text.index("Tuesday, 1 December 2026") < out.text.index("Wednesday, 2 December 2026")
    assert out.text.index("Flight to Lisbon") < out.text.index("Dinner")
    assert "10:00–12:00" in out.text  # Berlin time
    assert "09:00 Lisbon time" in out.text  # the event's own zone
    assert "all day, 3 days" in out.text
    assert 'href="https://meet.example.com/abc"' in out.html
    assert out.subject == "3 new things coming up: Trip, Flight to Lisbon and 1 more"


def test_css_is_inlined_and_footer_says_why() -> None:
    out = _render([])
    assert "<style" not in out.html and 'style="' in out.html
    assert "Nothing out of the ordinary" in out.subject
    assert "daily at 07:00 Europe/Berlin" in out.text and "users set ada --disable" in out.text


def test_safe_url() -> None:
    assert safe_url("https://example.com/x") == "https://example.com/x"
    for bad in ("javascript:alert(1)", "data:text/html,hi", "https://x.com/\"onmouseover=1", None, 3, "//x.com"):
        assert safe_url(bad) is None


def test_subject_counts() -> None:
    assert subject_for([]) == "Nothing out of the ordinary coming up"
