"""An SMTP server on asyncio streams, with STARTTLS through ``loop.start_tls``.

``python -m transports.asyncio_smtp_server`` listens on 127.0.0.1:2525
(plain SMTP; STARTTLS offered when given a certificate).
"""

from __future__ import annotations

import asyncio
import ssl

from mailproto import ProtocolError
from mailproto.smtp import Reply, ServerConfig, ServerConnection, State
from transports.pump import answer_all
from transports.smtp_sink import SMTPSink


async def _start_tls(writer: asyncio.StreamWriter, context: ssl.SSLContext) -> None:
    """Upgrade the stream in place (server side)."""
    if hasattr(writer, "start_tls"):  # Python >= 3.11
        await writer.start_tls(context)
        return
    # Python 3.10: the stream API has no start_tls; the loop's does.  The new
    # transport feeds the same StreamReaderProtocol, so only the writer needs
    # to learn about it.
    loop = asyncio.get_running_loop()
    transport = writer.transport
    new = await loop.start_tls(transport, transport.get_protocol(), context, server_side=True)
    writer._transport = new  # type: ignore[attr-defined]


async def serve_client(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    sink: SMTPSink,
    config: ServerConfig,
    tls: ssl.SSLContext | None,
) -> None:
    """Run one SMTP session: the pump loop with awaits around it."""
    conn = ServerConnection(config)
    conn.send(Reply(code=220, lines="ESMTP ready"))
    try:
        while conn.state is not State.CLOSED:
            writer.write(conn.data_to_send())
            await writer.drain()
            if conn.state is State.TLS_HANDSHAKE:
                # The 220 is written; nothing the client pipelined after
                # STARTTLS was interpreted (RFC 3207 §4.2 injection defence).
                assert tls is not None
                await _start_tls(writer, tls)
                conn.start_tls_done()
            else:
                conn.receive_data(await reader.read(65536))
            # Drain again after each answer: with PIPELINING (RFC 2920) the
            # next command is already buffered, released by the answer.
            answer_all(conn, sink.handle)  # ends after ConnectionClosed
        writer.write(conn.data_to_send())
        await writer.drain()
    except (ProtocolError, ConnectionError):
        pass  # the connection already queued the reply it could; drop the peer
    finally:
        writer.close()


async def start_server(
    sink: SMTPSink, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
) -> asyncio.Server:
    """Listen; the port is ``server.sockets[0].getsockname()[1]``."""
    config = ServerConfig(hostname="mx.example.org", starttls=tls is not None)
    return await asyncio.start_server(
        lambda r, w: serve_client(r, w, sink, config, tls), host, port
    )


async def _main() -> None:  # pragma: no cover - manual use
    server = await start_server(SMTPSink(), port=2525)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":  # pragma: no cover
    asyncio.run(_main())
