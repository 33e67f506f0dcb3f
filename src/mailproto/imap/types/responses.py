"""IMAP responses (server → client), one class per response.

RFC 9051 §7: a response is a continuation request (``+``), a status response
(tagged or untagged OK/NO/BAD, untagged PREAUTH/BYE), or untagged data
(``* 5 EXISTS``, ``* 3 FETCH (...)``, ``* LIST ...``, ...).  Untagged data that
no RFC known here defines is kept as :class:`UnknownResponse` rather than
refused, so a client keeps working with servers that speak newer extensions.
"""

from __future__ import annotations

import datetime
from typing import Literal

import attrs

from mailproto.imap.types._seqset import SequenceSet
from mailproto.imap.types._values import (
    BodyStructure,
    Envelope,
    ExtensionValue,
    Nil,
    ResponseCode,
    SectionData,
)

__all__ = [
    "CapabilityResponse",
    "Continuation",
    "Enabled",
    "Esearch",
    "Exists",
    "ExpungeResponse",
    "FetchResponse",
    "FlagsResponse",
    "IdResponse",
    "ListResponse",
    "NamespaceDescription",
    "NamespaceResponse",
    "QuotaResponse",
    "QuotaRootResponse",
    "Recent",
    "Response",
    "SearchResponse",
    "StatusData",
    "StatusResponse",
    "UnknownResponse",
    "Vanished",
]


@attrs.frozen(kw_only=True)
class Continuation:
    """``+ text`` or ``+ base64``: the server waits for more (RFC 9051 §7.6).

    During AUTHENTICATE the text is the base64 SASL challenge; the codec does
    not decode it because it cannot know which case it is.
    """

    #: A response code, if the text began with one.
    code: ResponseCode | None = None
    #: The text after the ``+`` and its space (possibly empty).
    text: str = ""


@attrs.frozen(kw_only=True)
class StatusResponse:
    """OK, NO, BAD (tagged or untagged), PREAUTH or BYE (untagged) (RFC 9051 §7.1)."""

    #: The tag, or None for an untagged (``*``) response.
    tag: str | None
    #: The status word, upper case.
    status: Literal["OK", "NO", "BAD", "PREAUTH", "BYE"]
    #: The response code, if any.
    code: ResponseCode | None = None
    #: The human-readable text.
    text: str = ""


@attrs.frozen(kw_only=True)
class CapabilityResponse:
    """``* CAPABILITY IMAP4rev2 ...`` (RFC 9051 §7.2.2)."""

    #: Capability names as sent (compare case-insensitively).
    capabilities: tuple[str, ...]


@attrs.frozen(kw_only=True)
class Enabled:
    """``* ENABLED cap ...`` (RFC 5161, RFC 9051 §7.2.1)."""

    #: The capabilities that were enabled.
    capabilities: tuple[str, ...]


@attrs.frozen(kw_only=True)
class IdResponse:
    """``* ID (params)`` or ``* ID NIL`` (RFC 2971 §3.2)."""

    #: (field, value) pairs, or None for NIL.
    params: tuple[tuple[str, str | None], ...] | None


@attrs.frozen(kw_only=True)
class ListResponse:
    """``* LIST (attrs) delim name [ext]`` / ``* LSUB ...`` (RFC 9051 §7.3.1, RFC 5258)."""

    #: Mailbox attributes (``\\HasChildren``, ``\\Noselect``, SPECIAL-USE ...).
    attributes: tuple[str, ...]
    #: The hierarchy delimiter, or None (flat namespace).
    delimiter: str | None
    #: The mailbox name (decoded).
    mailbox: str
    #: Extended data items as (tag, value): ``CHILDINFO``, ``OLDNAME`` ...
    extended: tuple[tuple[str, ExtensionValue], ...] = ()
    #: True for an LSUB response.
    lsub: bool = False


@attrs.frozen(kw_only=True)
class StatusData:
    """``* STATUS mailbox (MESSAGES 3 UIDNEXT 7)`` (RFC 9051 §7.3.2).

    Items are (upper-case name, value): ints for counters, str for
    MAILBOXID (RFC 8474), None for ``APPENDLIMIT NIL``.
    """

    #: The mailbox name (decoded).
    mailbox: str
    #: (name, value) pairs in the order sent.
    items: tuple[tuple[str, int | str | None], ...]

    def get(self, name: str) -> int | str | None:
        """The value of *name* (case-insensitive), or None."""
        name = name.upper()
        for key, value in self.items:
            if key == name:
                return value
        return None


@attrs.frozen(kw_only=True)
class NamespaceDescription:
    """One namespace: prefix, delimiter and extensions (RFC 2342 §5)."""

    #: The namespace prefix.
    prefix: str
    #: The hierarchy delimiter, or None.
    delimiter: str | None
    #: namespace-response-extensions as (name, values).
    extensions: tuple[tuple[str, tuple[str, ...]], ...] = ()


@attrs.frozen(kw_only=True)
class NamespaceResponse:
    """``* NAMESPACE personal other shared`` (RFC 2342, RFC 9051 §7.3.3)."""

    #: Personal namespaces (empty tuple for NIL).
    personal: tuple[NamespaceDescription, ...] = ()
    #: Other users' namespaces.
    other: tuple[NamespaceDescription, ...] = ()
    #: Shared namespaces.
    shared: tuple[NamespaceDescription, ...] = ()


@attrs.frozen(kw_only=True)
class FlagsResponse:
    """``* FLAGS (...)``: the flags defined in the mailbox (RFC 9051 §7.3.5)."""

    #: The flags.
    flags: tuple[str, ...]


@attrs.frozen(kw_only=True)
class SearchResponse:
    """``* SEARCH 2 3 6 [(MODSEQ n)]`` (RFC 3501 §7.2.5, RFC 7162 §3.1.5)."""

    #: The matching numbers.
    numbers: tuple[int, ...]
    #: The highest MODSEQ of the matches (CONDSTORE), or None.
    modseq: int | None = None


@attrs.frozen(kw_only=True)
class Esearch:
    """``* ESEARCH [(TAG "x")] [UID] MIN 1 MAX 9 COUNT 4 ALL 1:9`` (RFC 4731, RFC 9051 §7.3.4)."""

    #: The tag of the SEARCH this answers, or None.
    tag: str | None = None
    #: True when the numbers are UIDs.
    uid: bool = False
    #: MIN result.
    min: int | None = None
    #: MAX result.
    max: int | None = None
    #: COUNT result.
    count: int | None = None
    #: ALL result.
    all: SequenceSet | None = None
    #: MODSEQ result (CONDSTORE).
    modseq: int | None = None
    #: Other return data as (upper-case name, value).
    extra: tuple[tuple[str, ExtensionValue], ...] = ()


@attrs.frozen(kw_only=True)
class Exists:
    """``* n EXISTS`` (RFC 9051 §7.4.1)."""

    #: The number of messages in the mailbox.
    count: int


@attrs.frozen(kw_only=True)
class Recent:
    """``* n RECENT`` (RFC 3501 §7.3.2; gone from rev2)."""

    #: The number of recent messages.
    count: int


@attrs.frozen(kw_only=True)
class ExpungeResponse:
    """``* n EXPUNGE`` (RFC 9051 §7.5.1)."""

    #: The sequence number of the expunged message.
    seq: int


@attrs.frozen(kw_only=True)
class Vanished:
    """``* VANISHED [(EARLIER)] uid-set`` (QRESYNC, RFC 7162 §3.2.10)."""

    #: True for ``(EARLIER)``.
    earlier: bool
    #: The UIDs.
    uids: SequenceSet


@attrs.frozen(kw_only=True)
class FetchResponse:
    """``* n FETCH (...)``: message data (RFC 9051 §7.5.2).

    Each attribute the server sent is in its field; fields of attributes it
    did not send are None (or empty).  Data items (``BODY[...]``,
    ``BINARY[...]``, ``RFC822*``) are in :attr:`sections`.
    """

    #: The message sequence number.
    seq: int
    #: UID.
    uid: int | None = None
    #: FLAGS.
    flags: tuple[str, ...] | None = None
    #: INTERNALDATE.
    internal_date: datetime.datetime | None = None
    #: RFC822.SIZE.
    rfc822_size: int | None = None
    #: ENVELOPE.
    envelope: Envelope | None = None
    #: BODYSTRUCTURE (with extension data).
    body_structure: BodyStructure | None = None
    #: BODY (the non-extensible form, without extension data).
    body: BodyStructure | None = None
    #: MODSEQ (RFC 7162).
    modseq: int | None = None
    #: EMAILID (RFC 8474).
    email_id: str | None = None
    #: THREADID (RFC 8474); :data:`~mailproto.imap.types.NIL` when the
    #: server sent ``THREADID NIL``.
    thread_id: str | Nil | None = None
    #: PREVIEW (RFC 8970); ``NIL`` when the server sent NIL.
    preview: str | Nil | None = None
    #: SAVEDATE (RFC 8514); ``NIL`` when the server sent NIL.
    save_date: datetime.datetime | Nil | None = None
    #: BINARY.SIZE items as (part, size).
    binary_sizes: tuple[tuple[tuple[int, ...], int], ...] = ()
    #: BODY[...], BINARY[...], RFC822, RFC822.HEADER, RFC822.TEXT items.
    sections: tuple[SectionData, ...] = ()
    #: Items of extensions this codec does not know, as (upper-case name,
    #: value): kept rather than refused.
    extra: tuple[tuple[str, ExtensionValue], ...] = ()


@attrs.frozen(kw_only=True)
class QuotaResponse:
    """``* QUOTA root (resource usage limit ...)`` (RFC 9208 §5.1)."""

    #: The quota root.
    root: str
    #: (resource, usage, limit) triples.
    resources: tuple[tuple[str, int, int], ...]


@attrs.frozen(kw_only=True)
class QuotaRootResponse:
    """``* QUOTAROOT mailbox root ...`` (RFC 9208 §5.2)."""

    #: The mailbox name.
    mailbox: str
    #: Its quota roots.
    roots: tuple[str, ...]


@attrs.frozen(kw_only=True)
class UnknownResponse:
    """Untagged data this codec does not know: kept, not refused.

    ``* XFOO 12 (bar)`` becomes ``name="XFOO"``, ``number=None`` and
    ``text="12 (bar)"``; ``* 5 XFOO bar`` has ``number=5``.
    """

    #: The response name (the first atom after the number, if any), upper case.
    name: str
    #: The leading number (``* n NAME``), or None.
    number: int | None = None
    #: The rest of the response as sent, without the final CRLF; a literal
    #: stays in place as its announcement followed by its octets.
    text: str = ""


#: Any response.
Response = (
    Continuation
    | StatusResponse
    | CapabilityResponse
    | Enabled
    | IdResponse
    | ListResponse
    | StatusData
    | NamespaceResponse
    | FlagsResponse
    | SearchResponse
    | Esearch
    | Exists
    | Recent
    | ExpungeResponse
    | Vanished
    | FetchResponse
    | QuotaResponse
    | QuotaRootResponse
    | UnknownResponse
)
