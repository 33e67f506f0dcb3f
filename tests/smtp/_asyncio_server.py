"""A small asyncio SMTP/LMTP server built on ServerConnection, for interop tests.

It accepts every sender and recipient, checks passwords from a dict, stores
each message (envelope + exact bytes), and supports STARTTLS through
``loop.start_tls``.  ``ThreadedServer`` runs it in a background thread so that
blocking clients (``smtplib``) can talk to it from the test.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import attrs

from mailproto import NEED_DATA, PAUSED, ProtocolError, sasl
from mailproto.limits import SMTPLimits
from mailproto.smtp import (
    AuthAnswer,
    AuthQuestion,
    ConnectionClosed,
    DataChunk,
    Ehlo,
    EndOfData,
    Expn,
    Helo,
    Lhlo,
    MailFrom,
    MessageAborted,
    Quit,
    RcptTo,
    Reply,
    ServerConfig,
    ServerConnection,
    StartTLS,
    State,
    Vrfy,
    replies,
)


@attrs.define
class Received:
    """One accepted message."""

    mail_from: MailFrom
    recipients: list[RcptTo]
    data: bytes
    authenticated: str | None
    tls: bool


@attrs.define
class Store:
    messages: list[Received] = attrs.field(factory=list)
    passwords: dict[str, str] = attrs.field(factory=dict)
    errors: list[BaseException] = attrs.field(factory=list)
    #: Largest number of bytes the connection's receive buffer held.
    max_buffered: int = 0


class SMTPServerProtocol(asyncio.Protocol):
    def __init__(
        self,
        config: ServerConfig,
        limits: SMTPLimits,
        store: Store,
        tls_context: ssl.SSLContext | None,
    ) -> None:
        self.conn = ServerConnection(config, limits=limits)
        self.store = store
        self.tls_context = tls_context
        self.transport: asyncio.Transport | None = None
        self.chunks: list[bytes] = []
        self.tls_task: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.conn.send(Reply(code=220, lines="ESMTP mailproto test server"))
        transport.write(self.conn.data_to_send())

    def data_received(self, data: bytes) -> None:
        try:
            self.conn.receive_data(data)
            self.store.max_buffered = max(self.store.max_buffered, len(self.conn._buf))
            self.run()
        except ProtocolError as exc:
            self.store.errors.append(exc)
            if exc.hint is not None:
                assert self.transport is not None
                self.transport.write(Reply.from_hint(exc.hint).to_bytes())
            self.close()

    def eof_received(self) -> bool:
        self.conn.receive_data(b"")
        self.run()
        return False

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def run(self) -> None:
        conn = self.conn
        assert self.transport is not None
        while True:
            event = conn.next_event()
            if event is NEED_DATA:
                break
            if event is PAUSED:
                if conn.state is State.TLS_HANDSHAKE:
                    self.transport.write(conn.data_to_send())
                    self.tls_task = asyncio.ensure_future(self.start_tls())
                    return
                break
            if isinstance(event, ConnectionClosed):
                self.close()
                return
            self.handle(event)
        out = conn.data_to_send()
        if out:
            self.transport.write(out)
        if conn.state is State.CLOSED:
            self.close()

    def handle(self, event: object) -> None:
        conn = self.conn
        if isinstance(event, DataChunk):
            self.chunks.append(event.data)
        elif isinstance(event, MessageAborted):
            self.chunks.clear()
        elif isinstance(event, EndOfData):
            assert conn.mail_from is not None
            auth = conn.authenticated
            self.store.messages.append(
                Received(
                    mail_from=conn.mail_from,
                    recipients=list(conn.recipients),
                    data=b"".join(self.chunks),
                    authenticated=auth.authcid if auth else None,
                    tls=conn.tls_active,
                )
            )
            self.chunks = []
            for _ in conn.recipients if conn.config.lmtp else [None]:
                conn.send(replies.MESSAGE_ACCEPTED)
        elif isinstance(event, (Helo, Ehlo, Lhlo)):
            conn.send(Reply(code=250, lines=f"greets {event.domain}"))
        elif isinstance(event, MailFrom):
            conn.send(replies.SENDER_OK)
        elif isinstance(event, RcptTo):
            conn.send(replies.RECIPIENT_OK)
        elif isinstance(event, (Vrfy, Expn)):
            conn.send(replies.CANNOT_VRFY)
        elif isinstance(event, AuthQuestion):
            q = event.question
            ok = False
            if isinstance(q, sasl.CheckPassword):
                stored = self.store.passwords.get(q.authcid)
                ok = stored is not None and q.matches(stored) and q.authzid in (None, q.authcid)
            conn.send(AuthAnswer(answer=ok))
        elif isinstance(event, (StartTLS, Quit)):
            pass

    async def start_tls(self) -> None:
        assert self.transport is not None and self.tls_context is not None
        loop = asyncio.get_running_loop()
        try:
            new = await loop.start_tls(self.transport, self, self.tls_context, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            self.store.errors.append(exc)
            self.close()
            return
        assert isinstance(new, asyncio.Transport)
        self.transport = new
        self.conn.start_tls_done()
        self.run()


class ThreadedServer:
    """Runs the asyncio server on 127.0.0.1 in a background thread."""

    def __init__(
        self,
        config: ServerConfig,
        limits: SMTPLimits | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.config = config
        self.limits = limits or SMTPLimits()
        self.tls_context = tls_context
        self.store = Store()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._server: asyncio.AbstractServer | None = None

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            self._loop.create_server(
                lambda: SMTPServerProtocol(self.config, self.limits, self.store, self.tls_context),
                "127.0.0.1",
                0,
            )
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._server.close()
        self._loop.run_until_complete(self._server.wait_closed())
        self._loop.close()

    def start(self) -> ThreadedServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@contextmanager
def threaded_server(
    config: ServerConfig,
    limits: SMTPLimits | None = None,
    tls_context: ssl.SSLContext | None = None,
) -> Iterator[ThreadedServer]:
    server = ThreadedServer(config, limits, tls_context).start()
    try:
        yield server
    finally:
        server.stop()
