"""Google's OAuth 2.0 endpoints: POST /token (refresh, JWT bearer, authorization code + PKCE), the
consent screen (GET /auth), and bearer-token checks for the API."""

from __future__ import annotations

import base64
import json
import secrets
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tests.fakes import google_oauth_web
from tests.fakes.google.accounts import FakeAccount
from tests.fakes.google.constants import CALENDAR_SCOPES, JWT_GRANT, READONLY_SCOPE
from tests.fakes.google.errors import ApiError, OAuthError

if TYPE_CHECKING:
    import threading


class OAuthEndpoints:
    """The OAuth half of :class:`~tests.fakes.google.fake.FakeGoogleCalendar` (a mixin)."""

    lock: threading.RLock
    client_id: str | None
    client_secret: str | None
    access_token_ttl: int
    accounts: dict[str, FakeAccount]
    account: FakeAccount | None
    refresh_tokens: dict[str, tuple[str, frozenset[str]]]
    access_tokens: dict[str, tuple[str, float, frozenset[str]]]
    service_account_keys: dict[str, Any]
    auth_codes: dict[str, dict[str, Any]]
    consent_error: str | None

    # -- credentials (test hooks) ----------------------------------------------------------------
    def grant_refresh_token(
        self, account: str | FakeAccount, token: str | None = None, scopes: Iterable[str] = (READONLY_SCOPE,)
    ) -> str:
        name = account.name if isinstance(account, FakeAccount) else account
        token = token or "1//" + secrets.token_urlsafe(24)
        with self.lock:
            self.refresh_tokens[token] = (name, frozenset(scopes))
        return token

    def revoke_refresh_token(self, token: str) -> None:
        """Like the user removing the app's access: the grant and its access tokens die."""
        with self.lock:
            owner = self.refresh_tokens.pop(token, None)
            if owner:
                for access, (acct, _exp, _scopes) in list(self.access_tokens.items()):
                    if acct == owner[0]:
                        del self.access_tokens[access]

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.access_tokens.clear()

    def add_service_account(self, client_email: str, public_key_pem: bytes | None = None) -> None:
        """Register a service account; its JWTs are then signature-checked when a key is given."""
        key = None
        if public_key_pem is not None:
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            key = load_pem_public_key(public_key_pem)
        with self.lock:
            self.service_account_keys[client_email] = key

    # -- endpoints ---------------------------------------------------------------------------------
    def _issue_access_token(self, account: str, scopes: frozenset[str]) -> dict[str, Any]:
        token = "ya29.fake-" + secrets.token_urlsafe(24)
        with self.lock:
            self.access_tokens[token] = (account, time.monotonic() + self.access_token_ttl, scopes)
        return {
            "access_token": token,
            "expires_in": self.access_token_ttl,
            "scope": " ".join(sorted(scopes)),
            "token_type": "Bearer",
        }

    def _check_client(self, form: Mapping[str, str]) -> None:
        if self.client_id is not None and form.get("client_id") != self.client_id:
            raise OAuthError(401, "invalid_client", "The OAuth client was not found.")
        if self.client_secret is not None and form.get("client_secret") != self.client_secret:
            raise OAuthError(401, "invalid_client", "Unauthorized")

    def token_endpoint(self, form: Mapping[str, str]) -> tuple[str | None, dict[str, Any]]:
        """(account, response) for a POST to /token; raises OAuthError."""
        grant = form.get("grant_type")
        if grant == "refresh_token":
            self._check_client(form)
            with self.lock:
                owner = self.refresh_tokens.get(form.get("refresh_token", ""))
            if owner is None:
                raise OAuthError(400, "invalid_grant", "Token has been expired or revoked.")
            account, granted = owner
            requested = frozenset(form.get("scope", "").split()) or granted
            if not requested <= granted:
                raise OAuthError(400, "invalid_scope", "Bad Request")
            return account, self._issue_access_token(account, requested)
        if grant == JWT_GRANT:
            return self._jwt_grant(form.get("assertion", ""))
        if grant == "authorization_code":
            self._check_client(form)
            with self.lock:
                code = self.auth_codes.pop(form.get("code", ""), None)
            try:  # PKCE S256, expiry, single use, redirect_uri: tests/fakes/google_oauth_web.py
                google_oauth_web.redeem(code, form)
            except google_oauth_web.CodeRefused as exc:
                raise OAuthError(400, *exc.args) from None
            assert code is not None
            refresh = self.grant_refresh_token(code["account"], scopes=code["scopes"])
            response = self._issue_access_token(code["account"], code["scopes"])
            response["refresh_token"] = refresh
            return code["account"], response
        raise OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")

    def _jwt_grant(self, assertion: str) -> tuple[str | None, dict[str, Any]]:
        try:
            head_b64, payload_b64, sig_b64 = assertion.split(".")
            payload = json.loads(_b64url(payload_b64))
        except ValueError:
            raise OAuthError(400, "invalid_grant", "Invalid JWT.") from None
        issuer = payload.get("iss")
        with self.lock:
            known = issuer in self.service_account_keys
            key = self.service_account_keys.get(issuer)
        if self.service_account_keys and not known:
            raise OAuthError(400, "invalid_grant", "Invalid JWT Signature.")
        if key is not None:
            from cryptography.exceptions import InvalidSignature
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import padding

            try:
                key.verify(
                    _b64url(sig_b64),
                    f"{head_b64}.{payload_b64}".encode(),
                    padding.PKCS1v15(),
                    hashes.SHA256(),
                )
            except InvalidSignature:
                raise OAuthError(400, "invalid_grant", "Invalid JWT Signature.") from None
        if payload.get("exp", 0) < time.time():
            raise OAuthError(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token.")
        scopes = frozenset(str(payload.get("scope", "")).split())
        with self.lock:
            account = next((a for a in self.accounts.values() if a.subject and a.subject == payload.get("sub")), None)
        if account is None or not scopes & CALENDAR_SCOPES:
            raise OAuthError(
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client not "
                "authorized for any of the scopes requested.",
            )
        return account.name, self._issue_access_token(account.name, scopes)

    def consent(self, query: Mapping[str, str]) -> str:
        """The /auth consent screen: grant at once, return the redirect location."""
        redirect_uri = query.get("redirect_uri", "")
        if self.client_id is not None and query.get("client_id") != self.client_id:
            raise OAuthError(401, "invalid_client", "The OAuth client was not found.")
        scopes = frozenset(query.get("scope", "").split())
        if not redirect_uri or query.get("response_type") != "code":
            raise OAuthError(400, "invalid_request", "Bad authorization request.")
        if self.consent_error:  # the user clicked "Cancel"
            params = {"error": self.consent_error, **({"state": query["state"]} if "state" in query else {})}
            return redirect_uri + ("&" if "?" in redirect_uri else "?") + urllib.parse.urlencode(params)
        hint = query.get("login_hint")
        with self.lock:
            hinted = [a for a in self.accounts.values() if hint and hint in (a.subject, a.primary_id)]
        account = hinted[0] if hinted else self.account or next(iter(self.accounts.values()), None)
        if account is None:
            raise OAuthError(400, "invalid_request", "No account to sign in with.")
        code = "4/fake-" + secrets.token_urlsafe(16)
        with self.lock:
            self.auth_codes[code] = google_oauth_web.new_code(account.name, query, scopes)
        params = {"code": code, "scope": " ".join(sorted(scopes))}
        if "state" in query:
            params["state"] = query["state"]
        sep = "&" if "?" in redirect_uri else "?"
        return redirect_uri + sep + urllib.parse.urlencode(params)

    def authenticate(self, header: str | None) -> tuple[str, frozenset[str]]:
        token = header[7:].strip() if header and header.lower().startswith("bearer ") else ""
        with self.lock:
            entry = self.access_tokens.get(token)
            if entry is None or entry[1] < time.monotonic():
                self.access_tokens.pop(token, None)
                raise ApiError(401, "authError", "Invalid Credentials")
        return entry[0], entry[2]


def _basic_client_auth(header: str | None) -> dict[str, str]:
    """client_id/client_secret from ``Authorization: Basic`` (RFC 6749 section 2.3.1), if sent."""
    if not header or not header.lower().startswith("basic "):
        return {}
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except ValueError:
        return {}
    unquote = urllib.parse.unquote_plus
    return {"client_id": unquote(user), "client_secret": unquote(password)}


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
