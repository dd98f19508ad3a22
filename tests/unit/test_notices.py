"""User notices: when a user is told, once, and when the notice closes. Pure, table-driven."""

from __future__ import annotations

import datetime as dt

import pytest

from novel_events.models import User
from novel_events.notices import (
    NoticeKind,
    OpenNotice,
    Problem,
    SlotRun,
    failed_streak,
    notice_email,
    notice_text,
    plan,
    problems_for,
)
from novel_events.schedules import Schedule

T0 = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)


def _user(uid: str = "ada", **changes: object) -> User:
    user = User(
        id=uid,
        email=f"{uid}@example.org",
        schedule=Schedule.parse("daily", "07:30", "Europe/Berlin", None),
        source="ics:/tmp/x.ics",
    )
    return user.with_changes(**changes)


def _runs(*outcomes: str) -> list[SlotRun]:
    """Newest first: 'ok', 'fail', 'crash', 'cancel', or 'fail+ok' (a failed run re-run successfully)."""
    runs = []
    for i, o in enumerate(outcomes):
        slot = f"2026-12-{20 - i:02d}T06:30Z"
        for part in o.split("+"):
            state = {"ok": "Completed", "fail": "Failed", "crash": "Crashed", "cancel": "Cancelled"}[part]
            runs.append(SlotRun(slot, ok=part == "ok", state=state, reason=f"boom {i}", flow_run_id=f"run-{i}"))
    return runs


@pytest.mark.parametrize(
    ("outcomes", "streak"),
    [
        ((), 0),
        (("fail", "fail", "fail"), 3),
        (("fail", "fail", "ok", "fail"), 2),
        (("ok", "fail", "fail", "fail"), 0),
        (("fail", "crash", "fail", "fail"), 4),
        (("fail", "fail+ok", "fail"), 1),  # a slot re-run successfully is handled
        (("cancel", "fail", "fail", "fail"), 3),  # a collision decides nothing
    ],
)
def test_failed_streak(outcomes: tuple[str, ...], streak: int) -> None:
    assert len(failed_streak(_runs(*outcomes))) == streak


def test_problems_reconnect_explains_the_failures() -> None:
    assert [p.kind for p in problems_for(_user(needs_reconnect=True), _runs("fail", "fail", "fail"))] == [
        NoticeKind.RECONNECT
    ]
    (failing,) = problems_for(_user(), _runs("fail", "fail", "fail", "ok"))
    assert failing.kind is NoticeKind.FAILING and failing.reason == "boom 0" and failing.flow_run_id == "run-0"
    assert failing.slots == ("2026-12-20T06:30Z", "2026-12-19T06:30Z", "2026-12-18T06:30Z")
    assert problems_for(_user(), _runs("fail", "fail")) == []


FAILING = Problem(NoticeKind.FAILING, reason="x")
RECONNECT = Problem(NoticeKind.RECONNECT)


def test_plan_new_problem_is_opened_told_and_alerted() -> None:
    p = plan([_user()], {"ada": [FAILING]}, [])
    assert p.open == [("ada", FAILING)] and p.notify == [("ada", FAILING)] and p.alert == [("ada", FAILING)]
    assert p.close == []
    reconnect = plan([_user()], {"ada": [RECONNECT]}, [])
    assert reconnect.notify == [("ada", RECONNECT)] and reconnect.alert == []  # failed runs already alert


def test_plan_open_notice_is_not_repeated() -> None:
    told = OpenNotice("ada", NoticeKind.FAILING, T0, notified_at=T0, alerted_at=T0)
    p = plan([_user()], {"ada": [FAILING]}, [told])
    assert (p.open, p.notify, p.alert, p.close) == ([], [], [], [])


def test_plan_retries_what_did_not_go_out() -> None:
    half = OpenNotice("ada", NoticeKind.FAILING, T0, notified_at=None, alerted_at=T0)
    p = plan([_user()], {"ada": [FAILING]}, [half])
    assert p.open == [] and p.notify == [("ada", FAILING)] and p.alert == []


def test_plan_closes_fixed_and_removed_and_leaves_paused_alone() -> None:
    notices = [
        OpenNotice("ada", NoticeKind.FAILING, T0, T0, T0),
        OpenNotice("gone", NoticeKind.RECONNECT, T0, T0),
        OpenNotice("zoe", NoticeKind.RECONNECT, T0, T0),
    ]
    p = plan([_user(), _user("zoe", enabled=False)], {}, notices)
    assert sorted(p.close) == [("ada", NoticeKind.FAILING), ("gone", NoticeKind.RECONNECT)]
    assert plan([_user("zoe", enabled=False)], {"zoe": [RECONNECT]}, []).notify == []


def test_notice_text_with_and_without_the_web_app() -> None:
    subject, text, link = notice_text(_user(), RECONNECT, "https://events.example.org/")
    assert "reconnect" in subject.lower() and link == "https://events.example.org/connect" and link in text
    subject, text, link = notice_text(_user(), RECONNECT, None)
    assert link is None and "ask the person who set up your digest" in text
    subject, text, link = notice_text(
        _user(), Problem(NoticeKind.FAILING, reason="cannot read iCal file"), "https://events.example.org"
    )
    assert subject == "Your calendar digest failed 3 times in a row"
    assert "could not read your calendar feed" in text and "iCal file" not in text
    assert link == "https://events.example.org/settings"


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("PermanentError: cannot read iCal file /srv/feeds/ada.ics: No such file", "calendar feed"),
        ("HttpError 403 from Google Calendar API: quotaExceeded", "Google Calendar"),
        ("SMTP 550 5.1.1 mailbox unavailable at mx.example.org", "deliver email"),
        ("Flow run exceeded timeout of 900.0 second(s)", "too long"),
        ("KeyError: 'x'", "an error on our side"),
    ],
)
def test_plain_reason_hides_the_raw_error(reason: str, words: str) -> None:
    from novel_events.notices import plain_reason

    said = plain_reason(reason)
    assert words in said and "/srv" not in said and "mx.example.org" not in said


def test_notice_email_is_stable_per_opening_and_escaped() -> None:
    problem = Problem(NoticeKind.FAILING, reason="<script>alert(1)</script>")
    a = notice_email(
        _user(), problem, public_url="https://e.example.org", from_="n@e.example.org", now=T0, opened_at=T0
    )
    b = notice_email(
        _user(),
        problem,
        public_url="https://e.example.org",
        from_="n@e.example.org",
        now=T0 + dt.timedelta(minutes=5),
        opened_at=T0,
    )
    c = notice_email(
        _user(), problem, public_url=None, from_="n@e.example.org", now=T0, opened_at=T0 + dt.timedelta(days=1)
    )
    assert a.message_id == b.message_id != c.message_id
    assert "<script>" not in a.html and "script" not in a.text  # the raw error never reaches the user
    assert '<a href="https://e.example.org/settings">' in a.html
    assert a.headers["X-Novel-Events-Notice"] == "failing" and a.to == "ada@example.org"
