"""The exceptions every mailproto protocol raises, split by whose fault it is.

Theory
------
A sans-I/O connection can go wrong in exactly two ways, and the caller must be
able to tell them apart without parsing messages:

* :class:`LocalProtocolError` — *your* code asked the connection to do
  something the protocol does not allow at this point (send ``DATA`` before
  any ``RCPT`` was accepted, send a reply the peer did not ask for, build a
  header with a CR in it).  It is raised by ``send()`` and by constructors of
  events and values.  It is a bug in the application; the connection's state is
  unchanged, so the application may recover by sending something else.

* :class:`RemoteProtocolError` — the *peer* sent bytes that cannot be
  interpreted (a line too long to buffer, a literal with a bad size, a reply
  that arrives before its command).  It is raised by ``next_event()``.  When the
  session can no longer be trusted (framing is lost) the connection moves to an
  error state and every later call raises again.  A server-side instance carries
  a :class:`ReplyHint`: the protocol-native answer (SMTP code and enhanced
  status, POP3 ``-ERR`` text, IMAP ``BAD``/``BYE`` text) the application should
  send before closing, so that a well-behaved peer learns what went wrong.

:class:`LimitExceeded` is the :class:`RemoteProtocolError` raised when input
would make a buffer or a counter grow past a bound from :mod:`mailproto.limits`:
it names the bound, so operators can see which limit to raise.

Peer mistakes that the session survives (an unknown command, a syntax error in
one command) are *not* exceptions: servers answer them themselves and report
them as events.  Exceptions are for streams that can no longer be trusted.

Nothing other than :class:`ProtocolError` subclasses escapes the public API of a
connection on any input bytes; the hypothesis tests of every protocol check
this.
"""

from __future__ import annotations

import attrs

__all__ = [
    "LimitExceeded",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "ReplyHint",
]


@attrs.frozen(kw_only=True)
class ReplyHint:
    """What a server should answer to the peer that caused an error.

    One shape serves all three protocols; each protocol fills what it uses.
    """

    #: Human-readable text of the reply, without code or CRLF.
    text: str
    #: SMTP reply code (RFC 5321 §4.2), e.g. ``500`` or ``552``.
    code: int | None = None
    #: RFC 3463 enhanced status code, e.g. ``"5.5.2"`` (RFC 2034 §3).
    enhanced_status: str | None = None
    #: POP3 extended response code (RFC 2449 §8, e.g. ``"SYS/PERM"``) or IMAP
    #: response code (RFC 9051 §7.1, e.g. ``"TOOBIG"``), without brackets.
    response_code: str | None = None
    #: True when the session cannot continue after this reply (IMAP ``BYE``,
    #: SMTP 421): the application should send it and close.
    fatal: bool = True


class ProtocolError(Exception):
    """Base class of every error mailproto raises about the protocol.

    Catch this to handle "the conversation went wrong" in one place.
    """

    def __init__(self, message: str, *, hint: ReplyHint | None = None) -> None:
        super().__init__(message)
        #: The protocol-native reply the peer should get, when known.
        self.hint = hint

    @property
    def message(self) -> str:
        """The error message (the first argument)."""
        return str(self.args[0]) if self.args else ""


class LocalProtocolError(ProtocolError):
    """The application asked for something the protocol does not allow now.

    Raised by ``send()`` and by event/value constructors.  The connection's
    state is left as it was before the call.
    """


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes that break the protocol.

    Raised by ``next_event()`` (and ``receive_data()`` where a connection
    checks eagerly).  On a server, :attr:`hint` holds the reply to send before
    closing the connection.
    """


class LimitExceeded(RemoteProtocolError):
    """Input would exceed one of the bounds in :mod:`mailproto.limits`.

    :attr:`limit` names the field of the limits object that was hit (for
    example ``"command_line_length"``) and :attr:`bound` its value, so the
    message tells an operator exactly which setting to change.
    """

    def __init__(
        self,
        message: str,
        *,
        limit: str,
        bound: int,
        hint: ReplyHint | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        #: Name of the limit that was exceeded.
        self.limit = limit
        #: The value of that limit.
        self.bound = bound
