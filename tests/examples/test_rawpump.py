"""The callback pump of the reference server (``examples/mailserver/rawpump.py``).

Each test serves real loopback sockets with a :class:`RawListener` and the
small SMTP handler of ``test_pump.py``, on one event loop, and plays the
client with the loop's socket calls: what reaches the client, when the
session reads, when it is cut off.  The reference server's own SMTP
sessions on these sockets are tested end to end in ``test_e2e_clients.py``
and ``test_hostile_clients.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from mailproto import smtp
from mailserver import rawpump
from mailserver.pump import MAX_BUFFERED, Gate
from mailserver.rawpump import RawListener, RawSession, bind
from mailserver.tls import ensure_certificate, server_context
from tests.examples.test_pump import TRANSACTION, Session, count_idle_timers

BUSY = b"421 busy\r\n"


class SlowSession(Session):
    """Its delivery waits until the test sets :attr:`release`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.release = asyncio.Event()
        self.delivering = asyncio.Event()

    async def handle(self, event: object) -> None:
        if isinstance(event, smtp.EndOfData):
            self.awaited += 1
            self.delivering.set()
            await self.release.wait()
            self.delivered.append(b"".join(self._data))
            self._data = []
            self.conn.send(smtp.Reply(code=250, enhanced_status="2.0.0", lines="OK"))
            return
        await super().handle(event)


class TLSSession(Session):
    """Offers STARTTLS (``tls_requested`` as the SMTP session has it)."""

    def __init__(self) -> None:
        super().__init__()
        self.conn = smtp.ServerConnection(smtp.ServerConfig(hostname="mx.test", starttls=True))
        self.conn.send(smtp.Reply(code=220, lines="ESMTP test"))

    def tls_requested(self) -> bool:
        return self.conn.state is smtp.State.TLS_HANDSHAKE


class Server:
    """A RawListener on 127.0.0.1 and the sessions it made."""

    def __init__(
        self, listener: RawListener, gate: Gate, sessions: list[Session], port: int
    ) -> None:
        self.listener = listener
        self.gate = gate
        self.sessions = sessions
        self.port = port

    def raw(self) -> RawSession:
        """The one open raw session."""
        (link,) = self.gate.links
        assert isinstance(link, RawSession)
        return link


async def serve(
    make: Callable[[], Session] = Session,
    *,
    idle_timeout: float = 30.0,
    limit: int = 10,
    ssl_context: ssl.SSLContext | None = None,
) -> Server:
    sessions: list[Session] = []

    def factory(raw: RawSession) -> Session:
        session = make()
        sessions.append(session)
        return session

    socks = await bind("127.0.0.1", 0, backlog=16)
    gate = Gate(limit)
    listener = RawListener(
        socks, gate, factory, BUSY, ssl_context=ssl_context, idle_timeout=idle_timeout
    )
    return Server(listener, gate, sessions, socks[0].getsockname()[1])


async def connect(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return sock


async def send_message(server: Server) -> socket.socket:
    """A client that sent a whole message (EHLO, MAIL, RCPT, DATA, the data)."""
    sock = await connect(server.port)
    await recv_until(sock, b"\r\n")
    await send(sock, b"EHLO c.example\r\n" + TRANSACTION[0])
    await recv_until(sock, b"354 ")
    await send(sock, TRANSACTION[1])
    return sock


async def delivering(server: Server) -> tuple[socket.socket, SlowSession]:
    """:func:`send_message` to a :class:`SlowSession`, once it is delivering."""
    sock = await send_message(server)
    session = server.sessions[-1]
    assert isinstance(session, SlowSession)
    await asyncio.wait_for(session.delivering.wait(), 5)
    return sock, session


async def connect_small(server: Server) -> tuple[socket.socket, RawSession]:
    """A client and its session with 4 KiB kernel buffers on both sides, so
    that replies the client does not read pile up in the session itself."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setblocking(False)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    await loop.sock_connect(sock, ("127.0.0.1", server.port))
    await settle(lambda: len(server.gate.links) == 1)
    raw = server.raw()
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    return sock, raw


async def send(sock: socket.socket, data: bytes) -> None:
    await asyncio.get_running_loop().sock_sendall(sock, data)


async def recv_until(sock: socket.socket, marker: bytes, timeout: float = 5.0) -> bytes:
    """What arrives until *marker* (or the end of the connection)."""
    loop = asyncio.get_running_loop()
    data = b""
    while marker not in data:
        chunk = await asyncio.wait_for(loop.sock_recv(sock, 65536), timeout)
        if not chunk:
            break
        data += chunk
    return data


async def recv_all(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Everything until the server closes."""
    loop = asyncio.get_running_loop()
    data = b""
    while True:
        try:
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 65536), timeout)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


async def settle(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())  # type: ignore[arg-type]


def test_a_transaction_needs_the_task_for_the_delivery_only() -> None:
    async def main() -> None:
        server = await serve()
        sock = await connect(server.port)
        assert await recv_until(sock, b"\r\n") == b"220 mx.test ESMTP test\r\n"
        await send(sock, b"EHLO c.example\r\n")
        await recv_until(sock, b"250 ")
        await send(sock, TRANSACTION[0])  # RFC 2920: MAIL, RCPT, DATA together
        replies = await recv_until(sock, b"354 ")
        assert replies == (
            b"250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n"
            b"354 End data with <CR><LF>.<CR><LF>\r\n"
        )
        await send(sock, TRANSACTION[1] + b"QUIT\r\n")
        assert await recv_all(sock) == b"250 2.0.0 OK\r\n221 2.0.0 Bye\r\n"
        (session,) = server.sessions
        assert session.delivered == [b"Subject: t\r\n\r\nbody\r\n"]
        assert session.awaited == 1
        await settle(lambda: server.gate.open == 0 and not server.gate.links)
        sock.close()
        server.listener.close()

    run(main)


def test_input_during_a_delivery_waits_for_it_and_is_served_in_order() -> None:
    async def main() -> None:
        server = await serve(SlowSession)
        sock, session = await delivering(server)
        # A second transaction and QUIT while the first is delivered.
        await send(sock, TRANSACTION[0] + TRANSACTION[1] + b"QUIT\r\n")
        await settle(lambda: server.raw()._held_size > 0)
        session.release.set()
        out = await recv_all(sock)
        assert out.index(b"250 2.0.0 OK") < out.index(b"250 2.1.0 Sender OK")
        assert out.endswith(b"250 2.0.0 OK\r\n221 2.0.0 Bye\r\n")
        assert len(session.delivered) == 2
        sock.close()
        server.listener.close()

    run(main)


def test_input_held_during_a_delivery_is_bounded() -> None:
    async def main() -> None:
        server = await serve(SlowSession)
        sock, session = await delivering(server)
        raw = server.raw()
        # 4 MiB while the task is busy: the session stops reading once it
        # holds 64 KiB (plus what the last recv brought), and the kernel's
        # buffers fill.
        loop = asyncio.get_running_loop()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(loop.sock_sendall(sock, b"y" * (4 << 20)), 1.0)
        assert not raw._reading
        assert MAX_BUFFERED <= raw._held_size < MAX_BUFFERED + rawpump.RECV_SIZE
        session.release.set()
        # The held input is served (an over-long line: 500), reading resumes.
        await send(sock, b"\r\nQUIT\r\n")
        out = await recv_all(sock)
        assert b"250 2.0.0 OK\r\n" in out and out.endswith(b"221 2.0.0 Bye\r\n")
        sock.close()
        server.listener.close()

    run(main)


def test_a_silent_client_gets_the_timeout_words() -> None:
    async def main() -> None:
        server = await serve(idle_timeout=0.2)
        sock = await connect(server.port)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        out = await recv_all(sock)
        assert 0.15 <= loop.time() - t0 < 2
        assert out == b"220 mx.test ESMTP test\r\n421 timeout\r\n"
        assert server.gate.open == 0
        sock.close()
        server.listener.close()

    run(main)


def test_activity_moves_the_deadline_with_one_timer() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        timers = count_idle_timers(loop)
        server = await serve(idle_timeout=0.3)
        sock = await connect(server.port)
        await recv_until(sock, b"\r\n")
        t0 = loop.time()
        for _ in range(9):  # 0.9 s: three timeouts' worth, never idle
            await asyncio.sleep(0.1)
            await send(sock, b"NOOP\r\n")
            assert (await recv_until(sock, b"\r\n")).startswith(b"250")
        assert await recv_all(sock) == b"421 timeout\r\n"
        assert loop.time() - t0 >= 0.9 + 0.25
        assert 1 <= len(timers) <= 6
        sock.close()
        server.listener.close()

    run(main)


def test_a_delivery_is_not_the_clients_silence() -> None:
    async def main() -> None:
        server = await serve(SlowSession, idle_timeout=0.2)
        sock = await send_message(server)
        (session,) = server.sessions
        assert isinstance(session, SlowSession)
        await asyncio.sleep(0.6)  # three timeouts while "fsyncing"
        assert not server.raw().closed
        session.release.set()
        assert await recv_until(sock, b"\r\n") == b"250 2.0.0 OK\r\n"
        assert await recv_all(sock) == b"421 timeout\r\n"  # idle after it
        sock.close()
        server.listener.close()

    run(main)


def test_a_peer_that_reads_nothing_stops_being_read_and_is_cut_off() -> None:
    async def main() -> None:
        server = await serve(idle_timeout=1.0)  # (a loaded machine stalls the test's loop)
        loop = asyncio.get_running_loop()
        sock, raw = await connect_small(server)
        # 1.2 MB of NOOPs whose replies are never read: once the session's
        # output passes 64 KiB it stops reading commands, so what it holds
        # stays near that (plus the replies to one recv), not 1.6 MB.
        sending = loop.create_task(loop.sock_sendall(sock, b"NOOP\r\n" * 200_000))
        most = 0
        t0 = loop.time()
        while not raw.closed:
            assert loop.time() - t0 < 10, "not cut off"
            most = max(most, len(raw._out))
            await asyncio.sleep(0.002)
        sending.cancel()
        assert MAX_BUFFERED < most < MAX_BUFFERED + rawpump.RECV_SIZE // 6 * 8
        assert raw.stalled
        assert server.gate.open == 0
        sock.close()
        server.listener.close()

    run(main)


def test_a_slow_reader_is_not_cut_off() -> None:
    # The client runs in threads, beside the server's loop: a stall of that
    # loop (a loaded machine) then delays the server's timer and its write
    # alike, and the write, an I/O event, runs first when the loop resumes.
    async def main() -> None:
        server = await serve(idle_timeout=0.5)
        loop = asyncio.get_running_loop()
        sock, raw = await connect_small(server)
        sock.setblocking(True)
        sock.settimeout(5)
        count = 30_000  # 240 KB of replies (no EHLO: no enhanced codes)
        expected = len(b"220 mx.test ESMTP test\r\n") + count * len(b"250 OK\r\n")

        def read_slowly() -> tuple[int, float]:
            got = 0
            waited = 0.0  # time the session had replies waiting for this reader
            while got < expected:
                if raw._out:
                    # A few KB every 50 ms while the session waits on us (once
                    # all is in the kernel, it waits for input: read it quickly).
                    time.sleep(0.05)
                    waited += 0.05
                chunk = sock.recv(65536)
                if not chunk:
                    break  # cut off
                got += len(chunk)
            return got, waited

        sending = loop.run_in_executor(None, sock.sendall, b"NOOP\r\n" * count)
        got, waited = await loop.run_in_executor(None, read_slowly)
        await sending
        assert got == expected, f"cut off after {got} of {expected} octets"
        assert waited > 0.75  # one and a half idle timeouts and more
        assert not raw.stalled
        sock.setblocking(False)
        await send(sock, b"QUIT\r\n")
        assert await recv_all(sock) == b"221 Bye\r\n"
        sock.close()
        server.listener.close()

    run(main)


def test_the_end_of_input_ends_the_session_once() -> None:
    # A closed connection repeats ConnectionClosed: the pump once looped
    # on it for ever (found by test_hostile_clients' long line then close).
    async def main() -> None:
        server = await serve()
        sock = await connect(server.port)
        await recv_until(sock, b"\r\n")
        await send(sock, b"EHLO " + b"x" * 100_000 + b"\r\n")
        assert (await recv_until(sock, b"\r\n")).startswith(b"500")
        sock.close()
        await settle(lambda: server.gate.open == 0)
        other = await connect(server.port)
        assert await recv_until(other, b"\r\n") == b"220 mx.test ESMTP test\r\n"
        other.close()
        server.listener.close()

    run(main)


def test_the_end_of_input_during_a_delivery() -> None:
    async def main() -> None:
        server = await serve(SlowSession)
        sock, session = await delivering(server)
        sock.shutdown(socket.SHUT_WR)
        await settle(lambda: server.raw()._held_eof)
        session.release.set()
        assert await recv_all(sock) == b"250 2.0.0 OK\r\n"
        assert session.delivered and session.closed()
        await settle(lambda: server.gate.open == 0)
        sock.close()
        server.listener.close()

    run(main)


def test_shutdown_refuses_a_waiting_session_and_lets_a_delivery_finish() -> None:
    async def main() -> None:
        server = await serve(SlowSession)
        idle = await connect(server.port)
        await recv_until(idle, b"\r\n")
        busy, session = await delivering(server)
        server.listener.close()
        server.gate.stop_all()
        assert await recv_all(idle) == b"421 shutdown\r\n"
        assert len(server.gate.tasks) == 1  # shutdown waits for the delivery
        session.release.set()
        assert await recv_all(busy) == b"250 2.0.0 OK\r\n421 shutdown\r\n"
        await settle(lambda: server.gate.open == 0 and not server.gate.tasks)
        idle.close()
        busy.close()

    run(main)


def test_a_protocol_error_gets_the_error_words() -> None:
    async def main() -> None:
        server = await serve(lambda: Session(bad_reply=True))
        sock = await connect(server.port)
        await recv_until(sock, b"\r\n")
        await send(sock, b"EHLO c.example\r\n" + TRANSACTION[0])
        out = await recv_all(sock)
        assert out.endswith(b"421 error\r\n") and b"354" not in out
        server.listener.close()

    run(main)


def test_a_handler_failure_ends_that_session_only(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        server = await serve(lambda: Session(fail_on=smtp.RcptTo))
        sock = await connect(server.port)
        await recv_until(sock, b"\r\n")
        await send(sock, b"EHLO c.example\r\n" + TRANSACTION[0])
        out = await recv_all(sock)
        assert b"Recipient OK" not in out
        assert server.gate.open == 0
        other = await connect(server.port)
        assert (await recv_until(other, b"\r\n")).startswith(b"220")
        other.close()
        server.listener.close()

    run(main)
    assert "session from 127.0.0.1 failed" in caplog.text


class BrokenDelivery(Session):
    """Its delivery raises (a bug in the handler's awaited part)."""

    async def handle(self, event: object) -> None:
        if isinstance(event, smtp.EndOfData):
            raise RuntimeError("bug in the delivery")
        await super().handle(event)


def test_a_failure_in_the_task_ends_that_session_only(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        server = await serve(BrokenDelivery)
        sock = await send_message(server)
        # No 250 for a message that was not stored: the connection drops.
        assert b"250 2.0.0 OK" not in await recv_all(sock)
        await settle(lambda: server.gate.open == 0 and not server.gate.tasks)
        other = await connect(server.port)
        assert (await recv_until(other, b"\r\n")).startswith(b"220")
        other.close()
        sock.close()
        server.listener.close()

    run(main)
    assert "bug in the delivery" in caplog.text


def test_beyond_the_limit_a_client_is_refused() -> None:
    async def main() -> None:
        server = await serve(limit=2)
        socks = [await connect(server.port) for _ in range(3)]
        assert (await recv_until(socks[0], b"\r\n")).startswith(b"220")
        assert (await recv_until(socks[1], b"\r\n")).startswith(b"220")
        assert await recv_all(socks[2]) == BUSY
        socks[0].close()
        await settle(lambda: server.gate.open == 1)
        again = await connect(server.port)
        assert (await recv_until(again, b"\r\n")).startswith(b"220")
        for s in (*socks, again):
            s.close()
        server.listener.close()

    run(main)


def test_ipv6_loopback_and_the_peer_address() -> None:
    async def main() -> None:
        peers: list[str] = []

        def factory(raw: RawSession) -> Session:
            peers.append(raw.peer_ip)
            return Session()

        (listener_sock,) = await bind("::1", 0, backlog=4)
        assert listener_sock.family == socket.AF_INET6
        # IPv6-only, as create_server makes it: 127.0.0.1 is another socket.
        assert listener_sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
        gate = Gate(4)
        listener = RawListener(
            [listener_sock], gate, factory, BUSY, ssl_context=None, idle_timeout=30.0
        )
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET6)
        sock.setblocking(False)
        await loop.sock_connect(sock, ("::1", listener_sock.getsockname()[1]))
        assert (await recv_until(sock, b"\r\n")).startswith(b"220")
        await send(sock, b"QUIT\r\n")
        assert (await recv_all(sock)).startswith(b"221")
        assert peers == ["::1"]
        sock.close()
        listener.close()
        assert listener_sock.fileno() == -1

    run(main)


def test_a_port_in_use_is_an_oserror_with_its_errno() -> None:
    async def main() -> None:
        (taken,) = await bind("127.0.0.1", 0, backlog=4)
        with pytest.raises(OSError) as caught:
            await bind("127.0.0.1", taken.getsockname()[1], backlog=4)
        assert caught.value.errno == errno.EADDRINUSE
        taken.close()

    run(main)


class _FailingListener:
    """A listening socket whose accept() fails with EMFILE once."""

    def __init__(self, real: socket.socket) -> None:
        self.real = real
        self.failed = False

    def fileno(self) -> int:
        return self.real.fileno()

    def accept(self) -> tuple[socket.socket, Any]:
        if not self.failed:
            self.failed = True
            raise OSError(errno.EMFILE, "Too many open files")
        return self.real.accept()


def test_out_of_descriptors_pauses_accepting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rawpump, "ACCEPT_RETRY_DELAY", 0.2)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await serve()
        real = server.listener.sockets[0]
        loop.remove_reader(real.fileno())
        failing = _FailingListener(real)
        accept: Any = server.listener._on_accept  # (it takes a socket: this fails once)
        loop.add_reader(real.fileno(), accept, failing)
        t0 = loop.time()
        sock = await connect(server.port)
        # Not a busy loop on the ready listener: one failure, a pause, then
        # the client waiting in the backlog is served.
        assert (await recv_until(sock, b"\r\n")).startswith(b"220")
        assert failing.failed and loop.time() - t0 >= 0.15
        sock.close()
        server.listener.close()

    run(main)


def test_starttls_drops_what_was_pipelined_after_it(tmp_path: Path) -> None:
    cert, key = ensure_certificate(tmp_path, "mx.test")
    context = server_context(cert, key)
    client_context = ssl.create_default_context()
    client_context.check_hostname = False
    client_context.verify_mode = ssl.CERT_NONE

    async def main() -> None:
        server = await serve(TLSSession, ssl_context=context)
        sock = await connect(server.port)
        await recv_until(sock, b"\r\n")
        await send(sock, b"EHLO c.example\r\n")
        assert b"STARTTLS" in await recv_until(sock, b"250 ")
        # RFC 3207 §4.2: the RSET sent in the clear with STARTTLS must not
        # be taken as a command sent over TLS.
        await send(sock, b"STARTTLS\r\nRSET\r\n")
        assert (await recv_until(sock, b"\r\n")).startswith(b"220")
        sock.setblocking(True)

        def client() -> bytes:
            with client_context.wrap_socket(sock, server_hostname="mx.test") as tls:
                tls.settimeout(5)
                tls.sendall(b"EHLO c.example\r\n")
                data = b""
                while b"250 " not in data:
                    data += tls.recv(4096)
                tls.sendall(b"QUIT\r\n")
                while b"221 " not in data:
                    data += tls.recv(4096)
                return data

        out = await asyncio.get_running_loop().run_in_executor(None, client)
        assert b"250" in out and out.endswith(b"221 2.0.0 Bye\r\n")
        assert not out.startswith(b"250 2.0.0 OK")  # no answer to the injected RSET
        (session,) = server.sessions
        assert session.conn.tls_active
        assert session.conn.discarded_after_starttls == len(b"RSET\r\n")
        await settle(lambda: server.gate.open == 0 and not server.gate.tasks)
        server.listener.close()

    run(main)


def test_a_failed_handshake_gives_the_place_back(tmp_path: Path) -> None:
    cert, key = ensure_certificate(tmp_path, "mx.test")

    async def main() -> None:
        server = await serve(TLSSession, ssl_context=server_context(cert, key))
        sock = await connect(server.port)
        await recv_until(sock, b"\r\n")
        await send(sock, b"EHLO c.example\r\nSTARTTLS\r\n")
        await recv_until(sock, b"220 ")
        await send(sock, b"this is not a TLS handshake\r\n" * 10)
        await recv_all(sock)
        await settle(lambda: server.gate.open == 0 and not server.gate.tasks)
        sock.close()
        server.listener.close()

    run(main)
