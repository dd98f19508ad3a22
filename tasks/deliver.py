"""Deliver a rendered digest exactly once per (user, slot), through the configured backend."""

from __future__ import annotations

import datetime as dt
from email.utils import parseaddr

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.sync import rate_limit
from prefect.tasks import exponential_backoff

from novel_events.errors import is_transient
from novel_events.links import unsubscribe_headers
from novel_events.mailers.base import OutgoingEmail
from novel_events.mailers.factory import make_mailer
from novel_events.models import User
from novel_events.outcome import DigestOutcome, Result
from novel_events.render import RenderedDigest
from novel_events.settings import load_settings
from novel_events.slots import message_id
from novel_events.store import Status
from tasks import store
from tasks.limits import SENDS
from tasks.retry import honour_retry_after, retry_if_transient


def _mask(addr: str) -> str:
    local, _, domain = addr.partition("@")
    return f"{local[:1]}***@{domain}"


@task(name="deliver-digest", retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=5),
      retry_jitter_factor=1.0, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE)
def deliver(
    user: User, slot: str, digest: RenderedDigest, novel_count: int, now: dt.datetime, flow_run_id: str | None
) -> DigestOutcome:
    log = get_run_logger()
    settings = load_settings()
    ledger = store.ledger(settings)
    if novel_count == 0 and not user.send_when_empty:
        claim = ledger.claim(user.id, slot, flow_run_id=flow_run_id, status=Status.EMPTY)
        if not claim.won:
            return _lost(user, slot, claim.status)
        ledger.record(user.id, slot, Status.EMPTY, novel_count=0, detail="nothing novel; no email by preference")
        log.info("nothing novel for %s; no email (the user's preference)", user.id)
        return DigestOutcome(user.id, slot, Result.NOTHING_NOVEL, 0, detail="no email sent")
    domain = parseaddr(settings.from_email)[1].partition("@")[2] or "novel-events.localhost"
    mid = message_id(user.id, slot, domain)
    claim = ledger.claim(user.id, slot, flow_run_id=flow_run_id, message_id=mid,
                         stale_after=settings.send_claim_timeout)
    if not claim.won:
        log.info("slot %s of %s is %s; not sending again", slot, user.id, claim.status.value)
        return _lost(user, slot, claim.status)
    if claim.takeover:
        log.warning("taking over slot %s of %s (earlier attempt failed or died); same Message-ID", slot, user.id)
    headers = {"X-Novel-Events-User": user.id, "X-Novel-Events-Slot": slot}
    headers.update(unsubscribe_headers(settings.link_signer(), user.id, now, settings.unsubscribe_url))
    email = OutgoingEmail(
        to=user.email, from_=settings.from_email, subject=digest.subject, html=digest.html, text=digest.text,
        message_id=mid, date=now, headers=headers,
    )
    try:
        mailer = make_mailer(
            settings.email_backend, outbox_dir=settings.outbox, smtp_url=settings.smtp_url,
            sendgrid_api_key=settings.sendgrid_api_key, sendgrid_host=settings.sendgrid_host,
        )
        rate_limit(SENDS.name, occupy=1, strict=False)
        provider_id = mailer.send(email)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"[:300]
        ledger.record(user.id, slot, Status.FAILED, novel_count=novel_count, detail=reason)
        log.error("sending to %s failed (%s): %s", _mask(user.email),
                  "will retry" if is_transient(exc) else "permanent", reason)
        honour_retry_after(exc)
        raise
    ledger.record(user.id, slot, Status.SENT, provider_id=provider_id, novel_count=novel_count)
    log.info("sent %d novel event(s) to %s via %s (%s)", novel_count, _mask(user.email),
             settings.email_backend, provider_id)
    return DigestOutcome(user.id, slot, Result.SENT, novel_count, provider_id=provider_id)


def _lost(user: User, slot: str, status: Status) -> DigestOutcome:
    if status is Status.SENDING:
        return DigestOutcome(user.id, slot, Result.IN_PROGRESS, detail="another run holds this slot")
    return DigestOutcome(user.id, slot, Result.ALREADY_SENT, detail=f"slot already {status.value}")


@task(name="record-missed", cache_policy=NO_CACHE)
def record_missed(user_id: str, slot: str, started: dt.datetime, flow_run_id: str | None) -> DigestOutcome:
    ledger = store.ledger()
    late = started - dt.datetime.strptime(slot, "%Y-%m-%dT%H:%MZ").replace(tzinfo=dt.UTC)
    detail = f"started {int(late.total_seconds() // 60)} min after its slot (catch-up window exceeded)"
    claim = ledger.claim(user_id, slot, flow_run_id=flow_run_id, status=Status.MISSED)
    if claim.won:
        ledger.record(user_id, slot, Status.MISSED, detail=detail)
    get_run_logger().warning("missed: %s", detail)
    return DigestOutcome(user_id, slot, Result.MISSED, detail=detail)
