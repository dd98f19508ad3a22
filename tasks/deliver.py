"""Deliver a rendered digest exactly once per (user, slot), through the configured backend.

Three steps, each with its own failure rule:

1. **claim** the slot in the ledger (after taking a send-rate slot, so a Prefect API outage fails the
   run before anything is claimed). A store outage is retried for ``CLAIM_BUDGET``, then the run fails
   transiently and the recovery sweep re-runs the slot later.
2. **send**. A definite failure records ``retry`` (transient: nothing went out) or ``failed``
   (permanent); an answer that never came records ``unknown`` (re-sent at most once, same Message-ID).
3. **record** the send. A send that happened is never repeated because the store blinked: recording
   retries for ``RECORD_BUDGET``; if the store is still away the run still completes as *sent* and the
   recovery sweep copies that into the ledger.
"""

from __future__ import annotations

import datetime as dt
from email.utils import parseaddr
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.sync import rate_limit
from prefect.tasks import exponential_backoff

from novel_events.errors import OutcomeUnknown, PermanentError
from novel_events.links import unsubscribe_headers
from novel_events.mailers.base import Mailer, OutgoingEmail
from novel_events.mailers.factory import make_mailer
from novel_events.models import User
from novel_events.outcome import DigestOutcome, Result
from novel_events.render import RenderedDigest
from novel_events.settings import Settings, load_settings
from novel_events.slots import message_id, slot_time
from novel_events.store import Ledger, Status
from tasks import store
from tasks.limits import SENDS
from tasks.retry import call_retrying, honour_retry_after, retry_if_transient

CLAIM_BUDGET = 120.0  # seconds of store outage a claim rides out before the run gives up (and is re-run)
RECORD_BUDGET = 600.0  # seconds of store outage the record of a *sent* digest rides out


def _mask(addr: str) -> str:
    local, _, domain = addr.partition("@")
    return f"{local[:1]}***@{domain}"


def make_settings_mailer(settings: Settings) -> Mailer:
    return make_mailer(
        settings.email_backend,
        outbox_dir=settings.outbox,
        smtp_url=settings.smtp_url,
        sendgrid_api_key=settings.sendgrid_api_key,
        sendgrid_host=settings.sendgrid_host,
        timeout=settings.smtp_timeout,
        data_timeout=settings.smtp_data_timeout,
        sendgrid_timeout=settings.sendgrid_timeout,
    )


@task(
    name="deliver-digest",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=5),
    retry_jitter_factor=1.0,
    retry_condition_fn=retry_if_transient,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def deliver(
    user: User, slot: str, digest: RenderedDigest, novel_count: int, now: dt.datetime, flow_run_id: str | None
) -> DigestOutcome:
    log = get_run_logger()
    settings = load_settings()
    ledger = store.ledger(settings)
    if novel_count == 0 and not user.send_when_empty:
        return _settle_empty(ledger, user, slot, flow_run_id, log)
    domain = parseaddr(settings.from_email)[1].partition("@")[2] or "novel-events.localhost"
    mid = message_id(user.id, slot, domain)
    mailer = make_settings_mailer(settings)
    rate_limit(SENDS.name, occupy=1, strict=False)  # before the claim: an API outage leaves nothing claimed
    claim = call_retrying(
        lambda: ledger.claim(
            user.id, slot, flow_run_id=flow_run_id, message_id=mid, stale_after=settings.send_claim_timeout
        ),
        budget=CLAIM_BUDGET,
        log=log,
        what="store (claiming the slot)",
    )
    if not claim.won:
        log.info("slot %s of %s is %s; not sending again", slot, user.id, claim.status.value)
        return _lost(user.id, slot, claim.status)
    if claim.resend:
        log.warning(
            "slot %s of %s: an earlier attempt's outcome is unknown; sending once more, same Message-ID", slot, user.id
        )
    elif claim.takeover:
        log.info("slot %s of %s: retrying after a failed attempt", slot, user.id)
    headers = {"X-Novel-Events-User": user.id, "X-Novel-Events-Slot": slot}
    headers.update(unsubscribe_headers(settings.link_signer(), user.id, now, settings.unsubscribe_url))
    email = OutgoingEmail(
        to=user.email,
        from_=settings.from_email,
        subject=digest.subject,
        html=digest.html,
        text=digest.text,
        message_id=mid,
        date=now,
        headers=headers,
    )
    try:
        provider_id = mailer.send(email)
    except Exception as exc:
        status = (
            Status.UNKNOWN
            if isinstance(exc, OutcomeUnknown)
            else Status.FAILED
            if isinstance(exc, PermanentError)
            else Status.RETRY
        )
        reason = f"{type(exc).__name__}: {exc}"[:300]
        _record_quietly(ledger, user.id, slot, status, novel_count, reason, log)
        log.error("sending to %s failed (%s): %s", _mask(user.email), status.value, reason)
        honour_retry_after(exc)
        raise
    try:
        call_retrying(
            lambda: ledger.record(user.id, slot, Status.SENT, provider_id=provider_id, novel_count=novel_count),
            budget=RECORD_BUDGET,
            log=log,
            what="store (recording the send)",
        )
        pending = ""
    except Exception as exc:  # the mail went out: never fail (and re-send) because the ledger is away
        log.error("sent, but the ledger could not record it (%s); the recovery sweep will", type(exc).__name__)
        pending = "ledger update pending"
    log.info(
        "sent %d novel event(s) to %s via %s (%s)", novel_count, _mask(user.email), settings.email_backend, provider_id
    )
    return DigestOutcome(user.id, slot, Result.SENT, novel_count, provider_id=provider_id, detail=pending)


def _settle_empty(ledger: Ledger, user: User, slot: str, flow_run_id: str | None, log: Any) -> DigestOutcome:
    claim = call_retrying(
        lambda: ledger.claim(user.id, slot, flow_run_id=flow_run_id, status=Status.EMPTY), budget=CLAIM_BUDGET, log=log
    )
    if not claim.won:
        return _lost(user.id, slot, claim.status)
    call_retrying(
        lambda: ledger.record(
            user.id, slot, Status.EMPTY, novel_count=0, detail="nothing novel; no email by preference"
        ),
        budget=RECORD_BUDGET,
        log=log,
    )
    log.info("nothing novel for %s; no email (the user's preference)", user.id)
    return DigestOutcome(user.id, slot, Result.NOTHING_NOVEL, 0, detail="no email sent")


def _record_quietly(
    ledger: Ledger, user_id: str, slot: str, status: Status, novel_count: int, reason: str, log: Any
) -> None:
    """Best effort: if the store is away too, the claim goes stale and the sweep treats it as unknown."""
    try:
        call_retrying(
            lambda: ledger.record(user_id, slot, status, novel_count=novel_count, detail=reason), budget=60.0, log=log
        )
    except Exception as exc:
        log.warning("could not record the failed attempt (%s)", type(exc).__name__)


def _lost(user_id: str, slot: str, status: Status) -> DigestOutcome:
    if status is Status.SENDING:
        return DigestOutcome(user_id, slot, Result.IN_PROGRESS, detail="another run holds this slot")
    if status is Status.UNKNOWN:
        return DigestOutcome(
            user_id, slot, Result.ALREADY_SENT, detail="outcome unknown after one re-send; not sending a third time"
        )
    return DigestOutcome(user_id, slot, Result.ALREADY_SENT, detail=f"slot already {status.value}")


def record_missed(
    user_id: str, slot: str, started: dt.datetime, flow_run_id: str | None, log: Any = None
) -> DigestOutcome:
    """A run that starts past the catch-up window: record the slot missed, send nothing."""
    ledger = store.ledger()
    late = started - (slot_time(slot) or started)
    detail = f"started {int(late.total_seconds() // 60)} min after its slot (catch-up window exceeded)"
    claim = call_retrying(
        lambda: ledger.claim(user_id, slot, flow_run_id=flow_run_id, status=Status.MISSED), budget=CLAIM_BUDGET, log=log
    )
    if claim.won:
        call_retrying(lambda: ledger.record(user_id, slot, Status.MISSED, detail=detail), budget=RECORD_BUDGET, log=log)
    elif claim.status in {Status.SENT, Status.EMPTY}:
        return _lost(user_id, slot, claim.status)
    if log is not None:
        log.warning("missed: %s", detail)
    return DigestOutcome(user_id, slot, Result.MISSED, detail=detail)
