"""Store failures with intent: a database that cannot be reached is a :class:`StoreUnavailable` (retried).

SQLAlchemy's errors quote the SQL and its parameters (user ids, addresses); these messages name only
the kind of failure, so nothing from a row reaches a log, a state message or an alert.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import sqlalchemy as sa

from novel_events.errors import StoreUnavailable

P = ParamSpec("P")
R = TypeVar("R")

_TRANSIENT = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError, sa.exc.DisconnectionError)


def is_unavailable(exc: BaseException) -> bool:
    """A failure to reach or lock the database (as opposed to a constraint or a bug)."""
    if isinstance(exc, _TRANSIENT):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and bool(exc.connection_invalidated)


@contextmanager
def unavailable_is_transient(what: str = "store") -> Iterator[None]:
    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        if not is_unavailable(exc):
            raise
        orig = getattr(exc, "orig", None)
        kind = type(orig).__name__ if orig is not None else type(exc).__name__
        raise StoreUnavailable(f"{what} unavailable ({kind}); will retry") from None


def transient_store(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator: a store method whose connection failures raise :class:`StoreUnavailable`."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with unavailable_is_transient():
            return fn(*args, **kwargs)

    return wrapper
