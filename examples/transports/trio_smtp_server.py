"""An SMTP server on trio, with STARTTLS through :class:`trio.SSLStream`.

``python -m transports.trio_smtp_server`` listens on 127.0.0.1:2525.
"""

from __future__ import annotations

import ssl

import trio  # type: ignore[import-untyped,unused-ignore]

from mailproto import ProtocolError
from mailproto.smtp import Reply, ServerConfig, ServerConnection, State
from transports.pump import answer_all
from transports.smtp_sink import SMTPSink


async def serve_client(
    stream: trio.abc.Stream, sink: SMTPSink, config: ServerConfig, tls: ssl.SSLContext | None
) -> None:
    """Run one SMTP session over any trio stream."""
    conn = ServerConnection(config)
    conn.send(Reply(code=220, lines="ESMTP ready"))
    try:
        while conn.state is not State.CLOSED:
            if out := conn.data_to_send():
                await stream.send_all(out)
            if conn.state is State.TLS_HANDSHAKE:
                assert tls is not None
                # Wrap the plain stream; the handshake happens on first use,
                # so do it now to report failures here.
                stream = trio.SSLStream(stream, tls, server_side=True)
                await stream.do_handshake()
                conn.start_tls_done()
            else:
                conn.receive_data(bytes(await stream.receive_some(65536)))
            # Drain again after each answer: with PIPELINING (RFC 2920) the
            # next command is already buffered, released by the answer.
            answer_all(conn, sink.handle)  # ends after ConnectionClosed
        if out := conn.data_to_send():
            await stream.send_all(out)
    except (ProtocolError, trio.BrokenResourceError):
        pass
    finally:
        await stream.aclose()


async def serve(
    sink: SMTPSink,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: ssl.SSLContext | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve forever; ``nursery.start(serve, sink)`` returns the bound port."""
    config = ServerConfig(hostname="mx.example.org", starttls=tls is not None)
    listeners = await trio.open_tcp_listeners(port, host=host)
    task_status.started(listeners[0].socket.getsockname()[1])

    async def handler(stream: trio.SocketStream) -> None:
        await serve_client(stream, sink, config, tls)

    await trio.serve_listeners(handler, listeners)


if __name__ == "__main__":  # pragma: no cover - manual use
    trio.run(lambda: serve(SMTPSink(), port=2525))
