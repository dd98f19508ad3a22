"""Names and sizes of the fleet-wide limits (created by `novel-events init`, used by tasks)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    name: str
    limit: int
    slot_decay_per_second: float
    description: str


# Google allows 10,000 requests/min per project: 150 slots/s decay ≈ 9,000/min, a 10% margin.
# A digest occupies GOOGLE_SLOTS_PER_FETCH slots (a fetch costs ~5-7 calls in steady state).
GOOGLE_API = Limit("novel-events-google-api", 600, 150.0, "Google Calendar API calls, fleet-wide")
GOOGLE_SLOTS_PER_FETCH = 6
# Emails: providers throttle bursts; 10/s is well inside SendGrid's and most SMTP relays' limits.
SENDS = Limit("novel-events-sends", 20, 10.0, "emails sent per second, fleet-wide")
LIMITS = (GOOGLE_API, SENDS)
