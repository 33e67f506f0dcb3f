"""Clients that ask for a large response and never read it.

While the server writes, no idle timer runs (a slow reader is not idle), so
before, a client that sent RETR or FETCH for a large message and then read
nothing held its session — a POP3 maildrop lock, a listener slot, the
response's memory — for as long as it kept the connection open.  Now a
peer that reads nothing for the protocol's idle timeout is cut off
(``Link.drain``), its session ends and what it held is released.  The
timeouts are shortened to a second here; the client's receive buffer is
made small so that the server's kernel buffer fills quickly.
"""

from __future__ import annotations

import logging
import poplib
import smtplib
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from mailserver.cli import EVENT_LOOPS
from tests.examples.test_e2e_support import (
    PASSWORDS,
    A,
    ServerThread,
    demo_config,
    recv_until,
    wait_for,
)

PEPE = "pepe@iesfbmoll.example"
#: Larger than the kernel's socket buffers on both sides (tcp_wmem's 4 MiB).
BIG = 12 * 1024 * 1024
TIMEOUT = 1.0


@pytest.fixture(scope="module", params=EVENT_LOOPS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerThread]:
    text, _ = demo_config()
    with ServerThread(text, tmp_path_factory.mktemp("readers"), event_loop=request.param) as s:
        assert s.server is not None
        site = s.server.sites[A]
        # Site is frozen (sessions share it); the timeouts are read when a
        # session starts (POP3) or logs in (IMAP), so this shortens them for
        # every session of this module.
        object.__setattr__(site, "pop3_timeout", TIMEOUT)
        object.__setattr__(site, "imap_timeout", TIMEOUT)
        body = b"".join(b"line %08d of a large message\r\n" % i for i in range(BIG // 32))
        with smtplib.SMTP("127.0.0.1", s.port(A, "smtp"), timeout=30) as c:
            c.sendmail("x@example.org", [PEPE], b"Subject: big\r\n\r\n" + body)
        yield s


def _stingy_socket(port: int) -> socket.socket:
    """A connection whose receive buffer is as small as the kernel allows."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(20)
    s.connect(("127.0.0.1", port))
    return s


@pytest.fixture
def cut_offs(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], int]]:
    """How many connections the server has cut off so far (it logs each)."""
    caplog.set_level(logging.INFO, logger="mailserver.pump")
    yield lambda: caplog.text.count(": cut off")


def _cut_off(s: socket.socket, within: float) -> bool:
    """True when the server closes *s* within *within* seconds (we read only now)."""
    deadline = time.monotonic() + within
    s.settimeout(within)
    try:
        while time.monotonic() < deadline:
            # The server aborted: the data it had not sent is gone, and what
            # the kernel still holds for us ends in a reset or an EOF.
            if not s.recv(1 << 20):
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return False


def _stall_a_fetch(
    server: ServerThread, cut_offs: Callable[[], int], user: str, command: bytes
) -> None:
    """Log in as *user*, SELECT INBOX, send *command* (a FETCH), read nothing of
    its answer, and check that the server cuts the connection off."""
    before = cut_offs()
    s = _stingy_socket(server.port(A, "imap"))
    try:
        recv_until(s, b"\r\n")
        s.sendall(f'l LOGIN {user} "{PASSWORDS[user]}"\r\ns SELECT INBOX\r\n'.encode())
        recv_until(s, b"s OK")
        s.sendall(command)
        assert wait_for(lambda: cut_offs() > before, 30)
        assert _cut_off(s, 5)
    finally:
        s.close()


def test_pop3_retr_never_read_is_cut_off_and_the_maildrop_is_free(
    server: ServerThread, cut_offs: Callable[[], int]
) -> None:
    before = cut_offs()
    s = _stingy_socket(server.port(A, "pop3"))
    try:
        recv_until(s, b"\r\n")
        s.sendall(f"USER {PEPE}\r\n".encode())
        assert recv_until(s, b"\r\n").startswith(b"+OK")
        s.sendall(f"PASS {PASSWORDS[PEPE]}\r\n".encode())
        assert recv_until(s, b"\r\n").startswith(b"+OK")  # the maildrop is locked
        s.sendall(b"RETR 1\r\n")
        # Read nothing meanwhile (reading would be progress).
        assert wait_for(lambda: cut_offs() > before, 30)
        # The lock of the stalled session is released: a new one logs in.
        p = poplib.POP3("127.0.0.1", server.port(A, "pop3"), timeout=10)
        try:
            p.user(PEPE)
            assert p.pass_(PASSWORDS[PEPE]).startswith(b"+OK")
            assert p.stat()[0] >= 1
        finally:
            p.quit()
        assert _cut_off(s, 5)
    finally:
        s.close()


def test_imap_fetch_never_read_is_cut_off(
    server: ServerThread, cut_offs: Callable[[], int]
) -> None:
    _stall_a_fetch(server, cut_offs, PEPE, b"f FETCH 1 BODY.PEEK[]\r\n")
    # And the server serves the next client.
    t = socket.create_connection(("127.0.0.1", server.port(A, "imap")), timeout=10)
    try:
        assert recv_until(t, b"\r\n").startswith(b"* OK")
    finally:
        t.close()


def test_pop3_retr_streams_the_message_from_its_file(server: ServerThread) -> None:
    """A RETR holds a piece of the message at a time, not all of it (twice over,
    as the whole file and then the dot-stuffed answer, before)."""
    import hashlib
    import tracemalloc

    [stored] = [m for m in server.messages(A, PEPE) if b"Subject: big" in m]
    s = socket.create_connection(("127.0.0.1", server.port(A, "pop3")), timeout=20)
    try:
        recv_until(s, b"\r\n")
        s.sendall(f"USER {PEPE}\r\n".encode())
        assert recv_until(s, b"\r\n").startswith(b"+OK")
        s.sendall(f"PASS {PASSWORDS[PEPE]}\r\n".encode())
        assert recv_until(s, b"\r\n").startswith(b"+OK")
        digest, tail, size = hashlib.sha256(), b"", 0
        tracemalloc.start()
        try:
            s.sendall(b"RETR 1\r\n")
            first = recv_until(s, b"\r\n")
            assert first.startswith(b"+OK")
            pending = first.split(b"\r\n", 1)[1]
            while True:
                data = tail + pending
                if data.endswith(b"\r\n.\r\n"):
                    data = data[:-3]  # the terminator (no line of this message starts with ".")
                    digest.update(data)
                    size += len(data)
                    break
                # Keep the last octets back: the terminator may span two reads.
                tail, ready = data[-4:], data[:-4]
                digest.update(ready)
                size += len(ready)
                pending = s.recv(65536)
                assert pending, "closed before the terminator"
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        s.sendall(b"QUIT\r\n")
    finally:
        s.close()
    assert size == len(stored) and digest.digest() == hashlib.sha256(stored).digest()
    # 12 MiB went by; the server (and this client) held a few pieces at most.
    assert peak < 4 * 1024 * 1024, peak


def test_imap_fetch_of_several_large_messages_holds_one_at_a_time(server: ServerThread) -> None:
    """FETCH writes each large message before it reads the next (it collected
    sixteen messages' answers before writing any, whatever their size)."""
    import tracemalloc

    ana, size = "ana@iesfbmoll.example", 4 * 1024 * 1024
    body = b"".join(b"row %08d of four mebibytes\r\n" % i for i in range(size // 29))
    with smtplib.SMTP("127.0.0.1", server.port(A, "smtp"), timeout=30) as c:
        for i in range(3):
            c.sendmail("x@example.org", [ana], b"Subject: four %d\r\n\r\n" % i + body)
    s = socket.create_connection(("127.0.0.1", server.port(A, "imap")), timeout=30)
    try:
        recv_until(s, b"\r\n")
        s.sendall(f'l LOGIN {ana} "{PASSWORDS[ana]}"\r\ns SELECT INBOX\r\n'.encode())
        recv_until(s, b"s OK")
        received, tail = 0, b""
        tracemalloc.start()
        try:
            s.sendall(b"f FETCH 1:* BODY.PEEK[]\r\n")
            while b"f OK" not in tail:
                data = s.recv(1 << 20)
                assert data, "closed"
                received += len(data)
                tail = (tail + data)[-64:]
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    finally:
        s.close()
    assert received > 3 * size
    # The server held about one message at a time — its file, its answer and
    # the transport's copy of what the kernel has not taken yet — where it
    # held all three (about 30 MB here) before; the client, a megabyte.
    assert peak < 5 * size, peak


def test_a_fetch_cut_off_stops_reading_messages(
    server: ServerThread, monkeypatch: pytest.MonkeyPatch, cut_offs: Callable[[], int]
) -> None:
    """Once the stalled reader is cut off, the FETCH stops instead of reading
    (and discarding) every remaining message of its range."""
    from mailserver.imap_service import IMAPSession

    user = "ana@iesfbmoll.example"
    body = b"".join(b"filler %08d of a mebibyte\r\n" % i for i in range((1 << 20) // 27))
    with smtplib.SMTP("127.0.0.1", server.port(A, "smtp"), timeout=30) as c:
        for i in range(12):
            c.sendmail("x@example.org", [user], b"Subject: mib %d\r\n\r\n" % i + body)
    total = len(server.messages(A, user))
    calls: list[int] = []
    real = IMAPSession._fetch_one

    def counted(self: IMAPSession, *args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(IMAPSession, "_fetch_one", counted)
    _stall_a_fetch(server, cut_offs, user, b"f FETCH 1:* BODY.PEEK[]\r\n")
    assert 0 < len(calls) < total, (len(calls), total)
