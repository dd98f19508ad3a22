"""The fake Google's authorization-code flow (web and installed apps): codes, PKCE S256, expiry, single use.

Hooked into :mod:`tests.fakes.google_calendar`: its ``/auth`` consent screen stores each code made by
:func:`new_code`, its ``/token`` endpoint redeems a code through :func:`redeem` (the code is popped
before that: a code works once). As Google does:

- a code lives ``CODE_TTL`` seconds (``expire_codes`` ages every pending code, for tests);
- a code issued with ``code_challenge`` needs ``code_verifier`` with ``SHA256(verifier) == challenge``
  (method ``S256``; ``plain`` is refused) and the same ``redirect_uri`` as the authorization request;
- ``consent_error = "access_denied"`` on the fake makes ``/auth`` redirect back with that error.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Mapping
from typing import Any

CODE_TTL = 600.0


class CodeRefused(Exception):
    """Redeeming the code failed: (error, description) as Google's token endpoint answers."""


def new_code(account: str, query: Mapping[str, str], scopes: frozenset[str]) -> dict[str, Any]:
    method = query.get("code_challenge_method", "plain" if query.get("code_challenge") else None)
    return {
        "account": account,
        "redirect_uri": query.get("redirect_uri", ""),
        "scopes": scopes,
        "code_challenge": query.get("code_challenge"),
        "code_challenge_method": method,
        "expires": time.monotonic() + CODE_TTL,
    }


def redeem(code: Mapping[str, Any] | None, form: Mapping[str, str]) -> None:
    """Raise CodeRefused unless ``code`` (already removed from the pending codes) may be exchanged."""
    if code is None or code["redirect_uri"] != form.get("redirect_uri"):
        raise CodeRefused("invalid_grant", "Malformed auth code.")
    if code.get("expires", float("inf")) < time.monotonic():
        raise CodeRefused("invalid_grant", "Code was already redeemed or has expired.")
    challenge = code.get("code_challenge")
    if challenge:
        if code.get("code_challenge_method") != "S256":
            raise CodeRefused("invalid_request", "code_challenge_method must be S256.")
        verifier = form.get("code_verifier", "").encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
        if digest != challenge:
            raise CodeRefused("invalid_grant", "Invalid code verifier.")


def expire_codes(pending: dict[str, dict[str, Any]]) -> None:
    """Age every pending code past its lifetime (``fake.auth_codes``)."""
    for code in pending.values():
        code["expires"] = time.monotonic() - 1
