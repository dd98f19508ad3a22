"""A small local SMTP server (aiosmtpd) that collects messages and can misbehave on request.

    with FakeSmtpServer(username="bot", password="s3cret") as smtp:   # 127.0.0.1, random free port
        smtp.fail_next("RCPT", "550 5.1.1 No such user")
        smtp.delay_next("DATA", 2.0)                                  # for timeout tests
        ...
        smtp.messages[-1].message["Subject"]

TLS: pass ``tls=TlsFiles`` with ``implicit_tls=False`` to offer STARTTLS, or ``implicit_tls=True``
for SMTPS. :func:`make_tls_files` writes a throwaway self-signed certificate for 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import ssl
import threading
import warnings
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Self, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

STAGES = ("AUTH", "MAIL", "RCPT", "DATA", "AFTER_DATA")  # AFTER_DATA: stored, reply stalled


@dataclass(frozen=True)
class TlsFiles:
    certfile: Path
    keyfile: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.certfile, self.keyfile)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only this certificate."""
        return ssl.create_default_context(cafile=str(self.certfile))


def make_tls_files(directory: Path) -> TlsFiles:
    """A self-signed EC certificate for 127.0.0.1 / localhost (valid one day)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-smtp.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    certfile, keyfile = directory / "fake-smtp.crt", directory / "fake-smtp.key"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return TlsFiles(certfile, keyfile)


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None
    tls: bool

    @property
    def message(self) -> EmailMessage:
        return cast(EmailMessage, email.message_from_bytes(self.data, policy=email.policy.default))


@dataclass(frozen=True)
class _Fault:
    stage: str
    reply: str | None
    delay: float


class _Handler:
    def __init__(self, owner: FakeSmtpServer) -> None:
        self.owner = owner

    async def _fault(self, stage: str) -> str | None:
        fault = self.owner._take_fault(stage)
        if fault is None:
            return None
        if fault.delay:
            await asyncio.sleep(fault.delay)
        return fault.reply

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if (reply := await self._fault("MAIL")) is not None:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if (reply := await self._fault("RCPT")) is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if (reply := await self._fault("DATA")) is not None:
            return reply
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        transport = server.transport
        data = envelope.original_content or envelope.content or b""
        received = ReceivedMessage(
            mail_from=str(envelope.mail_from),
            rcpt_tos=list(envelope.rcpt_tos),
            data=data if isinstance(data, bytes) else data.encode(),
            login=login,
            tls=transport is not None and transport.get_extra_info("ssl_object") is not None,
        )
        queue_id = self.owner._store(received)
        # "delivered, but the sender never hears back": the ambiguous case of a crash mid-send
        await self._fault("AFTER_DATA")
        return f"250 2.0.0 Ok: queued as {queue_id}"


class _Controller(Controller):
    """aiosmtpd's Controller, but port 0 means "pick a free port" (read back after binding)."""

    def factory(self) -> SMTP:
        with warnings.catch_warnings():  # "AUTH without TLS" is deliberate for the plain fake relay
            warnings.simplefilter("ignore", UserWarning)
            return SMTP(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        if self.port == 0 and self.server is not None:
            server = cast(asyncio.Server, self.server)
            self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()


class FakeSmtpServer:
    """Collects messages in ``messages``; ``fail_next``/``delay_next`` inject faults per stage."""

    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        tls: TlsFiles | None = None,
        implicit_tls: bool = False,
        port: int = 0,
    ) -> None:
        self.username = username
        self.password = password
        self.tls = tls
        self.implicit_tls = implicit_tls
        self.messages: list[ReceivedMessage] = []
        self.auth_attempts: list[str] = []
        self._faults: deque[_Fault] = deque()
        self._lock = threading.Lock()
        self._counter = 0
        self._controller: _Controller | None = None
        self._port = port  # 0: a free port at the first start; a restart reuses it

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        assert self._controller is not None, "server not started"
        return int(self._controller.port)

    def start(self) -> Self:
        assert self._controller is None, "already started"
        kwargs: dict[str, Any] = {}
        if self.tls is not None and not self.implicit_tls:
            kwargs["tls_context"] = self.tls.server_context()
        if self.username is not None:
            kwargs.update(
                authenticator=self._authenticate,
                auth_required=True,
                # Plain servers (no TLS at all) still accept AUTH, like a local relay would.
                auth_require_tls=self.tls is not None,
            )
        controller = _Controller(
            self._handler(),
            hostname="127.0.0.1",
            port=self._port,
            ssl_context=self.tls.server_context() if self.tls and self.implicit_tls else None,
            ready_timeout=5.0,
            **kwargs,
        )
        controller.start()
        self._controller = controller
        self._port = int(controller.port)
        return self

    def _handler(self) -> _Handler:
        return _Handler(self)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control ----------------------------------------------------------------------------------

    def fail_next(self, stage: str, reply: str, *, delay: float = 0.0) -> None:
        """Answer the next ``stage`` command with ``reply``, e.g. ``fail_next("DATA", "451 4.3.0 Busy")``.

        ``AUTH`` faults answer one authentication attempt (smtplib tries each offered mechanism in
        turn, so queue one per mechanism: PLAIN and LOGIN). ``delay`` applies to MAIL/RCPT/DATA.
        """
        assert stage in STAGES, stage
        with self._lock:
            self._faults.append(_Fault(stage, reply, delay))

    def delay_next(self, stage: str, seconds: float) -> None:
        """Stall ``seconds`` before answering the next ``stage`` command normally."""
        assert stage in STAGES, stage
        with self._lock:
            self._faults.append(_Fault(stage, None, seconds))

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.auth_attempts.clear()
            self._faults.clear()

    # -- called from the server thread ------------------------------------------------------------

    def _take_fault(self, stage: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.stage == stage:
                    self._faults.remove(fault)
                    return fault
        return None

    def _store(self, message: ReceivedMessage) -> str:
        with self._lock:
            self._counter += 1
            self.messages.append(message)
            return f"FAKE{self._counter:06d}"

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode()
        with self._lock:
            self.auth_attempts.append(login)
        fault = self._take_fault("AUTH")
        if fault is not None and fault.reply:
            return AuthResult(success=False, handled=False, message=fault.reply)
        ok = login == self.username and auth_data.password.decode() == (self.password or "")
        return AuthResult(success=ok, handled=False, auth_data=auth_data)
