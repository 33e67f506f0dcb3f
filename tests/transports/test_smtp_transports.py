"""Every SMTP transport example against a peer over loopback (or in memory).

The blocking client (with STARTTLS) talks to the asyncio server, the trio
server and aiosmtpd; the MemoryBIO example joins both machines in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest
import trio  # type: ignore[import-untyped,unused-ignore]
from transports.asyncio_smtp_server import start_server
from transports.blocking_smtp_client import send_message
from transports.memorybio_smtp import run_session
from transports.smtp_sink import SMTPSink
from transports.trio_smtp_server import serve

from tests.transports.conftest import HOST


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


MESSAGE = b"From: alice@example.net\r\nSubject: hi\r\n\r\n.leading dot\r\nbody\r\n"


@pytest.fixture
def asyncio_server(server_ctx: ssl.SSLContext) -> Iterator[tuple[int, SMTPSink]]:
    sink = SMTPSink()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []

    async def main() -> None:
        server = await start_server(sink, tls=server_ctx)
        port.append(server.sockets[0].getsockname()[1])
        ready.set()
        async with server:
            await server.serve_forever()

    task: list[asyncio.Task[None]] = []
    thread = threading.Thread(
        target=lambda: loop.run_until_complete(_guard(loop, main(), task)), daemon=True
    )
    thread.start()
    assert ready.wait(10)
    yield port[0], sink
    loop.call_soon_threadsafe(task[0].cancel)
    thread.join(10)
    loop.close()


async def _guard(
    loop: asyncio.AbstractEventLoop,
    coro: Coroutine[Any, Any, None],
    task: list[asyncio.Task[None]],
) -> None:
    t = loop.create_task(coro)
    task.append(t)
    with contextlib.suppress(asyncio.CancelledError):
        await t


def test_blocking_client_starttls_to_asyncio_server(
    asyncio_server: tuple[int, SMTPSink], client_ctx: ssl.SSLContext
) -> None:
    port, sink = asyncio_server
    reply = send_message(
        "127.0.0.1",
        port,
        "alice@example.net",
        ["bob@example.org", "eve@elsewhere.example"],
        MESSAGE,
        tls=client_ctx,
        server_hostname=HOST,
    )
    assert reply.code == 250
    assert len(sink.inbox) == 1
    got = sink.inbox[0]
    assert got.data == MESSAGE and got.tls
    assert got.recipients == ("bob@example.org",)


def test_blocking_client_plain_to_asyncio_server(asyncio_server: tuple[int, SMTPSink]) -> None:
    port, sink = asyncio_server
    reply = send_message("127.0.0.1", port, "a@example.net", ["b@example.org"], MESSAGE)
    assert reply.code == 250
    assert sink.inbox[-1].data == MESSAGE and not sink.inbox[-1].tls


def test_blocking_client_refuses_when_no_starttls(client_ctx: ssl.SSLContext) -> None:
    # A server that does not offer STARTTLS must not get the message in clear.
    sink = SMTPSink()
    loop = asyncio.new_event_loop()

    async def main() -> None:
        server = await start_server(sink)  # no TLS: STARTTLS not advertised
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(ConnectionError, match="STARTTLS"):
            await asyncio.to_thread(
                send_message,
                "127.0.0.1",
                port,
                "a@example.net",
                ["b@example.org"],
                MESSAGE,
                tls=client_ctx,
            )
        server.close()

    loop.run_until_complete(main())
    loop.close()
    assert sink.inbox == []


def test_trio_server_with_blocking_client(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    sink = SMTPSink()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            port = await nursery.start(
                lambda task_status: serve(sink, tls=server_ctx, task_status=task_status)
            )
            reply = await trio.to_thread.run_sync(
                lambda: send_message(
                    "127.0.0.1",
                    port,
                    "alice@example.net",
                    ["bob@example.org"],
                    MESSAGE,
                    tls=client_ctx,
                    server_hostname=HOST,
                )
            )
            assert reply.code == 250
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert [m.data for m in sink.inbox] == [MESSAGE]
    assert sink.inbox[0].tls


def test_blocking_client_against_aiosmtpd(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext
) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    class Keep(Sink):
        def __init__(self) -> None:
            self.got: list[bytes] = []

        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            self.got.append(envelope.original_content)  # type: ignore[attr-defined]
            return "250 OK"

    handler = Keep()
    port = _free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, tls_context=server_ctx, require_starttls=True
    )
    controller.start()
    try:
        reply = send_message(
            "127.0.0.1",
            port,
            "a@example.net",
            ["b@example.org"],
            MESSAGE,
            tls=client_ctx,
            server_hostname=HOST,
        )
    finally:
        controller.stop()
    assert reply.code == 250
    assert handler.got == [MESSAGE]


def test_memorybio_session(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> None:
    sink, link = run_session(MESSAGE, client_ctx, server_ctx)
    assert [m.data for m in sink.inbox] == [MESSAGE]
    assert sink.inbox[0].tls
    # The message really crossed under TLS: its bytes never appear in clear.
    assert len(link.ciphertext) > len(MESSAGE)
    assert b"leading dot" not in link.ciphertext
