"""SASL's place in the mailproto error tree.

A SASL exchange fails in three distinct ways, and the protocols answer each
differently, so each gets its own shape:

* the peer sent something that is not a valid message of the mechanism
  (bad base64, a PLAIN message without NULs, a SCRAM attribute out of order):
  :class:`SASLError`, a :class:`~mailproto.errors.RemoteProtocolError`.  The
  exchange is over; SMTP answers ``501``, POP3 ``-ERR``, IMAP ``BAD``.
* the client cancelled with ``*`` (RFC 4422 §3.5, RFC 4954 §4, RFC 5034 §4,
  RFC 9051 §6.2.2): :class:`SASLCancelled`, a subclass, so a protocol that
  does not care can catch :class:`SASLError` alone.
* the credentials were wrong: that is *not* an exception but an ordinary
  :class:`~mailproto.sasl.Failure` step, because a wrong password is a normal
  outcome the session survives (SMTP ``535``, IMAP ``NO``).

The application misusing a mechanism object (answering a question that was
not asked, stepping a finished exchange) raises
:class:`~mailproto.errors.LocalProtocolError`, as everywhere in mailproto.

No :class:`~mailproto.errors.ReplyHint` is attached: which reply to send is the
protocol's business, and SASL does not know which protocol carries it.
"""

from __future__ import annotations

from mailproto.errors import RemoteProtocolError

__all__ = ["SASLCancelled", "SASLError"]


class SASLError(RemoteProtocolError):
    """The peer sent a malformed SASL message, or broke the exchange.

    Raised by a server mechanism's :meth:`~mailproto.sasl.ServerMechanism.step`
    for bad client responses, by a client mechanism's
    :meth:`~mailproto.sasl.ClientMechanism.respond` for bad challenges (or a
    server signature that does not verify), and by
    :func:`~mailproto.sasl.decode_response` for bad base64.  The message never
    contains secret material.
    """


class SASLCancelled(SASLError):
    """The client cancelled the exchange by sending ``*`` (RFC 4422 §3.5)."""
