"""Header sections (RFC 5322 §2.2, §3.6; RFC 6532): split, unfold, decode, keep raw.

Theory of operation
-------------------
A header section is a run of *fields*.  Each field is a line ``name: value``
optionally followed by continuation lines, which begin with a space or a tab
(RFC 5322 §2.2.3, "folding").  The section ends at the first empty line; what
follows is the body (§2.1).

Real mail breaks every one of those rules, and a parser that refuses broken
mail is useless, so this module is *tolerant*: every anomaly is worked around
the way deployed software (and the reference we test against, CPython's
``email`` package with ``policy.default``) does it, and recorded as a
:class:`~mailproto.imf.defects.Defect` instead of raised:

* LF-only line ends are accepted everywhere (``\\n`` ends a line; a ``\\r``
  before it belongs to the line ending).
* A line that is neither a field (``name:``) nor a continuation ends the
  header section: it is the first line of a body whose blank separator line
  is missing (``missing-header-body-separator``).
* A continuation line before the first field cannot belong to anything; it is
  kept in the raw bytes and otherwise ignored (``leading-continuation``).
* ``From `` lines (the mbox envelope, RFC 4155) are not fields: the first
  line is remembered as :attr:`Headers.unixfrom`, later ones are ignored
  (``misplaced-envelope-header``).
* A field with an empty name (``: value``) is ignored (``missing-header-name``).
* 8-bit bytes are decoded as UTF-8 (RFC 6532 allows raw UTF-8 in header
  values); bytes that are not UTF-8 are decoded as Latin-1 instead when the
  value holds no UTF-8 sequence at all (legacy 8-bit mail), else as UTF-8
  with U+FFFD for the broken bytes (``invalid-utf8-header``).

Nothing is ever copied away from the original bytes: a :class:`Headers`
holds the buffer it was parsed from and the span of the section, and each
:class:`HeaderField` knows its exact byte span, so ``raw()`` gives every
field back byte for byte.  That is what the later editing API builds on: an
edited message re-emits untouched fields from their spans.

Laziness
--------
Parsing a message only finds where the header section ends (one regex
match that also checks every line is a header line).  Fields are split on
first use of anything that needs all of them (``get_all``, iteration,
``fields``, ``defects``); a single ``get`` before that is a compiled, cached,
case-insensitive search for ``Name:`` at the start of the section or after
a line feed, then one more for the end of the field, which is how a mailbox
indexer reading Subject/From/To/Date avoids splitting the other 30 fields of
every message.  Both paths give the same answer (a hypothesis test checks).

Defect kinds recorded here: ``missing-header-body-separator``,
``leading-continuation``, ``misplaced-envelope-header``,
``missing-header-name``, ``invalid-utf8-header``, ``header-section-too-large``,
``too-many-header-fields``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import attrs

from mailproto.codecs.encoded_words import decode_header_text
from mailproto.imf.addresses import (
    Address,
    AddressList,
    _format_simple_address_list,
    format_address_list,
    parse_address_list,
)
from mailproto.imf.dates import parse_date
from mailproto.imf.defects import Defect
from mailproto.limits import MessageLimits

__all__ = ["HeaderField", "Headers", "split_header_section"]

_DEFAULT_LIMITS = MessageLimits()

# The valid lines at the start of a section, in one match: each is a field
# line ("name:" where the name is printable ASCII without a colon, RFC 5322
# §3.6.8 ftext, %d33-57 / %d59-126, and WSP may precede the colon as the
# obsolete syntax of §4.5.3 allows), a continuation line (leading WSP,
# §2.2.3) or an mbox "From " line.  The match stops at the first line that is
# none of these: the empty line that ends the section (CRLF or LF alone), or,
# like CPython's feedparser, a non-header line that starts a body whose
# separator line is missing.  One regex match, linear, no per-line Python.
_HEADER_LINES = re.compile(rb"(?:(?:[ \t]|From |[\x21-\x39\x3b-\x7e]*[ \t]*:)[^\n]*(?:\n|\Z))*")

# One field: a first line that does not start with WSP, then any number of
# continuation lines.  The last line of a section may lack its line feed.
_FIELD = re.compile(rb"[^ \t\n][^\n]*(?:\n[ \t][^\n]*)*\n?")
# Continuation lines before the first field.
_LEADING_CONTINUATION = re.compile(rb"(?:[ \t][^\n]*(?:\n|\Z))+")
# Where a field (the one starting at a match of a name search) ends: the
# first line feed not followed by WSP.
_FIELD_END = re.compile(rb"\n(?![ \t])")

# Header names whose value is an address list (RFC 5322 §3.6.2, §3.6.3,
# §3.6.6): ``get`` formats them the way CPython's policy.default does.
_ADDRESS_FIELDS = frozenset(
    {
        "from",
        "sender",
        "reply-to",
        "to",
        "cc",
        "bcc",
        "resent-from",
        "resent-sender",
        "resent-to",
        "resent-cc",
        "resent-bcc",
    }
)
# Structured fields whose value is returned unfolded but otherwise as written:
# encoded words are not allowed in them (RFC 2047 §5), so nothing is decoded.
_VERBATIM_FIELDS = frozenset(
    {
        "date",
        "resent-date",
        "orig-date",
        "message-id",
        "resent-message-id",
        "in-reply-to",
        "references",
        "mime-version",
        "content-type",
        "content-disposition",
        "content-transfer-encoding",
        "content-id",
        "received",
        "return-path",
    }
)

# _locate's answer when only the full split can find the field.
_SLOW = (-1, -1, -1)

# An address list already in the form ``format_address_list`` gives it:
# mailboxes "Display Name <local@domain>" (display name of atoms separated
# by single spaces, so it needs no quoting) or bare "local@domain"
# (dot-atoms, RFC 5322 §3.2.3, §3.4.1), separated by ", ".  Such a value
# is returned as is by ``get``, without parsing: most From and To fields of
# real mail look like this.  (Encoded words are excluded by the caller:
# "=" and "?" are atext.)  tests/imf/test_headers.py checks the shortcut
# against the parser and formatter.
_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+"
_DOT_ATOM = rf"{_ATEXT}(?:\.{_ATEXT})*"
_MAILBOX = rf"(?:{_ATEXT}(?: {_ATEXT})* <{_DOT_ATOM}@{_DOT_ATOM}>|{_DOT_ATOM}@{_DOT_ATOM})"
_CANONICAL_ADDRESS_LIST = re.compile(rf"{_MAILBOX}(?:, {_MAILBOX})*")

_name_searches: dict[str, tuple[re.Pattern[bytes], re.Pattern[bytes]]] = {}


def _name_search(name: str) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """Compiled searches for a field called ``name``, cached per lower-case name.

    The first matches ``Name[ \\t]*:`` at the start of the section, the second
    ``\\nName[ \\t]*:`` anywhere in it (a line-feed-anchored search is an
    order of magnitude faster than a MULTILINE ``^`` one).
    """
    key = name.lower()
    patterns = _name_searches.get(key)
    if patterns is None:
        if len(_name_searches) > 512:  # bound the cache against arbitrary names
            _name_searches.clear()
        body = re.escape(key.encode("latin-1", "replace")) + rb"[ \t]*:"
        patterns = (re.compile(body, re.IGNORECASE), re.compile(rb"\n" + body, re.IGNORECASE))
        _name_searches[key] = patterns
    return patterns


# A character that a UTF-8 decoding produced from a real multi-byte
# sequence (not ASCII, not the replacement character).
_DECODED_NON_ASCII = re.compile("[^\x00-\x7f\ufffd]")


def _text(data: bytes, defects: list[Defect] | None, offset: int) -> str:
    """Decode header bytes: UTF-8 (RFC 6532), with a fallback and a defect.

    When the bytes are not valid UTF-8 but contain valid multi-byte UTF-8
    sequences (UTF-8 with a broken character, e.g. a truncated name), the bad
    bytes become U+FFFD as CPython's ``email`` does; when they contain none
    (legacy 8-bit mail, nearly always Latin-1 or windows-1252), the whole
    value is decoded as Latin-1, which never fails and loses nothing.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if defects is not None:
            defects.append(
                Defect(
                    kind="invalid-utf8-header",
                    message="header bytes are not valid UTF-8",
                    offset=offset + exc.start,
                )
            )
        text = data.decode("utf-8", "replace")
        if _DECODED_NON_ASCII.search(text) is not None:
            return text
        return data.decode("latin-1")


def _unfold(value: str) -> str:
    """Remove every CR and LF (RFC 5322 §2.2.3 unfolding; the WSP stays)."""
    if "\n" in value or "\r" in value:
        return value.replace("\r", "").replace("\n", "")
    return value


def split_header_section(
    data: bytes, start: int = 0, end: int | None = None, limits: MessageLimits | None = None
) -> tuple[int, int, list[Defect]]:
    """Find where the header section of ``data[start:end]`` ends.

    Returns ``(header_end, body_start, defects)``: the section is
    ``data[start:header_end]`` (its last line ending included) and the body
    starts at ``body_start`` (after the empty separator line, if there is
    one).  ``start`` must be 0 or just after a line feed.  Linear in the
    section size; never raises.
    """
    if end is None:
        end = len(data)
    limits = limits or _DEFAULT_LIMITS
    window = start + limits.header_section_size
    window = min(window, end)
    # The pattern can match the empty string, so it always matches.
    stop = _HEADER_LINES.match(data, start, window).end()  # type: ignore[union-attr]
    # The common case first: the header lines end at the empty separator
    # line (LF LF or CRLF CRLF; with no fields at all, the input starts
    # with it and stop == start).  ``stop`` must be at the start of a line:
    # a line cut by the size bound also stops the match.
    if stop < end and (stop == start or data[stop - 1] == 0x0A):
        if data[stop] == 0x0A:
            return stop, stop + 1, []
        if data.startswith(b"\r\n", stop):
            return stop, stop + 2, []
    defects: list[Defect] = []
    if stop >= end:
        # Header lines up to the end: a message without a body.
        header_end = body_start = end
    elif stop >= window:
        # The section is larger than the bound: cut it at the last complete
        # line inside the bound and treat the rest as body.
        cut = data.rfind(b"\n", start, window)
        header_end = body_start = cut + 1 if cut >= 0 else window
        defects.append(
            Defect(
                kind="header-section-too-large",
                message=f"header section exceeds {limits.header_section_size} octets",
                offset=header_end,
            )
        )
    else:
        header_end = body_start = stop
        defects.append(
            Defect(
                kind="missing-header-body-separator",
                message="a line that is not a header field ends the header section",
                offset=header_end,
            )
        )
    return header_end, body_start, defects


@attrs.frozen(kw_only=True)
class HeaderField:
    """One header field, with its exact bytes."""

    #: The field name as written (case preserved, trailing WSP before the
    #: colon removed, as RFC 5322 §4.5.3 obs-optional allows it).
    name: str
    #: The field's bytes exactly as in the message: name, colon, value,
    #: continuation lines and the final line ending (if any).
    raw: bytes
    #: Offset of ``raw`` in the buffer the section was parsed from.
    offset: int
    #: Index in ``raw`` just after the colon.
    value_start: int

    @property
    def raw_value(self) -> bytes:
        """The value bytes as written: after the colon, folds and line ending included."""
        return self.raw[self.value_start :]

    def value(self, defects: list[Defect] | None = None) -> str:
        """The unfolded value as text (no encoded words decoded).

        Leading WSP is removed and line breaks are deleted (RFC 5322 §2.2.3);
        undecodable bytes are recorded in ``defects``.
        """
        raw = self.raw[self.value_start :].lstrip(b" \t")
        return _unfold(_text(raw, defects, self.offset + self.value_start))


def _interpret(name: str, value: str, defects: list[Defect] | None, max_words: int = 10_000) -> str:
    """The presentation of an unfolded value that ``Headers.get`` returns."""
    lname = name.lower()
    if lname in _ADDRESS_FIELDS:
        if "=?" not in value and _CANONICAL_ADDRESS_LIST.fullmatch(value) is not None:
            return value  # already formatted as the formatter would
        if defects is None:
            formatted = _format_simple_address_list(value)
            if formatted is not None:
                return formatted
        parsed = parse_address_list(value)
        if defects is not None:
            defects.extend(parsed.defects)
        return format_address_list(parsed.items)
    if lname in _VERBATIM_FIELDS or ("=?" not in value):
        return value
    return decode_header_text(value, defects, max_words=max_words)


class Headers:
    """The header section of a message or body part, split lazily.

    Names are case-insensitive; order and duplicates are kept.  Build one
    with :meth:`parse` (or get it from :attr:`mailproto.mime.Message.headers`).
    Iterating yields ``(name, value)`` pairs with values as :meth:`get`
    returns them.
    """

    __slots__ = ("_data", "_defects", "_end", "_fields", "_limits", "_start", "_unixfrom")

    def __init__(
        self,
        data: bytes,
        start: int = 0,
        end: int | None = None,
        *,
        limits: MessageLimits | None = None,
    ) -> None:
        """Wrap an already delimited section ``data[start:end]`` (see :meth:`parse`)."""
        self._data = data
        self._start = start
        self._end = len(data) if end is None else end
        self._limits = limits or _DEFAULT_LIMITS
        self._fields: list[HeaderField] | None = None
        self._defects: list[Defect] = []
        self._unixfrom: str | None = None

    @classmethod
    def parse(cls, data: bytes, *, limits: MessageLimits | None = None) -> Headers:
        """Parse the header section at the start of ``data`` (anything after it is ignored)."""
        header_end, _, defects = split_header_section(data, 0, len(data), limits)
        headers = cls(data, 0, header_end, limits=limits)
        headers._defects.extend(defects)
        return headers

    # -- splitting ---------------------------------------------------------

    def _split(self) -> list[HeaderField]:
        """Split the section into fields (once); anomalies become defects."""
        fields = self._fields
        if fields is not None:
            return fields
        fields = []
        data, pos, end = self._data, self._start, self._end
        lead = _LEADING_CONTINUATION.match(data, pos, end)
        if lead is not None and lead.end() > pos:
            self._defects.append(
                Defect(
                    kind="leading-continuation",
                    message="the header section starts with a continuation line",
                    offset=pos,
                )
            )
            pos = lead.end()
        max_fields = self._limits.header_count
        first = True
        for m in _FIELD.finditer(data, pos, end):
            line = m.group()
            offset = m.start()
            if line.startswith(b"From "):
                # An mbox envelope line (RFC 4155), not a field.
                if first:
                    self._unixfrom = _text(line, None, offset).rstrip("\r\n")
                else:
                    self._defects.append(
                        Defect(
                            kind="misplaced-envelope-header",
                            message="a 'From ' envelope line inside the header section",
                            offset=offset,
                        )
                    )
                first = False
                continue
            first = False
            colon = line.find(b":")
            if colon <= 0:
                self._defects.append(
                    Defect(
                        kind="missing-header-name",
                        message="a header line without a field name",
                        offset=offset,
                    )
                )
                continue
            if len(fields) >= max_fields:
                self._defects.append(
                    Defect(
                        kind="too-many-header-fields",
                        message=f"more than {max_fields} header fields; the rest are ignored",
                        offset=offset,
                    )
                )
                break
            name = line[:colon].rstrip(b" \t").decode("latin-1")
            fields.append(HeaderField(name=name, raw=line, offset=offset, value_start=colon + 1))
        self._fields = fields
        return fields

    def _locate(self, name: str) -> tuple[int, int, int] | None:
        """Where the first ``name`` field is, without splitting the others.

        Returns ``(start, value_start, end)`` offsets in the buffer, ``None``
        when there is no such field, or ``(-1, -1, -1)`` when only the full
        split can tell (see below).
        """
        data, start, end = self._data, self._start, self._end
        if self._fields is not None or end - start >= 3 * self._limits.header_count:
            # Already split, or the section could hold more fields than the
            # bound (each takes at least 3 octets, "a:\n"): only the full
            # split knows which ones count.
            return _SLOW
        at_start, anywhere = _name_search(name)
        m = at_start.match(data, start, end)
        if m is not None:
            begin = start
        else:
            m = anywhere.search(data, start, end)
            if m is None:
                return None
            begin = m.start() + 1
        if data.startswith(b"From ", begin):
            return _SLOW  # an envelope line, not a field
        value_start = m.end()
        stop = _FIELD_END.search(data, value_start, end)
        return begin, value_start, (stop.start() + 1 if stop is not None else end)

    def _find_first(self, name: str) -> HeaderField | None:
        """The first field called ``name``, without splitting the others."""
        where = self._locate(name)
        if where is None:
            return None
        begin, value_start, field_end = where
        if begin < 0:
            return self._slow_first(name)
        data = self._data
        return HeaderField(
            name=data[begin : value_start - 1].rstrip(b" \t").decode("latin-1"),
            raw=data[begin:field_end],
            offset=begin,
            value_start=value_start - begin,
        )

    def _first_value(self, name: str) -> str | None:
        """The first ``name`` field's unfolded value (what ``value`` returns), fast."""
        where = self._locate(name)
        if where is None:
            return None
        begin, value_start, field_end = where
        if begin < 0:
            field = self._slow_first(name)
            return None if field is None else field.value()
        raw = self._data[value_start:field_end].lstrip(b" \t")
        return _unfold(_text(raw, None, value_start))

    def _slow_first(self, name: str) -> HeaderField | None:
        lname = name.lower()
        for field in self._split():
            if field.name.lower() == lname:
                return field
        return None

    # -- public API --------------------------------------------------------

    @property
    def fields(self) -> tuple[HeaderField, ...]:
        """Every field, in order."""
        return tuple(self._split())

    @property
    def defects(self) -> list[Defect]:
        """What was wrong with the section (splits it if not yet done)."""
        self._split()
        return self._defects

    @property
    def unixfrom(self) -> str | None:
        """The mbox envelope line (``From sender date``, RFC 4155) before the fields, if any."""
        self._split()
        return self._unixfrom

    @property
    def span(self) -> tuple[int, int]:
        """``(start, end)`` of the section in the buffer it was parsed from."""
        return self._start, self._end

    def __bytes__(self) -> bytes:
        return self._data[self._start : self._end]

    def __len__(self) -> int:
        return len(self._split())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._find_first(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for field in self._split():
            yield (
                field.name,
                _interpret(field.name, field.value(), None, self._limits.encoded_words),
            )

    def __repr__(self) -> str:
        return f"<Headers {[f.name for f in self._split()]!r}>"

    def keys(self) -> list[str]:
        """The field names, in order, duplicates included."""
        return [f.name for f in self._split()]

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first ``name`` field's value, unfolded and decoded, or ``default``.

        Unstructured fields (Subject, Comments, unknown fields) have their
        RFC 2047 encoded words decoded; address fields (From, To, Cc, …) are
        parsed and re-formatted the way CPython's ``email`` policy.default
        shows them (display names decoded, quoted where needed); other
        structured fields (Date, Message-ID, ``Content-*``, Received, …) are
        returned unfolded, as written.
        """
        value = self._first_value(name)
        if value is None:
            return default
        return _interpret(name, value, None, self._limits.encoded_words)

    def get_all(self, name: str) -> list[str]:
        """Every ``name`` field's value (as :meth:`get` presents it), in order."""
        lname = name.lower()
        return [
            _interpret(f.name, f.value(), None, self._limits.encoded_words)
            for f in self._split()
            if f.name.lower() == lname
        ]

    def get_field(self, name: str) -> HeaderField | None:
        """The first field called ``name`` (with its raw bytes and offset), or None."""
        return self._find_first(name)

    def value(self, name: str) -> str | None:
        """The first ``name`` field's unfolded value, no decoding at all."""
        return self._first_value(name)

    def raw(self, name: str) -> bytes | None:
        """The first ``name`` field exactly as written (name, folds, line ending)."""
        field = self._find_first(name)
        return None if field is None else field.raw

    def raw_all(self, name: str) -> list[bytes]:
        """Every ``name`` field exactly as written, in order."""
        lname = name.lower()
        return [f.raw for f in self._split() if f.name.lower() == lname]

    def address_list(self, name: str) -> AddressList | None:
        """The first ``name`` field parsed as an address list (groups kept), or None."""
        value = self.value(name)
        return None if value is None else parse_address_list(value)

    def addresses(self, name: str) -> list[Address]:
        """The mailboxes of every ``name`` field (group members flattened), in order."""
        lname = name.lower()
        result: list[Address] = []
        for f in self._split():
            if f.name.lower() == lname:
                result.extend(parse_address_list(f.value()).addresses)
        return result

    def date(self, name: str = "Date") -> datetime | None:
        """The first ``name`` field as a datetime (RFC 5322 §3.3), or None."""
        value = self.value(name)
        return None if value is None else parse_date(value)
