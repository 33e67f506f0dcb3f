"""The events of an SMTP conversation, named after the protocol's verbs.

Theory
------
One class per SMTP command (RFC 5321 §4.1.1 and the extension RFCs), used in
both directions exactly as h11 does: a :class:`~mailproto.smtp.ClientConnection`
*sends* ``MailFrom(...)`` and a :class:`~mailproto.smtp.ServerConnection`
*returns* the same ``MailFrom(...)`` from ``next_event()``.  Fields are parsed
and typed (a :class:`~mailproto.smtp.Mailbox`, a
:class:`~mailproto.smtp.MailParameters`), never raw lines to re-parse.

The message itself travels as a sequence, so that it is never held whole:

* after ``DATA``: :class:`Data`, then any number of :class:`DataChunk`, then
  :class:`EndOfData`;
* with CHUNKING: for each ``BDAT`` command a :class:`Bdat`, then
  :class:`DataChunk` events totalling its size (then :class:`EndOfChunk`
  if the application asked to answer chunks); after the chunk flagged
  ``last``, :class:`EndOfData`.

Replies are :class:`~mailproto.smtp.Reply` values (module
:mod:`mailproto.smtp.replies`): a server application answers each event that
asks for a decision with ``conn.send(Reply(...))``, and a client receives
``Reply`` events (with :class:`EhloReply` and :class:`RecipientReply` where
they carry more).

A few events exist only on the server side and only as information: the
connection already answered the peer by itself (:class:`CommandRejected`,
:class:`MessageAborted`) or finished a SASL exchange (:class:`Authenticated`,
:class:`AuthFailed`).  Each class says whether the application owes a reply.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from mailproto.errors import LocalProtocolError
from mailproto.smtp._address import Mailbox
from mailproto.smtp.extensions import Extensions, MailParameters, RcptParameters
from mailproto.smtp.replies import Reply

__all__ = [
    "Auth",
    "AuthAnswer",
    "AuthFailed",
    "AuthQuestion",
    "Authenticated",
    "Bdat",
    "CommandRejected",
    "ConnectionClosed",
    "Data",
    "DataChunk",
    "Ehlo",
    "EhloReply",
    "EndOfChunk",
    "EndOfData",
    "Event",
    "Expn",
    "Helo",
    "Help",
    "Lhlo",
    "MailFrom",
    "MessageAborted",
    "Noop",
    "Quit",
    "RcptTo",
    "RecipientReply",
    "Rset",
    "StartTLS",
    "Vrfy",
]

# RFC 5321 §4.1.1.1: "EHLO" SP ( Domain / address-literal ).  The argument is
# checked for printable ASCII (UTF-8 with SMTPUTF8) without spaces; its
# detailed syntax is the server's policy (real clients send bare hostnames,
# "localhost", or worse), so no finer check is imposed here.
_DOMAIN_ARG_RE = re.compile(r"[!-~\u0080-\U0010ffff]+\Z")
# Text arguments (VRFY, EXPN, HELP, NOOP): anything printable on one line.
_TEXT_ARG_RE = re.compile(r"[ -~\u0080-\U0010ffff]*\Z")


def _domain_arg(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not _DOMAIN_ARG_RE.match(value):
        raise LocalProtocolError(f"{attribute.name} must be one printable word: {value!r}")


def _text_arg(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and not _TEXT_ARG_RE.match(value):
        raise LocalProtocolError(f"{attribute.name} may not contain control characters")


def _non_negative(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise LocalProtocolError(f"{attribute.name} must not be negative")


class Event:
    """Base class of every SMTP event (for ``isinstance`` and type hints)."""

    __slots__ = ()


# --- Session commands ----------------------------------------------------------


@attrs.frozen(kw_only=True, slots=True)
class Helo(Event):
    """``HELO domain`` (RFC 5321 §4.1.1.1).  Server: reply owed."""

    #: The client's claimed name.
    domain: str = attrs.field(validator=_domain_arg)


@attrs.frozen(kw_only=True, slots=True)
class Ehlo(Event):
    """``EHLO domain`` (RFC 5321 §4.1.1.1).  Server: reply owed.

    A positive reply the application sends is completed by the connection
    with the extension lines of its :class:`~mailproto.smtp.ServerConfig`.
    """

    #: The client's claimed name or address literal.
    domain: str = attrs.field(validator=_domain_arg)


@attrs.frozen(kw_only=True, slots=True)
class Lhlo(Event):
    """``LHLO domain`` (RFC 2033 §4.1), LMTP's EHLO.  Server: reply owed."""

    #: The client's claimed name.
    domain: str = attrs.field(validator=_domain_arg)


@attrs.frozen(kw_only=True, slots=True)
class MailFrom(Event):
    """``MAIL FROM:<reverse-path> [params]`` (RFC 5321 §4.1.1.2).

    Server: reply owed (accept the sender or not).
    """

    #: The sender, or ``None`` for the null reverse-path ``<>``.
    sender: Mailbox | None
    #: ESMTP parameters, typed.
    parameters: MailParameters = attrs.field(factory=MailParameters)


@attrs.frozen(kw_only=True, slots=True)
class RcptTo(Event):
    """``RCPT TO:<forward-path> [params]`` (RFC 5321 §4.1.1.3).

    Server: reply owed (accept this recipient or not).
    """

    #: The recipient; ``<Postmaster>`` has ``domain=None``.
    recipient: Mailbox
    #: ESMTP parameters, typed.
    parameters: RcptParameters = attrs.field(factory=RcptParameters)


@attrs.frozen(kw_only=True, slots=True)
class Data(Event):
    """``DATA`` (RFC 5321 §4.1.1.4).

    Server: information only — the connection answered ``354`` itself (or
    refused DATA when no recipient was accepted); :class:`DataChunk` events
    follow.
    """


@attrs.frozen(kw_only=True, slots=True)
class Bdat(Event):
    """``BDAT size [LAST]`` (RFC 3030 §2).

    Client: send it, then :class:`DataChunk` events totalling *size* octets.
    Server: information only; :class:`DataChunk` events with the chunk follow,
    and the connection acknowledges a non-final chunk itself (``250``).
    """

    #: Octets in this chunk.
    size: int = attrs.field(validator=_non_negative)
    #: True for the final chunk of the message (``LAST``).
    last: bool = False


@attrs.frozen(kw_only=True, slots=True)
class DataChunk(Event):
    """A piece of the message.

    After DATA the server hands out the content dot-unstuffed and the client
    takes raw content and dot-stuffs it; after BDAT the octets are carried as
    they are.  Server: information only.
    """

    #: The octets.
    data: bytes


@attrs.frozen(kw_only=True, slots=True)
class EndOfData(Event):
    """The message is complete: CRLF "." CRLF after DATA, or the end of the
    ``BDAT ... LAST`` chunk.

    Server: reply owed — accept or refuse the message; with LMTP one reply per
    accepted recipient, in RCPT order (RFC 2033 §4.2).  Client: send it after
    the last :class:`DataChunk` of a DATA transfer (it writes the terminator);
    after a non-final BDAT chunk it sends ``BDAT 0 LAST``.
    """


@attrs.frozen(kw_only=True, slots=True)
class EndOfChunk(Event):
    """A non-final ``BDAT`` chunk has been read whole (RFC 3030 §2).

    Server only, and only with :attr:`ServerConfig.confirm_chunks`: reply
    owed.  A 2xx reply (``replies.CHUNK_OK``) lets the client go on; a 4xx or
    5xx reply (for instance ``replies.MESSAGE_TOO_BIG`` or
    ``replies.INSUFFICIENT_STORAGE``) fails the whole transaction: the
    :class:`DataChunk` events received for it must be dropped, and chunks
    the client had already pipelined are read, discarded and answered
    ``503`` by the connection.
    """

    #: Octets in this chunk.
    size: int
    #: Octets of the message received so far, this chunk included.
    received: int


@attrs.frozen(kw_only=True, slots=True)
class Rset(Event):
    """``RSET`` (RFC 5321 §4.1.1.5).  Server: information only (``250``
    sent); forget the transaction."""


@attrs.frozen(kw_only=True, slots=True)
class Vrfy(Event):
    """``VRFY string`` (RFC 5321 §4.1.1.6).  Server: reply owed
    (``replies.CANNOT_VRFY`` is the usual answer, RFC 5321 §7.3)."""

    #: The user name or mailbox to verify.
    argument: str = attrs.field(validator=_text_arg)


@attrs.frozen(kw_only=True, slots=True)
class Expn(Event):
    """``EXPN string`` (RFC 5321 §4.1.1.7).  Server: reply owed."""

    #: The mailing list to expand.
    argument: str = attrs.field(validator=_text_arg)


@attrs.frozen(kw_only=True, slots=True)
class Help(Event):
    """``HELP [string]`` (RFC 5321 §4.1.1.8).  Server: information only
    (``214`` sent)."""

    #: The topic, if any.
    topic: str | None = attrs.field(default=None, validator=_text_arg)


@attrs.frozen(kw_only=True, slots=True)
class Noop(Event):
    """``NOOP [string]`` (RFC 5321 §4.1.1.9).  Server: information only."""

    #: The ignored argument, if any.
    argument: str | None = attrs.field(default=None, validator=_text_arg)


@attrs.frozen(kw_only=True, slots=True)
class Quit(Event):
    """``QUIT`` (RFC 5321 §4.1.1.10).  Server: information only (``221``
    sent); close the connection once the output is written."""


@attrs.frozen(kw_only=True, slots=True)
class StartTLS(Event):
    """``STARTTLS`` (RFC 3207 §4).

    Server: information only — ``220`` was queued; write it, do the TLS
    handshake, then call :meth:`ServerConnection.start_tls_done`.  Client:
    after the ``220`` reply, do the handshake, then call
    :meth:`ClientConnection.start_tls_done`.
    """


@attrs.frozen(kw_only=True, slots=True)
class Auth(Event):
    """``AUTH mechanism [initial-response]`` (RFC 4954 §4).

    Server: information only — the connection drives the SASL exchange and
    asks the application with :class:`AuthQuestion` events.  Client: use
    :meth:`ClientConnection.authenticate` rather than sending this directly.
    """

    #: The SASL mechanism name, upper case.
    mechanism: str
    #: The decoded initial response; ``b""`` for ``=``, ``None`` when absent.
    initial_response: bytes | None = attrs.field(default=None, repr=False)


# --- Server-side only: the SASL dialogue with the application -------------------


@attrs.frozen(kw_only=True, slots=True)
class AuthQuestion(Event):
    """The SASL mechanism needs a decision (RFC 4954 §4).

    Server: answer owed, with :class:`AuthAnswer`.  :attr:`question` is a
    :class:`mailproto.sasl.Question` such as ``CheckPassword``.
    """

    #: The mechanism's question (``sasl.CheckPassword``, ``sasl.LookupScramCredentials``...).
    question: object


@attrs.frozen(kw_only=True, slots=True)
class AuthAnswer(Event):
    """The application's answer to an :class:`AuthQuestion` (server ``send()``).

    The value is what :meth:`mailproto.sasl.ServerMechanism.answer` takes:
    ``True``/``False``, ``ScramCredentials``/``None``, or an ``OAuthError``.
    """

    #: The answer.
    answer: object = attrs.field(repr=False)


@attrs.frozen(kw_only=True, slots=True)
class Authenticated(Event):
    """The client authenticated (``235`` sent).  Information only."""

    #: The mechanism used.
    mechanism: str
    #: The authentication identity (whose credentials were checked).
    authcid: str
    #: The authorization identity requested, or ``None``.
    authzid: str | None


@attrs.frozen(kw_only=True, slots=True)
class AuthFailed(Event):
    """The SASL exchange failed or was cancelled (the connection replied
    ``535``/``501``).  Information only."""

    #: The mechanism tried.
    mechanism: str
    #: Why, for logs (never sent to the client).
    reason: str
    #: The reply that was sent.
    reply: Reply


@attrs.frozen(kw_only=True, slots=True)
class CommandRejected(Event):
    """The connection answered a command by itself with an error (unknown
    command, bad syntax, bad sequence, a limit).  Information only."""

    #: The offending line, without CRLF (truncated to 512 octets).
    line: bytes
    #: The reply that was sent.
    reply: Reply


@attrs.frozen(kw_only=True, slots=True)
class MessageAborted(Event):
    """The connection refused the message being received by itself (too
    large, bare CR/LF, NUL, a BDAT chunk it refused): discard the
    :class:`DataChunk` events received for it.  The transaction is over (the
    envelope too).  Information only."""

    #: The reply that was sent.
    reply: Reply


@attrs.frozen(kw_only=True, slots=True)
class ConnectionClosed(Event):
    """The peer closed the connection (``receive_data(b"")``).

    On a server, a message whose :class:`EndOfData` had not arrived yet is
    incomplete: discard the :class:`DataChunk` events received for it.
    """


# --- Client-side only: replies with more to say ----------------------------------


@attrs.frozen(kw_only=True, slots=True)
class EhloReply(Event):
    """A positive reply to EHLO or LHLO, with the capability set."""

    #: The reply itself.
    reply: Reply
    #: The server's name from the first line.
    domain: str
    #: The extensions advertised (RFC 5321 §4.1.1.1).
    extensions: Extensions


@attrs.frozen(kw_only=True, slots=True)
class RecipientReply(Event):
    """LMTP: the delivery result for one recipient (RFC 2033 §4.2)."""

    #: The recipient this reply is about.
    recipient: Mailbox
    #: The reply.
    reply: Reply


# --- Construction without attrs' __init__ (server hot path) -----------------------
#
# A frozen attrs class sets each field through ``object.__setattr__`` fetched
# per instance, which costs more than parsing the command did.  The parser
# builds the events below once per command of every session; their fields
# have no validators or converters (or the parser has already checked what
# the validator checks), so setting each slot through its descriptor is
# exactly what ``__init__`` does.  Every field is always set: a slot must
# never stay empty.

_new = object.__new__


def _slot_setters(cls: type, names: str) -> tuple[Any, ...]:
    fields = [f.name for f in attrs.fields(cls)]
    assert fields == names.split(), (cls, fields)
    return tuple(cls.__dict__[name].__set__ for name in fields)


_MAIL_SENDER, _MAIL_PARAMETERS = _slot_setters(MailFrom, "sender parameters")
_RCPT_RECIPIENT, _RCPT_PARAMETERS = _slot_setters(RcptTo, "recipient parameters")
(_CHUNK_DATA,) = _slot_setters(DataChunk, "data")


def new_mail_from(sender: Mailbox | None, parameters: MailParameters) -> MailFrom:
    """``MailFrom(sender=sender, parameters=parameters)``, slot by slot."""
    event = _new(MailFrom)
    _MAIL_SENDER(event, sender)
    _MAIL_PARAMETERS(event, parameters)
    return event


def new_rcpt_to(recipient: Mailbox, parameters: RcptParameters) -> RcptTo:
    """``RcptTo(recipient=recipient, parameters=parameters)``, slot by slot."""
    event = _new(RcptTo)
    _RCPT_RECIPIENT(event, recipient)
    _RCPT_PARAMETERS(event, parameters)
    return event


def new_data_chunk(data: bytes) -> DataChunk:
    """``DataChunk(data=data)``, slot by slot."""
    event = _new(DataChunk)
    _CHUNK_DATA(event, data)
    return event
