"""A local fake of the Google Calendar API v3 and Google's OAuth 2.0 endpoints.

A real HTTP server on 127.0.0.1 (random free port) that the real google-api-python-client and
google-auth talk to. It serves calendars loaded from dump files in the format of DESIGN.md
("Calendar dump format"): each calendar's ``items`` are already-expanded instances, i.e. the
``singleEvents=true`` view.

Implemented, following the v3 reference:

- ``GET  /calendar/v3/users/me/calendarList``      (``maxResults`` ≤ 250, ``pageToken``, ``showHidden``)
- ``GET  /calendar/v3/users/me/settings/timezone``
- ``GET  /calendar/v3/calendars/{calendarId}``     (``primary`` alias accepted everywhere)
- ``GET  /calendar/v3/calendars/{calendarId}/events``: ``singleEvents``, ``timeMin`` (exclusive bound
  on the event END), ``timeMax`` (exclusive bound on the event START), ``maxResults`` (default 250,
  capped at 2500), ``pageToken``/``nextPageToken`` (pages come from a snapshot taken on the first page),
  ``syncToken``/``nextSyncToken`` (incremental results hold every item changed since the token,
  deletions as ``{"kind", "etag", "id", "status": "cancelled"}``, whatever the original time window),
  ``orderBy`` (``startTime`` only with ``singleEvents=true``; ``updated``), ``showDeleted``, ``q``,
  ``iCalUID``, ``updatedMin``, ``eventTypes``, ``prettyPrint``. ``400`` for ``syncToken`` together with
  ``timeMin``/``timeMax``/``orderBy``/``q``/``iCalUID``/``updatedMin``/``*ExtendedProperty``; ``410
  fullSyncRequired`` for a sync token that was invalidated (:meth:`FakeAccount.invalidate_sync_tokens`)
  or is unknown. Conservative choices where Google documents "undefined behaviour": no
  ``nextSyncToken`` when the initial query used a parameter that is illegal with ``syncToken`` (other
  than the time window), and ``400`` when ``singleEvents`` differs from the query that issued the token.
- ``POST /token``: ``refresh_token`` grant (client id/secret checked, revoked/unknown token ->
  ``400 invalid_grant``, requested scopes must be granted -> else ``400 invalid_scope``),
  ``urn:ietf:params:oauth:grant-type:jwt-bearer`` (service accounts with domain-wide delegation: the
  JWT's ``sub`` picks the account; its RS256 signature is checked when the service account's public key
  was registered) and ``authorization_code`` (PKCE S256 checked) for the installed-app flow.
- ``GET  /auth``: the consent screen, which consents at once and redirects to ``redirect_uri``.

Several accounts share one server (:meth:`FakeGoogleCalendar.add_account`, one dump each): the refresh
token (or the JWT's ``sub``, or the consent screen's ``login_hint``) picks the account, so a
session-wide fake serves many test users; faults can be scoped to one account.

Every API call needs ``Authorization: Bearer`` with a live access token (``401`` otherwise). Responses
are gzip-compressed when the client asks for it (Google compresses when ``Accept-Encoding`` and the
User-Agent both say ``gzip``) and pretty-printed unless ``prettyPrint=false``.

Test hooks: :meth:`FakeGoogleCalendar.enqueue` (fault injection: status/reason/Retry-After/delay/
dropped connection, matched by path substring and account), :attr:`FakeGoogleCalendar.requests`
(method, path, query, status, bytes sent), :meth:`FakeAccount.add_event` / ``update_event`` /
``delete_event`` (advance sync tokens), :meth:`FakeGoogleCalendar.expire_access_tokens`,
:meth:`FakeGoogleCalendar.revoke_refresh_token`, ``consent_error`` (the consent screen refuses).

Command line::

    python -m tests.fakes.google_calendar DUMP.json [--port N] [--refresh-token T]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import datetime as dt
import email.utils
import gzip
import hashlib
import itertools
import json
import secrets
import sys
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.fakes import google_oauth_web

READONLY_SCOPE = "https://www.googleapis.com/auth/calendar.readonly"
FULL_SCOPE = "https://www.googleapis.com/auth/calendar"
CALENDAR_SCOPES = frozenset({READONLY_SCOPE, FULL_SCOPE})
DEFAULT_REFRESH_TOKEN = "1//fake-refresh-token"
DEFAULT_CLIENT_ID = "fake-client-id.apps.googleusercontent.com"
DEFAULT_CLIENT_SECRET = "fake-client-secret"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
API_PREFIX = "/calendar/v3/"
MAX_PAGE = 2500
# Parameters Google forbids together with syncToken.
_NOT_WITH_SYNC_TOKEN = (
    "timeMin",
    "timeMax",
    "orderBy",
    "q",
    "iCalUID",
    "updatedMin",
    "privateExtendedProperty",
    "sharedExtendedProperty",
)
_STATUS_TEXT = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    410: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_DEFAULT_REASON = {
    400: "badRequest",
    401: "authError",
    403: "forbidden",
    404: "notFound",
    410: "fullSyncRequired",
    429: "rateLimitExceeded",
    500: "backendError",
    502: "backendError",
    503: "backendError",
    504: "backendError",
}
_USAGE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"}


def google_error(code: int, reason: str | None = None, message: str | None = None) -> dict[str, Any]:
    """The JSON error body Google APIs send."""
    reason = reason or _DEFAULT_REASON.get(code, "error")
    message = message or reason
    domain = "usageLimits" if reason in _USAGE_LIMIT_REASONS else "global"
    return {
        "error": {
            "errors": [{"domain": domain, "reason": reason, "message": message}],
            "code": code,
            "message": message,
            "status": _STATUS_TEXT.get(code, "UNKNOWN"),
        }
    }


class ApiError(Exception):
    def __init__(self, code: int, reason: str | None = None, message: str | None = None) -> None:
        super().__init__(message or reason or str(code))
        self.code = code
        self.body: Any = google_error(code, reason, message)


class OAuthError(Exception):
    def __init__(self, code: int, error: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.body = {"error": error, "error_description": description}


@dataclass
class Fault:
    """One injected response. ``status=None`` with a ``delay`` is a slow but normal response."""

    status: int | None = 500
    reason: str | None = None
    message: str | None = None
    retry_after: str | float | None = None
    delay: float = 0.0
    drop: bool = False
    body: Any = None
    path: str | None = None
    account: str | None = None
    echo: bool = False  # the error message repeats the request's Authorization header and body

    def matches(self, path: str, account: str | None) -> bool:
        return (self.path is None or self.path in path) and (self.account is None or self.account == account)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    bytes_sent: int
    account: str | None
    fault: bool = False

    @property
    def is_api(self) -> bool:
        return self.path.startswith(API_PREFIX)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


# ---------------------------------------------------------------------------------------------- data


def parse_rfc3339(value: str) -> dt.datetime:
    """An RFC 3339 timestamp with a mandatory offset, as Google requires for timeMin/timeMax."""
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("missing time zone offset")
    return parsed


def _rfc3339_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _bound(value: Any, tz: ZoneInfo) -> dt.datetime | None:
    if not isinstance(value, dict):
        return None
    try:
        if value.get("dateTime"):
            return parse_rfc3339(str(value["dateTime"]))
        if value.get("date"):
            d = dt.date.fromisoformat(str(value["date"]))
            return dt.datetime(d.year, d.month, d.day, tzinfo=tz)
    except ValueError:
        return None
    return None


class _Calendar:
    def __init__(self, meta: Mapping[str, Any], user_tz: str) -> None:
        self.meta = {k: v for k, v in meta.items() if k != "items"}
        self.meta.setdefault("summary", self.meta["id"])
        self.meta.setdefault("timeZone", user_tz)
        self.id: str = self.meta["id"]
        self.tz = ZoneInfo(self.meta["timeZone"] or user_tz)
        self.items: dict[str, dict[str, Any]] = {}
        self.changed_at: dict[str, int] = {}

    def span(self, item: Mapping[str, Any]) -> tuple[dt.datetime, dt.datetime] | None:
        start = _bound(item.get("start"), self.tz)
        if start is None:
            return None
        end = _bound(item.get("end"), self.tz) or start
        return start, end

    def list_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "kind": "calendar#calendarListEntry",
            "etag": _etag(self.id),
            "accessRole": "owner" if self.meta.get("primary") else "reader",
            "defaultReminders": [],
            "selected": True,
        }
        entry.update(self.meta)
        if not entry.get("primary"):
            entry.pop("primary", None)
        return entry


def _etag(seed: object) -> str:
    return '"' + str(int(hashlib.sha1(repr(seed).encode()).hexdigest()[:12], 16)) + '"'


class FakeAccount:
    """One Google account: its calendars, its time-zone setting, its refresh tokens."""

    def __init__(self, fake: FakeGoogleCalendar, name: str, dump: Mapping[str, Any]) -> None:
        self._fake = fake
        self.name = name
        self.time_zone: str = dump.get("timeZone") or "UTC"
        self.calendars: dict[str, _Calendar] = {}
        self.subject: str | None = None
        for cal in dump.get("calendars") or []:
            self.add_calendar(cal)

    # -- hooks -------------------------------------------------------------------------------------
    @property
    def primary_id(self) -> str | None:
        return next((c.id for c in self.calendars.values() if c.meta.get("primary")), None)

    def add_calendar(self, calendar: Mapping[str, Any]) -> None:
        with self._fake.lock:
            cal = _Calendar(calendar, self.time_zone)
            self.calendars[cal.id] = cal
            for item in calendar.get("items") or []:
                cal.items[item["id"]] = copy.deepcopy(item)
                cal.changed_at[item["id"]] = 0

    def set_time_zone(self, tz: str) -> None:
        ZoneInfo(tz)
        self.time_zone = tz

    def add_event(self, calendar_id: str, event: Mapping[str, Any]) -> dict[str, Any]:
        """Create (or replace) an event; returns the stored resource."""
        with self._fake.lock:
            cal = self._calendar(calendar_id)
            item = {"kind": "calendar#event", "status": "confirmed", **copy.deepcopy(dict(event))}
            item.setdefault("id", secrets.token_hex(13))
            return self._store(cal, item)

    def update_event(self, calendar_id: str, event_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``changes`` into an event (top-level keys), like events.patch."""
        with self._fake.lock:
            cal = self._calendar(calendar_id)
            item = copy.deepcopy(cal.items[event_id])
            item.update(copy.deepcopy(dict(changes)))
            return self._store(cal, item)

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        with self._fake.lock:
            cal = self._calendar(calendar_id)
            if event_id not in cal.items:
                raise KeyError(event_id)
            self._store(cal, {"kind": "calendar#event", "id": event_id, "status": "cancelled"})

    def events(self, calendar_id: str) -> list[dict[str, Any]]:
        """Live (not cancelled) events of a calendar, as stored."""
        with self._fake.lock:
            cal = self._calendar(calendar_id)
            return [copy.deepcopy(e) for e in cal.items.values() if e.get("status") != "cancelled"]

    def invalidate_sync_tokens(self, calendar_id: str | None = None) -> None:
        """Every sync token issued so far for the calendar (or all) gets ``410 fullSyncRequired``."""
        with self._fake.lock:
            for token, (acct, cal_id, _v, _s) in list(self._fake.sync_tokens.items()):
                if acct == self.name and calendar_id in (None, cal_id):
                    del self._fake.sync_tokens[token]

    # -- internals ---------------------------------------------------------------------------------
    def _calendar(self, calendar_id: str) -> _Calendar:
        if calendar_id == "primary":
            calendar_id = self.primary_id or ""
        return self.calendars[calendar_id]

    def _store(self, cal: _Calendar, item: dict[str, Any]) -> dict[str, Any]:
        version = next(self._fake.versions)
        item["updated"] = _rfc3339_now()
        item["etag"] = _etag((cal.id, item["id"], version))
        cal.items[item["id"]] = item
        cal.changed_at[item["id"]] = version
        return copy.deepcopy(item)


@dataclass
class _Cursor:
    account: str
    path: str
    items: list[dict[str, Any]]
    offset: int
    page_size: int
    sync_version: int | None
    single_events: bool
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- server


class FakeGoogleCalendar:
    """The fake Google. ``with FakeGoogleCalendar(dump) as g: g.base_url, g.token_uri``."""

    def __init__(
        self,
        dump: Mapping[str, Any] | str | Path | None = None,
        *,
        refresh_token: str = DEFAULT_REFRESH_TOKEN,
        client_id: str | None = DEFAULT_CLIENT_ID,
        client_secret: str | None = DEFAULT_CLIENT_SECRET,
        access_token_ttl: int = 3600,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.lock = threading.RLock()
        self.versions = itertools.count(1)
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_token_ttl = access_token_ttl
        self.accounts: dict[str, FakeAccount] = {}
        self.refresh_tokens: dict[str, tuple[str, frozenset[str]]] = {}
        self.access_tokens: dict[str, tuple[str, float, frozenset[str]]] = {}
        self.service_account_keys: dict[str, Any] = {}
        self.auth_codes: dict[str, dict[str, Any]] = {}
        self.sync_tokens: dict[str, tuple[str, str, int, bool]] = {}
        self.cursors: OrderedDict[str, _Cursor] = OrderedDict()
        self.faults: list[Fault] = []
        self.requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._host, self._port = host, port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.account: FakeAccount | None = None
        self.consent_error: str | None = None  # e.g. "access_denied": the consent screen refuses
        if dump is not None:
            self.account = self.add_account(dump, refresh_token=refresh_token, name="default")

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> FakeGoogleCalendar:
        server = _Server((self._host, self._port), _Handler)
        server.fake = self
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-google", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeGoogleCalendar:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        return self.root_url + API_PREFIX

    @property
    def token_uri(self) -> str:
        return self.root_url + "/token"

    @property
    def auth_uri(self) -> str:
        return self.root_url + "/auth"

    # -- accounts and credentials --------------------------------------------------------------------
    def add_account(
        self,
        dump: Mapping[str, Any] | str | Path,
        *,
        refresh_token: str | None = None,
        name: str | None = None,
        subject: str | None = None,
        scopes: Iterable[str] = (READONLY_SCOPE,),
    ) -> FakeAccount:
        """Add an account from a dump; ``refresh_token`` (if given) is valid for it."""
        data: Mapping[str, Any] = (
            dump if isinstance(dump, Mapping) else json.loads(Path(dump).read_text(encoding="utf-8"))
        )
        with self.lock:
            name = name or f"account-{len(self.accounts) + 1}"
            account = FakeAccount(self, name, data)
            account.subject = subject
            self.accounts[name] = account
            if refresh_token:
                self.refresh_tokens[refresh_token] = (name, frozenset(scopes))
            return account

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

    # -- faults and the request log ----------------------------------------------------------------------
    def enqueue(self, *faults: Fault, times: int = 1) -> None:
        with self.lock:
            for _ in range(times):
                self.faults.extend(copy.copy(f) for f in faults)

    def fail_next(
        self,
        status: int,
        reason: str | None = None,
        *,
        retry_after: str | float | None = None,
        path: str | None = None,
        times: int = 1,
        account: str | None = None,
    ) -> None:
        self.enqueue(
            Fault(status=status, reason=reason, retry_after=retry_after, path=path, account=account),
            times=times,
        )

    def delay_next(self, seconds: float, *, path: str | None = None, times: int = 1) -> None:
        self.enqueue(Fault(status=None, delay=seconds, path=path), times=times)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def api_requests(self, account: str | None = None) -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.requests if r.is_api and account in (None, r.account)]

    def reset_log(self) -> None:
        with self.lock:
            self.requests.clear()

    def _take_fault(self, path: str, account: str | None) -> Fault | None:
        with self.lock:
            for i, fault in enumerate(self.faults):
                if fault.matches(path, account):
                    return self.faults.pop(i)
        return None

    def _record(self, req: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(req)

    def _sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    # -- OAuth ---------------------------------------------------------------------------------------
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
            try:  # PKCE S256, expiry, redirect_uri: tests/fakes/google_oauth_web.py
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
            account = next(
                (a for a in self.accounts.values() if a.subject and a.subject == payload.get("sub")), None
            )
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

    # -- Calendar API ------------------------------------------------------------------------------
    def api(
        self, account_name: str, scopes: frozenset[str], path: str, query: Mapping[str, list[str]]
    ) -> Any:
        if not scopes & CALENDAR_SCOPES:
            raise ApiError(403, "insufficientPermissions", "Request had insufficient authentication scopes.")
        with self.lock:
            account = self.accounts[account_name]
            parts = [urllib.parse.unquote(p) for p in path[len(API_PREFIX) :].split("/")]
            if parts == ["users", "me", "calendarList"]:
                return self._calendar_list(account, path, query)
            if parts == ["users", "me", "settings", "timezone"]:
                return {
                    "kind": "calendar#setting",
                    "etag": _etag(account.time_zone),
                    "id": "timezone",
                    "value": account.time_zone,
                }
            if len(parts) in (2, 3) and parts[0] == "calendars":
                try:
                    cal = account._calendar(parts[1])
                except KeyError:
                    raise ApiError(404, "notFound", "Not Found") from None
                if len(parts) == 2:
                    return {
                        "kind": "calendar#calendar",
                        "etag": _etag(cal.id),
                        "id": cal.id,
                        "summary": cal.meta["summary"],
                        "timeZone": cal.meta["timeZone"],
                    }
                if parts[2] == "events":
                    return self._events(account, cal, path, query)
            raise ApiError(404, "notFound", "Not Found")

    def _calendar_list(self, account: FakeAccount, path: str, query: Mapping[str, list[str]]) -> Any:
        q = {k: v[0] for k, v in query.items()}
        if "syncToken" in q:
            raise ApiError(400, "invalid", "calendarList syncToken is not supported by this fake")
        size = _page_size(q, default=100, cap=250)
        cursor = self._cursor(account, path, q)
        if cursor is None:
            show_hidden = q.get("showHidden") == "true"
            entries = [c.list_entry() for c in account.calendars.values()]
            entries = [e for e in entries if show_hidden or not e.get("hidden")]
            cursor = _Cursor(account.name, path, entries, 0, size, None, True)
        body: dict[str, Any] = {"kind": "calendar#calendarList", "etag": _etag(len(cursor.items))}
        return self._page(body, cursor, size)

    def _events(self, account: FakeAccount, cal: _Calendar, path: str, query: Mapping[str, list[str]]) -> Any:
        q = {k: v[0] for k, v in query.items()}
        single = q.get("singleEvents") == "true"
        size = _page_size(q, default=250, cap=MAX_PAGE)
        if q.get("orderBy") == "startTime" and not single:
            raise ApiError(
                400, "badRequest", "The requested ordering is not available for the particular query."
            )
        if q.get("orderBy") not in (None, "startTime", "updated"):
            raise ApiError(400, "invalidParameter", f"Invalid value for orderBy: {q['orderBy']}")
        cursor = self._cursor(account, path, q)
        if cursor is None:
            if "syncToken" in q:
                cursor = self._incremental(account, cal, path, q, single, size)
            else:
                cursor = self._full(account, cal, path, query, q, single, size)
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": _etag((cal.id, cursor.sync_version)),
            "summary": cal.meta["summary"],
            "description": cal.meta.get("description", ""),
            "updated": _rfc3339_now(),
            "timeZone": cal.meta["timeZone"],
            "accessRole": "owner" if cal.meta.get("primary") else "reader",
            "defaultReminders": [],
        }
        return self._page(body, cursor, size)

    def _incremental(
        self, account: FakeAccount, cal: _Calendar, path: str, q: Mapping[str, str], single: bool, size: int
    ) -> _Cursor:
        bad = [p for p in _NOT_WITH_SYNC_TOKEN if p in q]
        if bad:
            raise ApiError(400, "invalid", f"syncToken cannot be used together with {', '.join(bad)}.")
        issued = self.sync_tokens.get(q["syncToken"])
        if issued is None or issued[0] != account.name or issued[1] != cal.id:
            raise ApiError(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")
        if issued[3] != single:
            raise ApiError(400, "invalid", "singleEvents differs from the query that issued the sync token.")
        since = issued[2]
        changed = [cal.items[i] for i, v in cal.changed_at.items() if v > since]
        items = [_tombstone(e) if e.get("status") == "cancelled" else copy.deepcopy(e) for e in changed]
        return _Cursor(account.name, path, items, 0, size, self._latest(cal), single)

    def _full(
        self,
        account: FakeAccount,
        cal: _Calendar,
        path: str,
        query: Mapping[str, list[str]],
        q: Mapping[str, str],
        single: bool,
        size: int,
    ) -> _Cursor:
        try:
            time_min = parse_rfc3339(q["timeMin"]) if "timeMin" in q else None
            time_max = parse_rfc3339(q["timeMax"]) if "timeMax" in q else None
            updated_min = parse_rfc3339(q["updatedMin"]) if "updatedMin" in q else None
        except ValueError:
            raise ApiError(400, "badRequest", "Bad Request") from None
        if time_min and time_max and time_max <= time_min:
            raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.")
        show_deleted = q.get("showDeleted") == "true"
        text = q.get("q", "").lower()
        types = set(query.get("eventTypes", []))
        items: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        for position, item in enumerate(cal.items.values()):
            cancelled = item.get("status") == "cancelled"
            if cancelled and not show_deleted:
                continue
            span = cal.span(item)
            if span is None and not cancelled:
                continue
            if span is not None:
                if time_min is not None and span[1] <= time_min:
                    continue
                if time_max is not None and span[0] >= time_max:
                    continue
            if text and not any(
                text in str(item.get(k, "")).lower() for k in ("summary", "description", "location")
            ):
                continue
            if types and item.get("eventType", "default") not in types:
                continue
            if "iCalUID" in q and item.get("iCalUID") != q["iCalUID"]:
                continue
            if updated_min and ("updated" not in item or parse_rfc3339(item["updated"]) < updated_min):
                continue
            if q.get("orderBy") == "startTime":
                key: tuple[Any, ...] = (span[0] if span else dt.datetime.min.replace(tzinfo=dt.UTC), position)
            elif q.get("orderBy") == "updated":
                key = (item.get("updated", ""), position)
            else:
                key = (position,)
            items.append((key, item))
        items.sort(key=lambda kv: kv[0])
        chosen = [copy.deepcopy(e) for _, e in items]
        if not single:
            chosen = _collapse_series(chosen)
        syncable = not any(p in q for p in _NOT_WITH_SYNC_TOKEN if p not in ("timeMin", "timeMax"))
        return _Cursor(account.name, path, chosen, 0, size, self._latest(cal) if syncable else None, single)

    @staticmethod
    def _latest(cal: _Calendar) -> int:
        return max(cal.changed_at.values(), default=0)

    def _cursor(self, account: FakeAccount, path: str, q: Mapping[str, str]) -> _Cursor | None:
        token = q.get("pageToken")
        if not token:
            return None
        cursor = self.cursors.get(token)
        if cursor is None or cursor.account != account.name or cursor.path != path:
            raise ApiError(400, "invalid", "Invalid page token value.")
        return cursor

    def _page(self, body: dict[str, Any], cursor: _Cursor, size: int) -> dict[str, Any]:
        end = cursor.offset + size
        body["items"] = cursor.items[cursor.offset : end]
        if end < len(cursor.items):
            token = "pt_" + secrets.token_urlsafe(12)
            self.cursors[token] = _Cursor(
                cursor.account,
                cursor.path,
                cursor.items,
                end,
                size,
                cursor.sync_version,
                cursor.single_events,
            )
            while len(self.cursors) > 2000:
                self.cursors.popitem(last=False)
            body["nextPageToken"] = token
        elif cursor.sync_version is not None and body["kind"] == "calendar#events":
            token = "st_" + secrets.token_urlsafe(12)
            cal_id = cursor.path[len(API_PREFIX) :].split("/")[1]
            self.sync_tokens[token] = (
                cursor.account,
                self._resolve(cursor.account, urllib.parse.unquote(cal_id)),
                cursor.sync_version,
                cursor.single_events,
            )
            body["nextSyncToken"] = token
        return body

    def _resolve(self, account: str, calendar_id: str) -> str:
        return self.accounts[account]._calendar(calendar_id).id


def _page_size(q: Mapping[str, str], *, default: int, cap: int) -> int:
    raw = q.get("maxResults")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            400,
            "invalidParameter",
            f"Invalid value '{raw}'. Values must match the following regular expression: '[0-9]+'",
        ) from None
    if value < 1:
        raise ApiError(400, "invalidParameter", "Invalid value for maxResults")
    return min(value, cap)


def _tombstone(item: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("kind", "etag", "id", "status", "recurringEventId", "originalStartTime")
    return {k: copy.deepcopy(item[k]) for k in keep if k in item}


def _collapse_series(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``singleEvents=false`` view of expanded instances: one stand-in master per series."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in items:
        series = item.get("recurringEventId")
        if not series:
            out.append(item)
        elif series not in seen:
            seen.add(series)
            master = {k: v for k, v in item.items() if k not in ("recurringEventId", "originalStartTime")}
            master["id"] = series
            master["recurrence"] = ["RRULE:FREQ=WEEKLY"]  # the fake does not know the real rule
            out.append(master)
    return out


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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGoogleCalendar

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is part of the tests, not an error of the fake.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeGoogle/1.0"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    server: _Server

    @property
    def fake(self) -> FakeGoogleCalendar:
        return self.server.fake

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        account: str | None = None
        scopes: frozenset[str] = frozenset()
        status: int = 200
        body: Any = None
        headers: dict[str, str] = {}
        fault: Fault | None = None
        try:
            if url.path == "/token" and method == "POST":
                form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
                form.update(_basic_client_auth(self.headers.get("Authorization")))
                owner = self.fake.refresh_tokens.get(form.get("refresh_token", ""))
                account = owner[0] if owner else None
                fault = self.fake._take_fault(url.path, account)
                if fault is None or fault.status is None:
                    account, body = self.fake.token_endpoint(form)
            elif url.path == "/auth" and method == "GET":
                location = self.fake.consent({k: v[0] for k, v in query.items()})
                status, body, headers = 302, {}, {"Location": location}
            elif url.path.startswith(API_PREFIX) and method == "GET":
                try:
                    account, scopes = self.fake.authenticate(self.headers.get("Authorization"))
                except ApiError:
                    fault = self.fake._take_fault(url.path, None)
                    if fault is None or fault.status is None:
                        raise
                if fault is None:
                    fault = self.fake._take_fault(url.path, account)
                if fault is None or fault.status is None:
                    assert account is not None
                    body = self.fake.api(account, scopes, url.path, query)
            else:
                raise ApiError(404, "notFound", "Not Found")
        except ApiError as exc:
            status, body = exc.code, exc.body
        except OAuthError as exc:
            status, body = exc.code, exc.body
        if fault is not None:
            self.fake._sleep(fault.delay)
            if fault.drop:
                self.close_connection = True
                self._log(method, url.path, query, 0, 0, account, True)
                return
            if fault.status is not None:
                status = fault.status
                message = fault.message
                if fault.echo:
                    message = f"echo: {self.headers.get('Authorization')} {raw.decode(errors='replace')}"
                if isinstance(fault.body, str):  # a raw, non-JSON-object body (a proxy's page, say)
                    body = fault.body + (f" {message}" if fault.echo else "")
                elif fault.body is not None:
                    body = fault.body
                elif url.path == "/token":
                    default = "temporarily_unavailable" if status >= 500 else "invalid_request"
                    body = {"error": fault.reason or default, "error_description": message or "fault"}
                else:
                    body = google_error(status, fault.reason, message)
                headers = {}
                if fault.retry_after is not None:
                    ra = fault.retry_after
                    headers["Retry-After"] = ra if isinstance(ra, str) else str(int(ra))
        data = self._encode(body, query)
        # Recorded before the reply leaves, so a client that got its answer finds the request logged.
        self._log(method, url.path, query, status, len(data), account, fault is not None)
        self._reply(status, data, headers)

    def _encode(self, body: Any, query: Mapping[str, list[str]]) -> bytes:
        pretty = query.get("prettyPrint", ["true"])[0] != "false"
        data = json.dumps(body, indent=2 if pretty else None, ensure_ascii=False).encode()
        if self._gzip:
            data = gzip.compress(data, compresslevel=6, mtime=0)
        return data

    @property
    def _gzip(self) -> bool:
        return "gzip" in self.headers.get("Accept-Encoding", "") and "gzip" in self.headers.get(
            "User-Agent", ""
        )

    def _reply(self, status: int, data: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Date", email.utils.formatdate(usegmt=True))
        if self._gzip:
            self.send_header("Content-Encoding", "gzip")
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _log(
        self,
        method: str,
        path: str,
        query: Mapping[str, list[str]],
        status: int,
        sent: int,
        account: str | None,
        fault: bool,
    ) -> None:
        self.fake._record(RecordedRequest(method, path, dict(query), status, sent, account, fault))


# ---------------------------------------------------------------------------------------------- dump builders


def timed_event(event_id: str, start: dt.datetime, minutes: int = 60, **fields: Any) -> dict[str, Any]:
    """A timed event shaped like an ``events.list(singleEvents=true)`` item."""
    end = start + dt.timedelta(minutes=minutes)
    tz = fields.pop("time_zone", "Europe/Berlin")
    return {
        "kind": "calendar#event",
        "etag": _etag(event_id),
        "id": event_id,
        "status": "confirmed",
        "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
        "summary": fields.pop("summary", f"Event {event_id}"),
        "start": {"dateTime": start.isoformat(), "timeZone": tz},
        "end": {"dateTime": end.isoformat(), "timeZone": tz},
        "iCalUID": f"{event_id}@google.com",
        "sequence": 0,
        "reminders": {"useDefault": True},
        "eventType": "default",
        **fields,
    }


def all_day_event(event_id: str, day: dt.date, days: int = 1, **fields: Any) -> dict[str, Any]:
    return {
        "kind": "calendar#event",
        "etag": _etag(event_id),
        "id": event_id,
        "status": "confirmed",
        "summary": fields.pop("summary", f"All day {event_id}"),
        "start": {"date": day.isoformat()},
        "end": {"date": (day + dt.timedelta(days=days)).isoformat()},
        "eventType": "default",
        **fields,
    }


def weekly_series(series_id: str, first: dt.datetime, count: int, **fields: Any) -> list[dict[str, Any]]:
    """``count`` weekly instances ``<series_id>_<n>`` sharing ``recurringEventId``."""
    return [
        timed_event(f"{series_id}_{n}", first + dt.timedelta(weeks=n), recurringEventId=series_id, **fields)
        for n in range(count)
    ]


def calendar_entry(cal_id: str, summary: str, items: list[dict[str, Any]], **meta: Any) -> dict[str, Any]:
    """One calendar of a dump; ``meta`` may hold primary, timeZone, summaryOverride, hidden..."""
    return {
        "id": cal_id,
        "summary": summary,
        "timeZone": meta.pop("timeZone", "Europe/Berlin"),
        **meta,
        "items": items,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.google_calendar", description=__doc__.split("\n")[0]
    )
    parser.add_argument("dump", help="calendar dump JSON (DESIGN.md format)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--refresh-token", default=DEFAULT_REFRESH_TOKEN)
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    args = parser.parse_args(argv)
    fake = FakeGoogleCalendar(
        args.dump,
        refresh_token=args.refresh_token,
        client_id=args.client_id,
        client_secret=args.client_secret,
        port=args.port,
    )
    with fake:
        print(f"base URL:      {fake.base_url}")
        print(f"token URI:     {fake.token_uri}")
        print(f"auth URI:      {fake.auth_uri}")
        print(f"refresh token: {args.refresh_token}")
        print(f"NOVEL_EVENTS_GOOGLE_API_ENDPOINT={fake.base_url}")
        print(f"NOVEL_EVENTS_GOOGLE_TOKEN_URI={fake.token_uri}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
