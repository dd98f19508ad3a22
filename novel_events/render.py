"""Render a digest: subject, mobile-friendly HTML (inlined CSS) and plain text, from novel events.

Pure: the same inputs give the same bytes (no locale, no clock, no network: day and month names are
our own tables, the CSS inliner never loads remote stylesheets). Event text is untrusted: Jinja2
autoescapes it in the HTML, control and bidi-override characters are dropped and whitespace is
collapsed everywhere (a title cannot fake extra lines in the text part or the subject), and only
http(s) links become ``href``s.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import groupby
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import css_inline
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from novel_events.events import NovelEvent, event_end, zone

_env = Environment(
    loader=PackageLoader("novel_events", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True, default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_inliner = css_inline.CSSInliner(keep_style_tags=False, keep_link_tags=False, load_remote_stylesheets=False)

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

TITLE_MAX = 200
LOCATION_MAX = 200
SUBJECT_MAX = 120
SUBJECT_TITLE_MAX = 40
PREHEADER_MAX = 140
WEEK_DAYS = 7

# C0/C1 controls, and the bidi embeddings/overrides/isolates that can make text read differently than it is.
_UNSAFE_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    subject: str
    html: str
    text: str


@dataclass(frozen=True, slots=True)
class Item:
    title: str
    when: str
    own_zone: str | None
    location: str | None
    link: str | None
    video: str | None
    reasons: tuple[str, ...]
    video_host: str | None = None
    all_day: bool = False
    mute: str | None = None  # signed "Not new to me — hide events like this" link


def safe_url(value: Any) -> str | None:
    """An http(s) URL, or None: ``javascript:`` and friends never become links."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    parsed = urlparse(url)
    if len(url) > 2048 or any(c.isspace() or not c.isprintable() for c in url):  # CR/LF would forge text lines
        return None
    if parsed.scheme.lower() in {"http", "https"} and parsed.netloc and not any(c in url for c in "\"'<> "):
        return url
    return None


def clean_text(value: Any, limit: int = TITLE_MAX) -> str:
    """Untrusted event text as one line: no control/bidi-override characters, whitespace collapsed, at most
    ``limit`` characters (an ellipsis marks a cut)."""
    text = " ".join(_UNSAFE_CHARS.sub(" ", str(value)).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _title(event: dict[str, Any]) -> str:
    return clean_text(event.get("summary") or "") or "(no title)"


def _video(event: dict[str, Any]) -> str | None:
    if safe_url(event.get("hangoutLink")):
        return safe_url(event.get("hangoutLink"))
    conf = event.get("conferenceData")
    if isinstance(conf, dict):
        for ep in conf.get("entryPoints") or []:
            if isinstance(ep, dict) and ep.get("entryPointType") == "video" and safe_url(ep.get("uri")):
                return safe_url(ep.get("uri"))
    return None


# -- dates and times (English, locale-independent) -------------------------------------------------------------


def day_label(day: dt.date) -> str:
    """'Tuesday, 1 December 2026'."""
    return f"{_DAYS[day.weekday()]}, {day.day} {_MONTHS[day.month - 1]} {day.year}"


def short_date(day: dt.date, *, month: bool = True, year: bool = False) -> str:
    """'Tue 1 Dec' (optionally without the month, or with the year)."""
    text = f"{_DAYS[day.weekday()][:3]} {day.day}"
    if month:
        text += f" {_MONTHS[day.month - 1][:3]}"
    return text + (f" {day.year}" if year else "")


def date_range(first: dt.date, last: dt.date) -> str:
    """Inclusive day range, month and year said once: 'Thu 3 – Sat 5 Dec', 'Mon 30 Nov – Wed 2 Dec'."""
    if first == last:
        return short_date(first)
    if first.year != last.year:
        return f"{short_date(first, year=True)} – {short_date(last, year=True)}"
    return f"{short_date(first, month=first.month != last.month)} – {short_date(last)}"


def _fmt_time(t: dt.datetime) -> str:
    return t.strftime("%H:%M")


def _zone_label(name: str) -> str:
    """'Europe/Lisbon' -> 'Lisbon', 'America/New_York' -> 'New York'."""
    return name.rsplit("/", 1)[-1].replace("_", " ")


def _own_zone(value: Any, user_tz_name: str) -> ZoneInfo | None:
    """The zone an event end point is set in, when it is a real zone other than the user's."""
    name = value.get("timeZone") if isinstance(value, dict) else None
    if not isinstance(name, str) or name == user_tz_name:
        return None
    try:
        return zone(name)
    except Exception:
        return None


def _all_day_when(n: NovelEvent, tz: ZoneInfo) -> str:
    first = n.start.astimezone(tz).date()
    end = event_end(n.event, tz)
    days = (end[0].date() - first).days if end else 1
    if days <= 1:
        return "all day"
    return f"{date_range(first, first + dt.timedelta(days=days - 1))} (all day, {days} days)"


def _timed_when(start: dt.datetime, end: dt.datetime | None) -> str:
    """'10:00–12:00'; '23:00–01:30 next day'; '09:00 – Thu 3 Dec, 18:00'; just '10:00' without a usable end."""
    if end is None or end <= start:
        return _fmt_time(start)
    days = (end.date() - start.date()).days
    if days == 0 or (days == 1 and end.time() == dt.time(0, 0)):
        return f"{_fmt_time(start)}–{_fmt_time(end)}"
    if days == 1:
        return f"{_fmt_time(start)}–{_fmt_time(end)} next day"
    return f"{_fmt_time(start)} – {short_date(end.date())}, {_fmt_time(end)}"


def _zone_note(n: NovelEvent, start: dt.datetime, end: dt.datetime | None, tz_name: str) -> str | None:
    """'09:00 Lisbon time' (and 'ends 13:00 New York time' for a flight): the event's own wall clock, when
    its zone is not the user's and its clock reads differently."""
    ev = n.event
    notes = []
    start_zone = _own_zone(ev.get("start"), tz_name)
    if start_zone is not None:
        local = start.astimezone(start_zone)
        if local.utcoffset() != start.utcoffset():
            notes.append(f"{_fmt_time(local)} {_zone_label(start_zone.key)} time")
    end_zone = _own_zone(ev.get("end"), tz_name)
    if end is not None and end_zone is not None and end_zone != start_zone:
        local_end = end.astimezone(end_zone)
        if local_end.utcoffset() != end.utcoffset():
            notes.append(f"ends {_fmt_time(local_end)} {_zone_label(end_zone.key)} time")
    return ", ".join(notes) or None


def _item(n: NovelEvent, tz: ZoneInfo, tz_name: str, mute: str | None = None) -> Item:
    ev = n.event
    own: str | None = None
    if n.all_day:
        when = _all_day_when(n, tz)
    else:
        start = n.start.astimezone(tz)
        end_when = event_end(ev, tz)
        end = end_when[0].astimezone(tz) if end_when and not end_when[1] else None
        when = _timed_when(start, end)
        own = _zone_note(n, start, end if end is not None and end > start else None, tz_name)
    location = clean_text(ev.get("location") or "", LOCATION_MAX) or None
    video = _video(ev)
    reasons = tuple(r for r in (clean_text(r) for r in n.reasons) if r)
    return Item(
        title=_title(ev),
        when=when,
        own_zone=own,
        location=location,
        link=safe_url(ev.get("htmlLink")),
        video=video,
        reasons=reasons,
        video_host=urlparse(video).hostname if video else None,
        all_day=n.all_day,
        mute=safe_url(mute),
    )


# -- subject and preheader ----------------------------------------------------------------------------------------


def horizon(
    novel: list[NovelEvent], *, now: dt.datetime | None, tz: dt.tzinfo | None, lookahead_days: int | None
) -> str:
    """'this week' when every event starts within 7 calendar days of ``now`` (in ``tz``, else ``now``'s zone)
    or the lookahead is a week; else 'in the next N days' (the lookahead); 'coming up' when neither is known."""
    if lookahead_days == WEEK_DAYS:
        return "this week"
    if novel and now is not None:
        local = tz or now.tzinfo or dt.UTC  # never astimezone(None): that would read the machine's zone
        today = now.astimezone(local).date()
        if all((n.start.astimezone(local).date() - today).days < WEEK_DAYS for n in novel):
            return "this week"
    if lookahead_days is not None:
        return f"in the next {lookahead_days} day{'' if lookahead_days == 1 else 's'}"
    return "coming up"


def subject_for(
    novel: list[NovelEvent],
    *,
    now: dt.datetime | None = None,
    tz_name: str | None = None,
    lookahead_days: int | None = None,
) -> str:
    """'3 new things this week: Flight to Lisbon, Trip and 1 more' (events in the order given).

    Without ``now``/``lookahead_days`` the horizon is 'coming up'."""
    when = horizon(novel, now=now, tz=zone(tz_name) if tz_name else None, lookahead_days=lookahead_days)
    if not novel:
        return f"Nothing out of the ordinary {when}"
    count = len(novel)
    noun = "new thing" if count == 1 else "new things"
    titles = [clean_text(_title(n.event), SUBJECT_TITLE_MAX) for n in novel]
    for shown in range(min(2, count), 0, -1):  # as many titles as fit, and always say how many more
        more = count - shown
        subject = f"{count} {noun} {when}: {', '.join(titles[:shown])}" + (f" and {more} more" if more else "")
        if len(subject) <= SUBJECT_MAX:
            return subject
    return subject[: SUBJECT_MAX - 1].rstrip() + "…"


def _preheader(days: list[dict[str, Any]], empty_text: str) -> str:
    """The inbox preview line: which day has what ('Tue 1 Dec: Trip, Flight to Lisbon. Wed 2 Dec: Dinner.')."""
    if not days:
        return empty_text
    text = " ".join(f"{d['short']}: {', '.join(i.title for i in d['items'])}." for d in days)
    return text if len(text) <= PREHEADER_MAX else text[: PREHEADER_MAX - 1].rstrip() + "…"


def render_digest(
    novel: list[NovelEvent],
    *,
    user_id: str,
    tz_name: str,
    lookahead_days: int,
    schedule_text: str,
    generated_at: dt.datetime,
    manage_url: str | None = None,
    unsubscribe_url: str | None = None,
    mute_urls: Mapping[tuple[str, str], str] | None = None,
) -> RenderedDigest:
    """``mute_urls`` maps (calendar id, event id) to the event's "hide events like this" link."""
    tz = zone(tz_name)
    mutes = mute_urls or {}
    ordered = sorted(novel, key=lambda n: (n.start, n.calendar_id, n.event_id))
    days = []
    for day, group in groupby(ordered, key=lambda n: n.start.astimezone(tz).date()):
        items = [_item(n, tz, tz_name, mutes.get((n.calendar_id, n.event_id))) for n in group]
        days.append({"label": day_label(day), "short": short_date(day), "items": items})
    subject = subject_for(ordered, now=generated_at, tz_name=tz_name, lookahead_days=lookahead_days)
    span = horizon([], now=None, tz=None, lookahead_days=lookahead_days)
    empty_text = f"Nothing out of the ordinary {span}. Enjoy the routine."
    ctx = {
        "subject": subject,
        "preheader": _preheader(days, empty_text),
        "days": days,
        "count": len(ordered),
        "span": span,
        "empty_text": empty_text,
        "user_id": user_id,
        "tz_name": tz_name,
        "lookahead_days": lookahead_days,
        "schedule_text": schedule_text,
        "generated": f"{short_date(generated_at.astimezone(tz).date(), year=True)}, "
        f"{_fmt_time(generated_at.astimezone(tz))} {tz_name}",
        "manage_url": safe_url(manage_url),
        "unsubscribe_url": safe_url(unsubscribe_url),
    }
    html = _inliner.inline(_env.get_template("digest.html.j2").render(**ctx))
    text = _env.get_template("digest.txt.j2").render(**ctx)
    return RenderedDigest(subject=subject, html=html, text=text)
