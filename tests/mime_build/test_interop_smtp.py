"""Built messages through a real SMTP server (aiosmtpd) with stdlib smtplib.

The envelope comes from :meth:`MessageBuilder.recipients` (Bcc included,
and left out of the header with ``as_bytes(bcc=False)``); RFC 6532 output
goes with SMTPUTF8 and 8BITMIME.  The server must receive our bytes
unchanged and its parser must see the same message.
"""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from mailproto import mime
from mailproto.mime.builder import MessageBuilder

pytestmark = pytest.mark.interop


class _Sink:
    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def sink() -> Iterator[tuple[_Sink, int]]:
    handler = _Sink()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.mark.parametrize("utf8", [False, True])
def test_send_built_message(sink: tuple[_Sink, int], utf8: bool) -> None:
    handler, port = sink
    b = MessageBuilder(utf8=utf8, allow_8bit=utf8)
    b.from_("Zoë <zoe@example.com>").to(["bob@example.org", "Ann <ann@example.net>"])
    b.bcc("hidden@example.org").subject("Grüße über SMTP").message_id(domain="example.com")
    b.text("Hallo Bob,\n.\nline with a lone dot above\n").attach(bytes(range(256)), "b.bin")
    raw = b.as_bytes(bcc=False)
    options = ["SMTPUTF8", "BODY=8BITMIME"] if utf8 else []
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        refused = client.sendmail("zoe@example.com", b.recipients(), raw, mail_options=options)
    assert refused == {}
    mail_from, rcpts, content = handler.received[-1]
    assert mail_from == "zoe@example.com"
    assert rcpts == ["bob@example.org", "ann@example.net", "hidden@example.org"]
    assert content.rstrip(b"\r\n") == raw.rstrip(b"\r\n")
    assert b"hidden@example.org" not in content
    got = mime.parse(content)
    assert got.headers.get("Subject") == "Grüße über SMTP"
    leaves = [p for p in got.walk() if not p.is_multipart]
    assert leaves[0].text() == "Hallo Bob,\r\n.\r\nline with a lone dot above\r\n"
    assert leaves[1].decoded() == bytes(range(256))
