"""RFC 2231 parameter continuations, charsets, languages; RFC 2047 in parameters."""

from __future__ import annotations

import email.policy

from hypothesis import given
from hypothesis import strategies as st

from mailproto.codecs.rfc2231 import collapse_params, encode_param
from mailproto.imf.defects import Defect


def _collapse(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    defects: list[Defect] = []
    return collapse_params(pairs, defects), [d.kind for d in defects]


def test_rfc2231_section3_continuations() -> None:
    # Content-Type: message/external-body; access-type=URL;
    #   URL*0="ftp://"; URL*1="cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"
    pairs = [
        ("access-type", "URL"),
        ("url*0", "ftp://"),
        ("url*1", "cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"),
    ]
    assert _collapse(pairs) == (
        {"access-type": "URL", "url": "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"},
        [],
    )


def test_rfc2231_section4_charset_language() -> None:
    # title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A
    pairs = [("title*", "us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A")]
    assert _collapse(pairs) == ({"title": "This is ***fun***"}, [])


def test_rfc2231_section4_1_mixed_sections() -> None:
    pairs = [
        ("title*0*", "us-ascii'en'This%20is%20even%20more%20"),
        ("title*1*", "%2A%2A%2Afun%2A%2A%2A%20"),
        ("title*2", "isn't it!"),
    ]
    assert _collapse(pairs) == ({"title": "This is even more ***fun*** isn't it!"}, [])


def test_out_of_order_and_missing_sections() -> None:
    pairs = [("filename*1", "b"), ("filename*0", "a"), ("filename*3", "d")]
    assert _collapse(pairs) == ({"filename": "abd"}, ["rfc2231-missing-section"])


def test_utf8_split_across_extended_sections() -> None:
    pairs = [("filename*0*", "utf-8''%E2%82"), ("filename*1*", "%AC.txt")]
    assert _collapse(pairs) == ({"filename": "€.txt"}, [])


def test_bad_charset_and_missing_prefix() -> None:
    assert _collapse([("name*", "x-nope''abc")]) == ({"name": "abc"}, ["unknown-charset"])
    assert _collapse([("name*", "%C3%A9")]) == ({"name": "é"}, ["rfc2231-missing-charset"])


def test_extended_wins_over_plain_fallback() -> None:
    pairs = [("filename", "fallback.txt"), ("filename*", "utf-8''%C3%A9t%C3%A9.txt")]
    assert _collapse(pairs) == ({"filename": "été.txt"}, [])


def test_duplicates_keep_first() -> None:
    assert _collapse([("charset", "utf-8"), ("charset", "latin1")]) == (
        {"charset": "utf-8"},
        ["duplicate-parameter"],
    )


def test_rfc2047_in_plain_values_as_real_mail_does() -> None:
    assert _collapse([("filename", "=?utf-8?B?w6l0w6kucGRm?=")]) == ({"filename": "été.pdf"}, [])
    # An encoded word split over RFC 2231 sections without a charset.
    pairs = [("name*0", "=?utf-8?Q?caf"), ("name*1", "=C3=A9.txt?=")]
    assert _collapse(pairs) == ({"name": "café.txt"}, [])


def test_encode_param_forms() -> None:
    assert encode_param("charset", "utf-8") == ["charset=utf-8"]
    assert encode_param("filename", "my file.txt") == ['filename="my file.txt"']
    assert encode_param("filename", 'a"b\\c') == ['filename="a\\"b\\\\c"']
    assert encode_param("filename", "été.txt") == ["filename*=utf-8''%C3%A9t%C3%A9.txt"]
    # Would read back as an encoded word: extended form instead.
    assert encode_param("name", "=?utf-8?q?x?=") == ["name*=utf-8''%3D%3Futf-8%3Fq%3Fx%3F%3D"]
    assert collapse_params([("name*", "utf-8''%3D%3Futf-8%3Fq%3Fx%3F%3D")]) == {
        "name": "=?utf-8?q?x?="
    }


def test_long_values_split_between_characters() -> None:
    pieces = encode_param("filename", "€" * 60, max_line=78)
    assert len(pieces) > 1
    for piece in pieces[1:]:
        # Every section starts with a UTF-8 lead byte (%E2), never a continuation.
        assert piece.split("=", 1)[1].startswith("%E2")


def _parse_pieces(pieces: list[str]) -> list[tuple[str, str]]:
    out = []
    for piece in pieces:
        name, _, value = piece.partition("=")
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out.append((name.lower(), value))
    return out


@given(st.text(max_size=300), st.integers(min_value=30, max_value=200))
def test_encode_collapse_round_trip(value: str, max_line: int) -> None:
    value = value.encode("utf-8", "replace").decode("utf-8")
    pieces = encode_param("filename", value, max_line=max_line)
    assert all(len(p) <= max_line - 2 for p in pieces)
    assert all("\r" not in p and "\n" not in p for p in pieces)
    defects: list[Defect] = []
    assert collapse_params(_parse_pieces(pieces), defects) == {"filename": value}


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "a*", "a*0", "a*1*", "a*0*", "b*2", "b"]), st.text(max_size=20)
        ),
        max_size=8,
    )
)
def test_never_raises(pairs: list[tuple[str, str]]) -> None:
    result = collapse_params(pairs, [])
    assert set(result) <= {"a", "b"}


def test_long_ascii_values_use_plain_sections() -> None:
    value = 'a very long "quoted" file name with spaces, ' * 4
    pieces = encode_param("filename", value, max_line=78)
    assert len(pieces) > 1
    assert all(p.startswith(f"filename*{i}=") for i, p in enumerate(pieces))
    assert all(len(p) <= 76 for p in pieces)
    assert collapse_params(_parse_pieces(pieces)) == {"filename": value}


@given(
    st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FF, exclude_categories=["Cc"]),
        min_size=1,
        max_size=120,
    )
)
def test_stdlib_reads_our_parameters(value: str) -> None:
    pieces = encode_param("filename", value)
    header = email.policy.default.header_factory(
        "Content-Disposition", "attachment; " + "; ".join(pieces)
    )
    assert header.params["filename"] == value
