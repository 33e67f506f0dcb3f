"""The FETCH fast path's shortcuts agree with the generic path.

The fast path matches the items nearly every client asks for first
(``UID FLAGS INTERNALDATE RFC822.SIZE``) with one regex and caches parsed
FLAGS lists and INTERNALDATE values; these tests drive exactly that shape,
which the general fetch-response strategy only rarely produces, and the
inputs where the shortcut must give up (a NIL flag, an impossible date, a
UID beyond 32 bits) so the generic path answers or refuses.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto.imap import _fastpath, _parser, codec
from mailproto.imap import responses as R
from mailproto.imap._parser import ParseError
from tests.imap import strategies as S


def _slow(wire: bytes) -> Any:
    """Parse with the fast path disabled (the reference)."""
    original = getattr(_parser, "fast_fetch")  # noqa: B009
    try:
        setattr(_parser, "fast_fetch", lambda *a, **k: None)  # noqa: B010
        return codec.parse_response(wire)
    finally:
        setattr(_parser, "fast_fetch", original)  # noqa: B010


@given(
    seq=S.nz,
    uid=S.num32,
    flags=S.flags,
    date=S.aware_datetimes(),
    size=st.integers(0, 2**40),
    rest=st.sampled_from(["", "envelope", "body_structure", "modseq"]),
    envelope=S.envelopes,
    body=S.body_structures(True),
)
def test_common_head_agrees_with_generic(
    seq: int,
    uid: int,
    flags: tuple[str, ...],
    date: Any,
    size: int,
    rest: str,
    envelope: Any,
    body: Any,
) -> None:
    extra: dict[str, Any] = {}
    if rest == "envelope":
        extra["envelope"] = envelope
    elif rest == "body_structure":
        extra["body_structure"] = body
    elif rest == "modseq":
        extra["modseq"] = size + 1
    response = R.FetchResponse(
        seq=seq, uid=uid, flags=flags, internal_date=date, rfc822_size=size, **extra
    )
    wire = codec.serialize_response(response)
    fast = codec.parse_response(wire)
    assert fast == response
    assert _slow(wire) == fast
    # Twice: the second parse comes from the FLAGS and date caches.
    assert codec.parse_response(wire) == fast


_HEAD = b'* 1 FETCH (UID %s FLAGS (%s) INTERNALDATE "%s" RFC822.SIZE 5 MODSEQ (7))\r\n'


@pytest.mark.parametrize(
    ("uid", "flags", "date"),
    [
        (b"4294967296", b"\\Seen", b"17-Jul-1996 02:44:25 -0700"),  # UID beyond 32 bits
        (b"1", b"\\Seen NIL", b"17-Jul-1996 02:44:25 -0700"),  # NIL is no flag
        (b"1", b"\\Seen", b"30-Feb-1996 02:44:25 -0700"),  # no such day
        (b"1", b"\\Seen", b"17-Jul-1996 02:44:25 -9900"),  # no such zone
        (b"1", b"\\Seen", b"17-Xyz-1996 02:44:25 -0700"),  # no such month
    ],
)
def test_common_head_gives_up_where_the_generic_path_refuses(
    uid: bytes, flags: bytes, date: bytes
) -> None:
    wire = _HEAD % (uid, flags, date)
    with pytest.raises(ParseError):
        _slow(wire)
    with pytest.raises(ParseError):
        codec.parse_response(wire)
    # The refusal is not cached as a value: a second parse refuses too.
    with pytest.raises(ParseError):
        codec.parse_response(wire)


def test_value_caches_stay_bounded() -> None:
    for i in range(_fastpath._CACHE_SIZE * 2 + 10):
        wire = b'* 1 FETCH (UID 1 FLAGS (k%d) INTERNALDATE "%s" RFC822.SIZE 5 MODSEQ (1))\r\n' % (
            i,
            b"%2d-Jul-%04d 02:44:25 -0700" % (i % 28 + 1, 1000 + i % 9000),
        )
        got = codec.parse_response(wire)
        assert isinstance(got, R.FetchResponse)
        assert got.flags == (f"k{i}",)
    assert len(_fastpath._FLAGS_CACHE) <= _fastpath._CACHE_SIZE
    assert len(_fastpath._DATE_CACHE) <= _fastpath._CACHE_SIZE


_ENV = b'* 1 FETCH (ENVELOPE ("d" "s" %s %s NIL %s NIL nil NIL "<m@x>"))\r\n'


@pytest.mark.parametrize(
    "lists",
    [
        # The plain address-list path: no backslash, no empty string.
        (b'(("A B" NIL "a" "x.org"))', b'((nil NIL "b" "y")("C" nIl "c" "z"))', b"NIL"),
        # An empty string: the content capture cannot tell "" from NIL there.
        (b'(("" NIL "a" "x.org"))', b'((NIL "" "b" ""))', b'(("x" NIL "c" "d"))'),
        # Escapes: unescaped by the general path.
        (b'(("A \\"B\\"" NIL "a" "x.org"))', b'(("\\\\" NIL "b" "y"))', b"NIL"),
        # The same list text twice in one envelope (the list cache).
        (b'(("A" NIL "a" "x"))', b'(("A" NIL "a" "x"))', b'(("A" NIL "a" "x"))'),
    ],
)
def test_address_list_paths_agree_with_generic(lists: tuple[bytes, bytes, bytes]) -> None:
    wire = _ENV % lists
    fast = codec.parse_response(wire)
    assert fast == _slow(wire)
    assert isinstance(fast, R.FetchResponse) and fast.envelope is not None
    assert codec.parse_response(codec.serialize_response(fast)) == fast


@pytest.mark.parametrize(
    "body",
    [
        b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 3 1)',
        b'("te\\\\xt" "PL\\"AIN" NIL NIL NIL "7\\\\BIT" 3)',  # escapes: not TEXT, no lines
        b'(("TEXT" "PLAIN" NIL NIL NIL "7BIT" 3 1 NIL NIL NIL NIL)("IMAGE" "PNG" ("NAME" "a")'
        b' "<i>" "d" "BASE64" 9 "md5" ("INLINE" NIL) "en" "loc")'
        b' "MI\\\\XED" ("B" "x") NIL NIL NIL)',
        b'("text" "plain" ("CHARSET" "us-ascii") NIL NIL "7bit" 3 1 NIL NIL ("en" "de"))',
    ],
)
def test_body_paths_agree_with_generic(body: bytes) -> None:
    wire = b"* 1 FETCH (BODYSTRUCTURE %s)\r\n" % body
    fast = codec.parse_response(wire)
    assert fast == _slow(wire)
    assert isinstance(fast, R.FetchResponse) and fast.body_structure is not None
    assert codec.parse_response(codec.serialize_response(fast)) == fast
    # BODY (no extension data allowed): the fast path gives up where the
    # generic one refuses, and agrees where it accepts.
    plain = b"* 1 FETCH (BODY %s)\r\n" % body
    try:
        expected = _slow(plain)
    except ParseError:
        with pytest.raises(ParseError):
            codec.parse_response(plain)
    else:
        assert codec.parse_response(plain) == expected


_WITH_LITERALS = [
    # 8-bit display name, subject and file name as literals (what Dovecot sends
    # for raw 8-bit header text), then the body as a literal.
    b'* 7 FETCH (UID 7 ENVELOPE (NIL {5}\r\nS\xe9r"\\ (("A" NIL "a" "x")) NIL NIL'
    b' (({4}\r\nB\xc3\xa9b NIL "b" "y")) NIL NIL NIL NIL) BODYSTRUCTURE ("APPLICATION"'
    b' "PDF" ("NAME" {5}\r\nf\xfc.pd) NIL NIL "BASE64" 9 NIL NIL NIL NIL) BODY[] {3}\r\nabc)\r\n',
    # A header-fld-name is an astring, so it may be a literal too.
    b'* 1 FETCH (BODY[HEADER.FIELDS ({7}\r\nSubject "X")] {3}\r\nabc)\r\n',
    b"* 1 FETCH (RFC822.HEADER {3}\r\nabc BODY[]<0> {2}\r\nde)\r\n",
]


@pytest.mark.parametrize("wire", _WITH_LITERALS)
def test_string_literals_stay_on_the_fast_path(
    wire: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _slow(wire)

    def generic(*args: object) -> None:
        raise AssertionError("the generic path was used")

    monkeypatch.setattr(_parser, "_fetch_response", generic)
    got = codec.parse_response(wire)
    assert got == expected
    assert codec.parse_response(codec.serialize_response(got)) == got


@pytest.mark.parametrize(
    "wire",
    [
        # Literals that cannot be quoted (CR, LF) stay literals: generic path.
        b"* 1 FETCH (ENVELOPE (NIL {3}\r\na\r\nb NIL NIL NIL NIL NIL NIL NIL NIL))\r\n",
        # NUL is no string content: both paths refuse.
        b"* 1 FETCH (ENVELOPE (NIL {3}\r\na\x00b NIL NIL NIL NIL NIL NIL NIL NIL))\r\n",
        # A literal where a number or a flag belongs: both paths refuse.
        b"* 1 FETCH (RFC822.SIZE {1}\r\n5)\r\n",
        b"* 1 FETCH (FLAGS ({4}\r\nSeen))\r\n",
        # Digits between two literals: the closing NUL of one marker, the
        # digits and the opening NUL of the next are no marker (found by the
        # imap_client fuzz target: an index past the literals, IndexError).
        b"* 7 FETCH (BODY[1] {4}\r\naEAA2{3}\r\na\x00b)\r\n",
        b"* 7 FETCH (BODY[1] {4}\r\naEAA0{3}\r\nabc)\r\n",
        b"* 7 FETCH (BINARY[1] ~{4}\r\naEAA0{3}\r\nabc)\r\n",
        b"* 7 FETCH (ENVELOPE ({1}\r\nx0{1}\r\ny NIL NIL NIL NIL NIL NIL NIL NIL NIL))\r\n",
    ],
)
def test_literals_the_fast_path_cannot_take(wire: bytes) -> None:
    try:
        expected = _slow(wire)
    except ParseError:
        with pytest.raises(ParseError):
            codec.parse_response(wire)
    else:
        assert codec.parse_response(wire) == expected
