"""Fault classification and retries, with faults injected into the fake Google."""

from __future__ import annotations

import datetime as dt
import email.utils
import time
import traceback
from collections.abc import Callable

import pytest

from novel_events.errors import PermanentError, ReconnectRequired, TransientError, is_transient
from novel_events.sources.google import UserGrant
from tests.fakes.google_calendar import DEFAULT_CLIENT_ID, Fault
from tests.support.google import WORK, GoogleUser

EVENTS = "/events"
CLOCK = 60 * 28_333_334 + 45.0  # 45 s past a minute


def test_429_with_retry_after_is_retried_after_that_long(google_user: GoogleUser) -> None:
    google_user.fail_next(429, retry_after=7, path=EVENTS)

    result = google_user.fetch()

    assert google_user.sleeps == [7.0]
    assert result.stats.retries == 1 and result.stats.api_calls == 2 + 3 + 1
    assert result.stats.calendars == 3


def test_retry_after_as_http_date(google_user: GoogleUser) -> None:
    when = email.utils.formatdate(CLOCK + 12, usegmt=True)
    google_user.fail_next(503, retry_after=when, path=EVENTS)

    google_user.fetch(now=lambda: CLOCK)

    assert google_user.sleeps == [12.0]


@pytest.mark.parametrize("reason", ["rateLimitExceeded", "userRateLimitExceeded"])
def test_403_rate_limits_are_retried_with_backoff(google_user: GoogleUser, reason: str) -> None:
    google_user.fail_next(403, reason, path=EVENTS, times=2)

    result = google_user.fetch()

    assert google_user.sleeps == [1.0, 2.0]  # jitter pinned to its maximum
    assert result.stats.retries == 2 and result.stats.calendars == 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_gives_up_after_the_attempts_as_transient(google_user: GoogleUser, status: int) -> None:
    google_user.fail_next(status, path="/calendarList", times=10)

    with pytest.raises(TransientError, match=rf"HTTP {status} .*gave up after 4 attempts") as info:
        google_user.fetch(retry=google_user.policy(attempts=4))

    assert google_user.sleeps == [1.0, 2.0, 4.0]
    assert len(google_user.api_requests()) == 4
    assert is_transient(info.value)


def test_backoff_is_truncated_and_fully_jittered(google_user: GoogleUser) -> None:
    google_user.fail_next(500, path=EVENTS, times=5)
    google_user.fetch(retry=google_user.policy(attempts=6, base_delay=0.5, max_delay=2.0))
    assert google_user.sleeps == [0.5, 1.0, 2.0, 2.0, 2.0]

    google_user.sleeps.clear()
    google_user.fail_next(500, path=EVENTS, times=2)
    google_user.fetch(retry=google_user.policy(jitter=lambda: 0.25))
    assert google_user.sleeps == [0.25, 0.5]


def test_quota_exceeded_waits_for_the_next_minute_outside(google_user: GoogleUser) -> None:
    google_user.fail_next(403, "quotaExceeded", path=EVENTS)

    with pytest.raises(TransientError, match="quotaExceeded") as info:
        google_user.fetch(now=lambda: CLOCK)

    assert info.value.retry_after == pytest.approx(15.0)
    assert google_user.sleeps == []
    assert len(google_user.events_requests()) == 1


def test_a_long_retry_after_is_handed_to_the_caller(google_user: GoogleUser) -> None:
    google_user.fail_next(429, retry_after=600, path=EVENTS)

    with pytest.raises(TransientError) as info:
        google_user.fetch()

    assert info.value.retry_after == 600 and google_user.sleeps == []


def test_slow_response_times_out_and_is_retried(google_user: GoogleUser) -> None:
    google_user.fake.enqueue(Fault(status=None, delay=1.0, path=EVENTS, account=google_user.name))

    started = time.monotonic()
    result = google_user.fetch(timeout=0.3)

    assert time.monotonic() - started < 1.0
    assert result.stats.retries == 1 and result.stats.calendars == 3


def test_timeouts_that_persist_are_transient(google_user: GoogleUser) -> None:
    google_user.fake.enqueue(Fault(status=None, delay=0.5, path="/calendarList", account=google_user.name), times=2)

    with pytest.raises(TransientError, match="timed out"):
        google_user.fetch(timeout=0.2, retry=google_user.policy(attempts=2))


def test_dropped_connections_are_transient(google_user: GoogleUser) -> None:
    google_user.fake.enqueue(Fault(drop=True, path="/calendarList", account=google_user.name), times=20)

    with pytest.raises(TransientError, match="connection failed"):
        google_user.fetch(retry=google_user.policy(attempts=2))


def test_dropped_connection_to_the_token_endpoint_is_retried(google_user: GoogleUser) -> None:
    google_user.fake.enqueue(Fault(drop=True, path="/token", account=google_user.name), times=3)

    result = google_user.fetch()

    assert result.stats.calendars == 3 and result.stats.retries >= 1


def test_401_refreshes_the_token_once_and_retries(google_user: GoogleUser) -> None:
    google_user.fail_next(401, path=EVENTS)

    result = google_user.fetch()

    assert result.stats.token_calls == 2 and result.stats.retries == 0
    assert result.stats.calendars == 3 and google_user.sleeps == []


def test_expired_access_token_is_refreshed(google_user: GoogleUser) -> None:
    google_user.fake.enqueue(Fault(status=None, path=EVENTS, account=google_user.name))
    google_user.fake.expire_access_tokens()  # every token issued so far dies
    result = google_user.fetch()
    assert result.stats.calendars == 3


def test_401_after_a_fresh_token_means_reconnect(google_user: GoogleUser) -> None:
    google_user.fail_next(401, path=EVENTS, times=2)

    with pytest.raises(ReconnectRequired, match="reconnect your calendar"):
        google_user.fetch()

    assert len(google_user.token_requests()) == 2


def test_revoked_refresh_token_is_reconnect_required(google_user: GoogleUser) -> None:
    google_user.fake.revoke_refresh_token(google_user.grant.refresh_token)

    with pytest.raises(ReconnectRequired, match=r"reconnect your calendar.*invalid_grant") as info:
        google_user.fetch()

    assert not is_transient(info.value)
    assert google_user.sleeps == [] and google_user.api_requests() == []


def test_grant_revoked_between_calls(google_user: GoogleUser) -> None:
    google_user.fake.enqueue(Fault(status=None, path="/settings/timezone", account=google_user.name))
    google_user.fail_next(401, path=EVENTS)
    google_user.fake.revoke_refresh_token(google_user.grant.refresh_token)  # revokes live access tokens too
    with pytest.raises(ReconnectRequired, match="invalid_grant"):
        google_user.fetch()


def test_grant_without_calendar_scope_is_reconnect_required(
    make_google_user: Callable[..., GoogleUser],
) -> None:
    user = make_google_user()
    user.fake.refresh_tokens[user.grant.refresh_token] = (user.name, frozenset({"openid", "email"}))
    with pytest.raises(ReconnectRequired, match="invalid_scope"):
        user.fetch()


def test_insufficient_permissions_is_reconnect_required(google_user: GoogleUser) -> None:
    google_user.fail_next(403, "insufficientPermissions", path="/calendarList")
    with pytest.raises(ReconnectRequired, match="lacks read access"):
        google_user.fetch()


def test_wrong_client_secret_is_permanent_not_reconnect(google_user: GoogleUser) -> None:
    grant = UserGrant(google_user.grant.refresh_token, DEFAULT_CLIENT_ID, "wrong-secret", google_user.fake.token_uri)
    google_user.grant = grant
    with pytest.raises(PermanentError, match="invalid_client") as info:
        google_user.fetch()
    assert not isinstance(info.value, ReconnectRequired)
    assert google_user.sleeps == []


@pytest.mark.parametrize(("status", "reason"), [(400, "badRequest"), (403, "forbidden"), (409, "conflict")])
def test_other_4xx_are_permanent_without_retry(google_user: GoogleUser, status: int, reason: str) -> None:
    google_user.fail_next(status, reason, path=EVENTS)
    with pytest.raises(PermanentError, match=rf"HTTP {status} {reason}"):
        google_user.fetch()
    assert google_user.sleeps == [] and len(google_user.events_requests()) == 1


def test_404_on_one_calendar_skips_it(google_user: GoogleUser) -> None:
    google_user.fail_next(404, path="c_work")
    result = google_user.fetch()
    assert result.stats.skipped_calendars == [WORK]
    assert WORK not in [c.id for c in result.dump.calendars] and result.stats.calendars == 2


def test_token_endpoint_5xx_is_transient(google_user: GoogleUser) -> None:
    # google-auth itself retries the token endpoint (3 tries, ~1 s and ~2 s apart): this test takes ~3 s.
    google_user.fail_next(503, path="/token", times=3)
    with pytest.raises(TransientError, match="temporarily_unavailable"):
        google_user.fetch(retry=google_user.policy(attempts=1))


# -- secrets never leave in an error ------------------------------------------------------------------


def _leaked(user: GoogleUser, exc: BaseException) -> list[str]:
    with user.fake.lock:
        issued = [t for t, (acct, _e, _s) in user.fake.access_tokens.items() if acct == user.name]
    secrets = [user.grant.refresh_token, str(user.grant.client_secret), *issued]
    text = "".join(traceback.format_exception(exc)) + repr(exc) + repr(exc.__cause__) + repr(exc.__context__)
    return [s for s in secrets if s in text]


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=401, path=EVENTS, echo=True),
        Fault(status=403, reason="forbidden", path=EVENTS, echo=True),
        Fault(status=500, path="/calendarList", echo=True),
        Fault(status=400, reason="invalid_grant", path="/token", echo=True),
        Fault(status=400, path="/token", echo=True, body="not json: " + "x" * 20),
    ],
    ids=["401-echo", "403-echo", "500-echo", "token-invalid-grant-echo", "token-raw-body"],
)
def test_errors_never_carry_tokens_or_client_secret(google_user: GoogleUser, fault: Fault) -> None:
    fault.account = google_user.name
    google_user.fake.enqueue(fault, times=3 if fault.status == 401 else 1)

    with pytest.raises((PermanentError, TransientError)) as info:
        google_user.fetch(retry=google_user.policy(attempts=1))

    assert _leaked(google_user, info.value) == []
    if fault.echo:
        assert "[redacted]" in str(info.value)  # the echo was there, and cut out


def test_revoked_grant_error_holds_no_secret(google_user: GoogleUser) -> None:
    google_user.fake.revoke_refresh_token(google_user.grant.refresh_token)
    with pytest.raises(ReconnectRequired) as info:
        google_user.fetch()
    assert _leaked(google_user, info.value) == []


def test_grant_repr_hides_secrets(google_user: GoogleUser) -> None:
    text = repr(google_user.grant) + str(google_user.grant)
    assert google_user.grant.refresh_token not in text and str(google_user.grant.client_secret) not in text
    assert DEFAULT_CLIENT_ID in text


def test_backoff_never_sleeps_for_real_in_tests(google_user: GoogleUser) -> None:
    google_user.fail_next(503, path=EVENTS, times=3)
    started = dt.datetime.now()
    google_user.fetch()
    assert (dt.datetime.now() - started).total_seconds() < 2 and google_user.sleeps == [1.0, 2.0, 4.0]
