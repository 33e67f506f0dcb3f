"""Quoted-printable (RFC 2045 §6.7) and RFC 2047 Q: examples, tolerance, round trips."""

from __future__ import annotations

import quopri

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto.codecs import quoted_printable as qp
from mailproto.imf.defects import Defect


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        # §6.7 rule (1): =XX escapes, upper case (lower case accepted, note (1)).
        (b"caf=C3=A9", b"caf\xc3\xa9"),
        (b"caf=c3=a9", b"caf\xc3\xa9"),
        # rule (5): soft line breaks, CRLF and bare LF.
        (b"Now's the time =\r\nfor all folk", b"Now's the time for all folk"),
        (b"abc=\ndef", b"abcdef"),
        # rule (3): transport-added trailing whitespace is deleted ...
        (b"line   \r\nnext\t \r\n", b"line\r\nnext\r\n"),
        # ... also after a soft break's "=".
        (b"soft=  \r\nbreak", b"softbreak"),
        # encoded trailing space survives.
        (b"keep=20\r\n", b"keep \r\n"),
        (b"", b""),
        (b"plain text\r\n", b"plain text\r\n"),
    ],
)
def test_decode_rfc2045(encoded: bytes, decoded: bytes) -> None:
    defects: list[Defect] = []
    assert qp.decode(encoded, defects) == decoded
    assert defects == []


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [(b"a=ZZb", b"a=ZZb"), (b"a=4", b"a=4"), (b"50% =off", b"50% =off")],
)
def test_bad_escape_kept_literally_with_defect(encoded: bytes, decoded: bytes) -> None:
    # §6.7 note (2): an "=" not followed by two hex digits is kept as is.
    defects: list[Defect] = []
    assert qp.decode(encoded, defects) == decoded
    assert [d.kind for d in defects] == ["invalid-qp-escape"]


def test_header_q_underscore_is_space() -> None:
    # RFC 2047 §4.2 (2).
    assert qp.decode(b"Keld_J=F8rn_Simonsen", header=True) == b"Keld J\xf8rn Simonsen"
    assert qp.decode(b"no_escapes", header=True) == b"no escapes"


def test_encode_lines_at_most_76() -> None:
    data = ("Zürich " * 50 + "\n").encode() * 3
    enc = qp.encode(data)
    for line in enc.split(b"\r\n"):
        assert len(line) <= 76
    assert qp.decode(enc) == data.replace(b"\n", b"\r\n")


def test_encode_escapes_trailing_whitespace_and_from() -> None:
    enc = qp.encode(b"From the start \nend\t")
    assert enc == b"=46rom the start=20\r\nend=09"


def test_header_encoding_is_phrase_safe() -> None:
    enc = qp.encode(b'a b=c?d_e"f(g)', header=True)
    assert enc == b"a_b=3Dc=3Fd=5Fe=22f=28g=29"
    assert qp.decode(enc, header=True) == b'a b=c?d_e"f(g)'


@given(st.binary(max_size=400), st.integers(min_value=4, max_value=200))
def test_binary_round_trip(data: bytes, line_length: int) -> None:
    enc = qp.encode(data, binary=True, line_length=line_length)
    assert all(len(line) <= line_length for line in enc.split(b"\r\n"))
    assert qp.decode(enc) == data


@given(st.text(max_size=300))
def test_text_round_trip(text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    enc = qp.encode(data)
    # Text mode normalises line breaks to CRLF (and a lone CR stays data).
    assert qp.decode(enc) == data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@given(st.binary(max_size=200))
def test_header_round_trip(data: bytes) -> None:
    assert qp.decode(qp.encode(data, header=True), header=True) == data
    assert qp.header_length(data) == len(qp.encode(data, header=True))


@given(st.binary(max_size=300))
def test_decode_never_raises_and_agrees_with_quopri_on_clean_input(data: bytes) -> None:
    out = qp.decode(data, [])
    assert isinstance(out, bytes)
    if b"=" not in data and b" " not in data and b"\t" not in data:
        assert out == quopri.decodestring(data)
