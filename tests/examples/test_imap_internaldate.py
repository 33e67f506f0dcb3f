"""INTERNALDATE keeps the zone an APPEND gave it (RFC 9051 §2.3.3, §6.3.12).

RFC 3501 and 9051 only require the instant; a client that appended a
message dated ``+0200`` reads ``+0200`` back.  Before, the reference server
answered every INTERNALDATE in UTC.  The zone lives in the message's file name
(:attr:`mailserver.maildir.MessageInfo.internaldate_offset`), so COPY, MOVE
and a restart keep it; the SEARCH date keys (BEFORE, ON, SINCE) compare the
day as INTERNALDATE shows it, "disregarding time and timezone" (RFC 9051
§6.4.4) of that written form.
"""

from __future__ import annotations

import imaplib
import re

import pytest

MSG = b"From: a@b.example\r\nSubject: %s\r\n\r\nbody\r\n"


def internaldates(imap: imaplib.IMAP4, mailbox: str) -> dict[int, str]:
    """UID -> INTERNALDATE as the server writes it, for every message of *mailbox*."""
    typ, data = imap.select(mailbox)
    assert typ == "OK", data
    typ, data = imap.uid("FETCH", "1:*", "(INTERNALDATE)")
    assert typ == "OK", data
    out = {}
    for item in data:
        assert isinstance(item, bytes), item
        m = re.search(rb'UID (\d+).*INTERNALDATE "([^"]+)"|INTERNALDATE "([^"]+)".*UID (\d+)', item)
        assert m is not None, item
        uid = m.group(1) or m.group(4)
        date = m.group(2) or m.group(3)
        out[int(uid)] = date.decode()
    return out


def search(imap: imaplib.IMAP4, *criteria: str) -> list[int]:
    typ, data = imap.uid("SEARCH", *criteria)
    assert typ == "OK", data
    return [int(x) for x in (data[0] or b"").split()]


@pytest.mark.parametrize(
    "date",
    ["01-Jan-2024 00:30:00 +0200", "31-Dec-2023 23:30:00 -0530", "05-Mar-2024 10:20:30 +0000"],
)
def test_append_date_comes_back_in_its_zone(imap: imaplib.IMAP4, date: str) -> None:
    box = "Zoned" + re.sub(r"[^0-9]", "", date)
    assert imap.create(box)[0] == "OK"
    typ, data = imap.append(box, None, f'"{date}"', MSG % date.encode())
    assert typ == "OK", data
    ((uid, written),) = internaldates(imap, box).items()
    # date-day-fixed: a day below 10 is written with a space (RFC 9051 §9).
    expected = " " + date[1:] if date.startswith("0") else date
    assert written == expected
    # COPY and MOVE keep it (RFC 9051 §6.4.7: the internal date is preserved).
    assert imap.create(box + "Copy")[0] == "OK"
    assert imap.create(box + "Move")[0] == "OK"
    imap.select(box)
    assert imap.uid("COPY", str(uid), box + "Copy")[0] == "OK"
    assert imap.uid("MOVE", str(uid), box + "Move")[0] == "OK"
    assert list(internaldates(imap, box + "Copy").values()) == [written]
    assert list(internaldates(imap, box + "Move").values()) == [written]


def test_search_dates_use_the_day_in_its_zone(imap: imaplib.IMAP4) -> None:
    # 00:30 on 1 January at +0200 is 22:30 on 31 December in UTC: the day
    # of the INTERNALDATE as written is 1 January.
    assert imap.create("ZonedSearch")[0] == "OK"
    typ, _ = imap.append("ZonedSearch", None, '"01-Jan-2024 00:30:00 +0200"', MSG % b"z")
    assert typ == "OK"
    imap.select("ZonedSearch")
    (uid,) = search(imap, "ALL")
    assert search(imap, "ON", "1-Jan-2024") == [uid]
    assert search(imap, "ON", "31-Dec-2023") == []
    assert search(imap, "SINCE", "1-Jan-2024") == [uid]
    assert search(imap, "BEFORE", "1-Jan-2024") == []
    assert search(imap, "BEFORE", "2-Jan-2024") == [uid]


def test_message_without_a_date_is_in_utc(imap: imaplib.IMAP4) -> None:
    assert imap.create("Undated")[0] == "OK"
    assert imap.append("Undated", None, None, MSG % b"now")[0] == "OK"
    (written,) = internaldates(imap, "Undated").values()
    assert written.endswith(" +0000")
