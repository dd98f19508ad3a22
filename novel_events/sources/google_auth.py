"""Google grants (what a user or an operator connected) and the google-auth credentials built from them.

Two kinds of grant read a calendar, both with the read-only scope:

- :class:`UserGrant`: the user's OAuth refresh token plus the OAuth client it was issued to.
- :class:`ServiceAccountGrant`: a Workspace service account acting as ``subject`` through
  domain-wide delegation.

Grants hold secrets; their ``repr`` hides them and :meth:`secrets` lists them for redaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import google.auth.credentials
import google.oauth2.credentials
from google.oauth2 import service_account

from novel_events.errors import InvalidInput

READONLY_SCOPE = "https://www.googleapis.com/auth/calendar.readonly"
DEFAULT_API_ENDPOINT = "https://www.googleapis.com/calendar/v3/"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"


@dataclass(frozen=True)
class UserGrant:
    """A user's refresh token and the OAuth client (id, secret, token endpoint) it belongs to."""

    refresh_token: str = field(repr=False)
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    token_uri: str = DEFAULT_TOKEN_URI

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.refresh_token, self.client_secret) if s)


@dataclass(frozen=True)
class ServiceAccountGrant:
    """A service-account key (the JSON ``info`` dict) impersonating ``subject`` (domain-wide delegation)."""

    info: Mapping[str, Any] = field(repr=False)
    subject: str
    token_uri: str | None = None  # overrides info["token_uri"] when set

    def secrets(self) -> tuple[str, ...]:
        return tuple(str(self.info[k]) for k in ("private_key", "private_key_id") if self.info.get(k))


Grant = UserGrant | ServiceAccountGrant


def build_credentials(grant: Grant) -> google.auth.credentials.Credentials:
    """google-auth credentials for ``grant``, scoped to read-only calendar access.

    No network I/O: the first request refreshes the access token at the grant's token endpoint.
    """
    if isinstance(grant, UserGrant):
        if not grant.refresh_token or not grant.client_id:
            raise InvalidInput("google grant", "a refresh token and an OAuth client id are required")
        return google.oauth2.credentials.Credentials(
            token=None,
            refresh_token=grant.refresh_token,
            client_id=grant.client_id,
            client_secret=grant.client_secret,
            token_uri=grant.token_uri,
            scopes=[READONLY_SCOPE],
        )
    if not grant.subject or "@" not in grant.subject:
        raise InvalidInput("google service account subject", "expected the email address of the user to act as")
    info = dict(grant.info)
    info["token_uri"] = grant.token_uri or info.get("token_uri") or DEFAULT_TOKEN_URI
    try:
        return service_account.Credentials.from_service_account_info(
            info, scopes=[READONLY_SCOPE], subject=grant.subject
        )
    except (ValueError, KeyError, TypeError) as exc:
        # The library's text names missing fields; it never holds the key, but keep only its first line.
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if any(s in detail for s in grant.secrets()):
            detail = type(exc).__name__
        raise InvalidInput("google service account", f"not a usable service-account key ({detail})") from None
