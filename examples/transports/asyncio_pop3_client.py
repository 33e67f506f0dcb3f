"""Fetch new POP3 mail on asyncio streams: STLS, SASL, UIDL, leave or delete.

What a mail client does with POP3: upgrade with STLS (``loop.start_tls``),
authenticate with the best SASL mechanism the server offers (SCRAM before
PLAIN; the exchange runs inside the connection), list unique ids, download
only the messages it has not seen, optionally delete them, QUIT.

``python -m transports.asyncio_pop3_client HOST PORT USER [--delete]``
(password on stdin).
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
from collections.abc import Collection
from typing import Any

from mailproto import sasl
from mailproto.pop3 import (
    Auth,
    Capa,
    CapaResponse,
    ClientConnection,
    Dele,
    ErrResponse,
    Greeting,
    MessageData,
    MessageEnd,
    Quit,
    Retr,
    Stls,
    Uidl,
    UidlResponse,
)
from transports.pump import StreamPump, start_tls_stream

#: Mechanisms we would use, best first (RFC 7677: SCRAM-SHA-256 first).
PREFERRED = ("SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN")


def _ok(event: Any) -> Any:
    if isinstance(event, ErrResponse):
        raise ConnectionError(f"-ERR {event.text}")
    return event


async def fetch_new(
    host: str,
    port: int,
    user: str,
    password: str,
    *,
    seen: Collection[str] = (),
    delete: bool = False,
    tls: ssl.SSLContext,
    server_hostname: str | None = None,
) -> dict[str, bytes]:
    """Download the messages whose UIDL is not in *seen*: ``{uid: message}``.

    With *delete* they are marked DELE and removed at QUIT (RFC 1939 §6);
    otherwise they stay on the server and the caller remembers the UIDs.
    """
    reader, writer = await asyncio.open_connection(host, port)
    conn = ClientConnection()
    pump = StreamPump(conn, reader, writer)
    try:
        assert isinstance(_ok(await pump.next_event()), Greeting)
        await pump.send(Capa())
        caps = _ok(await pump.next_event())
        if not (isinstance(caps, CapaResponse) and caps.capabilities.stls):
            raise ConnectionError("server does not offer STLS")  # no silent downgrade
        await pump.send(Stls())
        _ok(await pump.next_event())
        hostname = server_hostname or host
        await start_tls_stream(writer, tls, server_side=False, server_hostname=hostname)
        conn.start_tls_done()
        await pump.send(Capa())  # RFC 2595 §4: capabilities may change after TLS
        caps = _ok(await pump.next_event())
        offered = set(caps.capabilities.sasl)
        mechanism = next((m for m in PREFERRED if m in offered), None)
        if mechanism is None:
            raise ConnectionError(f"no usable SASL mechanism in {sorted(offered)}")
        mech = sasl.client_mechanism(mechanism, username=user, password=password)
        await pump.send(Auth(mechanism=mech))
        _ok(await pump.next_event())  # SCRAM also verified the server's signature
        await pump.send(Uidl())
        listing = _ok(await pump.next_event())
        assert isinstance(listing, UidlResponse)
        new = [e for e in listing.entries if e.uid not in seen]
        got: dict[str, bytes] = {}
        for entry in new:
            await pump.send(Retr(msg=entry.msg))
            _ok(await pump.next_event())
            chunks = []
            while not isinstance(event := await pump.next_event(), MessageEnd):
                assert isinstance(event, MessageData)
                chunks.append(event.data)
            got[entry.uid] = b"".join(chunks)
            if delete:
                await pump.send(Dele(msg=entry.msg))
                _ok(await pump.next_event())
        await pump.send(Quit())
        _ok(await pump.next_event())  # only now are the DELEs carried out
        return got
    finally:
        writer.close()


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - needs an account
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("user")
    parser.add_argument("--delete", action="store_true", help="delete what was downloaded")
    args = parser.parse_args(argv)
    password = sys.stdin.readline().rstrip("\r\n")
    got = asyncio.run(
        fetch_new(
            args.host,
            args.port,
            args.user,
            password,
            delete=args.delete,
            tls=ssl.create_default_context(),
        )
    )
    for uid, data in got.items():
        print(uid, len(data), "octets")


if __name__ == "__main__":  # pragma: no cover
    main()
