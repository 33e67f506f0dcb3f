"""Serialising IMAP values: choose the representation, emit fragments.

Theory
------
Serialising is choosing, for every string, the *cheapest representation that
round-trips* (RFC 9051 §4.3):

* an **atom** when the grammar allows one there (``astring``) and every
  character is an ASTRING-CHAR — and never the bare word ``NIL`` where it would
  read as nil;
* a **quoted string** when every character is a TEXT-CHAR (7-bit, no CR, LF,
  NUL; UTF-8 too when UTF8=ACCEPT is in force, RFC 6855 §3), with ``"`` and
  ``\\`` escaped;
* a **literal** otherwise (CR, LF, 8-bit text without UTF-8 mode), or always
  for message data.

A client may not send the octets of a synchronising literal before the server
says ``+`` (RFC 9051 §7.5), so a command serialises to a list of
*fragments*: :class:`LineFragment` (send it) and :class:`LiteralFragment`
(send it after ``+`` when :attr:`LiteralFragment.sync`).  With LITERAL+ (or
LITERAL- for literals up to 4096 octets, RFC 7888 §5) the writer announces
``{n+}`` and nothing waits.  Servers never wait for anything, so responses
serialise straight to bytes.

Literal data may be a :class:`~mailproto.imap.types.LiteralChunks` (a body
received in zero-copy mode, in a FETCH response being forwarded): it is
announced by its length and carried as its pieces.
:meth:`Writer.finish_bytes` must join everything (one copy: the caller asked
for bytes); :meth:`Writer.finish_chunks` hands the pieces on unjoined, for
``writelines``/``os.writev``, so a proxy forwards a body without copying it.
"""

from __future__ import annotations

import datetime
import re
from typing import Literal

import attrs

from mailproto.codecs import imap_utf7
from mailproto.errors import LocalProtocolError
from mailproto.imap.types._literal import LiteralChunks

__all__ = ["LineFragment", "LiteralFragment", "Writer", "check_tag", "section_text"]

# ASTRING-CHAR = ATOM-CHAR / resp-specials; ATOM-CHAR = any CHAR except
# atom-specials: ( ) { SP CTL % * " \ ]  (RFC 9051 §9).
_ASTRING = re.compile(r"[!#$&'+-\[\^-z|}~\]]+")
_ATOM = re.compile(r"[!#$&'+-\[\^-z|}~]+")
# list-mailbox also allows the list-wildcards % and * (RFC 9051 §9).
_LIST_MAILBOX = re.compile(r"[!#$&'*-\[\^-z|}~\]%]+")
# TEXT-CHAR minus nothing: what a quoted string may hold (7-bit, no CR/LF/NUL).
_QUOTABLE = re.compile(r"[\x01-\x09\x0b\x0c\x0e-\x7f]*")
_QUOTABLE_UTF8 = re.compile(r"[^\x00\r\n\udc80-\udcff]*")
_ESCAPE = re.compile(r'(["\\])')
# tag = 1*<any ASTRING-CHAR except "+"> (RFC 9051 §9)
_TAG = re.compile(r"[!#$&',-\[\^-z|}~\]]+")

_ANNOUNCEMENT_END = re.compile(rb"\{[0-9]+[+-]?\}\Z")

# Bounded caches of wire forms (see Writer.flags and Writer.datetime).
_WIRE_CACHE_SIZE = 1024
_FLAGS_WIRE: dict[tuple[str, ...], bytes] = {}
_DATETIME_WIRE: dict[tuple[datetime.datetime, object], bytes] = {}

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def check_tag(tag: str) -> None:
    """Raise :class:`LocalProtocolError` unless *tag* is a valid tag."""
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        raise LocalProtocolError(f"invalid tag {tag!r}")


def check_atom(value: str, what: str = "atom") -> str:
    """Return *value* if it is a valid atom, else raise."""
    if not _ATOM.fullmatch(value):
        raise LocalProtocolError(f"invalid {what} {value!r}")
    return value


def check_flag(flag: str) -> str:
    """Validate a flag: ``\\`` atom (system or extension flag), ``\\*``, or keyword."""
    if flag == "\\*" or _ATOM.fullmatch(flag[1:] if flag.startswith("\\") else flag):
        return flag
    raise LocalProtocolError(f"invalid flag {flag!r}")


def format_date(value: datetime.date) -> str:
    """``date-text``: ``d-Mon-yyyy`` (RFC 9051 §9)."""
    return f"{value.day}-{_MONTHS[value.month - 1]}-{value.year:04d}"


def format_datetime(value: datetime.datetime) -> str:
    """``date-time``: ``"dd-Mon-yyyy hh:mm:ss +zzzz"`` without the quotes."""
    if value.tzinfo is None:
        raise LocalProtocolError("IMAP date-times need a time zone (an aware datetime)")
    offset = value.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return (
        f"{value.day:2d}-{_MONTHS[value.month - 1]}-{value.year:04d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d} "
        f"{sign}{minutes // 60:02d}{minutes % 60:02d}"
    )


def section_text(section: object) -> str:
    """The text inside ``[...]`` for a :class:`~mailproto.imap.types.Section`."""
    from mailproto.imap.types._values import Section

    assert isinstance(section, Section)
    parts = [str(n) for n in section.part]
    if section.text is not None:
        parts.append(section.text)
    text = ".".join(parts)
    if section.fields:
        # Inside "[...]" a bare "]" would end the section, so field names are
        # atoms only when they are plain ATOM-CHARs, quoted otherwise (the
        # Section constructor keeps them to printable ASCII, so quoting works).
        names = [
            f if _ATOM.fullmatch(f) and f.upper() != "NIL" else '"' + _ESCAPE.sub(r"\\\1", f) + '"'
            for f in section.fields
        ]
        text += " (" + " ".join(names) + ")"
    return text


@attrs.frozen
class LineFragment:
    """Bytes to send as they are (a line, or the part of one up to a literal)."""

    #: The octets, ending in CRLF.
    data: bytes


@attrs.frozen
class LiteralFragment:
    """The octets of a literal whose announcement ended the previous fragment."""

    #: The literal octets.
    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")
    #: True when the peer must answer ``+`` before these octets may be sent.
    sync: bool


@attrs.frozen
class _PiecesFragment:
    """A literal whose octets are a :class:`LiteralChunks` (kept unjoined).

    Internal to the writer: :meth:`Writer.finish_chunks` hands out its
    pieces, :meth:`Writer.finish_bytes` joins them, and
    :meth:`Writer.finish_fragments` (typed ``bytes``) joins them into a
    :class:`LiteralFragment`.
    """

    #: The literal octets, as received.
    data: LiteralChunks = attrs.field(repr=False)
    #: As :attr:`LiteralFragment.sync`.
    sync: bool


LiteralMode = Literal["sync", "plus", "minus", "server"]


class Writer:
    """Accumulates the wire form of one message, splitting at literals."""

    __slots__ = ("fragments", "literal_mode", "parts", "utf8", "utf8_mailboxes")

    def __init__(
        self,
        *,
        literal_mode: LiteralMode = "server",
        utf8: bool = False,
        utf8_mailboxes: bool | None = None,
    ) -> None:
        #: ``"sync"`` ({n}, wait for +), ``"plus"`` ({n+}), ``"minus"`` ({n+}
        #: up to 4096 octets, RFC 7888 §5), ``"server"`` ({n}, nobody waits).
        self.literal_mode = literal_mode
        #: UTF8=ACCEPT in force: quoted strings may carry UTF-8 (RFC 6855).
        self.utf8 = utf8
        #: Mailbox names as UTF-8 rather than modified UTF-7.
        self.utf8_mailboxes = utf8 if utf8_mailboxes is None else utf8_mailboxes
        self.parts: list[bytes] = []
        self.fragments: list[LineFragment | LiteralFragment | _PiecesFragment] = []

    # -- primitives -----------------------------------------------------------

    def raw(self, data: bytes) -> None:
        self.parts.append(data)

    def text(self, value: str) -> None:
        self.parts.append(value.encode("utf-8", "surrogateescape"))

    def sp(self) -> None:
        self.parts.append(b" ")

    def number(self, value: int) -> None:
        if value < 0:
            raise LocalProtocolError(f"negative number {value}")
        self.parts.append(str(value).encode("ascii"))

    def atom(self, value: str) -> None:
        self.parts.append(check_atom(value).encode("ascii"))

    def literal(self, data: bytes | LiteralChunks, *, binary: bool = False) -> None:
        n = len(data)
        mode = self.literal_mode
        sync = mode == "sync" or (mode == "minus" and n > 4096)
        plus = b"" if sync or mode == "server" else b"+"
        self.parts.append(b"~{" if binary else b"{")
        self.parts.append(b"%d%s}\r\n" % (n, plus))
        self.fragments.append(LineFragment(b"".join(self.parts)))
        if data.__class__ is bytes:
            self.fragments.append(LiteralFragment(data, sync))
        else:
            self.fragments.append(_PiecesFragment(data, sync))  # type: ignore[arg-type]
        self.parts = []

    def string(self, value: str | bytes) -> None:
        """A quoted string if possible, else a literal."""
        if isinstance(value, bytes):
            text = value.decode("utf-8", "surrogateescape")
        else:
            text = value
        pattern = _QUOTABLE_UTF8 if self.utf8 else _QUOTABLE
        if pattern.fullmatch(text):
            if '"' in text or "\\" in text:
                text = _ESCAPE.sub(r"\\\1", text)
            self.parts.append(b'"' + text.encode("utf-8", "surrogateescape") + b'"')
            return
        try:
            data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            # A lone surrogate outside surrogateescape's range (U+DC80-DCFF,
            # which stand for raw octets) has no octets to send.
            raise LocalProtocolError("a string holding a lone surrogate cannot be sent") from None
        if b"\x00" in data:
            raise LocalProtocolError("NUL cannot be sent in a string (RFC 9051 §4.3)")
        self.literal(data)

    def nstring(self, value: str | bytes | None) -> None:
        if value is None:
            self.parts.append(b"NIL")
        else:
            self.string(value)

    def astring(self, value: str) -> None:
        if _ASTRING.fullmatch(value) and value.upper() != "NIL":
            self.parts.append(value.encode("ascii"))
        else:
            self.string(value)

    def mailbox_name(self, value: str) -> str:
        """The wire text of a mailbox name (modified UTF-7 unless UTF-8 mode)."""
        if self.utf8_mailboxes:
            return value
        if value.upper() == "INBOX":
            return value
        return imap_utf7.encode(value)

    def mailbox(self, value: str) -> None:
        self.astring(self.mailbox_name(value))

    def list_mailbox(self, value: str) -> None:
        name = self.mailbox_name(value)
        if _LIST_MAILBOX.fullmatch(name):
            self.parts.append(name.encode("ascii"))
        else:
            self.string(name)

    def flag(self, value: str) -> None:
        self.parts.append(check_flag(value).encode("ascii"))

    def flags(self, values: tuple[str, ...]) -> None:
        # A mailbox has a handful of distinct flag lists, and a server writes
        # one per FETCH: the checked wire form is cached (bounded, keyed by
        # the tuple of str, which is immutable).
        wire = _FLAGS_WIRE.get(values)
        if wire is None:
            wire = b"(" + " ".join(check_flag(f) for f in values).encode("ascii") + b")"
            if len(_FLAGS_WIRE) >= _WIRE_CACHE_SIZE:
                _FLAGS_WIRE.clear()
            _FLAGS_WIRE[values] = wire
        self.parts.append(wire)

    def paren(self, items: list[object]) -> None:
        """``(a b c)`` where each item is a zero-argument callable that writes it."""
        self.parts.append(b"(")
        first = True
        for item in items:
            if not first:
                self.parts.append(b" ")
            first = False
            item()  # type: ignore[operator]
        self.parts.append(b")")

    def seqset(self, value: object) -> None:
        self.parts.append(str(value).encode("ascii"))

    def datetime(self, value: datetime.datetime) -> None:
        # INTERNALDATEs repeat (messages delivered in the same second): cached
        # like the flag lists.  Aware datetimes that compare equal can differ
        # in their zone, which the wire form shows, so the key includes it.
        key = (value, value.utcoffset())
        wire = _DATETIME_WIRE.get(key)
        if wire is None:
            wire = b'"' + format_datetime(value).encode("ascii") + b'"'
            if len(_DATETIME_WIRE) >= _WIRE_CACHE_SIZE:
                _DATETIME_WIRE.clear()
            _DATETIME_WIRE[key] = wire
        self.parts.append(wire)

    def crlf(self) -> None:
        # A line ending in "{n}" (or "{n+}", "~{n}") is read by every peer as
        # a literal announcement (RFC 9051 §4.3): never emit one by accident,
        # e.g. from response text.
        tail = self.parts[-1] if self.parts else b""
        if tail.endswith(b"}") and _ANNOUNCEMENT_END.search(b"".join(self.parts[-3:])):
            raise LocalProtocolError("a line cannot end with a literal announcement")
        self.parts.append(b"\r\n")

    # -- results ----------------------------------------------------------------

    def finish_fragments(self) -> list[LineFragment | LiteralFragment]:
        if self.parts:
            self.fragments.append(LineFragment(b"".join(self.parts)))
            self.parts = []
        fragments = self.fragments
        self.fragments = []
        # A command holds bytes literals (AppendMessage.data is bytes); a
        # LiteralChunks given there anyway is joined here, once.
        return [
            LiteralFragment(f.data.tobytes(), f.sync) if isinstance(f, _PiecesFragment) else f
            for f in fragments
        ]

    def finish_bytes(self) -> bytes:
        out = self.finish_chunks()
        if len(out) == 1 and out[0].__class__ is bytes:
            return out[0]
        return b"".join(out)

    def finish_chunks(self) -> list[bytes | memoryview]:
        """The whole message as pieces in order, literal pieces unjoined.

        Lines are joined (short); a :class:`LiteralChunks` literal is its
        pieces, so writing the list with ``writelines`` sends a body that was
        received in zero-copy mode without ever copying it.
        """
        out: list[bytes | memoryview] = []
        for fragment in self.fragments:
            if fragment.__class__ is _PiecesFragment:
                out.extend(fragment.data.chunks)
            else:
                out.append(fragment.data)  # type: ignore[arg-type]
        if self.parts:
            out.append(b"".join(self.parts))
        self.fragments = []
        self.parts = []
        return out
