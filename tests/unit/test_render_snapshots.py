"""Snapshot tests for the rendered digest: the exact HTML and plain text of four representative digests.

The snapshots live in ``tests/snapshots/digest_<case>.html`` and ``digest_<case>.txt`` (the text part starts
with the subject line). A mismatch fails with a unified diff of snapshot vs rendered output. After an
intended change to ``novel_events/render.py`` or the templates, regenerate them and review the diff::

    UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/unit/test_render_snapshots.py -q
    git diff tests/snapshots/

With ``UPDATE_SNAPSHOTS=1`` the snapshot assertions rewrite the files (only those whose content changed)
instead of comparing, so never set it in CI. The other tests here check properties of every case that
no snapshot review should have to catch: CSS inlined, nothing executable or external, only http(s) links,
the same titles in the same order in both parts, and byte-identical re-renders.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from novel_events.events import NovelEvent, event_start, zone
from novel_events.render import RenderedDigest, render_digest

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots"
NOW = dt.datetime(2026, 11, 29, 6, 30, tzinfo=dt.UTC)  # Sunday 07:30 in Berlin, 01:30 in New York


def updating() -> bool:
    return os.environ.get("UPDATE_SNAPSHOTS") == "1"


def assert_matches_snapshot(name: str, actual: str, *, directory: Path = SNAPSHOTS, update: bool | None = None) -> None:
    """``actual`` equals the file ``directory/name`` byte for byte; with UPDATE_SNAPSHOTS=1, (re)write the file."""
    path = directory / name
    if updating() if update is None else update:
        directory.mkdir(parents=True, exist_ok=True)
        if not path.exists() or _read(path) != actual:
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(actual)
        return
    if not path.exists():
        pytest.fail(f"snapshot {path} is missing; create it with UPDATE_SNAPSHOTS=1 and review it", pytrace=False)
    expected = _read(path)
    if expected != actual:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"{path} (snapshot)",
                tofile=f"{name} (rendered)",
            )
        )
        pytest.fail(
            f"rendered {name} differs from its snapshot (UPDATE_SNAPSHOTS=1 rewrites it):\n{diff}", pytrace=False
        )


def _read(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


# -- the cases ---------------------------------------------------------------------------------------------------


def _novel(ev: dict[str, Any], tz: str, *reasons: str) -> NovelEvent:
    found = event_start(ev, zone(tz))
    assert found is not None
    return NovelEvent("primary", ev["id"], 0.9, reasons or ("first time in your calendar",), ev, *found)


@dataclass(frozen=True)
class Case:
    tz: str
    lookahead_days: int
    events: list[NovelEvent]
    titles: list[str]  # expected, in reading order
    manage_url: str | None = None
    unsubscribe_url: str | None = None
    mute_urls: dict[tuple[str, str], str] | None = None
    schedule_text: str = "daily at 07:00"
    user_id: str = "ada"

    def render(self, events: list[NovelEvent] | None = None) -> RenderedDigest:
        return render_digest(
            self.events if events is None else events,
            user_id=self.user_id,
            tz_name=self.tz,
            lookahead_days=self.lookahead_days,
            schedule_text=f"{self.schedule_text} {self.tz}",
            generated_at=NOW,
            manage_url=self.manage_url,
            unsubscribe_url=self.unsubscribe_url,
            mute_urls=self.mute_urls,
        )


def _week() -> Case:
    """Several days in Berlin: a trip over a month boundary, a flight landing in another zone, a dinner in
    Lisbon time that ends after midnight, a meeting with location + video link, a one-day all-day event."""
    tz = "Europe/Berlin"
    events = [
        _novel(
            {
                "id": "offsite",
                "summary": "Company offsite",
                "start": {"date": "2026-12-04"},
                "end": {"date": "2026-12-05"},
            },
            tz,
            "all day",
            "only once in the past year",
        ),
        _novel(
            {
                "id": "review",
                "summary": "Design review with Acme",
                "start": {"dateTime": "2026-12-02T15:00:00+01:00", "timeZone": tz},
                "end": {"dateTime": "2026-12-02T16:00:00+01:00", "timeZone": tz},
                "location": "Room 4.12, Torstraße 49, 10119 Berlin",
                "htmlLink": "https://calendar.google.com/calendar/event?eid=cmV2aWV3&ctz=Europe/Berlin",
                "conferenceData": {
                    "entryPoints": [
                        {"entryPointType": "phone", "uri": "tel:+49-30-1234567"},
                        {"entryPointType": "video", "uri": "https://meet.google.com/abc-defg-hij"},
                    ]
                },
            },
            tz,
            "first meeting with lena@acme.example and 2 others",
        ),
        _novel(
            {
                "id": "dinner",
                "summary": "Dinner with the Lisbon team",
                "start": {"dateTime": "2026-11-30T21:30:00+00:00", "timeZone": "Europe/Lisbon"},
                "end": {"dateTime": "2026-12-01T00:45:00+00:00", "timeZone": "Europe/Lisbon"},
                "location": "Tasca do Chico, Rua do Diário de Notícias 39, 1200-141 Lisboa",
            },
            tz,
            "first time in your calendar",
            "in Lisbon time (UTC)",
        ),
        _novel(
            {
                "id": "flight",
                "summary": "Flight to Lisbon (TP 537)",
                "start": {"dateTime": "2026-11-30T08:15:00+01:00", "timeZone": tz},
                "end": {"dateTime": "2026-11-30T10:20:00+00:00", "timeZone": "Europe/Lisbon"},
                "location": "BER Terminal 1",
                "htmlLink": "https://calendar.google.com/calendar/event?eid=ZmxpZ2h0",
            },
            tz,
            "first time in your calendar",
        ),
        _novel(
            {"id": "trip", "summary": "Trip to Lisbon", "start": {"date": "2026-11-30"}, "end": {"date": "2026-12-03"}},
            tz,
            "all-day trip",
            "only twice in the past year",
        ),
        _novel(
            {
                "id": "parents",
                "summary": "Parents' evening",
                "start": {"dateTime": "2026-12-03T18:00:00+01:00"},
                "end": {"dateTime": "2026-12-03T19:30:00+01:00"},
                "location": "Grundschule am Arkonaplatz",
            },
            tz,
            "only once in the past year",
        ),
    ]
    titles = [
        "Trip to Lisbon",
        "Flight to Lisbon (TP 537)",
        "Dinner with the Lisbon team",
        "Design review with Acme",
        "Parents' evening",
        "Company offsite",
    ]
    return Case(
        tz,
        14,
        events,
        titles,
        manage_url="https://digest.example.org/manage/tok.m",
        unsubscribe_url="https://digest.example.org/unsubscribe/tok.u",
        mute_urls={
            ("primary", "review"): "https://digest.example.org/mute/tok.review",
            ("primary", "parents"): "https://digest.example.org/mute/tok.parents",
        },
    )


def _month() -> Case:
    """New York, 45 days ahead: a call set in Tokyo time, a timed event over three days, a trip over the
    new year, an event without an end; a manage URL (so the footer links it)."""
    tz = "America/New_York"
    events = [
        _novel(
            {
                "id": "tokyo",
                "summary": "Call with the Tokyo office",
                "start": {"dateTime": "2026-12-03T09:00:00+09:00", "timeZone": "Asia/Tokyo"},
                "end": {"dateTime": "2026-12-03T10:00:00+09:00", "timeZone": "Asia/Tokyo"},
                "hangoutLink": "https://meet.google.com/tok-yooo-ffc",
            },
            tz,
            "first time in your calendar",
            "in Tokyo time (UTC+9)",
        ),
        _novel(
            {
                "id": "hack",
                "summary": "Hackathon",
                "start": {"dateTime": "2026-12-10T09:00:00-05:00"},
                "end": {"dateTime": "2026-12-12T18:00:00-05:00"},
                "location": "Pier 57, 25 11th Ave, New York",
            },
            tz,
            "only once in the past year",
        ),
        _novel(
            {
                "id": "cabin",
                "summary": "Winter break at the cabin",
                "start": {"date": "2026-12-31"},
                "end": {"date": "2027-01-03"},
            },
            tz,
            "all-day, 3 days",
        ),
        _novel(
            {"id": "tax", "summary": "Tax appointment", "start": {"dateTime": "2027-01-08T11:00:00-05:00"}},
            tz,
            "first time in your calendar",
        ),
    ]
    titles = ["Call with the Tokyo office", "Hackathon", "Winter break at the cabin", "Tax appointment"]
    return Case(
        tz,
        45,
        events,
        titles,
        manage_url="https://novel.example.com/manage/grace?token=a1&lang=en",
        schedule_text="weekly on Sunday at 08:00",
        user_id="grace",
    )


def _hostile() -> Case:
    """Untrusted event text: markup, script-scheme and quote-breaking links, a title that tries to add lines
    and reverse itself, a very long title and URL, right-to-left text, no title at all."""
    tz = "Europe/Berlin"
    events = [
        _novel(
            {
                "id": "xss",
                "summary": '<script>alert(1)</script> Team <b>party</b> & "drinks"',
                "htmlLink": "JaVaScRiPt:alert(1)",
                "hangoutLink": "javascript:alert(2)",
                "location": '<img src=x onerror=alert(1)>"><svg onload=alert(1)>',
                "conferenceData": {
                    "entryPoints": [
                        {"entryPointType": "video", "uri": "javascript:alert(3)"},
                        {"entryPointType": "video", "uri": "https://zoom.example.com/j/123?pwd=x&y=1"},
                    ]
                },
                "start": {"dateTime": "2026-11-30T18:00:00+01:00"},
                "end": {"dateTime": "2026-11-30T20:00:00+01:00"},
            },
            tz,
            "first time in your calendar",
        ),
        _novel(
            {
                "id": "inject",
                "summary": "Budget\r\n\r\nFrom: ceo@example.com\x00\u202eexe.txt",
                "htmlLink": 'https://x.example.com/"onmouseover=alert(1)',
                "start": {"dateTime": "2026-12-01T09:00:00+01:00"},
                "end": {"dateTime": "2026-12-01T09:30:00+01:00"},
            },
            tz,
            "only once in the past year",
        ),
        _novel(
            {
                "id": "long",
                "summary": "Quarterly planning and " * 12 + "more",
                "location": "https://maps.example.com/" + "x" * 150,
                "htmlLink": "data:text/html,<script>alert(1)</script>",
                "start": {"dateTime": "2026-12-02T10:00:00+01:00"},
                "end": {"dateTime": "2026-12-02T12:00:00+01:00"},
            },
            tz,
            "first time in your calendar",
        ),
        _novel(
            {
                "id": "rtl",
                "summary": "פגישת צוות",
                "location": "תל אביב",
                "start": {"dateTime": "2026-12-03T11:00:00+02:00", "timeZone": "Asia/Jerusalem"},
                "end": {"dateTime": "2026-12-03T12:00:00+02:00", "timeZone": "Asia/Jerusalem"},
            },
            tz,
            "first time in your calendar",
            "in Jerusalem time (UTC+2)",
        ),
        _novel(
            {
                "id": "untitled",
                "start": {"dateTime": "2026-12-04T08:00:00+01:00"},
                "end": {"dateTime": "2026-12-04T08:30:00+01:00"},
            },
            tz,
            "first time in your calendar",
        ),
    ]
    titles = [
        '<script>alert(1)</script> Team <b>party</b> & "drinks"',
        "Budget From: ceo@example.com exe.txt",
        ("Quarterly planning and " * 12)[:199].rstrip() + "…",
        "פגישת צוות",
        "(no title)",
    ]
    return Case(tz, 7, events, titles)


def _empty() -> Case:
    return Case("Europe/Berlin", 14, [], [])


CASES = {"week": _week(), "month": _month(), "hostile": _hostile(), "empty": _empty()}


# -- snapshots ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_snapshot(name: str) -> None:
    out = CASES[name].render()
    assert out.text.startswith(out.subject + "\n")  # so the .txt snapshot pins the subject too
    assert_matches_snapshot(f"digest_{name}.html", out.html)
    assert_matches_snapshot(f"digest_{name}.txt", out.text)


def test_snapshot_helper_diffs_and_updates(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="missing"):
        assert_matches_snapshot("x.txt", "a\n", directory=tmp_path, update=False)
    assert_matches_snapshot("x.txt", "a\r\nb\n", directory=tmp_path, update=True)
    assert (tmp_path / "x.txt").read_bytes() == b"a\r\nb\n"
    assert_matches_snapshot("x.txt", "a\r\nb\n", directory=tmp_path, update=False)
    with pytest.raises(pytest.fail.Exception) as failed:
        assert_matches_snapshot("x.txt", "a\r\nc\n", directory=tmp_path, update=False)
    assert "-b\n" in str(failed.value) and "+c\n" in str(failed.value) and "UPDATE_SNAPSHOTS=1" in str(failed.value)


def test_subjects_say_what_is_inside() -> None:
    subjects = {name: case.render().subject for name, case in CASES.items()}
    assert subjects == {
        "week": "6 new things this week: Trip to Lisbon, Flight to Lisbon (TP 537) and 4 more",
        "month": "4 new things in the next 45 days: Call with the Tokyo office, Hackathon and 2 more",
        # each title at most 40 characters, so the count of the rest always survives
        "hostile": "5 new things this week: <script>alert(1)</script> Team <b>party…, "
        "Budget From: ceo@example.com exe.txt and 3 more",
        "empty": "Nothing out of the ordinary in the next 14 days",
    }


# -- properties of every case ------------------------------------------------------------------------------------


class _Scan(HTMLParser):
    """Tags, attributes and the text of every ``<p class="title">``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.titles: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((tag, k, v or "") for k, v in attrs)
        if tag == "p" and ("class", "title") in attrs:
            self._in_title = True
            self.titles.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.titles[-1] += data


def _scan(html: str) -> _Scan:
    scan = _Scan()
    scan.feed(html)
    scan.close()
    return scan


def _text_titles(text: str) -> list[str]:
    return [line[2:] for line in text.splitlines() if line.startswith("* ")]


@pytest.mark.parametrize("name", sorted(CASES))
def test_html_is_inlined_inert_and_self_contained(name: str) -> None:
    html = CASES[name].render().html
    lower = html.lower()
    scan = _scan(html)
    assert "style" not in scan.tags and "<style" not in lower  # the CSS was inlined
    assert "<script" not in lower and "javascript:" not in lower
    for banned in ("script", "iframe", "object", "embed", "form", "img", "link", "svg", "base"):
        assert banned not in scan.tags, banned
    assert "url(" not in lower and "@import" not in lower and "@font-face" not in lower  # nothing external
    assert not [a for a in scan.attrs if a[1] in {"src", "srcset", "background", "action", "formaction"}]
    assert not [a for a in scan.attrs if a[1].startswith("on")]  # no event handlers
    hrefs = [v for _, k, v in scan.attrs if k == "href"]
    assert all(re.match(r"https?://[^\s\"'<>/]+", h) for h in hrefs), hrefs
    assert len(hrefs) == html.count("href=")  # the parser saw every one


def test_html_links_only_what_is_safe() -> None:
    hrefs = {name: [v for _, k, v in _scan(c.render().html).attrs if k == "href"] for name, c in CASES.items()}
    assert hrefs["hostile"] == ["https://zoom.example.com/j/123?pwd=x&y=1"]
    assert hrefs["week"] == [
        "https://calendar.google.com/calendar/event?eid=ZmxpZ2h0",
        "https://calendar.google.com/calendar/event?eid=cmV2aWV3&ctz=Europe/Berlin",
        "https://meet.google.com/abc-defg-hij",
        "https://digest.example.org/mute/tok.review",  # "Not new to me", per event
        "https://digest.example.org/mute/tok.parents",
        "https://digest.example.org/manage/tok.m",  # footer: settings, unsubscribe
        "https://digest.example.org/unsubscribe/tok.u",
    ]
    assert hrefs["month"][-1] == "https://novel.example.com/manage/grace?token=a1&lang=en"
    assert hrefs["empty"] == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_text_and_html_list_the_same_titles_in_the_same_order(name: str) -> None:
    case = CASES[name]
    out = case.render()
    assert _scan(out.html).titles == _text_titles(out.text) == case.titles


@pytest.mark.parametrize("name", sorted(CASES))
def test_phone_friendly(name: str) -> None:
    """Single column that never needs more than a 360px screen; a hidden preheader; language and direction."""
    html = CASES[name].render().html
    scan = _scan(html)
    assert re.search(r'<html lang="en" dir="ltr">', html)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<meta name="color-scheme" content="light">' in html
    assert scan.tags.count("table") == 2 and "td" in scan.tags  # outer + one centred column, no grid
    for _, k, v in scan.attrs:
        if k == "width":
            assert v == "100%", v
        if k == "style":
            for prop, px in re.findall(r"(?:^|;)\s*((?:min-)?width)\s*:\s*(\d+)px", v):
                pytest.fail(f"fixed {prop}: {px}px in {v!r}")
    for cls in ("title", "meta", "why"):
        for style in re.findall(rf'class="{cls}"[^>]*style="([^"]*)"', html):
            assert "overflow-wrap: anywhere" in style
    preheader = re.search(r'<body[^>]*>\s*<div class="preheader" style="([^"]*)">([^<]*)</div>', html)
    assert preheader and "display: none" in preheader.group(1)
    assert preheader.group(2).strip()


def test_render_is_pure() -> None:
    for case in CASES.values():
        first = case.render()
        assert case.render() == first
        assert case.render(list(reversed(case.events))) == first  # input order does not matter
