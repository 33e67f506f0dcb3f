"""``Received:`` trace fields (RFC 5322 §3.6.7, clauses from RFC 5321 §4.4).

RFC 5322 only says ``received = "Received:" [1*received-token / CFWS] ";"
date-time CRLF``; the clauses come from RFC 5321 §4.4::

    Time-stamp-line = "Received:" FWS Stamp <CRLF>
    Stamp = From-domain By-domain Opt-info [CFWS] ";" FWS date-time
    From-domain = "FROM" FWS Extended-Domain       ; + TCP-info in a comment
    By-domain   = CFWS "BY" FWS Extended-Domain
    Opt-info    = [Via] [With] [ID] [For] [Additional-Registered-Clauses]
    Via  = CFWS "VIA" FWS Link          With = CFWS "WITH" FWS Protocol
    ID   = CFWS "ID" FWS ( Atom / msg-id )   For = CFWS "FOR" FWS ( Path / Mailbox )

Real ``Received`` fields follow this loosely (clauses in other orders,
missing ``from``, comments everywhere, extra clauses like ``using TLS``), so
parsing is by clause keyword rather than by position:

* the date is what follows the **last** ``;`` (§3.6.7), parsed with
  :func:`mailproto.imf.dates.parse_date`;
* before it, a keyword (``from``, ``by``, ``via``, ``with``, ``id``,
  ``for`` and any other word followed by a value) starts a clause when it is
  outside comments; the clause runs to the next keyword.  Each clause's text
  is kept raw (comments included) in :attr:`Received.clauses`, and the first
  token of the standard ones is exposed as a field.

Never raises.
"""

from __future__ import annotations

import re
from datetime import datetime

import attrs

from mailproto.imf._tokens import mask_comments
from mailproto.imf.dates import parse_date

__all__ = ["Received", "parse_received"]

_KEYWORDS = ("from", "by", "via", "with", "id", "for")
# A keyword at a word boundary, followed by whitespace.  Comments are masked
# out before this runs, so keywords inside comments never match.
_CLAUSE = re.compile(r"(?<![^\s)])(from|by|via|with|id|for)[ \t\r\n]+", re.IGNORECASE)
_FIRST_TOKEN = re.compile(r"<[^<>]*>|[^\s();]+")


@attrs.frozen(kw_only=True)
class Received:
    """One ``Received:`` field split into its clauses."""

    #: The ``from`` clause's domain (the name the client gave in HELO/EHLO),
    #: or None.  The TCP-info comment is in :attr:`clauses`.
    from_: str | None = None
    #: The ``by`` clause's domain: the host that added the field.
    by: str | None = None
    #: The ``via`` clause (link type), rarely present.
    via: str | None = None
    #: The ``with`` clause: the protocol (``ESMTP``, ``ESMTPS``, ``LMTP``,
    #: ``HTTP``... see the IANA "Mail Transmission Types" registry).
    with_: str | None = None
    #: The ``id`` clause: the receiving host's queue id.
    id: str | None = None
    #: The ``for`` clause: the recipient path, usually ``<user@domain>``.
    for_: str | None = None
    #: The date after the last ``;``, or None when missing or unparseable.
    date: datetime | None = None
    #: Every clause in order as ``(keyword, raw text)`` with the keyword in
    #: lower case and the text (comments included) stripped.
    clauses: tuple[tuple[str, str], ...] = ()
    #: The text after the last ``;`` as written (empty when there is none).
    date_text: str = ""


def parse_received(value: str) -> Received:
    """Split a ``Received`` field value into clauses and a date."""
    semi = mask_comments(value).rfind(";")
    if semi == -1:
        head, date_text = value, ""
    else:
        head, date_text = value[:semi], value[semi + 1 :].strip()
    masked = mask_comments(head)
    marks = list(_CLAUSE.finditer(masked))
    clauses: list[tuple[str, str]] = []
    fields: dict[str, str] = {}
    for k, m in enumerate(marks):
        end = marks[k + 1].start() if k + 1 < len(marks) else len(head)
        keyword = m.group(1).lower()
        text = head[m.end() : end].strip()
        clauses.append((keyword, text))
        if keyword not in fields:
            tok = _FIRST_TOKEN.search(masked, m.end(), end)
            if tok is not None:
                fields[keyword] = tok.group()
    return Received(
        from_=fields.get("from"),
        by=fields.get("by"),
        via=fields.get("via"),
        with_=fields.get("with"),
        id=fields.get("id"),
        for_=fields.get("for"),
        date=parse_date(date_text) if date_text else None,
        clauses=tuple(clauses),
        date_text=date_text,
    )
