"""The asyncio SMTP client example against our asyncio server, aiosmtpd and smtp-sink."""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
import trio  # type: ignore[import-untyped,unused-ignore]
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from transports.asyncio_smtp_client import send_message
from transports.asyncio_smtp_server import start_server
from transports.smtp_sink import SMTPSink
from transports.trio_smtp_server import serve

from tests.interop.smtpsink import dumps, start_sink
from tests.transports.conftest import HOST

MESSAGE = b"From: alice@example.net\r\nSubject: async\r\n\r\n.leading dot\r\nbody\r\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_starttls_and_pipelining_to_our_asyncio_server(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    sink = SMTPSink()

    async def main() -> int:
        server = await start_server(sink, tls=server_ctx)
        port = server.sockets[0].getsockname()[1]
        try:
            reply = await send_message(
                "127.0.0.1",
                port,
                "alice@example.net",
                ["bob@example.org", "eve@elsewhere.example", "carol@example.org"],
                MESSAGE,
                tls=client_ctx,
                server_hostname=HOST,
            )
        finally:
            server.close()
        return reply.code

    assert asyncio.run(asyncio.wait_for(main(), 60)) == 250
    assert [m.data for m in sink.inbox] == [MESSAGE]
    assert sink.inbox[0].tls
    assert sink.inbox[0].recipients == ("bob@example.org", "carol@example.org")


def test_every_recipient_refused(client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext) -> None:
    sink = SMTPSink()

    async def main() -> str:
        server = await start_server(sink, tls=server_ctx)
        port = server.sockets[0].getsockname()[1]
        try:
            await send_message(
                "127.0.0.1",
                port,
                "a@example.net",
                ["x@elsewhere.example"],
                MESSAGE,
                tls=client_ctx,
                server_hostname=HOST,
            )
        except ConnectionError as exc:
            return str(exc)
        finally:
            server.close()
        return "sent"

    assert asyncio.run(asyncio.wait_for(main(), 60)).startswith("no recipient accepted: 550")
    assert sink.inbox == []


class _Keep:
    def __init__(self) -> None:
        self.got: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.got.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"tim", b"s3 cret")
    return AuthResult(success=ok, handled=False)


@pytest.mark.interop
def test_starttls_and_auth_against_aiosmtpd(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    handler = _Keep()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=_free_port(),
        tls_context=server_ctx,
        require_starttls=True,
        authenticator=_authenticator,
        auth_require_tls=True,  # AUTH is only offered after STARTTLS
    )
    controller.start()

    async def send(password: str) -> str:
        try:
            reply = await send_message(
                "127.0.0.1",
                controller.port,
                "tim@example.net",
                ["bob@example.org"],
                MESSAGE,
                tls=client_ctx,
                server_hostname=HOST,
                username="tim",
                password=password,
            )
        except ConnectionError as exc:
            return str(exc)
        return str(reply.code)

    try:
        assert asyncio.run(send("wrong")).startswith("535")
        assert asyncio.run(send("s3 cret")) == "250"
    finally:
        controller.stop()
    assert handler.got == [("tim@example.net", ["bob@example.org"], MESSAGE)]


@pytest.mark.interop
def test_pipelining_against_smtp_sink(tmp_path: Path) -> None:
    # Postfix's smtp-sink offers PIPELINING (no TLS): MAIL, RCPT x3 and DATA
    # go in one write.
    for port, dump in start_sink(tmp_path):
        reply = asyncio.run(
            send_message(
                "127.0.0.1",
                port,
                "alice@example.net",
                ["a@example.org", "b@example.org", "c@example.org"],
                MESSAGE,
                tls=None,
            )
        )
        assert reply.code == 250
        (got,) = dumps(dump, 1)  # smtp-sink writes LF line ends
        assert MESSAGE.replace(b"\r\n", b"\n") in got
        for rcpt in ("a@example.org", "b@example.org", "c@example.org"):
            assert f"X-Rcpt-Args: <{rcpt}>".encode() in got


def test_pipelining_to_the_trio_server(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    # trio serves on the main thread; the asyncio client runs in a worker.
    sink = SMTPSink()

    async def main() -> int:
        async with trio.open_nursery() as nursery:
            port = await nursery.start(
                lambda task_status: serve(sink, tls=server_ctx, task_status=task_status)
            )
            reply = await trio.to_thread.run_sync(
                lambda: asyncio.run(
                    asyncio.wait_for(
                        send_message(
                            "127.0.0.1",
                            port,
                            "alice@example.net",
                            ["bob@example.org", "carol@example.org"],
                            MESSAGE,
                            tls=client_ctx,
                            server_hostname=HOST,
                        ),
                        60,
                    )
                )
            )
            nursery.cancel_scope.cancel()
        return reply.code

    assert trio.run(main) == 250
    assert [m.recipients for m in sink.inbox] == [("bob@example.org", "carol@example.org")]
