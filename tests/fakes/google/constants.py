"""Scopes, default credentials and limits of the fake Google."""

from __future__ import annotations

READONLY_SCOPE = "https://www.googleapis.com/auth/calendar.readonly"
FULL_SCOPE = "https://www.googleapis.com/auth/calendar"
CALENDAR_SCOPES = frozenset({READONLY_SCOPE, FULL_SCOPE})
DEFAULT_REFRESH_TOKEN = "1//fake-refresh-token"
DEFAULT_CLIENT_ID = "fake-client-id.apps.googleusercontent.com"
DEFAULT_CLIENT_SECRET = "fake-client-secret"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
API_PREFIX = "/calendar/v3/"
MAX_PAGE = 2500
