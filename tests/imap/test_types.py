"""Value types: sequence sets, modified UTF-7, dates, sections, validation."""

from __future__ import annotations

import datetime
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto import LocalProtocolError
from mailproto.codecs import imap_utf7
from mailproto.imap._parser import parse_datetime
from mailproto.imap._writer import format_date, format_datetime
from mailproto.imap.types import MAX_NZ, BodyExtension, Section, SectionRequest, SequenceSet
from tests.imap.strategies import aware_datetimes, sequence_sets

# -- sequence sets ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("1", "1"),
        ("5,1:3,4", "1:5"),
        ("3:1", "1:3"),
        ("1:2,4:5", "1:2,4:5"),
        ("*", "*"),
        ("*:4", "4:*"),
        ("4:*,2:*,*", "2:*"),
        ("1:10,5:*", "1:10,5:*"),
        ("$", "$"),
        ("1:4294967295", "1:4294967295"),
    ],
)
def test_sequence_set_normalises(text: str, canonical: str) -> None:
    assert str(SequenceSet.parse(text)) == canonical
    assert SequenceSet.parse(canonical) == SequenceSet.parse(text)


def test_star_is_the_largest_number_not_infinity() -> None:
    # RFC 9051 §9: "5:*" in a mailbox of 3 messages is 3:5.
    s = SequenceSet.parse("5:*")
    assert s.resolve(3) == ((3, 5),)
    assert s.resolve(9) == ((5, 9),)
    assert SequenceSet.parse("*").resolve(0) == ()
    assert list(SequenceSet.parse("2,*").iter(7)) == [2, 7]


def test_huge_set_is_never_materialised() -> None:
    s = SequenceSet.parse("1:4294967295")
    assert list(itertools.islice(s.iter(10), 3)) == [1, 2, 3]
    assert s.count(10) == MAX_NZ
    assert s.contains(MAX_NZ, 10)


@pytest.mark.parametrize("bad", ["", "0", "1:0", "4294967296", "1,,2", "a", "1:2:3", "$,1", " 1"])
def test_bad_sequence_sets(bad: str) -> None:
    with pytest.raises(ValueError):
        SequenceSet.parse(bad)


def test_sequence_set_construction_is_validated() -> None:
    with pytest.raises(LocalProtocolError):
        SequenceSet()
    with pytest.raises(LocalProtocolError):
        SequenceSet(ranges=((0, 3),))
    with pytest.raises(LocalProtocolError):
        SequenceSet(ranges=((1, 2),), last_result=True)
    assert SequenceSet.of(1, (3, 5), (8, "*")) == SequenceSet.parse("1,3:5,8:*")
    with pytest.raises(LocalProtocolError):
        SequenceSet.of(("a", 2))


@given(sequence_sets())
def test_sequence_set_text_round_trip(s: SequenceSet) -> None:
    assert SequenceSet.parse(str(s)) == s


@given(st.lists(st.tuples(st.integers(1, 60), st.integers(1, 60)), min_size=1), st.integers(1, 80))
def test_resolve_matches_naive_semantics(pairs: list[tuple[int, int]], largest: int) -> None:
    s = SequenceSet.of(*pairs)
    expected = {n for lo, hi in pairs for n in range(min(lo, hi), max(lo, hi) + 1)}
    assert set(s.iter(largest)) == expected
    assert s.count(largest) == len(expected)


# -- modified UTF-7 (RFC 3501 §5.1.3) ------------------------------------------------


@pytest.mark.parametrize(
    ("decoded", "encoded"),
    [
        ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),  # RFC 3501 §5.1.3
        ("R&D", "R&-D"),
        ("Entwürfe", "Entw&APw-rfe"),
        ("INBOX", "INBOX"),
        ("&", "&-"),
        ("a\tb", "a&AAk-b"),
        ("😀", "&2D3eAA-"),
    ],
)
def test_utf7_known_answers(decoded: str, encoded: str) -> None:
    assert imap_utf7.encode(decoded) == encoded
    assert imap_utf7.decode(encoded) == decoded


@pytest.mark.parametrize(
    "bad",
    [
        "&Jjo!",  # unterminated
        "&U,BTFw-&ZeVnLIqe-",  # two adjacent shifted sequences
        "&AGE-",  # shifted printable ASCII ("a")
        "&AGEAYgBj",  # unterminated
        "&2D0-",  # lone surrogate
        "&AB-",  # truncated / non-zero padding bits
        "ü",  # 8-bit
        "a\x01b",  # control character
    ],
)
def test_utf7_rejects_non_canonical(bad: str) -> None:
    with pytest.raises(ValueError):
        imap_utf7.decode(bad)


@given(st.text(alphabet=st.characters(codec="utf-8")))
def test_utf7_round_trip(name: str) -> None:
    encoded = imap_utf7.encode(name)
    assert encoded.isascii() and encoded.isprintable()
    assert imap_utf7.decode(encoded) == name


# -- dates ---------------------------------------------------------------------------


def test_datetime_known_answer() -> None:
    value = parse_datetime("17-Jul-1996 02:44:25 -0700")
    assert value == datetime.datetime(
        1996, 7, 17, 2, 44, 25, tzinfo=datetime.timezone(datetime.timedelta(hours=-7))
    )
    assert format_datetime(value) == "17-Jul-1996 02:44:25 -0700"
    assert parse_datetime(" 1-Aug-2002 22:00:00 +0000").day == 1
    assert format_date(datetime.date(1994, 2, 1)) == "1-Feb-1994"


@pytest.mark.parametrize(
    "bad",
    [
        "31-Feb-2020 00:00:00 +0000",
        "1-Foo-2020 00:00:00 +0000",
        "1-Jan-2020 25:00:00 +0000",
        "1-Jan-2020 00:00:00 +2400",
        "",
    ],
)
def test_bad_datetimes(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_datetime(bad)


@given(aware_datetimes())
def test_datetime_round_trip(value: datetime.datetime) -> None:
    assert parse_datetime(format_datetime(value)) == value


def test_naive_datetime_refused() -> None:
    with pytest.raises(LocalProtocolError):
        format_datetime(datetime.datetime(2020, 1, 1))


# -- sections and other validation ------------------------------------------------------


def test_section_text() -> None:
    assert str(Section(part=(1, 2), text="HEADER.FIELDS", fields=("From", "To"))) == (
        "1.2.HEADER.FIELDS (From To)"
    )
    assert str(Section(part=(3,), text="MIME")) == "3.MIME"
    assert str(Section()) == ""


@pytest.mark.parametrize(
    "kwargs",
    [
        {"part": (0,)},
        {"text": "MIME"},
        {"text": "HEADER.FIELDS"},
        {"text": "HEADER", "fields": ("From",)},
        {"text": "HEADER.FIELDS", "fields": ("Fr:om",)},
        {"text": "HEADER.FIELDS", "fields": ("Fröm",)},
    ],
)
def test_bad_sections(kwargs: dict[str, object]) -> None:
    with pytest.raises(LocalProtocolError):
        Section(**kwargs)  # type: ignore[arg-type]


def test_other_validation() -> None:
    with pytest.raises(LocalProtocolError):
        SectionRequest(section=Section(text="TEXT"), binary=True)
    with pytest.raises(LocalProtocolError):
        SectionRequest(partial=(0, 0))
    with pytest.raises(LocalProtocolError):
        BodyExtension(count=5)
    with pytest.raises(LocalProtocolError):
        BodyExtension(count=2, extra=(1,))


def test_cached_wire_forms_keep_the_zone_and_stay_bounded() -> None:
    from mailproto.imap import _writer

    utc = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    plus2 = utc.astimezone(datetime.timezone(datetime.timedelta(hours=2)))
    assert utc == plus2  # the same instant: equal, and equal hashes
    for _ in range(2):  # the second time from the cache
        w = _writer.Writer()
        w.datetime(utc)
        w.sp()
        w.datetime(plus2)
        assert w.finish_bytes() == b'" 2-Jan-2026 03:04:05 +0000" " 2-Jan-2026 05:04:05 +0200"'
    for i in range(_writer._WIRE_CACHE_SIZE * 2 + 5):
        w = _writer.Writer()
        w.flags((f"k{i}",))
        w.datetime(utc + datetime.timedelta(seconds=i))
        assert w.finish_bytes().startswith(b"(k%d)" % i)
    assert len(_writer._FLAGS_WIRE) <= _writer._WIRE_CACHE_SIZE
    assert len(_writer._DATETIME_WIRE) <= _writer._WIRE_CACHE_SIZE
    with pytest.raises(LocalProtocolError):
        _writer.Writer().flags(("bad flag",))
    with pytest.raises(LocalProtocolError):
        _writer.Writer().datetime(datetime.datetime(2026, 1, 2))  # naive
