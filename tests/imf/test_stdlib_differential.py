"""Differential tests against stdlib ``email`` (policy.default) on the shared corpus.

Every header value of every message in ``../shared/corpus`` (relative to the
repository root) is decoded by mailproto and by ``email``; the results must be
equal, except for the documented cases where mailproto follows the RFC (or
recovers more) on purpose.  Each exception is a named rule below, and each
rule must actually be needed: a rule that matches nothing fails the test, so
the list cannot go stale.
"""

from __future__ import annotations

import email.policy
import functools
import re
from collections.abc import Callable
from datetime import datetime
from email.parser import BytesHeaderParser
from pathlib import Path

import pytest

from mailproto.codecs.encoded_words import decode_header_text
from mailproto.imf import UNKNOWN_ZONE, format_address_list, parse_address_list, parse_date

# Reading and parsing the corpus with stdlib takes a few seconds (two hostile
# 130-200 KB headers dominate).
pytestmark = pytest.mark.slow

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"

_ADDRESS = {
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "sender",
    "resent-from",
    "resent-to",
    "resent-cc",
    "resent-bcc",
    "resent-sender",
}
# Every header stdlib parses as unstructured text: all but its structured ones.
_STRUCTURED = {
    "bcc",
    "cc",
    "content-disposition",
    "content-transfer-encoding",
    "content-type",
    "date",
    "from",
    "message-id",
    "mime-version",
    "orig-date",
    "reply-to",
    "resent-bcc",
    "resent-cc",
    "resent-date",
    "resent-from",
    "resent-sender",
    "resent-to",
    "sender",
    "to",
}
_DATES = {"date", "resent-date"}


def _unstructured(name: str) -> bool:
    return name not in _STRUCTURED


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SURROGATE = re.compile("[\udc80-\udcff]")


@functools.lru_cache(maxsize=1)
def _values() -> list[tuple[str, str, str, str]]:
    """(file, header name, raw value, stdlib str(header)) for every header."""
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS} (it lives beside the repository)")
    parser = BytesHeaderParser(policy=email.policy.default)
    out = []
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file() or path.name in ("SOURCES.md", "COPYING"):
            continue
        msg = parser.parsebytes(path.read_bytes())
        for name, raw in msg.raw_items():
            lname = name.lower()
            if lname not in _ADDRESS and lname not in _DATES and not _unstructured(lname):
                continue
            # 8-bit header bytes: stdlib sees surrogate escapes, mailproto's
            # header layer decodes UTF-8 first (RFC 6532); not comparable here.
            if not isinstance(raw, str) or _SURROGATE.search(raw):
                continue
            try:
                std = email.policy.default.header_fetch_parse(name, raw)
            except Exception:  # stdlib itself fails on some hostile headers
                continue
            # As stdlib unfolds: line breaks removed, continuation WSP kept.
            value = "".join(_LINE_BREAK.split(raw))
            out.append((str(path.relative_to(CORPUS)), name.lower(), value, std))
    return out


_Rule = Callable[[str, str, str, str], bool]


def _no_space(s: str) -> str:
    return re.sub(r"\s+", "", s)


# Documented differences: (name, why, predicate(value, ours, stdlib, file)).
_ADDRESS_RULES: list[tuple[str, str, _Rule]] = [
    (
        "rfc2047-6.2-adjacent-words",
        "RFC 2047 §6.2: whitespace between adjacent encoded words in a display name is "
        "dropped; email keeps one space",
        lambda v, ours, std, f: "=?" in v and _no_space(ours) == _no_space(std),
    ),
    (
        "hostile-stack-overflow",
        "mimekit/stack-overflow.txt: thousands of encoded words without an address; email "
        "drops them, we keep them as an address without '@' (with defects)",
        lambda v, ours, std, f: f.endswith("stack-overflow.txt"),
    ),
]
_DATE_RULES: list[tuple[str, str, Callable[[str, datetime | None, datetime | None], bool]]] = [
    (
        "comment-before-zone",
        "'00:19:00 (EDT) -0400': email reads the comment as the zone and gets -0000; we skip "
        "comments and use -0400",
        lambda v, ours, std: (
            "(" in v
            and ours is not None
            and std is not None
            and std.tzinfo is UNKNOWN_ZONE
            and ours.replace(tzinfo=None) == std.replace(tzinfo=None)
        ),
    ),
]


def test_corpus_is_substantial() -> None:
    values = _values()
    assert len({f for f, *_ in values}) > 300
    assert sum(1 for _, n, *_ in values if n in _ADDRESS) > 500


def test_unstructured_headers_match_stdlib() -> None:
    compared = 0
    mismatches = []
    for f, name, value, std in _values():
        if not _unstructured(name):
            continue
        compared += 1
        ours = decode_header_text(value)
        if ours != str(std):
            mismatches.append((f, name, value, ours, str(std)))
    assert compared > 300
    assert mismatches == []


def test_address_headers_match_stdlib() -> None:
    compared = 0
    used: set[str] = set()
    mismatches = []
    for f, name, value, std in _values():
        if name not in _ADDRESS:
            continue
        compared += 1
        ours = format_address_list(parse_address_list(value).items)
        if ours == str(std):
            continue
        rule = next((r for r, _, pred in _ADDRESS_RULES if pred(value, ours, str(std), f)), None)
        if rule is None:
            mismatches.append((f, name, value, ours, str(std)))
        else:
            used.add(rule)
    assert compared > 500
    assert mismatches == []
    assert used == {r for r, _, _ in _ADDRESS_RULES}, "an exception rule is no longer needed"


def test_dates_match_stdlib() -> None:
    compared = 0
    used: set[str] = set()
    mismatches = []
    for f, name, value, std_header in _values():
        if name not in _DATES:
            continue
        compared += 1
        std = getattr(std_header, "datetime", None)
        if std is not None and std.tzinfo is None:
            # email returns a naive datetime for -0000; we return UNKNOWN_ZONE.
            std = std.replace(tzinfo=UNKNOWN_ZONE)
        ours = parse_date(value)
        same = ours == std and (ours is None or std is None or ours.utcoffset() == std.utcoffset())
        if same:
            continue
        rule = next((r for r, _, pred in _DATE_RULES if pred(value, ours, std)), None)
        if rule is None:
            mismatches.append((f, value, ours, std))
        else:
            used.add(rule)
    assert compared > 250
    assert mismatches == []
    assert used == {r for r, _, _ in _DATE_RULES}, "an exception rule is no longer needed"
