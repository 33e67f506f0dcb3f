"""Send one message with a blocking socket, upgraded with STARTTLS.

``python -m transports.blocking_smtp_client HOST PORT FROM TO < message.eml``

The whole transport is :class:`transports.pump.Pump` over ``sock.recv`` /
``sock.sendall``; after the server's ``220`` to STARTTLS the socket is
wrapped with :meth:`ssl.SSLContext.wrap_socket` and the pump rebound to it.
"""

from __future__ import annotations

import socket
import ssl
import sys

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
    StartTLS,
)
from transports.pump import Pump


def _reply(event: object) -> Reply:
    if isinstance(event, EhloReply):
        return event.reply
    assert isinstance(event, Reply), event
    return event


def send_message(
    host: str,
    port: int,
    sender: str,
    recipients: list[str],
    message: bytes,
    *,
    tls: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    helo: str = "client.example",
) -> Reply:
    """Deliver *message*; return the server's reply to the end of data.

    With *tls*, STARTTLS is required (a server that does not offer it is an
    error: no silent downgrade).  Recipients the server refuses are skipped;
    if it refuses them all, the refusal of the last one is returned.
    """
    sock = socket.create_connection((host, port), timeout=30)
    try:
        conn = ClientConnection()
        pump = Pump(conn, sock.recv, sock.sendall)
        greeting = _reply(pump.next_event())
        if greeting.code != 220:
            return greeting
        pump.send(Ehlo(domain=helo))
        ehlo = pump.next_event()
        if tls is not None:
            if not (isinstance(ehlo, EhloReply) and ehlo.extensions.starttls):
                raise ConnectionError("server does not offer STARTTLS")
            pump.send(StartTLS())
            ready = _reply(pump.next_event())
            if ready.code != 220:
                raise ConnectionError(f"STARTTLS refused: {ready}")
            # RFC 3207 §4.2: the connection has discarded anything the server
            # sent after its 220; the handshake happens on the same socket.
            sock = tls.wrap_socket(sock, server_hostname=server_hostname or host)
            pump.rebind(sock.recv, sock.sendall)
            conn.start_tls_done()
            pump.send(Ehlo(domain=helo))  # RFC 3207 §4.2: EHLO again
            ehlo = pump.next_event()
        if _reply(ehlo).code != 250:
            return _reply(ehlo)
        pump.send(MailFrom(sender=Mailbox.parse(sender)))
        if (r := _reply(pump.next_event())).code != 250:
            return r
        accepted = 0
        last = r
        for rcpt in recipients:
            pump.send(RcptTo(recipient=Mailbox.parse(rcpt)))
            last = _reply(pump.next_event())
            accepted += last.code in (250, 251)
        if not accepted:
            return last
        pump.send(Data())
        if (r := _reply(pump.next_event())).code != 354:
            return r
        pump.send(DataChunk(data=message), EndOfData())  # dot-stuffed for us
        result = _reply(pump.next_event())
        pump.send(Quit())
        pump.next_event()
        return result
    finally:
        sock.close()


if __name__ == "__main__":  # pragma: no cover - manual use
    import argparse

    parser = argparse.ArgumentParser(
        description="Send the message on standard input over SMTP, with STARTTLS when offered."
    )
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("sender", help="the envelope sender (MAIL FROM)")
    parser.add_argument("recipient", nargs="+", help="envelope recipients (RCPT TO)")
    args = parser.parse_args()
    ctx = ssl.create_default_context()
    print(
        send_message(
            args.host, args.port, args.sender, args.recipient, sys.stdin.buffer.read(), tls=ctx
        )
    )
