"""x-uuencode bodies."""

from __future__ import annotations

import binascii

from hypothesis import given
from hypothesis import strategies as st

from mailproto.codecs import uuencode
from mailproto.imf.defects import Defect


def test_decode_classic_body() -> None:
    body = b"begin 644 hello.txt\r\n+:&5L;&\\@=V]R;&0`\r\n`\r\nend\r\n"
    defects: list[Defect] = []
    assert uuencode.decode(body, defects) == b"hello world"
    assert defects == []


def test_stripped_trailing_spaces_are_repaired() -> None:
    # Encoders that use " " for zero bits lose them to whitespace stripping.
    line = binascii.b2a_uu(b"ab\x00", backtick=False).rstrip(b"\n")
    stripped = line.rstrip(b" ")
    body = b"begin 600 x\n" + stripped + b"\n \nend\n"
    assert uuencode.decode(body) == b"ab\x00"


def test_missing_begin_and_end_are_defects() -> None:
    line = binascii.b2a_uu(b"data").rstrip(b"\n")
    defects: list[Defect] = []
    assert uuencode.decode(line + b"\n", defects) == b"data"
    assert [d.kind for d in defects] == ["uuencode-missing-begin", "uuencode-missing-end"]


@given(st.binary(max_size=500))
def test_round_trip(data: bytes) -> None:
    defects: list[Defect] = []
    assert uuencode.decode(uuencode.encode(data, filename="f.bin"), defects) == data
    assert defects == []


@given(st.binary(max_size=300))
def test_never_raises(data: bytes) -> None:
    assert isinstance(uuencode.decode(b"begin 644 x\n" + data, []), bytes)
