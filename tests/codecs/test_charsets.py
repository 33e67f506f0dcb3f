"""Charset labels and text decoding policy."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto.codecs import charsets
from mailproto.imf.defects import Defect


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("utf-8", "utf-8"),
        ("UTF8", "utf-8"),
        ("latin1", "iso8859-1"),
        ("ISO-8859-1", "iso8859-1"),
        ("us-ascii", "ascii"),
        ("ks_c_5601-1987", "cp949"),
        ("euc-kr", "cp949"),
        ("gb2312", "gb18030"),
        ("GBK", "gb18030"),
        ("shift_jis", "cp932"),
        ("iso-8859-8-i", "iso8859-8"),
        ("windows-874", "cp874"),
        ("x-mac-roman", "mac-roman"),
        ('"windows-1252"', "cp1252"),
    ],
)
def test_lookup_aliases(label: str, codec: str) -> None:
    assert charsets.lookup(label) == codec


@pytest.mark.parametrize(
    "label",
    [
        "x-unknown",
        "unknown-8bit",
        "no-such-charset",
        "base64",
        "zlib",
        "rot13",
        "unicode_escape",
        "idna",
        "",
        "x" * 100,
    ],
)
def test_lookup_refuses_unknown_and_non_text_codecs(label: str) -> None:
    assert charsets.lookup(label) is None


def _dec(data: bytes, charset: str | None) -> tuple[str, list[str]]:
    defects: list[Defect] = []
    return charsets.decode_text(data, charset, defects), [d.kind for d in defects]


def test_decode_policy() -> None:
    assert _dec(b"caf\xe9", "iso-8859-1") == ("café", [])
    assert _dec("café".encode(), "utf-8") == ("café", [])
    # us-ascii (declared or implied) holding UTF-8: decoded as UTF-8.
    assert _dec("café".encode(), "us-ascii") == ("café", [])
    assert _dec("café".encode(), None) == ("café", [])
    # ... and U+FFFD when it is not UTF-8 either.
    assert _dec(b"caf\xe9", None) == ("caf\ufffd", ["charset-decode-error"])
    assert _dec(b"caf\xe9", "utf-8") == ("caf\ufffd", ["charset-decode-error"])
    assert _dec(b"abc", "no-such-charset") == ("abc", ["unknown-charset"])
    assert _dec("é".encode(), "unknown-8bit") == ("é", [])


@given(
    st.binary(max_size=200),
    st.sampled_from(
        ["utf-8", "us-ascii", None, "iso-2022-jp", "utf-16", "utf-7", "cp949", "bogus", "gb2312"]
    ),
)
def test_decode_never_raises(data: bytes, charset: str | None) -> None:
    assert isinstance(charsets.decode_text(data, charset, []), str)


@given(st.text(max_size=40))
def test_lookup_never_raises_and_returns_text_codecs(label: str) -> None:
    codec = charsets.lookup(label)
    if codec is not None:
        assert isinstance(b"abc".decode(codec, "replace"), str)
