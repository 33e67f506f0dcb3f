"""ENVELOPE, BODYSTRUCTURE and sections from mime trees (RFC 9051 §6.4.5, §7.5.2)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailproto import mime
from mailproto.imap.codec import parse_command, serialize_response
from mailproto.imap.structure import (
    binary_section,
    body_structure,
    envelope,
    section_bytes,
    section_data,
)
from mailproto.imap.types import Address, MultipartBody, Section, SectionRequest, SinglePartBody
from mailproto.imap.types import commands as C
from mailproto.imap.types import responses as R


def _part(headers: str, body: str) -> str:
    return headers + "\r\n\r\n" + body


def _multipart(boundary: str, subtype: str, parts: list[str], headers: str = "") -> str:
    head = f"{headers}Content-Type: multipart/{subtype}; boundary={boundary}"
    inner = "".join(f"--{boundary}\r\n{p}\r\n" for p in parts)
    return f"{head}\r\n\r\n{inner}--{boundary}--\r\n"


def rfc3501_example() -> bytes:
    """The message whose part numbers RFC 3501 §6.4.5 tabulates."""
    inner3 = _multipart(
        "i3",
        "mixed",
        [
            _part("Content-Type: text/plain", "3.1 text"),
            _part("Content-Type: application/octet-stream", "3.2 data"),
        ],
        headers="Subject: three\r\n",
    )
    alt = _multipart(
        "alt",
        "alternative",
        [
            _part("Content-Type: text/plain", "4.2.2.1 text"),
            _part("Content-Type: text/richtext", "4.2.2.2 rich"),
        ],
    )
    inner42 = _multipart(
        "i42",
        "mixed",
        [_part("Content-Type: text/plain", "4.2.1 text"), alt.rstrip("\r\n")],
        headers="Subject: four-two\r\n",
    )
    part4 = _multipart(
        "p4",
        "mixed",
        [
            _part("Content-Type: image/gif\r\nContent-Transfer-Encoding: base64", "R0lGODlh"),
            _part("Content-Type: message/rfc822", inner42.rstrip("\r\n")),
        ],
    )
    top = _multipart(
        "top",
        "mixed",
        [
            _part("Content-Type: text/plain", "part one"),
            _part("Content-Type: application/octet-stream", "part two"),
            _part("Content-Type: message/rfc822", inner3.rstrip("\r\n")),
            part4.rstrip("\r\n"),
        ],
        headers="From: a@example.org\r\nSubject: top\r\nMIME-Version: 1.0\r\n",
    )
    return top.encode()


def _section(text: str) -> Section:
    command = parse_command(f"a FETCH 1 BODY[{text}]\r\n".encode())
    assert isinstance(command, C.Fetch) and isinstance(command.attributes, tuple)
    request = command.attributes[0]
    assert isinstance(request, SectionRequest)
    return request.section


def test_rfc3501_part_numbering() -> None:
    msg = mime.parse(rfc3501_example())

    def get(spec: str) -> bytes | None:
        return section_bytes(msg, _section(spec))

    assert get("1") == b"part one"
    assert get("2") == b"part two"
    assert (
        get("3.HEADER") == b"Subject: three\r\nContent-Type: multipart/mixed; boundary=i3\r\n\r\n"
    )
    assert get("3.1") == b"3.1 text"
    assert get("3.2") == b"3.2 data"
    assert get("4.1") == b"R0lGODlh"
    assert get("4.1.MIME") == (
        b"Content-Type: image/gif\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    )
    assert get("4.2.HEADER").startswith(b"Subject: four-two\r\n")  # type: ignore[union-attr]
    assert get("4.2.1") == b"4.2.1 text"
    assert get("4.2.2.1") == b"4.2.2.1 text"
    assert get("4.2.2.2") == b"4.2.2.2 rich"
    assert get("HEADER") == (
        b"From: a@example.org\r\nSubject: top\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=top\r\n\r\n"
    )
    assert get("TEXT").startswith(b"--top\r\n")  # type: ignore[union-attr]
    assert get("") == rfc3501_example()
    assert get("5") is None and get("1.HEADER") is None and get("3.3") is None
    structure = body_structure(msg)
    assert isinstance(structure, MultipartBody) and len(structure.parts) == 4
    three = structure.parts[2]
    assert isinstance(three, SinglePartBody) and three.envelope is not None
    assert three.envelope.subject == "three"
    assert binary_section(msg, (4, 1)) == BINARY_GIF


BINARY_GIF = b"GIF89a"


def test_header_fields_and_not_and_partial() -> None:
    msg = mime.parse(
        b"From: a@b.c\r\nTo: d@e.f\r\nSubject: s\r\n  folded\r\nX-Y: z\r\n\r\nbody text\r\n"
    )
    fields = section_bytes(msg, Section(text="HEADER.FIELDS", fields=("SUBJECT", "to")))
    assert fields == b"To: d@e.f\r\nSubject: s\r\n  folded\r\n\r\n"
    rest = section_bytes(msg, Section(text="HEADER.FIELDS.NOT", fields=("Subject", "To")))
    assert rest == b"From: a@b.c\r\nX-Y: z\r\n\r\n"
    data = section_data(msg, SectionRequest(section=Section(text="TEXT"), partial=(5, 3)))
    assert data.data == b"tex" and data.origin == 5
    # An origin past the end is an empty string (RFC 9051 §6.4.5).
    assert section_data(msg, SectionRequest(partial=(10_000, 5))).data == b""
    # BODY[1] of a non-multipart message is its body.
    assert section_bytes(msg, Section(part=(1,))) == b"body text\r\n"


def test_envelope_rules_rfc3501_7_4_2() -> None:
    msg = mime.parse(
        b'From: "Joe Q. Public" <john.q.public@example.com>\r\n'
        b"To: Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>\r\n"
        b"Cc: Undisclosed recipients:;\r\n"
        b"Subject:\r\n"
        b"Message-ID: <1234@local.machine.example>\r\n"
        b"\r\nbody\r\n"
    )
    env = envelope(msg)
    assert env.date is None  # absent: NIL
    assert env.subject == ""  # present but empty: ""
    assert env.from_ == (
        Address(name="Joe Q. Public", mailbox="john.q.public", host="example.com"),
    )
    assert env.sender == env.from_ and env.reply_to == env.from_  # default to From
    assert [a.mailbox for a in env.to] == ["mary", "jdoe", "one"]
    assert env.cc == (Address(mailbox="Undisclosed recipients"), Address())  # empty group
    assert env.message_id == "<1234@local.machine.example>"


def test_envelope_keeps_encoded_words() -> None:
    msg = mime.parse(
        b"From: =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>\r\n"
        b"Subject: =?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n\r\n"
    )
    env = envelope(msg)
    assert env.subject == "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?="
    assert env.from_[0].name == "=?ISO-8859-1?Q?Andr=E9?= Pirard"


def test_envelope_keeps_encoded_words_in_groups() -> None:
    # RFC 3501 §7.4.2: group members' names and the group name are phrases
    # as written too; re-encoding them would change their charset (an
    # ISO-8859-1 word came back as UTF-8 base64).  Dovecot keeps them raw.
    msg = mime.parse(
        b"From: =?ISO-8859-1?Q?caf=E9?=: =?ISO-8859-1?Q?Andr=E9?= <a@x.org>;\r\n"
        b'To: team (the team): "=?ISO-8859-1?Q?Andr=E9?=" <a@x.org>, Bob <b@x.org>;,'
        b" =?ISO-8859-1?Q?Keld_J=F8rn?= <k@x.org>\r\n\r\n"
    )
    env = envelope(msg)
    assert env.from_ == (
        Address(mailbox="=?ISO-8859-1?Q?caf=E9?="),
        Address(name="=?ISO-8859-1?Q?Andr=E9?=", mailbox="a", host="x.org"),
        Address(),
    )
    assert env.to == (
        Address(mailbox="team"),
        Address(name="=?ISO-8859-1?Q?Andr=E9?=", mailbox="a", host="x.org"),
        Address(name="Bob", mailbox="b", host="x.org"),
        Address(),
        Address(name="=?ISO-8859-1?Q?Keld_J=F8rn?=", mailbox="k", host="x.org"),
    )


def test_envelope_keeps_utf8_names_as_written() -> None:
    # An RFC 6532 header with raw UTF-8: the phrase is sent as it is (as
    # Dovecot does), not turned into encoded words.
    msg = mime.parse(b"From: Andr\xc3\xa9 <a@x.org>\r\n\r\n")
    assert envelope(msg).from_[0].name == "Andr\xe9"


def test_bodystructure_known_answer() -> None:
    """Shape of RFC 3501 §7.4.2's BODYSTRUCTURE example, from a real message."""
    raw = (
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n"
        b"--x\r\nContent-Type: text/plain; charset=US-ASCII\r\n\r\n"
        b"line 1\r\nline 2\r\n"
        b"--x\r\nContent-Type: text/plain; charset=US-ASCII; name=cc.diff\r\n"
        b"Content-ID: <960723163407.20117h@cac.washington.edu>\r\n"
        b"Content-Description: Compiler diff\r\n"
        b"Content-Transfer-Encoding: BASE64\r\n\r\n"
        b"AAAA\r\n"
        b"--x--\r\n"
    )
    body = body_structure(mime.parse(raw), extensible=False)
    wire = serialize_response(R.FetchResponse(seq=1, body=body))
    assert wire == (
        b'* 1 FETCH (BODY (("text" "plain" ("charset" "US-ASCII") NIL NIL "7bit" 14 1)'
        b'("text" "plain" ("charset" "US-ASCII" "name" "cc.diff") '
        b'"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4 0) "mixed"))\r\n'
    )


@given(st.binary(max_size=400))
def test_never_raises_on_arbitrary_messages(raw: bytes) -> None:
    msg = mime.parse(raw)
    envelope(msg)
    structure = body_structure(msg)
    serialize_response(R.FetchResponse(seq=1, body_structure=structure))
    for spec in ("", "1", "1.MIME", "TEXT", "HEADER", "2.1.TEXT"):
        section_bytes(msg, _section(spec))
    binary_section(msg, (1,))
