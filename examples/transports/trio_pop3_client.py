"""List a POP3 maildrop's headers on trio, over implicit TLS, with pipelined TOP.

Connects straight into TLS (port 995, RFC 8314 §3.3): a
:class:`trio.SSLStream` around the TCP stream from the first byte.  Logs in
with USER/PASS (safe: the session is already encrypted), and asks
``TOP n 0`` (RFC 1939 §7: the headers and no body lines) for every message.
When CAPA lists PIPELINING (RFC 2449 §6.6) the connection writes the TOP
commands back to back and the answers are read in order; without it the same
code sends them one by one.
Headers are read with :mod:`mailproto.mime`.

``python -m transports.trio_pop3_client HOST USER [--port 995]`` (password on
stdin).
"""

from __future__ import annotations

import argparse
import ssl
import sys
from collections import deque
from typing import Any

import attrs
import trio  # type: ignore[import-untyped,unused-ignore]

from mailproto import mime
from mailproto.pop3 import (
    Capa,
    ClientConnection,
    ErrResponse,
    Greeting,
    MessageData,
    MessageEnd,
    Pass,
    Quit,
    Stat,
    StatResponse,
    Top,
    User,
)
from transports.pump import AsyncPump

#: TOP commands in flight at once.  RFC 2449 §6.6: a client that pipelines
#: must keep reading, or both sides can block on full buffers; a small
#: window keeps what is written ahead to a few hundred bytes.
WINDOW = 32


@attrs.frozen
class Summary:
    """One message's headers."""

    #: The message number in this session.
    number: int
    #: The decoded Subject, or None.
    subject: str | None
    #: The decoded From, or None.
    sender: str | None


def _ok(event: Any) -> Any:
    if isinstance(event, ErrResponse):
        raise ConnectionError(f"-ERR {event.text}")
    return event


async def list_headers(
    host: str,
    port: int,
    user: str,
    password: str,
    *,
    tls: ssl.SSLContext,
    server_hostname: str | None = None,
) -> list[Summary]:
    """Subject and From of every message, in maildrop order."""
    # TLS from the first byte: wrap the TCP stream before anything is said.
    stream = trio.SSLStream(
        await trio.open_tcp_stream(host, port), tls, server_hostname=server_hostname or host
    )
    conn = ClientConnection()

    async def recv(n: int) -> bytes:
        return bytes(await stream.receive_some(n))

    pump = AsyncPump(conn, recv, stream.send_all)
    try:
        assert isinstance(_ok(await pump.next_event()), Greeting)
        await pump.send(Capa())  # tells the connection whether it may pipeline
        _ok(await pump.next_event())
        await pump.send(User(name=user), Pass(password=password))
        _ok(await pump.next_event())
        _ok(await pump.next_event())
        await pump.send(Stat())
        stat = _ok(await pump.next_event())
        assert isinstance(stat, StatResponse)
        summaries = []
        waiting: deque[int] = deque()
        number = 1
        while number <= stat.count or waiting:
            # Keep the window full; the connection holds back what it may
            # not write yet (no PIPELINING).
            while number <= stat.count and conn.pending_commands < WINDOW:
                conn.send(Top(msg=number, lines=0))
                waiting.append(number)
                number += 1
            n = waiting.popleft()
            _ok(await pump.next_event())  # +OK, then the headers
            chunks = []
            while not isinstance(event := await pump.next_event(), MessageEnd):
                assert isinstance(event, MessageData)
                chunks.append(event.data)
            headers = mime.parse(b"".join(chunks)).headers
            summaries.append(
                Summary(number=n, subject=headers.get("Subject"), sender=headers.get("From"))
            )
        await pump.send(Quit())
        _ok(await pump.next_event())
        return summaries
    finally:
        await stream.aclose()


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - needs an account
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("host")
    parser.add_argument("user")
    parser.add_argument("--port", type=int, default=995)
    args = parser.parse_args(argv)
    password = sys.stdin.readline().rstrip("\r\n")
    tls = ssl.create_default_context()
    for s in trio.run(lambda: list_headers(args.host, args.port, args.user, password, tls=tls)):
        print(s.number, s.sender, "|", s.subject)


if __name__ == "__main__":  # pragma: no cover
    main()
