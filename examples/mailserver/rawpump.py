"""The callback pump: plain-TCP SMTP sessions served from socket callbacks.

:class:`~.pump.Pump` runs one task per connection over asyncio's
transports.  For SMTP on the plain ports that machinery costs more than
the session itself: with one connection per message (``smtp-source``, and
most MTAs between two hosts), asyncio's accept runs a task of its own, the
transport wires up a waiter future and three scheduled callbacks, the
session task is created, started and woken for the delivery, and the
close is one more scheduled callback.  Measured with ``cProfile``
(docs/performance/server.rst, session 9), the reference server ran about
1,100 Python calls a message against 620 for the library's machine on raw
sockets.

Sans-I/O leaves the I/O to the caller, so here the server does its own:

* :class:`RawListener` accepts in a ``loop.add_reader`` callback;
* a :class:`RawSession` reads with ``sock.recv`` in its own reader
  callback, feeds the :class:`mailproto.smtp.ServerConnection`, answers
  every event the handler can answer at once (``handle_now``) and writes
  the replies with one ``sock.send``;
* only an event that must wait (the delivery after the final dot, a SASL
  password check) runs in a task, while input that arrives meanwhile is
  held, bounded, for it.

Everything the asyncio pump guarantees holds here too, each with its own
test (``tests/examples/test_rawpump.py``):

* **bounded input**: at most :data:`~.pump.MAX_BUFFERED` octets are held
  while a task works, then reading stops;
* **bounded output**: a peer that does not read its replies makes the
  session stop reading its commands once :data:`~.pump.MAX_BUFFERED`
  octets wait to be sent, and is cut off when it takes nothing for the
  idle timeout (Postfix's ``smtpd_timeout``);
* **one idle timer per session**, re-armed at the moving deadline;
* **shutdown**: a session between commands gets the handler's last words
  at once; one whose task works finishes it first;
* **STARTTLS** (RFC 3207 §4.2): the ``220`` is flushed, reading stops,
  whatever was read after the command is dropped (the held input here,
  and :meth:`~mailproto.smtp.ServerConnection.start_tls_done` drops the
  connection's own buffer), and the socket is handed to asyncio's TLS
  (``loop.connect_accepted_socket``); the rest of the session runs on the
  asyncio pump.  TLS sessions are rare on the MX port and are not where
  the time goes.

Implicit-TLS listeners, POP3 and IMAP keep the asyncio pump: their
sessions are long, so their per-connection cost does not matter, and
IMAP's IDLE wake-ups and large FETCH writes are the asyncio pump's own.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
from collections.abc import Callable, Iterable
from typing import Protocol

from mailproto import NEED_DATA, PAUSED
from mailproto.errors import ProtocolError

from .pump import _TIMER_SLACK, MAX_BUFFERED, Gate, Handler, Link, pump_session

__all__ = ["CallbackHandler", "RawListener", "RawSession", "bind"]

log = logging.getLogger("mailserver.rawpump")

#: Octets asked of ``recv`` at once (a 1 KB message and its commands fit
#: many times over; a large message comes in pieces of this size).
RECV_SIZE = 256 * 1024
#: Connections accepted per readiness callback, so that a flood of new
#: connections does not starve the sessions already open.
ACCEPT_BATCH = 64
#: ``accept`` errors that mean the process or the system is out of a
#: resource: accepting pauses for :data:`ACCEPT_RETRY_DELAY` seconds (as
#: asyncio's own accept does) instead of spinning on a ready listener.
OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
ACCEPT_RETRY_DELAY = 1.0


class _Conn(Protocol):
    """The part of a mailproto server connection the callback pump uses."""

    def receive_data(self, data: bytes) -> None: ...

    def next_event(self) -> object: ...

    def data_to_send(self) -> bytes: ...

    def start_tls_done(self) -> None: ...


class CallbackHandler(Handler, Protocol):
    """A :class:`~.pump.Handler` that can be served from socket callbacks.

    It answers most events synchronously (``handle_now``).  It learns the
    peer's address and the TLS version from the :class:`RawSession` it is
    made for, which goes on answering after a STARTTLS handed the
    connection over to an asyncio :class:`~.pump.Link`.
    """

    @property
    def conn(self) -> _Conn:
        """The mailproto server connection (the greeting queued)."""

    def handle_now(self, event: object) -> bool:
        """Answer *event* without awaiting, or return False to have it ``handle``-d."""


#: Makes the handler of a new session (its ``conn`` has the greeting queued).
HandlerFactory = Callable[["RawSession"], CallbackHandler]


async def bind(host: str | None, port: int, backlog: int) -> list[socket.socket]:
    """Listening sockets for *host* and *port*, as ``loop.create_server`` binds them.

    One socket per address *host* resolves to (``None``: every interface),
    ``SO_REUSEADDR`` set, IPv6 sockets IPv6-only.  A failure to bind raises
    :class:`OSError` with the errno of the failing ``bind``.
    """
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    socks: list[socket.socket] = []
    seen: set[tuple[int, object]] = set()
    try:
        for family, kind, proto, _, address in infos:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            sock = socket.socket(family, kind, proto)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                raise OSError(
                    exc.errno, f"error while attempting to bind on address {address!r}: {exc}"
                ) from None
        for sock in socks:
            sock.listen(backlog)
            sock.setblocking(False)
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


class RawListener:
    """Accepts connections on listening sockets and starts a :class:`RawSession` for each.

    It has what :class:`~.cli.MailServer` uses of an ``asyncio.Server``:
    :attr:`sockets`, :meth:`close` and :meth:`wait_closed`.
    """

    def __init__(
        self,
        sockets: Iterable[socket.socket],
        gate: Gate,
        make_handler: HandlerFactory,
        refuse: bytes,
        *,
        ssl_context: ssl.SSLContext | None,
        idle_timeout: float,
    ) -> None:
        self.sockets = list(sockets)
        self._gate = gate
        self._make_handler = make_handler
        self._refuse = refuse
        self._ssl_context = ssl_context
        self._idle_timeout = idle_timeout
        self._loop = asyncio.get_running_loop()
        self._closed = False
        self._retry: list[asyncio.TimerHandle] = []
        for sock in self.sockets:
            self._loop.add_reader(sock.fileno(), self._on_accept, sock)

    def _on_accept(self, listener: socket.socket) -> None:
        gate = self._gate
        for _ in range(ACCEPT_BATCH):
            try:
                sock, address = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in OUT_OF_RESOURCES:
                    # Out of descriptors (or kernel memory): wait, as asyncio
                    # does, instead of a busy loop on a listener that stays
                    # readable.  Clients wait in the backlog meanwhile.
                    log.warning("accept() failed (%s): pausing for %.0f s", exc, ACCEPT_RETRY_DELAY)
                    self._loop.remove_reader(listener.fileno())
                    self._retry.append(
                        self._loop.call_later(ACCEPT_RETRY_DELAY, self._resume, listener)
                    )
                    return
                continue  # (ECONNABORTED...: that client is gone, not the listener)
            if not gate.enter():
                _refuse(sock, self._refuse)
                continue
            try:
                sock.setblocking(False)
                if sock.family in (socket.AF_INET, socket.AF_INET6):
                    # Replies are small and each waits for the client's next
                    # command: no Nagle delay (asyncio sets this too).
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                RawSession(
                    sock,
                    address,
                    gate,
                    self._make_handler,
                    ssl_context=self._ssl_context,
                    idle_timeout=self._idle_timeout,
                )
            except Exception:
                # A bug making the session, or the peer gone before it
                # started: that connection only.
                log.exception("could not start a session")
                gate.leave()
                sock.close()

    def _resume(self, listener: socket.socket) -> None:
        if not self._closed and listener.fileno() >= 0:
            self._loop.add_reader(listener.fileno(), self._on_accept, listener)

    def close(self) -> None:
        """Stop accepting: close the listening sockets (sessions go on)."""
        if self._closed:
            return
        self._closed = True
        for timer in self._retry:
            timer.cancel()
        for sock in self.sockets:
            if sock.fileno() >= 0:
                self._loop.remove_reader(sock.fileno())
                sock.close()

    async def wait_closed(self) -> None:
        """Nothing to wait for: :meth:`close` closed the sockets."""
        return None


def _refuse(sock: socket.socket, words: bytes) -> None:
    """Tell a client beyond the connection limit why, then close (never block)."""
    try:
        sock.setblocking(False)
        sock.send(words)
    except OSError:
        pass
    sock.close()


class RawSession:
    """One plain-TCP session served from its socket's reader callback.

    Created by :class:`RawListener` with the socket and the peer's address
    that ``accept`` returned; starts serving at once (the greeting queued by
    the handler factory is sent).  It takes a place in the
    :class:`~.pump.Gate` (given back when it ends) and is in
    :attr:`Gate.links <.pump.Gate.links>`, so that shutdown can
    :meth:`stop` it.
    """

    def __init__(
        self,
        sock: socket.socket,
        address: object,
        gate: Gate,
        make_handler: HandlerFactory,
        *,
        ssl_context: ssl.SSLContext | None,
        idle_timeout: float,
    ) -> None:
        self.sock = sock
        self._fd = sock.fileno()
        self._gate = gate
        self._loop = asyncio.get_running_loop()
        self.ssl_context = ssl_context
        #: Seconds the peer may stay silent while the session waits for it,
        #: and may take nothing of the replies waiting for it.
        self.idle_timeout = idle_timeout
        #: The peer's IP address ("" when unknown).
        self.peer_ip = str(address[0]) if isinstance(address, tuple) and address else ""
        # The asyncio link a STARTTLS handed the connection over to.
        self._tls_link: Link | None = None
        #: The server is shutting down (see :meth:`stop`).
        self.stopping = False
        #: The peer stopped reading what the server wrote, and was cut off.
        self.stalled = False
        # Input read while a task works: held for it, bounded.
        self._held: list[bytes] = []
        self._held_size = 0
        self._held_eof = False
        # Output the socket did not take at once.
        self._out = bytearray()
        self._reading = False
        self._writing = False
        self._task: asyncio.Task[None] | None = None
        self._eof = False
        self._closing = False  # close once _out is sent
        self._closed = False
        self._tls_pending = False  # hand over to TLS once _out is sent
        self._timer: asyncio.TimerHandle | None = None
        #: Loop time at which the peer has been silent (or taken nothing)
        #: for too long.
        self.deadline = self._loop.time() + idle_timeout
        handler = make_handler(self)
        self.handler = handler
        self.conn = handler.conn
        self._handle_now = handler.handle_now
        gate.links.add(self)
        self._set_reading()
        self._timer = self._loop.call_at(self.deadline, self._on_timer)
        self._send(self.conn.data_to_send())

    # -- what the handler and the server use ------------------------------------------

    @property
    def tls_version(self) -> str | None:
        """The TLS version after STARTTLS (``"TLSv1.3"``), else None."""
        return self._tls_link.tls_version if self._tls_link is not None else None

    @property
    def closed(self) -> bool:
        """True once the socket is closed (or handed over to TLS)."""
        return self._closed

    def stop(self) -> None:
        """Server shutdown: end the session politely, or once its task is done."""
        self.stopping = True
        if self._task is None and not self._closed and not self._closing:
            if self._tls_pending:
                self._close()
                return
            self._last_words(self.handler.on_shutdown())

    # -- reading ------------------------------------------------------------------------

    def _set_reading(self) -> None:
        """Read while there is room for input and the session can use it."""
        want = (
            not self._closed
            and not self._closing
            and not self._tls_pending
            and not self._held_eof
            and self._held_size < MAX_BUFFERED
            and len(self._out) <= MAX_BUFFERED
        )
        if want and not self._reading:
            self._loop.add_reader(self._fd, self._on_readable)
            self._reading = True
        elif not want and self._reading:
            self._loop.remove_reader(self._fd)
            self._reading = False

    def _on_readable(self) -> None:
        try:
            data = self.sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""  # a reset: the end of input, as for the asyncio pump
        if self._task is not None:
            # A task works (a delivery): the input waits for it.
            if data:
                self._held.append(data)
                self._held_size += len(data)
            else:
                self._held_eof = True
            self._set_reading()
            return
        if data:
            self.deadline = self._loop.time() + self.idle_timeout
        else:
            self._eof = True
        self._feed(data)

    def _feed(self, data: bytes) -> None:
        try:
            self.conn.receive_data(data)
        except ProtocolError as exc:
            self._fatal(exc)
            return
        self._serve()

    # -- serving ------------------------------------------------------------------------

    def _serve(self) -> None:
        """Answer every event the connection has; start a task for one that waits."""
        conn = self.conn
        handle_now = self._handle_now
        try:
            while True:
                event = conn.next_event()
                if event is NEED_DATA or event is PAUSED:
                    break
                if not handle_now(event):
                    # Replies queued before this event go out now: the
                    # client may be waiting for them (a 354 before data).
                    self._send(conn.data_to_send())
                    self._start_task(event)
                    return
                if self._eof and self.handler.closed():
                    # A closed connection repeats ConnectionClosed at every
                    # call (as h11 does): the end of input ends the loop.
                    break
        except ProtocolError as exc:
            self._fatal(exc)
            return
        except Exception:
            # A bug or an OSError in the handler: this session ends, the
            # server goes on (the asyncio pump's session task ends the same way).
            log.exception("SMTP session from %s failed", self.peer_ip or "a peer")
            self._abort()
            return
        # Every reply to this input in one write (commands a PIPELINING
        # client sent together are answered together).
        self._send(conn.data_to_send())
        self._after()

    def _after(self) -> None:
        """What the session does once every event so far is answered."""
        if self._closed or self._closing:
            return
        handler = self.handler
        if handler.closed() or self._eof:
            self._close()
        elif handler.tls_requested():
            self._begin_tls()
        elif self.stopping:
            self._last_words(handler.on_shutdown())

    def _start_task(self, event: object) -> None:
        self._task = self._gate.run(self._handle(event))

    async def _handle(self, event: object) -> None:
        try:
            await self.handler.handle(event)
        except OSError:  # (ConnectionError included)
            self._task = None
            self._abort()
            return
        except Exception:
            # A bug in the handler (or a reply the connection refused): this
            # session ends, logged here rather than as a task nobody awaits.
            self._task = None
            log.exception("SMTP session from %s failed", self.peer_ip or "a peer")
            self._abort()
            return
        except BaseException:  # cancelled: shutdown past its grace period
            self._task = None
            self._abort()
            raise
        self._task = None
        if self._closed:
            return  # cut off meanwhile (shutdown past its grace period...)
        if self.stopping:
            # Shutdown: the task's reply, then the refusal.
            self._send(self.conn.data_to_send())
            if self.handler.closed():
                self._close()
            else:
                self._last_words(self.handler.on_shutdown())
            return
        self.deadline = self._loop.time() + self.idle_timeout
        self._serve_held()

    def _serve_held(self) -> None:
        """After a task: the events the connection parsed already (pipelined
        after the awaited one), then the input that arrived meanwhile."""
        held = self._held
        data = held[0] if len(held) == 1 else b"".join(held)
        self._held = []
        self._held_size = 0
        eof, self._held_eof = self._held_eof, False
        if data:
            self._feed(data)
        else:
            self._serve()
        if self._closed or self._closing:
            return
        if self._task is not None:
            self._held_eof = eof  # (another task started: the end waits for it too)
        elif eof:
            self._eof = True
            self._feed(b"")
            return
        self._set_reading()

    def _fatal(self, exc: ProtocolError) -> None:
        self._send(self.conn.data_to_send())
        self._last_words(self.handler.on_error(exc))

    def _last_words(self, words: bytes) -> None:
        self._send(words)
        self._close()

    # -- writing ------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        if not data or self._closed:
            return
        if self._out:
            self._out += data
            self._set_reading()
            return
        try:
            sent = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._abort()
            return
        if sent < len(data):
            self._out += memoryview(data)[sent:]
            self._loop.add_writer(self._fd, self._on_writable)
            self._writing = True
            self._set_reading()

    def _on_writable(self) -> None:
        try:
            sent = self.sock.send(self._out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._abort()
            return
        if sent:
            # A slow reader is not idle: the deadline moves while it reads.
            del self._out[:sent]
            self.deadline = self._loop.time() + self.idle_timeout
        if self._out:
            return
        self._loop.remove_writer(self._fd)
        self._writing = False
        if self._closing:
            self._finish()
        elif self._tls_pending:
            self._hand_over()
        else:
            self._set_reading()

    # -- time -----------------------------------------------------------------------------

    def _on_timer(self) -> None:
        self._timer = None
        if self._closed:
            return
        loop = self._loop
        now = loop.time()
        if self._task is not None:
            # The server works (a delivery): not the peer's silence.
            self.deadline = max(self.deadline, now + self.idle_timeout)
        if self.deadline - now > _TIMER_SLACK:
            self._timer = loop.call_at(self.deadline, self._on_timer)
            return
        if self._out:
            self.stalled = True
            log.info(
                "%s took nothing of %d octets for %.0f s: cut off",
                self.peer_ip or "a peer",
                len(self._out),
                self.idle_timeout,
            )
            self._abort()
            return
        # (Nothing waits to be sent, so the session is neither closing nor
        # handing over to TLS: both end as soon as the output is sent.)
        self._send(self.conn.data_to_send())
        self._last_words(self.handler.on_timeout())

    # -- the end --------------------------------------------------------------------------

    def _close(self) -> None:
        """Close once everything written is sent (the timer bounds the wait)."""
        if self._closed:
            return
        if self._out:
            self._closing = True
            self._set_reading()
            return
        self._finish()

    def _abort(self) -> None:
        """Close at once, dropping what was not sent."""
        self._out.clear()
        self._finish()

    def _finish(self, *, keep_socket: bool = False) -> None:
        if self._closed:
            return
        self._closed = True
        self._closing = False
        self._held = []
        self._held_size = 0
        loop = self._loop
        if self._reading:
            loop.remove_reader(self._fd)
            self._reading = False
        if self._writing:
            loop.remove_writer(self._fd)
            self._writing = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._gate.links.discard(self)
        if not keep_socket:
            self.sock.close()
            self._gate.leave()

    # -- STARTTLS -------------------------------------------------------------------------

    def _begin_tls(self) -> None:
        """The 220 to STARTTLS is queued: stop reading, hand over once it is sent."""
        self._tls_pending = True
        # RFC 3207 §4.2: nothing the client sent after STARTTLS, in the
        # clear, may count as sent over TLS.  The connection drops its
        # buffer in start_tls_done(); this drops what the session held.
        self._held = []
        self._held_size = 0
        self._set_reading()
        if not self._out:
            self._hand_over()

    def _hand_over(self) -> None:
        if self.stopping or self.ssl_context is None:
            self._close()
            return
        # The Gate place and the socket pass to the TLS session's task.
        self._finish(keep_socket=True)
        link = self._tls_link = Link()
        self._gate.links.add(link)
        self._gate.run(self._tls_session(link, self.ssl_context))

    async def _tls_session(self, link: Link, context: ssl.SSLContext) -> None:
        gate = self._gate
        try:
            try:
                await self._loop.connect_accepted_socket(
                    lambda: link, self.sock, ssl=context, ssl_handshake_timeout=self.idle_timeout
                )
            except Exception:
                # A failed or timed-out handshake (OSError, SSLError,
                # TimeoutError...) ends the session.  The socket is closed
                # already if a transport was made; if not, here.
                self.sock.close()
                return
            self.conn.start_tls_done()
            await pump_session(
                link,
                self.conn,
                self.handler,
                ssl_context=context,
                idle_timeout=self.idle_timeout,
            )
        finally:
            gate.leave()
            gate.links.discard(link)
            link.close()
