"""Our ClientConnection (over a socket) against aiosmtpd, an independent server."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from mailproto import LocalProtocolError, sasl
from mailproto.smtp import Body, MailParameters
from tests.smtp._socket_client import SocketClient

pytestmark = pytest.mark.interop

BODY = b"From: a@example.org\r\nSubject: to aiosmtpd\r\n\r\n.leading dot\r\n..two\r\n.\r\nend\r\n"


class Handler:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK delivered"


def authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"tim", b"secret")
    # handled=False: let aiosmtpd send the 235/535 reply itself.
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def aiosmtpd_server() -> Iterator[tuple[Controller, Handler]]:
    handler = Handler()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        enable_SMTPUTF8=True,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def connect(controller: Controller) -> SocketClient:
    return SocketClient("127.0.0.1", controller.port)


def test_send_message_byte_for_byte(aiosmtpd_server: tuple[Controller, Handler]) -> None:
    controller, handler = aiosmtpd_server
    client = connect(controller)
    assert client.greeting.code == 220
    assert client.ehlo().code == 250
    replies = client.send_message("a@example.org", ["c@example.net", "d@example.net"], BODY)
    assert [r.code for r in replies] == [250, 250, 250, 354, 250]
    assert client.quit().code == 221
    assert handler.messages == [("a@example.org", ["c@example.net", "d@example.net"], BODY)]


def test_large_message_streamed(aiosmtpd_server: tuple[Controller, Handler]) -> None:
    controller, handler = aiosmtpd_server
    # aiosmtpd enforces RFC 5321's 1000-octet lines.
    body = b"Subject: big\r\n\r\n" + (b"." + b"x" * 900 + b"\r\n") * 2000
    client = connect(controller)
    client.ehlo()
    replies = client.send_message(
        "a@example.org", ["c@example.net"], body, parameters=MailParameters(size=len(body))
    )
    assert replies[-1].code == 250
    client.quit()
    assert handler.messages[0][2] == body


def test_smtputf8_and_8bitmime(aiosmtpd_server: tuple[Controller, Handler]) -> None:
    controller, handler = aiosmtpd_server
    body = "Subject: Grüße\r\n\r\nünïcode\r\n".encode()
    client = connect(controller)
    client.ehlo()
    assert client.conn.extensions.smtputf8 and client.conn.extensions.eightbitmime
    params = MailParameters(smtputf8=True, body=Body.EIGHT_BIT_MIME)
    replies = client.send_message("ü@exämple.org", ["用户@例子.广告"], body, parameters=params)
    assert replies[-1].code == 250
    client.quit()
    assert handler.messages == [("ü@exämple.org", ["用户@例子.广告"], body)]


def test_client_refuses_unadvertised_chunking(aiosmtpd_server: tuple[Controller, Handler]) -> None:
    controller, _ = aiosmtpd_server
    client = connect(controller)
    client.ehlo()
    assert not client.conn.extensions.chunking  # aiosmtpd has no BDAT
    with pytest.raises(LocalProtocolError):
        client.send_message("a@example.org", ["c@example.net"], BODY, bdat_chunk=10)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth(aiosmtpd_server: tuple[Controller, Handler], mechanism: str) -> None:
    controller, _ = aiosmtpd_server
    client = connect(controller)
    client.ehlo()
    bad = client.login(sasl.client_mechanism(mechanism, username="tim", password="wrong"))
    assert bad.code == 535
    good = client.login(sasl.client_mechanism(mechanism, username="tim", password="secret"))
    assert good.code == 235 and client.conn.authenticated
    assert client.send_message("a@example.org", ["c@example.net"], BODY)[-1].code == 250
    client.quit()


def test_starttls() -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    handler = Handler()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_ctx,
        require_starttls=True,
    )
    controller.start()
    try:
        client = connect(controller)
        client.ehlo()
        before = client.conn.extensions
        assert before.starttls
        client.starttls(client_ctx)
        after = client.conn.extensions
        assert client.conn.tls_active and not after.starttls
        assert client.send_message("a@example.org", ["c@example.net"], BODY)[-1].code == 250
        client.quit()
    finally:
        controller.stop()
    assert handler.messages[0][2] == BODY
