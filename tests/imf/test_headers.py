"""Header sections: splitting, unfolding, raw preservation, tolerance, decoding."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto.imf.headers import Headers, split_header_section
from mailproto.limits import MessageLimits


def kinds(headers: Headers) -> list[str]:
    return [d.kind for d in headers.defects]


# RFC 5322 Appendix A.1.1, "A message from one person to another with simple
# addressing" (header section, CRLF).
A11 = (
    b"From: John Doe <jdoe@machine.example>\r\n"
    b"To: Mary Smith <mary@example.net>\r\n"
    b"Subject: Saying Hello\r\n"
    b"Date: Fri, 21 Nov 1997 09:55:06 -0600\r\n"
    b"Message-ID: <1234@local.machine.example>\r\n"
    b"\r\n"
    b"This is a message just to say hello.\r\n"
    b'So, "Hello".\r\n'
)


def test_rfc5322_a11_fields_in_order() -> None:
    h = Headers.parse(A11)
    assert h.keys() == ["From", "To", "Subject", "Date", "Message-ID"]
    assert h.get("subject") == "Saying Hello"
    assert h.get("MESSAGE-ID") == "<1234@local.machine.example>"
    assert h.raw("Subject") == b"Subject: Saying Hello\r\n"
    assert h.defects == []
    assert bytes(h) == A11[: A11.index(b"\r\n\r\n") + 2]


def test_rfc5322_a11_date_and_addresses() -> None:
    h = Headers.parse(A11)
    assert h.date() == datetime(1997, 11, 21, 9, 55, 6, tzinfo=timezone(timedelta(hours=-6)))
    assert h.get("From") == "John Doe <jdoe@machine.example>"
    assert [a.addr_spec for a in h.addresses("To")] == ["mary@example.net"]


def test_split_returns_body_offset() -> None:
    end, body, defects = split_header_section(A11)
    assert A11[end:body] == b"\r\n"
    assert A11[body:].startswith(b"This is a message")
    assert defects == []


def test_unfolding_keeps_whitespace_and_raw_keeps_bytes() -> None:
    raw = b"Subject: This\r\n is a test\r\n\t folded\r\nX-A: 1\r\n\r\n"
    h = Headers.parse(raw)
    assert h.get("Subject") == "This is a test\t folded"
    assert h.raw("subject") == b"Subject: This\r\n is a test\r\n\t folded\r\n"
    field = h.get_field("Subject")
    assert field is not None
    assert field.offset == 0
    assert field.raw_value == b" This\r\n is a test\r\n\t folded\r\n"


def test_duplicates_and_order_kept() -> None:
    raw = b"Received: a\nX: 1\nReceived: b\nreceived: c\n\n"
    h = Headers.parse(raw)
    assert h.get_all("Received") == ["a", "b", "c"]
    assert h.get("Received") == "a"
    assert list(h) == [("Received", "a"), ("X", "1"), ("Received", "b"), ("received", "c")]
    assert h.raw_all("RECEIVED") == [b"Received: a\n", b"Received: b\n", b"received: c\n"]
    assert len(h) == 4
    assert "x" in h
    assert "y" not in h
    assert h.get("y", "dflt") == "dflt"


def test_spans_match_buffer() -> None:
    raw = b"A: 1\r\nB: two\r\n  lines\r\nC: 3\r\n\r\nbody"
    h = Headers.parse(raw)
    for field in h.fields:
        assert raw[field.offset : field.offset + len(field.raw)] == field.raw
    assert b"".join(f.raw for f in h.fields) == raw[: raw.index(b"\r\n\r\n") + 2]


def test_lf_only() -> None:
    h = Headers.parse(b"Subject: hi\n there\nTo: x@y\n\nbody\n")
    assert h.get("subject") == "hi there"
    assert h.defects == []


def test_missing_colon_line_starts_body() -> None:
    raw = b"Subject: x\r\nthis is not a header\r\nTo: a@b\r\n\r\n"
    end, body, defects = split_header_section(raw)
    assert raw[body:].startswith(b"this is not")
    assert [d.kind for d in defects] == ["missing-header-body-separator"]
    h = Headers(raw, 0, end)
    assert h.keys() == ["Subject"]


def test_no_blank_line_all_headers() -> None:
    raw = b"Subject: x\r\nTo: a@b"
    end, body, defects = split_header_section(raw)
    assert end == body == len(raw)
    assert defects == []
    assert Headers.parse(raw).get("To") == "a@b"


def test_empty_header_section() -> None:
    for raw in (b"\r\nbody", b"\nbody"):
        end, body, _ = split_header_section(raw)
        assert end == 0
        assert raw[body:] == b"body"
        assert Headers.parse(raw).keys() == []


def test_leading_continuation_is_a_defect() -> None:
    h = Headers.parse(b" stray\r\nSubject: x\r\n\r\n")
    assert h.keys() == ["Subject"]
    assert kinds(h) == ["leading-continuation"]
    assert h.get("Subject") == "x"


def test_unixfrom_and_misplaced_envelope() -> None:
    h = Headers.parse(b"From someone Mon Jan 1 00:00:00 2001\nSubject: x\nFrom bad\nTo: y\n\n")
    assert h.unixfrom == "From someone Mon Jan 1 00:00:00 2001"
    assert h.keys() == ["Subject", "To"]
    assert kinds(h) == ["misplaced-envelope-header"]


def test_missing_name() -> None:
    h = Headers.parse(b": orphan\r\nSubject: x\r\n\r\n")
    assert h.keys() == ["Subject"]
    assert kinds(h) == ["missing-header-name"]


def test_whitespace_before_colon() -> None:
    # RFC 5322 §4.5.3 obsolete syntax allows WSP between name and colon.
    h = Headers.parse(b"Subject  : spaced\r\n\r\n")
    assert h.get("subject") == "spaced"
    assert h.keys() == ["Subject"]


def test_rfc6532_utf8_and_latin1_fallback() -> None:
    h = Headers.parse("Subject: café ünïcödé\r\n\r\n".encode())
    assert h.get("Subject") == "café ünïcödé"
    assert h.defects == []
    latin = Headers.parse(b"Subject: caf\xe9\r\n\r\n")
    assert latin.get("Subject") == "café"
    field = latin.get_field("Subject")
    assert field is not None
    defects: list[object] = []
    field.value(defects)  # type: ignore[arg-type]
    assert len(defects) == 1
    # Mostly UTF-8 with one broken character: replacement, like stdlib.
    broken = Headers.parse("Subject: Картинка".encode() + b"\xd1\r\n\r\n")
    assert broken.get("Subject") == "Картинка\ufffd"


def test_encoded_words_decoded_in_unstructured_only() -> None:
    raw = (
        b"Subject: =?utf-8?q?caf=C3=A9?= =?utf-8?q?_au_lait?=\r\n"
        b"Message-ID: <=?utf-8?q?x?=@example>\r\n"
        b"X-Custom: =?iso-8859-1?q?Gr=FC=DFe?=\r\n\r\n"
    )
    h = Headers.parse(raw)
    assert h.get("Subject") == "café au lait"
    assert h.get("X-Custom") == "Grüße"
    assert h.get("Message-ID") == "<=?utf-8?q?x?=@example>"
    assert h.value("Subject") == "=?utf-8?q?caf=C3=A9?= =?utf-8?q?_au_lait?="


def test_address_fields_formatted_like_stdlib() -> None:
    raw = b'To: "Doe, J" <j@x.org>,  =?utf-8?q?J=C3=BCrgen?= <a@b.c>\r\n\r\n'
    assert Headers.parse(raw).get("To") == '"Doe, J" <j@x.org>, Jürgen <a@b.c>'


def test_header_count_limit() -> None:
    raw = b"".join(b"X-%d: v\r\n" % i for i in range(50)) + b"Subject: late\r\n\r\n"
    h = Headers.parse(raw, limits=MessageLimits(header_count=10))
    assert len(h) == 10
    assert kinds(h) == ["too-many-header-fields"]
    assert h.get("Subject") is None  # beyond the bound, for get as for iteration
    assert h.get("X-3") == "v"


def test_header_section_size_limit() -> None:
    raw = b"Subject: x\r\n" + b"X-Long: " + b"a" * 5000 + b"\r\n\r\nbody"
    end, body, defects = split_header_section(raw, limits=MessageLimits(header_section_size=1000))
    assert end == body == len(b"Subject: x\r\n")
    assert [d.kind for d in defects] == ["header-section-too-large"]


def test_huge_header_line_linear() -> None:
    # A 10 MB header line stops at the section bound: the split is one
    # bounded regex match, the field is cut there and the remainder is body.
    raw = b"Subject: " + b"a" * 10_000_000 + b"\r\n\r\nbody"
    limits = MessageLimits()
    end, body, defects = split_header_section(raw, limits=limits)
    assert end == body == limits.header_section_size
    assert Headers(raw, 0, end).get("Subject") == "a" * (end - len(b"Subject: "))
    assert [d.kind for d in defects] == ["header-section-too-large"]


# -- properties ------------------------------------------------------------------

names = st.sampled_from(["Subject", "subject", "To", "X-A", "From", "Received", "Date", "x"])
lines = st.one_of(
    st.builds(
        lambda n, v: n.encode() + b":" + v,
        names,
        st.binary(max_size=20).map(lambda b: b.replace(b"\n", b" ")),
    ),
    st.sampled_from([b" cont", b"\tcont", b"From x", b"garbage", b": x", b"Subject :y", b""]),
)
sections = st.lists(st.tuples(lines, st.sampled_from([b"\r\n", b"\n"])), max_size=12).map(
    lambda ls: b"".join(a + b for a, b in ls)
)


@given(sections)
def test_get_fast_path_agrees_with_full_split(raw: bytes) -> None:
    for name in ["Subject", "To", "X-A", "From", "Received", "Date", "x", "Missing"]:
        fast = Headers.parse(raw)
        first = fast.get_field(name)  # before any split: the fast path
        slow = Headers.parse(raw)
        assert isinstance(slow.fields, tuple)  # forces the split
        assert first == slow.get_field(name)
        assert fast.get(name) == slow.get(name)


@given(st.binary(max_size=300) | sections)
def test_never_raises_and_fields_are_spans(raw: bytes) -> None:
    h = Headers.parse(raw)
    end, _, _ = split_header_section(raw)
    for field in h.fields:
        assert raw[field.offset : field.offset + len(field.raw)] == field.raw
        assert field.offset + len(field.raw) <= end
    list(h)
    assert isinstance(h.defects, list)
    h.date()
    for field in h.fields:
        assert h.get_all(field.name)[0] == h.get(field.name)


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
def test_rfc5322_a2_group_and_reply(eol: bytes) -> None:
    # RFC 5322 Appendix A.1.3 (group addresses) header section.
    raw = eol.join(
        [
            b"From: Pete <pete@silly.example>",
            b"To: A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
            b"Cc: Undisclosed recipients:;",
            b"Date: Thu, 13 Feb 1969 23:32:54 -0330",
            b"Message-ID: <testabcd.1234@silly.example>",
            b"",
            b"Testing.",
        ]
    )
    h = Headers.parse(raw)
    assert [a.addr_spec for a in h.addresses("To")] == [
        "c@a.test",
        "joe@where.test",
        "jdoe@one.test",
    ]
    assert h.addresses("Cc") == []
    assert h.date() == datetime(
        1969, 2, 13, 23, 32, 54, tzinfo=timezone(-timedelta(hours=3, minutes=30))
    )


def test_encoded_words_limit() -> None:
    raw = b"Subject: " + b"=?utf-8?q?a?= " * 20 + b"\r\n\r\n"
    bounded = Headers.parse(raw, limits=MessageLimits(encoded_words=5))
    value = bounded.get("Subject")
    assert value is not None
    assert value.startswith("aaaaa")
    assert "=?utf-8?q?a?=" in value  # the words beyond the bound stay encoded
    assert Headers.parse(raw).get("Subject") == "a" * 20 + " "  # trailing WSP kept


atoms = st.text(alphabet="abcXYZ019!#$%&'*+-/=?^_`{|}~", min_size=1, max_size=6)
dot_atoms = st.lists(atoms, min_size=1, max_size=3).map(".".join)
mailboxes = st.one_of(
    st.builds(lambda local, domain: f"{local}@{domain}", dot_atoms, dot_atoms),
    st.builds(
        lambda words, local, domain: f"{' '.join(words)} <{local}@{domain}>",
        st.lists(atoms, min_size=1, max_size=3),
        dot_atoms,
        dot_atoms,
    ),
)


@given(st.lists(mailboxes, min_size=1, max_size=4).map(", ".join))
def test_canonical_address_shortcut_agrees_with_formatter(value: str) -> None:
    # get() returns an address list in canonical form without parsing it;
    # the formatter must agree that it is canonical.
    from mailproto.imf import format_address_list, parse_address_list
    from mailproto.imf.headers import _CANONICAL_ADDRESS_LIST

    assert _CANONICAL_ADDRESS_LIST.fullmatch(value) is not None
    if "=?" not in value:
        assert format_address_list(parse_address_list(value).items) == value
        assert Headers.parse(b"To: " + value.encode() + b"\r\n\r\n").get("To") == value


@pytest.mark.parametrize(
    "value",
    [
        "A  B <a@b.c>",  # two spaces: not canonical
        "Joe Q. Public <j@x.test>",  # "." needs quoting
        "a@b.c,d@e.f",  # no space after the comma
        '"Doe, J" <j@x.org>',  # quoted
        "Group: a@b.c;",  # a group
    ],
)
def test_non_canonical_address_lists_are_formatted(value: str) -> None:
    from mailproto.imf import format_address_list, parse_address_list
    from mailproto.imf.headers import _CANONICAL_ADDRESS_LIST

    expected = format_address_list(parse_address_list(value).items)
    assert Headers.parse(b"To: " + value.encode() + b"\r\n\r\n").get("To") == expected
    if expected != value:
        assert _CANONICAL_ADDRESS_LIST.fullmatch(value) is None


def test_size_bound_cutting_a_line_just_before_its_line_feed() -> None:
    # The bound falls exactly before a line's LF: that LF is not an empty
    # separator line, the section is cut (with a defect).
    raw = b"A: 1\nSubject: " + b"x" * 100 + b"\nB: 2\n\nbody"
    limit = raw.index(b"\nB:")
    end, body, defects = split_header_section(raw, limits=MessageLimits(header_section_size=limit))
    assert end == body == len(b"A: 1\n")
    assert [d.kind for d in defects] == ["header-section-too-large"]
