"""RFC 3461 requests (NOTIFY, ORCPT, RET, ENVID) through the MDA, queue and relay."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from mailproto import mime, smtp
from mailserver.mda import DsnRequest
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

N = smtp.NotifyCondition
ORCPT = smtp.ORcpt(addr_type="rfc822", address="far@remote.example")


def test_request_from_smtp_parameters() -> None:
    mail = smtp.MailParameters(ret=smtp.Ret.HDRS, envid="E1")
    rcpts = {
        "a@x.example": smtp.RcptParameters(notify=frozenset()),
        "b@x.example": smtp.RcptParameters(orcpt=ORCPT),
        "c@x.example": smtp.RcptParameters(),
    }
    req = DsnRequest.from_smtp(mail, rcpts)
    assert req is not None
    assert req.ret is smtp.Ret.HDRS
    assert req.envid == "E1"
    assert not req.wants("a@x.example", N.FAILURE)  # NEVER
    assert req.wants("b@x.example", N.FAILURE)  # the default: FAILURE,DELAY
    assert req.wants("b@x.example", N.DELAY)
    assert not req.wants("b@x.example", N.SUCCESS)
    assert req.orcpt == {"b@x.example": ORCPT}
    assert (
        DsnRequest.from_smtp(smtp.MailParameters(), {"c@x.example": rcpts["c@x.example"]}) is None
    )


def test_notify_never_suppresses_the_bounce(tmp_path: Path) -> None:
    handler = Sink()
    handler.reject.add("bad@remote.example")
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock = Clock()
        relay, queue, store = make_relay(tmp_path, port, clock)
        dsn = DsnRequest(notify={"bad@remote.example": frozenset()})
        queue.enqueue("ann@a.example", ["bad@remote.example"], MSG, now=clock.now, dsn=dsn)
        asyncio.run(relay.run_once())
    finally:
        controller.stop()
    assert len(queue) == 0
    assert read_inbox(store) == []


def test_relayed_notice_to_a_peer_without_dsn(tmp_path: Path) -> None:
    handler = Sink()  # aiosmtpd does not offer DSN
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock = Clock()
        relay, queue, store = make_relay(tmp_path, port, clock)
        dsn = DsnRequest(
            ret=smtp.Ret.FULL,
            envid="ENV-42",
            notify={"far@remote.example": frozenset({N.SUCCESS, N.FAILURE})},
            orcpt={"far@remote.example": ORCPT},
        )
        queue.enqueue("ann@a.example", ["far@remote.example"], MSG, now=clock.now, dsn=dsn)
        # The request survives a restart of the queue.
        assert queue.entries()[0].recipients[0].notify == ["FAILURE", "SUCCESS"]
        asyncio.run(relay.run_once())
    finally:
        controller.stop()
    assert [m[2] for m in handler.messages] == [MSG]
    (notice,) = read_inbox(store)
    msg, status, _ = _dsn_fields_full(notice)
    assert msg.headers.get("Subject") == "Mail Relay Report"
    assert "Original-Envelope-Id: ENV-42" in status
    assert "Original-Recipient: rfc822; far@remote.example" in status
    assert "Action: relayed" in status
    assert "Status: 2.0.0" in status


def _dsn_fields_full(raw: bytes) -> tuple[mime.Message, str, bytes]:
    msg = mime.parse(raw.split(b"\r\n", 1)[1])
    assert msg.content_type == "multipart/report"
    _, status, original = msg.parts
    assert status.content_type == "message/delivery-status"
    # RET=FULL: the whole message comes back as message/rfc822.
    assert original.content_type == "message/rfc822"
    assert bytes(original.parts[0]) == MSG
    return msg, status.decoded().decode(), bytes(original.parts[0])


def test_local_notify_success_gets_delivered_dsn(tmp_path: Path) -> None:
    clock = Clock()
    relay, _, store = make_relay(tmp_path, free_port(), clock)
    dsn = DsnRequest(notify={"ann@a.example": frozenset({N.SUCCESS})}, envid="E9")
    results = asyncio.run(
        relay.mda.deliver("ann@a.example", ["ann@a.example"], MSG, dsn=dsn, delivery_id="QX")
    )
    assert [r.ok for r in results] == [True]
    original, notice = read_inbox(store)
    assert original == b"Return-Path: <ann@a.example>\r\n" + MSG
    msg, status, headers = dsn_fields(notice)
    assert msg.headers.get("Subject") == "Successful Mail Delivery Report"
    assert "Action: delivered" in status
    assert "Original-Envelope-Id: E9" in status
    assert "Subject: relay test" in headers


def test_dsn_parameters_pass_to_a_dsn_capable_peer(tmp_path: Path) -> None:
    with running_sink(tmp_path) as (port, dump):
        clock = Clock()
        relay, queue, store = make_relay(tmp_path, port, clock)
        dsn = DsnRequest(
            ret=smtp.Ret.HDRS,
            envid="ENV7",
            notify={"far@remote.example": frozenset({N.SUCCESS, N.DELAY})},
            orcpt={"far@remote.example": ORCPT},
        )
        queue.enqueue("ann@a.example", ["far@remote.example"], MSG, now=clock.now, dsn=dsn)
        asyncio.run(relay.run_once())
        (text,) = dumps(dump, 1)
    assert b"X-Mail-Args: <ann@a.example> RET=HDRS ENVID=ENV7" in text
    assert (
        b"X-Rcpt-Args: <far@remote.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;far@remote.example"
        in text
    )
    # The DSN-capable peer took the request over: no notice from us.
    assert read_inbox(store) == []
