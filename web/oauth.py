"""Google sign-up on the web: the OAuth 2.0 authorization-code flow for a web client, with PKCE (S256).

``start`` remembers a random ``state`` and PKCE verifier in the (signed) session and sends the browser
to ``GOOGLE_AUTH_URI``; ``finish`` checks the state, exchanges the code at ``GOOGLE_TOKEN_URI`` with the
verifier, and identifies the person by their primary calendar's id (their address) through the real
Calendar API client: no scope beyond ``calendar.readonly``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from novel_events.errors import PermanentError
from novel_events.settings import Settings
from novel_events.sources.google_auth import READONLY_SCOPE, UserGrant

SESSION_KEY = "oauth"
STATE_TTL = 600  # seconds a sign-in may take


class SignInError(Exception):
    """The sign-in did not work; the message is safe to show (no codes, tokens or secrets)."""


@dataclass(frozen=True)
class Identity:
    address: str  # the primary calendar's id
    time_zone: str | None
    grant: UserGrant


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)[:96]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def redirect_uri(settings: Settings) -> str:
    if not settings.public_url:
        raise SignInError("this server has no NOVEL_EVENTS_PUBLIC_URL; the operator must set it")
    return f"{settings.public_url}/auth/google/callback"


def start(settings: Settings, session: dict[str, Any]) -> str:
    """The authorization URL; stores state + verifier in ``session``."""
    if not settings.google_client_id or settings.google_client_secret is None:
        raise SignInError("Google sign-in is not configured on this server (NOVEL_EVENTS_GOOGLE_CLIENT_ID/_SECRET)")
    state = secrets.token_urlsafe(32)
    verifier, challenge = pkce_pair()
    session[SESSION_KEY] = {"state": state, "verifier": verifier, "at": int(time.time())}
    query = {
        "client_id": settings.google_client_id,
        "redirect_uri": redirect_uri(settings),
        "response_type": "code",
        "scope": READONLY_SCOPE,
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "false",
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    sep = "&" if "?" in settings.google_auth_uri else "?"
    return f"{settings.google_auth_uri}{sep}{urlencode(query)}"


def check_callback(session: dict[str, Any], params: dict[str, str]) -> str:
    """The PKCE verifier for a callback whose state matches this browser's sign-in; SignInError otherwise.

    The pending sign-in is consumed either way: a state works once."""
    pending = session.pop(SESSION_KEY, None)
    state = params.get("state") or ""
    if not isinstance(pending, dict) or not state or not hmac.compare_digest(str(pending.get("state", "")), state):
        raise SignInError(
            "this sign-in link is not valid in this browser (it was used already, or started elsewhere); start again"
        )
    if int(time.time()) - int(pending.get("at", 0)) > STATE_TTL:
        raise SignInError("the sign-in took too long; start again")
    if params.get("error"):
        if params["error"] == "access_denied":
            raise SignInError("you did not allow read-only access to your calendar, so nothing was stored")
        raise SignInError("Google refused the sign-in, so nothing was stored; start again")
    if not params.get("code"):
        raise SignInError("Google sent no authorization code; start again")
    return str(pending["verifier"])


def exchange(settings: Settings, code: str, verifier: str) -> UserGrant:
    """Trade the code (+ PKCE verifier) for a refresh token at the token endpoint."""
    assert settings.google_client_id and settings.google_client_secret is not None
    secret = settings.google_client_secret.get_secret_value()
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri(settings),
        "client_id": settings.google_client_id,
        "client_secret": secret,
        "code_verifier": verifier,
    }
    try:
        resp = httpx.post(settings.google_token_uri, data=form, timeout=15)
    except httpx.HTTPError:
        raise SignInError("Google could not be reached; try again in a minute") from None
    body: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        body = resp.json()
    if resp.status_code != 200:
        if body.get("error") == "invalid_grant":
            raise SignInError("the authorization code expired or was already used; start again")
        raise SignInError(f"Google refused the code exchange (HTTP {resp.status_code}); start again")
    refresh = body.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        raise SignInError(
            "Google returned no refresh token; remove novel-events at "
            "https://myaccount.google.com/permissions and sign in again"
        )
    scopes = set(str(body.get("scope", READONLY_SCOPE)).split())
    if READONLY_SCOPE not in scopes and "https://www.googleapis.com/auth/calendar" not in scopes:
        raise SignInError("read-only calendar access was not granted; sign in again and allow it")
    return UserGrant(
        refresh_token=refresh,
        client_id=settings.google_client_id,
        client_secret=secret,
        token_uri=settings.google_token_uri,
    )


def identify(settings: Settings, grant: UserGrant) -> Identity:
    """Who signed in: the primary calendar's id, read with the real Calendar API client."""
    from novel_events.sources.google_client import CalendarApi

    try:
        with CalendarApi(grant, api_endpoint=settings.google_api_endpoint, timeout=15) as api:
            entries = api.calendar_list()
            zone = api.time_zone_setting()
    except PermanentError:
        raise SignInError("your calendar could not be read with the access you granted; sign in again") from None
    except Exception:
        raise SignInError("Google Calendar could not be reached; try again in a minute") from None
    primary = next((e for e in entries if e.get("primary")), None)
    address = str(primary.get("id") or "") if primary else ""
    if "@" not in address:
        raise SignInError("your Google account has no primary calendar to identify you by")
    return Identity(address=address.lower(), time_zone=zone or (primary or {}).get("timeZone"), grant=grant)
