"""The asyncio pump of the reference server (``examples/mailserver/pump.py``).

Driven over an in-memory transport that records every write, with the real
:class:`mailproto.smtp.ServerConnection` and a small handler, so the tests
see what reaches the socket, in how many writes, and when the idle timer
closes a session.  The SMTP session itself is tested end to end in
``test_e2e_clients.py`` and ``test_hostile_clients.py``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mailproto import smtp
from mailproto.errors import ProtocolError
from mailproto.smtp import replies
from mailserver.pump import Link, Pump

GREETING = smtp.Reply(code=220, lines="ESMTP test")


class FakeTransport(asyncio.Transport):
    """Records writes; reading can be paused; close() reports connection_lost."""

    def __init__(self, link: Link) -> None:
        super().__init__()
        self.link = link
        self.writes: list[bytes] = []
        self.closed = False
        self.reading_paused = False
        #: What get_write_buffer_size() says (a test moves it).
        self.buffered = 0
        self.aborted = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            asyncio.get_running_loop().call_soon(self.link.connection_lost, None)

    def abort(self) -> None:
        self.aborted = True
        self.close()

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def pause_reading(self) -> None:
        self.reading_paused = True

    def resume_reading(self) -> None:
        self.reading_paused = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    @property
    def output(self) -> bytes:
        return b"".join(self.writes)


class Session:
    """A minimal SMTP policy: accepts everything; the delivery awaits."""

    def __init__(
        self, *, with_handle_now: bool = True, fail_on: type | None = None, bad_reply: bool = False
    ) -> None:
        self.conn = smtp.ServerConnection(smtp.ServerConfig(hostname="mx.test"))
        self.conn.send(GREETING)
        self.delivered: list[bytes] = []
        self._data: list[bytes] = []
        self._closed = False
        self.awaited = 0  # events that went through the session task
        self.fail_on = fail_on
        self.bad_reply = bad_reply
        self.with_handle_now = with_handle_now
        if not with_handle_now:
            self.handle_now = None  # type: ignore[assignment,method-assign]

    def closed(self) -> bool:
        return self._closed or self.conn.state is smtp.State.CLOSED

    def tls_requested(self) -> bool:
        return False

    async def on_notify(self) -> None:
        return None

    def on_timeout(self) -> bytes:
        return b"421 timeout\r\n"

    def on_error(self, exc: ProtocolError) -> bytes:
        return b"421 error\r\n"

    def on_shutdown(self) -> bytes:
        return b"421 shutdown\r\n"

    def handle_now(self, event: object) -> bool:
        if self.fail_on is not None and isinstance(event, self.fail_on):
            raise OSError("disk full")
        if isinstance(event, smtp.EndOfData):
            return False
        if isinstance(event, (smtp.Ehlo, smtp.Helo)):
            self.conn.send(smtp.Reply(code=250, lines="Hello"))
        elif isinstance(event, smtp.MailFrom):
            # A policy bug (a 354 to MAIL) raises LocalProtocolError here.
            self.conn.send(replies.START_MAIL_INPUT if self.bad_reply else replies.SENDER_OK)
        elif isinstance(event, smtp.RcptTo):
            self.conn.send(replies.RECIPIENT_OK)
        elif isinstance(event, smtp.DataChunk):
            self._data.append(event.data)
        elif isinstance(event, smtp.ConnectionClosed):
            self._closed = True
        return True

    async def handle(self, event: object) -> None:
        self.awaited += 1
        if self.with_handle_now and self.handle_now(event):
            return
        if isinstance(event, smtp.EndOfData):
            await asyncio.sleep(0.01)  # the "fsync"
            self.delivered.append(b"".join(self._data))
            self._data = []
            self.conn.send(replies.OK)
        else:
            Session.handle_now(self, event)


async def start(
    session: Session, idle_timeout: float = 30.0
) -> tuple[Link, FakeTransport, asyncio.Task[None]]:
    link = Link()
    transport = FakeTransport(link)
    link.connection_made(transport)
    pump = Pump(link, session.conn, session, ssl_context=None, idle_timeout=idle_timeout)
    task = asyncio.get_running_loop().create_task(pump.run())
    await settle()
    return link, transport, task


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def count_idle_timers(loop: asyncio.AbstractEventLoop) -> list[float]:
    """Make *loop* record when each idle timer (an ``_on_timer`` callback,
    the link's or the raw session's) is set to fire; the list it fills."""
    timers: list[float] = []
    call_at = loop.call_at

    def counting_call_at(
        when: float, callback: Any, *args: Any, **kwargs: Any
    ) -> asyncio.TimerHandle:
        if getattr(callback, "__name__", "") == "_on_timer":
            timers.append(when)
        return call_at(when, callback, *args, **kwargs)

    loop.call_at = counting_call_at  # type: ignore[method-assign,assignment]
    return timers


TRANSACTION = (
    b"MAIL FROM:<a@x.example>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\n",
    b"Subject: t\r\n\r\nbody\r\n.\r\n",
)


async def start_in_data(session: Session) -> tuple[Link, FakeTransport, asyncio.Task[None]]:
    """:func:`start`, then EHLO and the commands of a transaction: the client sends data next."""
    link, transport, task = await start(session)
    link.data_received(b"EHLO c.example\r\n")
    await settle()
    link.data_received(TRANSACTION[0])
    await settle()
    return link, transport, task


async def start_unread(session: Session) -> tuple[Link, FakeTransport, asyncio.Task[None]]:
    """:func:`start` with a 0.2 s idle timeout, then a command whose large
    answer the peer does not read (5 MB buffered, writing paused)."""
    link, transport, task = await start(session, idle_timeout=0.2)
    transport.buffered = 5_000_000
    link.pause_writing()
    link.data_received(b"NOOP\r\n")
    return link, transport, task


def test_pipelined_commands_are_answered_in_one_write() -> None:
    async def main() -> None:
        session = Session()
        link, transport, task = await start(session)
        assert transport.writes == [b"220 mx.test ESMTP test\r\n"]
        link.data_received(b"EHLO c.example\r\n")
        await settle()
        assert len(transport.writes) == 2
        link.data_received(TRANSACTION[0])  # RFC 2920: MAIL, RCPT, DATA together
        await settle()
        assert transport.writes[2:] == [
            b"250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n"
            b"354 End data with <CR><LF>.<CR><LF>\r\n"
        ]
        link.data_received(TRANSACTION[1])
        await asyncio.sleep(0.05)
        assert transport.writes[-1] == b"250 2.0.0 OK\r\n"
        assert session.delivered == [b"Subject: t\r\n\r\nbody\r\n"]
        # Only the delivery needed the session task.
        assert session.awaited == 1
        link.data_received(b"QUIT\r\n")
        await asyncio.wait_for(task, 5)
        assert transport.writes[-1] == b"221 2.0.0 Bye\r\n"
        assert transport.closed

    asyncio.run(main())


def test_without_handle_now_every_event_goes_through_the_task() -> None:
    async def main() -> None:
        session = Session(with_handle_now=False)
        link, transport, task = await start(session)
        for data in (b"EHLO c.example\r\n", *TRANSACTION, b"QUIT\r\n"):
            link.data_received(data)
            await asyncio.sleep(0.05)
        await asyncio.wait_for(task, 5)
        assert session.delivered == [b"Subject: t\r\n\r\nbody\r\n"]
        assert session.awaited >= 5  # EHLO, MAIL, RCPT, DATA chunk(s), end...
        out = transport.output
        assert out.count(b"\r\n250 ") + out.startswith(b"250 ") >= 3
        assert out.endswith(b"221 2.0.0 Bye\r\n")

    asyncio.run(main())


def test_a_silent_client_is_closed_after_the_idle_timeout() -> None:
    async def main() -> None:
        session = Session()
        _, transport, task = await start(session, idle_timeout=0.2)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await asyncio.wait_for(task, 5)
        assert 0.15 <= loop.time() - t0 < 2
        assert transport.writes[-1] == b"421 timeout\r\n"
        assert transport.closed

    asyncio.run(main())


def test_activity_moves_the_deadline_with_one_timer() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        timers = count_idle_timers(loop)
        session = Session()
        link, transport, task = await start(session, idle_timeout=0.3)
        link.data_received(b"EHLO c.example\r\n")
        t0 = loop.time()
        # A NOOP every 0.1 s for 0.9 s: three timeouts' worth, never idle.
        for _ in range(9):
            await asyncio.sleep(0.1)
            assert not task.done()
            link.data_received(b"NOOP\r\n")
        assert transport.output.count(b"250 2.0.0 OK\r\n") == 9
        await asyncio.wait_for(task, 5)
        elapsed = loop.time() - t0
        assert elapsed >= 0.9 + 0.25
        assert transport.writes[-1] == b"421 timeout\r\n"
        # Not a timer per command: re-armed at most once per timeout period.
        assert 1 <= len(timers) <= 6

    asyncio.run(main())


def test_shutdown_refuses_a_waiting_session() -> None:
    async def main() -> None:
        session = Session()
        link, transport, task = await start(session)
        link.stop()
        await asyncio.wait_for(task, 5)
        assert transport.writes[-1] == b"421 shutdown\r\n"
        # Data after the stop is not served.
        assert transport.closed

    asyncio.run(main())


def test_protocol_error_in_the_callback_reaches_the_task() -> None:
    async def main() -> None:
        session = Session(bad_reply=True)
        link, transport, task = await start(session)
        link.data_received(b"EHLO c.example\r\n")
        await settle()
        link.data_received(TRANSACTION[0])
        await asyncio.wait_for(task, 5)
        assert transport.writes[-1] == b"421 error\r\n"
        assert b"354" not in transport.output
        assert transport.closed

    asyncio.run(main())


def test_a_handler_failure_in_the_callback_ends_the_session() -> None:
    async def main() -> None:
        session = Session(fail_on=smtp.RcptTo)
        link, transport, task = await start(session)
        link.data_received(b"EHLO c.example\r\n")
        await settle()
        link.data_received(TRANSACTION[0])
        await asyncio.wait_for(task, 5)  # OSError: the session ends quietly
        assert transport.closed
        assert b"Recipient OK" not in transport.output

    asyncio.run(main())


def test_input_during_a_delivery_waits_for_the_task() -> None:
    async def main() -> None:
        session = Session()
        link, transport, task = await start_in_data(session)
        # The end of data and the next transaction arrive while the task
        # delivers: they are buffered, answered in order after the 250.
        link.data_received(TRANSACTION[1])
        await asyncio.sleep(0)
        link.data_received(TRANSACTION[0] + TRANSACTION[1] + b"QUIT\r\n")
        await asyncio.wait_for(task, 5)
        assert len(session.delivered) == 2
        out = transport.output
        tail = out[out.index(b"354") :]
        assert tail.index(b"250 2.0.0 OK") < tail.index(b"250 2.1.0 Sender OK")
        assert out.endswith(b"250 2.0.0 OK\r\n221 2.0.0 Bye\r\n")

    asyncio.run(main())


def test_buffered_input_is_bounded() -> None:
    async def main() -> None:
        session = Session()
        link, transport, task = await start_in_data(session)
        link.data_received(b"x" * 10 + b"\r\n.\r\n")  # delivery starts
        await asyncio.sleep(0)
        for _ in range(40):
            link.data_received(b"y" * 8192)  # 320 KiB while the task is busy
        assert transport.reading_paused
        await asyncio.sleep(0.05)
        assert transport.writes[-1] == b"250 2.0.0 OK\r\n"
        # Taken by the task (an over-long command line: skipped), reading resumed.
        assert getattr(transport, "reading_paused") is False  # noqa: B009 (mypy narrowing)
        link.data_received(b"\r\nQUIT\r\n")
        await asyncio.wait_for(task, 5)
        assert transport.closed

    asyncio.run(main())


def test_reading_pauses_at_64_kib_of_unprocessed_input() -> None:
    # What a peer can make a busy session hold, times max_connections per
    # listener: 64 KiB (it was 256 KiB).
    async def main() -> None:
        session = Session()
        link, transport, task = await start_in_data(session)
        link.data_received(b"x" * 10 + b"\r\n.\r\n")  # delivery starts: the task is busy
        await asyncio.sleep(0)
        for _ in range(7):
            link.data_received(b"y" * 8192)  # 56 KiB: still reading
        assert not transport.reading_paused
        link.data_received(b"y" * 8192)  # 64 KiB
        assert getattr(transport, "reading_paused") is True  # noqa: B009 (mypy narrowing)
        await asyncio.sleep(0.05)
        assert getattr(transport, "reading_paused") is False  # noqa: B009 (taken, resumed)
        link.data_received(b"\r\nQUIT\r\n")
        await asyncio.wait_for(task, 5)
        assert transport.closed

    asyncio.run(main())


def test_waiting_to_write_is_not_idleness() -> None:
    async def main() -> None:
        link = Link()
        transport = FakeTransport(link)
        link.connection_made(transport)
        link.idle_timeout = 0.1
        loop = asyncio.get_running_loop()
        loop.call_later(0.02, link.data_received, b"NOOP\r\n")
        await link.wait()  # arms the idle timer
        assert link.take() == b"NOOP\r\n"
        link.pause_writing()  # the client reads slowly
        transport.buffered = 1_000_000
        writer = loop.create_task(link.write(b"x" * 100))
        for _ in range(6):  # 0.3 s, three idle timeouts, reading all along
            await asyncio.sleep(0.05)
            transport.buffered -= 10_000
        assert not writer.done() and not transport.aborted
        link.resume_writing()
        await asyncio.wait_for(writer, 1)
        assert not link.timed_out and not link.stalled
        # ... but a wait for input afterwards does time out.
        await asyncio.wait_for(link.wait(), 1)
        assert link.timed_out

    asyncio.run(main())


def test_a_peer_that_stops_reading_is_cut_off_after_the_idle_timeout() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        link, transport, task = await start_unread(Session())  # never read
        await asyncio.wait_for(task, 5)  # the session ends
        assert 0.15 <= loop.time() - t0 < 2
        assert transport.aborted and link.stalled

    asyncio.run(main())
