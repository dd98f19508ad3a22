"""Engine options that keep SQLite safe under several processes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def engine_options(url: str) -> dict[str, Any]:
    """``create_engine`` keyword arguments for ``url``."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}, "poolclass": sa.pool.NullPool}
    return {"pool_pre_ping": True, "pool_size": 2, "max_overflow": 2}


def tune(engine: sa.Engine) -> sa.Engine:
    """WAL + busy timeout for SQLite so a worker and the CLI can write at the same time."""
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    return engine


def make_engine(url: str) -> sa.Engine:
    """Plain engine (tests, benchmarks). The product goes through SqlAlchemyConnector (tasks/store.py)."""
    return tune(sa.create_engine(url, **engine_options(url)))
