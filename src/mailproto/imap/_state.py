"""The IMAP session states and every rule about what may happen in each, as tables.

Theory of operation
-------------------
RFC 9051 §3 (and RFC 3501 §3 before it) describes an IMAP session as four
states: *not authenticated* (the client must log in), *authenticated* (it
may work on mailboxes), *selected* (a mailbox is open and its messages can be
read) and *logout* (the session is ending).  The server's greeting chooses
the first one: ``* OK`` starts unauthenticated, ``* PREAUTH`` starts
authenticated (the server knows the client already, e.g. over a local pipe),
``* BYE`` refuses the session (RFC 9051 §7.1.4, §7.1.5).

::

            +----------------------+
            |connection established|
            +----------------------+
                       ||
      (1) OK greeting  ||  (2) PREAUTH           (3) BYE greeting
              \\/       ||                         ..................
    +-----------------+ \\/                                          .
    |not authenticated|=====> +-------------+                       .
    +-----------------+ (7)   |authenticated|<=== (4) CLOSE/UNSELECT .
          ||                  +-------------+     / failed SELECT   .
          ||                   ||         /\\                        .
          ||        (5) SELECT ||         ||                        .
          ||                   \\/         ||                        .
          ||                  +-------------+                       .
          ||                  |  selected   |                       .
          ||                  +-------------+                       .
          ||  (6) LOGOUT, BYE        ||                             .
          \\/                         \\/                             .
    +-------------------------------------------------------------+ .
    |                          logout                             |<.
    +-------------------------------------------------------------+

(7) is a successful LOGIN or AUTHENTICATE.

Three rules from h11 shape this file:

1. *Everything that decides what is allowed lives here*, in tables a reader
   can check against the RFC line by line: :data:`ALLOWED_STATES` (which
   command is valid in which state, RFC 9051 §6), :data:`TRANSITIONS` (how a
   completed command moves the session), :data:`CAPABILITY_REQUIREMENTS`
   (which commands need which advertised capability), :data:`BARRIERS` (which
   commands may not share the wire with others) and :data:`SOLICITS` (which
   untagged responses a command asks for, so a client can tell the answer to
   its FETCH from an unsolicited flag change).  The connections never
   compare states themselves; they ask :class:`SessionState`.

2. *The tables do not know which role they play.*  A command moves the
   session the same way whether we sent it (client) or received it (server);
   only *when* each side learns the outcome differs.  Client and server drive
   the same :class:`SessionState`, so they cannot drift apart.

3. *Anything missing from a table is an error.*  A command that is not valid
   in the current state is refused by ``send()`` on a client
   (:class:`~mailproto.errors.LocalProtocolError`) and answered ``BAD`` by a
   server; a transition the table does not list leaves the state unchanged
   (a ``NO`` to FETCH changes nothing).

Modes
-----
Some exchanges suspend the ordinary command/response rhythm without
changing the RFC state: an AUTHENTICATE exchange (lines are SASL data, not
commands), IDLE (the only thing the client may send is ``DONE``), and the TLS
handshake after STARTTLS (nothing at all is interpreted until the transport
says the handshake is done).  They are the :class:`Mode` of a connection,
kept apart from :class:`State` so that the table of RFC 9051 §6 stays exactly
the RFC's.

Pipelining
----------
RFC 9051 §5.5 lets a client send several commands without waiting, as long
as the result of one cannot change how another is understood.  Commands that
change the state (LOGIN, SELECT, CLOSE, ...) or the framing of the stream
(STARTTLS, COMPRESS, AUTHENTICATE, IDLE) are therefore *barriers*
(:data:`BARRIERS`): a client sends one only when nothing else is in flight
and sends nothing after it until it completes; a server processes one only
when the commands before it are answered, and reads nothing after it until
it has answered it.  Everything else may be pipelined freely.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from mailproto.errors import LocalProtocolError
from mailproto.imap.types import commands as C
from mailproto.imap.types import responses as R

__all__ = [
    "ALLOWED_STATES",
    "BARRIERS",
    "CAPABILITY_REQUIREMENTS",
    "EXPUNGE_FORBIDDEN",
    "SOLICITS",
    "TRANSITIONS",
    "Mode",
    "SessionState",
    "State",
    "command_name",
    "missing_capability",
    "qresync_violation",
]


class State(enum.Enum):
    """Where an IMAP session is (``conn.state``), RFC 9051 §3."""

    #: Connected; the server's greeting has not been sent/received yet.
    GREETING = "GREETING"
    #: RFC 9051 §3.1: the client must authenticate (LOGIN, AUTHENTICATE,
    #: STARTTLS first where needed).
    NOT_AUTHENTICATED = "NOT_AUTHENTICATED"
    #: RFC 9051 §3.2: logged in; a mailbox must be selected to read messages.
    AUTHENTICATED = "AUTHENTICATED"
    #: RFC 9051 §3.3: a mailbox is selected.
    SELECTED = "SELECTED"
    #: RFC 9051 §3.4: the session is ending (LOGOUT, a BYE, or a closed
    #: transport).  Nothing more may be sent.
    LOGOUT = "LOGOUT"


class Mode(enum.Enum):
    """What the stream carries right now, orthogonal to :class:`State`."""

    #: Commands and responses.
    COMMANDS = "COMMANDS"
    #: An AUTHENTICATE exchange: ``+ challenge`` lines and base64 answers
    #: (RFC 9051 §6.2.2).
    AUTHENTICATING = "AUTHENTICATING"
    #: IDLE is active (the server sent ``+``): the client may only send
    #: ``DONE`` (RFC 9051 §6.3.13, RFC 2177).
    IDLING = "IDLING"
    #: STARTTLS was answered OK: the transport does the TLS handshake and
    #: calls ``start_tls_done()``; nothing received is interpreted until
    #: then (RFC 9051 §6.2.1, §11.1).
    TLS_HANDSHAKE = "TLS_HANDSHAKE"


_N = State.NOT_AUTHENTICATED
_A = State.AUTHENTICATED
_S = State.SELECTED

_ANY = frozenset({_N, _A, _S})
_AUTHED = frozenset({_A, _S})

#: Command name → the states in which it is valid.  RFC 9051 §6 groups the
#: commands by state: §6.1 "any state", §6.2 "not authenticated", §6.3
#: "authenticated" (which includes selected: "in the Selected state, all
#: commands valid in the Authenticated state are also valid", §6.4), §6.4
#: "selected".  Extensions say where theirs belong.
ALLOWED_STATES: dict[str, frozenset[State]] = {
    # RFC 9051 §6.1: any state.
    "CAPABILITY": _ANY,
    "NOOP": _ANY,
    "LOGOUT": _ANY,
    # RFC 2971 §3.1: "the ID command is valid in any state".
    "ID": _ANY,
    # RFC 3501 §6.5.1: X<atom> commands are the server's to define, so the
    # machine lets them through in every state and the application answers
    # (BAD when it does not know the command).
    "EXPERIMENTAL": _ANY,
    # RFC 9051 §6.2: not authenticated only.
    "STARTTLS": frozenset({_N}),
    "AUTHENTICATE": frozenset({_N}),
    "LOGIN": frozenset({_N}),
    # RFC 9051 §6.3.1 / RFC 5161 §3.1: ENABLE only in the authenticated
    # state ("... MUST NOT be issued in the selected state").
    "ENABLE": frozenset({_A}),
    # RFC 9051 §6.3: authenticated (and therefore selected) state.
    "SELECT": _AUTHED,
    "EXAMINE": _AUTHED,
    "CREATE": _AUTHED,
    "DELETE": _AUTHED,
    "RENAME": _AUTHED,
    "SUBSCRIBE": _AUTHED,
    "UNSUBSCRIBE": _AUTHED,
    "LIST": _AUTHED,
    "LSUB": _AUTHED,  # RFC 3501 §6.3.9
    "NAMESPACE": _AUTHED,  # RFC 2342 §5, RFC 9051 §6.3.10
    "STATUS": _AUTHED,
    "APPEND": _AUTHED,
    "IDLE": _AUTHED,  # RFC 9051 §6.3.13, RFC 2177 §3
    # RFC 4978 §3: COMPRESS follows authentication (a compressed stream
    # before login would hide credentials from nobody but would let an
    # unauthenticated peer make us inflate).
    "COMPRESS": _AUTHED,
    # RFC 9208 §4: quota commands in the authenticated and selected states.
    "GETQUOTA": _AUTHED,
    "GETQUOTAROOT": _AUTHED,
    "SETQUOTA": _AUTHED,
    # RFC 9051 §6.4: selected state only.
    "CHECK": frozenset({_S}),  # RFC 3501 §6.4.1
    "CLOSE": frozenset({_S}),
    "UNSELECT": frozenset({_S}),  # RFC 3691
    "EXPUNGE": frozenset({_S}),
    "SEARCH": frozenset({_S}),
    "FETCH": frozenset({_S}),
    "STORE": frozenset({_S}),
    "COPY": frozenset({_S}),
    "MOVE": frozenset({_S}),  # RFC 6851 §3.1
}

#: ``(state, command, status)`` → the state after the tagged completion.
#: Status is ``"OK"``, ``"NO"`` or ``"BAD"``; missing entries leave the state
#: as it was.  Pseudo-commands: ``"GREETING"`` (the server's greeting, with
#: ``OK``/``PREAUTH``/``BYE``) and ``"BYE"`` (an untagged BYE at any time).
TRANSITIONS: dict[tuple[State, str, str], State] = {
    # RFC 9051 §3 (1), (2), (3): the greeting.
    (State.GREETING, "GREETING", "OK"): _N,
    (State.GREETING, "GREETING", "PREAUTH"): _A,
    (State.GREETING, "GREETING", "BYE"): State.LOGOUT,
    # RFC 9051 §6.2.2, §6.2.3: a successful LOGIN / AUTHENTICATE (7).
    (_N, "LOGIN", "OK"): _A,
    (_N, "AUTHENTICATE", "OK"): _A,
    # RFC 9051 §6.3.2: SELECT/EXAMINE OK selects (5).  "If the client is
    # permitted to modify the mailbox ... If a mailbox is selected and a
    # SELECT command that fails is attempted, no mailbox is selected" - a
    # NO from the selected state returns to authenticated (4).  BAD means
    # the command was not understood, so nothing happened.
    (_A, "SELECT", "OK"): _S,
    (_S, "SELECT", "OK"): _S,
    (_S, "SELECT", "NO"): _A,
    (_A, "EXAMINE", "OK"): _S,
    (_S, "EXAMINE", "OK"): _S,
    (_S, "EXAMINE", "NO"): _A,
    # RFC 9051 §6.4.1, §6.4.2: CLOSE and UNSELECT return to authenticated.
    (_S, "CLOSE", "OK"): _A,
    (_S, "UNSELECT", "OK"): _A,
    # RFC 9051 §6.1.3: LOGOUT (6).  The server sends BYE first, which has
    # already moved the session; the OK confirms it.
    **{(s, "LOGOUT", "OK"): State.LOGOUT for s in (_N, _A, _S, State.LOGOUT)},
    # RFC 9051 §7.1.5: an untagged BYE ends the session in any state.
    **{(s, "BYE", "BYE"): State.LOGOUT for s in State},
}

#: Commands that may not be pipelined with anything (see the module essay).
#: STARTTLS, COMPRESS: the stream changes after the OK (RFC 9051 §6.2.1,
#: RFC 4978 §3); AUTHENTICATE and IDLE: the lines after them are not
#: commands (RFC 9051 §6.2.2, §6.3.13); the rest change the state, and so the
#: validity of whatever follows (RFC 9051 §5.5).
BARRIERS: frozenset[str] = frozenset(
    {
        "STARTTLS",
        "COMPRESS",
        "AUTHENTICATE",
        "IDLE",
        "LOGIN",
        "LOGOUT",
        "SELECT",
        "EXAMINE",
        "CLOSE",
        "UNSELECT",
        "ENABLE",
        # What an X command does to the session is unknown: alone on the wire.
        "EXPERIMENTAL",
    }
)

#: Commands during which the server must not send EXPUNGE (or VANISHED
#: without EARLIER): RFC 9051 §7.5.1 "An EXPUNGE response MUST NOT be sent
#: when responding to a FETCH, STORE, or SEARCH command, since this would
#: cause message sequence numbers to become invalid" - the UID forms are
#: exempt ("An EXPUNGE response MAY be sent during a UID command"); RFC 7162
#: §3.2.10.2 extends the rule to VANISHED.
EXPUNGE_FORBIDDEN: frozenset[str] = frozenset({"FETCH", "STORE", "SEARCH"})

#: Command → any one of these capabilities must have been advertised
#: (compared upper case).  ``IMAP4rev2`` includes many former extensions
#: (RFC 9051 Appendix E).
CAPABILITY_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "STARTTLS": ("STARTTLS",),
    "IDLE": ("IDLE", "IMAP4REV2"),  # RFC 2177
    "ENABLE": ("ENABLE", "IMAP4REV2"),  # RFC 5161
    "ID": ("ID",),  # RFC 2971
    "COMPRESS": ("COMPRESS=DEFLATE",),  # RFC 4978
    "MOVE": ("MOVE", "IMAP4REV2"),  # RFC 6851
    "UNSELECT": ("UNSELECT", "IMAP4REV2"),  # RFC 3691
    "NAMESPACE": ("NAMESPACE", "IMAP4REV2"),  # RFC 2342
    "GETQUOTA": ("QUOTA",),  # RFC 9208
    "GETQUOTAROOT": ("QUOTA",),
    # RFC 9208 §4.1.3: SETQUOTA needs QUOTASET, not just QUOTA.
    "SETQUOTA": ("QUOTASET",),
}


def command_name(command: object) -> str:
    """The command's name as the tables key it (``UID FETCH`` is ``FETCH``).

    A command class the tables do not know (a codec newer than this table)
    gets its class name: no state allows it, so it is refused, never crashes.
    """
    name = _NAMES.get(type(command))
    return name if name is not None else type(command).__name__.upper()


_NAMES: dict[type, str] = {
    C.Capability: "CAPABILITY",
    C.Experimental: "EXPERIMENTAL",
    C.Noop: "NOOP",
    C.Logout: "LOGOUT",
    C.StartTLS: "STARTTLS",
    C.Authenticate: "AUTHENTICATE",
    C.Login: "LOGIN",
    C.Enable: "ENABLE",
    C.Select: "SELECT",
    C.Examine: "EXAMINE",
    C.Create: "CREATE",
    C.Delete: "DELETE",
    C.Rename: "RENAME",
    C.Subscribe: "SUBSCRIBE",
    C.Unsubscribe: "UNSUBSCRIBE",
    C.List: "LIST",
    C.Lsub: "LSUB",
    C.Namespace: "NAMESPACE",
    C.Status: "STATUS",
    C.Append: "APPEND",
    C.Idle: "IDLE",
    C.Check: "CHECK",
    C.Close: "CLOSE",
    C.Unselect: "UNSELECT",
    C.Expunge: "EXPUNGE",
    C.Search: "SEARCH",
    C.Fetch: "FETCH",
    C.Store: "STORE",
    C.Copy: "COPY",
    C.Move: "MOVE",
    C.Id: "ID",
    C.Compress: "COMPRESS",
    C.GetQuota: "GETQUOTA",
    C.GetQuotaRoot: "GETQUOTAROOT",
    C.SetQuota: "SETQUOTA",
}

assert set(_NAMES.values()) == set(ALLOWED_STATES), "every command has a state entry"


def missing_capability(command: object, capabilities: Iterable[str]) -> str | None:
    """The capability *command* needs that is not in *capabilities*, or None.

    *capabilities* are upper case.  Beyond :data:`CAPABILITY_REQUIREMENTS`
    this checks the parts of commands that depend on an extension: the
    AUTHENTICATE mechanism (``AUTH=...``), SASL-IR, LOGINDISABLED, CONDSTORE
    and QRESYNC parameters, UID EXPUNGE (UIDPLUS), ESEARCH return options,
    BINARY sections, LIST-EXTENDED / LIST-STATUS and MULTIAPPEND.
    """
    caps = capabilities if isinstance(capabilities, (set, frozenset)) else set(capabilities)
    rev2 = "IMAP4REV2" in caps
    name = command_name(command)
    need = CAPABILITY_REQUIREMENTS.get(name)
    if need is not None and not any(c in caps for c in need):
        return need[0]
    if isinstance(command, C.Login) and "LOGINDISABLED" in caps:
        # RFC 9051 §6.2.3: "the client MUST NOT issue LOGIN" then.
        return "LOGIN (server advertises LOGINDISABLED)"
    if isinstance(command, C.Authenticate):
        if f"AUTH={command.mechanism.upper()}" not in caps:
            return f"AUTH={command.mechanism.upper()}"
        if command.initial_response is not None and not (rev2 or "SASL-IR" in caps):
            return "SASL-IR"  # RFC 4959 §3
    if isinstance(command, (C.Select, C.Examine)):
        if command.condstore and "CONDSTORE" not in caps:
            return "CONDSTORE"  # RFC 7162 §3.1
        if command.qresync is not None and "QRESYNC" not in caps:
            return "QRESYNC"  # RFC 7162 §3.2
    if isinstance(command, C.Fetch):
        if command.changed_since is not None and "CONDSTORE" not in caps:
            return "CONDSTORE"
        if command.vanished and "QRESYNC" not in caps:
            return "QRESYNC"
        if isinstance(command.attributes, tuple) and not (rev2 or "BINARY" in caps):
            from mailproto.imap.types import BinarySizeRequest, SectionRequest

            for att in command.attributes:
                if isinstance(att, BinarySizeRequest) or (
                    isinstance(att, SectionRequest) and att.binary
                ):
                    return "BINARY"  # RFC 3516
    if isinstance(command, C.Store) and command.unchanged_since is not None:
        if "CONDSTORE" not in caps:
            return "CONDSTORE"
    if isinstance(command, C.Expunge) and command.uids is not None:
        if not (rev2 or "UIDPLUS" in caps):
            return "UIDPLUS"  # RFC 4315 §2.1
    if isinstance(command, C.Search) and command.return_options is not None:
        if not (rev2 or "ESEARCH" in caps):
            return "ESEARCH"  # RFC 4731
    if isinstance(command, C.List):
        if (command.selection is not None or command.return_options is not None) and not (
            rev2 or "LIST-EXTENDED" in caps
        ):
            return "LIST-EXTENDED"  # RFC 5258
        if command.return_status is not None and not (rev2 or "LIST-STATUS" in caps):
            return "LIST-STATUS"  # RFC 5819
    if isinstance(command, C.Append) and len(command.messages) > 1:
        if "MULTIAPPEND" not in caps:
            return "MULTIAPPEND"  # RFC 3502
    return None


def qresync_violation(command: object, enabled: Iterable[str]) -> str | None:
    """Why *command* breaks RFC 7162's QRESYNC rules, or None.

    Advertising QRESYNC is not enough (that is :func:`missing_capability`):
    the QRESYNC parameter of SELECT/EXAMINE (§3.2.5) and the VANISHED FETCH
    modifier (§3.2.6) are only valid once the client has sent ``ENABLE
    QRESYNC`` and the server has answered ``ENABLED QRESYNC``; VANISHED is
    only valid on UID FETCH and only together with CHANGEDSINCE (§3.2.6).
    The server answers each case BAD; the client refuses to send it.
    *enabled* holds the upper-case extensions ENABLED in this session.
    """
    if isinstance(command, (C.Select, C.Examine)) and command.qresync is not None:
        if "QRESYNC" not in enabled:
            return "the QRESYNC parameter needs ENABLE QRESYNC first (RFC 7162 §3.2.5)"
    if isinstance(command, C.Fetch) and command.vanished:
        if not command.uid:
            return "VANISHED is a UID FETCH modifier only (RFC 7162 §3.2.6)"
        if command.changed_since is None:
            return "VANISHED needs CHANGEDSINCE (RFC 7162 §3.2.6)"
        if "QRESYNC" not in enabled:
            return "VANISHED needs ENABLE QRESYNC first (RFC 7162 §3.2.6)"
    return None


#: Command → the untagged responses it asks for.  A client attributes an
#: untagged response to the oldest command in flight that solicits its
#: class; anything else is *unsolicited* (RFC 9051 §7: "the client MUST be
#: prepared to accept any response at all times").
SOLICITS: dict[str, frozenset[type]] = {
    "CAPABILITY": frozenset({R.CapabilityResponse}),
    "ID": frozenset({R.IdResponse}),
    "ENABLE": frozenset({R.Enabled}),
    "SELECT": frozenset(
        {
            R.FlagsResponse,
            R.Exists,
            R.Recent,
            R.StatusResponse,
            R.ListResponse,
            R.Vanished,
            R.FetchResponse,
        }
    ),
    "EXAMINE": frozenset(
        {
            R.FlagsResponse,
            R.Exists,
            R.Recent,
            R.StatusResponse,
            R.ListResponse,
            R.Vanished,
            R.FetchResponse,
        }
    ),
    "LIST": frozenset({R.ListResponse, R.StatusData}),
    "LSUB": frozenset({R.ListResponse}),
    "NAMESPACE": frozenset({R.NamespaceResponse}),
    "STATUS": frozenset({R.StatusData}),
    "SEARCH": frozenset({R.SearchResponse, R.Esearch}),
    "FETCH": frozenset({R.FetchResponse, R.Vanished}),
    "STORE": frozenset({R.FetchResponse}),
    "EXPUNGE": frozenset({R.ExpungeResponse, R.Vanished}),
    "MOVE": frozenset({R.ExpungeResponse, R.Vanished, R.StatusResponse}),
    "COPY": frozenset({R.StatusResponse}),
    "GETQUOTA": frozenset({R.QuotaResponse}),
    "GETQUOTAROOT": frozenset({R.QuotaRootResponse, R.QuotaResponse}),
    "SETQUOTA": frozenset({R.QuotaResponse}),
    "LOGOUT": frozenset({R.StatusResponse}),
}


class SessionState:
    """The state of one session, driven by the tables above.

    Role-agnostic: the client and the server connection each own one and
    report the same facts to it (a greeting, a completed command, a BYE).
    """

    __slots__ = ("mode", "state")

    def __init__(self) -> None:
        #: The current :class:`State`.
        self.state = State.GREETING
        #: The current :class:`Mode`.
        self.mode = Mode.COMMANDS

    @staticmethod
    def allowed_in(name: str, state: State) -> bool:
        """True when command *name* is valid in *state* (RFC 9051 §6)."""
        states = ALLOWED_STATES.get(name)
        return states is not None and state in states

    def allowed(self, name: str) -> bool:
        """True when command *name* is valid now."""
        return self.allowed_in(name, self.state)

    def check(self, command: object) -> str:
        """Raise :class:`LocalProtocolError` unless *command* is valid now; return its name."""
        name = command_name(command)
        if not self.allowed_in(name, self.state):
            raise LocalProtocolError(f"{name} is not valid in state {self.state.name}")
        return name

    @staticmethod
    def after(state: State, name: str, status: str) -> State:
        """The state after *name* completed with *status* in *state*."""
        return TRANSITIONS.get((state, name, status), state)

    def complete(self, name: str, status: str) -> State:
        """A command (or pseudo-command) completed: apply the table."""
        self.state = TRANSITIONS.get((self.state, name, status), self.state)
        return self.state
