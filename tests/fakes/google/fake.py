"""The fake Google's state and lifecycle: accounts, credentials, faults, the request log, the server thread.

The endpoints are mixins (oauth.py, calendar_api.py + sync.py); the HTTP side is app.py.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tests.fakes.google.accounts import FakeAccount
from tests.fakes.google.app import FakeGoogleServer, Handler
from tests.fakes.google.calendar_api import CalendarApi
from tests.fakes.google.constants import (
    API_PREFIX,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    READONLY_SCOPE,
)
from tests.fakes.google.faults import Fault, RecordedRequest
from tests.fakes.google.oauth import OAuthEndpoints
from tests.fakes.google.sync import _Cursor


class FakeGoogleCalendar(OAuthEndpoints, CalendarApi):
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
        self._server: FakeGoogleServer | None = None
        self._thread: threading.Thread | None = None
        self.account: FakeAccount | None = None
        self.consent_error: str | None = None  # e.g. "access_denied": the consent screen refuses
        if dump is not None:
            self.account = self.add_account(dump, refresh_token=refresh_token, name="default")

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> FakeGoogleCalendar:
        server = FakeGoogleServer((self._host, self._port), Handler)
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
