"""Readable run names and the alert email. Pure."""

from __future__ import annotations

import datetime as dt

import pytest

from novel_events.alert_mail import alert_email
from novel_events.runnames import digest_run_name


@pytest.mark.parametrize(
    ("when", "tz", "kw", "name"),
    [
        (dt.datetime(2026, 12, 3, 6, 30, tzinfo=dt.UTC), "Europe/Berlin", {}, "ada · Thu 3 Dec 07:30 CET"),
        (dt.datetime(2026, 7, 2, 5, 30, tzinfo=dt.UTC), "Europe/Berlin", {}, "ada · Thu 2 Jul 07:30 CEST"),
        (dt.datetime(2026, 12, 3, 14, 0, tzinfo=dt.UTC), "America/Denver", {}, "ada · Thu 3 Dec 07:00 MST"),
        (dt.datetime(2026, 12, 3, 6, 30, tzinfo=dt.UTC), None, {}, "ada · Thu 3 Dec 06:30 UTC"),
        (dt.datetime(2026, 12, 3, 6, 30), "Asia/Kolkata", {}, "ada · Thu 3 Dec 12:00 IST"),  # naive = UTC
        (
            dt.datetime(2026, 12, 3, 6, 31, tzinfo=dt.UTC),
            "Europe/Berlin",
            {"manual": True},
            "ada · manual Thu 3 Dec 07:31 CET",
        ),
        (
            dt.datetime(2026, 12, 3, 6, 31, tzinfo=dt.UTC),
            "Europe/Berlin",
            {"manual": True, "dry_run": True},
            "ada · dry run Thu 3 Dec 07:31 CET",
        ),
        (None, "Europe/Berlin", {}, "ada"),
        (None, None, {"manual": True}, "ada · manual"),
    ],
)
def test_digest_run_name(when: dt.datetime | None, tz: str | None, kw: dict[str, bool], name: str) -> None:
    assert digest_run_name("ada", when, tz, **kw) == name


def test_alert_email_is_escaped_bounded_and_stable() -> None:
    now = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)
    a = alert_email(
        to="ops@example.org",
        from_="n@x.org",
        subject="novel-events:\n user-a <b> Failed",
        body="Reason: <tag>" + "x" * 9000,
        key="run-1",
        now=now,
    )
    assert a.subject == "novel-events: user-a <b> Failed" and "&lt;tag&gt;" in a.html and "<tag>" not in a.html
    assert len(a.text) < 4100 and a.headers["Auto-Submitted"] == "auto-generated"
    assert (
        a.message_id
        == alert_email(to="o@x.org", from_="n@x.org", subject="s", body="b", key="run-1", now=now).message_id
    )
