"""Shared pieces of the relay tests: a message, an aiosmtpd sink, a clock, a relay.

The relay test modules (``test_relay_*.py``) build their Relay, Queue and
Store the same way; this module is that one way.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mailproto import mime
from mailserver.config import RelaySettings
from mailserver.directory import Directory, make_account
from mailserver.maildir import Store
from mailserver.mda import MDA
from mailserver.queue import Queue
from mailserver.relay import Relay
from tests.interop.smtpsink import free_port

__all__ = ["MSG", "Clock", "Sink", "dsn_fields", "free_port", "make_relay", "read_inbox"]

MSG = (
    b"From: Ann <ann@a.example>\r\nTo: far@remote.example\r\nSubject: relay test\r\n"
    b"Message-ID: <t1@a.example>\r\n\r\n"
    b"Line one\r\n.leading dot\r\n\r\nend\r\n"
)


class Sink:
    """An aiosmtpd handler recording what arrives; some recipients refused."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.reject: set[str] = set()
        self.defer: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.reject:
            return "550 5.1.1 <" + address + ">: no such user"
        if address in self.defer:
            return "451 4.2.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content))
        )
        return "250 2.0.0 queued"


class Clock:
    """A settable clock for the relay: tests move ``now`` to make retries due."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def make_relay(
    tmp_path: Path, port: int, clock: Clock, **settings: Any
) -> tuple[Relay, Queue, Store]:
    """A relay for ``a.example`` (account ann) routing ``remote.example`` to *port*."""
    directory = Directory(
        domains=["a.example"],
        accounts=[make_account("ann@a.example", "pw")],
    )
    store = Store(tmp_path / "mail")
    queue = Queue(tmp_path / "queue")
    mda = MDA(store, directory, queue=queue)
    relay = Relay(
        queue,
        directory,
        mda,
        hostname="mx.a.example",
        settings=RelaySettings(
            routes={"remote.example": ("127.0.0.1", port)},
            retry_base=60,
            retry_max=600,
            lifetime=3600,
            timeout=10,
            **settings,
        ),
        clock=clock,
    )
    return relay, queue, store


def read_inbox(store: Store, account: str = "ann@a.example") -> list[bytes]:
    """Every message in *account*'s INBOX, in UID order."""
    folder = store.mailbox(account).folder("INBOX")
    return [folder.read(uid) for uid in folder.uids()]


def dsn_fields(raw: bytes) -> tuple[mime.Message, str, str]:
    """A stored DSN checked for its RFC 3464 shape: (message, status part, headers part)."""
    msg = mime.parse(raw.split(b"\r\n", 1)[1])  # past Return-Path
    assert msg.content_type == "multipart/report"
    assert msg.params["report-type"] == "delivery-status"
    human, status, headers = msg.parts
    assert human.content_type == "text/plain"
    assert status.content_type == "message/delivery-status"
    assert headers.content_type == "text/rfc822-headers"
    return msg, status.decoded().decode(), headers.decoded().decode()
