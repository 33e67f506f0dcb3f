"""Round trips: whatever the builder is given, mailproto and stdlib ``email`` read back."""

from __future__ import annotations

import email
import email.message
import email.policy
from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from mailproto import mime
from mailproto.imf.addresses import Address
from mailproto.mime.builder import MessageBuilder
from tests.mime_build.checker import check_message
from tests.mime_build.strategies import (
    attachments,
    body_text,
    display_names,
    domains,
    header_text,
    local_parts,
)

addresses = st.builds(
    lambda name, local, domain: Address(display_name=name, local_part=local, domain=domain),
    display_names,
    local_parts,
    domains,
)


def _norm(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _unescape(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8")


def _nows(text: str) -> str:
    return "".join(text.split())


def _triple(a: Address) -> tuple[str, str, str]:
    return a.display_name, a.local_part, a.domain


@given(
    sender=addresses,
    rcpts=st.lists(addresses, min_size=1, max_size=4),
    subject=header_text,
    text=st.one_of(st.none(), body_text),
    html=st.one_of(st.none(), body_text),
    files=attachments,
    utf8=st.booleans(),
    eight=st.booleans(),
)
def test_round_trip_mailproto(
    sender: Address,
    rcpts: list[Address],
    subject: str,
    text: str | None,
    html: str | None,
    files: list[tuple[bytes, str, str | None]],
    utf8: bool,
    eight: bool,
) -> None:
    b = MessageBuilder(utf8=utf8, allow_8bit=eight)
    b.from_(sender).to(rcpts).subject(subject)
    b.date(datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc))
    b.message_id(domain="example.com")
    if text is not None:
        b.text(text)
    if html is not None:
        b.html(html)
    for data, filename, ctype in files:
        b.attach(data, filename, ctype)
    raw = b.as_bytes()
    assert check_message(raw, utf8=utf8) == []
    msg = mime.parse(raw)
    assert msg.headers.get("Subject") == subject
    assert [_triple(a) for a in msg.headers.addresses("From")] == [_triple(sender)]
    assert [_triple(a) for a in msg.headers.addresses("To")] == [_triple(a) for a in rcpts]
    leaves = [p for p in msg.walk() if not p.is_multipart]
    bodies = [t for t in (text, html) if t is not None] or ([] if files else [""])
    assert len(leaves) == len(bodies) + len(files)
    for leaf, expected in zip(leaves, bodies):
        assert _norm(leaf.text()) == _norm(expected)
    for leaf, (data, filename, ctype) in zip(leaves[len(bodies) :], files):
        assert leaf.filename == filename
        assert leaf.decoded() == data
        if ctype is not None:
            assert leaf.content_type == ctype
    if text is not None and html is not None:
        alt = next(p for p in msg.walk() if p.content_type == "multipart/alternative")
        assert [p.content_type for p in alt.parts] == ["text/plain", "text/html"]


@given(
    sender=addresses,
    rcpts=st.lists(addresses, min_size=1, max_size=3),
    subject=header_text,
    text=body_text,
    files=attachments,
    utf8=st.booleans(),
)
def test_round_trip_stdlib(
    sender: Address,
    rcpts: list[Address],
    subject: str,
    text: str,
    files: list[tuple[bytes, str, str | None]],
    utf8: bool,
) -> None:
    b = MessageBuilder(utf8=utf8)
    b.from_(sender).to(rcpts).subject(subject).text(text)
    for data, filename, ctype in files:
        b.attach(data, filename, ctype)
    raw = b.as_bytes()
    e = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(e, email.message.EmailMessage)
    assert e.defects == []
    assert _unescape(str(e["Subject"])) == subject
    to = e["To"].addresses
    # stdlib puts a space between adjacent encoded words of a display name
    # (RFC 2047 §6.2 says the whitespace there is dropped) and turns a TAB
    # inside one into a space, so display names are compared without
    # whitespace; the exact comparison is done against mailproto's parser.
    # With RFC 6532 output stdlib's parser keeps raw UTF-8 in address
    # phrases as surrogate escapes (its documented behaviour for 8-bit
    # header bytes): undo that to compare.
    assert [(_nows(_unescape(a.display_name)), a.username, a.domain) for a in to] == [
        (_nows(a.display_name), a.local_part, a.domain) for a in rcpts
    ]
    leaves = [p for p in e.walk() if not p.is_multipart()]
    assert len(leaves) == 1 + len(files)
    body = leaves[0].get_content()
    assert _norm(body) == _norm(text)
    for leaf, (data, filename, _) in zip(leaves[1:], files):
        assert leaf.get_filename() == filename
        assert leaf.get_payload(decode=True) == data
