"""Helpers of the web tests: the app's test settings and Google accounts that sign up through the fake."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.fakes.google_calendar import FakeAccount, FakeGoogleCalendar, calendar_entry, timed_event, weekly_series
from tests.support.env import unique_id

SECRET = "web-tests-secret-key-0123456789abcdef"
API_TOKEN = "api-token-for-the-tests-0123456789"


def google_dump(address: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """A Google account: a routine (weekly series) and three one-offs ahead, two calendars."""
    now = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = (now - dt.timedelta(weeks=20)).replace(hour=9, minute=0, second=0)
    items = weekly_series("standup", start, 24, summary="Team sync")
    items += [
        timed_event("dentist", now + dt.timedelta(days=2), summary="Dentist"),
        timed_event("lisbon", now + dt.timedelta(days=3), summary="Flight to Lisbon"),
        timed_event("pottery", now + dt.timedelta(days=4), summary="Pottery taster"),
    ]
    return {
        "timeZone": "Europe/Lisbon",
        "calendars": [
            calendar_entry(address, address, items, primary=True, timeZone="Europe/Lisbon"),
            calendar_entry(f"family-{address}", "Family", [], timeZone="Europe/Lisbon"),
        ],
    }


def new_account(fake: FakeGoogleCalendar) -> tuple[FakeAccount, str]:
    address = f"{unique_id('web')}@example.org"
    account = fake.add_account(google_dump(address))
    fake.account = account  # the consent screen signs in as this account
    return account, address


def consent(client: TestClient, fake: FakeGoogleCalendar) -> str:
    """/auth/google/start → the fake's consent screen; returns our callback path + query (not yet opened)."""
    start = client.get("/auth/google/start", follow_redirects=False)
    assert start.status_code == 303, start.text
    back = httpx.get(start.headers["location"], follow_redirects=False)
    assert back.status_code == 302, back.text
    url = urllib.parse.urlsplit(back.headers["location"])
    assert f"{url.scheme}://{url.netloc}" == "http://testserver" and url.path == "/auth/google/callback"
    return f"{url.path}?{url.query}"
