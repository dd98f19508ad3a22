"""A Google user's digest through the real worker, the real Google client libraries and the fake Google."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from pathlib import Path

import pytest
from prefect.blocks.system import Secret

from cli.app import main
from deployments.sync import sync
from novel_events.settings import load_settings
from novel_events.store import UserStore, make_engine
from tests.fakes.google_calendar import (
    FakeGoogleCalendar,
    calendar_entry,
    timed_event,
    weekly_series,
)
from tests.support.env import unique_id
from tests.support.prefect import add_user, emails_for

pytestmark = pytest.mark.e2e


def _dump(uid: str) -> dict:  # type: ignore[type-arg]
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    start = now - dt.timedelta(days=300) + dt.timedelta(hours=2)
    primary = f"{uid}@example.org"
    return {
        "timeZone": "Europe/Berlin",
        "calendars": [
            calendar_entry(
                primary,
                primary,
                [
                    *weekly_series(f"standup-{uid}", start, 45, summary="Team standup"),
                    timed_event(f"dentist-{uid}", now + dt.timedelta(days=2), summary="Dentist appointment"),
                ],
                primary=True,
            )
        ],
    }


@pytest.fixture
def google_user(
    worker: object, session_google: FakeGoogleCalendar, session_home: Path, tmp_path: Path
) -> tuple[str, str]:
    uid = unique_id("g")
    token = f"refresh-{uid}"
    session_google.add_account(_dump(uid), refresh_token=token, name=uid)
    add_user(uid, source="google")
    token_file = tmp_path / "token.txt"
    token_file.write_text(token + "\n")
    assert main(["connect", uid, "--refresh-token-file", str(token_file)]) == 0
    asyncio.run(sync(load_settings()))
    return uid, token


def test_google_digest_then_incremental_then_revoked(
    google_user: tuple[str, str],
    session_google: FakeGoogleCalendar,
    capsys: pytest.CaptureFixture[str],
) -> None:
    uid, token = google_user
    outbox = load_settings().outbox
    assert main(["run", uid, "--wait", "--timeout", "180"]) == 0
    (eml,) = emails_for(outbox, uid)
    body = eml.read_text()
    assert "Dentist appointment" in body and "Team standup" not in body
    first_calls = len(session_google.api_requests(uid))

    # second digest: the encrypted sync state makes it incremental (a handful of small calls)
    assert main(["run", uid, "--wait", "--timeout", "180"]) == 0
    events_calls = [r for r in session_google.api_requests(uid)[first_calls:] if r.path.endswith("/events")]
    assert events_calls and all(r.param("syncToken") for r in events_calls)
    assert len(emails_for(outbox, uid)) == 2

    # the grant is a Secret block; nothing secret in deployment parameters or the run's parameters
    assert token in str(Secret.load(f"novel-events-google-{uid}").get())
    capsys.readouterr()
    assert main(["status", "--user", uid, "--json"]) == 0
    assert token not in capsys.readouterr().out

    # revoked grant: the run fails with "reconnect", no retries of the fetch, the user is flagged
    session_google.revoke_refresh_token(token)
    capsys.readouterr()
    assert main(["run", uid, "--wait", "--timeout", "180"]) == 1
    out = capsys.readouterr().out
    assert "reconnect" in out.lower() and token not in out
    user = UserStore(make_engine(load_settings().store_url)).get(uid)
    assert user.needs_reconnect is True
    assert main(["users", "list", "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[uid]["needsReconnect"] is True


def test_service_account_delegation_connect_and_preview(
    initialized: str,
    session_google: FakeGoogleCalendar,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    sa_email = f"reader-{uuid.uuid4().hex[:6]}@novel-events.iam.gserviceaccount.com"
    session_google.add_service_account(
        sa_email,
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
    )
    uid = unique_id("sa")
    session_google.add_account(_dump(uid), name=uid, subject=f"{uid}@example.org")
    add_user(uid, source="google")
    key_file = tmp_path / "sa.json"
    key_file.write_text(
        json.dumps(
            {
                "type": "service_account",
                "private_key": private,
                "client_email": sa_email,
                "private_key_id": "k1",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    capsys.readouterr()
    assert main(["connect", uid, "--service-account-file", str(key_file), "--subject", "not-an-email"]) == 2
    assert "--subject" in capsys.readouterr().err
    assert main(["connect", uid, "--service-account-file", str(tmp_path / "missing.json")]) == 2
    assert main(["connect", uid, "--service-account-file", str(key_file)]) == 0  # subject = the user's email
    out = capsys.readouterr().out
    assert private.splitlines()[1] not in out
    assert main(["preview", uid]) == 0
    text = capsys.readouterr().out
    assert "Dentist appointment" in text and "Team standup" not in text


def test_switching_away_from_google_deletes_the_grant(
    initialized: str,
    session_google: FakeGoogleCalendar,
    tmp_path: Path,
    session_home: Path,
) -> None:
    uid = unique_id("switch")
    session_google.add_account(_dump(uid), refresh_token=f"refresh-{uid}", name=uid)
    add_user(uid, source="google")
    token_file = tmp_path / "token.txt"
    token_file.write_text(f"refresh-{uid}\n")
    assert main(["connect", uid, "--refresh-token-file", str(token_file)]) == 0
    assert Secret.load(f"novel-events-google-{uid}") is not None
    ics = session_home / f"{uid}.ics"
    ics.write_text("BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n")
    assert main(["users", "set", uid, "--source", f"ics:{ics}"]) == 0
    with pytest.raises(ValueError):
        Secret.load(f"novel-events-google-{uid}")
    assert main(["users", "remove", uid]) == 0
