"""Settings from the environment (prefix ``NOVEL_EVENTS_``). Secrets are ``SecretStr``."""

from __future__ import annotations

import datetime as dt
import os
from functools import cached_property, lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from novel_events.errors import InvalidInput
from novel_events.links import LinkSigner

DEFAULT_HOME = Path.home() / ".novel-events"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOVEL_EVENTS_", extra="ignore", frozen=True)

    home: Path = Field(default=DEFAULT_HOME, description="State dir: SQLite store, outbox")
    database_url: SecretStr | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite in HOME; postgresql+psycopg://… for scale"
    )
    google_api_endpoint: str = "https://www.googleapis.com/calendar/v3/"
    google_token_uri: str = "https://oauth2.googleapis.com/token"
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    email_backend: str = "outbox"
    outbox_dir: Path | None = None
    smtp_url: SecretStr | None = None
    sendgrid_api_key: SecretStr | None = None
    sendgrid_host: str = "https://api.sendgrid.com"
    from_email: str = "Novel Events <digest@novel-events.localhost>"
    work_pool: str = "novel-events"
    maintenance_every_minutes: int = Field(
        default=5, ge=0, le=59, description="Reconcile + crash-recovery job interval; 0 = unscheduled"
    )
    recovery_every_minutes: int = Field(
        default=1, ge=0, le=59, description="Interval of the recovery sweep (undelivered slots); 0 = unscheduled"
    )
    catchup_window: dt.timedelta = dt.timedelta(hours=2)
    send_claim_timeout: dt.timedelta = Field(
        default=dt.timedelta(minutes=15),
        description="A slot left 'sending' this long (its sender died mid-send) is re-sent, same Message-ID; "
        "keep it above SMTP_DATA_TIMEOUT",
    )
    retry_backoff: dt.timedelta = Field(
        default=dt.timedelta(seconds=60),
        description="First wait before the recovery sweep re-runs a slot whose run failed transiently or died; "
        "doubles per attempt up to RETRY_BACKOFF_MAX, until the catch-up window closes",
    )
    retry_backoff_max: dt.timedelta = Field(default=dt.timedelta(minutes=15))
    pending_timeout: dt.timedelta = Field(
        default=dt.timedelta(minutes=3),
        description="A run Pending this long lost its worker while starting: marked Crashed and re-run",
    )
    smtp_timeout: float = Field(default=300.0, gt=0, description="Seconds per SMTP command (RFC 5321: 5 min)")
    smtp_data_timeout: float = Field(
        default=600.0, gt=0, description="Seconds to wait for the reply to the end of DATA (RFC 5321: 10 min)"
    )
    sendgrid_timeout: float = Field(default=60.0, gt=0, description="Seconds per SendGrid API request")
    alert_webhook_url: SecretStr | None = None
    alert_email: str | None = Field(
        default=None, description="Operator address: every alert is also emailed here through EMAIL_BACKEND"
    )
    late_alert_minutes: float = Field(
        default=15, gt=0, description="Alert when a digest run has been Late (not started) this long"
    )
    worker_down_alert_minutes: float = Field(
        default=5, gt=0, description="Alert when the work pool has had no healthy worker this long"
    )
    unsubscribe_url: str | None = Field(
        default=None, description="Legacy List-Unsubscribe URL ('{user_id}' substituted); PUBLIC_URL replaces it"
    )
    ics_root: Path | None = Field(
        default=None, description="The only folder local iCal sources may come from; unset = local files refused"
    )
    store_key: SecretStr | None = Field(
        default=None, description="Fernet key sealing private feed URLs in the store; default HOME/secrets/store-key"
    )
    ics_allow_private: str = Field(
        default="", description="Comma-separated host:port a feed may be fetched from despite a private address"
    )
    public_url: str | None = Field(
        default=None,
        description="Base of every link in emails and of the OAuth redirect, e.g. https://digest.example.org",
    )
    secret_key: SecretStr | None = Field(default=None, description="Signs web sessions and email links")
    api_token: SecretStr | None = Field(default=None, description="Bearer token of the JSON API /api/v1")
    google_auth_uri: str = "https://accounts.google.com/o/oauth2/auth"

    @field_validator(
        "catchup_window", "send_claim_timeout", "retry_backoff", "retry_backoff_max", "pending_timeout", mode="before"
    )
    @classmethod
    def _seconds(cls, v: object) -> object:
        """Durations accept plain seconds ("7200") as well as ISO 8601 ("PT2H")."""
        if isinstance(v, str) and v.strip().replace(".", "", 1).isdigit():
            return dt.timedelta(seconds=float(v))
        return v

    @field_validator("email_backend")
    @classmethod
    def _backend(cls, v: str) -> str:
        v = v.strip().lower()
        if v not in {"outbox", "smtp", "sendgrid"}:
            raise InvalidInput("NOVEL_EVENTS_EMAIL_BACKEND", f"{v!r} is not one of outbox, smtp, sendgrid")
        return v

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        v = v.strip().rstrip("/")
        if not (v.startswith("http://") or v.startswith("https://")) or any(c in v for c in '?#"<> '):
            raise InvalidInput("NOVEL_EVENTS_PUBLIC_URL", f"{v!r} is not a base URL like https://digest.example.org")
        return v

    def link_signer(self) -> LinkSigner | None:
        """Signed email links, when PUBLIC_URL and SECRET_KEY are both set."""
        if not self.public_url or self.secret_key is None:
            return None
        return LinkSigner(self.public_url, self.secret_key.get_secret_value().encode())

    @cached_property
    def store_url(self) -> str:
        """The store's SQLAlchemy URL (contains a password when one is configured: keep it secret)."""
        if self.database_url is not None:
            url = self.database_url.get_secret_value()
            _check_database_named(url)
            return url
        return f"sqlite:///{self.home / 'novel-events.db'}"

    @property
    def outbox(self) -> Path:
        return self.outbox_dir or (self.home / "outbox")


def _check_database_named(url: str) -> None:
    """A server URL must name its database: without one the schema would land in ``postgres``."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise InvalidInput(
            "NOVEL_EVENTS_DATABASE_URL",
            "is not a SQLAlchemy URL; use postgresql+psycopg://user:pass@host/dbname or sqlite:///path",
        ) from None
    if not parsed.get_backend_name().startswith("sqlite") and not (parsed.database or "").strip("/"):
        raise InvalidInput(
            "NOVEL_EVENTS_DATABASE_URL", "names no database; use postgresql+psycopg://user:pass@host/dbname"
        )


def load_settings() -> Settings:
    """Settings from the environment: the same (frozen) object while no ``NOVEL_EVENTS_*`` variable changes.

    A digest asks for them about ten times (flow, tasks, mailer, store); pydantic-settings reads every field
    from the environment on each build, which cost a forked run ~0.1 CPU-s (benchmarks/digest_profile.py).
    """
    return _settings_for(tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith("NOVEL_EVENTS_"))))


@lru_cache(maxsize=1)
def _settings_for(environment: tuple[tuple[str, str], ...]) -> Settings:
    """Built from ``os.environ``; ``environment`` (our variables in it) is only the cache key."""
    return Settings()
