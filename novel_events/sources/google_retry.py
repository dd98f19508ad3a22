"""Retrying one Google request: truncated exponential backoff with full jitter, honouring Retry-After."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from novel_events.errors import NovelEventsError, TransientError
from novel_events.sources.google_errors import RetryableError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one request is retried before a :class:`TransientError` goes up to the caller.

    ``sleep`` and ``jitter`` are injectable so tests run without waiting.
    """

    attempts: int = 5  # tries per request, the first included
    base_delay: float = 1.0  # the cap of the first backoff; doubles per retry
    max_delay: float = 32.0  # truncation of the exponential
    max_retry_after: float = 60.0  # a longer Retry-After is handed to the caller instead of slept
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    jitter: Callable[[], float] = field(default=random.random, repr=False)

    def backoff(self, retry: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``retry`` (0-based): full jitter, at least Retry-After."""
        delay = self.jitter() * min(self.max_delay, self.base_delay * (2**retry))
        return max(delay, retry_after or 0.0)


def call_with_retries(
    request: Callable[[], T],
    *,
    policy: RetryPolicy,
    classify: Callable[[BaseException], NovelEventsError],
    on_retry: Callable[[NovelEventsError, float], None] | None = None,
) -> T:
    """``request()``, retried on :class:`RetryableError`; every failure leaves as a classified error."""
    for attempt in range(max(1, policy.attempts)):
        try:
            return request()
        except Exception as exc:  # classified below; anything unknown becomes PermanentError
            err = classify(exc)
        last = attempt == max(1, policy.attempts) - 1
        too_long = (err.retry_after or 0.0) > policy.max_retry_after if isinstance(err, TransientError) else False
        if not isinstance(err, RetryableError) or last or too_long:
            if isinstance(err, RetryableError) and last and policy.attempts > 1:
                err = TransientError(f"{err} (gave up after {policy.attempts} attempts)", retry_after=err.retry_after)
            raise err
        delay = policy.backoff(attempt, err.retry_after)
        if on_retry is not None:
            on_retry(err, delay)
        policy.sleep(delay)
    raise AssertionError("unreachable")
