"""The IMAP server connection: commands in as events, typed responses out, no I/O.

The connection pattern of DESIGN.md::

    server = ServerConnection(capabilities=("IMAP4rev2", "IDLE"), auth_mechanisms=("PLAIN",))
    server.send(StatusResponse(tag=None, status="OK", text="ready"))   # the greeting
    server.receive_data(data)              # b"" when the client closed
    event = server.next_event()            # a command object, or a server event
    server.send(FetchResponse(seq=1, ...)) # untagged data
    server.send(StatusResponse(tag=event.tag, status="OK", text="done"))
    sock.sendall(server.data_to_send())

Theory of operation
-------------------
*What the connection does itself* (pure protocol, no policy): it frames
commands and answers each synchronising literal with ``+`` (RFC 9051 §7.5)
once it has judged the command (see *Literals* below); it refuses a literal
larger than :attr:`IMAPLimits.literal_size` with a
tagged ``NO [TOOBIG]`` *without reading its octets as commands* — the client
is still waiting for ``+`` and will not send them, so the next bytes are a
new command (the case imap-codec documents as dangerous: a server that
skips to the next CRLF would execute the literal's contents); it answers
``BAD`` to unparseable commands and to commands not valid in the current
state (:data:`~mailproto.imap._state.ALLOWED_STATES`) or not advertised,
``NO [PRIVACYREQUIRED]`` to LOGIN under LOGINDISABLED (RFC 9051 §6.2.3),
CAPABILITY (from its configuration, which changes with TLS and login) and
LOGOUT (``* BYE`` then OK, RFC 9051 §6.1.3); it runs AUTHENTICATE through a
:mod:`mailproto.sasl` server mechanism, asking the application each policy
question (:class:`SaslQuestion`).

*What the application does*: everything else.  Each command arrives as the
codec's command object (:class:`~mailproto.imap.commands.Fetch`, ...); the
application sends untagged data and then the tagged completion, as
:mod:`mailproto.imap.responses` values.  The connection serialises them and
checks them: a tagged response must name a command in flight; a ``+`` is
only valid to start IDLE; EXPUNGE (and VANISHED without EARLIER) may not be
sent while a FETCH, STORE or SEARCH (not the UID forms) is in flight
(RFC 9051 §7.5.1, RFC 7162 §3.2.10.2); no untagged data but BYE goes
between an AUTHENTICATE command and its tagged result (RFC 9051 §6.2.2: the
exchange is challenges and answers only); nothing follows a BYE.

*Literals.*  A literal is judged from the command's first line before the
server asks for it (``+``) or reads it: a client that is not logged in
must not be able to make the server buffer an APPEND it will refuse.  The
literal is refused when the command is unknown, not valid in the current
state (RFC 9051 §6: APPEND before login), one that takes no literal
(CAPABILITY, NOOP, ...), a second APPEND message without MULTIAPPEND
advertised (RFC 3502), a ``{n+}`` over 4096 octets without LITERAL+
(RFC 7888 §5), or when the command would exceed
:attr:`IMAPLimits.command_size` (:attr:`IMAPLimits.unauthenticated_command_size`
before login; ``NO [TOOBIG]``, RFC 9051 §7.1).  A synchronising literal
is refused by the tagged answer alone: the client never sends it.  A
non-synchronising one is already on its way: the command gets its tagged
``BAD`` at once, and its octets — and the rest of the command — are dropped
as they arrive, never buffered (RFC 7888 §4, first choice); the session
goes on.  A non-synchronising literal over :attr:`IMAPLimits.literal_size`
is refused the same way (``BAD [TOOBIG]``), whatever its size: only an
announced size that is not a number64 (RFC 9051 §9) loses framing for good.

*Ordering.*  Independent commands may be pipelined by the client and are
reported as soon as they are read, up to
:attr:`IMAPLimits.pipelined_commands` in flight.  Commands that change the
state or the stream (:data:`~mailproto.imap._state.BARRIERS`) are reported
only once every earlier command is answered, and nothing after one is read
until it is answered (``next_event()`` returns PAUSED): a SELECT's outcome
decides whether the FETCH behind it is valid.

*STARTTLS*: when the application answers OK, the connection drops whatever
the client sent after the command (pipelined plaintext must never be read
as if it came over TLS, RFC 9051 §11.1) and pauses until
:meth:`ServerConnection.start_tls_done`.  *COMPRESS*: the OK leaves
uncompressed, everything after it is deflated (RFC 4978 §3), and input is
inflated on demand with a bounded output size.  *IDLE*: the application
answers the IDLE command with a :class:`~mailproto.imap.responses.Continuation`,
pushes untagged updates whenever it likes, and gets :class:`IdleDone` when
the client sends ``DONE``.

Errors: a client that breaks framing (a line over the limit, a literal
size that is not a number64) gets ``* BYE`` queued and
``next_event()`` raises :class:`~mailproto.errors.RemoteProtocolError`;
flush :meth:`data_to_send` and close.  After :attr:`IMAPLimits.errors` bad
commands the same happens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mailproto._sentinels import NEED_DATA, PAUSED, Sentinel
from mailproto.errors import LimitExceeded, LocalProtocolError, RemoteProtocolError, ReplyHint
from mailproto.imap._connection import Input, Output
from mailproto.imap._events import (
    Authenticated,
    AuthFailed,
    BadCommand,
    ConnectionClosed,
    IdleDone,
    LiteralRequest,
    SaslAnswer,
    SaslQuestion,
)
from mailproto.imap._fragmentizer import LiteralAnnounced, RawMessage
from mailproto.imap._parser import ParseError, parse_authenticate_data, parse_command
from mailproto.imap._serializer import write_response
from mailproto.imap._state import (
    ALLOWED_STATES,
    BARRIERS,
    EXPUNGE_FORBIDDEN,
    Mode,
    SessionState,
    State,
    command_name,
    missing_capability,
    qresync_violation,
)
from mailproto.imap._writer import Writer
from mailproto.imap.types import ResponseCode
from mailproto.imap.types import commands as C
from mailproto.imap.types import responses as R
from mailproto.limits import IMAPLimits
from mailproto.sasl import (
    Challenge,
    Failure,
    Question,
    SASLCancelled,
    SASLError,
    ServerMechanism,
    Step,
    Success,
    encode_challenge,
    is_plaintext,
    server_mechanism,
)

__all__ = ["DEFAULT_CAPABILITIES", "ServerConnection", "ServerEvent"]

#: Everything :meth:`ServerConnection.next_event` can return besides sentinels.
ServerEvent = (
    C.Command
    | BadCommand
    | LiteralRequest
    | SaslQuestion
    | Authenticated
    | AuthFailed
    | IdleDone
    | ConnectionClosed
)

#: What a server built on this connection supports without extra work from
#: the application: the protocol revisions and the extensions the connection
#: itself implements.
DEFAULT_CAPABILITIES: tuple[str, ...] = (
    "IMAP4rev1",
    "IMAP4rev2",
    "LITERAL+",
    "SASL-IR",
    "ENABLE",
    "IDLE",
    "ID",
    "UNSELECT",
    "NAMESPACE",
    "UIDPLUS",
    "MOVE",
    "ESEARCH",
)

# Texts the server sends by itself, in one place.
_NOT_NOW = "Command not valid in this state"
_NOT_ADVERTISED = "Command not advertised"
_LITERAL_OK = "Ready for literal data"
_TOO_BIG = "Literal too large"
_LOGIN_DISABLED = "LOGIN is disabled before TLS"
_UNKNOWN_MECH = "Unsupported authentication mechanism"
_AUTH_FAILED = "Authentication failed"
_AUTH_CANCELLED = "Authentication cancelled"
_AUTH_MALFORMED = "Malformed SASL response"
_TOO_MANY_ERRORS = "Too many errors"
_LOGOUT = "Logging out"
_CAPABILITY_DONE = "CAPABILITY completed"
_DONE_UNEXPECTED = "DONE without IDLE"
_COMPRESS_ACTIVE = "Compression is already active"

#: RFC 7888 §5: the largest non-synchronising literal LITERAL- allows.
_LITERAL_MINUS_MAX = 4096

# The start of a command's first line, as the parser reads it: the tag, the
# command name (an X command, or letters) and, for UID, the word after it.
_COMMAND_HEAD = re.compile(
    rb"([!#$&',-\[\]^-z|}~]+) ([Xx][!#$&'+,\-./0-9:;<=>?@A-Z^_`a-z|~]+|[A-Za-z]+)"
    rb"(?: ([A-Za-z]+))?"
)
# APPEND whose mailbox is itself a literal: its first literal is no message.
_APPEND_MAILBOX_LITERAL = re.compile(rb"[^ ]+ [Aa][Pp][Pp][Ee][Nn][Dd] \{[0-9]+[+-]?\}\r?\n\Z")
#: What may follow UID (RFC 9051 §6.4.9, RFC 6851 §3.3, RFC 4315 §2.1).
_UID_COMMANDS = frozenset({"FETCH", "STORE", "COPY", "MOVE", "SEARCH", "EXPUNGE"})
#: Commands whose grammar holds no string at all (no arguments, or only
#: atoms, numbers and sequence sets: RFC 9051 §9 ``enable``, ``authenticate``,
#: ``store``, RFC 4978 ``compress``): any literal in one is refused unread.
_NO_LITERALS = frozenset(
    {
        "CAPABILITY",
        "NOOP",
        "LOGOUT",
        "STARTTLS",
        "AUTHENTICATE",
        "ENABLE",
        "NAMESPACE",
        "IDLE",
        "CHECK",
        "CLOSE",
        "UNSELECT",
        "EXPUNGE",
        "STORE",
        "COMPRESS",
    }
)
_UNKNOWN = "Unknown command"
_NO_LITERAL = "Command takes no literal"
_TAG_IN_USE = "Tag already in use"

_TAG_AT_START = re.compile(rb"[!#$&',-\[\^-z|}~\]]+")


def _tag_of(line: bytes) -> str | None:
    match = _TAG_AT_START.match(line)
    if match is None:
        return None
    tag = match.group().decode("ascii")
    return tag if len(tag) < 256 else None


class ServerConnection:
    """The server side of one IMAP session (RFC 9051, RFC 3501)."""

    def __init__(
        self,
        *,
        limits: IMAPLimits | None = None,
        capabilities: Iterable[str] = DEFAULT_CAPABILITIES,
        auth_mechanisms: Iterable[str] = ("PLAIN",),
        starttls: bool = False,
        tls: bool = False,
        login_requires_tls: bool = False,
        compress: bool = False,
        sasl_hostname: str = "localhost",
        announce_capabilities: bool = True,
        literal_approval: int | None = None,
    ) -> None:
        #: The bounds in force.
        self.limits = limits if limits is not None else IMAPLimits()
        #: Base capabilities, advertised in every state.
        self.base_capabilities = tuple(capabilities)
        #: SASL mechanisms offered (upper case).
        self.auth_mechanisms = tuple(m.upper() for m in auth_mechanisms)
        #: Offer STARTTLS while the connection is not yet TLS.
        self.starttls = starttls
        #: The transport is TLS (implicit TLS, or after STARTTLS).
        self.tls = tls
        #: Advertise LOGINDISABLED and hide plaintext SASL mechanisms until TLS
        #: (RFC 9051 §6.2.3, §11.1).
        self.login_requires_tls = login_requires_tls
        #: Offer COMPRESS=DEFLATE after authentication (RFC 4978).
        self.compress = compress
        #: Add ``[CAPABILITY ...]`` to a greeting and to the OK of LOGIN and
        #: AUTHENTICATE when the application gives no code (RFC 9051 §7.1,
        #: §6.2.2: saves the client a CAPABILITY round trip).
        self.announce_capabilities = announce_capabilities
        #: Report a literal as :class:`LiteralRequest` and wait for
        #: :meth:`approve_literal` / :meth:`refuse_literal` once its command's
        #: octets reach this many (None: never ask; the limits alone decide).
        self.literal_approval = literal_approval
        # The announcement waiting for the application's approval.
        self._pending_literal: LiteralAnnounced | None = None
        self._sasl_hostname = sasl_hostname
        self._session = SessionState()
        self._input = Input(self.limits, server=True)
        self._output = Output()
        self._inflight: dict[str, C.Command] = {}
        self._deferred: C.Command | None = None
        self._sasl: ServerMechanism | None = None
        self._sasl_command: C.Authenticate | None = None
        self._sasl_question: Question | None = None
        self._sasl_success: bool = False
        self._utf8 = False
        # Extensions the application ENABLED (upper case), from the ENABLED
        # responses it sent: RFC 7162's QRESYNC rules depend on them.
        self._enabled: set[str] = set()
        self._errors = 0
        # An event produced by send(SaslAnswer) (Authenticated, AuthFailed or
        # the next question) waits here for next_event().
        self._queued_event: ServerEvent | None = None
        self._closed = False
        self._error: RemoteProtocolError | None = None

    # -- public state -----------------------------------------------------------

    @property
    def state(self) -> State:
        """The session :class:`~mailproto.imap._state.State`."""
        return self._session.state

    @property
    def mode(self) -> Mode:
        """The stream :class:`~mailproto.imap._state.Mode`."""
        return self._session.mode

    @property
    def in_flight(self) -> tuple[C.Command, ...]:
        """Commands reported to the application and not yet answered, oldest first."""
        return tuple(self._inflight.values())

    @property
    def compressing(self) -> bool:
        """True once COMPRESS=DEFLATE is active."""
        return self._output.deflater is not None

    def capabilities(self) -> tuple[str, ...]:
        """What the server advertises now (it depends on TLS and on login)."""
        caps = list(self.base_capabilities)
        if self._session.state in (State.GREETING, State.NOT_AUTHENTICATED):
            if self.starttls and not self.tls:
                caps.append("STARTTLS")
            plain_ok = self.tls or not self.login_requires_tls
            if not plain_ok:
                caps.append("LOGINDISABLED")
            for mech in self.auth_mechanisms:
                if plain_ok or not is_plaintext(mech):
                    caps.append(f"AUTH={mech}")
        elif self.compress and self._output.deflater is None:
            caps.append("COMPRESS=DEFLATE")
        return tuple(caps)

    def _capability_code(self) -> ResponseCode:
        return ResponseCode(name="CAPABILITY", value=self.capabilities())

    # -- output -------------------------------------------------------------------

    def _write(self, response: R.Response) -> None:
        writer = Writer(literal_mode="server", utf8=self._utf8)
        write_response(writer, response)
        self._output.extend(writer.finish_chunks())

    def _tagged(self, tag: str | None, status: str, text: str, code: str | None = None) -> None:
        self._write(
            R.StatusResponse(
                tag=tag,
                status=status,  # type: ignore[arg-type]
                code=ResponseCode(name=code) if code else None,
                text=text,
            )
        )

    def data_to_send(self) -> bytes:
        """Bytes to write to the client (possibly ``b""``)."""
        return self._output.take()

    def send(self, event: R.Response | SaslAnswer) -> None:
        """Queue a response (or a :class:`SaslAnswer`).

        Raises :class:`LocalProtocolError` when the response is not valid now:
        the greeting twice or not first, a tag not in flight, a ``+`` that
        starts nothing, EXPUNGE during FETCH/STORE/SEARCH, untagged data
        (other than BYE) between an AUTHENTICATE command and its tagged
        result, anything after BYE.
        """
        session = self._session
        if isinstance(event, SaslAnswer):
            self._answer_sasl(event)
            return
        if session.state is State.LOGOUT:
            raise LocalProtocolError("the session is over (BYE was sent)")
        cls = type(event)
        if session.state is State.GREETING:
            if cls is not R.StatusResponse or event.tag is not None:  # type: ignore[union-attr]
                raise LocalProtocolError("the first response must be the greeting")
            assert isinstance(event, R.StatusResponse)
            if event.status not in ("OK", "PREAUTH", "BYE"):
                raise LocalProtocolError("the greeting is OK, PREAUTH or BYE")
            if event.code is None and event.status != "BYE" and self.announce_capabilities:
                event = R.StatusResponse(
                    tag=None, status=event.status, code=self._capability_code(), text=event.text
                )
            self._write(event)
            session.complete("GREETING", event.status)
            return
        if self._sasl_command is not None and not (
            cls is R.StatusResponse and (event.tag is not None or event.status == "BYE")  # type: ignore[union-attr]
        ):
            # RFC 9051 §6.2.2: the AUTHENTICATE exchange is the server's
            # challenges ("+ ...") and the client's answers, ended by the
            # tagged result; a client reading the next line as a challenge
            # must not meet untagged data there.  Capabilities go in the
            # tagged OK's code instead (added automatically).  Only BYE (an
            # emergency shutdown, RFC 9051 §7.1.5) may interrupt.
            raise LocalProtocolError(
                "no untagged responses during an AUTHENTICATE exchange (RFC 9051 §6.2.2)"
            )
        if cls is R.StatusResponse:
            assert isinstance(event, R.StatusResponse)
            if event.tag is not None:
                self._complete(event)
                return
            if event.status == "PREAUTH":
                raise LocalProtocolError("PREAUTH is only valid as the greeting")
            self._write(event)
            if event.status == "BYE":
                session.complete("BYE", "BYE")
            return
        if cls is R.Continuation:
            assert isinstance(event, R.Continuation)
            idle = next((c for c in self._inflight.values() if isinstance(c, C.Idle)), None)
            if idle is None or session.mode is not Mode.COMMANDS:
                raise LocalProtocolError("a continuation request is only sent to start IDLE")
            self._write(event)
            session.mode = Mode.IDLING
            return
        if cls is R.ExpungeResponse or (cls is R.Vanished and not event.earlier):  # type: ignore[union-attr]
            for command in self._inflight.values():
                if command_name(command) in EXPUNGE_FORBIDDEN and not command.uid:  # type: ignore[union-attr]
                    raise LocalProtocolError(
                        "EXPUNGE/VANISHED may not be sent during FETCH, STORE or SEARCH "
                        "(RFC 9051 §7.5.1)"
                    )
        if cls is R.Enabled:
            assert isinstance(event, R.Enabled)
            self._enabled.update(c.upper() for c in event.capabilities)
            if any(c.upper() == "UTF8=ACCEPT" for c in event.capabilities):
                self._write(event)
                self._utf8 = True  # RFC 6855 §3
                return
        self._write(event)

    def _complete(self, event: R.StatusResponse) -> None:
        tag = event.tag
        assert tag is not None
        if event.status not in ("OK", "NO", "BAD"):
            raise LocalProtocolError(f"{event.status} cannot be tagged")
        session = self._session
        if self._sasl_command is not None and tag == self._sasl_command.tag:
            if not self._sasl_success:
                raise LocalProtocolError("AUTHENTICATE is answered after Authenticated")
            command: C.Command = self._sasl_command
            self._sasl_command = None
            self._sasl_success = False
        else:
            found = self._inflight.get(tag)
            if found is None:
                raise LocalProtocolError(f"no command with tag {tag!r} is in flight")
            command = found
            if isinstance(command, C.Idle) and session.mode is Mode.IDLING:
                raise LocalProtocolError("IDLE completes after the client's DONE")
            del self._inflight[tag]
        name = command_name(command)
        if (
            event.status == "OK"
            and event.code is None
            and name in ("LOGIN", "AUTHENTICATE")
            and self.announce_capabilities
        ):
            # RFC 9051 §6.2.2: servers SHOULD send the new capabilities here.
            session.complete(name, "OK")
            event = R.StatusResponse(
                tag=tag, status="OK", code=self._capability_code(), text=event.text
            )
            self._write(event)
            return
        self._write(event)
        session.complete(name, event.status)
        if event.status == "OK":
            if name == "STARTTLS":
                session.mode = Mode.TLS_HANDSHAKE
                self._input.discard_buffered()
            elif name == "COMPRESS":
                self._output.start_compression()
                self._input.start_compression()

    def start_tls_done(self) -> None:
        """The TLS handshake after STARTTLS has completed."""
        if self._session.mode is not Mode.TLS_HANDSHAKE:
            raise LocalProtocolError("start_tls_done() without an accepted STARTTLS")
        self._session.mode = Mode.COMMANDS
        self.tls = True

    # -- literal approval -------------------------------------------------------------

    def _take_pending_literal(self) -> LiteralAnnounced | None:
        """The announcement to decide on; None when the session ended meanwhile."""
        announced = self._pending_literal
        self._pending_literal = None
        if self._session.state is State.LOGOUT:
            # BYE was sent or the client left while the application decided
            # (it may wait long, for memory): nothing may follow BYE (RFC
            # 9051 §7.1.5) and nobody reads, so a late decision is ignored.
            return None
        if announced is None:
            raise LocalProtocolError("no literal waits for approval (see LiteralRequest)")
        return announced

    def approve_literal(self) -> None:
        """Let the literal of the last :class:`LiteralRequest` come.

        A synchronising literal gets its ``+`` now (RFC 9051 §7.5); the
        octets of a non-synchronising one are read as they arrive.  Ignored
        once the session is over (``BYE`` sent, or the client left).
        """
        announced = self._take_pending_literal()
        if announced is not None and announced.synchronizing:
            self._write(R.Continuation(text=_LITERAL_OK))

    def refuse_literal(self, text: str, code: str | None = "UNAVAILABLE") -> None:
        """Refuse the command of the last :class:`LiteralRequest`, unread.

        A synchronising literal: the tagged ``NO`` is the whole answer, the
        client gives the command up and never sends the octets (RFC 9051
        §7.5).  A non-synchronising one is already on its way: the command
        gets a tagged ``BAD`` and its octets are dropped as they arrive,
        never kept, and the session goes on (RFC 7888 §4).  *code* is the
        response code: ``UNAVAILABLE`` (RFC 5530: try again later) suits a
        server that is short of memory for literals right now.  The refusal
        does not count towards :attr:`IMAPLimits.errors`: the client did
        nothing wrong.  ``next_event()`` then reports it as
        :class:`BadCommand`, like every command the connection refused.
        Ignored once the session is over (``BYE`` sent, or the client left).
        """
        announced = self._take_pending_literal()
        if announced is None:
            return
        frag = self._input.fragmentizer
        if announced.synchronizing:
            frag.discard()
            status = "NO"
        else:
            frag.skip()
            status = "BAD"
        tag = _tag_of(announced.first_line)
        self._tagged(tag, status, text, code)
        self._queued_event = BadCommand(tag=tag, reason=text)

    # -- input ----------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Add bytes from the client; ``b""`` means it closed the connection."""
        if not data:
            self._closed = True
            return
        if self._session.mode is Mode.TLS_HANDSHAKE:
            return  # never interpreted (RFC 9051 §11.1)
        self._input.receive_data(data)

    def next_event(self) -> ServerEvent | Sentinel:
        """The next command or server event, or ``NEED_DATA`` / ``PAUSED``."""
        if self._error is not None:
            # A fresh traceback each time (see ClientConnection).
            raise self._error.with_traceback(None)
        try:
            return self._next_event()
        except RemoteProtocolError as exc:
            self._fatal(exc)
            raise

    def _fatal(self, exc: RemoteProtocolError) -> None:
        self._error = exc
        if self._session.state is not State.LOGOUT:
            text = exc.hint.text if exc.hint is not None else "Protocol error"
            code = exc.hint.response_code if exc.hint is not None else None
            if isinstance(exc, LimitExceeded) and exc.limit == "literal_size":
                # A literal size that is no number64 (any other size over
                # the limit is refused and read on, _literal_too_large):
                # RFC 7888 §4's second choice, a tagged BAD, then close.
                tag = _tag_of(self._input.fragmentizer.partial_line())
                if tag is not None:
                    self._tagged(tag, "BAD", text, code)
            self._tagged(None, "BYE", text, code)
            self._session.complete("BYE", "BYE")

    def _bad(
        self, tag: str | None, reason: str, status: str = "BAD", code: str | None = None
    ) -> BadCommand:
        self._tagged(tag, status, reason, code)
        if status == "BAD":
            self._errors += 1
            if self._errors >= self.limits.errors:
                raise LimitExceeded(
                    "too many bad commands",
                    limit="errors",
                    bound=self.limits.errors,
                    hint=ReplyHint(text=_TOO_MANY_ERRORS, fatal=True),
                )
        return BadCommand(tag=tag, reason=reason)

    def _next_event(self) -> ServerEvent | Sentinel:
        session = self._session
        event: ServerEvent | None
        while True:
            if self._queued_event is not None:
                event, self._queued_event = self._queued_event, None
                return event
            if session.state is State.LOGOUT:
                return ConnectionClosed() if self._closed else PAUSED
            if session.mode is Mode.TLS_HANDSHAKE or self._sasl_question is not None:
                return PAUSED
            if self._sasl_command is not None and self._sasl_success:
                return PAUSED  # the application owes the AUTHENTICATE answer
            if session.state is State.GREETING:
                return PAUSED  # the greeting must be sent first
            if self._pending_literal is not None:
                if self._closed:
                    # The client went away while the application decided.
                    self._pending_literal = None
                    session.state = State.LOGOUT
                    return ConnectionClosed()
                return PAUSED  # approve_literal() or refuse_literal() is owed
            if self._deferred is not None:
                if self._inflight:
                    return PAUSED
                command, self._deferred = self._deferred, None
                event = self._dispatch(command)
                if event is not None:
                    return event
                continue
            for command in self._inflight.values():
                if command_name(command) in BARRIERS:
                    if not (isinstance(command, C.Idle) and session.mode is Mode.IDLING):
                        return PAUSED
            if len(self._inflight) >= self.limits.pipelined_commands:
                return PAUSED
            try:
                message = self._input.next_message()
            except LimitExceeded as exc:
                if exc.hint is not None and not exc.hint.fatal:
                    return self._literal_too_large()
                raise
            if message is NEED_DATA:
                if self._closed:
                    session.state = State.LOGOUT
                    return ConnectionClosed()
                return NEED_DATA
            if isinstance(message, LiteralAnnounced):
                event = self._literal(message)
                if event is not None:
                    return event
                continue
            assert isinstance(message, RawMessage)
            if session.mode is Mode.AUTHENTICATING:
                event = self._sasl_line(message)
            elif session.mode is Mode.IDLING:
                event = self._idle_line(message)
            else:
                try:
                    parsed = parse_command(message, limits=self.limits, utf8=self._utf8)
                except ParseError as exc:
                    return self._bad(exc.tag, exc.message[:200])
                if isinstance(parsed, C.Done):
                    return self._bad(None, _DONE_UNEXPECTED)
                event = self._dispatch(parsed)
            if event is not None:
                return event

    # -- literals -------------------------------------------------------------------

    def _literal_too_large(self) -> ServerEvent:
        """The fragmentizer refused a literal over ``literal_size``; answer it.

        A synchronising one was dropped with its command (the client waits
        for ``+`` and gives the command up on a tagged answer, RFC 9051
        §7.5): ``NO [TOOBIG]``.  A non-synchronising one is being skipped,
        its octets counted and dropped as they arrive (the fragmentizer's
        ``skipping``): RFC 7888 §4 asks for a tagged ``BAD`` and then lets
        the server read and ignore the rest of the command rather than
        close, so the session goes on - ``BAD [TOOBIG]``: TOOBIG (defined
        by RFC 4469, used by RFC 7889 for APPEND over the limit) is the code
        this server already gives a too-large ``{n+}`` under LITERAL- (RFC
        7888 §5, :meth:`_literal_refusal`).
        """
        frag = self._input.fragmentizer
        if self._session.mode is not Mode.COMMANDS:
            # During AUTHENTICATE or IDLE no literal belongs at all.
            return self._unexpected_literal(synchronizing=not frag.skipping, skipped=True)
        tag = _tag_of(frag.refused_line)
        if frag.skipping:
            return self._bad(tag, _TOO_BIG, "BAD", "TOOBIG")
        return self._bad(tag, _TOO_BIG, "NO", "TOOBIG")

    def _unexpected_literal(self, *, synchronizing: bool, skipped: bool) -> ServerEvent:
        """A literal in a SASL answer or during IDLE (*skipped*: already skipping)."""
        if synchronizing:
            # The client waits for "+" that must never come: nothing it
            # sends next can be framed with certainty.
            raise RemoteProtocolError(
                "literal in a SASL response or during IDLE",
                hint=ReplyHint(text="Unexpected literal", fatal=True),
            )
        # A SASL answer (RFC 9051 §6.2.2: base64) or DONE never holds a
        # literal; this one's octets are coming anyway: dropped as they
        # arrive, and the exchange ends as for any malformed line.
        if not skipped:
            self._input.fragmentizer.skip()
        if self._session.mode is Mode.AUTHENTICATING:
            return self._sasl_end_bad(_AUTH_MALFORMED)
        return self._idle_end_bad()

    def _literal(self, announced: LiteralAnnounced) -> ServerEvent | None:
        """A client announced a literal: ask for it, let it come, or refuse it unread."""
        frag = self._input.fragmentizer
        if self._session.mode is not Mode.COMMANDS:
            return self._unexpected_literal(synchronizing=announced.synchronizing, skipped=False)
        refusal = self._literal_refusal(announced)
        if refusal is None:
            threshold = self.literal_approval
            if threshold is not None and frag.message_octets >= threshold:
                self._pending_literal = announced
                head = _COMMAND_HEAD.match(announced.first_line)
                assert head is not None  # _literal_refusal matched it
                word = head.group(2).decode("ascii").upper()
                if word == "UID":
                    word = (head.group(3) or b"").decode("ascii").upper()
                return LiteralRequest(
                    tag=_tag_of(announced.first_line),
                    command=word if word[:1] != "X" else "EXPERIMENTAL",
                    size=announced.size,
                    command_octets=frag.message_octets,
                    synchronizing=announced.synchronizing,
                )
            if announced.synchronizing:
                self._write(R.Continuation(text=_LITERAL_OK))
            return None
        status, code, text = refusal
        if announced.synchronizing:
            # RFC 9051 §7.5: the client waits for "+"; on a tagged answer
            # instead it gives the command up, so it never sends the octets.
            frag.discard()
        else:
            # RFC 7888 §4: tagged BAD now; the octets, already on their way,
            # are read and dropped (never kept), and the session goes on.
            frag.skip()
            status = "BAD"
        return self._bad(_tag_of(announced.first_line), text, status, code)

    def _literal_refusal(self, announced: LiteralAnnounced) -> tuple[str, str | None, str] | None:
        """Why the command announcing *announced* will be refused, or None.

        ``(status, response code, text)``.  Decided from its first line and
        the announced sizes only, so that nothing the command would be
        refused for costs the server its literal's octets; everything else
        is left to the parser and to :meth:`_dispatch`, after the literal.
        """
        head = _COMMAND_HEAD.match(announced.first_line)
        if head is None:
            return "BAD", None, "Expected a tag and a command name"
        word = head.group(2).upper()
        if word[:1] == b"X":
            name = "EXPERIMENTAL"  # RFC 3501 §6.5.1: any state, the application's
        elif word == b"UID":
            name = (head.group(3) or b"").decode("ascii").upper()
            if name not in _UID_COMMANDS:
                return "BAD", None, _UNKNOWN
        else:
            name = word.decode("ascii")
            if name not in ALLOWED_STATES or name == "EXPERIMENTAL":
                return "BAD", None, _UNKNOWN
        if head.group(1).decode("ascii") in self._inflight:
            return "BAD", None, _TAG_IN_USE
        if not self._session.allowed(name):
            # RFC 9051 §6: e.g. APPEND (§6.3.12) before login.
            return "BAD", None, _NOT_NOW
        if name in _NO_LITERALS:
            return "BAD", None, _NO_LITERAL
        caps = {c.upper() for c in self.capabilities()}
        if name == "APPEND" and "MULTIAPPEND" not in caps:
            # RFC 3502: one message per APPEND unless MULTIAPPEND is
            # advertised.  APPEND's literals are its messages (one each,
            # RFC 9051 §9 "append-message"), after the mailbox when that is
            # a literal too.
            first_message = 1 if _APPEND_MAILBOX_LITERAL.match(announced.first_line) else 0
            if announced.index > first_message:
                return "BAD", None, f"{_NOT_ADVERTISED}: MULTIAPPEND"
        if (
            not announced.synchronizing
            and announced.size > _LITERAL_MINUS_MAX
            and "LITERAL+" not in caps
        ):
            # RFC 7888 §5 (LITERAL-, part of IMAP4rev2): without LITERAL+ a
            # non-synchronising literal may carry at most 4096 octets.
            return "BAD", "TOOBIG", _TOO_BIG
        limits = self.limits
        bound = (
            limits.unauthenticated_command_size
            if self._session.state is State.NOT_AUTHENTICATED
            else limits.command_size
        )
        if self._input.fragmentizer.message_octets > bound:
            return "NO", "TOOBIG", _TOO_BIG
        return None

    def _dispatch(self, command: C.Command) -> ServerEvent | None:
        session = self._session
        name = command_name(command)
        if command.tag in self._inflight:
            return self._bad(command.tag, _TAG_IN_USE)
        if name in BARRIERS and self._inflight:
            self._deferred = command
            return None
        if not session.allowed(name):
            return self._bad(command.tag, _NOT_NOW)
        if isinstance(command, C.Compress) and self._output.deflater is not None:
            # RFC 4978 §3: a second COMPRESS gets NO [COMPRESSIONACTIVE].
            return self._bad(
                command.tag, "Compression is already active", "NO", "COMPRESSIONACTIVE"
            )
        missing = missing_capability(command, {c.upper() for c in self.capabilities()})
        if missing is not None:
            if isinstance(command, C.Login):
                return self._bad(command.tag, _LOGIN_DISABLED, "NO", "PRIVACYREQUIRED")
            if isinstance(command, C.Authenticate):
                return self._bad(command.tag, _UNKNOWN_MECH, "NO", "CANNOT")
            return self._bad(command.tag, f"{_NOT_ADVERTISED}: {missing}")
        violation = qresync_violation(command, self._enabled)
        if violation is not None:
            return self._bad(command.tag, violation)
        if isinstance(command, C.Capability):
            self._write(R.CapabilityResponse(capabilities=self.capabilities()))
            self._tagged(command.tag, "OK", _CAPABILITY_DONE)
            return None
        if isinstance(command, C.Logout):
            # RFC 9051 §6.1.3: BYE, then the tagged OK; the session is over.
            self._tagged(None, "BYE", _LOGOUT)
            self._tagged(command.tag, "OK", "LOGOUT completed")
            session.complete("LOGOUT", "OK")
            return command
        if isinstance(command, C.Authenticate):
            return self._start_sasl(command)
        self._inflight[command.tag] = command
        return command

    # -- IDLE ---------------------------------------------------------------------

    def _idle_line(self, message: RawMessage) -> ServerEvent:
        idle = next(c for c in self._inflight.values() if isinstance(c, C.Idle))
        self._session.mode = Mode.COMMANDS
        if len(message.segments) == 1 and message.segments[0].rstrip(b"\r\n").upper() == b"DONE":
            return IdleDone(command=idle)
        return self._idle_end_bad()

    def _idle_end_bad(self) -> ServerEvent:
        # RFC 2177 §3: anything but DONE ends IDLE with BAD.
        idle = next(c for c in self._inflight.values() if isinstance(c, C.Idle))
        self._session.mode = Mode.COMMANDS
        del self._inflight[idle.tag]
        return self._bad(idle.tag, "Expected DONE")

    # -- AUTHENTICATE ----------------------------------------------------------------

    def _start_sasl(self, command: C.Authenticate) -> ServerEvent | None:
        try:
            mech = server_mechanism(command.mechanism, hostname=self._sasl_hostname)
        except LocalProtocolError:
            return self._bad(command.tag, _UNKNOWN_MECH, "NO", "CANNOT")
        self._sasl = mech
        self._sasl_command = command
        self._session.mode = Mode.AUTHENTICATING
        try:
            step = mech.step(command.initial_response)
        except SASLError:
            return self._sasl_end_bad(_AUTH_MALFORMED)
        return self._sasl_step(step)

    def _sasl_step(self, step: Step) -> ServerEvent | None:
        command = self._sasl_command
        assert command is not None
        if isinstance(step, Challenge):
            # RFC 9051 §6.2.2: "+ " and the base64 challenge.
            self._output.write(b"+ " + encode_challenge(step.data).rstrip(b"\r\n") + b"\r\n")
            return None
        if isinstance(step, Question):
            self._sasl_question = step
            return SaslQuestion(tag=command.tag, question=step)
        self._session.mode = Mode.COMMANDS
        self._sasl = None
        if isinstance(step, Success):
            self._sasl_success = True
            return Authenticated(command=command, authcid=step.authcid, authzid=step.authzid)
        assert isinstance(step, Failure)
        self._sasl_command = None
        self._tagged(command.tag, "NO", _AUTH_FAILED, "AUTHENTICATIONFAILED")
        return AuthFailed(command=command, reason=step.reason)

    def _sasl_end_bad(self, reason: str) -> ServerEvent:
        command = self._sasl_command
        assert command is not None
        self._sasl = None
        self._sasl_command = None
        self._session.mode = Mode.COMMANDS
        self._tagged(command.tag, "BAD", reason)
        return AuthFailed(command=command, reason=reason)

    def _sasl_line(self, message: RawMessage) -> ServerEvent | None:
        mech = self._sasl
        assert mech is not None
        if len(message.segments) != 1:
            return self._sasl_end_bad(_AUTH_MALFORMED)
        line = message.segments[0]
        try:
            data = parse_authenticate_data(line).data
        except ParseError:
            return self._sasl_end_bad(_AUTH_MALFORMED)
        if data is None:
            # RFC 9051 §6.2.2: "*" cancels; the server answers BAD.
            return self._sasl_end_bad(_AUTH_CANCELLED)
        try:
            step = mech.step(data)
        except SASLCancelled:
            return self._sasl_end_bad(_AUTH_CANCELLED)
        except SASLError:
            return self._sasl_end_bad(_AUTH_MALFORMED)
        return self._sasl_step(step)

    def _answer_sasl(self, answer: SaslAnswer) -> None:
        mech = self._sasl
        if mech is None or self._sasl_question is None:
            raise LocalProtocolError("no SASL question is pending")
        self._sasl_question = None
        step = mech.answer(answer.answer)
        event = self._sasl_step(step)
        if event is not None:
            self._queued_event = event
