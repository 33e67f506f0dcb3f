"""Connection-level IMAP events: what ``next_event()`` returns besides codec values.

The codec already has one class per command (:mod:`mailproto.imap.commands`)
and per response (:mod:`mailproto.imap.responses`).  A *server* connection
returns the command objects themselves as events; a *client* connection
wraps every response in an event that says which of our commands it belongs
to (the :class:`Handle`), because IMAP matches tagged completions by tag and
untagged data by meaning, and an application should never have to do either
by hand.

Every class is frozen, slotted and keyword-only; every field is documented.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from mailproto.imap.types import ResponseCode
from mailproto.imap.types import commands as C
from mailproto.imap.types import responses as R
from mailproto.sasl import Question

__all__ = [
    "AuthFailed",
    "Authenticated",
    "BadCommand",
    "Bye",
    "Completed",
    "ConnectionClosed",
    "Greeting",
    "Handle",
    "IdleDone",
    "IdleStarted",
    "LiteralRequest",
    "SaslAnswer",
    "SaslQuestion",
    "Untagged",
]


@attrs.frozen(kw_only=True)
class Handle:
    """What ``ClientConnection.send()`` returns: one command in flight.

    Every event about that command carries the same handle, so the
    application compares handles (or tags) instead of parsing anything.
    """

    #: The command's tag.
    tag: str
    #: The command as sent (secrets are hidden by the command's own repr).
    command: Any = attrs.field(eq=False)
    #: The command name as the state tables key it (``FETCH`` for UID FETCH).
    name: str = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        from mailproto.imap._state import command_name

        # Computed once: the client consults it for every response.
        object.__setattr__(self, "name", command_name(self.command))


# ---------------------------------------------------------------------------
# Client side.


@attrs.frozen(kw_only=True)
class Greeting:
    """The server's first response: ``* OK``, ``* PREAUTH`` or ``* BYE`` (RFC 9051 §7.1)."""

    #: ``"OK"`` (log in next), ``"PREAUTH"`` (already authenticated) or
    #: ``"BYE"`` (the server refuses the session).
    status: Literal["OK", "PREAUTH", "BYE"]
    #: The response code, e.g. ``[CAPABILITY ...]``, or None.
    code: ResponseCode | None = None
    #: The human-readable text.
    text: str = ""


@attrs.frozen(kw_only=True)
class Untagged:
    """An untagged response (``* ...``) other than BYE and the greeting.

    :attr:`handle` is the command in flight that asked for this kind of
    response (the oldest one, RFC 9051 §7), or None when the response is
    *unsolicited*: a new message (EXISTS), an expunge, a flag change pushed
    during IDLE or NOOP, an ``* OK [ALERT]`` ...
    """

    #: The command the response answers, or None when unsolicited.
    handle: Handle | None
    #: The typed response (see :mod:`mailproto.imap.responses`).
    response: R.Response


@attrs.frozen(kw_only=True)
class Completed:
    """The tagged response that ends a command (RFC 9051 §7.1)."""

    #: The command that completed.
    handle: Handle
    #: ``"OK"``, ``"NO"`` (failed) or ``"BAD"`` (refused as invalid).
    status: Literal["OK", "NO", "BAD"]
    #: The response code (``[TRYCREATE]``, ``[APPENDUID ...]`` ...), or None.
    code: ResponseCode | None = None
    #: The human-readable text.
    text: str = ""

    @property
    def ok(self) -> bool:
        """True for ``OK``."""
        return self.status == "OK"


@attrs.frozen(kw_only=True)
class IdleStarted:
    """The server answered IDLE with ``+``: updates now flow until ``DONE``."""

    #: The IDLE command.
    handle: Handle
    #: The continuation text (e.g. ``"idling"``).
    text: str = ""


@attrs.frozen(kw_only=True)
class Bye:
    """``* BYE``: the server is closing the session (RFC 9051 §7.1.5)."""

    #: The response code, or None.
    code: ResponseCode | None = None
    #: The text.
    text: str = ""


@attrs.frozen(kw_only=True)
class ConnectionClosed:
    """The peer closed the transport (``receive_data(b"")``)."""


# ---------------------------------------------------------------------------
# Server side (besides the command objects themselves).


@attrs.frozen(kw_only=True)
class BadCommand:
    """The server connection refused a command by itself (syntax, state, limits).

    The answer (``tag BAD`` / ``tag NO``, or ``* BAD`` when the tag could
    not be read) has already been queued; this event is for logs and for
    counting misbehaving clients.
    """

    #: The tag, or None when it could not be read.
    tag: str | None
    #: What was wrong.
    reason: str


@attrs.frozen(kw_only=True)
class LiteralRequest:
    """A client announced a literal the application wants to approve first.

    Reported only by a server connection made with ``literal_approval`` set,
    for a literal of a command whose octets so far (this literal included)
    reach that many, and only once the connection itself found nothing to
    refuse (state, size limits, capabilities).  Nothing of the literal has
    been read yet.  The connection waits (``next_event()`` returns
    ``PAUSED``) until the application calls
    :meth:`~mailproto.imap.ServerConnection.approve_literal` — a
    synchronising literal then gets its ``+`` — or
    :meth:`~mailproto.imap.ServerConnection.refuse_literal`.  The
    application may take its time: a client sending a synchronising literal
    waits for ``+`` (RFC 9051 §7.5), and the octets of a non-synchronising
    one wait in the transport.  What it is for: bounding the memory that
    literals in flight take across all sessions (APPEND messages, which a
    connection holds until the command is complete).
    """

    #: The tag of the command the literal belongs to.
    tag: str | None
    #: The command's name as the state tables key it (``APPEND``, ``FETCH``
    #: for UID FETCH ...).
    command: str
    #: The literal's announced size, in octets.
    size: int
    #: The command's octets so far, this literal included (the lines read and
    #: every literal announced, what ``IMAPLimits.command_size`` bounds).
    command_octets: int
    #: False for a ``{n+}`` literal (RFC 7888): its octets are already on
    #: their way, and a refusal drops them as they arrive.
    synchronizing: bool


@attrs.frozen(kw_only=True)
class SaslQuestion:
    """An AUTHENTICATE exchange needs a decision: answer with :class:`SaslAnswer`."""

    #: The AUTHENTICATE command's tag.
    tag: str
    #: The mechanism's question, e.g. :class:`~mailproto.sasl.CheckPassword`.
    question: Question


@attrs.frozen(kw_only=True)
class SaslAnswer:
    """The server application's answer to a :class:`SaslQuestion`.

    ``bool`` for password and digest checks, ``ScramCredentials | None`` for
    SCRAM lookups (see :mod:`mailproto.sasl`).
    """

    #: The answer handed to the mechanism's ``answer()``.
    answer: Any = attrs.field(eq=False, repr=False)


@attrs.frozen(kw_only=True)
class Authenticated:
    """An AUTHENTICATE exchange succeeded: answer the tag with OK (or NO).

    The credentials have been checked by the answers the application gave
    to :class:`SaslQuestion` events; the application still decides whether
    the session may start.
    """

    #: The AUTHENTICATE command.
    command: C.Authenticate
    #: The authentication identity.
    authcid: str
    #: The authorization identity asked for, or None.
    authzid: str | None


@attrs.frozen(kw_only=True)
class AuthFailed:
    """An AUTHENTICATE exchange failed; the connection already answered ``NO``/``BAD``."""

    #: The AUTHENTICATE command.
    command: C.Authenticate
    #: Why (for logs; never sent to the client).
    reason: str


@attrs.frozen(kw_only=True)
class IdleDone:
    """The client ended IDLE with ``DONE``: answer the IDLE tag with OK."""

    #: The IDLE command.
    command: C.Idle
