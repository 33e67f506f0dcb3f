"""An IMAP server on trio, with STARTTLS through :class:`trio.SSLStream`.

``python -m transports.trio_imap_server --user alice:secret --eml a.eml``
serves one INBOX per user on 127.0.0.1:1143 (messages from ``--eml`` files
go to every user); ``--cert``/``--key`` add STARTTLS, and then LOGIN and
AUTHENTICATE PLAIN wait for TLS (LOGINDISABLED, RFC 9051 §6.2.3).
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
from transports.imap_inbox import CAPABILITIES, IMAPSession, Inboxes
from transports.pump import answer_all


async def serve_client(stream: trio.abc.Stream, store: Inboxes, tls: ssl.SSLContext | None) -> None:
    """Run one IMAP session over any trio stream."""
    conn = ServerConnection(
        capabilities=CAPABILITIES,
        auth_mechanisms=("PLAIN",),
        starttls=tls is not None,
        login_requires_tls=tls is not None,
    )
    session = IMAPSession(store)
    conn.send(R.StatusResponse(tag=None, status="OK", text="IMAP ready"))
    try:
        while True:
            if out := conn.data_to_send():
                await stream.send_all(out)
            if conn.state is State.LOGOUT:
                break  # after BYE (LOGOUT, a fatal error) or the client's close
            if conn.mode is Mode.TLS_HANDSHAKE:
                # The tagged OK is written; bytes the client pipelined after
                # STARTTLS were dropped, never parsed (RFC 9051 §11.1).
                assert tls is not None
                stream = trio.SSLStream(stream, tls, server_side=True)
                await stream.do_handshake()
                conn.start_tls_done()
                continue
            conn.receive_data(bytes(await stream.receive_some(65536)))
            answer_all(conn, session.handle)
    except ProtocolError:
        # A framing error: the connection queued "* BYE"; send it, then close.
        # (An exception escaping a handler would stop serve_listeners.)
        with trio.move_on_after(5), contextlib.suppress(trio.BrokenResourceError):
            await stream.send_all(conn.data_to_send())
    except trio.BrokenResourceError:
        pass  # the client went away (or broke TLS)
    finally:
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
