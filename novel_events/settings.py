"""Settings from the environment (prefix ``NOVEL_EVENTS_``). Secrets are ``SecretStr``."""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from novel_events.errors import InvalidInput

DEFAULT_HOME = Path.home() / ".novel-events"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOVEL_EVENTS_", extra="ignore")

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
        default=5, ge=0, le=59, description="Reconcile + crash-recovery job interval; 0 = unscheduled")
    catchup_window: dt.timedelta = dt.timedelta(hours=2)
    send_claim_timeout: dt.timedelta = Field(
        default=dt.timedelta(minutes=10),
        description="A slot left 'sending' this long (its sender died mid-send) is re-sent, same Message-ID",
    )
    alert_webhook_url: SecretStr | None = None
    alert_email: str | None = Field(
        default=None, description="Operator address: every alert is also emailed here through EMAIL_BACKEND")
    late_alert_minutes: float = Field(
        default=15, gt=0, description="Alert when a digest run has been Late (not started) this long")
    worker_down_alert_minutes: float = Field(
        default=5, gt=0, description="Alert when the work pool has had no healthy worker this long")
    unsubscribe_url: str | None = Field(
        default=None, description="Base URL for List-Unsubscribe; '{user_id}' is substituted"
    )

    @field_validator("catchup_window", "send_claim_timeout", mode="before")
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

    @cached_property
    def store_url(self) -> str:
        """The store's SQLAlchemy URL (contains a password when one is configured: keep it secret)."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.home / 'novel-events.db'}"

    @property
    def outbox(self) -> Path:
        return self.outbox_dir or (self.home / "outbox")


def load_settings() -> Settings:
    return Settings()
