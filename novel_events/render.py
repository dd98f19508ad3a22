"""Render a digest: subject, mobile-friendly HTML (inlined CSS) and plain text, from novel events.

Pure: the same inputs give the same bytes. Event text is untrusted: Jinja2 autoescapes it and only
http(s) links become ``href``s.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import groupby
from typing import Any
from urllib.parse import urlparse

import css_inline
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from novel_events.events import NovelEvent, event_end, zone

_env = Environment(
    loader=PackageLoader("novel_events", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True, default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_inliner = css_inline.CSSInliner(keep_style_tags=False)


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


def safe_url(value: Any) -> str | None:
    """An http(s) URL, or None: ``javascript:`` and friends never become links."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    parsed = urlparse(url)
    if parsed.scheme.lower() in {"http", "https"} and parsed.netloc and not any(c in url for c in "\"'<> "):
        return url
    return None


def _video(event: dict[str, Any]) -> str | None:
    if safe_url(event.get("hangoutLink")):
        return safe_url(event.get("hangoutLink"))
    conf = event.get("conferenceData")
    if isinstance(conf, dict):
        for ep in conf.get("entryPoints") or []:
            if isinstance(ep, dict) and ep.get("entryPointType") == "video" and safe_url(ep.get("uri")):
                return safe_url(ep.get("uri"))
    return None


def _fmt_time(t: dt.datetime) -> str:
    return t.strftime("%H:%M")


def _item(n: NovelEvent, tz: dt.tzinfo, tz_name: str) -> Item:
    ev = n.event
    title = str(ev.get("summary") or "(no title)").strip()[:200]
    own: str | None = None
    if n.all_day:
        end = event_end(ev, zone(tz_name))
        days = ((end[0].date() - n.start.date()).days if end else 1) or 1
        when = "all day" if days <= 1 else f"all day, {days} days"
    else:
        start = n.start.astimezone(tz)
        end = event_end(ev, zone(tz_name))
        when = _fmt_time(start) + (f"–{_fmt_time(end[0].astimezone(tz))}" if end else "")
        ev_zone = (ev.get("start") or {}).get("timeZone")
        if isinstance(ev_zone, str) and ev_zone != tz_name:
            try:
                z = zone(ev_zone)
                local = n.start.astimezone(z)
                if local.utcoffset() != start.utcoffset():
                    own = f"{_fmt_time(local)} {ev_zone.split('/')[-1].replace('_', ' ')} time"
            except Exception:
                own = None
    location = str(ev["location"]).strip()[:200] if ev.get("location") else None
    return Item(title=title, when=when, own_zone=own, location=location, link=safe_url(ev.get("htmlLink")),
                video=_video(ev), reasons=tuple(n.reasons))


def subject_for(novel: list[NovelEvent]) -> str:
    if not novel:
        return "Nothing out of the ordinary coming up"
    titles = [str(n.event.get("summary") or "(no title)").strip() for n in novel]
    head = ", ".join(titles[:2]) + (f" and {len(titles) - 2} more" if len(titles) > 2 else "")
    count = len(novel)
    noun = "new thing" if count == 1 else "new things"
    subject = f"{count} {noun} coming up: {head}"
    return subject if len(subject) <= 120 else subject[:119] + "…"


def render_digest(
    novel: list[NovelEvent],
    *,
    user_id: str,
    tz_name: str,
    lookahead_days: int,
    schedule_text: str,
    generated_at: dt.datetime,
    manage_url: str | None = None,
) -> RenderedDigest:
    tz = zone(tz_name)
    ordered = sorted(novel, key=lambda n: (n.start, n.calendar_id, n.event_id))
    days = []
    for day, group in groupby(ordered, key=lambda n: n.start.astimezone(tz).date()):
        days.append({"label": day.strftime("%A, %d %B %Y").replace(" 0", " "),
                     "items": [_item(n, tz, tz_name) for n in group]})
    subject = subject_for(ordered)
    ctx = {
        "subject": subject,
        "days": days,
        "count": len(ordered),
        "user_id": user_id,
        "tz_name": tz_name,
        "lookahead_days": lookahead_days,
        "schedule_text": schedule_text,
        "generated": generated_at.astimezone(tz).strftime("%d %b %Y %H:%M"),
        "manage_url": safe_url(manage_url),
    }
    html = _inliner.inline(_env.get_template("digest.html.j2").render(**ctx))
    text = _env.get_template("digest.txt.j2").render(**ctx)
    return RenderedDigest(subject=subject, html=html, text=text)
