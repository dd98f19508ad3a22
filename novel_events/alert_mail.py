"""Operator alerts as email: the message the alert flow sends to ``ALERT_EMAIL``. Pure."""

from __future__ import annotations

import datetime as dt
import hashlib
import html

from novel_events.mailers.base import OutgoingEmail

MAX_SUBJECT = 200
MAX_BODY = 4000


def alert_email(
    *, to: str, from_: str, subject: str, body: str, key: str, now: dt.datetime, domain: str = "novel-events.localhost"
) -> OutgoingEmail:
    """One alert. ``key`` (e.g. the alert run's id) makes the Message-ID stable across retries of one alert."""
    subject = " ".join(subject.split())[:MAX_SUBJECT] or "novel-events alert"
    body = body.strip()[:MAX_BODY]
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    page = (
        '<!doctype html><html><body style="font-family:system-ui,sans-serif">'
        f'<h3 style="margin:0 0 8px">{html.escape(subject)}</h3>'
        f'<pre style="white-space:pre-wrap;font-size:14px">{html.escape(body)}</pre>'
        '<p style="color:#666;font-size:12px">Sent by the novel-events alert automations '
        "(NOVEL_EVENTS_ALERT_EMAIL).</p></body></html>"
    )
    return OutgoingEmail(
        to=to,
        from_=from_,
        subject=subject,
        html=page,
        text=body + "\n",
        message_id=f"<alert.{digest}@{domain}>",
        date=now,
        headers={"Auto-Submitted": "auto-generated", "X-Novel-Events-Alert": "1"},
    )
