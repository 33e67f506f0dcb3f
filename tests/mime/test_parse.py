"""The lazy MIME tree: RFC examples, multipart edge cases, parameters, decoding."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto import mime
from mailproto.limits import MessageLimits


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


def kinds(part: mime.Message) -> list[str]:
    return [d.kind for d in part.defects]


# RFC 2046 §5.1.1, the example multipart message (quoted verbatim, CRLF).
RFC2046_EXAMPLE = crlf(
    """From: Nathaniel Borenstein <nsb@bellcore.com>
To: Ned Freed <ned@innosoft.com>
Date: Sun, 21 Mar 1993 23:56:48 -0800 (PST)
Subject: Sample message
MIME-Version: 1.0
Content-type: multipart/mixed; boundary="simple boundary"

This is the preamble.  It is to be ignored, though it
is a handy place for composition agents to include an
explanatory note to non-MIME conformant readers.

--simple boundary

This is implicitly typed plain US-ASCII text.
It does NOT end with a linebreak.
--simple boundary
Content-type: text/plain; charset=us-ascii

This is explicitly typed plain US-ASCII text.
It DOES end with a linebreak.

--simple boundary--

This is the epilogue.  It is also to be ignored.
"""
)


@pytest.mark.parametrize("eol", ["crlf", "lf"])
def test_rfc2046_511_example(eol: str) -> None:
    raw = RFC2046_EXAMPLE if eol == "crlf" else RFC2046_EXAMPLE.replace(b"\r\n", b"\n")
    nl = b"\r\n" if eol == "crlf" else b"\n"
    msg = mime.parse(raw)
    assert bytes(msg) == raw
    assert msg.content_type == "multipart/mixed"
    assert msg.boundary == "simple boundary"
    assert msg.is_multipart
    first, second = msg.parts
    assert first.content_type == "text/plain"  # implicitly typed
    assert first.headers.keys() == []
    assert first.decoded() == (
        b"This is implicitly typed plain US-ASCII text." + nl + b"It does NOT end with a linebreak."
    )
    assert second.charset == "us-ascii"
    assert second.text() == (
        "This is explicitly typed plain US-ASCII text.\nIt DOES end with a linebreak.\n"
    ).replace("\n", nl.decode())
    assert msg.preamble is not None
    assert msg.preamble.startswith(b"This is the preamble.")
    assert msg.preamble.endswith(b"non-MIME conformant readers." + nl)
    assert msg.epilogue == nl + b"This is the epilogue.  It is also to be ignored." + nl
    assert msg.defects == []
    # Each part's span is exactly its bytes in the input.
    for part in msg.parts:
        start, end = part.span
        assert raw[start:end] == bytes(part)
    assert [p.content_type for p in msg.walk()] == ["multipart/mixed", "text/plain", "text/plain"]


# RFC 5322 Appendix A.3, resent fields.
A3 = crlf(
    """Resent-From: Mary Smith <mary@example.net>
Resent-To: Jane Brown <j-brown@other.example>
Resent-Date: Mon, 24 Nov 1997 14:22:01 -0800
Resent-Message-ID: <78910@example.net>
From: John Doe <jdoe@machine.example>
To: Mary Smith <mary@example.net>
Subject: Saying Hello
Date: Fri, 21 Nov 1997 09:55:06 -0600
Message-ID: <1234@local.machine.example>

This is a message just to say hello.
So, "Hello".
"""
)

# RFC 5322 Appendix A.5, white space and comments everywhere.
A5 = crlf(
    """From: Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>
To:A Group(Some people)
     :Chris Jones <c@(Chris's host.)public.example>,
         joe@example.org,
  John <jdoe@one.test> (my dear friend); (the end of the group)
Cc:(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;
Date: Thu,
      13
        Feb
          1969
      23:32
               -0330 (Newfoundland Time)
Message-ID:              <testabcd.1234@silly.test>

Testing.
"""
)


def test_rfc5322_a3_resent() -> None:
    msg = mime.parse(A3)
    assert msg.headers.get("Resent-To") == "Jane Brown <j-brown@other.example>"
    assert msg.headers.date("Resent-Date") is not None
    assert msg.text() == 'This is a message just to say hello.\r\nSo, "Hello".\r\n'
    assert msg.content_type == "text/plain"
    assert not msg.is_multipart
    assert msg.parts == []


def test_rfc5322_a5_comments_and_folding() -> None:
    msg = mime.parse(A5)
    h = msg.headers
    assert [a.addr_spec for a in h.addresses("To")] == [
        "c@public.example",
        "joe@example.org",
        "jdoe@one.test",
    ]
    date = h.date()
    assert date is not None
    assert (date.year, date.month, date.day, date.hour, date.minute) == (1969, 2, 13, 23, 32)
    assert h.get("Message-ID") == "<testabcd.1234@silly.test>"
    assert msg.decoded() == b"Testing.\r\n"


def multipart(boundary: str, *bodies: str, close: bool = True, ctype: str = "mixed") -> bytes:
    text = f'Content-Type: multipart/{ctype}; boundary="{boundary}"\n\n'
    for body in bodies:
        text += f"--{boundary}\n{body}\n"
    if close:
        text += f"--{boundary}--\n"
    return crlf(text)


def test_boundaries_that_prefix_each_other() -> None:
    inner = multipart("ab", "\nin1", "\nin2").decode()
    raw = multipart("a", inner.replace("\r\n", "\n"), "\nlast")
    msg = mime.parse(raw)
    types = [(p.depth, p.content_type) for p in msg.walk()]
    assert types == [
        (0, "multipart/mixed"),
        (1, "multipart/mixed"),
        (2, "text/plain"),
        (2, "text/plain"),
        (1, "text/plain"),
    ]
    leaves = [p.decoded() for p in msg.walk() if not p.is_multipart]
    assert leaves == [b"in1", b"in2", b"last"]
    assert msg.defects == []


def test_delimiter_must_be_followed_by_padding_or_eol() -> None:
    raw = crlf(
        'Content-Type: multipart/mixed; boundary="b"\n\n'
        "--b\n\n--bogus line\n--b \t\n\nsecond\n--b--  \nepilogue"
    )
    msg = mime.parse(raw)
    assert [p.decoded() for p in msg.parts] == [b"--bogus line", b"second"]
    assert msg.epilogue == b"epilogue"


def test_close_delimiter_at_end_without_newline() -> None:
    raw = crlf('Content-Type: multipart/mixed; boundary="b"\n\n--b\n\nonly\n--b--')
    msg = mime.parse(raw)
    assert [p.decoded() for p in msg.parts] == [b"only"]
    assert msg.epilogue is None
    assert msg.defects == []


def test_missing_close_delimiter() -> None:
    raw = multipart("b", "\none", "\ntwo", close=False)
    msg = mime.parse(raw)
    assert [p.decoded() for p in msg.parts] == [b"one", b"two"]
    assert kinds(msg) == ["missing-close-delimiter"]


def test_no_delimiter_at_all_is_opaque() -> None:
    raw = crlf('Content-Type: multipart/mixed; boundary="b"\n\njust text\n')
    msg = mime.parse(raw)
    assert not msg.is_multipart
    assert msg.parts == []
    assert kinds(msg) == ["multipart-without-delimiter"]
    assert msg.decoded() == b"just text\r\n"


def test_multipart_without_boundary() -> None:
    msg = mime.parse(crlf("Content-Type: multipart/mixed\n\n--x\n\nbody\n--x--\n"))
    assert not msg.is_multipart
    assert kinds(msg) == ["multipart-without-boundary"]


def test_empty_parts_and_first_delimiter_at_body_start() -> None:
    raw = crlf('Content-Type: multipart/mixed; boundary="b"\n\n--b\n--b\n\nx\n--b--\n')
    msg = mime.parse(raw)
    assert [bytes(p) for p in msg.parts] == [b"", b"\r\nx"]
    assert msg.preamble is None


def test_digest_defaults_to_message_rfc822() -> None:
    raw = multipart(
        "d",
        "\nFrom: a@b\nSubject: one\n\nbody one",
        "Content-Type: text/plain\n\nplain",
        ctype="digest",
    )
    msg = mime.parse(raw)
    first, second = msg.parts
    assert first.content_type == "message/rfc822"
    assert first.is_multipart
    (enclosed,) = first.parts
    assert enclosed.headers.get("Subject") == "one"
    assert enclosed.decoded() == b"body one"
    assert second.content_type == "text/plain"


@pytest.mark.parametrize("ctype", ["message/rfc822", "message/global"])
def test_enclosed_message_is_one_child(ctype: str) -> None:
    inner = crlf("Subject: inner\nContent-Type: text/html\n\n<p>hi</p>\n")
    raw = crlf(f"Subject: outer\nContent-Type: {ctype}\n\n").replace(b"", b"") + inner
    msg = mime.parse(raw)
    assert msg.is_multipart
    (child,) = msg.parts
    assert bytes(child) == inner
    assert child.headers.get("Subject") == "inner"
    assert child.content_type == "text/html"
    assert [p.content_type for p in msg.walk()] == [ctype, "text/html"]


def test_content_type_defaults_and_invalid() -> None:
    assert mime.parse(b"Subject: x\r\n\r\nbody").content_type == "text/plain"
    bad = mime.parse(b"Content-Type: garbage\r\n\r\nbody")
    assert bad.content_type == "text/plain"
    assert kinds(bad) == ["invalid-content-type"]
    upper = mime.parse(b"Content-Type: TEXT/HTML; CHARSET=UTF-8\r\n\r\n")
    assert upper.content_type == "text/html"
    assert upper.maintype == "text"
    assert upper.subtype == "html"
    assert upper.charset == "utf-8"
    assert dict(upper.params) == {"charset": "UTF-8"}


def test_params_comments_quotes_and_tolerance() -> None:
    raw = (
        b'Content-Type: text/plain (a comment); charset="iso-8859-1" (more);\r\n'
        b' format=flowed;; name="a \\"quoted\\" name.txt"\r\n\r\n'
    )
    msg = mime.parse(raw)
    assert msg.content_type == "text/plain"
    assert dict(msg.params) == {
        "charset": "iso-8859-1",
        "format": "flowed",
        "name": 'a "quoted" name.txt',
    }


def test_filename_rfc2231_and_rfc2047_and_fallback() -> None:
    rfc2231 = mime.parse(
        b"Content-Type: application/pdf\r\n"
        b"Content-Disposition: attachment;\r\n"
        b" filename*0*=utf-8''%E2%82%AC%20rates;\r\n"
        b" filename*1=.pdf\r\n\r\n"
    )
    assert rfc2231.filename == "€ rates.pdf"
    assert rfc2231.disposition == "attachment"
    rfc2047 = mime.parse(
        b'Content-Type: application/pdf; name="=?utf-8?B?w6TDtsO8LnBkZg==?="\r\n\r\n'
    )
    assert rfc2047.filename == "äöü.pdf"
    assert rfc2047.disposition is None
    neither = mime.parse(b"Content-Type: text/plain\r\n\r\n")
    assert neither.filename is None
    both = mime.parse(
        b'Content-Type: text/plain; name="ct.txt"\r\n'
        b'Content-Disposition: inline; filename=" cd.txt "\r\n\r\n'
    )
    assert both.filename == "cd.txt"


@pytest.mark.parametrize(
    ("cte", "body", "decoded"),
    [
        ("base64", b"aGVsbG8g\r\nd29ybGQ=\r\n", b"hello world"),
        ("quoted-printable", b"caf=C3=A9 =\r\nau lait\r\n", b"caf\xc3\xa9 au lait\r\n"),
        ("7bit", b"plain\r\n", b"plain\r\n"),
        ("8bit", b"caf\xc3\xa9\r\n", b"caf\xc3\xa9\r\n"),
        ("binary", b"\x00\x01\xff", b"\x00\x01\xff"),
        (" Base64 ", b"aGk=", b"hi"),
        ("x-uuencode", b"begin 644 f\r\n#:&D*\r\n`\r\nend\r\n", b"hi\n"),
    ],
)
def test_transfer_decodings(cte: str, body: bytes, decoded: bytes) -> None:
    raw = b"Content-Transfer-Encoding: " + cte.encode() + b"\r\n\r\n" + body
    msg = mime.parse(raw)
    assert msg.raw_body == body
    assert msg.decoded() == decoded
    assert bytes(msg.body_view()) == body


@pytest.mark.parametrize(
    ("value", "cte"),
    [
        ("base64 (made by the scanner)", "base64"),
        ("(comment (nested)) Quoted-Printable", "quoted-printable"),
        ("(nothing but a comment)", "7bit"),
        ("  7BIT  ", "7bit"),
    ],
)
def test_transfer_encoding_is_read_without_comments(value: str, cte: str) -> None:
    # RFC 2045 §6.1: a structured field, so RFC 5322 comments may surround
    # the mechanism; the part is still decoded by it.
    msg = mime.parse(b"Content-Transfer-Encoding: " + value.encode() + b"\r\n\r\naGk=\r\n")
    assert msg.content_transfer_encoding == cte
    # "=" CRLF is a soft line break in quoted-printable.
    assert msg.decoded() == {"base64": b"hi", "quoted-printable": b"aGk"}.get(cte, b"aGk=\r\n")
    assert kinds(msg) == []


def test_a_quoted_transfer_encoding_is_unknown() -> None:
    # Outside RFC 2045's grammar (a token, not a quoted string): not guessed.
    msg = mime.parse(b'Content-Transfer-Encoding: "base64" (quoted)\r\n\r\naGk=\r\n')
    assert msg.content_transfer_encoding == '"base64"'
    assert msg.decoded() == b"aGk=\r\n"
    assert kinds(msg) == ["unknown-transfer-encoding"]


def test_unknown_transfer_encoding_is_a_defect_once() -> None:
    msg = mime.parse(b"Content-Transfer-Encoding: x-weird\r\n\r\nbody")
    assert msg.decoded() == b"body"
    assert msg.decoded() == b"body"
    assert kinds(msg) == ["unknown-transfer-encoding"]


def test_text_with_charset_and_fallback() -> None:
    latin = mime.parse(
        b"Content-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe"
    )
    assert latin.text() == "Grüße"
    unknown = mime.parse(b"Content-Type: text/plain; charset=x-unknown-cs\r\n\r\nabc")
    assert unknown.text() == "abc"
    assert unknown.defects != []


def test_nesting_limit() -> None:
    depth = 30
    raw = b"".join(b"Content-Type: message/rfc822\r\n\r\n" for _ in range(depth)) + b"leaf"
    msg = mime.parse(raw, limits=MessageLimits(nesting_depth=10))
    parts = list(msg.walk())
    assert len(parts) == 11
    assert parts[-1].depth == 10
    assert [d.kind for d in parts[-1].defects] == ["nesting-too-deep"]
    assert bytes(parts[-1]).endswith(b"leaf")


def test_parts_limit() -> None:
    raw = multipart("b", *["\nx"] * 50)
    msg = mime.parse(raw, limits=MessageLimits(parts=10))
    assert len(list(msg.walk())) == 10
    assert "too-many-parts" in kinds(msg)
    assert bytes(msg) == raw


def test_bytearray_and_memoryview_inputs() -> None:
    raw = multipart("b", "\nx")
    for buf in (bytearray(raw), memoryview(raw)):
        msg = mime.parse(buf)
        assert bytes(msg) == raw
        assert msg.parts[0].decoded() == b"x"


def test_repr_and_spans() -> None:
    raw = multipart("b", "Content-Type: text/html\n\n<b>x</b>")
    msg = mime.parse(raw)
    (part,) = msg.parts
    assert "text/html" in repr(part)
    start, end = part.body_span
    assert raw[start:end] == b"<b>x</b>"
    assert part.raw_body == b"<b>x</b>"


# RFC 5322 Appendix A.4, a message with trace fields.
A4 = crlf(
    """Received: from x.y.test
   by example.net
   via TCP
   with ESMTP
   id ABC12345
   for <mary@example.net>;  21 Nov 1997 10:05:43 -0600
Received: from node.example by x.y.test; 21 Nov 1997 10:01:22 -0600
From: John Doe <jdoe@node.example>
To: Mary Smith <mary@example.net>
Subject: Saying Hello
Date: Fri, 21 Nov 1997 09:55:06 -0600
Message-ID: <1234@local.node.example>

This is a message just to say hello.
So, "Hello".
"""
)


def test_rfc5322_a4_trace_fields() -> None:
    msg = mime.parse(A4)
    received = msg.headers.get_all("Received")
    assert received == [
        "from x.y.test   by example.net   via TCP   with ESMTP   id ABC12345"
        "   for <mary@example.net>;  21 Nov 1997 10:05:43 -0600",
        "from node.example by x.y.test; 21 Nov 1997 10:01:22 -0600",
    ]
    assert msg.headers.raw_all("received")[1] == (
        b"Received: from node.example by x.y.test; 21 Nov 1997 10:01:22 -0600\r\n"
    )
    assert msg.defects == []


# RFC 5322 Appendix A.6.1, obsolete syntax: a list without commas between
# items is not valid, but a message with it must still parse.
A61 = crlf(
    """From: Joe Q. Public <john.q.public@example.com>
To: Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example
Date: Tue, 1 Jul 2003 10:52:37 +0200
Message-ID: <5678.21-Nov-1997@example.com>

Hi everyone.
"""
)


def test_rfc5322_a61_obsolete_addressing() -> None:
    msg = mime.parse(A61)
    assert [a.addr_spec for a in msg.headers.addresses("To")] == [
        "mary@example.net",
        "jdoe@test.example",
    ]
    assert msg.headers.get("From") == '"Joe Q. Public" <john.q.public@example.com>'
    assert msg.text() == "Hi everyone.\r\n"


def test_parts_limit_on_enclosed_messages() -> None:
    raw = b"Content-Type: message/rfc822\r\n\r\n" * 5 + b"leaf"
    parts = list(mime.parse(raw, limits=MessageLimits(parts=3)).walk())
    assert len(parts) == 3
    assert [d.kind for d in parts[-1].defects] == ["too-many-parts"]


@given(
    st.binary(max_size=3000),
    st.integers(min_value=1, max_value=200),
    st.sampled_from([b"\r\n", b"\n"]),
    st.binary(max_size=8),
)
def test_large_base64_pieces_decode_like_the_whole(
    payload: bytes, piece: int, eol: bytes, junk: bytes
) -> None:
    # Large bodies are decoded a few MB at a time; with a tiny piece size
    # the same code must give what the codec gives for the whole body.
    from mailproto.codecs import b64
    from mailproto.mime._message import _decode_base64_in_pieces

    text = base64.encodebytes(payload).replace(b"\n", eol) + junk
    pieces = _decode_base64_in_pieces(text, 0, len(text), piece)
    if pieces is not None:
        assert pieces == b64.decode(text)
    if not junk and len(payload) % 3 == 0 and piece % 76 == 0:
        assert pieces == payload  # whole lines, no padding: always in pieces


def test_large_base64_attachment_decoded_in_pieces() -> None:
    payload = bytes(range(256)) * 50_000  # 12.8 MB, above the piece threshold
    raw = (
        b"Content-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(payload)
    )
    msg = mime.parse(raw)
    assert msg.decoded() == payload
    assert msg.defects == []
