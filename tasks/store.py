"""The store's engine, built through prefect-sqlalchemy's ``SqlAlchemyConnector``."""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa
from prefect_sqlalchemy import ConnectionComponents, SqlAlchemyConnector
from sqlalchemy.engine import make_url

from novel_events.novelty import MuteRule
from novel_events.settings import Settings, load_settings
from novel_events.store import Ledger, MuteStore, UserStore, engine_options, tune, upgrade

BLOCK_NAME = "novel-events-store"


def connector_for(settings: Settings) -> SqlAlchemyConnector:
    """A connector whose password (if any) is a SecretStr, not part of a plain URL string."""
    return _connector(settings.store_url)


def _connector(store_url: str) -> SqlAlchemyConnector:
    url = make_url(store_url)
    components = ConnectionComponents(
        driver=url.drivername,
        database=url.database or "",
        username=url.username,
        password=url.password,
        host=url.host,
        port=url.port,
        query=dict(url.query) or None,
    )
    return SqlAlchemyConnector(connection_info=components)


@lru_cache(maxsize=4)
def _engine(url: str) -> sa.Engine:
    connector = _connector(url)  # (not through a Settings: building one costs a run ~0.05 CPU-s)
    options = engine_options(url)
    if "connect_args" in options:
        connector.connect_args = options.pop("connect_args")
    return tune(connector.get_engine(**options))


def store_engine(settings: Settings | None = None) -> sa.Engine:
    return _engine((settings or load_settings()).store_url)


_ready: set[str] = set()


def ready_engine(settings: Settings) -> sa.Engine:
    """The engine, with the schema created/upgraded once per process (for the CLI)."""
    if settings.database_url is None:
        settings.home.mkdir(parents=True, exist_ok=True)
    engine = store_engine(settings)
    if settings.store_url not in _ready:
        upgrade(engine)
        _ready.add(settings.store_url)
    return engine


def users(settings: Settings | None = None) -> UserStore:
    return UserStore(store_engine(settings))


def ledger(settings: Settings | None = None) -> Ledger:
    return Ledger(store_engine(settings))


def mutes(settings: Settings | None = None) -> MuteStore:
    return MuteStore(store_engine(settings))


def mute_rules(user_id: str, settings: Settings | None = None) -> tuple[MuteRule, ...]:
    return mutes(settings).rules(user_id)
