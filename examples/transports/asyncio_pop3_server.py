"""A POP3 server on asyncio streams, with STLS through ``loop.start_tls``.

``python -m transports.asyncio_pop3_server --maildir DIR --user alice:secret``
serves ``DIR/alice/*.eml`` on 127.0.0.1:1110 with USER/PASS, APOP and SASL PLAIN;
``--cert``/``--key`` add STLS (RFC 2595).  Messages deleted with DELE are
removed from the directory at QUIT.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
from pathlib import Path

from mailproto import ProtocolError
from mailproto.pop3 import ConnectionClosed, Greeting, ServerConnection, State
from transports.pop3_maildrop import Maildrops, POP3Session
from transports.pump import answer_all, start_tls_stream


async def serve_client(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    drops: Maildrops,
    tls: ssl.SSLContext | None,
) -> None:
    """Run one POP3 session: the pump loop with awaits around it."""
    conn = ServerConnection(stls=tls is not None, sasl_mechanisms=("PLAIN",))
    session = POP3Session(drops)
    # The timestamp offers APOP (RFC 1939 §7): it must be unique per session,
    # since the client's digest covers it.
    conn.send(Greeting(text="POP3 ready", timestamp=f"<{os.getpid()}.{id(conn)}@localhost>"))
    try:
        while conn.state is not State.CLOSED:
            writer.write(conn.data_to_send())
            await writer.drain()
            if conn.state is State.TLS_HANDSHAKE:
                # "+OK Begin TLS" is written; whatever the client pipelined
                # after STLS was dropped by the connection (RFC 2595 §4).
                assert tls is not None
                await start_tls_stream(writer, tls, server_side=True)
                conn.start_tls_done()
            else:
                conn.receive_data(await reader.read(65536))
            answer_all(conn, session.handle)  # ends after ConnectionClosed
        writer.write(conn.data_to_send())  # the answer to QUIT
        await writer.drain()
    except (ProtocolError, ConnectionError, ssl.SSLError):
        pass  # the connection queued what it could; drop the peer
    finally:
        session.handle(conn, ConnectionClosed())  # unlock if still locked
        writer.close()


async def start_server(
    drops: Maildrops, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
) -> asyncio.Server:
    """Listen; the port is ``server.sockets[0].getsockname()[1]``."""
    return await asyncio.start_server(lambda r, w: serve_client(r, w, drops, tls), host, port)


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - run as a process
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1110)
    parser.add_argument("--maildir", type=Path, required=True, help="DIR/<user>/*.eml")
    parser.add_argument("--user", action="append", default=[], help="NAME:PASSWORD")
    parser.add_argument("--cert", help="PEM certificate chain: offer STLS")
    parser.add_argument("--key", help="PEM private key (default: in --cert)")
    args = parser.parse_args(argv)
    users = dict(u.split(":", 1) for u in args.user)
    tls = None
    if args.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.cert, args.key)

    async def run() -> None:
        server = await start_server(
            Maildrops.from_directory(args.maildir, users), args.host, args.port, tls
        )
        async with server:
            await server.serve_forever()

    asyncio.run(run())


if __name__ == "__main__":  # pragma: no cover
    main()
