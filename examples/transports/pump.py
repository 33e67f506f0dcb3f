"""The one pump loop every transport example shares.

A mailproto connection (SMTP, POP3 or IMAP; client or server) has four
methods that matter to a transport::

    conn.receive_data(data)   # bytes from the peer (b"" = the peer closed)
    conn.next_event()         # an event, NEED_DATA or PAUSED
    conn.send(event)          # queue output
    conn.data_to_send()       # the bytes to write now

The transport's whole job is "feed bytes, drain events, write what is
queued".  :func:`feed` does the first two; the caller writes
``conn.data_to_send()`` with whatever I/O it has.

* Servers: read, ``receive_data``, then :func:`answer_all` hands every event
  to the application and drains again, because an answer can release
  commands already buffered (pipelining, a command held behind LOGIN or
  SELECT, the SASL outcome after a password check); write, repeat.
* Clients: :class:`Pump` is the "read until the next event arrives" loop
  over blocking ``recv``/``send`` callables (sockets, ``ssl.SSLSocket``,
  MemoryBIO TLS); :class:`AsyncPump` is the same loop awaited (trio streams),
  and :class:`StreamPump` adapts it to asyncio streams.
* :func:`start_tls_stream` upgrades an asyncio stream pair for STARTTLS/STLS
  on Python 3.10 and 3.11 alike.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from mailproto import NEED_DATA, PAUSED
from mailproto.imap import ConnectionClosed as IMAPClosed
from mailproto.pop3 import ConnectionClosed as POP3Closed
from mailproto.smtp import ConnectionClosed as SMTPClosed

#: The "peer is gone" event of each protocol: after it, next_event() keeps
#: returning it, so a drain loop must stop there.
CLOSED = (SMTPClosed, POP3Closed, IMAPClosed)


class Connection(Protocol):
    """What the pump needs of a mailproto connection (every one has it)."""

    def receive_data(self, data: bytes) -> None: ...
    def next_event(self) -> Any: ...
    def send(self, event: Any, /) -> Any: ...
    def data_to_send(self) -> bytes: ...


def drain(conn: Connection) -> list[Any]:
    """Every event the connection can produce from the bytes it already has.

    Stops at ``NEED_DATA`` (read more), ``PAUSED`` (the connection waits
    for the application: a reply owed, a TLS handshake to do) or after a
    ``ConnectionClosed`` event (the last one a connection has).
    """
    events: list[Any] = []
    while True:
        event = conn.next_event()
        if event is NEED_DATA or event is PAUSED:
            return events
        events.append(event)
        if isinstance(event, CLOSED):
            return events


def answer_all(conn: Connection, handle: Callable[[Any, Any], Any]) -> None:
    """Let *handle* (``handle(conn, event)``) answer every event until the
    connection needs more bytes.

    A server's answer can release more events from bytes already received:
    the AUTH outcome after the password check, a pipelined command held
    behind one that changed the state.  So drain again after answering,
    until nothing new comes out (or the connection is closed).
    """
    while events := drain(conn):
        for event in events:
            handle(conn, event)
        if isinstance(events[-1], CLOSED):
            return


def feed(conn: Connection, data: bytes) -> list[Any]:
    """Give *data* to *conn* and return the events it yields."""
    conn.receive_data(data)
    return drain(conn)


class Pump:
    """A connection plus blocking ``recv``/``send`` callables.

    ``recv(n)`` returns up to *n* bytes (``b""`` at end of stream) and
    ``send(data)`` writes all of *data*: ``socket.socket.recv`` /
    ``sendall`` fit, and so do the MemoryBIO helpers.  Swap them (after a
    TLS handshake) with :meth:`rebind`.
    """

    def __init__(
        self,
        conn: Connection,
        recv: Callable[[int], bytes],
        send: Callable[[bytes], Any],
    ) -> None:
        self.conn = conn
        self._recv = recv
        self._send = send
        self._pending: list[Any] = []

    def rebind(self, recv: Callable[[int], bytes], send: Callable[[bytes], Any]) -> None:
        """Use new I/O callables (the TLS-wrapped socket after STARTTLS)."""
        self._recv, self._send = recv, send

    def flush(self) -> None:
        """Write whatever the connection has queued."""
        data = self.conn.data_to_send()
        if data:
            self._send(data)

    def send(self, *events: Any) -> None:
        """Queue *events* and write them."""
        for event in events:
            self.conn.send(event)
        self.flush()

    def next_event(self) -> Any:
        """Flush, then read until the connection yields an event.

        Raises :class:`EOFError` when the peer closes while the connection
        is still waiting for data (the connection itself reports a clean
        close as an event first).
        """
        self.flush()
        while not self._pending:
            event = self.conn.next_event()
            if event is PAUSED:
                raise RuntimeError("the connection waits for the application")
            if event is not NEED_DATA:
                return event
            data = self._recv(65536)
            self.conn.receive_data(data)
            self._pending = drain(self.conn)
            self.flush()
            if not data and not self._pending:
                raise EOFError("peer closed the connection")
        return self._pending.pop(0)


class AsyncPump:
    """:class:`Pump` for async I/O: the same loop, awaited.

    ``recv(n)`` and ``send(data)`` are coroutine functions: a trio stream's
    ``receive_some``/``send_all`` fit, and :class:`StreamPump` adapts an
    asyncio stream pair.
    """

    def __init__(
        self,
        conn: Connection,
        recv: Callable[[int], Awaitable[bytes]],
        send: Callable[[bytes], Awaitable[Any]],
    ) -> None:
        self.conn = conn
        self._recv = recv
        self._send = send
        self._pending: list[Any] = []

    def rebind(
        self, recv: Callable[[int], Awaitable[bytes]], send: Callable[[bytes], Awaitable[Any]]
    ) -> None:
        """Use new I/O callables (a TLS stream wrapping the old one)."""
        self._recv, self._send = recv, send

    async def flush(self) -> None:
        """Write whatever the connection has queued."""
        if data := self.conn.data_to_send():
            await self._send(data)

    async def send(self, *events: Any) -> None:
        """Queue *events* and write them."""
        for event in events:
            self.conn.send(event)
        await self.flush()

    async def next_event(self) -> Any:
        """Flush, then read until the connection yields an event (see
        :meth:`Pump.next_event`)."""
        await self.flush()
        while not self._pending:
            event = self.conn.next_event()
            if event is PAUSED:
                raise RuntimeError("the connection waits for the application")
            if event is not NEED_DATA:
                return event
            data = await self._recv(65536)
            self.conn.receive_data(data)
            self._pending = drain(self.conn)
            await self.flush()
            if not data and not self._pending:
                raise EOFError("peer closed the connection")
        return self._pending.pop(0)


class StreamPump(AsyncPump):
    """:class:`AsyncPump` over an asyncio stream pair.

    After a STARTTLS/STLS upgrade with :func:`start_tls_stream` the same
    reader and writer carry TLS, so nothing needs rebinding.
    """

    def __init__(
        self, conn: Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        async def send(data: bytes) -> None:
            writer.write(data)
            await writer.drain()

        super().__init__(conn, reader.read, send)
        self.reader = reader
        self.writer = writer


async def start_tls_stream(
    writer: asyncio.StreamWriter,
    context: ssl.SSLContext,
    *,
    server_side: bool,
    server_hostname: str | None = None,
) -> None:
    """Upgrade an asyncio stream pair to TLS in place (STARTTLS / STLS).

    Python 3.11 streams have :meth:`asyncio.StreamWriter.start_tls`.  On
    3.10 :meth:`asyncio.loop.start_tls` upgrades the stream's transport; the
    new transport feeds the same ``StreamReaderProtocol`` (so the reader is
    unchanged) and only the writer needs to learn about it.
    """
    if hasattr(writer, "start_tls"):
        if server_side:
            await writer.start_tls(context)
        else:
            await writer.start_tls(context, server_hostname=server_hostname)
        return
    loop = asyncio.get_running_loop()  # pragma: no cover - Python 3.10
    transport = writer.transport
    new = await loop.start_tls(
        transport,
        transport.get_protocol(),
        context,
        server_side=server_side,
        server_hostname=server_hostname,
    )
    writer._transport = new  # type: ignore[attr-defined]
