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
        await self.owner._hold_reply(record.rcpt)
        if self.owner._slow:
            await asyncio.sleep(self.owner._slow)
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
    """``hold(rcpts)``: store every message to them but hold the reply until ``release(rcpts)`` (a relay
    that accepted the mail and has not said so yet). ``slow_all(seconds)``: answer every end of DATA after
    ``seconds``. ``stop()``/``start()``: the relay is down/up again on the same port."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted: list[Accepted] = []
        self._hold: set[str] = set()
        self._slow = 0.0
        self._held_ever: set[str] = set()
        self._relay_lock = threading.Lock()

    def _handler(self) -> _Handler:
        return _RelayHandler(self)

    # -- control ---------------------------------------------------------------------------------------

    def hold(self, rcpts: set[str]) -> None:
        with self._relay_lock:
            self._hold |= rcpts

    def release(self, rcpts: set[str] | None = None) -> None:
        """Answer the held replies (of ``rcpts``, or all) and stop holding."""
        with self._relay_lock:
            self._hold -= self._hold if rcpts is None else rcpts

    def slow_all(self, seconds: float) -> None:
        self._slow = seconds

    @property
    def running(self) -> bool:
        return self._controller is not None

    # -- what it saw -----------------------------------------------------------------------------------

    def snapshot(self) -> list[Accepted]:
        with self._relay_lock:
            return [Accepted(a.rcpt, a.message_id, a.at, a.acknowledged) for a in self.accepted]

    def held(self) -> set[str]:
        """Recipients that had a message stored and its reply held (now or earlier)."""
        with self._relay_lock:
            return set(self._held_ever)

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

    async def _hold_reply(self, rcpt: str) -> None:
        if rcpt not in self._hold:
            return
        with self._relay_lock:
            self._held_ever.add(rcpt)
        while rcpt in self._hold:
            await asyncio.sleep(0.2)
