"""Connecting a user's Google Calendar: the two ways ``novel-events connect`` gets a refresh token.

- :func:`connect_with_client_secrets` (``--client-secrets FILE``): the installed-app OAuth flow. A
  loopback server on this machine receives Google's redirect after the user consents in a browser to
  the read-only scope; the code is exchanged (PKCE) for a refresh token.
- :func:`grant_from_refresh_token_file` (``--refresh-token-file FILE``): import a refresh token made
  elsewhere: a file holding just the token, or an authorized-user JSON (``gcloud auth
  application-default login`` output, or google-auth's ``Credentials.to_json()``).

Both return a :class:`UserGrant`; storing it (encrypted) is the store's job. Bad files raise
``InvalidInput(field, message)`` naming the option; messages never contain the token or secret.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from novel_events.errors import InvalidInput, PermanentError
from novel_events.sources.google_auth import DEFAULT_TOKEN_URI, READONLY_SCOPE, ServiceAccountGrant, UserGrant
from novel_events.sources.google_errors import redact

CLIENT_SECRETS_FIELD = "--client-secrets"
REFRESH_TOKEN_FIELD = "--refresh-token-file"
_TOKEN_RE = re.compile(r"[A-Za-z0-9._~+/=-]{10,2048}")
_MAX_FILE = 64 * 1024
_PROMPT = "Open this URL in a browser to allow novel-events read-only calendar access:\n{url}"


def _read_json_file(path: str | Path, field: str) -> tuple[str, Any]:
    try:
        p = Path(path).expanduser()
        if p.stat().st_size > _MAX_FILE:
            raise InvalidInput(
                field, f"{path} is larger than {_MAX_FILE // 1024} KiB; expected a small JSON or token file"
            )
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(field, f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise InvalidInput(field, f"{path} is not UTF-8 text") from None
    try:
        return text, json.loads(text)
    except ValueError:
        return text, None


def load_client_config(path: str | Path) -> dict[str, Any]:
    """The ``{"installed": {...}}`` (or ``"web"``) client config of a client-secrets JSON file."""
    _text, data = _read_json_file(path, CLIENT_SECRETS_FIELD)
    kind = next((k for k in ("installed", "web") if isinstance(data, dict) and isinstance(data.get(k), dict)), None)
    if kind is None:
        raise InvalidInput(
            CLIENT_SECRETS_FIELD,
            f"{path} is not an OAuth client file; download the JSON of a Desktop-app OAuth client "
            '(it has an "installed" section) from the Google Cloud console',
        )
    config = data[kind]
    missing = [k for k in ("client_id", "client_secret", "auth_uri", "token_uri") if not config.get(k)]
    if missing:
        raise InvalidInput(CLIENT_SECRETS_FIELD, f'{path} lacks {", ".join(missing)} in its "{kind}" section')
    return {kind: config}


def connect_with_client_secrets(
    path: str | Path,
    *,
    open_browser: bool = True,
    browser: str | None = None,
    host: str = "localhost",
    port: int = 0,
    timeout_seconds: float | None = 300,
    login_hint: str | None = None,
) -> UserGrant:
    """Run the installed-app consent flow for the read-only scope; returns the new grant.

    Prints the consent URL (and opens it in ``browser`` when ``open_browser``), waits up to
    ``timeout_seconds`` for Google's redirect to ``http://host:port/`` (port 0: any free port).
    ``login_hint`` (an email address) preselects the Google account on the consent screen.
    """
    from google_auth_oauthlib.flow import InstalledAppFlow, WSGITimeoutError

    config = load_client_config(path)
    section = next(iter(config.values()))
    flow = InstalledAppFlow.from_client_config(config, scopes=[READONLY_SCOPE])
    secrets = (str(section["client_secret"]),)
    extra = {"login_hint": login_hint} if login_hint else {}
    credentials: Any = None
    failure: str | None = None
    try:
        credentials = flow.run_local_server(
            host=host,
            port=port,
            open_browser=open_browser,
            browser=browser,
            timeout_seconds=timeout_seconds,
            authorization_prompt_message=_PROMPT,
            success_message="novel-events can now read your calendar. You may close this window.",
            access_type="offline",
            prompt="consent",
            **extra,
        )
    except WSGITimeoutError:
        failure = "no answer from the browser before the timeout; run connect again"
    except Exception as exc:  # oauthlib/requests errors: consent denied, token exchange refused
        detail = redact(" ".join(str(exc).split()), secrets)[:200]
        failure = f"Google did not grant access ({type(exc).__name__}: {detail})"
    if failure is not None:  # raised outside the handler: the library's exception is not chained
        raise PermanentError(f"connect: {failure}")
    refresh_token = getattr(credentials, "refresh_token", None)
    if not refresh_token:
        raise PermanentError(
            "connect: Google returned no refresh token; remove novel-events at "
            "https://myaccount.google.com/permissions and connect again"
        )
    granted = set(getattr(credentials, "granted_scopes", None) or [READONLY_SCOPE])
    if READONLY_SCOPE not in granted and "https://www.googleapis.com/auth/calendar" not in granted:
        raise PermanentError("connect: the read-only calendar permission was not granted; connect again and allow it")
    return UserGrant(
        refresh_token=str(refresh_token),
        client_id=str(section["client_id"]),
        client_secret=str(section["client_secret"]),
        token_uri=str(section.get("token_uri") or DEFAULT_TOKEN_URI),
    )


def grant_from_refresh_token_file(
    path: str | Path,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    token_uri: str = DEFAULT_TOKEN_URI,
) -> UserGrant:
    """A grant from a refresh-token file; the OAuth client comes from the file when it names one,
    else from ``client_id``/``client_secret`` (the configured client)."""
    text, data = _read_json_file(path, REFRESH_TOKEN_FIELD)
    if isinstance(data, dict):
        if data.get("type") == "service_account":
            raise InvalidInput(REFRESH_TOKEN_FIELD, f"{path} is a service-account key, not a user's refresh token")
        token = data.get("refresh_token")
        if not isinstance(token, str) or not token:
            raise InvalidInput(REFRESH_TOKEN_FIELD, f'{path} has no "refresh_token" field')
        client_id = str(data.get("client_id") or client_id or "") or None
        client_secret = str(data.get("client_secret") or client_secret or "") or None
        token_uri = str(data.get("token_uri") or token_uri)
    elif isinstance(data, str):
        token = data.strip()
    elif data is None:
        lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        if len(lines) != 1:
            raise InvalidInput(
                REFRESH_TOKEN_FIELD,
                f"{path} must hold one refresh token on one line, or an authorized-user JSON object",
            )
        token = lines[0]
    else:
        raise InvalidInput(REFRESH_TOKEN_FIELD, f"{path} must hold a refresh token or an authorized-user JSON object")
    if not _TOKEN_RE.fullmatch(token):
        raise InvalidInput(
            REFRESH_TOKEN_FIELD,
            f"{path} does not look like a Google refresh token (10-2048 URL-safe characters)",
        )
    if not client_id:
        raise InvalidInput(
            REFRESH_TOKEN_FIELD,
            f"{path} names no OAuth client; set NOVEL_EVENTS_GOOGLE_CLIENT_ID and _SECRET "
            "to the client the token was issued to",
        )
    return UserGrant(refresh_token=token, client_id=client_id, client_secret=client_secret, token_uri=token_uri)


SERVICE_ACCOUNT_FIELD = "--service-account-file"


def grant_from_service_account_file(
    path: str | Path, *, subject: str, token_uri: str | None = None
) -> ServiceAccountGrant:
    """Domain-wide delegation: a Workspace service-account key impersonating ``subject`` (read-only)."""
    _, data = _read_json_file(path, SERVICE_ACCOUNT_FIELD)
    if not isinstance(data, dict) or data.get("type") != "service_account":
        raise InvalidInput(SERVICE_ACCOUNT_FIELD, f"{path} is not a service-account key JSON (type service_account)")
    for key in ("client_email", "private_key", "token_uri"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise InvalidInput(SERVICE_ACCOUNT_FIELD, f'{path} has no "{key}" field')
    if "@" not in subject:
        raise InvalidInput("--subject", f"{subject!r} is not the Workspace user's email address")
    return ServiceAccountGrant(info=data, subject=subject, token_uri=token_uri)
