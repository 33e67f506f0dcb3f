"""The relay against real SMTP peers: aiosmtpd and Postfix's smtp-sink.

Checks the bytes that arrived, retries after a peer that was down, DSN
bounces for 5xx replies and for expiry, and that bounces are never bounced.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
import trustme
from aiosmtpd.controller import Controller

from mailproto import mime
from mailserver.queue import Queue
from mailserver.relay import Failure as DsnFailure
from mailserver.relay import build_dsn, send_message
from tests.examples.relay_support import (
    MSG,
    Clock,
    Sink,
    dsn_fields,
    free_port,
    make_relay,
    read_inbox,
)
from tests.interop.smtpsink import dumps, running_sink

pytestmark = pytest.mark.interop


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    handler = Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def test_relay_delivers_exact_bytes_to_aiosmtpd(tmp_path: Path, sink: tuple[Sink, int]) -> None:
    handler, port = sink
    clock = Clock()
    relay, queue, _ = make_relay(tmp_path, port, clock)
    queue.enqueue(
        "ann@a.example", ["far@remote.example", "near@remote.example"], MSG, now=clock.now
    )
    asyncio.run(relay.run_once())
    assert handler.messages == [
        ("ann@a.example", ["far@remote.example", "near@remote.example"], MSG)
    ]
    assert len(queue) == 0
    assert list((tmp_path / "queue").glob("*.msg")) == []


def test_send_message_starttls(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    handler = Sink()
    port = free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, tls_context=server_ctx, require_starttls=True
    )
    controller.start()
    try:
        client_ctx = ssl.create_default_context()
        ca.configure_trust(client_ctx)
        results = asyncio.run(
            send_message(
                "127.0.0.1",
                port,
                helo="mx.a.example",
                sender="ann@a.example",
                recipients=["far@remote.example"],
                data=MSG,
                ssl_context=client_ctx,
            )
        )
        # Unverified mode works against a self-signed peer too (the demo's case).
        asyncio.run(
            send_message(
                "127.0.0.1",
                port,
                helo="mx.a.example",
                sender="",
                recipients=["far@remote.example"],
                data=MSG,
                tls_verify=False,
            )
        )
    finally:
        controller.stop()
    assert [r.ok for r in results] == [True]
    assert [m[2] for m in handler.messages] == [MSG, MSG]
    assert handler.messages[1][0] == "<>"


def test_retry_after_peer_was_down(tmp_path: Path) -> None:
    port = free_port()
    clock = Clock()
    relay, queue, store = make_relay(tmp_path, port, clock)
    entry = queue.enqueue("ann@a.example", ["far@remote.example"], MSG, now=clock.now)
    asyncio.run(relay.run_once())
    # Down: the recipient stays pending, the next attempt is backed off.
    (again,) = queue.entries()
    assert again.attempts == 1
    assert again.pending[0].last_status == "4.4.1"
    assert again.next_attempt == pytest.approx(clock.now + 60)
    asyncio.run(relay.run_once())  # not due yet: nothing happens
    assert queue.entries()[0].attempts == 1
    clock.now += 61
    asyncio.run(relay.run_once())
    assert queue.entries()[0].next_attempt == pytest.approx(clock.now + 120)  # doubled
    # The state survives a restart.
    reloaded = Queue(tmp_path / "queue")
    assert reloaded.entries()[0].attempts == 2
    # The peer comes up; the next due attempt delivers.
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock.now += 121
        asyncio.run(relay.run_once())
    finally:
        controller.stop()
    assert [m[2] for m in handler.messages] == [MSG]
    assert len(queue) == 0
    assert read_inbox(store) == []  # no bounce
    assert entry.id not in {e.id for e in Queue(tmp_path / "queue").entries()}


def test_5xx_bounces_to_local_sender(tmp_path: Path, sink: tuple[Sink, int]) -> None:
    handler, port = sink
    handler.reject.add("bad@remote.example")
    handler.defer.add("later@remote.example")
    clock = Clock()
    relay, queue, store = make_relay(tmp_path, port, clock)
    queue.enqueue(
        "ann@a.example",
        ["good@remote.example", "bad@remote.example", "later@remote.example"],
        MSG,
        now=clock.now,
    )
    asyncio.run(relay.run_once())
    assert [m[1] for m in handler.messages] == [["good@remote.example"]]
    (bounce,) = read_inbox(store)
    assert bounce.startswith(b"Return-Path: <>\r\n")
    msg, status, headers = dsn_fields(bounce)
    assert msg.headers.get("To") == "ann@a.example"
    assert msg.headers.get("Auto-Submitted") == "auto-replied"
    assert "Reporting-MTA: dns; mx.a.example" in status
    assert "Final-Recipient: rfc822; bad@remote.example" in status
    assert "Action: failed" in status
    assert "Status: 5.1.1" in status
    assert "Diagnostic-Code: smtp; 550" in status
    assert "Remote-MTA: dns; 127.0.0.1" in status
    assert "good@remote.example" not in status
    assert "later@remote.example" not in status
    assert "Subject: relay test" in headers
    assert "Line one" not in headers  # headers only
    # The deferred recipient is still queued.
    (entry,) = queue.entries()
    assert [r.address for r in entry.pending] == ["later@remote.example"]


def test_expiry_bounces(tmp_path: Path) -> None:
    port = free_port()
    clock = Clock()
    relay, queue, store = make_relay(tmp_path, port, clock)
    queue.enqueue("ann@a.example", ["far@remote.example"], MSG, now=clock.now)
    asyncio.run(relay.run_once())
    assert read_inbox(store) == []
    clock.now += 3600
    asyncio.run(relay.run_once())
    (bounce,) = read_inbox(store)
    _, status, _ = dsn_fields(bounce)
    assert "Status: 5.4.7" in status
    assert "Action: failed" in status
    assert "delivery time expired" in status
    assert len(queue) == 0


def test_no_route_bounces(tmp_path: Path) -> None:
    clock = Clock()
    relay, queue, store = make_relay(tmp_path, free_port(), clock)
    queue.enqueue("ann@a.example", ["x@unrouted.example"], MSG, now=clock.now)
    asyncio.run(relay.run_once())
    (bounce,) = read_inbox(store)
    assert "Status: 5.4.4" in dsn_fields(bounce)[1]


def test_bounce_is_never_bounced(tmp_path: Path, sink: tuple[Sink, int]) -> None:
    handler, port = sink
    handler.reject.add("bad@remote.example")
    clock = Clock()
    relay, queue, store = make_relay(tmp_path, port, clock)
    queue.enqueue("", ["bad@remote.example"], MSG, now=clock.now)
    asyncio.run(relay.run_once())
    assert len(queue) == 0
    assert read_inbox(store) == []
    assert handler.messages == []


def test_remote_sender_gets_bounce_through_the_queue(
    tmp_path: Path, sink: tuple[Sink, int]
) -> None:
    handler, port = sink
    handler.reject.add("bad@remote.example")
    clock = Clock()
    relay, queue, _ = make_relay(tmp_path, port, clock)
    queue.enqueue("someone@remote.example", ["bad@remote.example"], MSG, now=clock.now)
    asyncio.run(relay.run_once())
    # The DSN was queued with the null sender, and goes out on the next pass.
    (dsn_entry,) = queue.entries()
    assert dsn_entry.sender == ""
    clock.now = time.time() + 1
    asyncio.run(relay.run_once())
    ((mail_from, rcpts, data),) = handler.messages
    assert mail_from == "<>"
    assert rcpts == ["someone@remote.example"]
    assert b"multipart/report" in data


def test_run_loop_wakes_on_enqueue(tmp_path: Path, sink: tuple[Sink, int]) -> None:
    handler, port = sink
    relay, _, _ = make_relay(tmp_path, port, Clock())
    relay._clock = time.time

    async def main() -> None:
        task = asyncio.create_task(relay.run())
        await asyncio.sleep(0.05)
        await relay.mda.deliver("ann@a.example", ["far@remote.example"], MSG)
        for _ in range(200):
            if handler.messages:
                break
            await asyncio.sleep(0.02)
        relay.stop()
        await asyncio.wait_for(task, 5)

    asyncio.run(main())
    assert [m[2] for m in handler.messages] == [MSG]


def test_build_dsn_standalone() -> None:
    raw = build_dsn(
        reporting_mta="mx.a.example",
        sender="ann@a.example",
        original=MSG,
        failures=[DsnFailure(recipient="x@b.example", status="5.1.1", diagnostic="550 nope")],
        queue_id="Q1",
        arrival=0.0,
    )
    msg = mime.parse(raw)
    assert not msg.defects
    status = msg.parts[1].decoded().decode()
    # Per-message fields, a blank line, then the per-recipient block (RFC 3464 §2.1).
    per_message, per_recipient = status.split("\r\n\r\n", 1)
    assert per_message.startswith("Reporting-MTA: dns; mx.a.example")
    assert "Arrival-Date: Thu, 01 Jan 1970 00:00:00 +0000" in per_message
    assert per_recipient.startswith("Final-Recipient: rfc822; x@b.example")


def test_relay_to_postfix_smtp_sink(tmp_path: Path) -> None:
    with running_sink(tmp_path, "-h", "sink.example") as (port, dump):
        clock = Clock()
        relay, queue, store = make_relay(tmp_path, port, clock)
        queue.enqueue("ann@a.example", ["far@remote.example"], MSG, now=clock.now)
        asyncio.run(relay.run_once())
        assert [e.recipients for e in queue.entries()] == []
        assert read_inbox(store) == []
        (text,) = dumps(dump, 1)
    assert b"X-Mail-Args: <ann@a.example>" in text
    assert b"X-Rcpt-Args: <far@remote.example>" in text
    assert b"X-Helo-Args: mx.a.example" in text
    # smtp-sink writes lines with LF; the message follows its own headers.
    assert MSG.replace(b"\r\n", b"\n") in text


@pytest.mark.parametrize(
    ("recipient", "size_limit", "status"),
    [("far@remote.example", 100, "5.3.4"), ("jos\u00e9@remote.example", None, "5.6.7")],
)
def test_what_the_peer_cannot_take_bounces_at_once(
    tmp_path: Path, recipient: str, size_limit: int | None, status: str
) -> None:
    handler = Sink()
    port = free_port()
    # SIZE 100 (RFC 1870), or no SMTPUTF8 (RFC 6531).
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        data_size_limit=size_limit or 33554432,
        enable_SMTPUTF8=size_limit is not None,
    )
    controller.start()
    try:
        clock = Clock()
        relay, queue, store = make_relay(tmp_path, port, clock)
        queue.enqueue("ann@a.example", [recipient], MSG, now=clock.now)
        asyncio.run(relay.run_once())
    finally:
        controller.stop()
    assert handler.messages == []
    assert len(queue) == 0
    (bounce,) = read_inbox(store)
    assert f"Status: {status}" in dsn_fields(bounce)[1]


def test_a_silent_peer_does_not_hold_up_others(tmp_path: Path, sink: tuple[Sink, int]) -> None:
    handler, port = sink
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # accepts connections, never says a word
    relay, queue, _ = make_relay(tmp_path, port, Clock())
    relay._clock = time.time
    relay.settings = attrs.evolve(
        relay.settings,
        routes={
            "remote.example": ("127.0.0.1", port),
            "slow.example": ("127.0.0.1", silent.getsockname()[1]),
        },
        timeout=30,
    )

    async def main() -> float:
        task = asyncio.create_task(relay.run())
        queue.enqueue("ann@a.example", ["x@slow.example"], MSG)
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await relay.mda.deliver("ann@a.example", ["far@remote.example"], MSG)
        while not handler.messages and time.monotonic() - started < 10:
            await asyncio.sleep(0.02)
        took = time.monotonic() - started
        stopping = time.monotonic()
        relay.stop(grace=0.5)  # the silent attempt is abandoned after the grace
        await asyncio.wait_for(task, 5)
        assert time.monotonic() - stopping < 3
        return took

    try:
        took = asyncio.run(main())
    finally:
        silent.close()
    assert [m[2] for m in handler.messages] == [MSG]
    assert took < 5


def test_unwritable_recipient_bounces_others_go(tmp_path: Path, sink: tuple[Sink, int]) -> None:
    handler, port = sink
    clock = Clock()
    relay, queue, store = make_relay(tmp_path, port, clock)
    queue.enqueue("ann@a.example", ["a b@remote.example", "ok@remote.example"], MSG, now=clock.now)
    asyncio.run(relay.run_once())
    assert [m[1] for m in handler.messages] == [["ok@remote.example"]]
    (bounce,) = read_inbox(store)
    status = dsn_fields(bounce)[1]
    assert "Final-Recipient: rfc822; a b@remote.example" in status
    assert "Status: 5.1.3" in status
    assert len(queue) == 0
