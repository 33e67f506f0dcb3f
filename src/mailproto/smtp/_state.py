"""The SMTP session state machine, as a table (RFC 5321 §4.1.4, §3.3; RFC 3030,
RFC 3207, RFC 4954, RFC 2033).

Theory of operation
-------------------
An SMTP session is a sequence of commands, each answered by one reply, and
the reply decides what may come next.  Two rules follow h11:

1. Everything that affects transitions lives in this file, in tables.  A
   reader can hold :data:`TRANSITIONS` against RFC 5321 §4.1.4 ("Order of
   Commands") line by line.
2. The table does not know which side it serves.  A server consults it when a
   command arrives (anything missing is ``503 Bad sequence of commands``) and
   again when the application's reply goes out; a client consults it when the
   application sends a command (anything missing is a
   :class:`~mailproto.errors.LocalProtocolError`) and when the reply comes
   back.  Client and server therefore cannot drift apart.

Each entry maps ``(state, verb)`` to a :class:`Transition`: the state after a
positive completion reply (2xx), after a positive intermediate reply (3xx:
``354`` to DATA, ``334`` during AUTH), and after a negative reply (4xx/5xx).

What the RFCs say, and where it shows in the table:

* "A client MUST issue HELO or EHLO before starting a mail transaction"
  (§4.1.4): MAIL exists only from READY.
* "EHLO ... may be issued later in the session ... the SMTP server MUST clear
  all buffers and reset the state exactly as if a RSET command had been
  issued" (§4.1.4): HELO/EHLO from MAIL and RCPT lead back to READY, and a
  refused EHLO leaves the state as it was.
* "The MAIL command ... If accepted, the SMTP server returns a "250 OK" reply"
  and "MAIL ... MUST NOT be sent if a mail transaction is already open"
  (§4.1.1.2, §3.3): MAIL is absent from MAIL/RCPT (→ 503).
* "If there was no MAIL, or no RCPT, command, or all such commands were
  rejected, the server MAY return a "command out of sequence" (503) or "no
  valid recipients" (554) reply" (§3.3): DATA exists only from RCPT.
* "RSET ... NOOP, HELP, EXPN, VRFY ... can be used at any time" (§4.1.4).
* BDAT (RFC 3030 §2): chunks move the session into BDAT until ``LAST``; a
  failed chunk ends the transaction ("the transaction should be considered
  failed"), and only BDAT, RSET, NOOP and QUIT are sensible in between
  (DATA mixed with BDAT is 503, §3).
* STARTTLS (RFC 3207 §4.2): after ``220`` the session is in TLS_HANDSHAKE;
  when the handshake is done "the server MUST discard any knowledge obtained
  from the client ... the client MUST discard any knowledge obtained from the
  server", so the session restarts in CONNECTED (EHLO again).
* AUTH (RFC 4954 §4): "334" keeps the exchange going (AUTH state); "235"
  ends it positively and a failure ends it; "AUTH command is not permitted
  during a mail transaction" (absent from MAIL/RCPT).
* LMTP (RFC 2033 §4.1): LHLO replaces HELO/EHLO; the connection refuses the
  verbs of the other protocol as unrecognised before consulting the table.

Things the table cannot see are checked by the connection and commented
there: whether an extension was advertised, whether AUTH already succeeded,
limits, and LMTP's one reply per recipient after the message.
"""

from __future__ import annotations

import enum

import attrs

__all__ = ["TRANSITIONS", "State", "Transition", "Verb"]


class State(enum.Enum):
    """Where an SMTP session is (the same names on both sides)."""

    #: Waiting for the server's greeting (RFC 5321 §3.1).
    GREETING = "GREETING"
    #: The server greeted with 554 "no SMTP service": only QUIT makes sense.
    REFUSED = "REFUSED"
    #: Greeted; HELO/EHLO/LHLO not yet accepted (again after STARTTLS).
    CONNECTED = "CONNECTED"
    #: HELO/EHLO accepted; no mail transaction open.
    READY = "READY"
    #: MAIL accepted; no recipient accepted yet.
    MAIL = "MAIL"
    #: At least one RCPT accepted.
    RCPT = "RCPT"
    #: Inside DATA: message content until CRLF "." CRLF.
    DATA = "DATA"
    #: Between BDAT chunks of one message (the last one not yet sent).
    BDAT = "BDAT"
    #: Inside a SASL exchange (after 334).
    AUTH = "AUTH"
    #: 220 to STARTTLS sent; waiting for the TLS handshake.
    TLS_HANDSHAKE = "TLS_HANDSHAKE"
    #: QUIT answered, or 421 sent: the connection is over.
    CLOSED = "CLOSED"

    # Members are singletons compared by identity: hash them by identity too
    # (C speed) instead of Enum's Python-level hash of the name, since the
    # table lookups below sit on every command's path.
    __hash__ = object.__hash__


class Verb(enum.Enum):
    """What can move the session: commands, plus three pseudo-commands."""

    GREETING = "GREETING"  # the server's first reply
    HELO = "HELO"
    EHLO = "EHLO"
    LHLO = "LHLO"
    MAIL = "MAIL"
    RCPT = "RCPT"
    DATA = "DATA"
    BDAT = "BDAT"
    BDAT_LAST = "BDAT LAST"
    END_OF_DATA = "END OF DATA"  # CRLF.CRLF after DATA content
    RSET = "RSET"
    VRFY = "VRFY"
    EXPN = "EXPN"
    HELP = "HELP"
    NOOP = "NOOP"
    QUIT = "QUIT"
    STARTTLS = "STARTTLS"
    AUTH = "AUTH"
    AUTH_RESPONSE = "AUTH RESPONSE"  # a client line inside the SASL exchange
    TLS_DONE = "TLS DONE"  # the transport finished the TLS handshake

    __hash__ = object.__hash__  # see State


@attrs.frozen(slots=True)
class Transition:
    """Next states after the reply to one command."""

    #: After a 2xx reply.
    ok: State
    #: After a 4xx/5xx reply.
    fail: State
    #: After a 3xx reply, or ``None`` when 3xx is not a valid answer.
    more: State | None = None


S = State
V = Verb

TRANSITIONS: dict[tuple[State, Verb], Transition] = {
    # RFC 5321 §3.1: 220 opens the session, 554 refuses it (only QUIT then).
    (S.GREETING, V.GREETING): Transition(ok=S.CONNECTED, fail=S.REFUSED),
    (S.REFUSED, V.QUIT): Transition(ok=S.CLOSED, fail=S.CLOSED),
    # RFC 3207 §4.2: after the handshake, forget everything: EHLO again.
    (S.TLS_HANDSHAKE, V.TLS_DONE): Transition(ok=S.CONNECTED, fail=S.CLOSED),
    # RFC 4954 §4: 334 continues, 235 ends well, 5xx ends badly.
    (S.READY, V.AUTH): Transition(ok=S.READY, fail=S.READY, more=S.AUTH),
    (S.AUTH, V.AUTH_RESPONSE): Transition(ok=S.READY, fail=S.READY, more=S.AUTH),
    # RFC 5321 §4.1.1.2/§3.3: one transaction at a time.
    (S.READY, V.MAIL): Transition(ok=S.MAIL, fail=S.READY),
    (S.MAIL, V.RCPT): Transition(ok=S.RCPT, fail=S.MAIL),
    (S.RCPT, V.RCPT): Transition(ok=S.RCPT, fail=S.RCPT),
    # RFC 5321 §4.1.1.4: 354, then content; the end of the content is
    # answered like a command (250 / 4xx / 5xx) and ends the transaction.
    (S.RCPT, V.DATA): Transition(ok=S.RCPT, fail=S.RCPT, more=S.DATA),
    (S.DATA, V.END_OF_DATA): Transition(ok=S.READY, fail=S.READY),
    # RFC 3030 §2: a failed chunk fails the transaction.
    (S.RCPT, V.BDAT): Transition(ok=S.BDAT, fail=S.READY),
    (S.RCPT, V.BDAT_LAST): Transition(ok=S.READY, fail=S.READY),
    (S.BDAT, V.BDAT): Transition(ok=S.BDAT, fail=S.READY),
    (S.BDAT, V.BDAT_LAST): Transition(ok=S.READY, fail=S.READY),
}

# RFC 5321 §4.1.4: HELO/EHLO at any time outside DATA/BDAT; they reset the
# transaction; a refused one leaves the state alone.  STARTTLS (RFC 3207 §4)
# is accepted before or after EHLO but never inside a transaction.
for _s in (S.CONNECTED, S.READY, S.MAIL, S.RCPT):
    for _v in (V.HELO, V.EHLO, V.LHLO):
        TRANSITIONS[(_s, _v)] = Transition(ok=S.READY, fail=_s)
for _s in (S.CONNECTED, S.READY):
    TRANSITIONS[(_s, V.STARTTLS)] = Transition(ok=S.TLS_HANDSHAKE, fail=_s)
# RFC 5321 §4.1.4: RSET, NOOP, HELP, EXPN, VRFY "at any time"; RSET clears the
# transaction (back to READY once greeted with HELO/EHLO).
for _s in (S.CONNECTED, S.READY, S.MAIL, S.RCPT, S.BDAT):
    _after_rset = S.CONNECTED if _s is S.CONNECTED else S.READY
    TRANSITIONS[(_s, V.RSET)] = Transition(ok=_after_rset, fail=_s)
    TRANSITIONS[(_s, V.NOOP)] = Transition(ok=_s, fail=_s)
    TRANSITIONS[(_s, V.QUIT)] = Transition(ok=S.CLOSED, fail=S.CLOSED)
for _s in (S.CONNECTED, S.READY, S.MAIL, S.RCPT):
    for _v in (V.VRFY, V.EXPN, V.HELP):
        TRANSITIONS[(_s, _v)] = Transition(ok=_s, fail=_s)
del _s, _v, _after_rset

#: Verbs that RFC 2920 §3.1 (and RFC 3207 §4.2, RFC 4954 §4) say may only be
#: the last command of a pipelined group: the client must wait for their
#: reply before sending anything else.
ENDS_PIPELINE_GROUP: frozenset[Verb] = frozenset(
    {
        V.HELO,
        V.EHLO,
        V.LHLO,
        V.DATA,
        V.VRFY,
        V.EXPN,
        V.QUIT,
        V.NOOP,
        V.AUTH,
        V.STARTTLS,
        V.AUTH_RESPONSE,
    }
)

#: States in which the server reads command lines.
COMMAND_STATES: frozenset[State] = frozenset(
    {S.REFUSED, S.CONNECTED, S.READY, S.MAIL, S.RCPT, S.BDAT}
)


def transition(state: State, verb: Verb) -> Transition | None:
    """The table entry for *verb* in *state*, or ``None`` (bad sequence)."""
    return TRANSITIONS.get((state, verb))
