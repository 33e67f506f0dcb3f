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
