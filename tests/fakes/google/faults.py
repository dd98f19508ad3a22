"""Test hooks: injected faults and the request log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.fakes.google.constants import API_PREFIX


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
