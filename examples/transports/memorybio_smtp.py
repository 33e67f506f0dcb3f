"""Client and server machines joined by TLS over :class:`ssl.MemoryBIO`.

No socket at all: two :class:`ssl.SSLObject` ends exchange ciphertext
through in-memory buffers, and the SMTP connections on top never notice.
It shows the point of sans-I/O: the machines care about bytes, not about
where the bytes come from.  The session starts in clear text and upgrades
with STARTTLS, exactly as over a network.
"""

from __future__ import annotations

import ssl
from typing import Any, Protocol

from mailproto.smtp import (
    ClientConnection,
    Data,
    DataChunk,
    Ehlo,
    EhloReply,
    EndOfData,
    Mailbox,
    MailFrom,
    Quit,
    RcptTo,
    Reply,
    ServerConfig,
    ServerConnection,
    StartTLS,
    State,
)
from transports.pump import Connection, Pump, answer_all
from transports.smtp_sink import SMTPSink


class MemoryTLS:
    """One end of a TLS session whose ciphertext lives in two MemoryBIOs."""

    def __init__(self, context: ssl.SSLContext, *, server_side: bool, hostname: str | None):
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = context.wrap_bio(
            self.incoming, self.outgoing, server_side=server_side, server_hostname=hostname
        )

    def handshake_step(self) -> bool:
        """Advance the handshake; ``True`` once it is complete."""
        try:
            self.obj.do_handshake()
        except ssl.SSLWantReadError:
            return False
        return True


class Application(Protocol):
    """The server's application half: answers one event (``SMTPSink``,
    ``POP3Session``, ``IMAPSession``)."""

    def handle(self, conn: Any, event: Any, /) -> None: ...


class Loopback:
    """A client and a server joined in memory, clear text or TLS.

    The client side is driven with :class:`~transports.pump.Pump`, whose
    ``recv`` callable runs the server: it moves the client's bytes to the
    server, lets the application answer, and hands the answer back.  Any
    protocol works: *server* is a mailproto server connection and *sink* the
    application that answers its events.
    """

    def __init__(self, server: Connection, sink: Application) -> None:
        self.server = server
        self.sink = sink
        self.client_tls: MemoryTLS | None = None
        self.server_tls: MemoryTLS | None = None
        self._to_server = b""
        self.ciphertext = b""  # everything that crossed the "wire" under TLS

    # -- the client's I/O -------------------------------------------------
    def client_send(self, data: bytes) -> None:
        if self.client_tls is None:
            self._to_server += data
        else:
            self.client_tls.obj.write(data)
            self._ship(self.client_tls, self.server_tls)

    def client_recv(self, _n: int) -> bytes:
        data, self._to_server = self._to_server, b""
        if self.server_tls is not None:
            data = self._read_plain(self.server_tls)
        # b"" would mean "the client closed": only feed real bytes.
        if data:
            self.server.receive_data(data)
        answer_all(self.server, self.sink.handle)
        out = self.server.data_to_send()
        if self.server_tls is None or self.client_tls is None:
            return out
        self.server_tls.obj.write(out)
        self._ship(self.server_tls, self.client_tls)
        return self._read_plain(self.client_tls)

    # -- ciphertext plumbing ---------------------------------------------
    def _ship(self, src: MemoryTLS, dst: MemoryTLS | None) -> None:
        wire = src.outgoing.read()
        self.ciphertext += wire
        assert dst is not None
        dst.incoming.write(wire)

    @staticmethod
    def _read_plain(end: MemoryTLS) -> bytes:
        chunks = []
        while True:
            try:
                chunks.append(end.obj.read(65536))
            except ssl.SSLWantReadError:
                return b"".join(chunks)

    def handshake(self, client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext, host: str) -> None:
        """Run both ends of the TLS handshake in memory."""
        self.client_tls = MemoryTLS(client_ctx, server_side=False, hostname=host)
        self.server_tls = MemoryTLS(server_ctx, server_side=True, hostname=None)
        done_c = done_s = False
        while not (done_c and done_s):
            done_c = self.client_tls.handshake_step()
            self._ship(self.client_tls, self.server_tls)
            done_s = self.server_tls.handshake_step()
            self._ship(self.server_tls, self.client_tls)


def _reply(event: Any) -> Reply:
    return event.reply if isinstance(event, EhloReply) else event


def run_session(
    message: bytes, client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> tuple[SMTPSink, Loopback]:
    """One whole session in memory: greet, STARTTLS, send *message*, quit."""
    sink = SMTPSink(domain="example.org")
    server = ServerConnection(ServerConfig(hostname="mx.example.org", starttls=True))
    server.send(Reply(code=220, lines="ESMTP ready"))
    link = Loopback(server, sink)
    client = ClientConnection()
    pump = Pump(client, link.client_recv, link.client_send)
    assert _reply(pump.next_event()).code == 220
    pump.send(Ehlo(domain="client.example"))
    assert isinstance(pump.next_event(), EhloReply)
    pump.send(StartTLS())
    assert _reply(pump.next_event()).code == 220
    # Both machines now wait for the transport: do the handshake in memory.
    assert server.state is State.TLS_HANDSHAKE
    link.handshake(client_ctx, server_ctx, "mx.example.org")
    client.start_tls_done()
    server.start_tls_done()
    pump.send(Ehlo(domain="client.example"))
    assert _reply(pump.next_event()).code == 250
    pump.send(MailFrom(sender=Mailbox.parse("alice@example.net")))
    assert _reply(pump.next_event()).code == 250
    pump.send(RcptTo(recipient=Mailbox.parse("bob@example.org")))
    assert _reply(pump.next_event()).code == 250
    pump.send(Data())
    assert _reply(pump.next_event()).code == 354
    pump.send(DataChunk(data=message), EndOfData())
    assert _reply(pump.next_event()).code == 250
    pump.send(Quit())
    assert _reply(pump.next_event()).code == 221
    return sink, link


def throwaway_tls(hostname: str = "mx.example.org") -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server, client) contexts from a throwaway CA (trustme), for in-memory demos."""
    import trustme

    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(hostname).configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    return server_ctx, client_ctx


if __name__ == "__main__":  # pragma: no cover - manual use
    s_ctx, c_ctx = throwaway_tls()
    sink, link = run_session(b"Subject: hi\r\n\r\nin memory\r\n", c_ctx, s_ctx)
    print(sink.inbox, len(link.ciphertext), "bytes of ciphertext")
