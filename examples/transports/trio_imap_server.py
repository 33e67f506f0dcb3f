"""An IMAP server on trio, with STARTTLS through :class:`trio.SSLStream`.

``python -m transports.trio_imap_server --user alice:secret --eml a.eml``
serves one INBOX per user on 127.0.0.1:1143 (messages from ``--eml`` files
go to every user); ``--cert``/``--key`` add STARTTLS, and then LOGIN and
AUTHENTICATE PLAIN wait for TLS (LOGINDISABLED, RFC 9051 §6.2.3).  A client
that IDLEs is told about deliveries as they happen (RFC 2177).
"""

from __future__ import annotations

import argparse
import contextlib
import ssl
from pathlib import Path

import trio  # type: ignore[import-untyped,unused-ignore]

from mailproto import ProtocolError
from mailproto.imap import Mode, ServerConnection, State
from mailproto.imap import responses as R
from transports.imap_inbox import CAPABILITIES, IMAPSession, Inboxes, Message
from transports.pump import answer_all


async def serve_client(stream: trio.abc.Stream, store: Inboxes, tls: ssl.SSLContext | None) -> None:
    """Run one IMAP session over any trio stream.

    Two tasks share the connection: one converses (read, answer, write), the
    other pushes deliveries while the client IDLEs.  Both run on trio's one
    thread, so the connection is never touched concurrently; only writing
    needs a lock (a stream takes one ``send_all`` at a time).
    """
    conn = ServerConnection(
        capabilities=CAPABILITIES,
        auth_mechanisms=("PLAIN",),
        starttls=tls is not None,
        login_requires_tls=tls is not None,
    )
    session = IMAPSession(store)
    conn.send(R.StatusResponse(tag=None, status="OK", text="IMAP ready"))
    write_lock = trio.Lock()
    wake_send, wake_recv = trio.open_memory_channel[None](1)

    async def flush() -> None:
        async with write_lock:
            if out := conn.data_to_send():
                await stream.send_all(out)

    def on_delivery(user: str, message: Message) -> None:
        if session.delivered(user, message):
            with contextlib.suppress(trio.WouldBlock):  # a wake-up is already queued
                wake_send.send_nowait(None)

    async def push_deliveries() -> None:
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            async for _ in wake_recv:
                session.push(conn)
                await flush()

    async def converse() -> None:
        nonlocal stream
        try:
            while True:
                await flush()
                if conn.state is State.LOGOUT:
                    return  # after BYE (LOGOUT, a fatal error) or the client's close
                if conn.mode is Mode.TLS_HANDSHAKE:
                    # The tagged OK is written; bytes the client pipelined
                    # after STARTTLS were dropped, never parsed (RFC 9051 §11.1).
                    assert tls is not None
                    stream = trio.SSLStream(stream, tls, server_side=True)
                    await stream.do_handshake()
                    conn.start_tls_done()
                    continue
                conn.receive_data(bytes(await stream.receive_some(65536)))
                answer_all(conn, session.handle)
        except ProtocolError:
            # A framing error: the connection queued "* BYE"; send it, close.
            # (An exception escaping a handler would stop serve_listeners.)
            with trio.move_on_after(5), contextlib.suppress(trio.BrokenResourceError):
                await flush()
        except trio.BrokenResourceError:
            pass  # the client went away (or broke TLS)

    store.watchers.append(on_delivery)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(push_deliveries)
            await converse()
            nursery.cancel_scope.cancel()
    finally:
        store.watchers.remove(on_delivery)
        await trio.aclose_forcefully(stream)


async def serve(
    store: Inboxes,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: ssl.SSLContext | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve forever; ``nursery.start(serve, store)`` returns the bound port."""
    listeners = await trio.open_tcp_listeners(port, host=host)
    task_status.started(listeners[0].socket.getsockname()[1])

    async def handler(stream: trio.SocketStream) -> None:
        await serve_client(stream, store, tls)

    await trio.serve_listeners(handler, listeners)


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - run as a process
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1143)
    parser.add_argument("--user", action="append", default=[], help="NAME:PASSWORD")
    parser.add_argument("--eml", action="append", default=[], type=Path, help="a message")
    parser.add_argument("--cert", help="PEM certificate chain: offer STARTTLS")
    parser.add_argument("--key", help="PEM private key (default: in --cert)")
    args = parser.parse_args(argv)
    store = Inboxes(users=dict(u.split(":", 1) for u in args.user))
    for user in store.users:
        for path in args.eml:
            store.add(user, path.read_bytes())
    tls = None
    if args.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.cert, args.key)
    trio.run(lambda: serve(store, host=args.host, port=args.port, tls=tls))


if __name__ == "__main__":  # pragma: no cover
    main()
