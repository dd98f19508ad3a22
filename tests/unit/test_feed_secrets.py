"""Private feed URLs are sealed in the store (SQLite and PostgreSQL), shown masked, keyed apart from the data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from novel_events.errors import InvalidInput, PermanentError
from novel_events.models import User
from novel_events.schedules import Schedule
from novel_events.settings import Settings
from novel_events.store import UserStore, make_engine, upgrade
from novel_events.store.feed_secrets import PREFIX, mask_source, seal, store_key, unseal

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
URL = "ics:https://calendar.example.org/private/tok-9f8e7d6c5b4a/basic.ics"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
        yield eng
        eng.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as c:
        c.execute(sa.text(f"CREATE SCHEMA {schema}"))
    eng = sa.create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    yield eng
    eng.dispose()
    with admin.begin() as c:
        c.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _user(uid: str, source: str) -> User:
    return User(id=uid, email=f"{uid}@example.org", schedule=Schedule.parse("daily", "07:00", "UTC"), source=source)


def _raw_sources(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as c:
        return dict(c.execute(sa.text("SELECT id, source FROM users")).all())  # type: ignore[arg-type]


def test_a_feed_url_is_sealed_at_rest_and_read_back(engine: sa.Engine) -> None:
    key = Fernet.generate_key()
    upgrade(engine)
    store = UserStore(engine, key=lambda: key)
    store.add(_user("kim", URL))
    store.add(_user("lee", "ics:/srv/feeds/lee.ics"))
    raw = _raw_sources(engine)
    assert raw["kim"].startswith(PREFIX) and "tok-9f8e7d6c5b4a" not in raw["kim"]
    assert raw["lee"] == "ics:/srv/feeds/lee.ics"  # a path is not a credential
    assert store.get("kim").source == URL
    assert store.save(_user("kim", URL)) is False  # sealing is not a change
    with pytest.raises(PermanentError, match="store key differs"):
        UserStore(engine, key=Fernet.generate_key).get("kim")


def test_the_migration_seals_urls_stored_before_it(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVEL_EVENTS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NOVEL_EVENTS_DATABASE_URL", raising=False)
    key = Fernet.generate_key()
    monkeypatch.setenv("NOVEL_EVENTS_STORE_KEY", key.decode())
    upgrade(engine, "0002")
    now = "2026-01-01 00:00:00"
    with engine.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO users (id, email, timezone, cadence, at_time, day, source, lookahead_days, "
                "include_calendars,"
                " exclude_calendars, enabled, sensitivity, include_all_day, include_declined, send_when_empty,"
                " needs_reconnect, created_at, updated_at) VALUES (:id, 'a@example.org', 'UTC', 'daily', '07:00', NULL,"
                " :src, 14, '[]', '[]', true, 'normal', true, false, false, false, :now, :now)"
            ),
            [{"id": "old", "src": URL, "now": now}, {"id": "path", "src": "ics:/x.ics", "now": now}],
        )
    upgrade(engine)
    raw = _raw_sources(engine)
    assert raw["old"].startswith(PREFIX) and "tok-9f8e" not in raw["old"] and raw["path"] == "ics:/x.ics"
    assert UserStore(engine, key=lambda: key).get("old").source == URL
    _downgrade(engine, "0002")  # and back
    assert _raw_sources(engine)["old"] == URL


def _downgrade(engine: sa.Engine, revision: str) -> None:
    from alembic import command

    from novel_events.store.migrate import _config

    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_mask_shows_scheme_and_host_only() -> None:
    assert mask_source(URL) == "ics:https://calendar.example.org/…"
    assert mask_source("ics:http://u:p@feeds.intra:8080/t?k=1") == "ics:http://feeds.intra:8080/…"
    assert mask_source("google") == "google" and mask_source("ics:/srv/a.ics") == "ics:/srv/a.ics"
    key = Fernet.generate_key()
    assert unseal(seal(URL, key), key) == URL and seal("google", key) == "google"


def test_the_local_key_file_is_private_and_stable(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    key = store_key(settings)
    path = tmp_path / "secrets" / "store-key"
    assert path.stat().st_mode & 0o777 == 0o600 and (tmp_path / "secrets").stat().st_mode & 0o777 == 0o700
    assert store_key(Settings(home=tmp_path)) == key


def test_a_shared_database_needs_the_key_from_the_environment(tmp_path: Path) -> None:
    with pytest.raises(PermanentError, match="NOVEL_EVENTS_STORE_KEY"):
        store_key(Settings(home=tmp_path, database_url=PG_URL))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="Fernet key"):
        store_key(Settings(home=tmp_path, store_key="not-a-key"))  # type: ignore[arg-type]
    good = Fernet.generate_key()
    assert store_key(Settings(home=tmp_path, database_url=PG_URL, store_key=good.decode())) == good  # type: ignore[arg-type]
