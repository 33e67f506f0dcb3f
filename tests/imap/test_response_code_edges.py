"""COPYUID keeps the server's pairing order; BADCHARSET without its list.

RFC 4315 §3 (and RFC 9051 §7.1): in ``COPYUID uidvalidity source dest`` the
n-th source UID became the n-th destination UID, in the order written, so a
normalised (sorted) set alone would pair the wrong messages.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailproto.imap import responses as R
from mailproto.imap.codec import parse_response, serialize_response
from mailproto.imap.types import CopyUid, ResponseCode, SequenceSet


def _copyuid(wire: bytes) -> CopyUid:
    response = parse_response(wire)
    assert isinstance(response, R.StatusResponse) and response.code is not None
    value = response.code.value
    assert isinstance(value, CopyUid)
    return value


def test_copyuid_pairs_in_the_order_written() -> None:
    wire = b"a OK [COPYUID 9 5,3 10:11] done\r\n"
    value = _copyuid(wire)
    assert list(value.pairs()) == [(5, 10), (3, 11)]
    # The normalised sets are still there for membership tests.
    assert value.source == SequenceSet.of(3, 5)
    assert serialize_response(parse_response(wire)) == wire


def test_copyuid_descending_range_is_ascending_within_the_range() -> None:
    # RFC 4315 §4 uid-range: "4:2" names the same UIDs as "2:4", ascending.
    value = _copyuid(b"a OK [COPYUID 9 4:2,7 20:23] done\r\n")
    assert list(value.pairs()) == [(2, 20), (3, 21), (4, 22), (7, 23)]


def test_copyuid_rfc4315_example() -> None:
    wire = b"A003 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n"
    assert list(_copyuid(wire).pairs()) == [(304, 3956), (319, 3957), (320, 3958)]
    assert serialize_response(parse_response(wire)) == wire


def test_copyuid_from_two_sets_pairs_ascending() -> None:
    value = CopyUid(uidvalidity=1, source=SequenceSet.of((1, 3)), dest=SequenceSet.of((7, 9)))
    assert list(value.pairs()) == [(1, 7), (2, 8), (3, 9)]


@given(
    st.lists(st.integers(1, 2**32 - 1), min_size=1, max_size=30, unique=True),
    st.lists(st.integers(1, 2**32 - 1), min_size=30, max_size=30, unique=True),
)
def test_copyuid_from_pairs_survives_the_wire(sources: list[int], dests: list[int]) -> None:
    pairs = list(zip(sources, dests))
    code = ResponseCode(name="COPYUID", value=CopyUid.from_pairs(17, pairs))
    wire = serialize_response(R.StatusResponse(tag="t", status="OK", code=code, text="copied"))
    assert list(_copyuid(wire).pairs()) == pairs
    assert parse_response(wire) == parse_response(serialize_response(parse_response(wire)))


def test_badcharset_without_a_list_is_kept_as_text() -> None:
    # RFC 9051 §6.4.4's example writes the charset without parentheses.
    response = parse_response(b"B283 NO [BADCHARSET UTF-8] KOI8-R is not supported\r\n")
    assert isinstance(response, R.StatusResponse) and response.code is not None
    assert response.code == ResponseCode(name="BADCHARSET", value="UTF-8")
    assert response.text == "KOI8-R is not supported"


def test_badcharset_list_is_a_tuple() -> None:
    response = parse_response(b"B283 NO [BADCHARSET (UTF-8 US-ASCII)] no\r\n")
    assert isinstance(response, R.StatusResponse) and response.code is not None
    assert response.code.value == ("UTF-8", "US-ASCII")
