"""Base64 (RFC 2045 §6.8): tolerant decoding with defects, CRLF-wrapped encoding."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto.codecs import b64
from mailproto.imf.defects import Defect


def _kinds(data: bytes) -> tuple[bytes, list[str]]:
    defects: list[Defect] = []
    out = b64.decode(data, defects)
    return out, [d.kind for d in defects]


@pytest.mark.parametrize(
    ("data", "out", "kinds"),
    [
        (b"aGVsbG8=", b"hello", []),
        (b"aGVs\r\nbG8=\r\n", b"hello", []),
        (b"aGVsbG8", b"hello", ["invalid-base64-padding"]),
        (b"aGVsbG8==", b"hello", []),
        (b"aGVs!bG8=", b"hello", ["invalid-base64-characters"]),
        (b"aGVs*bG8", b"hello", ["invalid-base64-characters", "invalid-base64-padding"]),
        (b"aGVsbG8gd", b"hello ", ["invalid-base64-length"]),
        (b"aGVsbG8=aGVsbG8=", b"hellohello", ["base64-data-after-padding"]),
        (b"", b"", []),
        (b"\xff\xfe", b"", ["invalid-base64-characters"]),
    ],
)
def test_tolerant_decode(data: bytes, out: bytes, kinds: list[str]) -> None:
    assert _kinds(data) == (out, kinds)


def test_encode_wraps_with_crlf() -> None:
    data = bytes(range(256)) * 2
    enc = b64.encode(data)
    lines = enc.split(b"\r\n")
    assert all(len(line) == 76 for line in lines[:-1])
    assert 0 < len(lines[-1]) <= 76
    assert base64.b64decode(enc.replace(b"\r\n", b"")) == data
    assert b64.encode(b"") == b""
    assert b64.encode(data, line_length=0) == base64.b64encode(data)


@given(st.binary(max_size=600), st.integers(min_value=0, max_value=120))
def test_round_trip(data: bytes, line_length: int) -> None:
    defects: list[Defect] = []
    assert b64.decode(b64.encode(data, line_length=line_length), defects) == data
    assert defects == []


@given(st.binary(max_size=300))
def test_never_raises(data: bytes) -> None:
    assert isinstance(b64.decode(data, []), bytes)


@given(st.binary(min_size=1, max_size=100))
def test_missing_padding_recovers_data(data: bytes) -> None:
    enc = base64.b64encode(data).rstrip(b"=")
    out = b64.decode(enc)
    assert out == data


@given(
    st.binary(max_size=200),
    st.lists(
        st.tuples(
            st.integers(min_value=0),
            st.sampled_from([b"!", b"*", b"\x00", b"\xff", b"-", b"_", b"."]),
        ),
        max_size=5,
    ),
)
def test_garbage_is_ignored_with_a_defect(data: bytes, junk: list[tuple[int, bytes]]) -> None:
    enc = bytearray(base64.b64encode(data))
    for pos, ch in junk:
        enc[pos % (len(enc) + 1) : pos % (len(enc) + 1)] = ch
    defects: list[Defect] = []
    assert b64.decode(bytes(enc), defects) == data
    assert [d.kind for d in defects] == (["invalid-base64-characters"] if junk else [])
