"""Validated IMAP value types: flags, dates, ENVELOPE, BODYSTRUCTURE, sections,
FETCH attributes, SEARCH keys, response codes.

Representation choices (one place, so the codec and the user agree)
-------------------------------------------------------------------
* Text that the grammar carries as ``astring``/``nstring``/``string`` is
  :class:`str`.  Octets that are not UTF-8 are kept with the
  ``surrogateescape`` error handler, so every value round-trips byte for byte.
  ``NIL`` is ``None``.
* Message data (``BODY[...]``, ``BINARY[...]``, ``RFC822``, APPEND literals)
  is :class:`bytes`: it is never decoded.  A client decoder in zero-copy mode
  gives large literals as :class:`LiteralChunks` instead (the received
  pieces, equal to and hashing like the :class:`bytes`; see
  :mod:`mailproto.imap.types._literal`).
* Flags, capabilities, atoms of the grammar are plain :class:`str` as sent
  (flags and capabilities compare case-insensitively per RFC 9051 §2.3.2 and
  §7.2.2; :func:`flag_key` folds them).
* Numbers are :class:`int`; ``number64`` fields (sizes, MODSEQ) accept up to
  2**63-1 (RFC 9051 §9, RFC 7162 §7).
* Dates are :class:`datetime.date`; date-times are timezone-aware
  :class:`datetime.datetime` values keeping the sender's offset.
"""

from __future__ import annotations

import datetime
import enum
import re
from collections.abc import Iterator
from typing import Literal, Union

import attrs

from mailproto.errors import LocalProtocolError
from mailproto.imap.types._literal import LiteralChunks
from mailproto.imap.types._seqset import SequenceSet

__all__ = [
    "NIL",
    "Address",
    "BinarySizeRequest",
    "BodyExtension",
    "BodyStructure",
    "Disposition",
    "Envelope",
    "FetchAttribute",
    "Flag",
    "MultipartBody",
    "Nil",
    "PreviewRequest",
    "ResponseCode",
    "SearchKey",
    "Section",
    "SectionData",
    "SectionRequest",
    "SinglePartBody",
    "flag_key",
]


class Nil(enum.Enum):
    """``NIL`` where a field also has an "absent" state (``None``)."""

    NIL = "NIL"

    def __repr__(self) -> str:
        return "NIL"


#: The explicit ``NIL`` value (for fields where ``None`` means "not sent").
NIL = Nil.NIL


class Flag:
    """Names of the system flags (RFC 9051 §2.3.2) and well-known keywords.

    Flags are plain strings; these constants only spare typos.
    """

    SEEN = "\\Seen"
    ANSWERED = "\\Answered"
    FLAGGED = "\\Flagged"
    DELETED = "\\Deleted"
    DRAFT = "\\Draft"
    #: RFC 3501 only; removed in RFC 9051 but still sent by rev1 servers.
    RECENT = "\\Recent"
    #: In PERMANENTFLAGS: the client may create new keywords.
    WILDCARD = "\\*"
    FORWARDED = "$Forwarded"
    MDNSENT = "$MDNSent"
    JUNK = "$Junk"
    NOTJUNK = "$NotJunk"
    PHISHING = "$Phishing"


def flag_key(flag: str) -> str:
    """Case-folded form for comparing flags (RFC 9051 §2.3.2: case-insensitive)."""
    return flag.casefold()


# ---------------------------------------------------------------------------
# ENVELOPE (RFC 9051 §7.5.2)
# ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Address:
    """One ``address`` of an ENVELOPE.

    RFC 9051 §9: ``address = "(" addr-name SP addr-adl SP addr-mailbox SP
    addr-host ")"``.  Group syntax is encoded as an address with ``host`` NIL:
    ``mailbox`` holds the group name at the start and is NIL at the end.
    """

    #: The display name (``addr-name``), RFC 2047 encoded as in the header.
    name: str | None = None
    #: The obsolete source route (``addr-adl``).
    adl: str | None = None
    #: The local part, or the group name (start of group) / NIL (end of group).
    mailbox: str | None = None
    #: The domain; NIL marks group syntax.
    host: str | None = None

    @property
    def is_group_start(self) -> bool:
        """True for the entry that opens a group (RFC 9051 §7.5.2)."""
        return self.host is None and self.mailbox is not None

    @property
    def is_group_end(self) -> bool:
        """True for the entry that closes a group."""
        return self.host is None and self.mailbox is None

    @property
    def email(self) -> str | None:
        """``mailbox@host``, or None for group markers."""
        if self.host is None or self.mailbox is None:
            return None
        return f"{self.mailbox}@{self.host}"


@attrs.frozen(kw_only=True)
class Envelope:
    """The ENVELOPE FETCH item: the message's main header fields, parsed by the server.

    Strings are as in the header (RFC 2047 encoded words are not decoded);
    address lists are tuples, empty when the server sent NIL.
    """

    #: The Date header field value.
    date: str | None = None
    #: The Subject header field value.
    subject: str | None = None
    #: From addresses.
    from_: tuple[Address, ...] = ()
    #: Sender addresses (servers default it to From).
    sender: tuple[Address, ...] = ()
    #: Reply-To addresses (servers default it to From).
    reply_to: tuple[Address, ...] = ()
    #: To addresses.
    to: tuple[Address, ...] = ()
    #: Cc addresses.
    cc: tuple[Address, ...] = ()
    #: Bcc addresses.
    bcc: tuple[Address, ...] = ()
    #: The In-Reply-To header field value.
    in_reply_to: str | None = None
    #: The Message-ID header field value.
    message_id: str | None = None


# ---------------------------------------------------------------------------
# BODYSTRUCTURE (RFC 9051 §7.5.2, body grammar in §9)
# ---------------------------------------------------------------------------

#: A body-extension value: nstring, number, or a parenthesised list of them.
ExtensionValue = Union[str, int, None, tuple["ExtensionValue", ...]]  # noqa: UP007


@attrs.frozen(kw_only=True)
class Disposition:
    """``body-fld-dsp``: Content-Disposition type and parameters (RFC 2183)."""

    #: The disposition type as sent, e.g. ``"attachment"``.
    type: str
    #: Parameters as (name, value) pairs, in order.
    params: tuple[tuple[str, str], ...] = ()


@attrs.frozen(kw_only=True)
class BodyExtension:
    """The optional extension data of a BODYSTRUCTURE part.

    Only BODYSTRUCTURE carries it, never BODY.  The grammar lets a server stop
    after any field, so :attr:`count` records how many of the four standard
    fields were sent: ``md5`` (single part) or ``params`` (multipart), then
    ``disposition``, ``language``, ``location``.  Further values are kept in
    :attr:`extra` (``body-extension``, for future RFCs).
    """

    #: How many of the standard extension fields were present (1-4).
    count: int = 4
    #: ``body-fld-md5`` (single-part only).
    md5: str | None = None
    #: ``body-fld-param`` of a multipart (its Content-Type parameters).
    params: tuple[tuple[str, str], ...] = ()
    #: ``body-fld-dsp``.
    disposition: Disposition | None = None
    #: ``body-fld-lang``: Content-Language tags.
    language: tuple[str, ...] | None = None
    #: ``body-fld-loc``: Content-Location.
    location: str | None = None
    #: Further ``body-extension`` values.
    extra: tuple[ExtensionValue, ...] = ()

    def __attrs_post_init__(self) -> None:
        if not 1 <= self.count <= 4:
            raise LocalProtocolError("BodyExtension.count must be 1-4")
        if self.extra and self.count != 4:
            raise LocalProtocolError("extra extension data needs all four standard fields")


@attrs.frozen(kw_only=True)
class SinglePartBody:
    """A non-multipart body: basic, ``text/*`` or ``message/rfc822``.

    RFC 9051 §9: ``body-type-1part = (body-type-basic / body-type-msg /
    body-type-text) [SP body-ext-1part]``.
    """

    #: Media type as sent, e.g. ``"TEXT"`` (compare case-insensitively).
    type: str
    #: Media subtype as sent, e.g. ``"PLAIN"``.
    subtype: str
    #: Content-Type parameters as (name, value) pairs; empty for NIL.
    params: tuple[tuple[str, str], ...] = ()
    #: Content-ID.
    id: str | None = None
    #: Content-Description.
    description: str | None = None
    #: Content-Transfer-Encoding as sent, e.g. ``"7BIT"``.
    encoding: str = "7BIT"
    #: Size of the body in octets (in its transfer encoding).
    size: int = 0
    #: Size in text lines: text/* and message/rfc822 (and message/global) only.
    lines: int | None = None
    #: For message/rfc822: the enclosed message's envelope.
    envelope: Envelope | None = None
    #: For message/rfc822: the enclosed message's body structure.
    body: BodyStructure | None = None
    #: Extension data (BODYSTRUCTURE only).
    extension: BodyExtension | None = None

    @property
    def media_type(self) -> str:
        """``type/subtype`` in lower case."""
        return f"{self.type}/{self.subtype}".lower()

    @property
    def is_message(self) -> bool:
        """True when this part carries an enclosed message (envelope + body)."""
        return self.envelope is not None


@attrs.frozen(kw_only=True)
class MultipartBody:
    """A multipart body: ``1*body SP media-subtype [SP body-ext-mpart]``."""

    #: The parts, in order (at least one).
    parts: tuple[BodyStructure, ...]
    #: The multipart subtype as sent, e.g. ``"MIXED"``.
    subtype: str
    #: Extension data (BODYSTRUCTURE only); its ``params`` are the
    #: multipart's Content-Type parameters (the boundary and others).
    extension: BodyExtension | None = None

    @property
    def media_type(self) -> str:
        """``multipart/subtype`` in lower case."""
        return f"multipart/{self.subtype}".lower()


#: A body structure: one part or a multipart.
BodyStructure = SinglePartBody | MultipartBody


# ---------------------------------------------------------------------------
# Sections and FETCH attributes (RFC 9051 §6.4.5, RFC 3516)
# ---------------------------------------------------------------------------

_FIELD_NAME = re.compile(r"[!-9;-~]+")

SectionText = Literal["HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"]


@attrs.frozen(kw_only=True)
class Section:
    """A ``section`` specifier: ``1.2.HEADER.FIELDS (From To)``.

    RFC 9051 §9::

        section-spec  = section-msgtext / (section-part ["." section-text])
        section-text  = section-msgtext / "MIME"
        section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
    """

    #: Part numbers (``(1, 2)`` for ``1.2``); empty for the whole message.
    part: tuple[int, ...] = ()
    #: The text specifier, or None.
    text: SectionText | None = None
    #: The header field names, for HEADER.FIELDS[.NOT].
    fields: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        if any(n < 1 for n in self.part):
            raise LocalProtocolError("section part numbers are positive")
        if self.text == "MIME" and not self.part:
            raise LocalProtocolError("MIME needs a part number")
        has_fields = self.text in ("HEADER.FIELDS", "HEADER.FIELDS.NOT")
        if has_fields != bool(self.fields):
            raise LocalProtocolError("header fields go with HEADER.FIELDS[.NOT] only")
        for name in self.fields:
            # field-name = 1*ftext: printable US-ASCII except ":" (RFC 5322 §3.6.8)
            if not _FIELD_NAME.fullmatch(name):
                raise LocalProtocolError(f"invalid header field name {name!r}")

    def __str__(self) -> str:
        from mailproto.imap._writer import section_text

        return section_text(self)


@attrs.frozen(kw_only=True)
class SectionRequest:
    """``BODY[section]<partial>``, ``BODY.PEEK[...]``, ``BINARY[...]``, ``BINARY.PEEK[...]``."""

    #: The section.  For BINARY only :attr:`Section.part` may be set.
    section: Section = Section()
    #: True for the .PEEK forms (do not set \\Seen).
    peek: bool = False
    #: True for BINARY (RFC 3516): the server removes the transfer encoding.
    binary: bool = False
    #: ``<origin.length>``: a byte range, or None for all of it.
    partial: tuple[int, int] | None = None

    def __attrs_post_init__(self) -> None:
        if self.binary and (self.section.text is not None):
            raise LocalProtocolError("BINARY sections take part numbers only")
        if self.partial is not None and (self.partial[0] < 0 or self.partial[1] < 1):
            raise LocalProtocolError("partial: origin >= 0 and length >= 1")


@attrs.frozen(kw_only=True)
class BinarySizeRequest:
    """``BINARY.SIZE[part]`` (RFC 3516)."""

    #: Part numbers; empty for the whole message.
    part: tuple[int, ...] = ()


def _preview_modifiers(
    instance: object, attribute: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]
) -> None:
    if not value or any(m != "LAZY" for m in value):
        raise LocalProtocolError(f"PREVIEW modifiers are LAZY (RFC 8970 §6), not {value!r}")


@attrs.frozen(kw_only=True)
class PreviewRequest:
    """``PREVIEW (LAZY)``: a preview only if the server has it at hand (RFC 8970 §4).

    Plain ``PREVIEW`` is the string ``"PREVIEW"`` like the other simple
    attributes; this class is the form with a modifier list.  RFC 8970 §6
    defines one modifier, ``LAZY``: the server answers ``PREVIEW NIL`` rather
    than compute a preview it does not have.
    """

    #: The modifiers, upper case (``("LAZY",)``).
    modifiers: tuple[str, ...] = attrs.field(default=("LAZY",), validator=_preview_modifiers)


#: The simple FETCH attributes (atoms), RFC 9051 §6.4.5 plus extensions:
#: MODSEQ (RFC 7162), EMAILID/THREADID (RFC 8474), PREVIEW (RFC 8970),
#: SAVEDATE (RFC 8514), and the RFC 3501 forms RFC822/RFC822.HEADER/RFC822.TEXT.
SIMPLE_FETCH_ATTRIBUTES = frozenset(
    {
        "ENVELOPE",
        "FLAGS",
        "INTERNALDATE",
        "RFC822",
        "RFC822.HEADER",
        "RFC822.SIZE",
        "RFC822.TEXT",
        "BODY",
        "BODYSTRUCTURE",
        "UID",
        "MODSEQ",
        "EMAILID",
        "THREADID",
        "PREVIEW",
        "SAVEDATE",
    }
)

#: A requested FETCH attribute: a simple name (upper case, from
#: :data:`SIMPLE_FETCH_ATTRIBUTES`), a section, BINARY.SIZE, or PREVIEW with
#: modifiers.
FetchAttribute = str | SectionRequest | BinarySizeRequest | PreviewRequest


@attrs.frozen(kw_only=True)
class SectionData:
    """A message-data FETCH item as returned: ``BODY[1.2]<0> {n}...``.

    Also carries ``BINARY[...]`` (:attr:`binary`) and the RFC 3501 forms
    ``RFC822``, ``RFC822.HEADER``, ``RFC822.TEXT`` (:attr:`legacy`).
    """

    #: The section (empty for RFC822 forms and whole-message requests).
    section: Section = Section()
    #: ``<origin>`` of a partial fetch, or None.
    origin: int | None = None
    #: The octets, or None when the server sent NIL.  A
    #: :class:`~mailproto.imap.types.LiteralChunks` (the received pieces,
    #: not joined) when a decoder in zero-copy mode received a large literal;
    #: the serializer writes either.
    data: bytes | LiteralChunks | None = None
    #: True for ``BINARY[...]``.
    binary: bool = False
    #: ``"RFC822"``, ``"RFC822.HEADER"`` or ``"RFC822.TEXT"`` for those forms.
    legacy: str | None = None


# ---------------------------------------------------------------------------
# SEARCH keys (RFC 9051 §6.4.4, RFC 3501 §6.4.4, extensions)
# ---------------------------------------------------------------------------

#: Keys that take no argument.
SEARCH_KEYS_NOARG = frozenset(
    {
        "ALL",
        "ANSWERED",
        "DELETED",
        "DRAFT",
        "FLAGGED",
        "NEW",
        "OLD",
        "RECENT",
        "SEEN",
        "UNANSWERED",
        "UNDELETED",
        "UNDRAFT",
        "UNFLAGGED",
        "UNSEEN",
        "SAVEDATESUPPORTED",
    }
)
#: Keys whose argument is an astring.
SEARCH_KEYS_STRING = frozenset({"BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO"})
#: Keys whose argument is a flag keyword.
SEARCH_KEYS_KEYWORD = frozenset({"KEYWORD", "UNKEYWORD"})
#: Keys whose argument is a date (RFC 9051; SAVED* from RFC 8514).
SEARCH_KEYS_DATE = frozenset(
    {
        "BEFORE",
        "ON",
        "SINCE",
        "SENTBEFORE",
        "SENTON",
        "SENTSINCE",
        "SAVEDBEFORE",
        "SAVEDON",
        "SAVEDSINCE",
    }
)
#: Keys whose argument is a number: sizes, and WITHIN's seconds (RFC 5032).
SEARCH_KEYS_NUMBER = frozenset({"LARGER", "SMALLER", "OLDER", "YOUNGER"})
#: Keys whose argument is an objectid (RFC 8474).
SEARCH_KEYS_OBJECTID = frozenset({"EMAILID", "THREADID"})


@attrs.frozen(kw_only=True)
class ModSeqSearch:
    """``MODSEQ [entry-name entry-type-req] mod-sequence-valzer`` (RFC 7162 §3.1.5)."""

    #: The modification sequence to compare with (at least).
    modseq: int
    #: The metadata entry name, e.g. ``"/flags/\\\\draft"``, or None.
    entry: str | None = None
    #: ``"priv"``, ``"shared"`` or ``"all"`` when :attr:`entry` is set.
    entry_type: str | None = None


#: The argument of a search key, by kind.
SearchValue = Union[
    None,
    str,
    int,
    datetime.date,
    SequenceSet,
    tuple[str, str],
    ModSeqSearch,
    "SearchKey",
    tuple["SearchKey", ...],
]


@attrs.frozen(kw_only=True)
class SearchKey:
    """One search key, possibly compound.

    ``op`` is the upper-case key name; ``value`` depends on it:

    ======================================  =====================================
    op                                      value
    ======================================  =====================================
    ALL, SEEN, NEW, ... (no argument)       None
    FROM, SUBJECT, BODY, TEXT, ...          str
    KEYWORD, UNKEYWORD                      str (the flag keyword)
    BEFORE, ON, SINCE, SENT*, SAVED*        :class:`datetime.date`
    LARGER, SMALLER, OLDER, YOUNGER         int
    EMAILID, THREADID                       str (objectid, RFC 8474)
    UID, and ``SEQ`` (a bare sequence set)  :class:`SequenceSet`
    HEADER                                  (field-name, string)
    MODSEQ                                  :class:`ModSeqSearch`
    NOT                                     :class:`SearchKey`
    OR                                      (SearchKey, SearchKey)
    AND (a parenthesised list)              tuple of SearchKey
    ======================================  =====================================
    """

    #: The key name in upper case (``"SEQ"`` for a bare sequence set,
    #: ``"AND"`` for a parenthesised list).
    op: str
    #: The argument, as in the table above.
    value: SearchValue = None

    @classmethod
    def and_(cls, *keys: SearchKey) -> SearchKey:
        """``(key key ...)``."""
        return cls(op="AND", value=tuple(keys))

    @classmethod
    def or_(cls, a: SearchKey, b: SearchKey) -> SearchKey:
        """``OR a b``."""
        return cls(op="OR", value=(a, b))

    @classmethod
    def not_(cls, key: SearchKey) -> SearchKey:
        """``NOT key``."""
        return cls(op="NOT", value=key)


# ---------------------------------------------------------------------------
# Response codes (RFC 9051 §7.1, RFC 3501 §7.1, RFC 5530, extensions)
# ---------------------------------------------------------------------------

#: Codes without an argument.
CODES_NOARG = frozenset(
    {
        "ALERT",
        "PARSE",
        "READ-ONLY",
        "READ-WRITE",
        "TRYCREATE",
        "UIDNOTSTICKY",  # RFC 4315
        "NOMODSEQ",  # RFC 7162
        "CLOSED",  # RFC 7162
        "COMPRESSIONACTIVE",  # RFC 4978
        "NOTSAVED",  # RFC 5182
        "HASCHILDREN",  # RFC 9051
        "UNKNOWN-CTE",  # RFC 3516
        "USEATTR",  # RFC 6154
        "EXPUNGEISSUED",
        "CORRUPTION",
        "SERVERBUG",
        "CLIENTBUG",
        "CANNOT",
        "LIMIT",
        "OVERQUOTA",
        "ALREADYEXISTS",
        "NONEXISTENT",
        "UNAVAILABLE",
        "AUTHENTICATIONFAILED",
        "AUTHORIZATIONFAILED",
        "EXPIRED",
        "PRIVACYREQUIRED",
        "CONTACTADMIN",
        "NOPERM",
        "INUSE",  # RFC 5530 (the block above) ends here
        "TOOBIG",  # RFC 4469 / RFC 7889
    }
)
#: Codes whose argument is one number (nz-number or mod-sequence).
CODES_NUMBER = frozenset({"UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "APPENDLIMIT"})


@attrs.frozen(kw_only=True)
class AppendUid:
    """``APPENDUID uidvalidity uid-set`` (RFC 4315 §3)."""

    #: UIDVALIDITY of the destination mailbox.
    uidvalidity: int
    #: The UIDs assigned to the appended messages.
    uids: SequenceSet


def _ordered_ranges(value: object) -> tuple[tuple[int, int], ...]:
    """Ranges in the order written, each ``low <= high`` (RFC 4315 §4: ``4:2`` is ``2:4``)."""
    out: list[tuple[int, int]] = []
    for lo, hi in value:  # type: ignore[attr-defined]
        if not (isinstance(lo, int) and isinstance(hi, int)) or min(lo, hi) < 1:
            raise LocalProtocolError(f"bad UID range {(lo, hi)!r}")
        lo, hi = (lo, hi) if lo <= hi else (hi, lo)
        if out and out[-1][1] + 1 == lo:  # "3,4" pairs exactly like "3:4"
            out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


@attrs.frozen(kw_only=True)
class CopyUid:
    """``COPYUID uidvalidity source-uids dest-uids`` (RFC 4315 §3, RFC 9051 §7.1).

    The two uid-sets pair up *in the order the server wrote them*: in
    ``COPYUID 9 5,3 10:11`` message 5 became 10 and message 3 became 11.
    :attr:`source` and :attr:`dest` are the normalised (sorted)
    :class:`SequenceSet` forms, handy for membership tests; the pairing lives
    in :attr:`source_order`/:attr:`dest_order` (ranges as written) and is
    read with :meth:`pairs`.  Build one from the mapping with
    :meth:`from_pairs`; built from two sets only, both orders are ascending.
    """

    #: UIDVALIDITY of the destination mailbox.
    uidvalidity: int
    #: The source UIDs (normalised).
    source: SequenceSet
    #: The UIDs of the copies (normalised).
    dest: SequenceSet
    #: The source ranges as written, each ``(low, high)``; defaults to
    #: ``source.ranges``.
    source_order: tuple[tuple[int, int], ...] = attrs.field(
        default=attrs.Factory(lambda self: self.source.ranges, takes_self=True),
        converter=_ordered_ranges,
    )
    #: The destination ranges as written; defaults to ``dest.ranges``.
    dest_order: tuple[tuple[int, int], ...] = attrs.field(
        default=attrs.Factory(lambda self: self.dest.ranges, takes_self=True),
        converter=_ordered_ranges,
    )

    @classmethod
    def from_pairs(cls, uidvalidity: int, pairs: list[tuple[int, int]]) -> CopyUid:
        """From ``[(source_uid, dest_uid), ...]`` in the order the copies were made."""
        src = [s for s, _ in pairs]
        dst = [d for _, d in pairs]
        return cls(
            uidvalidity=uidvalidity,
            source=SequenceSet.of(*src),
            dest=SequenceSet.of(*dst),
            source_order=tuple((u, u) for u in src),
            dest_order=tuple((u, u) for u in dst),
        )

    def pairs(self) -> Iterator[tuple[int, int]]:
        """Yield ``(source_uid, dest_uid)`` in the server's order (lazily)."""

        def expand(ranges: tuple[tuple[int, int], ...]) -> Iterator[int]:
            for lo, hi in ranges:
                yield from range(lo, hi + 1)

        return zip(expand(self.source_order), expand(self.dest_order))


#: The argument of a response code, by code (see :class:`ResponseCode`).
CodeValue = None | int | str | tuple[str, ...] | SequenceSet | AppendUid | CopyUid


@attrs.frozen(kw_only=True)
class ResponseCode:
    """A response code: the bracketed part of ``* OK [UIDNEXT 4392] text``.

    ``name`` is upper case.  ``value`` by code:

    ======================================================  ========================
    name                                                    value
    ======================================================  ========================
    ALERT, PARSE, READ-ONLY, TRYCREATE, RFC 5530 codes ...  None
    UIDNEXT, UIDVALIDITY, UNSEEN, HIGHESTMODSEQ             int
    CAPABILITY, PERMANENTFLAGS, BADCHARSET (list)           tuple of str
    APPENDUID                                               :class:`AppendUid`
    COPYUID                                                 :class:`CopyUid`
    MODIFIED                                                :class:`SequenceSet`
    MAILBOXID                                               str (RFC 8474)
    anything else (unknown codes too)                       the raw text or None
    ======================================================  ========================
    """

    #: The code name, upper case (e.g. ``"UIDNEXT"``).
    name: str
    #: The typed argument (see the table).
    value: CodeValue = None
