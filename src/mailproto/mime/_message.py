"""The lazy MIME tree (RFC 2045, RFC 2046 §5).

Theory of operation
-------------------
``mime.parse(raw)`` keeps ``raw`` and returns a :class:`Message` that is only
a pair of offsets into it.  Everything else happens on first use:

* the header/body split of a part (one regex match over its header lines)
  on first access to its headers, body or children (for the root: at parse);
* the header fields (see :mod:`mailproto.imf.headers`), split only when a
  caller needs all of them; one ``get`` is a single regex search;
* the Content-Type and Content-Disposition parameters, parsed once per
  distinct value (a small bounded cache: a mailbox repeats a few values);
* the children of a multipart: a ``bytes.find`` for the delimiter over the
  part's body, once, creating child parts that are again just offsets (and
  finding where each child's small header section ends: see the section
  memo below).  A part whose header section does not contain the words
  "multipart" or "message" cannot have children, so a walk does not even
  parse its Content-Type;
* transfer decoding and charset decoding, every time ``decoded()`` or
  ``text()`` is called (nothing is cached, so a walk over a 90 MB
  attachment holds one decoded copy at a time, not the whole tree's), with
  the codecs' extra validation scans off; ``defects`` runs them once, when
  it is read.

Every part therefore knows its exact span in the original bytes and
``bytes(part)`` is that span: for the root, the input byte for byte.

The section memo.  Body part header sections repeat: a mailbox has a few
kinds of part headers, and a hostile message can have thousands of parts
with the same one (flanker's enclosed-endless.eml: 3,043).  A body part's
header section of up to 1 KiB is looked up, by its bytes, in a bounded
memo whose entry (``_Section``) holds the answers that depend only on
those bytes: whether it can declare a container, and, filled by the first
part that asks, its parsed Content-Type, Content-Disposition and
Content-Transfer-Encoding.  When a multipart is split, a child whose
section is byte for byte the previous child's (one ``startswith``) gets
that entry without any search.  Each part still records the parse defects
in its own list, so ``defects`` is exactly what it would be without the
memo (tests/mime/test_section_memo.py checks every answer against a parse
with the memo off).

Multipart bodies (RFC 2046 §5.1.1)::

    multipart-body := [preamble CRLF] dash-boundary transport-padding CRLF
                      body-part *encapsulation close-delimiter
                      transport-padding [CRLF epilogue]
    encapsulation  := delimiter transport-padding CRLF body-part
    delimiter      := CRLF dash-boundary
    close-delimiter := delimiter "--"

The CRLF *before* ``--boundary`` belongs to the delimiter, not to the part
before it.  A boundary may be a prefix of another boundary (nested parts
often use ``=_abc`` and ``=_abc_1``), so a candidate line is a delimiter only
if ``--boundary`` is followed by ``--`` (close), by transport padding (spaces
and tabs) and a line ending, or by the end of the body.  LF-only line endings
are accepted throughout.

Bounds (:class:`~mailproto.limits.MessageLimits`): a part nested deeper than
``nesting_depth`` is kept as an opaque leaf, a tree with more than ``parts``
parts stops splitting, and header sections are bounded as described in
:mod:`mailproto.imf.headers` — each with a defect, never an exception.  No
step scans any byte more than a constant number of times per nesting level,
and the nesting depth is bounded, so parsing is linear in the input.

Defect kinds recorded here: ``invalid-content-type``,
``multipart-without-boundary``, ``multipart-without-delimiter``,
``missing-close-delimiter``, ``nesting-too-deep``, ``too-many-parts``,
``unknown-transfer-encoding``, plus those of the header parser and codecs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType

from mailproto.codecs import b64, quoted_printable, uuencode
from mailproto.imf.defects import Defect
from mailproto.imf.headers import _HEADER_LINES, Headers, split_header_section
from mailproto.limits import MessageLimits
from mailproto.mime._params import parse_disposition, parse_media_type, strip_comments

__all__ = ["Message", "parse"]

_DEFAULT_LIMITS = MessageLimits()
_NO_PARAMS: Mapping[str, str] = MappingProxyType({})

# What may follow "--boundary" on a delimiter line (RFC 2046 §5.1.1
# transport-padding, then CRLF; LF alone is accepted, and so is the end of
# the body).
_PADDING_EOL = re.compile(rb"[ \t]*(?:\r?\n|\Z)")
_EOL = re.compile(rb"[^\n]*(?:\n|\Z)")

# Message types whose body is one enclosed message (RFC 2046 §5.2.1,
# RFC 6532 §3.7).  Other message/* types (delivery-status, partial,
# external-body, disposition-notification) are leaves.
_ENCLOSING = frozenset({"message/rfc822", "message/global", "message/news"})

# A header section without these words cannot declare a container type.
_CONTAINER_HINT = re.compile(rb"multipart|message", re.IGNORECASE)
_container_hint = _CONTAINER_HINT.search
_header_lines = _HEADER_LINES.match

# Transfer encodings that leave the bytes unchanged (RFC 2045 §6.1).
_IDENTITY_ENCODINGS = frozenset({"", "7bit", "8bit", "binary"})
_UUENCODINGS = frozenset({"x-uuencode", "uuencode", "x-uue", "uue"})

Buffer = bytes | bytearray | memoryview

# Parsed Content-Type and Content-Disposition values, by value.  A mailbox
# (or one hostile message with 3,000 identical parts) repeats a handful of
# values endlessly; parsing each once keeps a walk cheap.  Entries are
# immutable (a read-only params mapping, a tuple of frozen defects), so
# parts can share them.  Bounded: cleared when full.
_ParsedValue = tuple[str | None, Mapping[str, str], tuple[Defect, ...]]
_CTYPE_CACHE: dict[str, _ParsedValue] = {}
_DISPOSITION_CACHE: dict[str, _ParsedValue] = {}
_CACHE_SIZE = 2048
# The entry for an absent header.
_ABSENT: _ParsedValue = (None, _NO_PARAMS, ())

# Body part header sections up to this size are memoised (a bounded dict,
# cleared when full, like the caches above): each section already checked to
# be header lines up to an empty line maps to a ``_Section`` holding what
# the section says (see there).  Every answer is a pure function of the
# section's bytes, so a memo hit gives exactly the answers the regexes and
# header lookups would.
_MEMO_SECTION = 1024
_SECTIONS: dict[bytes, _Section] = {}

# A Content-Type as a part sees it: (media type, or None when the header
# is absent, so the part's own default applies; "text/plain" for an invalid
# value), the parameters, and the parse's defects.
_CtypeEntry = tuple[str | None, Mapping[str, str], tuple[Defect, ...]]


class _Section:
    """What one memoised body part header section says, shared by every part
    whose header section has exactly these bytes.

    A hostile message (flanker's enclosed-endless.eml: 3,043 parts) or a
    mailbox repeats the same part headers again and again; the container
    hint is found when the section enters the memo, and the Content-Type,
    Content-Disposition, Content-Transfer-Encoding and filename are looked
    up and parsed at most once per distinct section, by the first part that
    asks.
    The answers do not depend on where the section is: lookups of a section
    this small never need the limits (``_split`` only uses the memo when the
    limits cannot cut such a section short), and the parse defects carry no
    offsets.  Each part still adds the parse defects to its own list.
    """

    __slots__ = ("cte", "ctype", "disposition", "filename", "hint")

    def __init__(self, hint: bool) -> None:
        #: Whether the section contains "multipart" or "message" (see ``_structure``).
        self.hint = hint
        #: The parsed Content-Type, once asked for.
        self.ctype: _CtypeEntry | None = None
        #: The parsed Content-Disposition (type, params, defects), once asked for.
        self.disposition: _ParsedValue | None = None
        #: The Content-Transfer-Encoding, lower case, once asked for.
        self.cte: str | None = None
        #: The ``filename`` property's answer (in a 1-tuple), once asked for.
        self.filename: tuple[str | None] | None = None


def _cached(
    cache: dict[str, _ParsedValue],
    parser: Callable[[str, list[Defect] | None], tuple[str | None, dict[str, str]]],
    value: str,
) -> _ParsedValue:
    entry = cache.get(value)
    if entry is None:
        defects: list[Defect] = []
        media, params = parser(value, defects)
        entry = (media, MappingProxyType(params), tuple(defects))
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        cache[value] = entry
    return entry


class _Tree:
    """State shared by every part of one parsed message."""

    __slots__ = ("data", "limits", "memo", "parts")

    def __init__(self, data: bytes, limits: MessageLimits) -> None:
        #: The original bytes (never copied, never modified).
        self.data = data
        self.limits = limits
        #: Parts created so far (the root counts), for ``limits.parts``.
        self.parts = 1
        #: Whether body parts may use the section memo: only when the limits
        #: cannot cut a memoised section short (neither its size nor its
        #: field count: every field takes at least 3 octets, "a:\n"), so that
        #: what a section says depends on its bytes alone.
        self.memo = (
            limits.header_section_size > _MEMO_SECTION and 3 * limits.header_count > _MEMO_SECTION
        )


def _line_ending_before(data: bytes, pos: int, floor: int) -> int:
    """``pos`` moved back over the CRLF or LF that ends just before it (not below floor)."""
    if pos > floor and data[pos - 1] == 0x0A:
        pos -= 1
        if pos > floor and data[pos - 1] == 0x0D:
            pos -= 1
    return pos


class Message:
    """One node of the MIME tree: a message or a body part.

    All attributes are computed on first access from offsets into the
    original bytes; nothing is copied until asked for.
    """

    __slots__ = (
        "_body_start",
        "_ctype",
        "_decoded_once",
        "_default_type",
        "_defects",
        "_depth",
        "_disposition",
        "_end",
        "_frame",
        "_header_end",
        "_headers",
        "_multipart",
        "_params",
        "_parts",
        "_section",
        "_start",
        "_tree",
    )

    def __init__(
        self, tree: _Tree, start: int, end: int, depth: int = 0, default_type: str = "text/plain"
    ) -> None:
        self._tree = tree
        self._start = start
        self._end = end
        self._depth = depth
        self._default_type = default_type
        self._header_end = -1  # -1: the header/body split has not been done
        self._body_start = -1
        self._headers: Headers | None = None
        # Defects found by this part's own parsing (a list once there is one).
        self._defects: list[Defect] | tuple[()] = ()
        self._ctype: str | None = None
        self._params: Mapping[str, str] | None = None
        self._disposition: _ParsedValue | None = None
        # Children: None until split, () for a leaf.
        self._parts: list[Message] | tuple[()] | None = None
        self._multipart = False
        # A split multipart's preamble and epilogue spans (None: none).
        self._frame: list[tuple[int, int] | None] | None = None
        self._decoded_once = False
        # What the memo knows about this part's header section (body parts only).
        self._section: _Section | None = None

    def _add_defects(self, found: Iterable[Defect]) -> None:
        """Record defects (the list is only made for a part that has some)."""
        defects = self._defects
        if not isinstance(defects, list):
            defects = self._defects = []
        defects.extend(found)

    def _add_defect(self, defect: Defect) -> None:
        self._add_defects((defect,))

    # -- spans ---------------------------------------------------------------

    def _split(self) -> None:
        """Find the header/body split (and, for a memoised section, its ``_Section``)."""
        if self._header_end >= 0:
            return
        # The common case inline (a walk over 3,000 parts does this for each
        # one): the header lines end at an empty line inside the size bound.
        # Anything else goes to split_header_section, which gives the same
        # answer for this case and records the defects of the others.
        tree = self._tree
        data, start, end = tree.data, self._start, self._end
        if self._depth and tree.memo:
            # A body part's small header section is often byte for byte one
            # seen before (a mailbox repeats a few part headers; a hostile
            # message thousands of identical ones).  Find the first empty
            # line with two bounded ``find`` calls and look the section up in
            # the memo of sections already checked by the regex below.
            stop = start + _MEMO_SECTION
            stop = end if stop > end else stop
            crlf = data.find(b"\n\r\n", start, stop)
            lf = data.find(b"\n\n", start, stop if crlf < 0 else crlf + 2)
            if lf >= 0:
                header_end, body_start = lf + 1, lf + 2
            elif crlf >= 0:
                header_end, body_start = crlf + 1, crlf + 3
            else:
                header_end = -1
            if header_end >= 0:
                section = data[start:header_end]
                known = _SECTIONS.get(section)
                if (
                    known is None and _header_lines(section).end() == len(section)  # type: ignore[union-attr]
                ):
                    if len(_SECTIONS) >= _CACHE_SIZE:
                        _SECTIONS.clear()
                    known = _SECTIONS[section] = _Section(_container_hint(section) is not None)
                if known is not None:
                    self._header_end, self._body_start = header_end, body_start
                    self._section = known
                    return
        window = start + tree.limits.header_section_size
        window = end if window > end else window  # (cheaper than a min() call)
        stop = _header_lines(data, start, window).end()  # type: ignore[union-attr]
        if stop < end and (stop == start or data[stop - 1] == 0x0A):
            if data[stop] == 0x0A:
                self._header_end, self._body_start = stop, stop + 1
                return
            if data.startswith(b"\r\n", stop):
                self._header_end, self._body_start = stop, stop + 2
                return
        header_end, body_start, defects = split_header_section(data, start, end, tree.limits)
        self._header_end, self._body_start = header_end, body_start
        self._add_defects(defects)

    def __bytes__(self) -> bytes:
        """This part's bytes exactly as in the input (the whole input for the root)."""
        return self._tree.data[self._start : self._end]

    def __repr__(self) -> str:
        return f"<mime.Message {self.content_type} [{self._start}:{self._end}]>"

    @property
    def span(self) -> tuple[int, int]:
        """``(start, end)`` of this part in the original bytes."""
        return self._start, self._end

    @property
    def body_span(self) -> tuple[int, int]:
        """``(start, end)`` of this part's body in the original bytes."""
        self._split()
        return self._body_start, self._end

    @property
    def depth(self) -> int:
        """Nesting level: 0 for the root, 1 for its children, …"""
        return self._depth

    @property
    def headers(self) -> Headers:
        """The header section (split lazily; see :class:`~mailproto.imf.headers.Headers`)."""
        headers = self._headers
        if headers is None:
            self._split()
            headers = self._headers = Headers(
                self._tree.data, self._start, self._header_end, limits=self._tree.limits
            )
        return headers

    @property
    def raw_body(self) -> bytes:
        """The body bytes as on the wire (a copy of that span)."""
        self._split()
        return self._tree.data[self._body_start : self._end]

    def body_view(self) -> memoryview:
        """The body bytes as a zero-copy memoryview of the original buffer."""
        self._split()
        return memoryview(self._tree.data)[self._body_start : self._end]

    # -- content type ------------------------------------------------------

    def _ctype_entry(self) -> _CtypeEntry:
        value = self.headers._first_value("Content-Type")
        if value is None:
            return _ABSENT
        media, params, defects = _cached(_CTYPE_CACHE, parse_media_type, value)
        return (media if media is not None else "text/plain", params, defects)

    def _parse_ctype(self) -> None:
        if self._header_end < 0:
            self._split()
        section = self._section
        entry = None if section is None else section.ctype
        if entry is None:
            entry = self._ctype_entry()
            if section is not None:
                section.ctype = entry
        media, self._params, defects = entry
        self._ctype = self._default_type if media is None else media
        if defects:
            self._add_defects(defects)

    @property
    def content_type(self) -> str:
        """The media type, lower case (RFC 2045 §5.2 defaults: ``text/plain``,
        ``message/rfc822`` inside multipart/digest; invalid values give text/plain)."""
        if self._ctype is None:
            self._parse_ctype()
        assert self._ctype is not None
        return self._ctype

    @property
    def maintype(self) -> str:
        """The top-level media type, e.g. ``"text"``."""
        return self.content_type.partition("/")[0]

    @property
    def subtype(self) -> str:
        """The media subtype, e.g. ``"plain"``."""
        return self.content_type.partition("/")[2]

    @property
    def params(self) -> Mapping[str, str]:
        """Content-Type parameters, names lower case, RFC 2231/2047 decoded."""
        if self._params is None:
            self._parse_ctype()
        assert self._params is not None
        return self._params

    @property
    def charset(self) -> str | None:
        """The ``charset`` parameter, lower case, or None."""
        value = self.params.get("charset")
        return value.strip().lower() if value is not None else None

    @property
    def boundary(self) -> str | None:
        """The ``boundary`` parameter, or None."""
        return self.params.get("boundary")

    def _disposition_entry(self) -> _ParsedValue:
        value = self.headers._first_value("Content-Disposition")
        if value is None:
            return _ABSENT
        return _cached(_DISPOSITION_CACHE, parse_disposition, value)

    def _parse_disposition(self) -> _ParsedValue:
        """``(type, params, parse defects)`` of the Content-Disposition."""
        disposition = self._disposition
        if disposition is None:
            if self._header_end < 0:
                self._split()
            section = self._section
            if section is None:
                disposition = self._disposition_entry()
            else:
                disposition = section.disposition
                if disposition is None:
                    disposition = section.disposition = self._disposition_entry()
            if disposition[2]:
                self._add_defects(disposition[2])
            self._disposition = disposition
        return disposition

    @property
    def disposition(self) -> str | None:
        """The Content-Disposition type (``inline``, ``attachment``…), lower case, or None."""
        return self._parse_disposition()[0]

    @property
    def disposition_params(self) -> Mapping[str, str]:
        """Content-Disposition parameters, RFC 2231/2047 decoded."""
        return self._parse_disposition()[1]

    @property
    def filename(self) -> str | None:
        """The Content-Disposition ``filename``, else the Content-Type ``name``, stripped."""
        section = self._section
        if section is not None:
            # Known for this section already?  (The part's own parse defects
            # are added when ``defects`` is read, as for every part.)
            known = section.filename
            if known is not None:
                return known[0]
        name = self._parse_disposition()[1].get("filename")
        if name is None:
            name = self.params.get("name")
        if name is not None:
            name = name.strip()
        if section is not None:
            section.filename = (name,)
        return name

    @property
    def content_transfer_encoding(self) -> str:
        """The transfer encoding, lower case (``"7bit"`` when absent, RFC 2045 §6.1).

        Comments around the mechanism are dropped: ``base64 (scanner)`` is
        ``"base64"``.
        """
        if self._header_end < 0:
            self._split()
        section = self._section
        if section is None:
            return self._read_cte()
        cte = section.cte
        if cte is None:
            cte = section.cte = self._read_cte()
        return cte

    def _read_cte(self) -> str:
        value = self.headers._first_value("Content-Transfer-Encoding")
        if not value:
            return "7bit"
        # A structured field (RFC 2045 §6.1): comments may surround the
        # mechanism, ``base64 (from the scanner)``.  (A quoted mechanism is
        # outside the grammar and stays an unknown encoding, as in Dovecot.)
        if "(" in value:
            value = strip_comments(value)
        return value.strip().lower() or "7bit"

    # -- structure -----------------------------------------------------------

    def _structure(self) -> list[Message] | tuple[()]:
        parts = self._parts
        if parts is not None:
            return parts
        if self._header_end < 0:
            self._split()
        ctype = self._ctype
        if ctype is None:
            if self._default_type == "text/plain":
                # Only a multipart/* or message/* type has children, and its
                # header section must then contain one of those words: when
                # it does not, this is a leaf and the Content-Type need not
                # be parsed at all (a walk over 3,000 text parts stays cheap).
                # The section memo knows the answer for a repeated section.
                # (The search for the words costs more per byte than the
                # search for the Content-Type field, so a large section, such
                # as a root's, has its Content-Type read instead.)
                section = self._section
                if section is not None:
                    hint = section.hint
                elif self._header_end - self._start <= _MEMO_SECTION:
                    hint = (
                        _container_hint(self._tree.data, self._start, self._header_end) is not None
                    )
                else:
                    hint = True
                if not hint:
                    self._parts = ()  # a leaf (shared empty tuple: no list per part)
                    return ()
            ctype = self.content_type
        if ctype.startswith("multipart/"):
            parts = self._parts = []
            self._split_multipart(parts, ctype)
        elif ctype in _ENCLOSING:
            parts = self._parts = []
            if self._depth_ok() and self._parts_ok():
                enclosed = Message(self._tree, self._body_start, self._end, depth=self._depth + 1)
                parts.append(enclosed)
                self._multipart = True
        else:
            parts = self._parts = ()
        return parts

    def _depth_ok(self) -> bool:
        if self._depth + 1 > self._tree.limits.nesting_depth:
            self._add_defect(
                Defect(
                    kind="nesting-too-deep",
                    message=f"nesting deeper than {self._tree.limits.nesting_depth}; "
                    "kept as an opaque part",
                    offset=self._start,
                )
            )
            return False
        return True

    def _parts_ok(self) -> bool:
        """Count one more part against ``limits.parts``, or record why not."""
        if self._count_ok(1):
            return True
        self._add_defect(
            Defect(
                kind="too-many-parts",
                message=f"more than {self._tree.limits.parts} parts; the rest is not split",
                offset=self._start,
            )
        )
        return False

    def _count_ok(self, n: int) -> bool:
        tree = self._tree
        if tree.parts + n > tree.limits.parts:
            return False
        tree.parts += n
        return True

    def _split_multipart(self, parts: list[Message], ctype: str) -> None:
        boundary = self.params.get("boundary")
        if not boundary:
            self._add_defect(
                Defect(
                    kind="multipart-without-boundary",
                    message="multipart without a boundary parameter; kept as one opaque body",
                    offset=self._start,
                )
            )
            return
        if not self._depth_ok():
            return
        self._split()
        data = self._tree.data
        body_start, end = self._body_start, self._end
        delimiter = b"--" + boundary.encode("utf-8", "surrogateescape")
        child_default = "message/rfc822" if ctype == "multipart/digest" else "text/plain"
        depth = self._depth + 1
        nl_delimiter = b"\n" + delimiter
        width = len(delimiter)
        # Find the first delimiter: at the very start of the body, or after a
        # line feed.  Each candidate is checked for what follows it.
        pos = body_start
        candidate = body_start if data.startswith(delimiter, body_start, end) else -1
        part_start = -1  # start of the current body part (-1: still in the preamble)
        closed = False
        limit_hit = False
        tree = self._tree
        budget = tree.limits.parts - tree.parts  # parts this split may still create
        find, startswith = data.find, data.startswith
        padding_eol, any_eol = _PADDING_EOL.match, _EOL.match
        # The previous child's memoised header section (see the loop).
        memo = tree.memo
        known: _Section | None = None
        head = b""  # its header section and the empty line after it
        width_section = width_head = 0
        leaf = False
        # A run of identical parts: the last delimiter line (with its line
        # ending) followed by ``head``; None when there is none to look for.
        run: bytes | None = None
        eol: bytes | None = None
        append = parts.append
        while True:
            if candidate < 0:
                found = find(nl_delimiter, pos, end)
                if run is not None and found >= 0 and startswith(head, part_start):
                    # The hostile case (3,000 identical parts) and the common
                    # one (a mailbox's repeated part headers) in a tight loop:
                    # while each next delimiter line is the previous one and
                    # is followed by the same header section, the part before
                    # it is made from the memo entry.  Anything else (another
                    # section, a close delimiter, padding, a part too short
                    # for its own header section, the parts limit) leaves the
                    # loop and is handled below, from the same ``found``.
                    width_run = len(run) - width_head
                    leaf_parts = () if leaf else None
                    entry = known
                    assert entry is not None  # (``run`` is only set with one)
                    while budget > 0 and startswith(run, found):
                        text_end = found - 1 if data[found - 1] == 0x0D else found
                        if text_end < part_start + width_head:
                            break
                        budget -= 1
                        append(
                            _new_part(
                                tree,
                                part_start,
                                text_end,
                                depth,
                                child_default,
                                part_start + width_section,
                                part_start + width_head,
                                entry,
                                leaf_parts,
                            )
                        )
                        part_start = found + width_run
                        pos = part_start - 1
                        found = find(nl_delimiter, pos, end)
                        if found < 0:
                            break
                if found < 0:
                    break
                candidate = found + 1
                # The CRLF (or LF) before the delimiter belongs to the delimiter.
                text_end = found - 1 if found > body_start and data[found - 1] == 0x0D else found
            else:
                text_end = candidate  # (the body starts with the delimiter)
            after = candidate + width
            # What follows "--boundary": the common cases (LF, CRLF) without
            # a regex, then "--" (close delimiter: the rest of its line is
            # ignored), then transport padding before the line end.
            octet = data[after] if after < end else -1
            if octet == 0x0A:
                is_close, line_stop, eol = False, after + 1, b"\n"
            elif octet == 0x0D and startswith(b"\n", after + 1, end):
                is_close, line_stop, eol = False, after + 2, b"\r\n"
            elif startswith(b"--", after, end):
                is_close, eol = True, None
                line_stop = any_eol(data, after, end).end()  # type: ignore[union-attr]
            else:
                is_close, eol = False, None
                line_end = padding_eol(data, after, end)
                if line_end is None:
                    # "--boundary" is only a prefix of this line: not a delimiter.
                    pos = after
                    candidate = -1
                    continue
                line_stop = line_end.end()
            if part_start < 0:
                if candidate > body_start:
                    self._frame = [(body_start, text_end), None]
            else:
                if budget <= 0:
                    limit_hit = True
                    break
                budget -= 1
                part_end = text_end if text_end > part_start else part_start
                # With the memo, split the child now; when its header
                # section is byte for byte the previous child's, followed by
                # the same empty line, the answer is known without a search.
                # (``_split`` finds the first empty line; the section holds
                # none and ends at one, so the search would stop at the same
                # place here, and the memo entry is the one for these bytes.)
                if (
                    known is not None
                    and part_start + width_head <= part_end
                    and startswith(head, part_start)
                ):
                    parts.append(
                        _new_part(
                            tree,
                            part_start,
                            part_end,
                            depth,
                            child_default,
                            part_start + width_section,
                            part_start + width_head,
                            known,
                            () if leaf else None,
                        )
                    )
                else:
                    child = Message(tree, part_start, part_end, depth, child_default)
                    parts.append(child)
                    if memo:
                        child._split()
                        known = child._section
                        if known is not None:
                            head = data[part_start : child._body_start]
                            width_section = child._header_end - part_start
                            width_head = len(head)
                            leaf = not known.hint and child_default == "text/plain"
                            if leaf:
                                child._parts = ()
            part_start = line_stop
            # Search from the line feed ending this delimiter line, so that a
            # delimiter on the very next line (an empty part) is found.
            pos = part_start - 1 if part_start > after else part_start
            candidate = -1
            run = None if known is None or eol is None else nl_delimiter + eol + head
            if is_close:
                closed = True
                if part_start < end:
                    if self._frame is None:
                        self._frame = [None, (part_start, end)]
                    else:
                        self._frame[1] = (part_start, end)
                break
        tree.parts = tree.limits.parts - budget
        if part_start < 0:
            self._add_defect(
                Defect(
                    kind="multipart-without-delimiter",
                    message="no boundary delimiter found in a multipart body; "
                    "kept as one opaque body",
                    offset=body_start,
                )
            )
            return
        self._multipart = True
        if limit_hit:
            self._add_defect(
                Defect(
                    kind="too-many-parts",
                    message=f"more than {self._tree.limits.parts} parts; the rest is not split",
                    offset=part_start,
                )
            )
        elif not closed:
            self._add_defect(
                Defect(
                    kind="missing-close-delimiter",
                    message="multipart body ends without its close delimiter",
                    offset=end,
                )
            )
            if self._count_ok(1):
                # Like CPython, the last line ending before the end of data is
                # treated as the (missing) delimiter's.
                text_end = _line_ending_before(data, end, part_start)
                last = Message(
                    self._tree, part_start, text_end, depth=depth, default_type=child_default
                )
                parts.append(last)

    @property
    def is_multipart(self) -> bool:
        """True when this part has children (a split multipart or an enclosed message)."""
        self._structure()
        return self._multipart

    @property
    def parts(self) -> list[Message]:
        """The children: body parts of a multipart, or the one enclosed message."""
        return list(self._structure())

    @property
    def preamble(self) -> bytes | None:
        """The bytes before the first delimiter of a multipart, or None."""
        self._structure()
        span = None if self._frame is None else self._frame[0]
        return None if span is None else self._tree.data[span[0] : span[1]]

    @property
    def epilogue(self) -> bytes | None:
        """The bytes after the close delimiter line of a multipart, or None."""
        self._structure()
        span = None if self._frame is None else self._frame[1]
        return None if span is None else self._tree.data[span[0] : span[1]]

    def walk(self) -> Iterator[Message]:
        """This part and all its descendants, depth first, parents before children."""
        stack: list[Message] = [self]
        pop, extend = stack.pop, stack.extend
        while stack:
            part = pop()
            yield part
            children = part._parts
            if children is None:
                children = part._structure()
            if children:
                extend(reversed(children))

    # -- content ---------------------------------------------------------------

    def decoded(self) -> bytes:
        """The body after the Content-Transfer-Encoding is undone (RFC 2045 §6).

        Base64, quoted-printable and x-uuencode are decoded; 7bit, 8bit,
        binary and unknown encodings give the raw body.  Damaged encoded data
        is decoded as far as possible; what was wrong with it is reported by
        :attr:`defects` (the checks run only when asked for, so decoding
        stays at C speed).  Nothing is cached: each call decodes again.
        """
        return self._decode(None)

    def _decode(self, defects: list[Defect] | None) -> bytes:
        section = self._section
        cte = section.cte if section is not None else None
        if cte is None:
            cte = self.content_transfer_encoding  # (splits the part)
        if self._parts is None:
            self._structure()
        data, start, end = self._tree.data, self._body_start, self._end
        if cte in _IDENTITY_ENCODINGS or self._multipart:
            return data[start:end]
        if cte == "base64":
            if defects is None and end - start > _LARGE_BODY:
                chunked = _decode_base64_in_pieces(data, start, end)
                if chunked is not None:
                    return chunked
            return b64.decode(data[start:end], defects)
        body = data[start:end]
        if cte == "quoted-printable":
            return quoted_printable.decode(body, defects)
        if cte in _UUENCODINGS:
            return uuencode.decode(body, defects)
        if defects is not None:
            defects.append(
                Defect(
                    kind="unknown-transfer-encoding",
                    message=f"unknown Content-Transfer-Encoding {cte[:40]!r}; body left as is",
                    offset=self._start,
                )
            )
        return body

    def text(self) -> str:
        """The decoded body as text, with the declared charset (us-ascii by default).

        An unknown charset or undecodable bytes fall back (see
        :func:`mailproto.codecs.charsets.decode_text`: 8-bit text labelled
        us-ascii is tried as UTF-8, the rest becomes U+FFFD) and are reported
        by :attr:`defects`.
        """
        return self._text(self.decoded(), None)

    def _text(self, data: bytes, defects: list[Defect] | None) -> str:
        from mailproto.codecs.charsets import decode_text

        return decode_text(data, self.charset or "us-ascii", defects)

    @property
    def defects(self) -> list[Defect]:
        """Everything found wrong with this part (not its children), as data.

        Computed on first access: the header section, the content type and
        disposition, the multipart structure, and, for a leaf, the transfer
        decoding (and, for ``text/*``, the charset decoding) of the body, which
        this runs once with all checks on.
        """
        headers = self.headers
        if self._ctype is None:
            self._parse_ctype()
        self._parse_disposition()
        self._structure()
        if not self._decoded_once:
            self._decoded_once = True
            if not self._multipart:
                found: list[Defect] = []
                data = self._decode(found)
                if self.maintype == "text":
                    self._text(data, found)
                self._add_defects(found)
        return [*headers.defects, *self._defects]


_new_message = object.__new__


def _new_part(  # noqa: PLR0917 - positional: one call per part on the hot path
    tree: _Tree,
    start: int,
    end: int,
    depth: int,
    default_type: str,
    header_end: int,
    body_start: int,
    section: _Section,
    parts: tuple[()] | None,
) -> Message:
    """A body part whose header/body split is already known (from the memo).

    The same state as ``Message.__init__`` followed by ``_split``, made
    without the class call (a third cheaper per part, which matters when a
    multipart has thousands of them; tests/mime/test_section_memo.py checks
    that every slot is set and every answer is the same).
    """
    part: Message = _new_message(Message)
    part._tree = tree
    part._start = start
    part._end = end
    part._depth = depth
    part._default_type = default_type
    part._header_end = header_end
    part._body_start = body_start
    part._headers = None
    part._defects = ()
    part._ctype = None
    part._params = None
    part._disposition = None
    part._parts = parts
    part._multipart = False
    part._frame = None
    part._decoded_once = False
    part._section = section
    return part


# Base64 bodies larger than this are decoded piece by piece (see below).
_LARGE_BODY = 8 * 1024 * 1024
_PIECE = 4 * 1024 * 1024
# Bytes that are not base64 alphabet characters (deleted to count them).
_NOT_BASE64 = bytes(
    b
    for b in range(256)
    if b not in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)


def _decode_base64_in_pieces(
    data: bytes, start: int, end: int, piece: int = _PIECE
) -> bytes | None:
    """Decode the base64 text ``data[start:end]`` a few MB at a time.

    Decoding the whole body at once needs a copy of it (the codec takes
    ``bytes``) next to the decoded result: for a 90 MB attachment that is
    1.6x the attachment on top of the message.  Pieces cut at line ends
    bound the copy to one piece, and the decoded pieces are written into a
    ``BytesIO`` whose ``getvalue()`` hands over its buffer without a copy.

    A piece is decoded on its own only when that cannot change the result:
    every piece but the last holds whole 4-character groups and no ``=``
    padding (so the codec's repairs, which only concern padding and the end
    of the data, can only apply to the last piece, exactly as for the whole
    body).  Otherwise this returns None and the caller decodes the whole
    body at once.
    """
    import io

    out = io.BytesIO()
    pos = start
    while pos < end:
        stop = pos + piece
        if stop >= end:
            stop = end
        else:
            newline = data.find(b"\n", stop, end)
            stop = end if newline < 0 else newline + 1
        chunk = data[pos:stop]
        if stop < end and (b"=" in chunk or len(chunk.translate(None, _NOT_BASE64)) % 4 != 0):
            return None
        out.write(b64.decode(chunk))
        pos = stop
    return out.getvalue()


def parse(raw: Buffer, *, limits: MessageLimits | None = None) -> Message:
    """Parse a message lazily.  Never raises on any bytes.

    ``raw`` is kept (a ``bytearray`` or ``memoryview`` is copied once into
    ``bytes``); the header/body split of the root happens now, everything
    else on first use.
    """
    data = raw if isinstance(raw, bytes) else bytes(raw)
    message = Message(_Tree(data, limits or _DEFAULT_LIMITS), 0, len(data))
    message._split()
    return message
