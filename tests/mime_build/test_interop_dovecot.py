"""Built and edited messages through a real IMAP server (Dovecot): APPEND, then FETCH.

Dovecot has its own MIME parser.  For each message we APPEND, FETCH BODY[]
must give back our bytes exactly, and FETCH BODY[<section>] for every leaf
(RFC 3501 §6.4.5 part numbering) must give the body bytes mailproto's
parser finds there: two independent parsers agree on every boundary we
wrote.  The edited message (the IMAP "APPEND after edit" use case) is
checked the same way.
"""

from __future__ import annotations

import imaplib
from collections.abc import Iterator

import pytest

from mailproto import mime
from mailproto.mime.builder import MessageBuilder
from mailproto.mime.editing import MessageEditor
from tests.interop.dovecot import DovecotServer, dovecot_fixture

pytestmark = pytest.mark.interop

dovecot = dovecot_fixture(scope="module")


def _sections(part: mime.Message, path: str) -> Iterator[tuple[str, mime.Message]]:
    """IMAP section numbers of the leaves under ``part`` (RFC 3501 §6.4.5)."""
    if part.is_multipart and part.content_type.startswith("multipart/"):
        for i, child in enumerate(part.parts, 1):
            yield from _sections(child, f"{path}.{i}" if path else str(i))
    elif part.is_multipart:  # message/rfc822: its sections are the enclosed message's
        enclosed = part.parts[0]
        if enclosed.is_multipart and enclosed.content_type.startswith("multipart/"):
            for i, child in enumerate(enclosed.parts, 1):
                yield from _sections(child, f"{path}.{i}")
        else:
            yield f"{path}.1", enclosed
    else:
        yield path or "1", part


def _fetch(imap: imaplib.IMAP4, seq: str, section: str) -> bytes:
    typ, data = imap.fetch(seq, f"(BODY.PEEK[{section}])")
    assert typ == "OK"
    item = data[0]
    assert isinstance(item, tuple)
    return item[1]


def _roundtrip(dovecot: DovecotServer, raw: bytes, folder: str) -> None:
    imap = imaplib.IMAP4(dovecot.host, dovecot.imap_port, timeout=10)
    try:
        imap.login("alice", dovecot.users["alice"])
        imap.create(folder)
        typ, _ = imap.append(folder, None, None, raw)
        assert typ == "OK"
        typ, data = imap.select(folder)
        assert typ == "OK"
        seq = data[0].decode() if isinstance(data[0], bytes) else "1"
        assert _fetch(imap, seq, "") == raw
        msg = mime.parse(raw)
        sections = list(_sections(msg, ""))
        assert sections
        for section, leaf in sections:
            assert _fetch(imap, seq, section) == leaf.raw_body, section
    finally:
        imap.logout()


def _message() -> MessageBuilder:
    inner = MessageBuilder().from_("x@example.org").subject("inner").text("inner text\n")
    inner.attach(b"\x00inner attachment", "in.bin")
    b = MessageBuilder().from_("Zoë <zoe@example.com>").to("alice@example.org")
    b.subject("Grüße — Dovecot interop").message_id(domain="example.com")
    b.text("Hallo\n").html("<p>Hallo</p>")
    b.inline_image(b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "image/png")
    b.attach(bytes(range(256)) * 40, "données.bin")
    b.attach_message(inner)
    return b


def test_built_message_survives_dovecot(dovecot: DovecotServer) -> None:
    _roundtrip(dovecot, _message().as_bytes(), "Built")


def test_edited_message_survives_dovecot(dovecot: DovecotServer) -> None:
    msg = _message().build()
    ed = MessageEditor(msg)
    ed.set_header("Subject", "edited ✓")
    ed.remove_part(msg.parts[1])  # the first attachment
    ed.add_attachment(b"appended after edit", "after.txt")
    enclosed = msg.parts[2].parts[0]
    ed.add_header("X-Inner", "yes", part=enclosed)
    _roundtrip(dovecot, bytes(ed), "Edited")
