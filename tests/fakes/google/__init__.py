"""A local fake of the Google Calendar API v3 and Google's OAuth 2.0 endpoints.

A real HTTP server on 127.0.0.1 (random free port) that the real google-api-python-client and
google-auth talk to. It serves calendars loaded from dump files in the format of docs/DESIGN.md
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

Modules: ``fake`` (state, lifecycle, accounts, faults), ``app`` (HTTP routes: add one with ``@route``),
``oauth`` (token endpoint, consent, bearer checks), ``calendar_api`` (the v3 resources), ``sync`` (page
and sync tokens), ``accounts`` (the events store), ``dumps`` (builders of dump data), ``errors``,
``faults``, ``constants``, ``cli`` (the command line).
"""

from __future__ import annotations

from tests.fakes.google import app as app  # registers the built-in routes
from tests.fakes.google.accounts import FakeAccount
from tests.fakes.google.constants import (
    API_PREFIX,
    CALENDAR_SCOPES,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    FULL_SCOPE,
    JWT_GRANT,
    MAX_PAGE,
    READONLY_SCOPE,
)
from tests.fakes.google.dumps import all_day_event, calendar_entry, parse_rfc3339, timed_event, weekly_series
from tests.fakes.google.errors import ApiError, OAuthError, google_error
from tests.fakes.google.fake import FakeGoogleCalendar
from tests.fakes.google.faults import Fault, RecordedRequest

__all__ = [
    "API_PREFIX",
    "CALENDAR_SCOPES",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_REFRESH_TOKEN",
    "FULL_SCOPE",
    "JWT_GRANT",
    "MAX_PAGE",
    "READONLY_SCOPE",
    "ApiError",
    "FakeAccount",
    "FakeGoogleCalendar",
    "Fault",
    "OAuthError",
    "RecordedRequest",
    "all_day_event",
    "calendar_entry",
    "google_error",
    "parse_rfc3339",
    "timed_event",
    "weekly_series",
]
