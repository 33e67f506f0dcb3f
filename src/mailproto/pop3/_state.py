"""The POP3 session states and every transition between them, as tables.

Theory of operation
-------------------
RFC 1939 §3 describes a POP3 session as three states a session passes through
in order: AUTHORIZATION (the client identifies itself), TRANSACTION (it reads
and marks messages) and UPDATE (after QUIT, the server removes what was
marked).  Extensions add short detours: STLS (RFC 2595 §4) pauses the session
for a TLS handshake, AUTH (RFC 5034) runs a multi-line SASL exchange.

Two rules from h11 shape this file:

1. *Everything that decides a transition is here*, in tables a reader can
   check against the RFC line by line.  The connections never compare state
   names themselves; they ask :class:`SessionState` whether a command is
   allowed (:meth:`SessionState.allowed`) and tell it how each command ended
   (:meth:`SessionState.complete`).

2. *The table does not know which role it plays.*  A command moves the
   session the same way whether we sent it (client) or received it (server);
   only *when* each side learns the outcome differs (the server when it
   answers, the client when the answer arrives).  Both sides drive the same
   :class:`SessionState`, so they cannot drift apart.

The tables
----------
:data:`TRANSITIONS` maps ``(state, verb, result)`` to the next state, where
*result* is :data:`OK` (``+OK``), :data:`ERR` (``-ERR``) or, for AUTH only,
:data:`CONTINUE` (a ``+`` challenge line: the exchange goes on).  A verb is
allowed in a state exactly when the table has some entry for it there;
anything else is answered ``-ERR`` by a server and refused by ``send()`` on a
client.  :data:`WHILE_PENDING` gives the state a session is in between a
command and its answer when that differs from the state before (only
``QUIT`` in TRANSACTION: that is the UPDATE state of RFC 1939 §6).

Pseudo-verbs: ``GREETING`` (the server's first line), ``TLS_DONE`` (the
handshake after STLS finished; see ``start_tls_done()``), ``BAD`` (a command
the server refused outright: unknown, malformed or not allowed now).

The state diagram in the docs is generated from these tables.
"""

from __future__ import annotations

import enum

from mailproto.errors import LocalProtocolError

__all__ = [
    "CONTINUE",
    "ERR",
    "KNOWN_VERBS",
    "OK",
    "PSEUDO_VERBS",
    "TRANSITIONS",
    "WHILE_PENDING",
    "Result",
    "SessionState",
    "State",
]


class State(enum.Enum):
    """Where a POP3 session is (``conn.state``)."""

    #: Connected; the server's greeting has not been sent/received yet.
    GREETING = "GREETING"
    #: RFC 1939 §4: the client must identify itself.
    AUTHORIZATION = "AUTHORIZATION"
    #: RFC 1939 §7: USER was accepted; PASS may follow.
    USER_ACCEPTED = "USER_ACCEPTED"
    #: RFC 5034: an AUTH exchange is in progress (challenge lines).
    SASL = "SASL"
    #: RFC 2595 §4: STLS was accepted; the transport does the TLS handshake
    #: and then calls ``start_tls_done()``.  Nothing else is interpreted.
    TLS_HANDSHAKE = "TLS_HANDSHAKE"
    #: RFC 1939 §5: logged in; the maildrop is locked and can be read.
    TRANSACTION = "TRANSACTION"
    #: RFC 1939 §6: QUIT was received in TRANSACTION; the server is removing
    #: the messages marked deleted and owes the final answer.
    UPDATE = "UPDATE"
    #: The session is over (QUIT answered, or the peer closed).
    CLOSED = "CLOSED"
    #: A protocol error made the stream untrustworthy; only closing is left.
    ERROR = "ERROR"


class Result(enum.Enum):
    """How a command ended, as far as state is concerned."""

    OK = "+OK"
    ERR = "-ERR"
    CONTINUE = "+"


OK = Result.OK
ERR = Result.ERR
CONTINUE = Result.CONTINUE

_A = State.AUTHORIZATION
_U = State.USER_ACCEPTED
_T = State.TRANSACTION


def _stay(state: State, *verbs: str) -> dict[tuple[State, str, Result], State]:
    """Commands whose outcome never moves the session (CAPA, STAT, ...)."""
    return {(state, verb, result): state for verb in verbs for result in (OK, ERR)}


TRANSITIONS: dict[tuple[State, str, Result], State] = {
    # RFC 1939 §4: "+OK" greeting starts AUTHORIZATION.  A "-ERR" greeting
    # (a server refusing service) ends the session.
    (State.GREETING, "GREETING", OK): _A,
    (State.GREETING, "GREETING", ERR): State.CLOSED,
    # RFC 1939 §7 USER/PASS: PASS only "immediately after a successful USER".
    # A failed USER or PASS leaves the client in AUTHORIZATION to try again.
    (_A, "USER", OK): _U,
    (_A, "USER", ERR): _A,
    (_U, "USER", OK): _U,  # a second USER restarts the pair (Dovecot agrees)
    (_U, "USER", ERR): _A,
    (_U, "PASS", OK): _T,
    (_U, "PASS", ERR): _A,
    # RFC 1939 §7 APOP, RFC 5034 AUTH: one command (AUTH: one exchange) that
    # either opens the maildrop or leaves us in AUTHORIZATION.
    (_A, "APOP", OK): _T,
    (_A, "APOP", ERR): _A,
    (_U, "APOP", OK): _T,
    (_U, "APOP", ERR): _A,
    (_A, "AUTH", CONTINUE): State.SASL,
    (_A, "AUTH", OK): _T,  # e.g. PLAIN with an initial response
    (_A, "AUTH", ERR): _A,
    (_U, "AUTH", CONTINUE): State.SASL,
    (_U, "AUTH", OK): _T,
    (_U, "AUTH", ERR): _A,
    (State.SASL, "AUTH", CONTINUE): State.SASL,
    (State.SASL, "AUTH", OK): _T,
    (State.SASL, "AUTH", ERR): _A,
    # RFC 2595 §4: STLS only in AUTHORIZATION; after the handshake the
    # client starts over (it must discard cached capabilities).
    (_A, "STLS", OK): State.TLS_HANDSHAKE,
    (_A, "STLS", ERR): _A,
    (State.TLS_HANDSHAKE, "TLS_DONE", OK): _A,
    # RFC 2449 §5: CAPA is valid in AUTHORIZATION and TRANSACTION.
    **_stay(_A, "CAPA"),
    (_U, "CAPA", OK): _A,  # anything but PASS ends the USER/PASS pair
    (_U, "CAPA", ERR): _A,
    (_U, "BAD", ERR): _A,  # ... even a command refused outright
    # RFC 1939 §4: QUIT in AUTHORIZATION ends the session *without* UPDATE.
    (_A, "QUIT", OK): State.CLOSED,
    (_A, "QUIT", ERR): State.CLOSED,
    (_U, "QUIT", OK): State.CLOSED,
    (_U, "QUIT", ERR): State.CLOSED,
    # RFC 1939 §5 (and §7 TOP/UIDL): the TRANSACTION commands.
    **_stay(_T, "STAT", "LIST", "RETR", "DELE", "NOOP", "RSET", "TOP", "UIDL", "CAPA"),
    # RFC 1939 §6: QUIT in TRANSACTION enters UPDATE (see WHILE_PENDING);
    # whatever the answer ("-ERR some deleted messages not removed"), the
    # session ends.
    (State.UPDATE, "QUIT", OK): State.CLOSED,
    (State.UPDATE, "QUIT", ERR): State.CLOSED,
}

#: The state while a command waits for its answer, where it differs from
#: the state it was sent in.
WHILE_PENDING: dict[tuple[State, str], State] = {
    (_T, "QUIT"): State.UPDATE,
}

#: Pseudo-verbs: events that are not commands a client can send.
PSEUDO_VERBS = frozenset({"GREETING", "TLS_DONE", "BAD"})

#: Every verb some state accepts.
KNOWN_VERBS = frozenset(verb for (_s, verb, _r) in TRANSITIONS) - PSEUDO_VERBS

_ALLOWED: dict[State, frozenset[str]] = {
    state: frozenset(
        [verb for (s, verb, _r) in TRANSITIONS if s is state]
        + [verb for (s, verb) in WHILE_PENDING if s is state]
    )
    - PSEUDO_VERBS
    for state in State
}


class SessionState:
    """The state of one session, driven by :data:`TRANSITIONS`.

    Role-agnostic: the client and the server connection each own one and
    report the same facts to it (a command began, it ended with a result).
    """

    __slots__ = ("state",)

    def __init__(self) -> None:
        #: The current :class:`State`.
        self.state = State.GREETING

    def allowed(self, verb: str, state: State | None = None) -> bool:
        """True when *verb* may be issued in *state* (default: the current)."""
        return verb in _ALLOWED[self.state if state is None else state]

    @staticmethod
    def after(state: State, verb: str, result: Result) -> State | None:
        """The state *verb* ending with *result* leads to from *state*, if any.

        Where the command passes through a pending state (QUIT → UPDATE),
        this is the state after its answer.
        """
        state = WHILE_PENDING.get((state, verb), state)
        return TRANSITIONS.get((state, verb, result))

    def begin(self, verb: str) -> None:
        """A command starts: *verb* must be allowed now."""
        if verb not in _ALLOWED[self.state]:
            raise LocalProtocolError(f"{verb} is not allowed in state {self.state.name}")
        self.state = WHILE_PENDING.get((self.state, verb), self.state)

    def complete(self, verb: str, result: Result) -> State:
        """The current command (or pseudo-verb) ended with *result*."""
        target = TRANSITIONS.get((self.state, verb, result))
        if target is None:
            raise LocalProtocolError(
                f"no transition for {verb} {result.value} in state {self.state.name}"
            )
        self.state = target
        return target

    def reject(self) -> None:
        """A command was refused with -ERR before it began (bad syntax, not
        allowed now).  Only the USER/PASS pair notices: RFC 1939 §7 wants
        PASS *immediately* after USER, so anything else ends the pair."""
        self.state = TRANSITIONS.get((self.state, "BAD", ERR), self.state)

    def close(self) -> None:
        """The transport closed: the session is over whatever its state."""
        self.state = State.CLOSED

    def fail(self) -> None:
        """A protocol error: nothing more can be trusted."""
        self.state = State.ERROR
