"""User notices: tell a user, once, what broke in their digest and how to fix it. Pure.

Two problems are worth an email to the user:

- ``reconnect``: their Google grant was revoked or expired (the store's ``needs_reconnect``);
- ``failing``: their last ``FAILING_SLOTS`` scheduled slots all failed (whatever the reason).

A notice is *opened* when a problem appears, the user is emailed once (and, for ``failing``, the
operator alerted once), and it is *closed* when the problem is gone, so the same problem coming back
later is told again. ``plan`` decides all of that from plain values; the Prefect layer
(tasks/notices.py) gathers the values and carries the plan out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from novel_events.mailers.base import OutgoingEmail
from novel_events.models import User

FAILING_SLOTS = 3
# Prefect events about a user (resource id ``novel-events.user.<id>``), turned into alerts by init's automations.
USER_RESOURCE_PREFIX = "novel-events.user."
FAILING_EVENT = "novel-events.digest.failing"  # a failing episode began (the maintenance job, once)
MISSED_EVENT = "novel-events.digest.missed"  # a slot's window closed undelivered after failures (recovery sweep)
RECONNECT_PATH = "/connect"  # relative to PUBLIC_URL (the web app)
SETTINGS_PATH = "/settings"
MAX_REASON = 200


class NoticeKind(StrEnum):
    RECONNECT = "reconnect"
    FAILING = "failing"


@dataclass(frozen=True, slots=True)
class SlotRun:
    """One finished scheduled run of a user's digest."""

    slot: str  # the scheduled minute, e.g. 2026-12-03T06:30Z
    ok: bool  # Completed (sent, nothing novel, missed, already sent): the slot is handled
    state: str  # Completed / Failed / Crashed / TimedOut / Cancelled
    reason: str = ""
    flow_run_id: str | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    kind: NoticeKind
    reason: str = ""
    flow_run_id: str | None = None  # the latest failed run, for the operator's link
    slots: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OpenNotice:
    user_id: str
    kind: NoticeKind
    opened_at: dt.datetime
    notified_at: dt.datetime | None = None
    alerted_at: dt.datetime | None = None


@dataclass
class Plan:
    open: list[tuple[str, Problem]] = field(default_factory=list)  # new notices to record
    notify: list[tuple[str, Problem]] = field(default_factory=list)  # email the user
    alert: list[tuple[str, Problem]] = field(default_factory=list)  # tell the operator
    close: list[tuple[str, NoticeKind]] = field(default_factory=list)  # the problem is gone

    def summary(self) -> str:
        return (
            f"{len(self.open)} notice(s) opened, {len(self.notify)} user email(s), "
            f"{len(self.alert)} operator alert(s), {len(self.close)} closed"
        )


def user_resource(user_id: str) -> dict[str, str]:
    """The resource of a user event: ``emit_event(event=MISSED_EVENT, resource=user_resource(uid), ...)``."""
    return {"prefect.resource.id": USER_RESOURCE_PREFIX + user_id, "prefect.resource.name": user_id}


def failed_streak(runs: Iterable[SlotRun]) -> list[SlotRun]:
    """The newest consecutive failed slots, newest first (one entry per slot: its latest failed run).

    A slot counts as handled when any run of it succeeded; cancelled runs (a collision the sweep
    re-runs) decide nothing.
    """
    by_slot: dict[str, list[SlotRun]] = {}
    for r in runs:
        if r.state.lower() == "cancelled":
            continue
        by_slot.setdefault(r.slot, []).append(r)
    streak: list[SlotRun] = []
    for slot in sorted(by_slot, reverse=True):
        rs = by_slot[slot]
        if any(r.ok for r in rs):
            break
        streak.append(rs[0])
    return streak


def problems_for(user: User, runs: Iterable[SlotRun]) -> list[Problem]:
    """What is wrong with ``user`` now. A revoked grant explains the failures: one notice, not two."""
    if user.needs_reconnect:
        return [Problem(NoticeKind.RECONNECT, reason="Google Calendar access was revoked or has expired")]
    streak = failed_streak(runs)
    if len(streak) >= FAILING_SLOTS:
        latest = streak[0]
        return [
            Problem(
                NoticeKind.FAILING,
                reason=_short(latest.reason) or latest.state,
                flow_run_id=latest.flow_run_id,
                slots=tuple(r.slot for r in streak[:FAILING_SLOTS]),
            )
        ]
    return []


def plan(users: Iterable[User], problems: dict[str, list[Problem]], notices: Iterable[OpenNotice]) -> Plan:
    """What to record, send and close. Paused users are left as they are; removed users' notices close."""
    out = Plan()
    existing = {(n.user_id, n.kind): n for n in notices}
    known: set[str] = set()
    for user in users:
        known.add(user.id)
        if not user.enabled:
            continue
        current = {p.kind: p for p in problems.get(user.id, [])}
        for kind, problem in current.items():
            notice = existing.get((user.id, kind))
            if notice is None:
                out.open.append((user.id, problem))
            if notice is None or notice.notified_at is None:
                out.notify.append((user.id, problem))
            if kind is NoticeKind.FAILING and (notice is None or notice.alerted_at is None):
                out.alert.append((user.id, problem))
        out.close.extend((user.id, k) for (uid, k) in existing if uid == user.id and k not in current)
    out.close.extend((uid, k) for (uid, k) in existing if uid not in known)
    return out


def _short(reason: str) -> str:
    line = " ".join(reason.split())
    return line if len(line) <= MAX_REASON else line[: MAX_REASON - 1] + "…"


_PLAIN_REASONS = (
    (
        ("ical", ".ics", "ics ", "feed"),
        "we could not read your calendar feed (it may have moved, become private or be unreachable)",
    ),
    (("google", "calendar api", "invalid_grant", "quota"), "Google Calendar did not answer our requests"),
    (("smtp", "sendgrid", "mailbox", "recipient", "mail "), "we could not deliver email to your address"),
    (("timed out", "timeout", "timedout"), "reading your calendar took too long"),
)


def plain_reason(reason: str) -> str:
    """What broke, in words for the user: never the raw error (paths, hosts, provider replies)."""
    low = reason.lower()
    for needles, words in _PLAIN_REASONS:
        if any(n in low for n in needles):
            return words
    return "an error on our side (our operators have been told)"


def _link(public_url: str | None, path: str) -> str | None:
    return public_url.rstrip("/") + path if public_url else None


def notice_text(user: User, problem: Problem, public_url: str | None) -> tuple[str, str, str | None]:
    """(subject, plain text, link) of the short email telling ``user`` what broke and how to fix it."""
    if problem.kind is NoticeKind.RECONNECT:
        link = _link(public_url, RECONNECT_PATH)
        subject = "Action needed: reconnect your calendar to keep your digest coming"
        fix = (
            f"To fix it, reconnect your Google Calendar (read-only) here:\n{link}"
            if link
            else "To fix it, ask the person who set up your digest to reconnect your Google Calendar."
        )
        lines = [
            f"Hello {user.id},",
            "",
            "We could not read your Google Calendar for your events digest: access was revoked or has expired,",
            "so no digest can be sent until the calendar is connected again.",
            "",
            fix,
        ]
    else:
        link = _link(public_url, SETTINGS_PATH)
        subject = f"Your calendar digest failed {FAILING_SLOTS} times in a row"
        fix = (
            f"If your calendar changed (a moved or private feed, a new account), check your settings here:\n{link}"
            if link
            else "If your calendar changed (a moved or private feed, a new account), tell the person "
            "who set up your digest."
        )
        lines = [
            f"Hello {user.id},",
            "",
            f"Your last {FAILING_SLOTS} scheduled digests could not be made: {plain_reason(problem.reason)}.",
            "",
            fix,
            "Our operators have been alerted too; you will hear from us once, not at every failure.",
        ]
    lines += ["", "— novel-events"]
    return subject, "\n".join(lines) + "\n", link


def notice_email(
    user: User,
    problem: Problem,
    *,
    public_url: str | None,
    from_: str,
    now: dt.datetime,
    opened_at: dt.datetime,
    domain: str = "novel-events.localhost",
) -> OutgoingEmail:
    """The notice as an email; the Message-ID is stable per (user, problem, opening), so a retry is one message."""
    subject, text, link = notice_text(user, problem, public_url)
    body = html.escape(text).replace("\n", "<br>\n")
    if link:
        body = body.replace(html.escape(link), f'<a href="{html.escape(link)}">{html.escape(link)}</a>')
    page = f'<!doctype html><html><body style="font-family:system-ui,sans-serif;font-size:15px">{body}</body></html>'
    key = f"{user.id}\x00{problem.kind}\x00{opened_at.isoformat()}"
    mid = f"<notice.{hashlib.sha256(key.encode()).hexdigest()[:24]}.{user.id}@{domain}>"
    return OutgoingEmail(
        to=user.email,
        from_=from_,
        subject=subject,
        html=page,
        text=text,
        message_id=mid,
        date=now,
        headers={
            "X-Novel-Events-User": user.id,
            "X-Novel-Events-Notice": str(problem.kind),
            "Auto-Submitted": "auto-generated",
        },
    )
