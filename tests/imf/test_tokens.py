"""The RFC 5322 lexical layer: atoms, quoted strings, comments, domain literals."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailproto.imf._tokens import Token, quote_string, tokenize
from mailproto.imf.defects import Defect


def _tok(value: str, **kw: bool) -> tuple[list[tuple[str, str, bool]], list[str]]:
    defects: list[Defect] = []
    toks = tokenize(value, defects, **kw)
    return [(t.kind, t.value, t.spaced) for t in toks], [d.kind for d in defects]


def test_atoms_specials_and_spacing() -> None:
    assert _tok("a.b @ c") == (
        [
            ("atom", "a", False),
            ("special", ".", False),
            ("atom", "b", False),
            ("special", "@", True),
            ("atom", "c", True),
        ],
        [],
    )


def test_quoted_string_with_quoted_pairs() -> None:
    assert _tok(r'"a \"b\" \\ c"') == ([("qs", 'a "b" \\ c', False)], [])


def test_nested_comments_are_dropped_or_kept() -> None:
    assert _tok("a (x (y) \\) z) b") == ([("atom", "a", False), ("atom", "b", True)], [])
    assert _tok("a(x (y) z)", keep_comments=True) == (
        [("atom", "a", False), ("comment", "x (y) z", False)],
        [],
    )


def test_domain_literal() -> None:
    assert _tok("[192.0.2.1]") == ([("dl", "[192.0.2.1]", False)], [])
    assert _tok("[IPv6:::1") == ([("dl", "[IPv6:::1]", False)], ["unterminated-domain-literal"])


def test_unterminated_constructs() -> None:
    assert _tok('"abc') == ([("qs", "abc", False)], ["unterminated-quoted-string"])
    assert _tok('"abc\\') == ([("qs", "abc", False)], ["unterminated-quoted-string"])
    assert _tok("a (b (c)") == ([("atom", "a", False)], ["unterminated-comment"])


def test_stray_characters() -> None:
    assert _tok("a ) b") == (
        [("atom", "a", False), ("other", ")", True), ("atom", "b", True)],
        ["unexpected-character"],
    )
    # An obsolete quoted pair outside quotes keeps its character.
    assert _tok("a\\.b") == (
        [("atom", "a", False), ("atom", ".", False), ("atom", "b", False)],
        ["unexpected-character"],
    )


def test_encoded_word_is_one_atom() -> None:
    assert _tok("=?utf-8?q?a:b.c?= x") == (
        [("atom", "=?utf-8?q?a:b.c?=", False), ("atom", "x", True)],
        [],
    )


def test_utf8_atoms() -> None:
    assert _tok("jörg@exämple.de")[0][0] == ("atom", "jörg", False)


def test_quote_string() -> None:
    assert quote_string('a"b\\c') == '"a\\"b\\\\c"'


@given(st.text(max_size=200))
def test_never_raises_and_offsets_are_in_range(value: str) -> None:
    defects: list[Defect] = []
    toks = tokenize(value, defects, keep_comments=True)
    assert all(isinstance(t, Token) and 0 <= t.start < len(value) for t in toks)
    starts = [t.start for t in toks]
    assert starts == sorted(starts)


@given(st.text(max_size=30))
def test_quote_string_round_trip(value: str) -> None:
    assert _tok(quote_string(value))[0] == [("qs", value, False)]
