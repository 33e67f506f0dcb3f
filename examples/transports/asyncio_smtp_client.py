"""Send a message from asyncio: STARTTLS, AUTH and PIPELINING on streams.

What an application sending mail through its submission server does:
EHLO, STARTTLS (``loop.start_tls`` through :func:`~transports.pump.start_tls_stream`),
EHLO again, AUTH with the best mechanism offered (the SASL exchange runs
inside the connection), then MAIL, every RCPT and DATA in one write when the
server offers PIPELINING (RFC 2920), the message (dot-stuffed by the
connection), QUIT.

``python -m transports.asyncio_smtp_client HOST PORT FROM TO [--user NAME] < msg.eml``
(with ``--user`` the password is read from the ``SMTP_PASSWORD`` variable).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import sys
from typing import Any

from mailproto import sasl
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
from transports.pump import StreamPump, start_tls_stream

#: Mechanisms we would use, best first.
PREFERRED = ("SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "LOGIN")


def _reply(event: Any) -> Reply:
    reply = event.reply if isinstance(event, EhloReply) else event
    assert isinstance(reply, Reply), event
    return reply


def _expect(event: Any, *codes: int) -> Reply:
    reply = _reply(event)
    if reply.code not in codes:
        raise ConnectionError(f"{reply.code} {' '.join(reply.lines)}")
    return reply


async def send_message(
    host: str,
    port: int,
    sender: str,
    recipients: list[str],
    message: bytes,
    *,
    tls: ssl.SSLContext | None,
    server_hostname: str | None = None,
    username: str | None = None,
    password: str | None = None,
    helo: str = "client.example",
) -> Reply:
    """Deliver *message*; return the server's reply to the end of data.

    *tls* requires STARTTLS (``None``: stay in clear text, for a local relay).
    Refused recipients are skipped; if every one is refused, the refusal of
    the last is raised as :class:`ConnectionError`.
    """
    reader, writer = await asyncio.open_connection(host, port)
    conn = ClientConnection()
    pump = StreamPump(conn, reader, writer)
    try:
        _expect(await pump.next_event(), 220)
        await pump.send(Ehlo(domain=helo))
        _expect(await pump.next_event(), 250)
        if tls is not None:
            if not conn.extensions.starttls:
                raise ConnectionError("server does not offer STARTTLS")  # no silent downgrade
            await pump.send(StartTLS())
            _expect(await pump.next_event(), 220)
            hostname = server_hostname or host
            await start_tls_stream(writer, tls, server_side=False, server_hostname=hostname)
            conn.start_tls_done()
            await pump.send(Ehlo(domain=helo))  # RFC 3207 §4.2: forget the first answer
            _expect(await pump.next_event(), 250)
        if username is not None:
            offered = conn.extensions.auth_mechanisms
            name = next((m for m in PREFERRED if m in offered), None)
            if name is None:
                raise ConnectionError(f"no usable AUTH mechanism in {offered}")
            conn.authenticate(sasl.client_mechanism(name, username=username, password=password))
            while (reply := _reply(await pump.next_event())).code == 334:
                pass  # challenges are answered by the connection
            _expect(reply, 235)
        # RFC 2920: with PIPELINING the whole envelope and DATA go in one
        # write and the replies are read afterwards, in order.
        commands: list[Any] = [MailFrom(sender=Mailbox.parse(sender))]
        commands += [RcptTo(recipient=Mailbox.parse(r)) for r in recipients]
        commands.append(Data())
        replies = []
        if conn.extensions.pipelining:
            await pump.send(*commands)
            replies = [_reply(await pump.next_event()) for _ in commands]
        else:
            for command in commands:
                await pump.send(command)
                replies.append(_reply(await pump.next_event()))
                if not replies[-1].is_positive and isinstance(command, MailFrom):
                    break
        _expect(replies[0], 250)
        accepted = [r for r in replies[1:-1] if r.code in (250, 251)]
        if not accepted:
            last = replies[-2]
            raise ConnectionError(f"no recipient accepted: {last.code} {' '.join(last.lines)}")
        _expect(replies[-1], 354)
        await pump.send(DataChunk(data=message), EndOfData())
        result = _reply(await pump.next_event())
        await pump.send(Quit())
        await pump.next_event()
        return result
    finally:
        writer.close()


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - needs an account
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("sender")
    parser.add_argument("recipient", nargs="+")
    parser.add_argument("--user", help="AUTH as this user (password in $SMTP_PASSWORD)")
    parser.add_argument("--no-tls", action="store_true", help="no STARTTLS (local relay)")
    args = parser.parse_args(argv)
    tls = None if args.no_tls else ssl.create_default_context()
    reply = asyncio.run(
        send_message(
            args.host,
            args.port,
            args.sender,
            args.recipient,
            sys.stdin.buffer.read(),
            tls=tls,
            username=args.user,
            password=os.environ.get("SMTP_PASSWORD"),
        )
    )
    print(reply.code, " ".join(reply.lines))


if __name__ == "__main__":  # pragma: no cover
    main()
