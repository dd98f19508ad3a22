"""Connecting: the installed-app OAuth flow, refresh-token files, service accounts — against the fake."""

from __future__ import annotations

import json
import threading
import uuid
import webbrowser
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from novel_events.errors import InvalidInput, PermanentError
from novel_events.sources.google import ServiceAccountGrant, fetch_google_calendar
from novel_events.sources.google_connect import (
    CLIENT_SECRETS_FIELD,
    REFRESH_TOKEN_FIELD,
    connect_with_client_secrets,
    grant_from_refresh_token_file,
)
from tests.fakes.google_calendar import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    READONLY_SCOPE,
    FakeGoogleCalendar,
)
from tests.support.google import TIME_MAX, TIME_MIN, GoogleUser, basic_dump

BROWSER = "novel-events-test-consent"


class _ConsentingBrowser(webbrowser.BaseBrowser):
    """A 'browser' that visits the consent URL and follows Google's redirect back to the loopback server."""

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        threading.Thread(
            target=httpx.get, args=(url,), kwargs={"follow_redirects": True, "timeout": 10}, daemon=True
        ).start()
        return True


webbrowser.register(BROWSER, None, _ConsentingBrowser(BROWSER))


@pytest.fixture
def client_secrets(tmp_path: Path, google_fake: FakeGoogleCalendar, monkeypatch: pytest.MonkeyPatch) -> Path:
    # oauthlib refuses plain-http token endpoints unless told the transport is a test one.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    path = tmp_path / "client_secret.json"
    path.write_text(
        json.dumps(
            {
                "installed": {
                    "client_id": DEFAULT_CLIENT_ID,
                    "client_secret": DEFAULT_CLIENT_SECRET,
                    "auth_uri": google_fake.auth_uri,
                    "token_uri": google_fake.token_uri,
                    "redirect_uris": ["http://localhost"],
                }
            }
        )
    )
    return path


@pytest.fixture
def unique_user(make_google_user: Callable[..., GoogleUser]) -> GoogleUser:
    dump = basic_dump()
    dump["calendars"][0]["id"] = f"u{uuid.uuid4().hex[:8]}@example.com"
    return make_google_user(dump)


def test_installed_app_flow_yields_a_working_grant(
    client_secrets: Path, unique_user: GoogleUser, capsys: pytest.CaptureFixture[str]
) -> None:
    primary = unique_user.account.primary_id
    grant = connect_with_client_secrets(
        client_secrets, browser=BROWSER, host="127.0.0.1", timeout_seconds=10, login_hint=primary
    )

    assert grant.client_id == DEFAULT_CLIENT_ID and grant.client_secret == DEFAULT_CLIENT_SECRET
    assert grant.token_uri == unique_user.fake.token_uri
    assert grant.refresh_token and grant.refresh_token != unique_user.grant.refresh_token
    assert unique_user.fake.refresh_tokens[grant.refresh_token] == (
        unique_user.name,
        frozenset({READONLY_SCOPE}),
    )
    assert "Open this URL" in capsys.readouterr().out
    consent = next(r for r in reversed(unique_user.fake.requests) if r.path == "/auth")
    assert consent.param("scope") == READONLY_SCOPE and consent.param("access_type") == "offline"
    assert consent.param("code_challenge_method") == "S256"

    result = fetch_google_calendar(grant, time_min=TIME_MIN, time_max=TIME_MAX, api_endpoint=unique_user.fake.base_url)
    assert result.dump.calendars[0].id == primary


def test_consent_denied_is_permanent(client_secrets: Path, google_fake: FakeGoogleCalendar) -> None:
    google_fake.consent_error = "access_denied"
    try:
        with pytest.raises(PermanentError, match="did not grant access") as info:
            connect_with_client_secrets(client_secrets, browser=BROWSER, host="127.0.0.1", timeout_seconds=10)
    finally:
        google_fake.consent_error = None
    assert DEFAULT_CLIENT_SECRET not in str(info.value)


def test_connect_times_out_without_a_browser(client_secrets: Path) -> None:
    with pytest.raises(PermanentError, match="timeout"):
        connect_with_client_secrets(client_secrets, open_browser=False, host="127.0.0.1", timeout_seconds=0.2)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "not an OAuth client file"),
        ('{"service_account": {}}', "not an OAuth client file"),
        ('{"installed": {"client_id": "x", "auth_uri": "https://a"}}', "lacks client_secret, token_uri"),
    ],
)
def test_bad_client_secrets_file(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "cs.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InvalidInput, match=message) as info:
        connect_with_client_secrets(path, open_browser=False, timeout_seconds=0.1)
    assert info.value.field == CLIENT_SECRETS_FIELD


# -- --refresh-token-file ------------------------------------------------------------------------------

TOKEN = "1//0gImported-Refresh_Token.abc123"


@pytest.mark.parametrize(
    ("content", "client_id", "client_secret"),
    [
        (TOKEN + "\n", "configured-id", "configured-secret"),
        ("# exported by hand\n\n  " + TOKEN + "  \n", "configured-id", "configured-secret"),
        (json.dumps(TOKEN), "configured-id", "configured-secret"),
        (
            json.dumps(
                {
                    "type": "authorized_user",
                    "client_id": "file-id",
                    "client_secret": "file-secret",
                    "refresh_token": TOKEN,
                }
            ),
            "file-id",
            "file-secret",
        ),
        (
            json.dumps(
                {
                    "token": "ya29.x",
                    "refresh_token": TOKEN,
                    "token_uri": "https://oauth2.googleapis.com/token",
                    "client_id": "file-id",
                    "client_secret": "file-secret",
                    "scopes": [READONLY_SCOPE],
                }
            ),
            "file-id",
            "file-secret",
        ),
    ],
    ids=["bare", "commented", "json-string", "authorized-user", "google-auth-to_json"],
)
def test_refresh_token_file_formats(tmp_path: Path, content: str, client_id: str, client_secret: str) -> None:
    path = tmp_path / "token"
    path.write_text(content)
    grant = grant_from_refresh_token_file(
        path,
        client_id="configured-id",
        client_secret="configured-secret",
        token_uri="http://127.0.0.1:9/token",
    )
    assert (grant.refresh_token, grant.client_id, grant.client_secret) == (TOKEN, client_id, client_secret)


@pytest.mark.parametrize(
    ("content", "message", "kwargs"),
    [
        (None, "cannot read", {}),
        ("", "one refresh token on one line", {}),
        (TOKEN + "\n" + TOKEN, "one refresh token on one line", {}),
        ("has spaces " + TOKEN, "does not look like a Google refresh token", {}),
        ('{"type": "service_account", "private_key": "k"}', "service-account key", {}),
        ('{"client_id": "x"}', 'no "refresh_token"', {}),
        ("[1, 2]", "must hold a refresh token", {}),
        (TOKEN, "names no OAuth client", {"client_id": None}),
    ],
)
def test_bad_refresh_token_files(tmp_path: Path, content: str | None, message: str, kwargs: dict[str, Any]) -> None:
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content)
    args: dict[str, Any] = {"client_id": "configured-id", **kwargs}
    with pytest.raises(InvalidInput, match=message) as info:
        grant_from_refresh_token_file(path, **args)
    assert info.value.field == REFRESH_TOKEN_FIELD
    assert TOKEN not in str(info.value)


def test_imported_token_works_against_the_api(tmp_path: Path, google_user: GoogleUser) -> None:
    path = tmp_path / "token"
    path.write_text(google_user.grant.refresh_token)
    grant = grant_from_refresh_token_file(
        path,
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        token_uri=google_user.fake.token_uri,
    )
    google_user.grant = grant
    assert google_user.fetch().stats.calendars == 3


# -- service account with domain-wide delegation ----------------------------------------------------------


@pytest.fixture(scope="module")
def service_key() -> tuple[str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


@pytest.fixture
def service_account(
    service_key: tuple[str, bytes],
    google_fake: FakeGoogleCalendar,
    make_google_user: Callable[..., GoogleUser],
) -> Iterator[tuple[dict[str, Any], GoogleUser]]:
    email = f"reader-{uuid.uuid4().hex[:6]}@novel-events.iam.gserviceaccount.com"
    google_fake.add_service_account(email, service_key[1])
    user = make_google_user(subject=f"carol-{uuid.uuid4().hex[:6]}@corp.example")
    info = {
        "type": "service_account",
        "project_id": "novel-events",
        "private_key_id": "0123456789abcdef",
        "private_key": service_key[0],
        "client_email": email,
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    yield info, user
    google_fake.service_account_keys.pop(email, None)


def test_service_account_reads_the_delegated_users_calendar(
    service_account: tuple[dict[str, Any], GoogleUser],
) -> None:
    info, user = service_account
    grant = ServiceAccountGrant(info, subject=str(user.account.subject), token_uri=user.fake.token_uri)
    assert info["private_key"] not in repr(grant)

    result = fetch_google_calendar(grant, time_min=TIME_MIN, time_max=TIME_MAX, api_endpoint=user.fake.base_url)

    assert result.stats.calendars == 3 and result.stats.token_calls == 1
    token_call = next(r for r in reversed(user.fake.requests) if r.path == "/token")
    assert token_call.account == user.name


def test_service_account_without_delegation_is_permanent(
    service_account: tuple[dict[str, Any], GoogleUser],
) -> None:
    info, user = service_account
    grant = ServiceAccountGrant(info, subject="nobody@corp.example", token_uri=user.fake.token_uri)
    with pytest.raises(PermanentError, match="unauthorized_client") as info_exc:
        fetch_google_calendar(grant, time_min=TIME_MIN, time_max=TIME_MAX, api_endpoint=user.fake.base_url)
    assert "reconnect" not in str(info_exc.value)
    assert info["private_key"].splitlines()[1] not in str(info_exc.value)


def test_service_account_with_a_foreign_key_is_permanent_not_reconnect(
    service_account: tuple[dict[str, Any], GoogleUser], service_key: tuple[str, bytes]
) -> None:
    info, user = service_account
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = dict(
        info,
        private_key=other.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    )
    grant = ServiceAccountGrant(forged, subject=str(user.account.subject), token_uri=user.fake.token_uri)
    with pytest.raises(PermanentError, match="service account refused") as exc:
        fetch_google_calendar(grant, time_min=TIME_MIN, time_max=TIME_MAX, api_endpoint=user.fake.base_url)
    assert "reconnect" not in str(exc.value)


@pytest.mark.parametrize(
    ("info", "subject", "field"),
    [
        ({"type": "service_account"}, "a@b.example", "google service account"),
        (
            {
                "type": "service_account",
                "private_key": "garbage",
                "client_email": "x@y",
                "token_uri": "https://t",
            },
            "a@b.example",
            "google service account",
        ),
        ({}, "not-an-email", "google service account subject"),
    ],
)
def test_bad_service_account_is_invalid_input(info: dict[str, Any], subject: str, field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        fetch_google_calendar(
            ServiceAccountGrant(info, subject=subject),
            time_min=TIME_MIN,
            time_max=TIME_MAX,
            api_endpoint="http://127.0.0.1:9/",
        )
    assert exc.value.field == field
    assert "garbage" not in str(exc.value)
