"""What a digest run did, in words an operator reads in the UI and in ``novel-events status``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Result(StrEnum):
    SENT = "sent"
    NOTHING_NOVEL = "nothing novel"
    ALREADY_SENT = "already sent"
    IN_PROGRESS = "in progress elsewhere"
    MISSED = "missed"
    DRY_RUN = "dry run"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DigestOutcome:
    user_id: str
    slot: str
    result: Result
    novel_count: int = 0
    provider_id: str | None = None
    detail: str = ""

    @property
    def message(self) -> str:
        parts = [f"{self.result.value}"]
        if self.result in {Result.SENT, Result.DRY_RUN, Result.NOTHING_NOVEL}:
            parts.append(f"{self.novel_count} novel event{'s' if self.novel_count != 1 else ''}")
        if self.detail:
            parts.append(self.detail)
        return f"user {self.user_id}, slot {self.slot}: " + "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["result"] = self.result.value
        return data


# Failed runs say whether retrying can help; the recovery sweep reads it back.
PERMANENT_PREFIX = "failed (permanent)"
TRANSIENT_PREFIX = "failed (will retry)"


def _result_text(message: str) -> str:
    head, sep, rest = (message or "").partition(": ")
    return rest if sep and head.startswith("user ") else ""


def is_sent_message(message: str) -> bool:
    """A final state message of a run that delivered its digest (see :attr:`DigestOutcome.message`)."""
    return _result_text(message).startswith(f"{Result.SENT.value}")


def is_permanent_message(message: str) -> bool:
    return _result_text(message).startswith(PERMANENT_PREFIX)


def is_in_progress_message(message: str) -> bool:
    return _result_text(message).startswith(Result.IN_PROGRESS.value)


def failure_message(exc: BaseException, *, permanent: bool) -> str:
    """The state message of a failed digest run: intent first, then the (already redacted) reason."""
    reason = " ".join(str(exc).split())[:300] or type(exc).__name__
    return f"{PERMANENT_PREFIX if permanent else TRANSIENT_PREFIX}: {reason}"
