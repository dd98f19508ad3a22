"""Send one operator alert by email through the configured mail backend (``EMAIL_BACKEND``)."""

from __future__ import annotations

import datetime as dt
from email.utils import parseaddr

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from novel_events.alert_mail import alert_email
from novel_events.settings import load_settings
from tasks.deliver import make_settings_mailer
from tasks.retry import honour_retry_after, retry_if_transient


@task(
    name="email-alert",
    task_run_name="email the alert to the operator",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=5),
    retry_jitter_factor=1.0,
    retry_condition_fn=retry_if_transient,
    cache_policy=NO_CACHE,
)
def email_alert(to: str, subject: str, body: str, key: str) -> str:
    settings = load_settings()
    domain = parseaddr(settings.from_email)[1].partition("@")[2] or "novel-events.localhost"
    email = alert_email(
        to=to,
        from_=settings.from_email,
        subject=subject,
        body=body,
        key=key,
        now=dt.datetime.now(dt.UTC),
        domain=domain,
    )
    mailer = make_settings_mailer(settings)
    try:
        provider_id = mailer.send(email)
    except Exception as exc:
        honour_retry_after(exc)
        raise
    get_run_logger().info("alert emailed via %s (%s)", settings.email_backend, provider_id)
    return provider_id
