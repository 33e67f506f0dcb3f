"""MessageEditor.set_transfer_encoding and downgrade() (RFC 3030 §3, RFC 6152 §3).

The checks do not trust the code under test: what "fits a transport" means
is written out here again (a regex for bare line ends, line lengths from
splitting), and "content unchanged" compares each leaf's decoded octets
with the original's.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto import mime
from mailproto.codecs import quoted_printable as qp
from mailproto.mime.builder import BuildPolicy
from mailproto.mime.editing import MessageEditor, downgrade

_BARE = re.compile(rb"\r(?!\n)|(?<!\r)\n")


def _fits(data: bytes, allow_8bit: bool) -> bool:
    """RFC 5321 §2.3.8 / §4.5.3.1.6, RFC 6152 §3: CRLF lines of <= 998 octets, no NUL."""
    if _BARE.search(data) or b"\x00" in data:
        return False
    if not allow_8bit and not data.isascii():
        return False
    return all(len(line) <= 998 for line in data.split(b"\r\n"))


def _leaves(raw: bytes) -> list[tuple[str, bytes]]:
    return [(p.content_type, p.decoded()) for p in mime.parse(raw).walk() if not p.is_multipart]


def _mixed(*parts: tuple[str, str, bytes], outer: str = "binary") -> bytes:
    out = [
        b"From: a@example.org\r\nTo: b@example.net\r\nSubject: parts\r\n",
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XyZ\r\n",
        f"Content-Transfer-Encoding: {outer}\r\n\r\n".encode(),
    ]
    for ctype, cte, body in parts:
        out.append(f"--XyZ\r\nContent-Type: {ctype}\r\n".encode())
        out.append(f"Content-Transfer-Encoding: {cte}\r\n\r\n".encode())
        out.append(body + b"\r\n")
    out.append(b"--XyZ--\r\n")
    return b"".join(out)


BINARY = _mixed(
    ("text/plain; charset=utf-8", "8bit", "gr\u00fc\u00dfe, caf\u00e9 ok\r\n".encode()),
    ("application/octet-stream", "binary", bytes(range(256)) * 5),
    ("text/plain", "binary", b"unix\nline ends\nand a NUL \x00 here"),
    ("text/plain", "binary", b"x" * 2000 + b"\r\nshort\r\n"),
)


@pytest.mark.parametrize("allow_8bit", [False, True])
def test_binary_message_converted_content_kept(allow_8bit: bool) -> None:
    out = downgrade(BINARY, allow_8bit=allow_8bit)
    assert out is not None
    assert _fits(out, allow_8bit)
    assert _leaves(out) == _leaves(BINARY)
    msg = mime.parse(out)
    ctes = [p.content_transfer_encoding for p in msg.walk()]
    assert ctes[0] == ("8bit" if allow_8bit else "7bit")  # RFC 2045 §6.4 relabel
    assert "binary" not in ctes
    # Every field other than the transfer encoding is kept byte for byte.
    assert out.startswith(b"From: a@example.org\r\nTo: b@example.net\r\nSubject: parts\r\n")
    # The long text line (CRLF only) goes quoted-printable: readable, exact.
    assert ctes[4] == "quoted-printable"
    # 8-bit text stays 8bit for an 8BITMIME hop (nothing to convert).
    assert ctes[1] == ("8bit" if allow_8bit else "base64")


def test_message_that_fits_is_returned_unchanged() -> None:
    raw = _mixed(("text/plain", "7bit", b"hello"), ("image/png", "base64", b"iVBORw0KGgo="))
    raw = raw.replace(
        b"Transfer-Encoding: binary\r\n\r\n--XyZ", b"Transfer-Encoding: 7bit\r\n\r\n--XyZ"
    )
    assert downgrade(raw) == raw
    eight = _mixed(("text/plain; charset=utf-8", "8bit", "h\u00e9".encode()), outer="8bit")
    assert downgrade(eight, allow_8bit=True) == eight


def test_8bit_text_to_a_7bit_hop_is_quoted_printable() -> None:
    body = ("Gr\u00fc\u00dfe aus K\u00f6ln, und noch viel mehr ASCII Text dazu.\r\n" * 3).encode()
    raw = _mixed(("text/plain; charset=utf-8", "8bit", body), outer="8bit")
    out = downgrade(raw)
    assert out is not None and _fits(out, False)
    assert b"Content-Transfer-Encoding: quoted-printable\r\n" in out
    assert b"Gr=C3=BC=C3=9Fe" in out
    assert _leaves(out) == _leaves(raw)


@pytest.mark.parametrize(
    "raw",
    [
        # Not MIME at the top: nothing to relabel (the task's example).
        b"Subject: x\r\n\r\nbare\nline end\x00\r\n",
        # 8-bit header text cannot go to a 7-bit hop without SMTPUTF8.
        b"Subject: caf\xc3\xa9\r\nMIME-Version: 1.0\r\n\r\nascii\r\n",
        # A header section with bare LF line ends is not on-the-wire text.
        b"Subject: x\nMIME-Version: 1.0\nContent-Transfer-Encoding: binary\n\n\x00\r\n",
        # An encoding nothing here decodes.
        b"MIME-Version: 1.0\r\nContent-Transfer-Encoding: x-gzip\r\n\r\n\x00\x01\r\n",
        # A preamble with a NUL is copied as it is: it can never fit.
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"pre\x00amble\r\n--b\r\n\r\nx\r\n--b--\r\n",
    ],
)
def test_impossible_conversions_give_none(raw: bytes) -> None:
    assert downgrade(raw) is None


def test_not_mime_but_fitting_is_sent_as_it_is() -> None:
    raw = b"Subject: x\r\n\r\nplain text\r\n"
    assert downgrade(raw) == raw


def test_enclosed_message_is_converted_and_relabelled() -> None:
    inner = (
        b"Subject: inner\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: binary\r\n\r\n\x00\xff\n\r"
    )
    raw = (
        b"MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n"
        b"Content-Transfer-Encoding: binary\r\n\r\n" + inner
    )
    out = downgrade(raw)
    assert out is not None and _fits(out, False)
    msg = mime.parse(out)
    assert msg.content_transfer_encoding == "7bit"
    (enclosed,) = msg.parts
    assert enclosed.headers.get("Subject") == "inner"
    assert enclosed.content_transfer_encoding == "base64"
    assert enclosed.decoded() == b"\x00\xff\n\r"


@pytest.mark.parametrize("allow_8bit", [False, True])
def test_enclosed_message_without_an_empty_line_keeps_its_parse(allow_8bit: bool) -> None:
    # Found by the mime_downgrade fuzz target: a message/rfc822 part whose
    # header section runs straight into the enclosed message (no empty
    # line; the enclosed message has no fields and a bare CR).  The field
    # given to the enclosed message must not read as one of the part's.
    raw = _mixed(("text/plain", "7bit", b"before"), ("message/rfc822", "7bit", b""))
    raw = raw.replace(
        b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\r\n",
        b"Content-Type: message/rfc822\r\n\rinner body\r\n",
    )
    assert mime.parse(raw).parts[1].parts[0].raw_body.startswith(b"\rinner")
    out = downgrade(raw, allow_8bit=allow_8bit)
    assert out is not None and _fits(out, allow_8bit)
    assert _leaves(out) == _leaves(raw)
    enclosing = mime.parse(out).parts[1]
    assert enclosing.content_transfer_encoding == "7bit"  # never re-encoded (RFC 2045 §6.4)
    assert enclosing.parts[0].content_transfer_encoding == "quoted-printable"


def _soft_break_before(needle: bytes) -> bytes:
    """Content whose quoted-printable encoding breaks a line just before *needle*."""
    for pad in range(200):
        content = b"NUL \x00 " + b"x" * pad + needle + b" and more"
        if b"=\r\n" + needle in qp.encode(content):
            return content
    raise AssertionError("no padding puts a soft line break there")


@pytest.mark.parametrize("allow_8bit", [False, True])
def test_re_encoded_content_never_starts_a_line_with_an_enclosing_delimiter(
    allow_8bit: bool,
) -> None:
    # Found by the mime_downgrade fuzz target: a part holding "--XyZ" in
    # the middle of a line, re-encoded (it has a NUL).  Quoted-printable's
    # soft line break fell just before it, so the new body had a line
    # starting with the delimiter and a reader split the part there (RFC
    # 2046 §5.1.1).  That line's first "-" is now written as =2D: the same
    # content, no delimiter.
    content = _soft_break_before(b"--XyZ")
    raw = _mixed(("text/plain", "binary", content), ("text/plain", "7bit", b"second"))
    assert [body for _, body in _leaves(raw)] == [content, b"second"]
    out = downgrade(raw, allow_8bit=allow_8bit)
    assert out is not None and _fits(out, allow_8bit)
    assert _leaves(out) == _leaves(raw)
    assert b"=\r\n=2D-XyZ" in out


@pytest.mark.parametrize("allow_8bit", [False, True])
def test_a_binary_part_with_a_delimiter_prefix_becomes_quoted_printable(allow_8bit: bool) -> None:
    # "--XyZtext" is not a delimiter line to a parser (RFC 2046 §5.1.1 wants
    # "--XyZ" then "--", padding or the line end), but the RFC forbids the
    # boundary as any line's prefix, and lenient readers split there.  The
    # part fits 7bit; it is written as quoted-printable instead, that line's
    # "-" escaped.  (Found by the property below.)
    raw = _mixed(("text/plain", "binary", b"--XyZtext "), ("text/plain", "7bit", b"two"))
    assert [body for _, body in _leaves(raw)] == [b"--XyZtext ", b"two"]
    out = downgrade(raw, allow_8bit=allow_8bit)
    assert out is not None and _fits(out, allow_8bit)
    assert _leaves(out) == _leaves(raw)
    assert mime.parse(out).parts[0].content_transfer_encoding == "quoted-printable"
    assert b"\r\n=2D-XyZtext" in out


def test_editing_refuses_identity_content_holding_a_delimiter() -> None:
    raw = _mixed(("text/plain", "7bit", b"one"), ("text/plain", "7bit", b"two"))
    msg = mime.parse(raw)
    editor = MessageEditor(msg)
    with pytest.raises(ValueError, match="delimiter of an enclosing multipart"):
        editor.replace_body(msg.parts[0], b"head\r\n--XyZ--\r\ntail\r\n")
    # Text the builder writes as quoted-printable is escaped instead, and kept.
    text = "line\r\n--XyZ--\r\n" + "\u00e9" * 3
    editor.replace_body(msg.parts[0], text)
    out = editor.as_bytes()
    assert [p.decoded() for p in mime.parse(out).parts] == [text.encode(), b"two"]


def test_message_leaves_keep_identity_encodings() -> None:
    # RFC 2045 §6.4: message/* is composite, never base64/quoted-printable;
    # RFC 6532 §3.7 / RFC 6533 §6 allow it for the message/global* types.
    status = b"Reporting-MTA: dns; x\r\n\r\nFinal-Recipient: rfc822; a@b\x00\r\n"
    plain = _mixed(("message/delivery-status", "binary", status))
    assert downgrade(plain) is None
    msg = mime.parse(plain)
    with pytest.raises(ValueError, match=r"6\.4"):
        MessageEditor(msg).set_transfer_encoding(msg.parts[0], "base64")
    glob = _mixed(("message/global-delivery-status", "binary", status))
    out = downgrade(glob)
    assert out is not None and _fits(out, False)
    assert _leaves(out) == _leaves(glob)
    assert mime.parse(out).parts[0].content_transfer_encoding == "base64"


# -- set_transfer_encoding ----------------------------------------------------------------


def test_set_transfer_encoding_keeps_other_fields_and_content() -> None:
    raw = _mixed(("text/plain; charset=us-ascii; format=flowed", "binary", b"a\nb\n"))
    msg = mime.parse(raw)
    leaf = msg.parts[0]
    out = bytes(MessageEditor(msg).set_transfer_encoding(leaf, "quoted-printable"))
    assert b"Content-Type: text/plain; charset=us-ascii; format=flowed\r\n" in out
    new = mime.parse(out).parts[0]
    # A bare LF in quoted-printable content is escaped, not turned into CRLF.
    assert new.decoded() == b"a\nb\n"
    assert b"a=0Ab=0A" in out


def test_quoted_printable_with_bare_lf_at_the_root_ends_a_line() -> None:
    raw = b"MIME-Version: 1.0\r\nContent-Transfer-Encoding: binary\r\n\r\nx\ny\n"
    msg = mime.parse(raw)
    out = bytes(MessageEditor(msg).set_transfer_encoding(msg, "quoted-printable"))
    # Ends with a soft line break: the data ends a line, so SMTP adds no CRLF
    # of its own (which would decode as content), and none is decoded here.
    assert out.endswith(b"=\r\n")
    assert mime.parse(out).decoded() == b"x\ny\n"


@pytest.mark.parametrize(
    ("encoding", "policy", "content"),
    [
        ("7bit", BuildPolicy(), b"caf\xc3\xa9\r\n"),
        ("7bit", BuildPolicy(), b"a\nb"),
        ("8bit", BuildPolicy(), b"caf\xc3\xa9\r\n"),  # the policy does not allow 8bit
        ("8bit", BuildPolicy(allow_8bit=True), b"x" * 1200),
        ("binary", BuildPolicy(allow_8bit=True), b"x"),
        ("x-unknown", BuildPolicy(), b"x"),
    ],
)
def test_set_transfer_encoding_refuses_what_cannot_carry_the_content(
    encoding: str, policy: BuildPolicy, content: bytes
) -> None:
    raw = b"MIME-Version: 1.0\r\nContent-Transfer-Encoding: binary\r\n\r\n" + content
    msg = mime.parse(raw)
    with pytest.raises(ValueError):
        MessageEditor(msg, policy=policy).set_transfer_encoding(msg, encoding)


def test_containers_are_only_relabelled() -> None:
    msg = mime.parse(BINARY)
    with pytest.raises(ValueError, match=r"6\.4"):
        MessageEditor(msg).set_transfer_encoding(msg, "base64")
    out = bytes(MessageEditor(msg).set_transfer_encoding(msg, "8bit"))
    assert out == BINARY.replace(b"Encoding: binary\r\n\r\n--XyZ", b"Encoding: 8bit\r\n\r\n--XyZ")


# -- properties ---------------------------------------------------------------------------

_CONTENT = st.binary(max_size=300) | st.lists(
    st.sampled_from(
        # (the enclosing boundary, and runs of text that move where
        # quoted-printable breaks a line: finding 7 of docs/howto/fuzzing)
        [
            b"\r",
            b"\n",
            b"\r\n",
            b"text ",
            b"\x00",
            b"\xc3\xa9",
            b"=",
            b"x" * 400,
            b"--XyZ",
            b"x" * 7,
            b"x" * 70,
        ]
    ),
    max_size=12,
).map(b"".join)
_TYPES = st.sampled_from(["text/plain; charset=utf-8", "application/octet-stream", "image/png"])


@given(st.lists(st.tuples(_TYPES, _CONTENT), min_size=1, max_size=4), st.booleans())
def test_any_binary_leaves_convert_with_content_kept(
    parts: list[tuple[str, bytes]], allow_8bit: bool
) -> None:
    raw = _mixed(*[(ctype, "binary", body) for ctype, body in parts])
    if [p.decoded() for p in mime.parse(raw).parts] != [body for _, body in parts]:
        return  # a body that happens to hold a delimiter line: another message
    out = downgrade(raw, allow_8bit=allow_8bit)
    assert out is not None
    assert _fits(out, allow_8bit)
    assert _leaves(out) == _leaves(raw)


@given(_CONTENT, st.booleans())
def test_any_root_body_converts_with_content_kept(body: bytes, allow_8bit: bool) -> None:
    raw = b"MIME-Version: 1.0\r\nContent-Transfer-Encoding: binary\r\n\r\n" + body
    out = downgrade(raw, allow_8bit=allow_8bit)
    assert out is not None and _fits(out, allow_8bit)
    assert mime.parse(out).decoded() == body


@given(st.binary(max_size=400), st.booleans())
def test_arbitrary_bytes_never_raise(raw: bytes, allow_8bit: bool) -> None:
    out = downgrade(raw, allow_8bit=allow_8bit)
    assert out is None or _fits(out, allow_8bit)
