"""Dates: RFC 5322 §3.3 and Appendix A, obsolete forms (§4.3), real-world variants."""

from __future__ import annotations

import email.utils
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto.imf import UNKNOWN_ZONE, format_date, parse_date


def _tz(minutes: int) -> timezone:
    return timezone(timedelta(minutes=minutes))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # RFC 5322 Appendix A.1.1, A.1.3, A.3
        ("Fri, 21 Nov 1997 09:55:06 -0600", datetime(1997, 11, 21, 9, 55, 6, tzinfo=_tz(-360))),
        ("Tue, 1 Jul 2003 10:52:37 +0200", datetime(2003, 7, 1, 10, 52, 37, tzinfo=_tz(120))),
        ("Thu, 13 Feb 1969 23:32:54 -0330", datetime(1969, 2, 13, 23, 32, 54, tzinfo=_tz(-210))),
        # A.5: folding white space and a comment
        (
            "Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n"
            "               -0330 (Newfoundland Time)",
            datetime(1969, 2, 13, 23, 32, tzinfo=_tz(-210)),
        ),
        # A.6.2: obsolete two-digit year and zone name
        ("21 Nov 97 09:55:06 GMT", datetime(1997, 11, 21, 9, 55, 6, tzinfo=timezone.utc)),
        # A.6.3: comments and white space inside the time
        (
            "Fri, 21 Nov 1997 09(comment):   55  :  06 -0600",
            datetime(1997, 11, 21, 9, 55, 6, tzinfo=_tz(-360)),
        ),
    ],
)
def test_rfc5322_appendix_a(value: str, expected: datetime) -> None:
    got = parse_date(value)
    assert got == expected
    assert got is not None and got.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # §4.3 zones
        ("1 Jan 2000 00:00:00 EST", datetime(2000, 1, 1, tzinfo=_tz(-300))),
        ("1 Jan 2000 00:00:00 EDT", datetime(2000, 1, 1, tzinfo=_tz(-240))),
        ("1 Jan 2000 00:00:00 CST", datetime(2000, 1, 1, tzinfo=_tz(-360))),
        ("1 Jan 2000 00:00:00 PDT", datetime(2000, 1, 1, tzinfo=_tz(-420))),
        ("1 Jan 2000 00:00:00 UT", datetime(2000, 1, 1, tzinfo=timezone.utc)),
        # §4.3 two-digit and three-digit years
        ("1 Jan 49 00:00:00 +0000", datetime(2049, 1, 1, tzinfo=timezone.utc)),
        ("1 Jan 50 00:00:00 +0000", datetime(1950, 1, 1, tzinfo=timezone.utc)),
        ("1 Jan 103 00:00:00 +0000", datetime(2003, 1, 1, tzinfo=timezone.utc)),
        # missing seconds and weekday; lower case; no comma; dashes
        ("5 mar 2008 13:02 +0100", datetime(2008, 3, 5, 13, 2, tzinfo=_tz(60))),
        ("Wed 5 Mar 2008 13:02:03 +0100", datetime(2008, 3, 5, 13, 2, 3, tzinfo=_tz(60))),
        ("Wed, 05-Mar-2008 13:02:03 +0100", datetime(2008, 3, 5, 13, 2, 3, tzinfo=_tz(60))),
        ("Wed, 5 Mar 2008 1:02:03 PM +0100", datetime(2008, 3, 5, 13, 2, 3, tzinfo=_tz(60))),
        ("Wed, 5 Mar 2008 13.02.03 +0100", datetime(2008, 3, 5, 13, 2, 3, tzinfo=_tz(60))),
        ("Wednesday, March 5, 2008 13:02:03 +0100", datetime(2008, 3, 5, 13, 2, 3, tzinfo=_tz(60))),
        (
            "Wed, 5 Mar 2008 13:02:03 +0000 (UTC)",
            datetime(2008, 3, 5, 13, 2, 3, tzinfo=timezone.utc),
        ),
        ("Wed, 5 Mar 2008 13:02:03 GMT+0100", datetime(2008, 3, 5, 13, 2, 3, tzinfo=_tz(60))),
        ("Wed, 20 Sep 1995 00:19:00 (EDT) -0400", datetime(1995, 9, 20, 0, 19, tzinfo=_tz(-240))),
        ("Wed, 5 Mar 2008 13:02:03 +05:30", datetime(2008, 3, 5, 13, 2, 3, tzinfo=_tz(330))),
        # asctime order, ISO 8601
        ("Wed Mar  5 13:02:03 2008", datetime(2008, 3, 5, 13, 2, 3, tzinfo=UNKNOWN_ZONE)),
        ("2008-03-05T13:02:03Z", datetime(2008, 3, 5, 13, 2, 3, tzinfo=timezone.utc)),
        ("2008-03-05 13:02:03.123+01:00", datetime(2008, 3, 5, 13, 2, 3, tzinfo=_tz(60))),
        ("Wed, 5 Mar 2008 13:02:03 +530", datetime(2008, 3, 5, 13, 2, 3, tzinfo=_tz(330))),
        ("2008-03-05T13:02:03 EST", datetime(2008, 3, 5, 13, 2, 3, tzinfo=_tz(-300))),
        ("2008-03-05T13:02:03 XYZ", datetime(2008, 3, 5, 13, 2, 3, tzinfo=UNKNOWN_ZONE)),
        ("2008-03-05T13:02", datetime(2008, 3, 5, 13, 2, tzinfo=UNKNOWN_ZONE)),
        ("Wed, 5 Mar 2008 12:02:03 AM +0100", datetime(2008, 3, 5, 0, 2, 3, tzinfo=_tz(60))),
        # leap second
        ("31 Dec 2016 23:59:60 +0000", datetime(2016, 12, 31, 23, 59, 59, tzinfo=timezone.utc)),
    ],
)
def test_obsolete_and_real_world_forms(value: str, expected: datetime) -> None:
    got = parse_date(value)
    assert got == expected
    assert got is not None and got.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "value",
    [
        "Fri, 21 Nov 1997 09:55:06 -0000",  # §3.3: no zone information
        "Fri, 21 Nov 1997 09:55:06 A",  # §4.3: military zones are -0000
        "Fri, 21 Nov 1997 09:55:06 Z",
        "Fri, 21 Nov 1997 09:55:06",  # missing zone
        "Fri, 21 Nov 1997 09:55:06 +9999",  # not a real offset
    ],
)
def test_unknown_zone(value: str) -> None:
    got = parse_date(value)
    assert got == datetime(1997, 11, 21, 9, 55, 6, tzinfo=timezone.utc)
    assert got is not None and got.tzinfo is UNKNOWN_ZONE
    assert got.tzname() == "-0000"
    assert format_date(got) == "Fri, 21 Nov 1997 09:55:06 -0000"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "Fri, 31 Feb 1997 09:55:06 -0600",
        "Fri, 21 Nov 1997 25:55:06 -0600",
        "Fri, 21 Nov 1997 10:61:06 -0600",
        "Fri, 21 Nov 1997 13:55:06 PM -0600",
        "Fri, 21 Nov 1997",
        "2008-03-05",
        "Fri, 21 Foo 1997 09:55:06 -0600",
        "1" * 1000,
    ],
)
def test_unparseable_is_none(value: str) -> None:
    assert parse_date(value) is None


def test_format_date() -> None:
    dt = datetime(1997, 11, 21, 9, 55, 6, tzinfo=_tz(-360))
    assert format_date(dt) == "Fri, 21 Nov 1997 09:55:06 -0600"
    assert format_date(datetime(2003, 7, 1, 10, 52, 37, tzinfo=_tz(120))) == (
        "Tue, 01 Jul 2003 10:52:37 +0200"
    )
    assert format_date(datetime(2000, 1, 1)) == "Sat, 01 Jan 2000 00:00:00 -0000"


_aware = st.datetimes(
    min_value=datetime(1000, 1, 1),
    max_value=datetime(9999, 12, 31),
    timezones=st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
        lambda m: timezone(timedelta(minutes=m))
    ),
).map(lambda d: d.replace(microsecond=0))


@given(_aware)
def test_format_parse_round_trip(dt: datetime) -> None:
    got = parse_date(format_date(dt))
    assert got == dt
    assert got is not None
    if dt.utcoffset() != timedelta(0):
        assert got.utcoffset() == dt.utcoffset()


@given(st.text(max_size=100))
def test_never_raises(value: str) -> None:
    got = parse_date(value)
    assert got is None or got.tzinfo is not None


@given(_aware.filter(lambda d: 1970 <= d.year <= 9999), st.booleans())
def test_agrees_with_stdlib_on_formatted_dates(dt: datetime, weekday: bool) -> None:
    text = email.utils.format_datetime(dt)
    if not weekday:
        text = text.split(", ", 1)[1]
    expected = email.utils.parsedate_to_datetime(text)
    got = parse_date(text)
    assert got == expected
    assert got is not None and got.utcoffset() == expected.utcoffset()
