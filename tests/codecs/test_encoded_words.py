"""RFC 2047 encoded words: the §8 examples, real-world tolerance, round trips."""

from __future__ import annotations

import base64
import email.header
import email.policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto.codecs import quoted_printable as qp
from mailproto.codecs.encoded_words import decode_header_text, decode_word, encode_header_text
from mailproto.imf.defects import Defect


def _dec(text: str) -> tuple[str, list[str]]:
    defects: list[Defect] = []
    return decode_header_text(text, defects), [d.kind for d in defects]


# RFC 2047 §8, the table of encoded words in comments ("displayed as").
@pytest.mark.parametrize(
    ("encoded", "displayed"),
    [
        ("(=?ISO-8859-1?Q?a?=)", "(a)"),
        ("(=?ISO-8859-1?Q?a?= b)", "(a b)"),
        ("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"),
        ("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)"),
        ("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)"),
        ("(=?ISO-8859-1?Q?a_b?=)", "(a b)"),
        ("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"),
    ],
)
def test_rfc2047_section8_table(encoded: str, displayed: str) -> None:
    assert _dec(encoded) == (displayed, [])


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("=?US-ASCII?Q?Keith_Moore?=", "Keith Moore"),
        ("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=", "Keld Jørn Simonsen"),
        ("=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"),
        (
            "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= "
            "=?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
            "If you can read this you understand the example.",
        ),
        ("=?ISO-8859-1?Q?Olle_J=E4rnefors?=", "Olle Järnefors"),
        ("=?ISO-8859-1?Q?Patrik_F=E4ltstr=F6m?=", "Patrik Fältström"),
        ("(=?iso-8859-8?b?7eXs+SDv4SDp7Oj08A==?=)", "(םולש ןב ילטפנ)"),
    ],
)
def test_rfc2047_section8_headers(encoded: str, decoded: str) -> None:
    assert _dec(encoded) == (decoded, [])


def test_fast_path_returns_same_object() -> None:
    text = "Plain subject with no encoded words"
    assert decode_header_text(text) is text


def test_multibyte_character_split_across_words() -> None:
    # "é" is C3 A9 in UTF-8; an encoder split it between two words.
    assert _dec("=?utf-8?Q?caf=C3?= =?utf-8?Q?=A9?=") == ("café", [])
    assert _dec("=?UTF-8?B?w6nDqA==?= =?utf-8?b?w6k=?=") == ("éèé", [])


def test_rfc2231_language_suffix() -> None:
    assert _dec("=?utf-8*en?Q?Hello?= =?US-ASCII*EN-US?Q?_world?=") == ("Hello world", [])


def test_unknown_charset_keeps_word() -> None:
    word = "=?x-klingon?Q?qapla=FF?="
    assert _dec(f"a {word} b") == (f"a {word} b", ["unknown-charset"])
    # ... unless its bytes are ASCII, which reads the same in any charset.
    assert _dec("=?NONE?B?VEVTVA=?=") == ("TEST", ["unknown-charset", "invalid-base64-padding"])


def test_aliases_and_unknown_8bit() -> None:
    assert _dec("=?utf8?Q?=C3=A9?=") == ("é", [])
    assert _dec("=?latin1?Q?=E9?=") == ("é", [])
    assert _dec("=?unknown-8bit?Q?=C3=A9?=") == ("é", [])


def test_whitespace_between_word_and_text_is_kept() -> None:
    assert _dec("Re: =?utf-8?Q?caf=C3=A9?=  now") == ("Re: café  now", [])


def test_undelimited_word_is_decoded_with_defect() -> None:
    assert _dec("foo=?utf-8?q?bar?=") == ("foobar", ["encoded-word-not-delimited"])


def test_not_encoded_words_left_alone() -> None:
    for text in ["=?", "=?utf-8?", "=?utf-8?X?abc?=", "a =? b ?= c", "=?utf-8?q?no end"]:
        assert _dec(text) == (text, [])


def test_bad_bytes_in_charset() -> None:
    assert _dec("=?utf-8?Q?caf=E9?=") == ("caf\ufffd", ["charset-decode-error"])


def test_word_limit() -> None:
    defects: list[Defect] = []
    text = "=?utf-8?q?a?= " * 5
    assert decode_header_text(text, defects, max_words=3) == "aaa =?utf-8?q?a?= =?utf-8?q?a?= "
    assert [d.kind for d in defects] == ["too-many-encoded-words"]


def test_decode_word() -> None:
    assert decode_word("=?utf-8?B?w6k=?=") == "é"
    assert decode_word("plain") is None
    assert decode_word("=?nope?Q?x?=") is None


def test_encode_respects_lengths() -> None:
    text = "Ça, c'est un sujet très long avec des accents: éèêë àâä ôö ûü ç " * 4
    words = encode_header_text(text, max_line=76, first_line_used=len("Subject: "))
    assert len(words[0]) <= 76 - len("Subject: ")
    assert all(len(w) <= 75 for w in words)
    assert decode_header_text(" ".join(words)) == text
    # Whole characters only (§5): each word decodes on its own.
    for w in words:
        defects: list[Defect] = []
        decode_header_text(w, defects)
        assert defects == []


def test_encode_other_charsets_and_fallback() -> None:
    words = encode_header_text("日本語のテキスト" * 6, charset="iso-2022-jp")
    assert all(w.startswith("=?iso-2022-jp?") and len(w) <= 75 for w in words)
    assert decode_header_text(" ".join(words)) == "日本語のテキスト" * 6
    # Latin-1 cannot hold the euro sign: UTF-8 is used.
    words = encode_header_text("5 €", charset="iso-8859-1")
    assert words[0].startswith("=?utf-8?")
    assert encode_header_text("") == []


def test_stdlib_decodes_our_words() -> None:
    text = "Grüße aus Köln – ünïcödé ✓"
    words = encode_header_text(text)
    parts = email.header.decode_header(" ".join(words))
    assert "".join(b.decode(c or "ascii") if isinstance(b, bytes) else b for b, c in parts) == text


@given(
    st.text(max_size=200),
    st.sampled_from(["utf-8", "iso-8859-1", "iso-2022-jp", "koi8-r"]),
    st.integers(min_value=0, max_value=70),
)
def test_encode_decode_round_trip(text: str, charset: str, used: int) -> None:
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")  # no lone surrogates
    words = encode_header_text(text, charset=charset, first_line_used=used)
    assert all(len(w) <= 75 for w in words)
    assert decode_header_text(" ".join(words)) == text
    # §5: whole characters per word, so every word decodes cleanly on its own.
    for w in words:
        defects: list[Defect] = []
        decode_header_text(w, defects)
        assert defects == []


@given(st.text(max_size=300))
def test_never_raises(text: str) -> None:
    assert isinstance(decode_header_text(text, []), str)


@given(
    st.lists(
        st.sampled_from(
            [
                "=?",
                "?=",
                "utf-8",
                "?q?",
                "?b?",
                "=C3",
                "=A9",
                " ",
                "x",
                "_",
                "w6k=",
                "=?utf-8?q?",
                "?Q?",
                "*en",
            ]
        ),
        max_size=30,
    )
)
def test_never_raises_on_near_miss_syntax(parts: list[str]) -> None:
    assert isinstance(decode_header_text("".join(parts), []), str)


def test_runs_split_by_charset_change_and_unknown_words() -> None:
    # A run of UTF-8 words, then a Latin-1 word: decoded separately, still joined.
    assert _dec("=?utf-8?q?caf=C3=A9?= =?iso-8859-1?q?_=E9t=E9?=") == ("café été", [])
    # An unknown-charset word with 8-bit bytes ends the run and stays literal.
    assert _dec("=?utf-8?q?a?= =?x-bogus?q?=FF?= =?utf-8?q?b?=") == (
        "a =?x-bogus?q?=FF?= b",
        ["unknown-charset"],
    )


def test_whitespace_inside_word_is_tolerated() -> None:
    assert _dec("=?utf-8?q?a b?=") == ("a b", ["whitespace-in-encoded-word"])


_plain = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.,:!", min_size=1, max_size=8)
_word_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FF, exclude_categories=["Cc"]),
    min_size=1,
    max_size=12,
)


@st.composite
def _encoded_word(draw: st.DrawFn) -> str:
    text = draw(_word_text)
    charset = draw(st.sampled_from(["utf-8", "UTF-8", "iso-8859-1", "utf8*en"]))
    codec = "utf-8" if charset.lower().startswith("utf") else "latin-1"
    try:
        raw = text.encode(codec)
    except UnicodeEncodeError:
        raw = text.encode("utf-8")
        charset = "utf-8"
    if draw(st.booleans()):
        body = base64.b64encode(raw).decode("ascii")
        return f"=?{charset}?{draw(st.sampled_from('bB'))}?{body}?="
    return f"=?{charset}?{draw(st.sampled_from('qQ'))}?{qp.encode(raw, header=True).decode()}?="


@given(
    st.lists(st.one_of(_plain, _encoded_word()), min_size=1, max_size=6),
    st.lists(st.sampled_from([" ", "  ", "\t", " \t"]), min_size=6, max_size=6),
)
def test_agrees_with_stdlib_on_well_formed_words(parts: list[str], spaces: list[str]) -> None:
    value = "".join(p + s for p, s in zip(parts, spaces))[: -len(spaces[len(parts) - 1])]
    expected = str(email.policy.default.header_factory("Subject", value))
    assert decode_header_text(value) == expected


@given(
    _word_text.flatmap(lambda t: st.lists(st.just(t), min_size=1, max_size=8).map("".join)),
    st.sampled_from(["utf-8", "iso-8859-1"]),
)
def test_stdlib_reads_our_words(text: str, charset: str) -> None:
    words = encode_header_text(text, charset=charset, first_line_used=len("Subject: "))
    assert str(email.policy.default.header_factory("Subject", " ".join(words))) == text
