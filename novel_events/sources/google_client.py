"""One conversation with the Calendar API v3 through google-api-python-client and google-auth.

:class:`CalendarApi` builds the discovery client from the static (bundled) discovery document and
points it at ``api_endpoint`` with ``client_options`` (verified against the fake with
google-api-python-client 2.202: ``client_options={"api_endpoint": ...}`` replaces rootUrl+servicePath).
Requests go through ``google_auth_httplib2.AuthorizedHttp`` (one token refresh on a 401) over an
``httplib2.Http`` that counts requests and response bytes. Each request is retried with
:func:`~novel_events.sources.google_retry.call_with_retries`; pagination follows ``nextPageToken``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import google_auth_httplib2
import httplib2
from googleapiclient.discovery import build

from novel_events.errors import NovelEventsError
from novel_events.sources.google_auth import DEFAULT_API_ENDPOINT, Grant, UserGrant, build_credentials
from novel_events.sources.google_errors import classify
from novel_events.sources.google_retry import RetryPolicy, call_with_retries

MAX_EVENTS_PAGE = 2500
MAX_CALENDAR_LIST_PAGE = 250


@dataclass
class Traffic:
    """What went over the wire: Calendar API requests (retries included), token requests, bytes."""

    api_calls: int = 0
    token_calls: int = 0
    bytes_received: int = 0  # Calendar API response bodies, as decoded (after gzip)
    retries: int = 0


class _CountingHttp(httplib2.Http):
    def __init__(self, traffic: Traffic, token_uri: str, *, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._traffic = traffic
        self._token_uri = token_uri

    def request(self, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        is_token = uri.split("?", 1)[0] == self._token_uri
        if is_token:
            self._traffic.token_calls += 1
        else:
            self._traffic.api_calls += 1
        response, content = super().request(uri, method, *args, **kwargs)
        if not is_token:
            self._traffic.bytes_received += len(content or b"")
        return response, content


class CalendarApi:
    """The calls the source needs, each retried and classified; ``traffic`` counts them."""

    def __init__(
        self,
        grant: Grant,
        *,
        api_endpoint: str = DEFAULT_API_ENDPOINT,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.traffic = Traffic()
        self._grant = grant
        self._retry = retry or RetryPolicy()
        self._now = now
        self._credentials = build_credentials(grant)
        token_uri = str(getattr(self._credentials, "_token_uri", "") or getattr(grant, "token_uri", "") or "")
        http = _CountingHttp(self.traffic, token_uri, timeout=timeout)
        authed = google_auth_httplib2.AuthorizedHttp(self._credentials, http=http, max_refresh_attempts=1)
        endpoint = api_endpoint if api_endpoint.endswith("/") else api_endpoint + "/"
        self._service = build(
            "calendar",
            "v3",
            http=authed,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": endpoint},
        )

    def close(self) -> None:
        self._service.close()

    def __enter__(self) -> CalendarApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls -------------------------------------------------------------------------------------------
    def calendar_list(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        for page in self._pages(
            "calendarList.list",
            lambda token: self._service.calendarList().list(
                maxResults=MAX_CALENDAR_LIST_PAGE, pageToken=token, prettyPrint=False
            ),
        ):
            entries.extend(page.get("items") or [])
        return entries

    def time_zone_setting(self) -> str | None:
        request = self._service.settings().get(setting="timezone", prettyPrint=False)
        body = self._execute("settings.get", request)
        value = body.get("value")
        return str(value) if value else None

    def events(self, calendar_id: str, **params: Any) -> tuple[list[dict[str, Any]], str | None]:
        """Every item of ``events.list(singleEvents=true, **params)`` over all pages, and nextSyncToken."""
        items: list[dict[str, Any]] = []
        sync_token: str | None = None
        for page in self._pages(
            "events.list",
            lambda token: self._service.events().list(
                calendarId=calendar_id,
                prettyPrint=False,
                singleEvents=True,
                maxResults=MAX_EVENTS_PAGE,
                pageToken=token,
                **params,
            ),
        ):
            items.extend(page.get("items") or [])
            sync_token = page.get("nextSyncToken") or sync_token
        return items, sync_token

    # -- plumbing ----------------------------------------------------------------------------------------
    def _pages(self, what: str, make: Callable[[str | None], Any]) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            page = self._execute(what, make(token))
            yield page
            token = page.get("nextPageToken")
            if not token:
                return

    def _execute(self, what: str, request: Any) -> dict[str, Any]:
        def classify_here(exc: BaseException) -> NovelEventsError:
            secrets = (*self._grant.secrets(), getattr(self._credentials, "token", None))
            user = isinstance(self._grant, UserGrant)
            return classify(exc, what=what, secrets=secrets, now=self._now, user_grant=user)

        def count_retry(_err: NovelEventsError, _delay: float) -> None:
            self.traffic.retries += 1

        result = call_with_retries(
            lambda: request.execute(num_retries=0),
            policy=self._retry,
            classify=classify_here,
            on_retry=count_retry,
        )
        return result if isinstance(result, dict) else {}
