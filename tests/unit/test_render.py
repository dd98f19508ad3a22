"""Rendering: chronological, grouped by day, user's zone, untrusted text made inert."""

from __future__ import annotations

import datetime as dt
from typing import Any

from novel_events.events import NovelEvent, event_start, zone
from novel_events.render import (
    RenderedDigest,
    clean_text,
    date_range,
    day_label,
    render_digest,
    safe_url,
    subject_for,
)

NOW = dt.datetime(2026, 11, 29, 6, 30, tzinfo=dt.UTC)


def _novel(ev: dict, tz: str = "Europe/Berlin", reasons: tuple[str, ...] = ("first time",)) -> NovelEvent:  # type: ignore[type-arg]
    start, all_day = event_start(ev, zone(tz))  # type: ignore[misc]
    return NovelEvent("cal", ev["id"], 0.9, reasons, ev, start, all_day)


def _render(novel: list[NovelEvent], **kw: Any) -> RenderedDigest:
    args: dict[str, Any] = {
        "user_id": "ada",
        "tz_name": "Europe/Berlin",
        "lookahead_days": 14,
        "schedule_text": "daily at 07:00 Europe/Berlin",
        "generated_at": NOW,
        **kw,
    }
    return render_digest(novel, **args)


def _timed(summary: str, start: str, end: str | None = None, **extra: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "id": summary.lower().replace(" ", "-"),
        "summary": summary,
        "start": {"dateTime": start},
        **extra,
    }
    if end:
        ev["end"] = {"dateTime": end}
    return ev


def test_hostile_event_text_is_inert() -> None:
    ev = {
        "id": "x",
        "summary": "<script>alert(1)</script>",
        "htmlLink": "javascript:alert(1)",
        "location": "<img src=x onerror=alert(1)>",
        "start": {"dateTime": "2026-12-01T10:00:00+01:00"},
        "end": {"dateTime": "2026-12-01T11:00:00+01:00"},
    }
    out = _render([_novel(ev)])
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html
    assert "javascript:" not in out.html and "<img" not in out.html
    assert "<script>alert(1)</script>" in out.text  # plain text is shown as-is, never interpreted


def test_chronological_grouped_and_in_users_zone_with_own_zone() -> None:
    later = {
        "id": "b",
        "summary": "Dinner",
        "start": {"dateTime": "2026-12-02T19:00:00+01:00"},
        "end": {"dateTime": "2026-12-02T21:00:00+01:00"},
    }
    flight = {
        "id": "a",
        "summary": "Flight to Lisbon",
        "start": {"dateTime": "2026-12-01T09:00:00+00:00", "timeZone": "Europe/Lisbon"},
        "end": {"dateTime": "2026-12-01T11:00:00+00:00", "timeZone": "Europe/Lisbon"},
        "hangoutLink": "https://meet.example.com/abc",
    }
    trip = {"id": "c", "summary": "Trip", "start": {"date": "2026-12-01"}, "end": {"date": "2026-12-04"}}
    out = _render([_novel(later), _novel(flight), _novel(trip)])
    assert out.text.index("Tuesday, 1 December 2026") < out.text.index("Wednesday, 2 December 2026")
    assert out.text.index("Flight to Lisbon") < out.text.index("Dinner")
    assert "10:00–12:00" in out.text  # Berlin time
    assert "09:00 Lisbon time" in out.text  # the event's own zone
    assert "all day, 3 days" in out.text
    assert 'href="https://meet.example.com/abc"' in out.html
    assert "Tue 1 – Thu 3 Dec (all day, 3 days)" in out.text  # the trip's dates, not just its length
    assert out.subject == "3 new things this week: Trip, Flight to Lisbon and 1 more"


def test_css_is_inlined_and_footer_says_why() -> None:
    out = _render([])
    assert "<style" not in out.html and 'style="' in out.html
    assert "Nothing out of the ordinary" in out.subject
    assert "daily at 07:00 Europe/Berlin" in out.text and "users set ada --disable" in out.text


def test_safe_url() -> None:
    assert safe_url("https://example.com/x") == "https://example.com/x"
    for bad in ("javascript:alert(1)", "data:text/html,hi", 'https://x.com/"onmouseover=1', None, 3, "//x.com"):
        assert safe_url(bad) is None


def test_subject_counts() -> None:
    assert subject_for([]) == "Nothing out of the ordinary coming up"


def test_subject_says_the_horizon() -> None:
    soon = _novel(_timed("Flight to Lisbon", "2026-12-05T23:00:00+01:00"))  # Saturday: 6 days after Sunday 29th
    later = _novel(_timed("Conference", "2026-12-06T09:00:00+01:00"))  # day 7: no longer "this week"

    def subject(novel: list[NovelEvent], lookahead_days: int = 14) -> str:
        return subject_for(novel, now=NOW, tz_name="Europe/Berlin", lookahead_days=lookahead_days)

    assert subject([soon]) == "1 new thing this week: Flight to Lisbon"
    assert subject([soon, later]) == "2 new things in the next 14 days: Flight to Lisbon, Conference"
    assert subject([]) == "Nothing out of the ordinary in the next 14 days"
    assert subject([], 7) == "Nothing out of the ordinary this week"
    assert subject_for([soon, later]) == "2 new things coming up: Flight to Lisbon, Conference"
    assert _render([soon, later], lookahead_days=30).subject.startswith("2 new things in the next 30 days: ")


def test_subject_is_one_line_and_always_counts_the_rest() -> None:
    long = [
        _novel(_timed("Very long title " * 20 + f"{i}\r\nBcc: x@example.com", f"2026-12-0{i}T10:00:00+01:00"))
        for i in range(1, 5)
    ]
    subject = subject_for(long, now=NOW, tz_name="Europe/Berlin", lookahead_days=14)
    assert "\n" not in subject and "\r" not in subject and len(subject) <= 120
    assert subject.startswith("4 new things this week: Very long title") and subject.endswith(" and 2 more")


def test_time_ranges() -> None:
    cases = {
        ("2026-12-02T22:00:00+01:00", "2026-12-03T01:30:00+01:00"): "22:00–01:30 next day",
        ("2026-12-02T22:00:00+01:00", "2026-12-03T00:00:00+01:00"): "22:00–00:00",
        ("2026-12-02T09:00:00+01:00", "2026-12-04T18:00:00+01:00"): "09:00 – Fri 4 Dec, 18:00",
        ("2026-12-02T09:00:00+01:00", None): "09:00",
        ("2026-12-02T09:00:00+01:00", "2026-12-02T08:00:00+01:00"): "09:00",  # end before start: ignored
        ("2026-12-02T08:00:00Z", "2026-12-02T09:30:00Z"): "09:00–10:30",  # shown in the user's zone
    }
    for (start, end), want in cases.items():
        text = _render([_novel(_timed("X", start, end))]).text
        assert f"\n  {want}\n" in text, (start, end, text)


def test_event_zone_notes() -> None:
    flight = _timed("Flight", "2026-12-02T08:15:00+01:00", "2026-12-02T10:20:00+00:00")
    flight["start"]["timeZone"], flight["end"]["timeZone"] = "Europe/Berlin", "Europe/Lisbon"
    assert "08:15–11:20 (ends 10:20 Lisbon time)" in _render([_novel(flight)]).text
    ny = _timed("Call", "2026-12-02T09:00:00-05:00", "2026-12-02T10:00:00-05:00")
    ny["start"]["timeZone"] = ny["end"]["timeZone"] = "America/New_York"
    assert "15:00–16:00 (09:00 New York time)" in _render([_novel(ny)]).text
    paris = _timed("Lunch", "2026-12-02T12:00:00+01:00", "2026-12-02T13:00:00+01:00")
    paris["start"]["timeZone"] = "Europe/Paris"  # same clock as Berlin: nothing to add
    bogus = _timed("Bogus", "2026-12-03T12:00:00+01:00", "2026-12-03T13:00:00+01:00")
    bogus["start"]["timeZone"] = "Mars/Olympus_Mons"
    text = _render([_novel(paris), _novel(bogus)]).text
    assert "\n  12:00–13:00\n" in text and " time)" not in text


def test_all_day_dates() -> None:
    one = {"id": "o", "summary": "Holiday", "start": {"date": "2026-12-01"}, "end": {"date": "2026-12-02"}}
    text = _render([_novel(one)]).text
    assert "\n  all day\n" in text
    assert date_range(dt.date(2026, 12, 3), dt.date(2026, 12, 5)) == "Thu 3 – Sat 5 Dec"
    assert date_range(dt.date(2026, 11, 30), dt.date(2026, 12, 2)) == "Mon 30 Nov – Wed 2 Dec"
    assert date_range(dt.date(2026, 12, 31), dt.date(2027, 1, 2)) == "Thu 31 Dec 2026 – Sat 2 Jan 2027"
    assert day_label(dt.date(2026, 12, 1)) == "Tuesday, 1 December 2026"


def test_untrusted_text_is_one_clean_line() -> None:
    assert clean_text("a\r\n\tb\x00c\u202ed\u2066e  ") == "a b c d e"
    assert clean_text("👩\u200d💻 ok") == "👩\u200d💻 ok"  # joiners stay: they are part of the emoji
    assert clean_text("x" * 300) == "x" * 199 + "…"
    ev = _timed("Budget\n\n--\nFake footer", "2026-12-02T10:00:00+01:00", location="Room\n1")
    out = _render([_novel(ev)])
    assert "* Budget -- Fake footer\n" in out.text and "Where: Room 1\n" in out.text


def test_html_basics() -> None:
    ev = _timed(
        "Standup",
        "2026-12-02T10:00:00+01:00",
        "2026-12-02T10:15:00+01:00",
        hangoutLink="https://meet.example.com/a?b=1&c=2",
    )
    out = _render([_novel(ev)], manage_url="https://example.com/manage/ada")
    assert '<html lang="en" dir="ltr">' in out.html
    assert 'class="preheader"' in out.html and "Wed 2 Dec: Standup." in out.html
    assert 'href="https://meet.example.com/a?b=1&amp;c=2"' in out.html and "(meet.example.com)" in out.html
    assert 'href="https://example.com/manage/ada"' in out.html
    assert "Pause or unsubscribe: https://example.com/manage/ada" in out.text
    assert _render([_novel(ev)], manage_url="javascript:alert(1)").html.count("href=") == 1


def test_wall_time_without_offset_is_read_in_the_events_own_zone() -> None:
    from novel_events.events import event_start

    berlin = zone("Europe/Berlin")
    lisbon = event_start({"start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "Europe/Lisbon"}}, berlin)
    assert lisbon is not None and lisbon[0] == dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
    local = event_start({"start": {"dateTime": "2026-12-01T09:00:00"}}, berlin)
    assert local is not None and local[0] == dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)
    bad = event_start({"start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "Nowhere/X"}}, berlin)
    assert bad is not None and bad[0] == local[0]
