"""IMAP commands (client → server), one class per command.

Every class is a frozen, keyword-only value with a ``tag``.  The ``UID``
variants are the same classes with ``uid=True`` (RFC 9051 §6.4.9).  Fields
carry decoded values: mailbox names are :class:`str` (the codec applies
modified UTF-7 unless UTF8=ACCEPT is in force), sequence sets are
:class:`~mailproto.imap.types.SequenceSet`, and so on.

Secrets (LOGIN passwords, SASL initial responses) are excluded from ``repr``
so that they never reach a log or a test failure report.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Literal, Type  # noqa: UP035 (see COMMANDS)

import attrs

from mailproto.errors import LocalProtocolError
from mailproto.imap.types._seqset import SequenceSet
from mailproto.imap.types._values import ExtensionValue, FetchAttribute, SearchKey

__all__ = [
    "COMMANDS",
    "Append",
    "AppendMessage",
    "Authenticate",
    "AuthenticateData",
    "Capability",
    "Check",
    "Close",
    "Command",
    "Compress",
    "Copy",
    "Create",
    "Delete",
    "Done",
    "Enable",
    "Examine",
    "Experimental",
    "Expunge",
    "Fetch",
    "GetQuota",
    "GetQuotaRoot",
    "Id",
    "Idle",
    "List",
    "Login",
    "Logout",
    "Lsub",
    "Move",
    "Namespace",
    "Noop",
    "QResync",
    "Rename",
    "Search",
    "Select",
    "SetQuota",
    "StartTLS",
    "Status",
    "Store",
    "Subscribe",
    "Unselect",
    "Unsubscribe",
]


def _tag_ok(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    from mailproto.imap._writer import check_tag

    check_tag(value)


def _tag() -> str:
    return attrs.field(validator=_tag_ok)


@attrs.frozen(kw_only=True)
class Capability:
    """``CAPABILITY`` (RFC 9051 §6.1.1)."""

    #: The command tag.
    tag: str = _tag()


@attrs.frozen(kw_only=True)
class Noop:
    """``NOOP`` (RFC 9051 §6.1.2)."""

    #: The command tag.
    tag: str = _tag()


@attrs.frozen(kw_only=True)
class Logout:
    """``LOGOUT`` (RFC 9051 §6.1.3)."""

    #: The command tag.
    tag: str = _tag()


@attrs.frozen(kw_only=True)
class StartTLS:
    """``STARTTLS`` (RFC 9051 §6.2.1)."""

    #: The command tag.
    tag: str = _tag()


@attrs.frozen(kw_only=True)
class Authenticate:
    """``AUTHENTICATE mechanism [initial-response]`` (RFC 9051 §6.2.2, SASL-IR RFC 4959)."""

    #: The command tag.
    tag: str = _tag()
    #: SASL mechanism name, upper case (e.g. ``"PLAIN"``).
    mechanism: str
    #: The SASL-IR initial response (decoded from base64; ``b""`` is sent as
    #: ``=``), or None when there is none.
    initial_response: bytes | None = attrs.field(default=None, repr=False)


@attrs.frozen(kw_only=True)
class AuthenticateData:
    """A client line during AUTHENTICATE: base64 data, or ``*`` to cancel."""

    #: The decoded SASL response, or None for ``*`` (cancel, RFC 9051 §6.2.2).
    data: bytes | None = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class Login:
    """``LOGIN userid password`` (RFC 9051 §6.2.3)."""

    #: The command tag.
    tag: str = _tag()
    #: User name.
    username: str
    #: Password (not shown in repr).
    password: str = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class Enable:
    """``ENABLE capability...`` (RFC 5161, RFC 9051 §6.3.1)."""

    #: The command tag.
    tag: str = _tag()
    #: The capabilities to enable.
    capabilities: tuple[str, ...]


@attrs.frozen(kw_only=True)
class QResync:
    """The QRESYNC select parameter (RFC 7162 §3.2.5.1)."""

    #: The UIDVALIDITY the client knows.
    uidvalidity: int
    #: The highest MODSEQ the client knows.
    modseq: int
    #: UIDs the client knows (optional).
    known_uids: SequenceSet | None = None
    #: ``(known sequence numbers, matching UIDs)`` (optional).
    seq_match: tuple[SequenceSet, SequenceSet] | None = None


@attrs.frozen(kw_only=True)
class Select:
    """``SELECT mailbox [(CONDSTORE | QRESYNC (...))]`` (RFC 9051 §6.3.2, RFC 7162)."""

    #: The command tag.
    tag: str = _tag()
    #: The mailbox name.
    mailbox: str
    #: ``(CONDSTORE)`` parameter.
    condstore: bool = False
    #: ``(QRESYNC (...))`` parameter.
    qresync: QResync | None = None


@attrs.frozen(kw_only=True)
class Examine:
    """``EXAMINE mailbox [params]``: SELECT read-only (RFC 9051 §6.3.3)."""

    #: The command tag.
    tag: str = _tag()
    #: The mailbox name.
    mailbox: str
    #: ``(CONDSTORE)`` parameter.
    condstore: bool = False
    #: ``(QRESYNC (...))`` parameter.
    qresync: QResync | None = None


@attrs.frozen(kw_only=True)
class Create:
    """``CREATE mailbox [(USE (attrs))]`` (RFC 9051 §6.3.4, CREATE-SPECIAL-USE RFC 6154)."""

    #: The command tag.
    tag: str = _tag()
    #: The mailbox name.
    mailbox: str
    #: SPECIAL-USE attributes to give it (``\\Drafts`` ...).
    special_use: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class Delete:
    """``DELETE mailbox`` (RFC 9051 §6.3.5)."""

    #: The command tag.
    tag: str = _tag()
    #: The mailbox name.
    mailbox: str


@attrs.frozen(kw_only=True)
class Rename:
    """``RENAME old new`` (RFC 9051 §6.3.6)."""

    #: The command tag.
    tag: str = _tag()
    #: The existing mailbox name.
    mailbox: str
    #: The new name.
    new_name: str


@attrs.frozen(kw_only=True)
class Subscribe:
    """``SUBSCRIBE mailbox`` (RFC 9051 §6.3.7)."""

    #: The command tag.
    tag: str = _tag()
    #: The mailbox name.
    mailbox: str


@attrs.frozen(kw_only=True)
class Unsubscribe:
    """``UNSUBSCRIBE mailbox`` (RFC 9051 §6.3.8)."""

    #: The command tag.
    tag: str = _tag()
    #: The mailbox name.
    mailbox: str


@attrs.frozen(kw_only=True)
class List:
    """``LIST [(selection)] reference pattern(s) [RETURN (options)]``.

    RFC 9051 §6.3.9 with LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819)
    and SPECIAL-USE (RFC 6154).  With neither selection nor return options
    and one pattern it is the basic RFC 3501 LIST.
    """

    #: The command tag.
    tag: str = _tag()
    #: The reference name.
    reference: str
    #: Mailbox patterns (``*`` and ``%`` wildcards); several only with
    #: LIST-EXTENDED.
    patterns: tuple[str, ...]
    #: Selection options, upper case (SUBSCRIBED, REMOTE, RECURSIVEMATCH,
    #: SPECIAL-USE); None when the parenthesised list is absent.
    selection: tuple[str, ...] | None = None
    #: Return options other than STATUS (SUBSCRIBED, CHILDREN, SPECIAL-USE);
    #: None when there is no RETURN.
    return_options: tuple[str, ...] | None = None
    #: ``RETURN (STATUS (items))`` items (RFC 5819), or None.
    return_status: tuple[str, ...] | None = None


@attrs.frozen(kw_only=True)
class Lsub:
    """``LSUB reference pattern`` (RFC 3501 §6.3.9; dropped from rev2)."""

    #: The command tag.
    tag: str = _tag()
    #: The reference name.
    reference: str
    #: The mailbox pattern.
    pattern: str


@attrs.frozen(kw_only=True)
class Namespace:
    """``NAMESPACE`` (RFC 2342, RFC 9051 §6.3.10)."""

    #: The command tag.
    tag: str = _tag()


@attrs.frozen(kw_only=True)
class Status:
    """``STATUS mailbox (items)`` (RFC 9051 §6.3.11)."""

    #: The command tag.
    tag: str = _tag()
    #: The mailbox name.
    mailbox: str
    #: Item names, upper case: MESSAGES, UIDNEXT, UIDVALIDITY, UNSEEN,
    #: DELETED, SIZE, RECENT, HIGHESTMODSEQ, APPENDLIMIT, MAILBOXID ...
    items: tuple[str, ...]


@attrs.frozen(kw_only=True)
class AppendMessage:
    """One message of an APPEND (several with MULTIAPPEND, RFC 3502)."""

    #: The message, as it will be stored.
    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")
    #: Flags to set, or None when the flag list is absent.
    flags: tuple[str, ...] | None = None
    #: INTERNALDATE to set, or None.
    date: datetime.datetime | None = None
    #: Send as literal8 (``~{n}``, RFC 3516) — needed for NUL octets.
    binary: bool = False


@attrs.frozen(kw_only=True)
class Append:
    """``APPEND mailbox [flags] [date-time] literal ...`` (RFC 9051 §6.3.12)."""

    #: The command tag.
    tag: str = _tag()
    #: The destination mailbox.
    mailbox: str
    #: The messages (one, or several with MULTIAPPEND).
    messages: tuple[AppendMessage, ...]


@attrs.frozen(kw_only=True)
class Idle:
    """``IDLE`` (RFC 2177, RFC 9051 §6.3.13)."""

    #: The command tag.
    tag: str = _tag()


@attrs.frozen(kw_only=True)
class Done:
    """``DONE``: the end of IDLE (untagged)."""


@attrs.frozen(kw_only=True)
class Check:
    """``CHECK`` (RFC 3501 §6.4.1; dropped from rev2)."""

    #: The command tag.
    tag: str = _tag()


@attrs.frozen(kw_only=True)
class Close:
    """``CLOSE`` (RFC 9051 §6.4.1)."""

    #: The command tag.
    tag: str = _tag()


@attrs.frozen(kw_only=True)
class Unselect:
    """``UNSELECT`` (RFC 3691, RFC 9051 §6.4.2)."""

    #: The command tag.
    tag: str = _tag()


@attrs.frozen(kw_only=True)
class Expunge:
    """``EXPUNGE``, or ``UID EXPUNGE uid-set`` (UIDPLUS, RFC 4315 §2.1)."""

    #: The command tag.
    tag: str = _tag()
    #: The UIDs for UID EXPUNGE; None for plain EXPUNGE.
    uids: SequenceSet | None = None


@attrs.frozen(kw_only=True)
class Search:
    """``[UID] SEARCH [RETURN (...)] [CHARSET x] keys`` (RFC 9051 §6.4.4, ESEARCH RFC 4731)."""

    #: The command tag.
    tag: str = _tag()
    #: The search criteria (implicitly ANDed).
    keys: tuple[SearchKey, ...]
    #: UID SEARCH.
    uid: bool = False
    #: CHARSET argument, or None.
    charset: str | None = None
    #: RETURN options, upper case (MIN MAX ALL COUNT SAVE); None when absent,
    #: ``()`` for ``RETURN ()``.
    return_options: tuple[str, ...] | None = None


@attrs.frozen(kw_only=True)
class Fetch:
    """``[UID] FETCH set attrs [(CHANGEDSINCE n [VANISHED])]`` (RFC 9051 §6.4.5, RFC 7162)."""

    #: The command tag.
    tag: str = _tag()
    #: The messages.
    sequence_set: SequenceSet
    #: The attributes: a macro name (``"ALL"``, ``"FAST"``, ``"FULL"``) or a
    #: tuple of attributes.
    attributes: str | tuple[FetchAttribute, ...]
    #: UID FETCH.
    uid: bool = False
    #: CHANGEDSINCE modifier (CONDSTORE).
    changed_since: int | None = None
    #: VANISHED modifier (QRESYNC; UID FETCH with CHANGEDSINCE only).
    vanished: bool = False


@attrs.frozen(kw_only=True)
class Store:
    """``[UID] STORE set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] flags`` (RFC 9051 §6.4.6)."""

    #: The command tag.
    tag: str = _tag()
    #: The messages.
    sequence_set: SequenceSet
    #: ``"+"`` add, ``"-"`` remove, ``""`` replace.
    mode: Literal["+", "-", ""]
    #: The flags.
    flags: tuple[str, ...]
    #: .SILENT: no untagged FETCH back.
    silent: bool = False
    #: UID STORE.
    uid: bool = False
    #: UNCHANGEDSINCE modifier (CONDSTORE, RFC 7162 §3.1.3).
    unchanged_since: int | None = None


@attrs.frozen(kw_only=True)
class Copy:
    """``[UID] COPY set mailbox`` (RFC 9051 §6.4.7)."""

    #: The command tag.
    tag: str = _tag()
    #: The messages.
    sequence_set: SequenceSet
    #: The destination mailbox.
    mailbox: str
    #: UID COPY.
    uid: bool = False


@attrs.frozen(kw_only=True)
class Move:
    """``[UID] MOVE set mailbox`` (RFC 6851, RFC 9051 §6.4.8)."""

    #: The command tag.
    tag: str = _tag()
    #: The messages.
    sequence_set: SequenceSet
    #: The destination mailbox.
    mailbox: str
    #: UID MOVE.
    uid: bool = False


@attrs.frozen(kw_only=True)
class Id:
    """``ID (params)`` or ``ID NIL`` (RFC 2971)."""

    #: The command tag.
    tag: str = _tag()
    #: (field, value) pairs, or None for NIL.
    params: tuple[tuple[str, str | None], ...] | None = None


@attrs.frozen(kw_only=True)
class Compress:
    """``COMPRESS mechanism`` (RFC 4978; the only mechanism is DEFLATE)."""

    #: The command tag.
    tag: str = _tag()
    #: The mechanism, upper case.
    mechanism: str = "DEFLATE"


@attrs.frozen(kw_only=True)
class GetQuota:
    """``GETQUOTA root`` (RFC 9208 §4.2)."""

    #: The command tag.
    tag: str = _tag()
    #: The quota root.
    root: str


@attrs.frozen(kw_only=True)
class GetQuotaRoot:
    """``GETQUOTAROOT mailbox`` (RFC 9208 §4.3)."""

    #: The command tag.
    tag: str = _tag()
    #: The mailbox name.
    mailbox: str


@attrs.frozen(kw_only=True)
class SetQuota:
    """``SETQUOTA root (resource limit ...)`` (RFC 9208 §4.4)."""

    #: The command tag.
    tag: str = _tag()
    #: The quota root.
    root: str
    #: (resource name, limit) pairs.
    limits: tuple[tuple[str, int], ...]


_X_COMMAND_NAME = re.compile(r"[Xx][!#$&'+,\-./0-9:;<=>?@A-Z^_`a-z|~]+")


def _x_name_ok(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not _X_COMMAND_NAME.fullmatch(value):
        raise LocalProtocolError(
            f"an experimental command name is X followed by an atom: {value!r}"
        )


@attrs.frozen(kw_only=True)
class Experimental:
    """``X<atom> [arguments]``: an experimental or private command.

    RFC 3501 §6.5.1 (and RFC 9051 §6.5.1) reserve command names starting
    with ``X`` for experimental commands "not a part of this specification";
    a server that does not know one answers BAD, a server that does gets the
    arguments as generic values to interpret itself.  Arguments are parsed
    with the generic grammar: a number is an :class:`int`, ``NIL`` is
    ``None``, an atom, quoted string or literal is a :class:`str`, and a
    parenthesised list is a :class:`tuple`.
    """

    #: The command tag.
    tag: str = _tag()
    #: The command name as sent, starting with ``X`` (e.g. ``"XPIG-LATIN"``).
    name: str = attrs.field(validator=_x_name_ok)
    #: The arguments, as generic values (see above).
    arguments: tuple[ExtensionValue, ...] = ()


#: Any command.
Command = (
    Capability
    | Noop
    | Logout
    | StartTLS
    | Authenticate
    | Login
    | Enable
    | Select
    | Examine
    | Create
    | Delete
    | Rename
    | Subscribe
    | Unsubscribe
    | List
    | Lsub
    | Namespace
    | Status
    | Append
    | Idle
    | Check
    | Close
    | Unselect
    | Expunge
    | Search
    | Fetch
    | Store
    | Copy
    | Move
    | Id
    | Compress
    | GetQuota
    | GetQuotaRoot
    | SetQuota
    | Experimental
)

#: Every tagged command class.
COMMANDS: tuple[Type[Any], ...] = Command.__args__  # noqa: UP006 (Sphinx: 'type' is ambiguous)
