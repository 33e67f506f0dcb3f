"""The relay keeps the message's BODY type (RFC 6152, RFC 3030) and honours it.

Real next hops: a mailproto ServerConnection server (tests/smtp/_asyncio_server)
configured with and without CHUNKING, BINARYMIME and 8BITMIME, and aiosmtpd
(8BITMIME, DATA only).  What is checked is what arrived there: the octets of a
BINARYMIME message unchanged over BDAT to a hop that takes them; otherwise a
converted message that fits the hop (CRLF lines, no NUL, ASCII for a 7-bit
hop) and whose every part decodes to the original octets; and a 5.6.3 bounce
when no conversion is possible.  The queue keeps the type across restarts and
still loads entries written before it did.  End to end, the two demo servers
pass a BINARYMIME message from SMTP intake to the other's mailbox unchanged
(this needs the intake to hand BODY to ``MDA.deliver``: smtp_service.py).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from mailproto import mime, smtp
from mailproto.limits import SMTPLimits
from mailserver.directory import Directory, make_account
from mailserver.maildir import Store
from mailserver.mda import MDA
from mailserver.queue import Queue
from mailserver.relay import Failure, build_dsn, send_message
from tests.examples.relay_support import Clock, Sink, dsn_fields, free_port, make_relay, read_inbox
from tests.examples.test_e2e_support import MANOLO, A, B, ServerThread, recv_until, wait_for
from tests.smtp._asyncio_server import ThreadedServer, threaded_server

pytestmark = pytest.mark.interop

BINARYMIME = smtp.Body.BINARY_MIME

# Every octet value, and the shapes that end DATA early at a hop that reads
# a bare LF as a line end (SMTP smuggling): harmless inside a BDAT chunk,
# fatal for a binary part if "repaired" into CRLF.
PAYLOAD = bytes(range(256)) * 4 + b"\n.\n\r.\r\n.\r\x00\x00\r\n.\r\nQUIT\r\n"

BINARY_MSG = (
    b"From: Ann <ann@a.example>\r\nTo: far@remote.example\r\nSubject: binary mime\r\n"
    b"Message-ID: <bin1@a.example>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="=_bnd"\r\n'
    b"Content-Transfer-Encoding: binary\r\n\r\n"
    b"--=_bnd\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    + "Gr\u00fc\u00dfe, here is the file and a log with Unix line ends.\r\n".encode()
    + b"\r\n--=_bnd\r\nContent-Type: application/octet-stream; name=blob.bin\r\n"
    b"Content-Transfer-Encoding: binary\r\n\r\n"
    + PAYLOAD
    + b"\r\n--=_bnd\r\nContent-Type: text/plain; charset=us-ascii\r\n"
    b"Content-Transfer-Encoding: binary\r\n\r\n"
    b"first\nsecond\n.\nthird" + b"x" * 1500 + b"\r\n--=_bnd--\r\n"
)

# Not MIME at the top (no MIME-Version): there is no transfer encoding to
# change, so its bare line ends and NUL cannot be made to fit a text hop.
NOT_MIME = (
    b"From: Ann <ann@a.example>\r\nTo: far@remote.example\r\nSubject: raw\r\n\r\nraw\nbytes\x00\r\n"
)

_BARE = re.compile(rb"\r(?!\n)|(?<!\r)\n")


def _fits(data: bytes, *, eight_bit: bool) -> bool:
    """What a 7BIT/8BITMIME hop may receive (RFC 5321 §2.3.8, §4.5.3.1.6; RFC 6152)."""
    if _BARE.search(data) or b"\x00" in data or (not eight_bit and not data.isascii()):
        return False
    return all(len(line) <= 998 for line in data.split(b"\r\n"))


def _leaves(raw: bytes) -> list[tuple[str, bytes]]:
    return [(p.content_type, p.decoded()) for p in mime.parse(raw).walk() if not p.is_multipart]


@pytest.fixture
def binary_hop() -> Iterator[ThreadedServer]:
    """A hop offering CHUNKING and BINARYMIME (and refusing bare line ends in text)."""
    with threaded_server(smtp.ServerConfig(hostname="hop.example")) as server:
        yield server


def _relay_once(tmp_path: Path, port: int, data: bytes, body: smtp.Body | None) -> Store:
    clock = Clock()
    relay, queue, store = make_relay(tmp_path, port, clock)
    queue.enqueue("ann@a.example", ["far@remote.example"], data, now=clock.now, body=body)
    asyncio.run(relay.run_once())
    assert len(queue) == 0
    return store


def test_binarymime_hop_gets_the_octets_unchanged_over_bdat(
    tmp_path: Path, binary_hop: ThreadedServer
) -> None:
    store = _relay_once(tmp_path, binary_hop.port, BINARY_MSG, BINARYMIME)
    (received,) = binary_hop.store.messages
    assert received.data == BINARY_MSG  # byte for byte: no line-end "repair"
    assert received.mail_from.parameters.body is BINARYMIME
    assert binary_hop.store.errors == []
    assert read_inbox(store) == []  # no bounce


def test_send_message_passes_the_body_type(binary_hop: ThreadedServer) -> None:
    (result,) = asyncio.run(
        send_message(
            "127.0.0.1",
            binary_hop.port,
            helo="mx.a.example",
            sender="ann@a.example",
            recipients=["far@remote.example"],
            data=NOT_MIME,
            body=BINARYMIME,
        )
    )
    assert result.ok
    (received,) = binary_hop.store.messages
    assert received.data == NOT_MIME
    assert received.mail_from.parameters.body is BINARYMIME


@pytest.mark.parametrize(
    ("config", "eight_bit"),
    [
        # CHUNKING without BINARYMIME: BDAT, but 8BITMIME text only.
        (smtp.ServerConfig(binarymime=False), True),
        # Neither CHUNKING nor 8BITMIME: DATA, 7-bit.
        (smtp.ServerConfig(chunking=False, binarymime=False, eightbitmime=False), False),
    ],
    ids=["chunking-8bitmime", "7bit-only"],
)
def test_binarymime_to_a_hop_without_it_is_converted(
    tmp_path: Path, config: smtp.ServerConfig, eight_bit: bool
) -> None:
    with threaded_server(config) as hop:
        store = _relay_once(tmp_path, hop.port, BINARY_MSG, BINARYMIME)
        (received,) = hop.store.messages
        assert hop.store.errors == []
    assert read_inbox(store) == []
    assert _fits(received.data, eight_bit=eight_bit)
    assert _leaves(received.data) == _leaves(BINARY_MSG)  # no loss (RFC 3030 §3)
    expected = smtp.Body.EIGHT_BIT_MIME if eight_bit else None
    assert received.mail_from.parameters.body is expected
    msg = mime.parse(received.data)
    assert msg.headers.get("Subject") == "binary mime"
    ctes = [p.content_transfer_encoding for p in msg.walk()]
    assert "binary" not in ctes
    assert ctes[0] == ("8bit" if eight_bit else "7bit")


def test_binarymime_to_aiosmtpd_is_converted(tmp_path: Path) -> None:
    handler = Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        store = _relay_once(tmp_path, port, BINARY_MSG, BINARYMIME)
    finally:
        controller.stop()
    assert read_inbox(store) == []
    ((_, rcpts, data),) = handler.messages
    assert rcpts == ["far@remote.example"]
    assert _fits(data, eight_bit=True)
    assert _leaves(data) == _leaves(BINARY_MSG)


def test_unconvertible_binarymime_bounces_5_6_3(tmp_path: Path) -> None:
    with threaded_server(smtp.ServerConfig(binarymime=False)) as hop:
        store = _relay_once(tmp_path, hop.port, NOT_MIME, BINARYMIME)
        assert hop.store.messages == []
    (bounce,) = read_inbox(store)
    _, status, headers = dsn_fields(bounce)
    assert "Status: 5.6.3" in status
    assert "Action: failed" in status
    assert "BINARYMIME" in status
    assert "Subject: raw" in headers


@pytest.mark.parametrize(("binarymime", "delivered"), [(True, True), (False, False)])
def test_size_is_checked_on_what_is_sent(tmp_path: Path, binarymime: bool, delivered: bool) -> None:
    # SIZE (RFC 1870) just above the message: it fits as BINARYMIME, but not
    # once converted (base64 takes 4 octets for 3).  The relay compares the
    # octets it would send with SIZE before MAIL, and bounces with 5.3.4.
    limits = SMTPLimits(message_size=len(BINARY_MSG) + 16)
    with threaded_server(smtp.ServerConfig(binarymime=binarymime), limits) as hop:
        store = _relay_once(tmp_path, hop.port, BINARY_MSG, BINARYMIME)
        got = [m.data for m in hop.store.messages]
    if delivered:
        assert got == [BINARY_MSG]
        assert read_inbox(store) == []
    else:
        assert got == []
        (bounce,) = read_inbox(store)
        assert "Status: 5.3.4" in dsn_fields(bounce)[1]


def test_8bit_text_to_a_7bit_hop_is_converted_not_bounced(tmp_path: Path) -> None:
    text = "Gr\u00fc\u00dfe aus K\u00f6ln, und noch etwas ASCII dazu, damit es lesbar bleibt.\r\n"
    raw = (
        b"From: ann@a.example\r\nTo: far@remote.example\r\nSubject: 8bit\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + (text * 3).encode()
    )
    config = smtp.ServerConfig(chunking=False, binarymime=False, eightbitmime=False)
    with threaded_server(config) as hop:
        store = _relay_once(tmp_path, hop.port, raw, smtp.Body.EIGHT_BIT_MIME)
        (received,) = hop.store.messages
    assert read_inbox(store) == []
    assert _fits(received.data, eight_bit=False)
    msg = mime.parse(received.data)
    assert msg.content_transfer_encoding == "quoted-printable"  # RFC 6152 §3 conversion
    assert msg.text() == text * 3


@pytest.mark.parametrize("eightbitmime", [True, False])
def test_lines_over_998_octets_are_re_encoded_for_the_next_hop(
    tmp_path: Path, eightbitmime: bool
) -> None:
    # Intake takes long lines (as most MTAs do); RFC 5321 §4.5.3.1.6 and RFC
    # 5322 §2.1.1 do not let them travel on: the part is re-encoded
    # (quoted-printable soft line breaks, or base64 for text that is mostly
    # 8-bit), its content unchanged.
    long_line = ("caf\u00e9 " if eightbitmime else "cafe ") * 600
    raw = (
        b"From: ann@a.example\r\nTo: far@remote.example\r\nSubject: long\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + long_line.encode() + b"\r\nshort\r\n"
    )
    config = smtp.ServerConfig(chunking=False, binarymime=False, eightbitmime=eightbitmime)
    with threaded_server(config) as hop:
        store = _relay_once(tmp_path, hop.port, raw, smtp.Body.EIGHT_BIT_MIME)
        (received,) = hop.store.messages
    assert read_inbox(store) == []
    assert _fits(received.data, eight_bit=eightbitmime)
    msg = mime.parse(received.data)
    assert msg.content_transfer_encoding in ("quoted-printable", "base64")
    assert msg.text() == long_line + "\r\nshort\r\n"


def test_long_lines_that_cannot_be_re_encoded_are_sent_as_they_are(
    tmp_path: Path, binary_hop: ThreadedServer
) -> None:
    # Not MIME: nothing to re-encode.  Sent unchanged (the next hop decides),
    # not bounced: many MTAs accept such lines.
    raw = b"Subject: long\r\n\r\n" + b"y" * 1500 + b"\r\n"
    store = _relay_once(tmp_path, binary_hop.port, raw, None)
    (received,) = binary_hop.store.messages
    assert received.data == raw
    assert read_inbox(store) == []


@pytest.mark.parametrize("body", [smtp.Body.EIGHT_BIT_MIME, None])
def test_a_binary_label_without_binarymime_is_converted(
    tmp_path: Path, binary_hop: ThreadedServer, body: smtp.Body | None
) -> None:
    # The sender said 8BITMIME (or nothing) but labelled a part "binary":
    # RFC 3030 §3 allows that label with BODY=BINARYMIME only.  Even to a hop
    # that offers BINARYMIME, the message goes as text, so the part is
    # re-encoded instead of travelling mislabelled; its content is kept.
    raw = (
        b"From: ann@a.example\r\nTo: far@remote.example\r\nSubject: label\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        b"--b\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: (sic) Binary\r\n\r\n"
        + "caf\u00e9 \x01\x02 bytes\r\nline two".encode()
        + b"\r\n--b--\r\n"
    )
    store = _relay_once(tmp_path, binary_hop.port, raw, body)
    (received,) = binary_hop.store.messages
    assert read_inbox(store) == []
    assert received.mail_from.parameters.body is not BINARYMIME
    ctes = [p.content_transfer_encoding for p in mime.parse(received.data).walk()]
    assert "binary" not in ctes
    assert _fits(received.data, eight_bit=True)
    assert _leaves(received.data) == _leaves(raw)


def test_8bit_header_to_a_7bit_hop_still_bounces(tmp_path: Path) -> None:
    raw = "Subject: caf\u00e9\r\nMIME-Version: 1.0\r\n\r\nascii body\r\n".encode()
    config = smtp.ServerConfig(chunking=False, binarymime=False, eightbitmime=False)
    with threaded_server(config) as hop:
        store = _relay_once(tmp_path, hop.port, raw, smtp.Body.EIGHT_BIT_MIME)
        assert hop.store.messages == []
    (bounce,) = read_inbox(store)
    assert "Status: 5.6.3" in dsn_fields(bounce)[1]


@pytest.mark.parametrize("body", [None, smtp.Body.SEVEN_BIT, smtp.Body.EIGHT_BIT_MIME])
def test_text_bodies_still_get_crlf_even_over_bdat(
    tmp_path: Path, binary_hop: ThreadedServer, body: smtp.Body | None
) -> None:
    raw = b"Subject: lines\r\n\r\none\nsmuggled\n.\r\nRSET\r\n"
    _relay_once(tmp_path, binary_hop.port, raw, body)
    (received,) = binary_hop.store.messages
    assert received.data == b"Subject: lines\r\n\r\none\r\nsmuggled\r\n.\r\nRSET\r\n"
    assert received.mail_from.parameters.body is not BINARYMIME


# -- the queue and the MDA ------------------------------------------------------------------


def test_the_body_type_survives_a_restart(tmp_path: Path) -> None:
    queue = Queue(tmp_path)
    entry = queue.enqueue("ann@a.example", ["far@remote.example"], BINARY_MSG, body=BINARYMIME)
    assert entry.body == "BINARYMIME"
    (loaded,) = Queue(tmp_path).entries()
    assert loaded.body == "BINARYMIME"
    assert loaded.body_type is BINARYMIME
    assert json.loads((tmp_path / f"{entry.id}.env").read_bytes())["body"] == "BINARYMIME"


def test_an_entry_written_before_the_change_still_loads(
    tmp_path: Path, binary_hop: ThreadedServer
) -> None:
    # An .env file exactly as the previous version wrote it: no "body" key.
    qdir = tmp_path / "queue"
    qdir.mkdir()
    old_env = {
        "id": "OLD1",
        "sender": "ann@a.example",
        "recipients": [
            {
                "address": "far@remote.example",
                "status": "pending",
                "last_reply": "",
                "last_status": "",
                "notify": None,
                "orcpt": None,
                "delay_notified": False,
            }
        ],
        "created": 1000.0,
        "next_attempt": 1000.0,
        "attempts": 0,
        "ret": None,
        "envid": None,
    }
    (qdir / "OLD1.msg").write_bytes(b"Subject: old\r\n\r\nunix\nline\n")
    (qdir / "OLD1.env").write_text(json.dumps(old_env))
    clock = Clock()
    clock.now = 2000.0
    relay, queue, _ = make_relay(tmp_path, binary_hop.port, clock)
    (entry,) = queue.entries()
    assert entry.body is None and entry.body_type is None
    asyncio.run(relay.run_once())
    # Relayed as text, as before the body type was kept.
    (received,) = binary_hop.store.messages
    assert received.data == b"Subject: old\r\n\r\nunix\r\nline\r\n"
    assert len(queue) == 0


def test_a_damaged_body_value_is_not_trusted(tmp_path: Path) -> None:
    queue = Queue(tmp_path)
    entry = queue.enqueue("ann@a.example", ["far@remote.example"], b"x\r\n")
    env = json.loads((tmp_path / f"{entry.id}.env").read_bytes())
    env["body"] = "SOMETHING"
    (tmp_path / f"{entry.id}.env").write_text(json.dumps(env))
    (loaded,) = Queue(tmp_path).entries()
    assert loaded.body is None


def test_mda_queues_the_body_type_and_stores_local_copies_as_they_are(tmp_path: Path) -> None:
    directory = Directory(domains=["a.example"], accounts=[make_account("ann@a.example", "pw")])
    store = Store(tmp_path / "mail")
    queue = Queue(tmp_path / "queue")
    mda = MDA(store, directory, queue=queue, use_executor=False)
    results = asyncio.run(
        mda.deliver(
            "bob@remote.example",
            ["ann@a.example", "far@remote.example"],
            BINARY_MSG,
            body=BINARYMIME,
        )
    )
    assert all(r.ok for r in results)
    (entry,) = queue.entries()
    assert entry.body == "BINARYMIME"
    assert [r.address for r in entry.recipients] == ["far@remote.example"]
    (local,) = read_inbox(store)
    assert local == b"Return-Path: <bob@remote.example>\r\n" + BINARY_MSG


def test_full_dsn_of_a_binary_message_encloses_it_converted() -> None:
    dsn = build_dsn(
        reporting_mta="mx.a.example",
        sender="ann@a.example",
        original=BINARY_MSG,
        failures=[Failure(recipient="far@remote.example", status="5.6.3", diagnostic="x")],
        full=True,
    )
    assert _fits(dsn, eight_bit=True)
    report = mime.parse(dsn)
    enclosed = report.parts[2]
    assert enclosed.content_type == "message/rfc822"
    (original,) = enclosed.parts
    assert original.headers.get("Subject") == "binary mime"
    assert _leaves(bytes(original)) == _leaves(BINARY_MSG)
    # Not convertible at all: the header section is returned instead.
    dsn = build_dsn(
        reporting_mta="mx.a.example",
        sender="ann@a.example",
        original=NOT_MIME,
        failures=[Failure(recipient="far@remote.example", status="5.6.3", diagnostic="x")],
        full=True,
    )
    assert mime.parse(dsn).parts[2].content_type == "text/rfc822-headers"


# -- end to end: SMTP intake -> queue -> relay -> the other demo server ------------------


def test_binarymime_through_the_demo_servers_arrives_unchanged(server: ServerThread) -> None:
    """BDAT with BODY=BINARYMIME to a list at one demo server whose member is
    at the other: the intake records the type, the relay sends it with BDAT
    (the other server offers BINARYMIME), and the octets arrive unchanged."""
    sock = socket.create_connection(("127.0.0.1", server.port(A, "smtp")), timeout=10)
    try:
        recv_until(sock, b"\r\n")
        sock.sendall(
            b"EHLO e2e.example\r\nMAIL FROM:<ann@a.example> BODY=BINARYMIME\r\n"
            b"RCPT TO:<profes@iesfbmoll.example>\r\n"
            b"BDAT " + str(len(BINARY_MSG)).encode() + b" LAST\r\n" + BINARY_MSG
        )
        assert b"250 2.0.0 OK queued" in recv_until(sock, b"queued")
    finally:
        sock.close()

    def arrived() -> list[bytes]:
        return [m for m in server.messages(B, MANOLO) if b"Subject: binary mime" in m]

    assert wait_for(lambda: bool(arrived()))
    (copy,) = arrived()
    assert copy.endswith(BINARY_MSG)  # after the trace fields, byte for byte
