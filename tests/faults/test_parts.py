"""The fault suite's own parts: the TCP proxy cuts, the relay holds/counts/restarts, the feed holds, and the
verdict applies the issue's targets. Quick; they run with the unit tests."""

from __future__ import annotations

import smtplib
import socket
import threading
import time
from email.message import EmailMessage

import httpx
import pytest

from tests.faults.feed import FeedServer
from tests.faults.proxy import TcpProxy
from tests.faults.relay import FaultRelay
from tests.faults.table import Copy, Row


def _echo(conn: socket.socket) -> None:
    try:
        while data := conn.recv(1024):
            conn.sendall(data)
    except OSError:
        pass


def _echo_server() -> tuple[socket.socket, int]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=_echo, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return srv, int(srv.getsockname()[1])


def test_proxy_forwards_cuts_and_restores() -> None:
    srv, port = _echo_server()
    with TcpProxy("127.0.0.1", port) as proxy:
        established = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        established.sendall(b"ping")
        assert established.recv(4) == b"ping"
        proxy.cut()
        with pytest.raises(OSError):  # the established connection is reset ...
            established.sendall(b"again")
            assert established.recv(5) == b""
            raise ConnectionResetError("closed")
        with pytest.raises(OSError):  # ... and so is a new one
            fresh = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
            fresh.sendall(b"x")
            assert fresh.recv(1) == b""
            raise ConnectionResetError("closed")
        proxy.restore()
        back = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        back.sendall(b"pong")
        assert back.recv(4) == b"pong"
        established.close()
        back.close()
    srv.close()


def _mail(to: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = "a@example.org", to, "s", f"<id.{to}>"
    msg.set_content("x")
    return msg


def test_relay_holds_counts_and_restarts_on_its_port() -> None:
    relay = FaultRelay().start()
    try:
        port = relay.port
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
            smtp.send_message(_mail("known@example.org"))
        relay.hold({"held@example.org"})
        with (
            pytest.raises((TimeoutError, smtplib.SMTPServerDisconnected)),
            smtplib.SMTP("127.0.0.1", port, timeout=1) as smtp,
        ):  # gives up while the reply is held
            smtp.send_message(_mail("held@example.org"))
        assert relay.held() == {"held@example.org"}
        known, held = relay.snapshot()
        assert (known.rcpt, known.acknowledged) == ("known@example.org", True)
        assert (held.rcpt, held.message_id, held.acknowledged) == ("held@example.org", "<id.held@example.org>", False)
        relay.stop()
        with pytest.raises(OSError):
            smtplib.SMTP("127.0.0.1", port, timeout=2)
        relay.start()
        assert relay.port == port
        relay.release()
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
            smtp.send_message(_mail("held@example.org"))
        assert relay.per_rcpt() == {"known@example.org": 1, "held@example.org": 2}
    finally:
        relay.stop()


def test_feed_holds_until_released() -> None:
    feed = FeedServer().start()
    try:
        feed.put("u1", b"BEGIN:VCALENDAR")
        feed.hold({"u1"})
        got: list[bytes] = []
        t = threading.Thread(target=lambda: got.append(httpx.get(feed.url("u1"), timeout=10).content))
        t.start()
        assert feed.wait_waiting(1, 5)
        time.sleep(0.3)
        assert got == []
        feed.release()
        t.join(5)
        assert got == [b"BEGIN:VCALENDAR"]
        assert httpx.get(feed.url("nobody"), timeout=5).status_code == 404
    finally:
        feed.stop()


def _row(copies: dict[str, list[Copy]], end: float = 100.0) -> Row:
    return Row(key="k", fault="f", expected=["a", "b"], copies=copies, fault_end=end)


def test_verdict_applies_the_issues_targets() -> None:
    one = [Copy("<m>", 110.0, True)]
    assert _row({"a": one, "b": one}).problems(300) == []
    assert _row({"a": one, "b": one}).recovery_seconds() == 10.0
    lost = _row({"a": one}).problems(300)
    assert len(lost) == 1 and lost[0].startswith("1/2 digests not delivered: b")
    # an unknowable outcome allows one extra copy with the same Message-ID, not two, not a new id
    unknown = [Copy("<m>", 110.0, False), Copy("<m>", 150.0, True)]
    assert _row({"a": unknown, "b": one}).problems(300) == []
    assert "3 copies" in _row({"a": [*unknown, Copy("<m>", 160.0, True)], "b": one}).problems(300)[0]
    assert (
        "Message-IDs" in _row({"a": [Copy("<m>", 110.0, False), Copy("<n>", 150.0, True)], "b": one}).problems(300)[0]
    )
    # a known send that is sent again is an extra copy
    assert "2 copies" in _row({"a": [Copy("<m>", 110.0, True), Copy("<m>", 150.0, True)], "b": one}).problems(300)[0]
    late = _row({"a": one, "b": [Copy("<m>", 500.0, True)]}).problems(300)
    assert late == ["recovered 400s after the fault ended (target ≤ 300s)"]
