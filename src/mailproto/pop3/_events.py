"""The events of a POP3 conversation: commands, replies, and what they carry.

Naming follows the protocol: a command event is named after its verb
(:class:`Retr` is ``RETR``), so an application reads like a transcript.  The
same classes travel both ways: a client ``send()``\\ s a :class:`Retr`, and the
server's ``next_event()`` returns an equal :class:`Retr`.

Three groups:

Commands (client → server)
    :class:`User`, :class:`Pass`, :class:`Apop`, :class:`Auth`, :class:`Capa`,
    :class:`Stls`, :class:`Stat`, :class:`List`, :class:`Retr`, :class:`Dele`,
    :class:`Noop`, :class:`Rset`, :class:`Top`, :class:`Uidl`, :class:`Quit`.
    Arguments are validated when the event is built, so a client cannot put a
    CRLF or a zero message number on the wire.

Answers the *server application* sends
    :class:`Greeting`, :class:`OkResponse`, :class:`ErrResponse`,
    :class:`Maildrop` (accept a login: here is the listing),
    :class:`MessageData` / :class:`MessageEnd` (stream a message for RETR/TOP),
    :class:`AuthAnswer` (answer a SASL question).

What the connections report
    On the server: the commands above, plus :class:`Authenticated`,
    :class:`AuthQuestion`, :class:`AuthFailed`, :class:`Update` (``QUIT`` in
    TRANSACTION: the deletions to carry out), :class:`CommandRejected`, and
    :class:`ConnectionClosed`.  On the client: :class:`Greeting`,
    :class:`OkResponse`, :class:`ErrResponse`, and the typed multi-line results
    :class:`StatResponse`, :class:`ListResponse`, :class:`UidlResponse`,
    :class:`CapaResponse`, :class:`MessageData`, :class:`MessageEnd`.

Every class is frozen, slotted and keyword-only.  Secrets (``PASS``
passwords, ``APOP`` digests, SASL payloads) are :class:`~mailproto.sasl.Secret`
values, so an event can be logged as is.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Any

import attrs

from mailproto.errors import LocalProtocolError
from mailproto.sasl import ClientMechanism, Question, Secret

__all__ = [
    "Apop",
    "Auth",
    "AuthAnswer",
    "AuthFailed",
    "AuthQuestion",
    "Authenticated",
    "Capa",
    "CapaResponse",
    "Capabilities",
    "CommandRejected",
    "ConnectionClosed",
    "Dele",
    "ErrResponse",
    "Event",
    "Greeting",
    "List",
    "ListEntry",
    "ListResponse",
    "Maildrop",
    "MessageData",
    "MessageEnd",
    "MessageInfo",
    "Noop",
    "OkResponse",
    "Pass",
    "Quit",
    "ResponseCode",
    "Retr",
    "Rset",
    "Stat",
    "StatResponse",
    "Stls",
    "Top",
    "Uidl",
    "UidlEntry",
    "UidlResponse",
    "Update",
    "User",
    "apop_digest",
]


class Event:
    """Base class of every POP3 event (for ``isinstance`` and type hints)."""

    __slots__ = ()


# ---------------------------------------------------------------------------
# Validators.  They raise LocalProtocolError: building a bad event is the
# application's mistake, and the error tree says whose fault it is.

# RFC 1939 §3: arguments are printable ASCII separated by single spaces.
# We also allow UTF-8 (RFC 6856 lets user names be UTF-8), but never
# controls, SP inside one argument, or DEL.
_ARG = re.compile(r"[^\x00-\x20\x7f]+")
# RFC 2449 §8: resp-level = 1*schar, schar = %x21-2E / %x30-5C / %x5E-7F
# (printable except "/" and "]"); levels are separated by "/".
_RESP_CODE = re.compile(r"[\x21-\x2e\x30-\x5c\x5e-\x7e]+(?:/[\x21-\x2e\x30-\x5c\x5e-\x7e]+)*")
# RFC 1939 §7: UIDs are 1 to 70 characters in the range 0x21 to 0x7E.
_UID = re.compile(r"[\x21-\x7e]{1,70}")
# RFC 1939 §7 (APOP): the greeting timestamp is a msg-id, "<...>" with no
# "<" or ">" inside.
_TIMESTAMP = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]*>")
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")


def _no_crlf(name: str, value: str) -> None:
    if "\r" in value or "\n" in value or "\x00" in value:
        raise LocalProtocolError(f"{name} must not contain CR, LF or NUL")


def _text(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    _no_crlf(attribute.name, value)


def _argument(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not _ARG.fullmatch(value):
        raise LocalProtocolError(
            f"{attribute.name} must be non-empty, without spaces or control characters"
        )


def _msg_number(instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
    # RFC 1939 §5: messages are numbered from 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LocalProtocolError(f"{attribute.name} must be a message number >= 1, got {value!r}")


def _optional_msg(instance: Any, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None:
        _msg_number(instance, attribute, value)  # type: ignore[arg-type]


def _non_negative(instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise LocalProtocolError(f"{attribute.name} must be an integer >= 0, got {value!r}")


def _resp_code(instance: Any, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and not _RESP_CODE.fullmatch(value):
        raise LocalProtocolError(f"invalid RFC 2449 response code {value!r}")


def _uid(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not _UID.fullmatch(value):
        raise LocalProtocolError(f"a unique-id is 1-70 characters 0x21-0x7E, got {value!r}")


def _timestamp(instance: Any, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and not _TIMESTAMP.fullmatch(value):
        raise LocalProtocolError(f"an APOP timestamp looks like <msg-id>, got {value!r}")


def _secret_line(instance: Any, attribute: attrs.Attribute[Secret[str]], value: Any) -> None:
    if not isinstance(value, Secret) or not isinstance(value.reveal(), str):
        raise LocalProtocolError(f"{attribute.name} must be a Secret[str]")
    revealed = value.reveal()
    if not revealed or "\r" in revealed or "\n" in revealed or "\x00" in revealed:
        # Not echoing the value: it is a secret.
        raise LocalProtocolError(f"{attribute.name} must be non-empty, without CR, LF or NUL")


def _to_secret(value: str | Secret[str]) -> Secret[str]:
    return value if isinstance(value, Secret) else Secret(value)


# ---------------------------------------------------------------------------
# Commands (RFC 1939 §§4-7, RFC 2449, RFC 2595, RFC 5034).


@attrs.frozen(kw_only=True)
class User(Event):
    """``USER name`` (RFC 1939 §7): the first half of a USER/PASS login."""

    #: The mailbox name.
    name: str = attrs.field(validator=_argument)


@attrs.frozen(kw_only=True)
class Pass(Event):
    """``PASS string`` (RFC 1939 §7): the password for the preceding USER.

    The password may contain spaces (RFC 1939 §7: PASS has exactly one
    argument, so a server treats spaces as part of it).
    """

    #: The password, wrapped so that it never shows in a repr or a log.
    password: Secret[str] = attrs.field(converter=_to_secret, validator=_secret_line)


def apop_digest(timestamp: str, password: str | Secret[str]) -> str:
    """``MD5(timestamp + password)`` as 32 lower-case hex digits (RFC 1939 §7)."""
    secret = password.reveal() if isinstance(password, Secret) else password
    return hashlib.md5((timestamp + secret).encode("utf-8")).hexdigest()


@attrs.frozen(kw_only=True)
class Apop(Event):
    """``APOP name digest`` (RFC 1939 §7): login with a shared secret.

    The digest is the MD5 of the server greeting's timestamp followed by the
    password.  A server application checks it with :meth:`matches`; a client
    builds it with :meth:`from_password`.
    """

    #: The mailbox name.
    name: str = attrs.field(validator=_argument)
    #: The 32 hex digit digest (a replayable credential for this timestamp,
    #: hence a Secret).
    digest: Secret[str] = attrs.field(converter=_to_secret)

    @digest.validator
    def _check_digest(self, attribute: attrs.Attribute[Secret[str]], value: Secret[str]) -> None:
        if not _HEX32.fullmatch(value.reveal()):
            raise LocalProtocolError("an APOP digest is 32 hexadecimal digits")

    @classmethod
    def from_password(cls, name: str, timestamp: str, password: str | Secret[str]) -> Apop:
        """The APOP command for *name* given the greeting *timestamp*."""
        return cls(name=name, digest=Secret(apop_digest(timestamp, password)))

    def matches(self, timestamp: str, password: str | Secret[str]) -> bool:
        """Constant-time check of :attr:`digest` against *password*."""
        expected = apop_digest(timestamp, password).encode("ascii")
        return hmac.compare_digest(expected, self.digest.reveal().lower().encode("ascii"))


@attrs.frozen(kw_only=True)
class Auth(Event):
    """``AUTH mechanism [initial-response]`` (RFC 5034), client side.

    The client connection drives *mechanism* through the whole exchange
    (challenges, responses, cancel on a bad challenge, server verification for
    SCRAM) and finally reports an :class:`OkResponse` or :class:`ErrResponse`.
    The server side never returns this event: it reports
    :class:`AuthQuestion`, then :class:`Authenticated` or :class:`AuthFailed`.
    """

    #: A fresh client mechanism from :mod:`mailproto.sasl` holding the
    #: credentials (``sasl.client_mechanism("SCRAM-SHA-256", ...)``).
    mechanism: ClientMechanism = attrs.field(eq=False)
    #: Send the initial response with the command (RFC 5034 §4 allows it;
    #: the client falls back to an empty challenge when it would make the
    #: line longer than 255 octets).
    initial_response: bool = True


@attrs.frozen(kw_only=True)
class Capa(Event):
    """``CAPA`` (RFC 2449 §5): list the server's capabilities."""


@attrs.frozen(kw_only=True)
class Stls(Event):
    """``STLS`` (RFC 2595 §4): start TLS negotiation (AUTHORIZATION only)."""


@attrs.frozen(kw_only=True)
class Stat(Event):
    """``STAT`` (RFC 1939 §5): count and total size of the maildrop."""


@attrs.frozen(kw_only=True)
class List(Event):
    """``LIST [msg]`` (RFC 1939 §5): sizes of one or of all messages."""

    #: The message number, or ``None`` for a listing of every message.
    msg: int | None = attrs.field(default=None, validator=_optional_msg)


@attrs.frozen(kw_only=True)
class Retr(Event):
    """``RETR msg`` (RFC 1939 §5): the whole message."""

    #: The message number (1-based).
    msg: int = attrs.field(validator=_msg_number)


@attrs.frozen(kw_only=True)
class Dele(Event):
    """``DELE msg`` (RFC 1939 §5): mark a message deleted (done at QUIT)."""

    #: The message number (1-based).
    msg: int = attrs.field(validator=_msg_number)


@attrs.frozen(kw_only=True)
class Noop(Event):
    """``NOOP`` (RFC 1939 §5): do nothing, answer +OK."""


@attrs.frozen(kw_only=True)
class Rset(Event):
    """``RSET`` (RFC 1939 §5): unmark every message marked deleted."""


@attrs.frozen(kw_only=True)
class Top(Event):
    """``TOP msg n`` (RFC 1939 §7): the header and the first *lines* body lines."""

    #: The message number (1-based).
    msg: int = attrs.field(validator=_msg_number)
    #: How many lines of the body to send (0: the header only).
    lines: int = attrs.field(validator=_non_negative)


@attrs.frozen(kw_only=True)
class Uidl(Event):
    """``UIDL [msg]`` (RFC 1939 §7): unique ids of one or of all messages."""

    #: The message number, or ``None`` for every message.
    msg: int | None = attrs.field(default=None, validator=_optional_msg)


@attrs.frozen(kw_only=True)
class Quit(Event):
    """``QUIT`` (RFC 1939 §§4, 6): end the session.

    In the TRANSACTION state the server reports :class:`Update` instead,
    because the application then has messages to delete.
    """


# ---------------------------------------------------------------------------
# Status responses (RFC 1939 §3, RFC 2449 §8).


class ResponseCode:
    """The registered extended response codes, for :attr:`ErrResponse.code`.

    Constants rather than strings typed at each call site; any other code
    that matches the RFC 2449 §8 grammar may be used as well.
    """

    #: RFC 2449 §8.1.1: the maildrop is locked by another session.
    IN_USE = "IN-USE"
    #: RFC 2449 §8.1.2: the user logged in too recently (see LOGIN-DELAY).
    LOGIN_DELAY = "LOGIN-DELAY"
    #: RFC 3206 §4: a temporary system problem; retrying later may work.
    SYS_TEMP = "SYS/TEMP"
    #: RFC 3206 §4: a permanent system problem; do not retry.
    SYS_PERM = "SYS/PERM"
    #: RFC 3206 §5: the credentials are wrong (not the system).
    AUTH = "AUTH"


@attrs.frozen(kw_only=True)
class Greeting(Event):
    """The server's ``+OK`` greeting (RFC 1939 §4).

    A server application sends it first; a client receives it first.  With
    :attr:`timestamp` set the server offers APOP (RFC 1939 §7).  To refuse
    service instead, a server sends :class:`ErrResponse`.
    """

    #: Free text after ``+OK``.
    text: str = attrs.field(default="POP3 server ready", validator=_text)
    #: The APOP timestamp, ``<process-id.clock@hostname>``-shaped, including
    #: the angle brackets; ``None`` when APOP is not offered.  The server
    #: must make it unique per connection: the client's digest is bound to it.
    timestamp: str | None = attrs.field(default=None, validator=_timestamp)


@attrs.frozen(kw_only=True)
class OkResponse(Event):
    """A ``+OK`` status line.

    Servers send it to answer a command the application handles (a PASS with
    a good password is answered with :class:`Maildrop` instead); clients
    receive it for every single-line ``+OK`` whose content they do not parse
    further (and before the :class:`MessageData` of RETR/TOP).
    """

    #: Free text after ``+OK`` (and after the response code, if any).
    text: str = attrs.field(default="", validator=_text)
    #: RFC 2449 extended response code, without brackets, or ``None``.
    code: str | None = attrs.field(default=None, validator=_resp_code)


@attrs.frozen(kw_only=True)
class ErrResponse(Event):
    """A ``-ERR`` status line.

    Servers use :attr:`code` for RFC 2449/3206 extended response codes:
    ``IN-USE`` (maildrop locked), ``LOGIN-DELAY`` (logging in too often),
    ``SYS/TEMP`` / ``SYS/PERM`` (transient / permanent system error) and
    ``AUTH`` (the credentials are wrong, RFC 3206 §4).
    """

    #: Free text after ``-ERR`` (and after the response code, if any).
    text: str = attrs.field(default="", validator=_text)
    #: RFC 2449 extended response code, without brackets, or ``None``.
    code: str | None = attrs.field(default=None, validator=_resp_code)


# ---------------------------------------------------------------------------
# What the server application supplies.


@attrs.frozen(kw_only=True)
class MessageInfo:
    """One message of a maildrop, as the server application lists it."""

    #: Size in octets as sent on the wire (CRLF line ends, before
    #: dot-stuffing) — RFC 1939 §5 asks for the exact size.
    size: int = attrs.field(validator=_non_negative)
    #: The unique-id listing of UIDL (RFC 1939 §7): 1-70 chars 0x21-0x7E,
    #: stable across sessions.
    uid: str = attrs.field(validator=_uid)


def _message_tuple(messages: Iterable[MessageInfo]) -> tuple[MessageInfo, ...]:
    return tuple(messages)


@attrs.frozen(kw_only=True)
class Maildrop(Event):
    """Accept a login (PASS, APOP or AUTH) and open the maildrop.

    Sent by the server application in answer to :class:`Pass`, :class:`Apop`
    or :class:`Authenticated`, after it has checked the credentials and
    locked the maildrop (RFC 1939 §4 asks for exclusive access).  The
    connection answers ``+OK`` and enters TRANSACTION; from then on it answers
    STAT, LIST, UIDL, DELE, RSET and NOOP itself from this listing.
    """

    #: Message 1 is ``messages[0]``.  Sizes and uids never change during the
    #: session (RFC 1939 §5: message numbers are stable too).
    messages: tuple[MessageInfo, ...] = attrs.field(converter=_message_tuple)
    #: Free text of the ``+OK`` line; empty for ``maildrop has N messages``.
    text: str = attrs.field(default="", validator=_text)
    #: The ``EXPIRE`` value CAPA advertises for this user once logged in
    #: (RFC 2449 §6.7: a server that announced ``EXPIRE n USER`` before
    #: login gives the user's own policy after it), or ``None`` to keep the
    #: connection's value.
    expire: str | None = attrs.field(default=None, validator=attrs.validators.optional(_text))
    #: Likewise for ``LOGIN-DELAY`` (RFC 2449 §6.5).
    login_delay: str | None = attrs.field(default=None, validator=attrs.validators.optional(_text))


@attrs.frozen(kw_only=True)
class MessageData(Event):
    """A piece of a message for RETR or TOP.

    A server application streams the message as stored (CRLF or, with
    ``normalize_newlines``, LF line ends); the connection dot-stuffs it, and
    for TOP cuts it after the requested body lines.  A client receives the
    content dot-unstuffed, with CRLF line ends as on the wire.
    """

    #: The bytes (any size; a client gets at most ``limits.data_chunk_size``).
    data: bytes


@attrs.frozen(kw_only=True)
class MessageEnd(Event):
    """The end of a RETR or TOP message (the ``.`` line)."""


@attrs.frozen(kw_only=True)
class AuthAnswer(Event):
    """The server application's answer to a :class:`AuthQuestion`.

    The value type depends on the question (see :mod:`mailproto.sasl`):
    ``bool`` for password/digest checks, ``ScramCredentials | None`` for
    SCRAM lookups.
    """

    #: The answer handed to the mechanism's ``answer()``.
    answer: Any = attrs.field(eq=False, repr=False)


# ---------------------------------------------------------------------------
# What the server connection reports besides commands.


@attrs.frozen(kw_only=True)
class AuthQuestion(Event):
    """A SASL mechanism (AUTH) needs a decision: reply with :class:`AuthAnswer`."""

    #: The mechanism's question, e.g. :class:`~mailproto.sasl.CheckPassword`.
    question: Question


@attrs.frozen(kw_only=True)
class Authenticated(Event):
    """An AUTH exchange succeeded: reply :class:`Maildrop` or :class:`ErrResponse`.

    The credentials have been checked (by the answers the application gave
    to the :class:`AuthQuestion` events).  The application still decides
    whether the maildrop can be opened (``IN-USE``, ``LOGIN-DELAY``).
    """

    #: The mechanism name, upper case.
    mechanism: str
    #: The authentication identity.
    authcid: str
    #: The authorization identity asked for, or ``None`` (act as authcid).
    authzid: str | None


@attrs.frozen(kw_only=True)
class AuthFailed(Event):
    """An AUTH exchange failed; the connection already answered ``-ERR``.

    For logs and for counting failures (the application may close).
    """

    #: The mechanism name, upper case.
    mechanism: str
    #: Why: the mechanism's reason, ``"cancelled"``, or a malformed response.
    reason: str


@attrs.frozen(kw_only=True)
class Update(Event):
    """``QUIT`` in TRANSACTION: the UPDATE state (RFC 1939 §6).

    Remove :attr:`deleted` from the maildrop, release it, then send
    :class:`OkResponse` (or :class:`ErrResponse`, e.g. "some deleted messages
    not removed").  Only ever reported for a QUIT: a connection lost in
    TRANSACTION ends with :class:`ConnectionClosed` and deletes nothing.
    """

    #: Message numbers marked deleted, ascending.
    deleted: tuple[int, ...]
    #: Their unique ids, in the same order.
    uids: tuple[str, ...]


@attrs.frozen(kw_only=True)
class CommandRejected(Event):
    """The client sent a command the server refused; ``-ERR`` was already sent.

    Reported so the application can log or count it; nothing to answer.
    """

    #: The command verb, upper-cased (``""`` if the line had none).
    command: str
    #: Why it was refused (the ``-ERR`` text that was sent).
    reason: str


@attrs.frozen(kw_only=True)
class ConnectionClosed(Event):
    """The peer closed the connection (``receive_data(b"")``)."""


# ---------------------------------------------------------------------------
# Typed results the client connection reports.


@attrs.frozen(kw_only=True)
class StatResponse(Event):
    """``+OK nn mm`` answering STAT (RFC 1939 §5)."""

    #: Number of messages (not counting those marked deleted).
    count: int = attrs.field(validator=_non_negative)
    #: Their total size in octets.
    size: int = attrs.field(validator=_non_negative)
    #: Text after the two numbers, if any.
    text: str = attrs.field(default="", validator=_text)


@attrs.frozen(kw_only=True)
class ListEntry:
    """One scan listing: ``msg size`` (RFC 1939 §5)."""

    #: The message number.
    msg: int = attrs.field(validator=_msg_number)
    #: Its size in octets.
    size: int = attrs.field(validator=_non_negative)


@attrs.frozen(kw_only=True)
class ListResponse(Event):
    """The answer to LIST: one entry (``LIST n``) or every message (``LIST``)."""

    #: Scan listings in the order sent.
    entries: tuple[ListEntry, ...]
    #: Text of the ``+OK`` line (for a multi-line LIST), else ``""``.
    text: str = ""


@attrs.frozen(kw_only=True)
class UidlEntry:
    """One unique-id listing: ``msg uid`` (RFC 1939 §7)."""

    #: The message number.
    msg: int = attrs.field(validator=_msg_number)
    #: The unique id.
    uid: str = attrs.field(validator=_uid)


@attrs.frozen(kw_only=True)
class UidlResponse(Event):
    """The answer to UIDL: one entry (``UIDL n``) or every message."""

    #: Unique-id listings in the order sent.
    entries: tuple[UidlEntry, ...]
    #: Text of the ``+OK`` line (for a multi-line UIDL), else ``""``.
    text: str = ""


@attrs.frozen(kw_only=True)
class Capabilities:
    """A POP3 capability list (RFC 2449 §6), typed.

    The server connection renders its own from its settings; the client
    connection parses the server's CAPA response into one.
    """

    #: ``TOP`` (RFC 2449 §6.1).
    top: bool = False
    #: ``USER``: USER/PASS accepted (RFC 2449 §6.2).
    user: bool = False
    #: ``SASL`` mechanisms, upper case, in the server's order (RFC 2449 §6.3).
    sasl: tuple[str, ...] = ()
    #: ``RESP-CODES`` (RFC 2449 §6.4).
    resp_codes: bool = False
    #: ``AUTH-RESP-CODE`` (RFC 3206 §6).
    auth_resp_code: bool = False
    #: ``PIPELINING`` (RFC 2449 §6.6).
    pipelining: bool = False
    #: ``UIDL`` (RFC 2449 §6.8).
    uidl: bool = False
    #: ``STLS`` (RFC 2595 §4).
    stls: bool = False
    #: ``EXPIRE`` argument (RFC 2449 §6.7): ``"NEVER"``, a number of days,
    #: optionally followed by ``" USER"``; ``None`` when not announced.
    expire: str | None = None
    #: ``LOGIN-DELAY`` seconds (RFC 2449 §6.5), optionally ``" USER"``;
    #: ``None`` when not announced.
    login_delay: str | None = None
    #: ``IMPLEMENTATION`` text (RFC 2449 §6.9).
    implementation: str | None = None
    #: Every other capability: name (upper case) → its arguments.
    other: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def to_lines(self) -> list[str]:
        """The capability lines as a server sends them (no CRLF)."""
        lines: list[str] = []
        if self.top:
            lines.append("TOP")
        if self.user:
            lines.append("USER")
        if self.sasl:
            lines.append("SASL " + " ".join(self.sasl))
        if self.resp_codes:
            lines.append("RESP-CODES")
        if self.auth_resp_code:
            lines.append("AUTH-RESP-CODE")
        if self.pipelining:
            lines.append("PIPELINING")
        if self.uidl:
            lines.append("UIDL")
        if self.stls:
            lines.append("STLS")
        if self.expire is not None:
            lines.append("EXPIRE " + self.expire)
        if self.login_delay is not None:
            lines.append("LOGIN-DELAY " + self.login_delay)
        if self.implementation is not None:
            lines.append("IMPLEMENTATION " + self.implementation)
        for name, args in self.other:
            lines.append(" ".join((name, *args)))
        for line in lines:
            _no_crlf("capability", line)
        return lines

    @property
    def expire_days(self) -> int | None:
        """``EXPIRE`` as days: ``None`` for NEVER/unknown, else the number."""
        if self.expire is None:
            return None
        first = self.expire.split(" ", 1)[0]
        return int(first) if first.isdigit() else None


@attrs.frozen(kw_only=True)
class CapaResponse(Event):
    """The answer to CAPA, parsed."""

    #: The capabilities.
    capabilities: Capabilities
    #: Text of the ``+OK`` line.
    text: str = ""
