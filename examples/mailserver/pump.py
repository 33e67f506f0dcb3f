"""The asyncio pump: one loop that drives any mailproto connection.

Every mailproto connection — SMTP, POP3, IMAP; here always the server side —
has the same four methods (DESIGN.md)::

    conn.receive_data(data)   # b"" = the peer closed
    conn.next_event()         # an event, NEED_DATA or PAUSED
    conn.data_to_send()       # bytes to write
    conn.start_tls_done()     # after the STARTTLS/STLS handshake

so one small loop (:meth:`Pump.run`) serves all three protocols.  The
protocol-specific part is a :class:`Handler`: it answers each event (usually
by ``conn.send(...)``) and tells the pump when the connection is closed or
waits for a TLS handshake.

Why a hand-written :class:`asyncio.Protocol` (:class:`Link`) rather than a
``StreamReader``: at STARTTLS every byte that arrived in plaintext after the
command must be dropped (RFC 3207 §4.2, RFC 2595 §4, RFC 9051 §11.1 — the
"STARTTLS command injection" of CVE-2011-0411).  A ``StreamReader`` may hold
read-ahead plaintext in its private buffer that would come out of the next
``read()`` *after* the upgrade, looking as if it came over TLS.  Here the
buffer is ours and :meth:`Link.start_tls` empties it before the handshake.
The link also bounds what it buffers (it pauses the transport's reading) and
honours the transport's write flow control, so a slow or hostile peer costs a
bounded amount of memory.

Wake-ups: an IMAP session in IDLE waits for the client's ``DONE`` *and* for
new mail.  :meth:`Link.notify` interrupts a pending read; the pump then calls
:meth:`Handler.on_notify`, which pushes the untagged updates.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, Protocol, cast

import attrs

from mailproto import NEED_DATA, PAUSED
from mailproto.errors import ProtocolError

from .budget import MemoryBudget
from .config import DEFAULT_LITERAL_MEMORY, DEFAULT_SPOOL_MEMORY, ServerConfig
from .directory import Directory
from .maildir import Store
from .mda import MDA
from .tls import plaintext_auth_allowed

__all__ = [
    "Gate",
    "Handler",
    "Link",
    "Peer",
    "Pump",
    "Site",
    "Stoppable",
    "pump_session",
    "serve_link",
]

log = logging.getLogger("mailserver.pump")

#: Stop reading from a peer once this much unprocessed input is buffered.
#: Input waits here only while the session task is busy (a delivery, a
#: FETCH being written to a peer that reads slowly), so a small bound costs
#: nothing, and it is what each of up to ``max_connections`` peers per
#: listener can make the server hold: 64 KiB, asyncio's own stream reader
#: limit (it was 256 KiB: 250 MiB for a thousand peers).
MAX_BUFFERED = 64 * 1024

#: The most octets :meth:`Link.write` hands the transport at once (see there).
WRITE_PIECE = 256 * 1024
#: A connection's idle timer may fire this much before its deadline and still
#: count as expired (the loop runs timers up to its clock resolution early).
_TIMER_SLACK = 0.001


class Link(asyncio.Protocol):
    """One accepted TCP (or TLS) connection with a bounded input buffer.

    The session task waits in :meth:`wait` for input, the end of input, a
    :meth:`notify`, or the idle deadline.  The deadline is kept by **one**
    timer per connection: every wait moves :attr:`deadline` forward, and the
    timer, when it fires early, simply re-arms itself at the current deadline
    (instead of a new timer — or, with ``asyncio.wait_for``, a new task — for
    every read).
    """

    def __init__(self, max_buffered: int = MAX_BUFFERED) -> None:
        self.transport: asyncio.Transport | None = None
        self._chunks: list[bytes] = []
        self._size = 0
        self._max = max_buffered
        self._eof = False
        self._lost = False
        self._notified = False
        self._timed_out = False
        self._reading_paused = False
        self._writing_paused = False
        # The session task parked in wait() / drain() (a future to wake it).
        self._waiter: asyncio.Future[None] | None = None
        self._waiting_input = False  # ... and it is parked in wait()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        #: Seconds the peer may stay silent while the session waits for it.
        self.idle_timeout = 300.0
        #: Loop time at which the current wait for input expires.
        self.deadline = 0.0
        #: Called with the data that arrives while the task waits for input; it
        #: returns False to leave the data to the task (see Pump._consume).
        self.on_input: Callable[[bytes], bool] | None = None
        #: The server is shutting down: end the session at the next read.
        self.stopping = False
        #: The peer stopped reading what the server wrote (see :meth:`drain`).
        self.stalled = False

    # -- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport, by the contract of ``create_server``; not checked
        # with isinstance: other event loops' transports (uvloop's) implement
        # asyncio.Transport's methods without deriving from the class.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        # Fast path: the task is parked waiting for input and nothing is
        # queued ahead of this data, so the pump may consume it right here
        # (no task wake-up per command).
        if (
            self._waiting_input
            and not self._chunks
            and self.on_input is not None
            and not self._writing_paused
            and not self.stopping
            and self.on_input(data)
        ):
            return
        self._chunks.append(data)
        self._size += len(data)
        if self._size >= self._max and self.transport is not None and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()
        self.wake()

    def eof_received(self) -> bool:
        self._eof = True
        self.wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._lost = True
        self._writing_paused = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.wake()

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self.wake()

    # -- what the pump uses -------------------------------------------------------------

    @property
    def peer_ip(self) -> str:
        """The peer's IP address ("" when unknown)."""
        peer = self.transport.get_extra_info("peername") if self.transport else None
        return str(peer[0]) if isinstance(peer, tuple) and peer else ""

    @property
    def tls_version(self) -> str | None:
        """The TLS version in use (``"TLSv1.3"``), or None."""
        obj = self.transport.get_extra_info("ssl_object") if self.transport else None
        return obj.version() if isinstance(obj, ssl.SSLObject) else None

    @property
    def at_eof(self) -> bool:
        """True once the peer closed its side (or the connection is gone)."""
        return self._eof

    @property
    def lost(self) -> bool:
        """True once nothing written now would reach the peer: the connection
        is gone, or closing (cut off by :meth:`drain`, aborted, closed)."""
        transport = self.transport
        return self._lost or transport is None or transport.is_closing()

    @property
    def timed_out(self) -> bool:
        """True once a :meth:`wait` ran past :attr:`deadline`."""
        return self._timed_out

    def wake(self) -> None:
        """Resume the task parked in :meth:`wait` or :meth:`write`, if any."""
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            self._waiting_input = False
            if not waiter.done():
                waiter.set_result(None)

    def notify(self) -> None:
        """Interrupt a pending :meth:`wait` (new mail for an IDLE session...)."""
        self._notified = True
        self.wake()

    def take_notification(self) -> bool:
        """True (once) if :meth:`notify` was called since the last time."""
        notified, self._notified = self._notified, False
        return notified

    def stop(self) -> None:
        """Ask the session to end at its next read (server shutdown)."""
        self.stopping = True
        self.notify()

    def take(self) -> bytes | None:
        """Everything buffered, or None when nothing is."""
        chunks = self._chunks
        if not chunks:
            return None
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._size = 0
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        return data

    async def wait(self) -> None:
        """Wait for input, the end of input, a notification or the idle deadline.

        Returns at once if one of them is already there.  After it returns,
        :attr:`timed_out` says whether the deadline passed.
        """
        if self._chunks or self._eof or self._notified:
            return
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        self.deadline = loop.time() + self.idle_timeout
        timer = self._timer
        if timer is not None and timer.when() > self.deadline + _TIMER_SLACK:
            # The timeout was shortened (a stalled IMAP literal): the timer
            # set for the old deadline would fire too late.
            timer.cancel()
            timer = self._timer = None
        if timer is None:
            self._timer = loop.call_at(self.deadline, self._on_timer)
        waiter = self._waiter = loop.create_future()
        self._waiting_input = True
        try:
            await waiter
        finally:
            self._waiter = None
            self._waiting_input = False

    def touch(self) -> None:
        """The peer was active: push the idle deadline forward."""
        if self._loop is not None:
            self.deadline = self._loop.time() + self.idle_timeout

    def _on_timer(self) -> None:
        self._timer = None
        if not self._waiting_input or self._loop is None or self._lost:
            # Not waiting for input now (the server is working, or writing to
            # a client that reads slowly): the next wait re-arms.
            return
        if self.deadline - self._loop.time() > _TIMER_SLACK:
            # The peer was heard from since this timer was set: one new
            # timer for the remaining time.
            self._timer = self._loop.call_at(self.deadline, self._on_timer)
            return
        self._timed_out = True
        self.wake()

    def send(self, data: bytes | memoryview) -> bool:
        """Write *data* now; True if the caller must :meth:`drain` before writing more."""
        transport = self.transport
        if not data or transport is None or transport.is_closing():
            return False
        transport.write(data)
        return self._writing_paused

    async def drain(self) -> None:
        """Wait while the transport's write buffer is above its high-water mark.

        A slow reader is not idle: the wait goes on as long as the buffer
        keeps shrinking.  A peer that reads nothing at all for
        :attr:`idle_timeout` seconds is cut off (:attr:`stalled`; the
        transport is aborted, its buffer dropped): otherwise a client that
        asks for a large response (RETR, FETCH) or pipelines commands and
        never reads would hold its session, and the memory of its
        responses, for ever — no idle timer runs while the server writes.
        Postfix's ``smtpd_timeout`` and Dovecot's output timeout do the
        same.
        """
        loop = asyncio.get_running_loop()
        # The least the buffer held, and until when the peer may take to
        # make it smaller.  Kept across wake-ups: input, a notification (new
        # mail) or a resume_writing that is soon undone wake this loop too,
        # and must not give a peer that reads nothing a fresh timeout.
        least: int | None = None
        deadline = 0.0
        while self._writing_paused and not self._lost:
            transport = self.transport
            assert transport is not None
            size = transport.get_write_buffer_size()
            now = loop.time()
            if least is None or size < least:
                least, deadline = size, now + self.idle_timeout  # it reads, slowly
            elif now >= deadline:
                self.stalled = True
                log.info(
                    "%s took nothing of %d octets for %.0f s: cut off",
                    self.peer_ip or "a peer",
                    size,
                    self.idle_timeout,
                )
                transport.abort()
                return
            waiter = self._waiter = loop.create_future()
            try:
                await asyncio.wait({waiter}, timeout=deadline - now)
            finally:
                self._waiter = None

    async def write(self, data: bytes) -> None:
        """Write *data*, waiting while the transport's buffer is full.

        Large *data* (a FETCH of a large message) goes to the transport
        :data:`WRITE_PIECE` octets at a time, each once the buffer has room.
        Given all at once, a TLS transport encrypts all of it into the
        buffer of the socket transport below, which takes everything while
        it is not paused: the whole answer would sit there, copied, and
        :meth:`drain` (which sees only the TLS layer's buffer) would see no
        progress until the peer had read all of it — a slow reader of a
        large message cut off as if it read nothing.
        """
        if len(data) <= WRITE_PIECE:
            if self.send(data):
                await self.drain()
            return
        view = memoryview(data)
        for start in range(0, len(data), WRITE_PIECE):
            if self.lost:  # (cut off by drain, or gone)
                return
            if self.send(view[start : start + WRITE_PIECE]):
                await self.drain()

    async def start_tls(self, context: ssl.SSLContext, timeout: float) -> None:
        """Upgrade to TLS as the server, dropping any plaintext read ahead."""
        assert self.transport is not None
        self._chunks.clear()  # plaintext after STARTTLS: never a command
        self._size = 0
        if self._reading_paused:
            self._reading_paused = False
            self.transport.resume_reading()
        loop = asyncio.get_running_loop()
        new = await loop.start_tls(
            self.transport,
            self,
            context,
            server_side=True,
            ssl_handshake_timeout=timeout,
        )
        assert new is not None
        self.transport = new

    def close(self) -> None:
        """Close the connection (after flushing what was written)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection at once."""
        if self.transport is not None:
            self.transport.abort()


class _Conn(Protocol):
    """The part of a mailproto connection the pump uses."""

    def receive_data(self, data: bytes) -> None: ...

    def next_event(self) -> object: ...

    def data_to_send(self) -> bytes: ...

    def start_tls_done(self) -> None: ...


class Handler(Protocol):
    """The protocol-specific half of a session."""

    async def handle(self, event: object) -> None:
        """Answer one event (``conn.send(...)``)."""

    def closed(self) -> bool:
        """True once the session is over (QUIT/LOGOUT answered, fatal error...)."""

    def tls_requested(self) -> bool:
        """True while the connection waits for the TLS handshake."""

    async def on_notify(self) -> None:
        """Something happened elsewhere (new mail): push updates if relevant."""

    def on_timeout(self) -> bytes:
        """The last words before an idle connection is closed."""

    def on_error(self, exc: ProtocolError) -> bytes:
        """The last words after a fatal protocol error (beyond what ``conn`` queued)."""

    def on_shutdown(self) -> bytes:
        """The last words when the server shuts down (421, -ERR, BYE)."""


#: Optional: ``handle_now(event) -> bool`` answers *event* without awaiting
#: anything, or returns False (nothing done) to have it passed to ``handle``.
HandleNow = Callable[[object], bool]


class Pump:
    """Moves bytes between a :class:`Link` and a connection, events to a handler.

    The session task runs :meth:`run`.  When the handler also has a
    synchronous ``handle_now`` (the SMTP session does), the input that
    arrives while the task is parked is consumed in the link's
    ``data_received`` callback: parsed, answered and written at once, one
    write for all the replies it produced.  Only an event that needs to
    await (the delivery after the final dot, a SASL check), the end of the
    session, a STARTTLS or an error wake the task.  Per mail transaction
    this saves most of the task switches through the event loop.
    """

    def __init__(
        self,
        link: Link,
        conn: _Conn,
        handler: Handler,
        *,
        ssl_context: ssl.SSLContext | None,
        idle_timeout: float,
    ) -> None:
        self.link = link
        self.conn = conn
        self.handler = handler
        self.ssl_context = ssl_context
        self.idle_timeout = idle_timeout
        link.idle_timeout = idle_timeout
        self._handle_now: HandleNow | None = getattr(handler, "handle_now", None)
        # Left by _consume for the task: an event it did not answer, or the
        # protocol error it met.
        self._held: object = None
        self._error: ProtocolError | None = None
        self._crash: Exception | None = None

    async def flush(self) -> None:
        """Write whatever the connection has queued."""
        await self.link.write(self.conn.data_to_send())

    def _consume(self, data: bytes) -> bool:
        """Serve *data* inside ``data_received`` while the task is parked.

        Returns True when the data was taken (always, unless the session is
        not in a state to take it); wakes the task when it must act.
        """
        conn, link = self.conn, self.link
        handle_now = self._handle_now
        if handle_now is None:
            return False
        # The task parks only while the session is open, not in a TLS
        # handshake, with nothing held: see _read.  Anything that changes
        # that below wakes it, and the link stops calling here until the
        # task parks again.
        try:
            conn.receive_data(data)
            while True:
                event = conn.next_event()
                if event is NEED_DATA:
                    if self.handler.closed():
                        link.wake()
                    break
                if event is PAUSED:
                    # A reply owed by the task, a STARTTLS handshake, or
                    # the session closed (QUIT answered): the task decides.
                    link.wake()
                    break
                if not handle_now(event):
                    self._held = event
                    link.wake()
                    break
        except ProtocolError as exc:
            self._error = exc
            link.wake()
            return True
        except Exception as exc:  # a bug or an OSError in the handler: the task raises it
            self._crash = exc
            link.wake()
            return True
        # Every reply to this input in one write (commands a PIPELINING
        # client sent together are answered together).
        link.send(conn.data_to_send())
        link.touch()
        return True

    async def run(self) -> None:
        """Serve until the session ends; always closes the link."""
        conn, handler, link = self.conn, self.handler, self.link
        if self._handle_now is not None:
            link.on_input = self._consume
        eof = False
        try:
            while True:
                if self._crash is not None:
                    raise self._crash
                if self._error is not None:
                    await self.flush()
                    await link.write(handler.on_error(self._error))
                    return
                event = self._held
                if event is not None:
                    self._held = None
                else:
                    try:
                        event = conn.next_event()
                    except ProtocolError as exc:
                        await self.flush()
                        await link.write(handler.on_error(exc))
                        return
                if event is not NEED_DATA and event is not PAUSED:
                    await handler.handle(event)
                    if handler.closed():
                        await self.flush()
                        return
                    continue
                # One write for every reply queued since the last one.
                if link.send(conn.data_to_send()):
                    await link.drain()
                if handler.closed() or eof:
                    return
                if handler.tls_requested():
                    if self.ssl_context is None:  # not offered; cannot happen
                        return
                    try:
                        await link.start_tls(self.ssl_context, self.idle_timeout)
                    except (OSError, ssl.SSLError, asyncio.TimeoutError, ConnectionError):
                        return
                    conn.start_tls_done()
                    continue
                data = await self._read()
                if data is None:
                    if link.stopping:
                        # Shutdown: a session between commands is refused
                        # politely; one in the middle of a command finished it.
                        await link.write(handler.on_shutdown())
                        return
                    if link.timed_out:
                        await self.flush()
                        await link.write(handler.on_timeout())
                        return
                    continue  # _consume served it, or an event/error is held
                if data is _NOTIFIED:
                    await handler.on_notify()
                    continue
                eof = not data
                try:
                    conn.receive_data(data)
                except ProtocolError as exc:
                    await self.flush()
                    await link.write(handler.on_error(exc))
                    return
        except (ConnectionError, OSError):
            pass
        finally:
            link.on_input = None
            link.close()

    async def _read(self) -> bytes | None:
        """Input for the connection (``b""`` at its end), :data:`_NOTIFIED`, or None.

        None: stop (shutdown), the idle deadline passed, or the input was
        served by :meth:`_consume` while parked (the caller looks at which).
        """
        link = self.link
        while True:
            if link.stopping:
                return None
            data = link.take()
            if data is not None:
                return data
            if link.take_notification():
                return _NOTIFIED
            if link.at_eof:
                return b""
            if self._interrupted() or link.timed_out:
                return None
            await link.wait()
            if link.timed_out or self._interrupted():
                return None

    def _interrupted(self) -> bool:
        """Has :meth:`_consume` left something for the task?"""
        return (
            self._held is not None
            or self._error is not None
            or self._crash is not None
            or self.handler.closed()
            or self.handler.tls_requested()
        )


#: What Pump._read returns after a Link.notify().
_NOTIFIED = b"\0notified"


class Peer(Protocol):
    """What a session learns of its connection: a :class:`Link`, or a
    :class:`~.rawpump.RawSession`."""

    @property
    def peer_ip(self) -> str:
        """The peer's IP address ("" when unknown)."""

    @property
    def tls_version(self) -> str | None:
        """The TLS version in use (``"TLSv1.3"``), or None."""


class Stoppable(Protocol):
    """A session shutdown can ask to end (:meth:`Link.stop`)."""

    def stop(self) -> None:
        """End at the next read (or once the work in progress is done)."""


class Gate:
    """Counts the open connections of a listener and refuses beyond a bound.

    Thousands of idle connections must not exhaust the process: beyond
    *limit* a new connection gets the protocol's "busy" greeting and is closed.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        #: Running sessions, so that shutdown can wait for (or cancel) them.
        self.tasks: set[asyncio.Task[None]] = set()
        #: Their links (or :class:`~.rawpump.RawSession`\ s), so that
        #: shutdown can ask them to stop.
        self.links: set[Stoppable] = set()

    def run(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run *coro* (a session, or a part of one) as a task shutdown waits for.

        The set also holds the task: the event loop keeps only a weak
        reference to it.
        """
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def stop_all(self) -> None:
        """Ask every session to end at its next read."""
        for link in list(self.links):
            link.stop()

    def enter(self) -> bool:
        if self.open >= self.limit:
            return False
        self.open += 1
        return True

    def leave(self) -> None:
        self.open -= 1


async def pump_session(
    link: Link,
    conn: _Conn,
    handler: Handler,
    *,
    ssl_context: ssl.SSLContext | None,
    idle_timeout: float,
    cleanup: Callable[[], None] | None = None,
) -> None:
    """Pump one greeted session to its end, then run *cleanup* whatever happened.

    The one body of the SMTP, POP3 and IMAP listeners' session coroutines;
    *cleanup* releases what the session holds (a POP3 maildrop lock, IMAP
    change subscriptions) even when the pump ends with an exception.
    """
    pump = Pump(link, conn, handler, ssl_context=ssl_context, idle_timeout=idle_timeout)
    try:
        await pump.run()
    finally:
        if cleanup is not None:
            cleanup()


def serve_link(
    gate: Gate,
    session: Callable[[Link], Awaitable[None]],
    refuse: bytes,
) -> Callable[[], Link]:
    """A protocol factory for ``loop.create_server``: one session task per link."""

    def factory() -> Link:
        link = _StartingLink(gate, session, refuse)
        return link

    return factory


class _StartingLink(Link):
    def __init__(
        self, gate: Gate, session: Callable[[Link], Awaitable[None]], refuse: bytes
    ) -> None:
        super().__init__()
        self._gate = gate
        self._session = session
        self._refuse = refuse

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if not self._gate.enter():
            assert self.transport is not None
            self.transport.write(self._refuse)
            self.transport.close()
            return
        self._gate.run(self._run())
        self._gate.links.add(self)

    async def _run(self) -> None:
        try:
            await self._session(self)
        finally:
            self._gate.leave()
            self._gate.links.discard(self)
            self.close()


@attrs.frozen(kw_only=True)
class Site:
    """What every session of one configured server shares."""

    #: The server's configuration (host name, domains, policies).
    config: ServerConfig
    #: Accounts, aliases, lists.
    directory: Directory
    #: The mailboxes.
    store: Store
    #: Local delivery (and queueing of remote recipients).
    mda: MDA
    #: For STARTTLS/STLS and the implicit-TLS ports.
    ssl_context: ssl.SSLContext
    #: Where SMTP message data is spooled while it arrives.
    spool: Path
    #: Called after a message was queued for relay (wakes the relay).
    on_queued: Callable[[], None] = attrs.field(default=lambda: None)
    #: Seconds a session may stay silent (RFC 5321 §4.5.3.2.7: 5 minutes
    #: for SMTP commands; RFC 9051 §5.4: at least 30 minutes for IMAP).
    smtp_timeout: float = 300.0
    #: POP3 autologout timer (RFC 1939 §3: at least 10 minutes).
    pop3_timeout: float = 600.0
    #: IMAP autologout timer.
    imap_timeout: float = 1800.0
    #: Largest number of simultaneous connections per listener.
    max_connections: int = 1000
    #: The memory all IMAP sessions may hold in literals at once
    #: (``[limits] literal_memory``).
    literal_budget: MemoryBudget = attrs.field(factory=lambda: MemoryBudget(DEFAULT_LITERAL_MEMORY))
    #: The SMTP message data all sessions may keep in memory at once
    #: (``[limits] spool_memory``; beyond it, spool files).
    spool_budget: MemoryBudget = attrs.field(factory=lambda: MemoryBudget(DEFAULT_SPOOL_MEMORY))

    def plaintext_ok(self, link: Peer, tls_active: bool) -> bool:
        """May a password cross this connection in the clear?"""
        return plaintext_auth_allowed(
            self.config.allow_plaintext_auth, peer_ip=link.peer_ip, tls_active=tls_active
        )
