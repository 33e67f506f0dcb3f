"""Conversions to and from :class:`email.message.EmailMessage`."""

from __future__ import annotations

import email
import email.message
import email.policy
from pathlib import Path

import pytest

from mailproto import mime
from mailproto.mime.builder import MessageBuilder
from mailproto.mime.editing import edit
from mailproto.mime.stdlib_bridge import (
    email_message_bytes,
    from_email_message,
    to_email_message,
)

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "cpython-email"


def _built() -> MessageBuilder:
    b = MessageBuilder().from_("Zoë <zoe@example.com>").to("bob@example.org")
    b.subject("Grüße").text("Hallo\n").html("<p>Hallo</p>")
    b.attach(b"\x00\x01\x02", "données.bin")
    return b


def test_builder_to_email_message() -> None:
    em = to_email_message(_built())
    assert isinstance(em, email.message.EmailMessage)
    assert em["Subject"] == "Grüße"
    assert em["From"].addresses[0].display_name == "Zoë"
    assert [p.get_filename() for p in em.iter_attachments()] == ["données.bin"]
    body = em.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == "Hallo\n"


def test_parsed_message_and_part_to_email_message() -> None:
    msg = _built().build()
    em = to_email_message(msg)
    assert em.get_content_type() == "multipart/mixed"
    part = to_email_message(msg.parts[1])
    assert part.get_payload(decode=True) == b"\x00\x01\x02"
    assert to_email_message(bytes(msg)).as_bytes() == em.as_bytes()
    assert to_email_message(edit(msg).set_header("Subject", "x"))["Subject"] == "x"


def test_stdlib_built_message_into_mailproto() -> None:
    em = email.message.EmailMessage()
    em["From"] = "Ann <ann@example.com>"
    em["To"] = "Ben <ben@example.org>"
    em["Subject"] = "Ünïcödé subject"
    em.set_content("plain body\n")
    em.add_alternative("<p>html</p>", subtype="html")
    em.add_attachment(b"\xff\xfe", maintype="application", subtype="octet-stream", filename="a.bin")
    msg = from_email_message(em)
    assert msg.headers.get("Subject") == "Ünïcödé subject"
    assert msg.headers.get("To") == "Ben <ben@example.org>"
    raw = bytes(msg)
    assert b"\n" not in raw.replace(b"\r\n", b"")
    leaves = [p for p in msg.walk() if not p.is_multipart]
    assert [p.content_type for p in leaves] == [
        "text/plain",
        "text/html",
        "application/octet-stream",
    ]
    assert leaves[0].text() == "plain body\r\n"
    assert leaves[2].filename == "a.bin"
    assert leaves[2].decoded() == b"\xff\xfe"


def test_utf8_serialisation() -> None:
    em = email.message.EmailMessage()
    em["Subject"] = "Grüße"
    em.set_content("x")
    assert "Subject: Grüße".encode() in email_message_bytes(em, utf8=True)
    assert b"Subject: =?utf-8?" in email_message_bytes(em)


def test_compat32_messages_are_accepted() -> None:
    legacy = email.message_from_bytes(
        b"Subject: old\nContent-Type: text/plain\n\nbody\n", policy=email.policy.compat32
    )
    msg = from_email_message(legacy)
    assert msg.headers.get("Subject") == "old"
    assert msg.text() == "body\r\n"


def test_type_errors() -> None:
    with pytest.raises(TypeError):
        from_email_message(b"raw")  # type: ignore[arg-type]


@pytest.mark.parametrize("path", sorted(CORPUS.glob("msg_*.txt"))[:20], ids=lambda p: p.name)
def test_round_trip_through_stdlib_keeps_structure(path: Path) -> None:
    msg = mime.parse(path.read_bytes())
    back = from_email_message(to_email_message(msg))
    assert [p.content_type for p in back.walk()] == [p.content_type for p in msg.walk()]
    # stdlib's generator writes CRLF and may add a final line ending to a
    # part (an empty part gets one): payloads are compared modulo those.
    for a, b in zip(msg.walk(), back.walk()):
        if not a.is_multipart:
            assert _norm(a.decoded()) == _norm(b.decoded())


def _norm(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").rstrip(b"\n")
