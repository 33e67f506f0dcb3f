"""A mail client on trio, using the same mailproto machines as the asyncio server.

The server in ``examples/mailserver`` runs mailproto's *server* connections on
asyncio; this client runs the *client* connections (:class:`mailproto.smtp.
ClientConnection`, :class:`mailproto.pop3.ClientConnection`) on trio.  The
protocol code is the same either way — only the dozen lines that move bytes
(:class:`Wire`) know which event loop is underneath.  That is the point of a
sans-I/O library.

Run against the demo (``python examples/run_mailserver.py --demo``)::

    python examples/trio_client.py [--submission-port 2587] [--pop3-port 3110]

It sends a message from pepe@iesfbmoll.example to manolo@correo.example
through iesfbmoll's submission port (STARTTLS, AUTH SCRAM-SHA-256), waits for
the relay, and fetches it from correo's POP3 port (STLS, AUTH SCRAM-SHA-256).
"""

from __future__ import annotations

import ssl
import sys
from typing import Protocol

import trio  # type: ignore[import-untyped,unused-ignore]

from mailproto import NEED_DATA, pop3, sasl, smtp


class _Conn(Protocol):
    def receive_data(self, data: bytes) -> None: ...

    def data_to_send(self) -> bytes: ...

    def start_tls_done(self) -> None: ...


class Wire:
    """Moves bytes between a trio stream and one mailproto connection."""

    def __init__(self, stream: trio.abc.Stream, conn: _Conn) -> None:
        self.stream = stream
        self.conn = conn

    async def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            await self.stream.send_all(data)

    async def feed(self) -> None:
        """Read once from the peer (b"" at EOF is fed too, as the API asks)."""
        data = await self.stream.receive_some(65536)
        # trio may hand out a bytearray; the machines take immutable bytes.
        self.conn.receive_data(bytes(data))
        if not data:
            raise ConnectionError("the server closed the connection")

    async def start_tls(self, context: ssl.SSLContext, hostname: str) -> None:
        """Upgrade after STARTTLS/STLS, then tell the connection."""
        tls = trio.SSLStream(self.stream, context, server_hostname=hostname)
        await tls.do_handshake()
        self.stream = tls
        self.conn.start_tls_done()


# -- SMTP --------------------------------------------------------------------------------


async def _smtp_next(wire: Wire, conn: smtp.ClientConnection) -> object:
    while True:
        await wire.flush()
        event = conn.next_event()
        if event is NEED_DATA:
            await wire.feed()
            continue
        await wire.flush()  # answering a 334 queues the SASL response
        return event


def _expect(event: object, *codes: int) -> smtp.Reply:
    reply = event.reply if isinstance(event, smtp.EhloReply) else event
    if not isinstance(reply, smtp.Reply) or reply.code not in codes:
        raise RuntimeError(f"unexpected SMTP answer: {event!r}")
    return reply


async def send_mail(
    host: str,
    port: int,
    *,
    username: str,
    password: str,
    sender: str,
    recipients: list[str],
    message: bytes,
    tls: ssl.SSLContext,
) -> None:
    """Submit *message* (STARTTLS, then AUTH SCRAM-SHA-256), like a mail user agent."""
    stream = await trio.open_tcp_stream(host, port)
    conn = smtp.ClientConnection()
    wire = Wire(stream, conn)
    try:
        _expect(await _smtp_next(wire, conn), 220)
        conn.send(smtp.Ehlo(domain="trio-client.example"))
        _expect(await _smtp_next(wire, conn), 250)
        conn.send(smtp.StartTLS())
        _expect(await _smtp_next(wire, conn), 220)
        await wire.start_tls(tls, host)
        conn.send(smtp.Ehlo(domain="trio-client.example"))
        _expect(await _smtp_next(wire, conn), 250)
        conn.authenticate(
            sasl.client_mechanism("SCRAM-SHA-256", username=username, password=password)
        )
        reply = _expect(await _smtp_next(wire, conn), 235, 334, 535)
        while reply.code == 334:
            reply = _expect(await _smtp_next(wire, conn), 235, 334, 535)
        if reply.code != 235:
            raise RuntimeError(f"authentication failed: {reply}")
        conn.send(smtp.MailFrom(sender=smtp.Mailbox.parse(sender)))
        for rcpt in recipients:
            conn.send(smtp.RcptTo(recipient=smtp.Mailbox.parse(rcpt)))
        conn.send(smtp.Data())
        _expect(await _smtp_next(wire, conn), 250)
        for _ in recipients:
            _expect(await _smtp_next(wire, conn), 250)
        _expect(await _smtp_next(wire, conn), 354)
        conn.send(smtp.DataChunk(data=message))
        conn.send(smtp.EndOfData())
        _expect(await _smtp_next(wire, conn), 250)
        conn.send(smtp.Quit())
        _expect(await _smtp_next(wire, conn), 221)
    finally:
        await wire.stream.aclose()


# -- POP3 --------------------------------------------------------------------------------


async def _pop3_next(wire: Wire, conn: pop3.ClientConnection) -> object:
    while True:
        await wire.flush()
        event = conn.next_event()
        await wire.flush()
        if event is NEED_DATA:
            await wire.feed()
            continue
        if isinstance(event, pop3.ErrResponse):
            raise RuntimeError(f"POP3 error: {event.text}")
        return event


async def fetch_all(
    host: str, port: int, *, username: str, password: str, tls: ssl.SSLContext
) -> list[bytes]:
    """Every message of the maildrop, byte for byte (STLS, AUTH SCRAM-SHA-256)."""
    stream = await trio.open_tcp_stream(host, port)
    conn = pop3.ClientConnection()
    wire = Wire(stream, conn)
    try:
        await _pop3_next(wire, conn)  # the greeting
        conn.send(pop3.Stls())
        await _pop3_next(wire, conn)
        await wire.start_tls(tls, host)
        conn.send(
            pop3.Auth(
                mechanism=sasl.client_mechanism(
                    "SCRAM-SHA-256", username=username, password=password
                )
            )
        )
        await _pop3_next(wire, conn)  # +OK: the server's SCRAM signature was verified
        conn.send(pop3.Stat())
        stat = await _pop3_next(wire, conn)
        assert isinstance(stat, pop3.StatResponse)
        messages = []
        for n in range(1, stat.count + 1):
            conn.send(pop3.Retr(msg=n))
            await _pop3_next(wire, conn)
            pieces = []
            while not isinstance(event := await _pop3_next(wire, conn), pop3.MessageEnd):
                assert isinstance(event, pop3.MessageData)
                pieces.append(event.data)
            messages.append(b"".join(pieces))
        conn.send(pop3.Quit())
        await _pop3_next(wire, conn)
        return messages
    finally:
        await wire.stream.aclose()


def _demo_tls() -> ssl.SSLContext:
    # The demo's certificates are self-signed: do not verify (a real client would).
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def main(submission_port: int = 2587, pop3_port: int = 3110) -> int:
    tls = _demo_tls()
    message = (
        b"From: pepe@iesfbmoll.example\r\nTo: manolo@correo.example\r\n"
        b"Subject: hola desde trio\r\n\r\nEnviado con mailproto sobre trio.\r\n"
    )
    await send_mail(
        "127.0.0.1",
        submission_port,
        username="pepe@iesfbmoll.example",
        password="pepe-demo-1",
        sender="pepe@iesfbmoll.example",
        recipients=["manolo@correo.example"],
        message=message,
        tls=tls,
    )
    for _ in range(50):  # the relay hands it to correo.example within moments
        got = await fetch_all(
            "127.0.0.1",
            pop3_port,
            username="manolo@correo.example",
            password="manolo-demo-1",
            tls=tls,
        )
        if any(m.endswith(message) for m in got):
            print(f"manolo has {len(got)} message(s); the one from trio arrived intact")
            return 0
        await trio.sleep(0.2)
    print("the message did not arrive", file=sys.stderr)
    return 1


def _args(argv: list[str] | None = None) -> tuple[int, int]:
    import argparse

    parser = argparse.ArgumentParser(
        description="Send pepe -> manolo through the demo servers on trio, then fetch it by POP3.",
    )
    parser.add_argument("--submission-port", type=int, default=2587, help="iesfbmoll's")
    parser.add_argument("--pop3-port", type=int, default=3110, help="correo's")
    args = parser.parse_args(argv)
    return args.submission_port, args.pop3_port


if __name__ == "__main__":
    sys.exit(trio.run(main, *_args()))
