"""An SMTP relay for fault injection: stop/start on the same port, hold or slow the reply to DATA, and
count what it accepted per recipient and Message-ID.

Every accepted message is a :class:`Accepted` record. ``acknowledged`` says whether the sender is known
to have read the reply: it sent another command (QUIT, RSET, MAIL) on the same connection afterwards.
A message accepted but never acknowledged is one whose outcome the sender could not know (it died or
gave up while the reply was held): the issue allows one extra copy, same Message-ID, for those.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import dataclass

from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.fakes.smtp_server import FakeSmtpServer, ReceivedMessage, _Handler


@dataclass
class Accepted:
    rcpt: str
    message_id: str
    at: float  # time.time() when the relay stored it
    acknowledged: bool = False


class _RelayHandler(_Handler):
    owner: FaultRelay

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or envelope.content or b""
        raw = data if isinstance(data, bytes) else data.encode()
        received = ReceivedMessage(str(envelope.mail_from), list(envelope.rcpt_tos), raw, None, False)
        queue_id = self.owner._store(received)
        record = self.owner._accept(received)
        setattr(session, "fault_pending", record)  # noqa: B010 - aiosmtpd sessions take attributes
        delay = self.owner._reply_delay(record.rcpt)
        if delay:
            await asyncio.sleep(delay)
        return f"250 2.0.0 Ok: queued as {queue_id}"

    def _ack(self, session: Session) -> None:
        record = getattr(session, "fault_pending", None)
        if record is not None:
            record.acknowledged = True
            setattr(session, "fault_pending", None)  # noqa: B010

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self._ack(session)
        return await super().handle_MAIL(server, session, envelope, address, options)

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._ack(session)
        return "250 OK"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._ack(session)
        return "221 Bye"


class FaultRelay(FakeSmtpServer):
    """``hold_first(rcpts)``: store the first message to each, never answer it (until the sender dies).
    ``slow_all(seconds)``: answer every end of DATA after ``seconds``. ``stop()``/``start()``: the relay
    is down/up again on the same port."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted: list[Accepted] = []
        self._hold: dict[str, float] = {}
        self._slow = 0.0
        self._held_now: set[str] = set()
        self._relay_lock = threading.Lock()

    def _handler(self) -> _Handler:
        return _RelayHandler(self)

    # -- control ---------------------------------------------------------------------------------------

    def hold_first(self, rcpts: list[str], seconds: float) -> None:
        with self._relay_lock:
            self._hold.update(dict.fromkeys(rcpts, seconds))

    def slow_all(self, seconds: float) -> None:
        self._slow = seconds

    @property
    def running(self) -> bool:
        return self._controller is not None

    # -- what it saw -----------------------------------------------------------------------------------

    def snapshot(self) -> list[Accepted]:
        with self._relay_lock:
            return [Accepted(a.rcpt, a.message_id, a.at, a.acknowledged) for a in self.accepted]

    def held(self) -> int:
        """Recipients whose first message is stored and its reply held."""
        with self._relay_lock:
            return len(self._held_now)

    def per_rcpt(self) -> Counter[str]:
        with self._relay_lock:
            return Counter(a.rcpt for a in self.accepted)

    # -- server thread ---------------------------------------------------------------------------------

    def _accept(self, received: ReceivedMessage) -> Accepted:
        msg = received.message
        record = Accepted(",".join(received.rcpt_tos), str(msg["Message-ID"] or ""), time.time())
        with self._relay_lock:
            self.accepted.append(record)
        return record

    def _reply_delay(self, rcpt: str) -> float:
        with self._relay_lock:
            hold = self._hold.pop(rcpt, None)
            if hold:
                self._held_now.add(rcpt)
                return hold
        return self._slow
