"""The POP3 server and client connections: bytes in, events out, and back.

Both classes follow the connection pattern of DESIGN.md::

    conn.receive_data(data)      # bytes from the peer; b"" means it closed
    event = conn.next_event()    # an event, NEED_DATA or PAUSED
    conn.send(event)             # queue a command or an answer
    wire = conn.data_to_send()   # bytes to write to the peer

Server theory
-------------
The server reads one command at a time.  Commands that only need the
maildrop listing it answers itself (USER, CAPA, STLS, STAT, LIST, UIDL, DELE,
RSET, NOOP, QUIT before login) and then reports the command as an event the
application may ignore.  Commands that need a decision or data it does not
have (PASS, APOP, AUTH questions, RETR, TOP, QUIT in TRANSACTION) are
reported as events that *owe an answer*: until the application sends it,
``next_event()`` returns :data:`~mailproto.PAUSED`, so replies always leave in
command order even when the client pipelines (RFC 2449 §6.6).

Deletion marks live here, not in the application: DELE only marks, RSET
unmarks, and the list of messages to remove is reported once, as
:class:`Update`, when QUIT arrives in TRANSACTION.  A connection that ends any
other way reports :class:`ConnectionClosed` and nothing is deleted
(RFC 1939 §6).

Messages are streamed: the application sends :class:`MessageData` pieces of
any size, each is dot-stuffed (and for TOP cut after the requested lines) as
it is sent, so no message is ever held whole.

Client theory
-------------
The client keeps a queue of commands in flight and matches each response to
the oldest.  It knows from the command whether a ``+OK`` opens a multi-line
response (CAPA, LIST, UIDL without argument, RETR, TOP) and parses it into a
typed event.  Commands are written at once when the server advertised
PIPELINING, otherwise one at a time as answers arrive; STLS and AUTH are
never pipelined (RFC 2449 §6.6, RFC 2595 §4, RFC 5034 §4).

TLS
---
After ``+OK`` to STLS, both sides enter ``TLS_HANDSHAKE``: the transport does
the handshake and calls :meth:`start_tls_done`.  Bytes that were received
after the STLS command (server) or after its ``+OK`` (client) and before the
handshake are discarded, never interpreted (the STARTTLS command injection
attack, CVE-2011-0411, RFC 2595 §4).

With ``login_requires_tls`` the server also keeps passwords off an
unencrypted wire: until TLS is active, CAPA leaves out ``USER`` and the SASL
mechanisms that send the password itself (PLAIN, LOGIN; any mechanism whose
class says ``plaintext``), and USER or AUTH with such a mechanism is refused
with ``-ERR [AUTH]`` before the client is asked for a password.  RFC 3206 §5
names "an attempt to authenticate in violation of policy" as a use of
``[AUTH]``; RFC 2595 §4 lets a server advertise different capabilities after
STLS, and tells the client to discard what it learnt before and re-issue
CAPA, so nothing hidden here is lost once the session is encrypted.  The
same policy as IMAP's LOGINDISABLED (RFC 9051 §6.2.3), which POP3 lacks: the
only way to say it in POP3 is to not advertise.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

import attrs

from mailproto._buffer import DotBlockReader, ReceiveBuffer
from mailproto._sentinels import NEED_DATA, PAUSED, Sentinel
from mailproto.codecs.dotstuff import DotStuffer
from mailproto.errors import (
    LimitExceeded,
    LocalProtocolError,
    RemoteProtocolError,
    ReplyHint,
)
from mailproto.limits import POP3Limits
from mailproto.pop3._events import (
    Apop,
    Auth,
    AuthAnswer,
    Authenticated,
    AuthFailed,
    AuthQuestion,
    Capa,
    Capabilities,
    CapaResponse,
    CommandRejected,
    ConnectionClosed,
    Dele,
    ErrResponse,
    Event,
    Greeting,
    List,
    ListResponse,
    Maildrop,
    MessageData,
    MessageEnd,
    MessageInfo,
    Noop,
    OkResponse,
    Pass,
    Quit,
    ResponseCode,
    Retr,
    Rset,
    Stat,
    Stls,
    Top,
    Uidl,
    UidlResponse,
    Update,
    User,
)
from mailproto.pop3._readers import (
    AuthCommand,
    CommandError,
    Status,
    build_capabilities,
    parse_capa_line,
    parse_command,
    parse_greeting_timestamp,
    parse_scan_line,
    parse_stat,
    parse_status,
    parse_uid_line,
    strip_eol,
)
from mailproto.pop3._state import CONTINUE, ERR, OK, Result, SessionState, State
from mailproto.pop3._writers import command_verb, write_command, write_listing, write_status
from mailproto.sasl import (
    Challenge,
    ClientMechanism,
    Failure,
    Question,
    SASLCancelled,
    SASLError,
    ServerMechanism,
    Step,
    Success,
    decode_challenge,
    decode_response,
    encode_challenge,
    encode_response,
    is_plaintext,
    server_mechanism,
)

__all__ = ["ClientConnection", "ServerConnection"]

CRLF = b"\r\n"

# The -ERR texts the server sends itself, in one place (STYLE: no reply
# strings scattered through handlers).
_NO_SUCH_MESSAGE = "no such message"
_DELETED = "message is deleted"
_BAD_STATE = "command not valid in this state"
_UNKNOWN = "unknown command"
_LINE_TOO_LONG = "command line too long"
_TOO_MANY_ERRORS = "too many errors"
_AUTH_FAILED = "authentication failed"
_AUTH_CANCELLED = "authentication cancelled"
_AUTH_MALFORMED = "malformed SASL response"
_AUTH_UNSUPPORTED = "unsupported authentication mechanism"
_AUTH_LIMIT_TEXT = "SASL response too long"
# login_requires_tls: refused with [AUTH] (RFC 3206 §5, a policy refusal).
_PLAINTEXT_NEEDS_STLS = "plaintext authentication needs TLS: use STLS first"
_PLAINTEXT_NEEDS_TLS = "plaintext authentication needs TLS"


def _state_error(message: str) -> RemoteProtocolError:
    return RemoteProtocolError(message, hint=ReplyHint(text=message, fatal=True))


# ---------------------------------------------------------------------------
# TOP: cut a streamed message after the header and N body lines.


class _TopCutter:
    """Streams a message through, stopping after its header and *lines* lines.

    RFC 1939 §7 TOP: "the headers of the message, the blank line separating
    the headers from the body, and then the number of lines of the indicated
    message's body".  Works on pieces of any size; lines end at LF (CRLF or
    bare LF, so stored messages with Unix line ends are cut right too).
    """

    __slots__ = ("_at_line_start", "_carry", "_in_header", "_remaining", "done")

    def __init__(self, lines: int) -> None:
        self._remaining = lines
        self._in_header = True
        self._at_line_start = True
        self._carry = b""  # a lone CR at a line start in the header
        #: True once everything TOP wants has passed through.
        self.done = False

    def feed(self, data: bytes) -> bytes:
        if self.done:
            return b""
        if self._carry:
            data = self._carry + data
            self._carry = b""
        pos = 0
        size = len(data)
        # Header: line by line (headers are a few dozen lines) until an empty
        # line, which ends the header and is sent.
        while self._in_header and pos < size:
            if self._at_line_start:
                if data[pos] == 0x0A:
                    pos += 1
                    self._in_header = False
                    break
                if data[pos] == 0x0D:
                    if pos + 1 == size:
                        self._carry = b"\r"
                        return data[:pos]
                    if data[pos + 1] == 0x0A:
                        pos += 2
                        self._in_header = False
                        break
            nl = data.find(b"\n", pos)
            if nl < 0:
                self._at_line_start = False
                return data
            pos = nl + 1
            self._at_line_start = True
        if self._in_header:
            return data
        # Body: count newlines in C; only the final piece is walked line by
        # line, and only up to the lines still owed.
        if self._remaining == 0:
            self.done = True
            return data[:pos]
        newlines = data.count(b"\n", pos)
        if newlines < self._remaining:
            self._remaining -= newlines
            return data
        end = pos
        for _ in range(self._remaining):
            end = data.find(b"\n", end) + 1
        self._remaining = 0
        self.done = True
        return data[:end]


@attrs.define
class _Outgoing:
    """A RETR/TOP answer being streamed by the server application."""

    verb: str
    msg: int
    stuffer: DotStuffer
    cutter: _TopCutter | None
    status_sent: bool = False


# ---------------------------------------------------------------------------
# Server.


class ServerConnection:
    """The server side of one POP3 session.

    Parameters (all keyword-only):

    limits
        Bounds on line lengths, pipelining and errors (:class:`POP3Limits`).
    user_pass
        Accept USER/PASS (and advertise ``USER``).  Default ``True``.
    stls
        Offer STLS (RFC 2595); the transport must be able to do the handshake.
    tls_active
        The connection is already encrypted (implicit TLS, port 995): no STLS.
    sasl_mechanisms
        SASL mechanism names to offer with AUTH (RFC 5034), in preference
        order, e.g. ``sasl.suitable_mechanisms(tls=...)``.
    sasl_factory
        Makes a fresh :class:`~mailproto.sasl.ServerMechanism` for a name
        (default :func:`mailproto.sasl.server_mechanism`).
    login_requires_tls
        Until TLS is active (``tls_active``, or after STLS and
        :meth:`start_tls_done`), leave ``USER`` and the plaintext SASL
        mechanisms (PLAIN, LOGIN, ...: see
        :attr:`mailproto.sasl.ServerMechanism.plaintext`) out of CAPA and
        refuse USER and ``AUTH`` with them with ``-ERR [AUTH]``, reported as
        :class:`CommandRejected`.  The name and meaning are those of the IMAP
        server's option (which advertises LOGINDISABLED).  APOP is not
        affected: it sends an MD5 digest, not the password (offer it or not
        with the greeting's timestamp).  Default ``False``.
    expire, login_delay, implementation
        Values advertised in CAPA (RFC 2449 §§6.5, 6.7, 6.9), e.g.
        ``expire="NEVER"``, ``login_delay="900"``.
    normalize_newlines
        Turn bare LF (and bare CR) in message data into CRLF, for stores that
        keep Unix line ends (Maildir written by an MDA).  Listed sizes must
        then be the CRLF sizes.
    """

    def __init__(
        self,
        *,
        limits: POP3Limits | None = None,
        user_pass: bool = True,
        stls: bool = False,
        tls_active: bool = False,
        sasl_mechanisms: Sequence[str] = (),
        sasl_factory: Callable[[str], ServerMechanism] | None = None,
        login_requires_tls: bool = False,
        expire: str | None = None,
        login_delay: str | None = None,
        implementation: str | None = None,
        normalize_newlines: bool = False,
    ) -> None:
        self.limits = limits if limits is not None else POP3Limits()
        self._user_pass = user_pass
        self._stls = stls
        #: True once the session is encrypted (implicit TLS or after STLS).
        self.tls_active = tls_active
        self._sasl_names = tuple(m.upper() for m in sasl_mechanisms)
        self._sasl_factory = sasl_factory if sasl_factory is not None else server_mechanism
        #: Hide and refuse USER/PASS and plaintext SASL mechanisms until TLS
        #: is active (see the class docs).
        self.login_requires_tls = login_requires_tls
        # The offered mechanisms that send the password in clear: worked out
        # on first use (or now, with login_requires_tls, so that a name the
        # factory cannot make fails at construction, not at the first CAPA).
        self._plaintext_names: frozenset[str] | None = None
        if login_requires_tls:
            self._plaintext_mechanisms()
        self._expire = expire
        self._login_delay = login_delay
        self._implementation = implementation
        self._normalize = normalize_newlines
        self._session = SessionState()
        self._buf = ReceiveBuffer()
        self._out = bytearray()
        self._eof = False
        self._errors = 0
        # The verb whose answer the application owes, or None.
        self._owed: str | None = None
        self._pending_events: deque[Event] = deque()
        self._sasl: ServerMechanism | None = None
        self._stream: _Outgoing | None = None
        self._messages: tuple[MessageInfo, ...] = ()
        self._deleted: set[int] = set()
        #: The APOP timestamp sent in the greeting, or ``None``.
        self.apop_timestamp: str | None = None
        #: The user name of the pending USER/PASS pair, then of the session.
        self.user: str | None = None
        # The largest input buffered while the application owes an answer:
        # every pipelined command could be as long as the longest allowed line.
        self._max_buffered = self.limits.pipelined_commands * self.limits.command_line_length
        # Validate the advertised values now rather than at the first CAPA.
        self.capabilities.to_lines()

    # -- public state ------------------------------------------------------

    @property
    def state(self) -> State:
        """The session state (:class:`State`)."""
        return self._session.state

    @property
    def owes_reply(self) -> bool:
        """True while the application must answer the last event."""
        return self._owed is not None or self._session.state is State.GREETING

    @property
    def wants_message_data(self) -> bool:
        """False once a TOP answer has all the lines it needs: the rest of
        the message may be skipped (send :class:`MessageEnd`)."""
        stream = self._stream
        return stream is not None and (stream.cutter is None or not stream.cutter.done)

    @property
    def capabilities(self) -> Capabilities:
        """What CAPA answers now (STLS disappears once TLS is active; with
        ``login_requires_tls``, USER and plaintext SASL mechanisms appear
        only then)."""
        sasl_names = self._sasl_names
        plain_ok = self._plaintext_allowed()
        if not plain_ok:
            hidden = self._plaintext_mechanisms()
            sasl_names = tuple(name for name in sasl_names if name not in hidden)
        return Capabilities(
            top=True,
            user=self._user_pass and plain_ok,
            sasl=sasl_names,
            resp_codes=True,
            auth_resp_code=True,
            pipelining=True,
            uidl=True,
            stls=self._stls and not self.tls_active,
            expire=self._expire,
            login_delay=self._login_delay,
            implementation=self._implementation,
        )

    def _plaintext_allowed(self) -> bool:
        # A password crosses the wire in clear only when the application
        # allows it or the wire is encrypted (RFC 4616 §6 for PLAIN).
        return self.tls_active or not self.login_requires_tls

    def _plaintext_mechanisms(self) -> frozenset[str]:
        names = self._plaintext_names
        if names is None:
            names = self._plaintext_names = frozenset(
                name for name in self._sasl_names if self._sends_password(name)
            )
        return names

    def _sends_password(self, name: str) -> bool:
        try:
            return is_plaintext(name)
        except LocalProtocolError:
            # A mechanism only the application's factory knows: its class
            # says (ServerMechanism.plaintext, False unless it sets it).  A
            # registered name goes by its registered class, whatever the
            # factory makes of it: PLAIN stays plaintext.
            return bool(self._sasl_factory(name).plaintext)

    def _plaintext_refusal(self) -> str:
        return _PLAINTEXT_NEEDS_STLS if self._stls else _PLAINTEXT_NEEDS_TLS

    @property
    def maildrop(self) -> tuple[MessageInfo, ...]:
        """The listing the application supplied at login."""
        return self._messages

    @property
    def deleted(self) -> frozenset[int]:
        """Message numbers currently marked deleted."""
        return frozenset(self._deleted)

    # -- bytes in / out ------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the client; ``b""`` means it closed the connection."""
        if not data:
            self._eof = True
            return
        if self._session.state is State.TLS_HANDSHAKE:
            # These are TLS records or an attacker's injection: never
            # commands (RFC 2595 §4).  Keep nothing.
            return
        self._buf.append(data)
        if len(self._buf) > self._max_buffered:
            self._session.fail()
            raise LimitExceeded(
                "too much pipelined input",
                limit="pipelined_commands",
                bound=self.limits.pipelined_commands,
                hint=ReplyHint(text="too many pipelined commands"),
            )

    def data_to_send(self) -> bytes:
        """Bytes to write to the client (possibly ``b""``); clears the queue."""
        out = bytes(self._out)
        self._out.clear()
        return out

    def start_tls_done(self) -> None:
        """The TLS handshake after STLS finished: resume in AUTHORIZATION."""
        if self._session.state is not State.TLS_HANDSHAKE:
            raise LocalProtocolError("start_tls_done() without a pending STLS")
        self._buf.take_all()  # RFC 2595 §4: nothing from before the handshake
        self._session.complete("TLS_DONE", OK)
        self.tls_active = True

    # -- events ----------------------------------------------------------------

    def next_event(self) -> Event | Sentinel:
        """The next command or report from the client, or NEED_DATA/PAUSED."""
        if self._pending_events:
            return self._pending_events.popleft()
        state = self._session.state
        if state is State.ERROR:
            raise RemoteProtocolError("the connection failed earlier")
        if state is State.CLOSED:
            return ConnectionClosed()
        if self._owed is not None or state in (State.GREETING, State.TLS_HANDSHAKE):
            return PAUSED
        while True:
            try:
                line = self._buf.next_line(
                    self.limits.auth_line_length,
                    limit="auth_line_length",
                    hint=ReplyHint(text=_LINE_TOO_LONG),
                )
            except LimitExceeded:
                self._session.fail()
                raise
            if line is None:
                if self._eof:
                    # RFC 1939 §6: a session that ends without QUIT never
                    # enters UPDATE, so nothing is deleted.
                    self._session.close()
                    self._sasl = None
                    return ConnectionClosed()
                return NEED_DATA
            if self._session.state is State.SASL:
                event = self._sasl_line(line)
            else:
                event = self._command_line(line)
            if event is not None:
                return event
            if self._pending_events:
                return self._pending_events.popleft()
            if self._waiting_for_application():
                return PAUSED

    def _waiting_for_application(self) -> bool:
        # A method rather than an inline test: handling a line may set
        # _owed, which a type checker would not see inside the loop.
        return self._owed is not None

    def _command_line(self, line: bytes) -> Event | None:
        if len(line) > self.limits.command_line_length and not line[:5].upper().startswith(
            b"AUTH "
        ):
            # RFC 2449 §4: commands are at most 255 octets.  AUTH lines may
            # be longer (RFC 5034 §4): they are bounded by auth_line_length.
            return self._bad("", _LINE_TOO_LONG)
        parsed = parse_command(line)
        if isinstance(parsed, CommandError):
            return self._bad(parsed.verb, parsed.reason)
        verb = "AUTH" if isinstance(parsed, AuthCommand) else command_verb(parsed)
        assert verb is not None
        session = self._session
        if not session.allowed(verb):
            return self._bad(verb, _BAD_STATE)
        if isinstance(parsed, AuthCommand):
            return self._start_auth(parsed)
        assert isinstance(parsed, Event)
        return self._dispatch(verb, parsed)

    def _dispatch(self, verb: str, cmd: Event) -> Event | None:
        session = self._session
        if isinstance(cmd, User):
            if not self._user_pass:
                return self._bad(verb, _UNKNOWN)
            if not self._plaintext_allowed():
                # Refused at USER, so that a client that checks the answer
                # never sends PASS (Dovecot does the same).
                return self._bad(verb, self._plaintext_refusal(), ResponseCode.AUTH)
            session.begin(verb)
            self.user = cmd.name
            self._reply(verb, True, "")
            return cmd
        if isinstance(cmd, Pass):
            if not self._plaintext_allowed():
                # Only if login_requires_tls was set after USER was accepted.
                self.user = None
                return self._bad(verb, self._plaintext_refusal(), ResponseCode.AUTH)
            session.begin(verb)
            self._owed = verb
            return cmd
        if isinstance(cmd, Apop):
            if self.apop_timestamp is None:
                return self._bad(verb, "APOP not available")
            session.begin(verb)
            self.user = cmd.name
            self._owed = verb
            return cmd
        if isinstance(cmd, Capa):
            session.begin(verb)
            self._write_status(True, "Capability list follows", None)
            self._out += write_listing(
                line.encode("utf-8") for line in self.capabilities.to_lines()
            )
            session.complete(verb, OK)
            return cmd
        if isinstance(cmd, Stls):
            if not self._stls or self.tls_active:
                return self._bad(verb, "TLS not available" if self._stls else _UNKNOWN)
            session.begin(verb)
            self._reply(verb, True, "Begin TLS negotiation")
            # Anything pipelined after STLS is discarded (RFC 2595 §4).
            self._buf.take_all()
            return cmd
        if isinstance(cmd, Quit):
            session.begin(verb)
            if session.state is State.UPDATE:
                deleted = tuple(sorted(self._deleted))
                self._owed = verb
                return Update(
                    deleted=deleted, uids=tuple(self._messages[n - 1].uid for n in deleted)
                )
            self._reply(verb, True, "bye")
            return cmd
        if isinstance(cmd, Stat):
            session.begin(verb)
            count = len(self._messages) - len(self._deleted)
            size = sum(m.size for i, m in enumerate(self._messages, 1) if i not in self._deleted)
            self._reply(verb, True, f"{count} {size}")
            return cmd
        if isinstance(cmd, Noop):
            session.begin(verb)
            self._reply(verb, True, "")
            return cmd
        if isinstance(cmd, Rset):
            session.begin(verb)
            self._deleted.clear()
            self._reply(verb, True, f"maildrop has {len(self._messages)} messages")
            return cmd
        if isinstance(cmd, (List, Uidl)):
            if cmd.msg is not None:
                problem = self._check_msg(cmd.msg)
                if problem:
                    return self._bad(verb, problem)
                session.begin(verb)
                info = self._messages[cmd.msg - 1]
                value = str(info.size) if isinstance(cmd, List) else info.uid
                self._reply(verb, True, f"{cmd.msg} {value}")
                return cmd
            session.begin(verb)
            live = [(i, m) for i, m in enumerate(self._messages, 1) if i not in self._deleted]
            if isinstance(cmd, List):
                self._write_status(True, f"{len(live)} messages", None)
                body = [b"%d %d" % (i, m.size) for i, m in live]
            else:
                self._write_status(True, "", None)
                body = [b"%d %s" % (i, m.uid.encode("ascii")) for i, m in live]
            self._out += write_listing(body)
            session.complete(verb, OK)
            return cmd
        if isinstance(cmd, Dele):
            problem = self._check_msg(cmd.msg)
            if problem:
                return self._bad(verb, problem)
            session.begin(verb)
            self._deleted.add(cmd.msg)
            self._reply(verb, True, f"message {cmd.msg} deleted")
            return cmd
        if isinstance(cmd, (Retr, Top)):
            problem = self._check_msg(cmd.msg)
            if problem:
                return self._bad(verb, problem)
            session.begin(verb)
            self._owed = verb
            self._stream = _Outgoing(
                verb=verb,
                msg=cmd.msg,
                stuffer=DotStuffer(normalize_newlines=self._normalize),
                cutter=_TopCutter(cmd.lines) if isinstance(cmd, Top) else None,
            )
            return cmd
        raise AssertionError(f"unhandled command {verb}")  # pragma: no cover

    def _check_msg(self, msg: int) -> str | None:
        # RFC 1939 §5: a message number beyond the maildrop, or one marked
        # deleted, must get -ERR.
        if msg > len(self._messages):
            return _NO_SUCH_MESSAGE
        if msg in self._deleted:
            return _DELETED
        return None

    def _bad(self, verb: str, reason: str, code: str | None = None) -> Event:
        self._errors += 1
        if self._errors > self.limits.errors:
            self._session.fail()
            self._write_status(False, _TOO_MANY_ERRORS, None)
            raise LimitExceeded(
                _TOO_MANY_ERRORS,
                limit="errors",
                bound=self.limits.errors,
                hint=ReplyHint(text=_TOO_MANY_ERRORS),
            )
        self._session.reject()
        self._write_status(False, reason, code)
        return CommandRejected(command=verb, reason=reason)

    # -- AUTH ----------------------------------------------------------------

    def _start_auth(self, cmd: AuthCommand) -> Event | None:
        if cmd.mechanism not in self._sasl_names:
            return self._bad("AUTH", _AUTH_UNSUPPORTED)
        if not self._plaintext_allowed() and cmd.mechanism in self._plaintext_mechanisms():
            # Refused before the exchange starts: without an initial
            # response the password has not been sent yet, and is not asked
            # for.  (With one it already crossed; it is not looked at.)
            return self._bad("AUTH", self._plaintext_refusal(), ResponseCode.AUTH)
        self._session.begin("AUTH")
        mech = self._sasl_factory(cmd.mechanism)
        self._sasl = mech
        try:
            initial = None if cmd.initial is None else decode_response(cmd.initial, initial=True)
            step = mech.step(initial)
        except SASLError as exc:
            return self._auth_error(exc)
        return self._sasl_step(step)

    def _sasl_line(self, line: bytes) -> Event | None:
        mech = self._sasl
        assert mech is not None
        if len(line) > self.limits.auth_line_length:  # pragma: no cover - bounded by next_line
            return self._auth_error(SASLError(_AUTH_LIMIT_TEXT))
        try:
            step = mech.step(decode_response(line))
        except SASLError as exc:
            return self._auth_error(exc)
        return self._sasl_step(step)

    def _auth_error(self, exc: SASLError) -> Event:
        mech = self._sasl
        name = mech.name if mech is not None else ""
        self._sasl = None
        cancelled = isinstance(exc, SASLCancelled)
        text = _AUTH_CANCELLED if cancelled else _AUTH_MALFORMED
        self._write_status(False, text, None)
        self._session.complete("AUTH", ERR)
        if not cancelled:
            self._errors += 1
        return AuthFailed(mechanism=name, reason="cancelled" if cancelled else str(exc))

    def _sasl_step(self, step: Step) -> Event | None:
        mech = self._sasl
        assert mech is not None
        if isinstance(step, Challenge):
            self._out += b"+ " + encode_challenge(step.data) + CRLF
            self._session.complete("AUTH", CONTINUE)
            return None
        if isinstance(step, Question):
            self._owed = "SASL"
            return AuthQuestion(question=step)
        if isinstance(step, Success):
            self._owed = "AUTH"
            self.user = step.authcid
            return Authenticated(mechanism=mech.name, authcid=step.authcid, authzid=step.authzid)
        assert isinstance(step, Failure)
        self._sasl = None
        # RFC 3206 §4: [AUTH] says the credentials were wrong, not the system.
        self._write_status(False, _AUTH_FAILED, ResponseCode.AUTH)
        self._session.complete("AUTH", ERR)
        return AuthFailed(mechanism=mech.name, reason=step.reason)

    # -- answers -------------------------------------------------------------

    def _write_status(self, ok: bool, text: str, code: str | None) -> None:
        self._out += write_status(ok, text, code, self.limits.response_line_length)

    def _reply(self, verb: str, ok: bool, text: str, code: str | None = None) -> None:
        self._write_status(ok, text, code)
        self._session.complete(verb, OK if ok else ERR)

    def send(self, event: Event) -> None:
        """Queue the application's answer (see the class docs for which)."""
        state = self._session.state
        owed = self._owed
        if state is State.GREETING:
            if isinstance(event, Greeting):
                text = event.text
                if event.timestamp is not None:
                    text = f"{text} {event.timestamp}" if text else event.timestamp
                self._write_status(True, text, None)
                self.apop_timestamp = event.timestamp
                self._session.complete("GREETING", OK)
                return
            if isinstance(event, ErrResponse):
                self._write_status(False, event.text, event.code)
                self._session.complete("GREETING", ERR)
                return
            raise LocalProtocolError("the server must send a Greeting (or ErrResponse) first")
        if owed in ("PASS", "APOP", "AUTH"):
            if isinstance(event, Maildrop):
                if len(event.messages) > self.limits.listing_entries:
                    raise LocalProtocolError("maildrop has more messages than listing_entries")
                text = event.text or f"maildrop has {len(event.messages)} messages"
                self._write_status(True, text, None)
                self._messages = event.messages
                self._deleted = set()
                # RFC 2449 §§6.5, 6.7: per-user values replace "n USER".
                if event.expire is not None:
                    self._expire = event.expire
                if event.login_delay is not None:
                    self._login_delay = event.login_delay
                self._finish(owed, OK)
                return
            if isinstance(event, ErrResponse):
                self._write_status(False, event.text, event.code)
                self.user = None
                self._finish(owed, ERR)
                return
            raise LocalProtocolError(f"answer {owed} with Maildrop or ErrResponse")
        if owed == "SASL":
            if not isinstance(event, AuthAnswer):
                raise LocalProtocolError("answer a AuthQuestion with AuthAnswer")
            mech = self._sasl
            assert mech is not None
            step = mech.answer(event.answer)
            self._owed = None
            result = self._sasl_step(step)
            if result is not None:
                self._pending_events.append(result)
            return
        if owed == "QUIT":
            if isinstance(event, (OkResponse, ErrResponse)):
                self._write_status(isinstance(event, OkResponse), event.text, event.code)
                self._finish(owed, OK if isinstance(event, OkResponse) else ERR)
                return
            raise LocalProtocolError("answer Update with OkResponse or ErrResponse")
        if owed in ("RETR", "TOP"):
            self._send_message_part(owed, event)
            return
        raise LocalProtocolError(f"no answer is owed now; cannot send {type(event).__name__}")

    def _finish(self, verb: str, result: Result) -> None:
        self._owed = None
        if verb == "AUTH":
            self._sasl = None
        self._session.complete(verb, result)

    def _send_message_part(self, verb: str, event: Event) -> None:
        stream = self._stream
        assert stream is not None
        if isinstance(event, ErrResponse):
            if stream.status_sent:
                raise LocalProtocolError("cannot send -ERR in the middle of a message")
            self._write_status(False, event.text, event.code)
            self._stream = None
            self._finish(verb, ERR)
            return
        if isinstance(event, OkResponse):
            if stream.status_sent:
                raise LocalProtocolError("the +OK line was already sent")
            self._write_status(True, event.text, event.code)
            stream.status_sent = True
            return
        if not isinstance(event, (MessageData, MessageEnd)):
            raise LocalProtocolError(f"answer {verb} with MessageData/MessageEnd or ErrResponse")
        if not stream.status_sent:
            size = self._messages[stream.msg - 1].size
            text = f"{size} octets" if verb == "RETR" else "top of message follows"
            self._write_status(True, text, None)
            stream.status_sent = True
        if isinstance(event, MessageData):
            data = event.data
            if stream.cutter is not None:
                data = stream.cutter.feed(data)
            if data:
                self._out += stream.stuffer.stuff(data)
            return
        self._out += stream.stuffer.end()
        self._stream = None
        self._finish(verb, OK)


# ---------------------------------------------------------------------------
# Client.


@attrs.define
class _InFlight:
    """A command written (or queued) whose answer has not fully arrived."""

    verb: str
    event: Event
    #: The bytes of the command line (written when allowed).
    line: bytes
    #: AUTH: an initial response too long for the command line, sent as the
    #: answer to the first (empty) challenge instead.
    held_response: bytes | None = None


class _Listing:
    """Collects a multi-line CAPA/LIST/UIDL body."""

    __slots__ = ("items", "text", "verb")

    def __init__(self, verb: str, text: str) -> None:
        self.verb = verb
        self.text = text
        self.items: list[bytes] = []


class ClientConnection:
    """The client side of one POP3 session.

    Send commands (:class:`User`, :class:`Pass`, :class:`Retr`, ...) with
    :meth:`send`; read typed answers with :meth:`next_event`: first
    :class:`Greeting` (or :class:`ErrResponse`), then one answer per command,
    in order — :class:`OkResponse`/:class:`ErrResponse`, or for STAT, LIST,
    UIDL and CAPA their typed responses, and for RETR/TOP an
    :class:`OkResponse` followed by :class:`MessageData` pieces and
    :class:`MessageEnd`.

    The client refuses to send what the server said it cannot take
    (:class:`~mailproto.errors.LocalProtocolError` from :meth:`send`,
    h11-style: the library does not send what the peer said it cannot take):

    * ``USER`` (and so ``PASS``) when the last CAPA answer did not list
      ``USER`` (RFC 2449 §6.2: the USER capability says USER/PASS are
      supported);
    * ``AUTH`` with a mechanism the last CAPA answer's ``SASL`` list does
      not name, or any ``AUTH`` when it had no ``SASL`` line (RFC 2449
      §6.3);
    * ``STLS`` when the last CAPA answer did not list ``STLS`` (RFC 2595
      §4);
    * ``TOP`` / ``UIDL`` when a CAPA answered *in the TRANSACTION state*
      did not list them (RFC 2449 §6.1, §6.8).  A CAPA answered before
      login does not count for these: RFC 2449 §5 only requires what is
      available before login to be announced in both states, so a server
      may announce more after authentication, and TOP and UIDL are never
      available before login;
    * ``APOP`` when the greeting carried no timestamp (RFC 1939 §7: a
      server that supports APOP puts one there; without it no digest can
      be computed).

    Except for APOP, the rule only applies once CAPA has been *answered*:
    when it was never sent, is still in flight, failed (``-ERR``: an RFC
    1939-only server), or was forgotten after STLS (RFC 2595 §4: send CAPA
    again), the client cannot know, and sends the command.
    """

    def __init__(self, *, limits: POP3Limits | None = None) -> None:
        self.limits = limits if limits is not None else POP3Limits()
        self._session = SessionState()
        self._buf = ReceiveBuffer()
        self._out = bytearray()
        self._eof = False
        # Commands written whose answers have not fully arrived, oldest
        # first, and commands sent but held back by the pipelining rules.
        self._inflight: deque[_InFlight] = deque()
        self._queued: deque[_InFlight] = deque()
        # The state the session will be in once every command in flight
        # succeeds: send() checks new commands against it, so a client may
        # pipeline USER, PASS, STAT... in one go.
        self._projected = State.GREETING
        self._listing: _Listing | None = None
        self._reader: DotBlockReader | None = None
        self._sasl: ClientMechanism | None = None
        self._sasl_aborted = False
        self._sasl_held: bytes | None = None
        #: Why the client cancelled the last AUTH exchange (the server's
        #: challenge was malformed, or a SCRAM server failed to prove
        #: itself), or ``None``.  The answer itself is the server's ``-ERR``.
        self.sasl_error: SASLError | None = None
        #: The server greeting, once received.
        self.greeting: Greeting | None = None
        #: The server's capabilities from the last CAPA (reset by STLS).
        self.capabilities: Capabilities | None = None
        # The state the last CAPA was answered in (see _unsupported).
        self._capa_state: State | None = None
        #: True once the session is encrypted (after :meth:`start_tls_done`).
        self.tls_active = False

    # -- public state ------------------------------------------------------

    @property
    def state(self) -> State:
        """The session state as far as answers have arrived."""
        return self._session.state

    @property
    def apop_timestamp(self) -> str | None:
        """The greeting's APOP timestamp (build :class:`Apop` with it)."""
        return self.greeting.timestamp if self.greeting is not None else None

    @property
    def pending_commands(self) -> int:
        """Commands sent whose answers have not been fully received."""
        return len(self._inflight) + len(self._queued)

    # -- bytes -----------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the server; ``b""`` means it closed the connection."""
        if not data:
            self._eof = True
            return
        if self._session.state is State.TLS_HANDSHAKE:
            return  # never interpreted (see the module docs)
        self._buf.append(data)

    def data_to_send(self) -> bytes:
        """Bytes to write to the server (possibly ``b""``); clears the queue."""
        out = bytes(self._out)
        self._out.clear()
        return out

    def start_tls_done(self) -> None:
        """The TLS handshake after STLS finished; the session resumes.

        Capabilities learnt before TLS are forgotten (RFC 2595 §4): send
        :class:`Capa` again.
        """
        if self._session.state is not State.TLS_HANDSHAKE:
            raise LocalProtocolError("start_tls_done() without an accepted STLS")
        self._buf.take_all()
        self._session.complete("TLS_DONE", OK)
        self._projected = self._session.state
        self.capabilities = None
        self._capa_state = None
        self.tls_active = True
        self._flush()

    # -- commands --------------------------------------------------------------

    def send(self, event: Event) -> None:
        """Queue a command.  Raises :class:`LocalProtocolError` if the session
        (assuming every command before it succeeds) does not allow it."""
        if isinstance(event, Auth):
            verb = "AUTH"
        else:
            found = command_verb(event)
            if found is None:
                raise LocalProtocolError(f"{type(event).__name__} is not a POP3 command")
            verb = found
        if self._session.state in (State.CLOSED, State.ERROR):
            raise LocalProtocolError("the session is over")
        if verb == "STLS" and self.tls_active:
            raise LocalProtocolError("TLS is already active")
        target = SessionState.after(self._projected, verb, OK)
        if target is None:
            raise LocalProtocolError(f"{verb} is not allowed in state {self._projected.name}")
        refusal = self._unsupported(verb, event)
        if refusal is not None:
            raise LocalProtocolError(refusal)
        if self.pending_commands >= self.limits.pipelined_commands:
            raise LocalProtocolError("too many commands in flight (pipelined_commands)")
        held = None
        if isinstance(event, Auth):
            line, held = self._auth_line(event)
        else:
            line = write_command(event, self.limits.command_line_length)
        self._projected = target
        self._queued.append(_InFlight(verb=verb, event=event, line=line, held_response=held))
        self._flush()

    def _unsupported(self, verb: str, event: Event) -> str | None:
        """Why the server said it cannot take this command, or None.

        The rule is in the class docstring: only what the server *said*
        counts (the last answered CAPA, the greeting's timestamp), never a
        guess.
        """
        if verb == "APOP":
            # A command is only allowed past GREETING, so the greeting is in.
            if self.greeting is not None and self.greeting.timestamp is None:
                return "APOP: the server greeting has no timestamp (RFC 1939 §7)"
            return None
        caps = self.capabilities
        if caps is None:
            return None  # no CAPA answer (never sent, in flight, -ERR, or after STLS)
        if verb == "USER":
            if not caps.user:
                return "USER: the server's CAPA answer does not list USER (RFC 2449 §6.2)"
        elif verb == "AUTH":
            assert isinstance(event, Auth)
            name = event.mechanism.name.upper()
            if name not in caps.sasl:
                listed = " ".join(caps.sasl) if caps.sasl else "no SASL capability"
                return (
                    f"AUTH {name}: not among the server's SASL mechanisms ({listed}) "
                    "in its CAPA answer (RFC 2449 §6.3)"
                )
        elif verb == "STLS":
            if not caps.stls:
                return "STLS: the server's CAPA answer does not list STLS (RFC 2595 §4)"
        elif verb in ("TOP", "UIDL") and self._capa_state is State.TRANSACTION:
            if not (caps.top if verb == "TOP" else caps.uidl):
                section = "6.1" if verb == "TOP" else "6.8"
                return (
                    f"{verb}: the server's CAPA answer after login does not list {verb} "
                    f"(RFC 2449 §{section})"
                )
        return None

    def _auth_line(self, event: Auth) -> tuple[bytes, bytes | None]:
        """The AUTH line, and an initial response held back for the first
        (empty) challenge because it did not fit on the line."""
        mech = event.mechanism
        line = b"AUTH " + mech.name.encode("ascii")
        held = None
        if event.initial_response:
            ir = mech.initial_response()
            if ir is not None:
                encoded = encode_response(ir, initial=True)
                # RFC 5034 §4: a command line with the initial response must
                # fit in 255 octets; otherwise the client waits for the
                # server's empty challenge and sends it there.
                if len(line) + 1 + len(encoded) + 2 <= self.limits.command_line_length:
                    line += b" " + encoded
                else:
                    held = ir
        return line + CRLF, held

    def _flush(self) -> None:
        """Write queued commands the pipelining rules allow now.

        Written commands move from ``_queued`` to ``_inflight``; the rules
        look only at the newest written command, so each call is O(number
        of commands it writes).
        """
        queued = self._queued
        if not queued or self._session.state is State.TLS_HANDSHAKE:
            return
        inflight = self._inflight
        pipelining = self.capabilities is not None and self.capabilities.pipelining
        while queued:
            item = queued[0]
            if inflight:
                # Nothing follows STLS or AUTH until its exchange ends (RFC
                # 2595 §4, RFC 5034 §4); other commands only with PIPELINING.
                if inflight[-1].verb in ("AUTH", "STLS"):
                    return
                if not pipelining or item.verb in ("AUTH", "STLS"):
                    return
            queued.popleft()
            inflight.append(item)
            self._out += item.line
            if item.verb == "AUTH":
                event = item.event
                assert isinstance(event, Auth)
                self._sasl = event.mechanism
                self._sasl_held = item.held_response
                self._sasl_aborted = False
                self.sasl_error = None

    # -- answers ---------------------------------------------------------------

    def next_event(self) -> Event | Sentinel:
        """The next answer from the server, or NEED_DATA/PAUSED."""
        session = self._session
        state = session.state
        if state is State.ERROR:
            raise RemoteProtocolError("the connection failed earlier")
        try:
            return self._next_event()
        except RemoteProtocolError:
            session.fail()
            raise

    def _next_event(self) -> Event | Sentinel:
        state = self._session.state
        if state is State.CLOSED:
            return ConnectionClosed()
        if state is State.TLS_HANDSHAKE:
            return PAUSED
        if self._reader is not None:
            return self._read_message()
        if self._listing is not None:
            return self._read_listing()
        line = self._buf.next_line(self.limits.response_line_length, limit="response_line_length")
        if line is None:
            return self._no_line()
        if not line.endswith(CRLF):
            raise RemoteProtocolError("response line not terminated by CRLF")
        if state is State.GREETING:
            return self._greeting(line)
        if not self._inflight:
            raise RemoteProtocolError("response received with no command outstanding")
        current = self._inflight[0]
        if line.startswith(b"+ ") or line == b"+\r\n":
            if current.verb != "AUTH":
                raise RemoteProtocolError("continuation line outside AUTH")
            self._sasl_challenge(line)
            return self._next_event()
        status = parse_status(line)
        return self._answer(current, status)

    def _no_line(self) -> Event | Sentinel:
        if self._eof:
            if len(self._buf):
                raise RemoteProtocolError("connection closed in the middle of a response")
            self._session.close()
            self._inflight.clear()
            self._queued.clear()
            return ConnectionClosed()
        return NEED_DATA

    def _greeting(self, line: bytes) -> Event:
        status = parse_status(line)
        if not status.ok:
            self._session.complete("GREETING", ERR)
            self._projected = self._session.state
            return ErrResponse(text=status.text, code=status.code)
        timestamp = parse_greeting_timestamp(status.rest)
        text = status.text
        if timestamp is not None:
            text = text.replace(timestamp, "").strip()
        self.greeting = Greeting(text=text, timestamp=timestamp)
        self._session.complete("GREETING", OK)
        self._projected = self._session.state
        self._flush()
        return self.greeting

    def _sasl_challenge(self, line: bytes) -> None:
        mech = self._sasl
        if mech is None:
            raise RemoteProtocolError("SASL challenge with no exchange in progress")
        if self._session.state is not State.SASL:
            self._session.begin("AUTH")
            self._session.complete("AUTH", CONTINUE)
        payload = strip_eol(line)[2:]
        if self._sasl_aborted:
            raise RemoteProtocolError("server continued AUTH after the client cancelled")
        try:
            challenge = decode_challenge(payload)
            held, self._sasl_held = self._sasl_held, None
            if held is not None:
                if challenge:
                    raise SASLError("expected an empty first challenge")
                response = held
            else:
                response = mech.respond(challenge)
        except SASLError as exc:
            # RFC 5034 §4: the client cancels with "*"; the server answers
            # -ERR, which we then report.
            self.sasl_error = exc
            self._sasl_aborted = True
            self._out += b"*" + CRLF
            return
        encoded = encode_response(response)
        if len(encoded) + 2 > self.limits.auth_line_length:
            raise LocalProtocolError("SASL response longer than auth_line_length")
        self._out += encoded + CRLF

    def _answer(self, current: _InFlight, status: Status) -> Event | Sentinel:
        verb = current.verb
        session = self._session
        if session.state is not State.SASL:
            if not session.allowed(verb):
                # Pipelined behind a command that failed (a wrong PASS): the
                # server must refuse it too, and the state does not move.
                if status.ok:
                    raise RemoteProtocolError(
                        f"server accepted {verb} in state {session.state.name}"
                    )
                self._inflight.popleft()
                self._after_answer()
                return ErrResponse(text=status.text, code=status.code)
            session.begin(verb)
        if not status.ok:
            self._done(verb, ERR)
            return ErrResponse(text=status.text, code=status.code)
        cmd = current.event
        if verb == "AUTH":
            mech = self._sasl
            assert mech is not None
            if self._sasl_aborted:
                raise RemoteProtocolError("server accepted AUTH that the client cancelled")
            mech.verify_final(None)  # SCRAM: the server must have proved itself
            self._done(verb, OK)
            return OkResponse(text=status.text, code=status.code)
        if isinstance(cmd, Stat):
            stat = parse_stat(status.rest)
            self._done(verb, OK)
            return stat
        if isinstance(cmd, (List, Uidl)) and cmd.msg is not None:
            if isinstance(cmd, List):
                entry = parse_scan_line(status.rest)
                self._done(verb, OK)
                return ListResponse(entries=(entry,))
            uid_entry = parse_uid_line(status.rest)
            self._done(verb, OK)
            return UidlResponse(entries=(uid_entry,))
        if isinstance(cmd, (Capa, List, Uidl)):
            # The listing's lines follow; they are read on the next call.
            self._listing = _Listing(verb, status.text)
            return self._read_listing()
        if isinstance(cmd, (Retr, Top)):
            # Bare CR/LF inside a message is data for a client: no scan.
            self._reader = DotBlockReader(max_chunk=self.limits.data_chunk_size, detect_bare=False)
            return OkResponse(text=status.text, code=status.code)
        if isinstance(cmd, Stls):
            self._done(verb, OK)
            # Discard anything the server (or a man in the middle) sent
            # after +OK: it cannot be part of the TLS handshake we will do.
            self._buf.take_all()
            return OkResponse(text=status.text, code=status.code)
        self._done(verb, OK)
        return OkResponse(text=status.text, code=status.code)

    def _done(self, verb: str, result: Result) -> None:
        self._inflight.popleft()
        if verb == "AUTH":
            self._sasl = None
            self._sasl_held = None
        self._session.complete(verb, result)
        self._after_answer()

    def _after_answer(self) -> None:
        if not self._inflight and not self._queued:
            # Resynchronise the projection with reality (a failed PASS).
            self._projected = self._session.state
        self._flush()

    def _read_listing(self) -> Event | Sentinel:
        listing = self._listing
        assert listing is not None
        limits = self.limits
        while True:
            line = self._buf.next_line(limits.listing_line_length, limit="listing_line_length")
            if line is None:
                if self._eof:
                    raise RemoteProtocolError("connection closed in the middle of a response")
                return NEED_DATA
            if not line.endswith(CRLF):
                raise RemoteProtocolError("listing line not terminated by CRLF")
            if line == b".\r\n":
                break
            if len(listing.items) >= limits.listing_entries:
                raise LimitExceeded(
                    "too many lines in a listing",
                    limit="listing_entries",
                    bound=limits.listing_entries,
                )
            body = line[:-2]
            if body[:1] == b".":
                body = body[1:]  # RFC 1939 §3 byte-stuffing
            listing.items.append(body)
        self._listing = None
        verb = listing.verb
        event: Event
        if verb == "CAPA":
            caps = build_capabilities([parse_capa_line(item) for item in listing.items])
            self.capabilities = caps
            self._capa_state = self._session.state
            event = CapaResponse(capabilities=caps, text=listing.text)
        elif verb == "LIST":
            event = ListResponse(
                entries=tuple(parse_scan_line(item) for item in listing.items), text=listing.text
            )
        else:
            event = UidlResponse(
                entries=tuple(parse_uid_line(item) for item in listing.items), text=listing.text
            )
        self._done(verb, OK)
        return event

    def _read_message(self) -> Event | Sentinel:
        reader = self._reader
        assert reader is not None
        piece = reader.read(self._buf)
        if piece is None:
            if self._eof:
                raise RemoteProtocolError("connection closed in the middle of a message")
            return NEED_DATA
        if piece:
            # When the terminator came with this piece the reader is done
            # and the next read() returns b"": MessageEnd on the next call.
            return MessageData(data=piece)
        self._reader = None
        self._done(self._inflight[0].verb, OK)
        return MessageEnd()
