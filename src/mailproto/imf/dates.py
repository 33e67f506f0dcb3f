"""Date and time (RFC 5322 §3.3) with the obsolete forms of §4.3 and real-world variants.

::

    date-time   = [ day-of-week "," ] date time [CFWS]
    date        = day month year                      ; "21 Nov 1997"
    time        = time-of-day zone                    ; "09:55:06 -0600"
    time-of-day = hour ":" minute [ ":" second ]
    zone        = (FWS ( "+" / "-" ) 4DIGIT) / obs-zone
    obs-zone    = "UT" / "GMT" / "EST" / "EDT" / "CST" / "CDT" / "MST" / "MDT"
                  / "PST" / "PDT" / %d65-73 / %d75-90 / %d97-105 / %d107-122  ; military

:func:`parse_date` returns an *aware* :class:`~datetime.datetime` or
``None``.  A compiled regex handles the RFC form (with or without weekday and
seconds, with a trailing comment such as ``(UTC)``) in one match; anything
else goes through a tolerant token classifier that accepts what real mail
contains: missing comma, ``21-Nov-1997``, lower-case or full month names,
day and month swapped, ``asctime`` order (``Fri Nov 21 09:55:06 1997``),
dots in the time, ISO 8601 (``1997-11-21T09:55:06Z``), ``+05:30`` zones,
AM/PM.

Rules, and where they differ from :mod:`email`:

* **Unknown local zone** — ``-0000`` (§3.3: "the date-time contains no
  information about the local time zone"), the military zones (§4.3: they
  "SHOULD all be considered equivalent to -0000"), an unknown zone name and
  a missing zone all give UTC with the tzinfo :data:`UNKNOWN_ZONE`, whose
  ``tzname()`` is ``"-0000"``: compare ``dt.tzinfo is UNKNOWN_ZONE`` to tell
  them apart from a real ``+0000``.  :mod:`email` returns a *naive* datetime
  there (and treats ``Z`` as +0000).
* **Two-digit years** follow §4.3: 00–49 are 2000–2049, 50–99 are
  1950–1999; three-digit years add 1900.  :mod:`email` uses the POSIX rule
  (69–99 are 1900s).
* A leap second ``:60`` (allowed by §3.3) becomes ``:59``: :class:`datetime`
  cannot represent it.
* Zones must be within ±23:59 (beyond is not a real offset): the time is kept
  and the zone treated as unknown.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

__all__ = ["UNKNOWN_ZONE", "format_date", "parse_date"]

#: The tzinfo of a datetime whose source gave no usable local zone
#: (``-0000``, military zones, unknown names, none at all): UTC, named "-0000".
UNKNOWN_ZONE = timezone(timedelta(0), "-0000")

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY_PREFIXES = frozenset(d.lower() for d in _DAYS)

# §4.3 obsolete zones with their meaning (minutes east of UTC).  UTC is not
# in the RFC but is everywhere in real mail.
_ZONES: dict[str, int] = {
    "ut": 0,
    "utc": 0,
    "gmt": 0,
    "est": -300,
    "edt": -240,
    "cst": -360,
    "cdt": -300,
    "mst": -420,
    "mdt": -360,
    "pst": -480,
    "pdt": -420,
    # Common in real mail although never standardised for it; the same
    # offsets email assigns (AST/ADT) or unambiguous worldwide (CET, BST...).
    "ast": -240,
    "adt": -180,
    "cet": 60,
    "cest": 120,
    "met": 60,
    "mest": 120,
    "eet": 120,
    "eest": 180,
    "wet": 0,
    "west": 60,
    "bst": 60,
    "jst": 540,
    "kst": 540,
    "hkt": 480,
    "sgt": 480,
    "nzst": 720,
    "nzdt": 780,
    "msk": 180,
    "hst": -600,
    "akst": -540,
    "akdt": -480,
}

# The RFC form, as nearly all mail writes it.  No IGNORECASE (slower):
# the month is checked by a dict lookup that handles case.
_FAST = re.compile(
    r"[ \t]*(?:[A-Za-z]{3}[ \t]*,[ \t]*)?"
    r"(\d{1,2})[ \t]+([A-Za-z]{3})[ \t]+(\d{4})[ \t]+"
    r"(\d\d):(\d\d)(?::(\d\d))?[ \t]+([+-])(\d\d)(\d\d)[ \t]*(?:\([^()\\]*\)[ \t]*)?"
)
_MONTHS_ANY_CASE = {
    spelling: number
    for number, name in enumerate(_MONTH_NAMES, 1)
    for spelling in (name, name.lower(), name.upper())
}

_COMMENT = re.compile(r"\([^()]*\)")
_TIME_SEP = re.compile(r"[:.]")
_SPACED_COLON = re.compile(r"(?<=\d)\s*:\s*(?=\d)")
_ISO = re.compile(
    r"[ \t]*(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt ]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.,]\d+)?)?"
    r"[ \t]*(?:([Zz])|([+-])(\d{2}):?(\d{2})?|([A-Za-z]{1,5}))?[ \t]*"
)
_TOKEN = re.compile(
    # A numeric zone is not glued to a word ("21-Nov-1997" has no zone),
    # except to GMT/UTC ("GMT+0100").
    r"(?P<zone>(?:(?<![\w:])|(?<=[Gg][Mm][Tt])|(?<=[Uu][Tt][Cc]))[+-]\d{1,2}:?\d{2}\b)"
    r"|(?P<time>\d{1,2}[:.]\d{1,2}(?:[:.]\d{1,2})?(?:\.\d+)?)"
    r"|(?P<num>\d+)"
    r"|(?P<word>[A-Za-z]+)"
)


def _year(y: int, digits: int) -> int:
    # RFC 5322 §4.3.
    if digits <= 2:
        return y + (2000 if y < 50 else 1900)
    if digits == 3:
        return y + 1900
    return y


_ZONE_CACHE: dict[tuple[str, int, int], timezone] = {}


def _zone(sign: str, hh: int, mm: int) -> timezone:
    # Cached: a mailbox has a handful of distinct zones, and building a
    # timezone costs as much as parsing the rest of the date.
    key = (sign, hh, mm)
    tz = _ZONE_CACHE.get(key)
    if tz is not None:
        return tz
    minutes = hh * 60 + mm
    if minutes == 0:
        tz = UNKNOWN_ZONE if sign == "-" else timezone.utc
    elif hh > 23 or mm > 59:
        tz = UNKNOWN_ZONE
    else:
        tz = timezone(timedelta(minutes=-minutes if sign == "-" else minutes))
    if len(_ZONE_CACHE) < 4096:
        _ZONE_CACHE[key] = tz
    return tz


def _build(  # noqa: PLR0917 - the fields of a date-time, in their natural order
    year: int, month: int, day: int, hour: int, minute: int, second: int, tz: timezone
) -> datetime | None:
    if second == 60:
        second = 59  # leap second (§3.3); datetime has no room for it
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except (ValueError, OverflowError):
        return None


def parse_date(value: str) -> datetime | None:
    """Parse a ``Date:``-style value into an aware datetime, or None.

    See the module docstring for the accepted forms and the zone rules.
    Never raises.
    """
    if len(value) > 200:
        # Real dates are short; a long value is garbage or an attack.  Only
        # the start is examined.
        value = value[:200]
    m = _FAST.fullmatch(value)
    if m is not None:
        month = _MONTHS_ANY_CASE.get(m.group(2)) or _MONTHS.get(m.group(2).lower())
        if month is None:
            return _parse_slow(value)
        return _build(
            int(m.group(3)),
            month,
            int(m.group(1)),
            int(m.group(4)),
            int(m.group(5)),
            int(m.group(6) or 0),
            _zone(m.group(7), int(m.group(8)), int(m.group(9))),
        )
    return _parse_slow(value)


def _parse_slow(value: str) -> datetime | None:
    text = value
    for _ in range(3):  # comments nest rarely; three passes are plenty
        if "(" not in text:
            break
        text = _COMMENT.sub(" ", text)
    if ":" in text:
        # Obsolete syntax allows CFWS around the colons of the time (§4.3).
        text = _SPACED_COLON.sub(":", text)
    m = _ISO.fullmatch(text)
    if m is not None:
        return _from_iso(m)
    day = month = year = None
    year_digits = 4
    hms: tuple[int, int, int] | None = None
    tz: timezone | None = None
    pm: bool | None = None
    numbers: list[str] = []
    for t in _TOKEN.finditer(text):
        kind = t.lastgroup
        s = t.group()
        if kind == "word":
            w = s.lower()
            if month is None and w[:3] in _MONTHS and (len(w) == 3 or _full_month(w)):
                month = _MONTHS[w[:3]]
            elif w[:3] in _DAY_PREFIXES:
                continue
            elif w in ("am", "pm"):
                pm = w == "pm"
            elif tz is None and w in _ZONES:
                off = _ZONES[w]
                tz = timezone.utc if off == 0 else timezone(timedelta(minutes=off))
            elif tz is None and len(w) == 1:
                tz = UNKNOWN_ZONE  # military zone, §4.3
            # other words ("at", "the", unknown zone names) are ignored
        elif kind == "zone":
            if tz is None or tz is UNKNOWN_ZONE:
                digits = s[1:].replace(":", "")
                if len(digits) == 3:
                    digits = "0" + digits
                tz = _zone(s[0], int(digits[:2]), int(digits[2:]))
            else:
                # A numeric zone after a name ("GMT+0100"): the number wins.
                digits = s[1:].replace(":", "").rjust(4, "0")
                tz = _zone(s[0], int(digits[:2]), int(digits[2:]))
        elif kind == "time":
            if hms is None:
                # The regex guarantees 2 or 3 digit groups (plus a fraction).
                parts = _TIME_SEP.split(s)
                hms = (int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) > 2 else 0)
        else:
            numbers.append(s)
    # Assign the free numbers: a 4-digit (or > 31) number is the year, the
    # rest in order day then year (or month, for all-numeric dates).
    for s in numbers:
        n = int(s)
        if year is None and (len(s) >= 3 or n > 31):
            year, year_digits = n, len(s)
        elif day is None and 1 <= n <= 31 and len(s) <= 2:
            day = n
        elif month is None and 1 <= n <= 12 and len(s) <= 2:
            month = n
        elif year is None:
            year, year_digits = n, len(s)
    if day is None or month is None or year is None or hms is None:
        return None
    hour, minute, second = hms
    if pm is not None:
        if hour > 12:
            return None
        hour = hour % 12 + (12 if pm else 0)
    if hour > 23 or minute > 59 or second > 60:
        return None
    return _build(_year(year, year_digits), month, day, hour, minute, second, tz or UNKNOWN_ZONE)


def _full_month(w: str) -> bool:
    return w in (
        "january",
        "february",
        "march",
        "april",
        "june",
        "july",
        "august",
        "september",
        "sept",
        "october",
        "november",
        "december",
    )


def _from_iso(m: re.Match[str]) -> datetime | None:
    if m.group(4) is None:
        return None  # a date without a time is not a date-time
    tz: timezone
    if m.group(7):
        tz = timezone.utc
    elif m.group(8):
        tz = _zone(m.group(8), int(m.group(9)), int(m.group(10) or 0))
    elif m.group(11):
        off = _ZONES.get(m.group(11).lower())
        tz = UNKNOWN_ZONE if off is None else timezone(timedelta(minutes=off))
    else:
        tz = UNKNOWN_ZONE
    try:
        return _build(
            int(m.group(1)),
            int(m.group(2)),
            int(m.group(3)),
            int(m.group(4)),
            int(m.group(5)),
            int(m.group(6) or 0),
            tz,
        )
    except ValueError:  # pragma: no cover - _build catches
        return None


def format_date(dt: datetime) -> str:
    """Format *dt* as an RFC 5322 date-time: ``Fri, 21 Nov 1997 09:55:06 -0600``.

    A naive datetime, or one whose tzinfo is :data:`UNKNOWN_ZONE`, is written
    with the zone ``-0000`` ("local zone unknown", §3.3).  Locale-independent.
    """
    off = None if dt.tzinfo is None or dt.tzinfo is UNKNOWN_ZONE else dt.utcoffset()
    if off is None:
        zone = "-0000"
    else:
        minutes = int(off.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        minutes = abs(minutes)
        zone = f"{sign}{minutes // 60:02d}{minutes % 60:02d}"
    return (
        f"{_DAYS[dt.weekday()]}, {dt.day:02d} {_MONTH_NAMES[dt.month - 1]} {dt.year:04d} "
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d} {zone}"
    )
