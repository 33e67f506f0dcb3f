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
import collections
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

import attrs

from mailproto import NEED_DATA, PAUSED
from mailproto.errors import ProtocolError

from .config import ServerConfig
from .directory import Directory
from .maildir import Store
from .mda import MDA
from .tls import plaintext_auth_allowed

__all__ = ["Gate", "Handler", "Link", "Pump", "Site", "serve_link"]

#: Stop reading from a peer once this much unprocessed input is buffered.
MAX_BUFFERED = 256 * 1024


class Link(asyncio.Protocol):
    """One accepted TCP (or TLS) connection with a bounded input buffer."""

    def __init__(self, max_buffered: int = MAX_BUFFERED) -> None:
        self.transport: asyncio.Transport | None = None
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._max = max_buffered
        self._eof = False
        self._notified = False
        self._signal = asyncio.Event()
        self._can_write = asyncio.Event()
        self._can_write.set()
        self._reading_paused = False
        #: Set once the connection is gone (either side closed it).
        self.lost = asyncio.Event()
        #: The server is shutting down: end the session at the next read.
        self.stopping = False

    # -- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)
        if self._size >= self._max and self.transport is not None and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()
        self._signal.set()

    def eof_received(self) -> bool:
        self._eof = True
        self._signal.set()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._signal.set()
        self._can_write.set()
        self.lost.set()

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

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

    def notify(self) -> None:
        """Interrupt a pending :meth:`read` (new mail for an IDLE session...)."""
        self._notified = True
        self._signal.set()

    def stop(self) -> None:
        """Ask the session to end at its next read (server shutdown)."""
        self.stopping = True
        self.notify()

    async def read(self) -> bytes | None:
        """Everything buffered, ``b""`` at end of input, ``None`` when notified."""
        while True:
            if self._chunks:
                data = b"".join(self._chunks)
                self._chunks.clear()
                self._size = 0
                if self._reading_paused and self.transport is not None:
                    self._reading_paused = False
                    self.transport.resume_reading()
                return data
            if self._notified:
                self._notified = False
                return None
            if self._eof:
                return b""
            self._signal.clear()
            await self._signal.wait()

    async def write(self, data: bytes) -> None:
        """Write *data*, waiting while the transport's buffer is full."""
        if not data or self.transport is None or self.transport.is_closing():
            return
        self.transport.write(data)
        await self._can_write.wait()

    async def start_tls(self, context: ssl.SSLContext, timeout: float) -> None:
        """Upgrade to TLS as the server, dropping any plaintext read ahead."""
        assert self.transport is not None
        self._chunks.clear()  # plaintext after STARTTLS: never a command
        self._size = 0
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


class Pump:
    """Moves bytes between a :class:`Link` and a connection, events to a handler."""

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

    async def flush(self) -> None:
        """Write whatever the connection has queued."""
        await self.link.write(self.conn.data_to_send())

    async def run(self) -> None:
        """Serve until the session ends; always closes the link."""
        conn, handler, link = self.conn, self.handler, self.link
        eof = False
        try:
            while True:
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
                await self.flush()
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
                if link.stopping:
                    # Shutdown: a session between commands is refused politely;
                    # one in the middle of a command finished it first.
                    await link.write(handler.on_shutdown())
                    return
                try:
                    data = await asyncio.wait_for(link.read(), self.idle_timeout)
                except asyncio.TimeoutError:
                    await self.flush()
                    await link.write(handler.on_timeout())
                    return
                if data is None:
                    if not link.stopping:
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
            link.close()


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
        #: Their links, so that shutdown can ask them to stop.
        self.links: set[Link] = set()

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
        task = asyncio.get_running_loop().create_task(self._run())
        self._gate.tasks.add(task)
        self._gate.links.add(self)
        task.add_done_callback(self._gate.tasks.discard)

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

    def plaintext_ok(self, link: Link, tls_active: bool) -> bool:
        """May a password cross this connection in the clear?"""
        return plaintext_auth_allowed(
            self.config.allow_plaintext_auth, peer_ip=link.peer_ip, tls_active=tls_active
        )
