"""The IMAP client connection: commands out, typed events in, no I/O.

The connection pattern of DESIGN.md::

    client = ClientConnection()
    client.receive_data(sock.recv(65536))     # b"" when the server closed
    event = client.next_event()               # Greeting, Untagged, Completed ...
    sock.sendall(client.data_to_send())       # after EVERY next_event(), too
    handle = client.send(Select(tag=client.new_tag(), mailbox="INBOX"))
    sock.sendall(client.data_to_send())

Write what :meth:`~ClientConnection.data_to_send` holds after every
``next_event()``, not only after ``send()``: a server's ``+`` releases the
fragments held behind a synchronising literal, and answers a SASL
challenge, inside ``next_event()`` -- which then returns ``NEED_DATA``.  A
loop that writes only after ``send()`` waits for a reply to bytes it never
sent (APPEND without LITERAL+ and AUTHENTICATE hang).

Theory of operation
-------------------
*Handles.*  :meth:`ClientConnection.send` returns a :class:`Handle`; the
tagged completion of that command (:class:`Completed`) and every untagged
response it solicited (:class:`Untagged`) carry the same handle.  Which
untagged responses a command solicits is a table in
:mod:`mailproto.imap._state` (:data:`SOLICITS`): an ``* 3 FETCH`` goes to the
oldest FETCH or STORE in flight, an ``* 4 EXISTS`` during NOOP is
unsolicited (handle None) — RFC 9051 §7 requires a client to accept any
response at any time, and this is where it does.

*Literals.*  A command is encoded into fragments
(:func:`mailproto.imap.codec.encode_command`).  A synchronising literal
(``{n}``) is held back until the server's ``+`` (RFC 9051 §7.5), and
everything queued behind it waits too: bytes sent early would be read as
part of the literal.  When the server advertises LITERAL+ (RFC 7888) all
literals are sent at once as ``{n+}``; with LITERAL- (or IMAP4rev2, which
includes it) literals up to 4096 octets are.  A ``NO``/``BAD`` instead of
``+`` ends the command; its held-back fragments are dropped.

*Pipelining.*  Independent commands are written at once (RFC 9051 §5.5);
commands that change the state or the stream (the *barriers* of
:data:`~mailproto.imap._state.BARRIERS`) are only sent alone, and ``send()``
refuses anything after one until it completes: the application sees a
:class:`~mailproto.errors.LocalProtocolError` instead of an ambiguous
session.

*Capabilities.*  Read from the greeting's ``[CAPABILITY ...]`` code, from
``* CAPABILITY`` and from ``OK [CAPABILITY ...]``; forgotten after STARTTLS
(RFC 9051 §6.2.1: the client MUST discard them) and after a successful
LOGIN/AUTHENTICATE unless the OK carried new ones (servers often advertise
more after login).  While they are known, ``send()`` refuses commands the
server did not advertise (:func:`~mailproto.imap._state.missing_capability`).

*STARTTLS.*  After the tagged OK the connection is in
:attr:`~mailproto.imap._state.Mode.TLS_HANDSHAKE`: bytes already received
are dropped (a response injected before the handshake is never trusted), and
``next_event()`` says PAUSED until the transport calls
:meth:`start_tls_done`.

*AUTHENTICATE* runs through a :mod:`mailproto.sasl` client mechanism
(:meth:`ClientConnection.authenticate`): the initial response goes on the
command line when the server has SASL-IR (RFC 4959), each ``+ challenge`` is
answered by the mechanism, and on OK the mechanism verifies the server
(SCRAM).  A challenge the mechanism rejects cancels the exchange (``*``).

*COMPRESS=DEFLATE* (RFC 4978) is a transform inside the machine: after the
tagged OK everything the client sends is deflated and everything it receives
is inflated, so it works over any transport.
"""

from __future__ import annotations

from collections import deque

from mailproto._sentinels import NEED_DATA, PAUSED, Sentinel
from mailproto.errors import LocalProtocolError, RemoteProtocolError
from mailproto.imap._connection import Input, Output
from mailproto.imap._events import (
    Bye,
    Completed,
    ConnectionClosed,
    Greeting,
    Handle,
    IdleStarted,
    Untagged,
)
from mailproto.imap._fragmentizer import RawMessage
from mailproto.imap._parser import ParseError, parse_response
from mailproto.imap._serializer import write_command
from mailproto.imap._state import (
    BARRIERS,
    SOLICITS,
    Mode,
    SessionState,
    State,
    missing_capability,
    qresync_violation,
)
from mailproto.imap._writer import LineFragment, LiteralFragment, LiteralMode, Writer
from mailproto.imap.types import ResponseCode
from mailproto.imap.types import commands as C
from mailproto.imap.types import responses as R
from mailproto.imap.types._literal import ZERO_COPY_THRESHOLD
from mailproto.limits import IMAPLimits
from mailproto.sasl import ClientMechanism, SASLError, decode_challenge, encode_response

__all__ = ["ClientConnection", "ClientEvent"]

#: Everything :meth:`ClientConnection.next_event` can return besides sentinels.
ClientEvent = Greeting | Untagged | Completed | IdleStarted | Bye | ConnectionClosed


class ClientConnection:
    """The client side of one IMAP session (RFC 9051, RFC 3501).

    *zero_copy_literals*: literals of more than *zero_copy_threshold* octets
    (message data: ``BODY[]`` ...) arrive as
    :class:`~mailproto.imap.types.LiteralChunks`, the received chunks
    unjoined, as with :class:`mailproto.imap.codec.ResponseDecoder`.  Off by
    default (every literal is :class:`bytes`).
    """

    def __init__(
        self,
        *,
        limits: IMAPLimits | None = None,
        tag_prefix: str = "A",
        check_capabilities: bool = True,
        zero_copy_literals: bool = False,
        zero_copy_threshold: int = ZERO_COPY_THRESHOLD,
    ) -> None:
        #: The bounds in force.
        self.limits = limits if limits is not None else IMAPLimits()
        #: Refuse commands the server did not advertise (when known).
        self.check_capabilities = check_capabilities
        self._session = SessionState()
        # Zero-copy literals (opt-in): literals of more than the threshold
        # arrive as LiteralChunks, as with the codec's ResponseDecoder.
        self._input = Input(
            self.limits,
            server=False,
            zero_copy_threshold=zero_copy_threshold if zero_copy_literals else None,
        )
        self._output = Output()
        self._tag_prefix = tag_prefix
        self._tag_counter = 0
        # Commands in flight, oldest first, by tag.
        self._inflight: dict[str, Handle] = {}
        # Fragments not yet sent: (tag, fragment).  The head may be a
        # synchronising literal waiting for "+".
        self._pending: deque[tuple[str, LineFragment | LiteralFragment]] = deque()
        self._waiting_literal: str | None = None
        self._capabilities: frozenset[str] | None = None
        self._enabled: set[str] = set()
        self._utf8 = False
        self._sasl: ClientMechanism | None = None
        self._sasl_handle: Handle | None = None
        self._idle: Handle | None = None
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
    def capabilities(self) -> frozenset[str] | None:
        """The server's capabilities (upper case), or None when not known now."""
        return self._capabilities

    @property
    def enabled(self) -> frozenset[str]:
        """Extensions the server confirmed with ``* ENABLED`` (upper case)."""
        return frozenset(self._enabled)

    @property
    def compressing(self) -> bool:
        """True once COMPRESS=DEFLATE is active."""
        return self._output.deflater is not None

    @property
    def in_flight(self) -> tuple[Handle, ...]:
        """Commands sent and not yet completed, oldest first."""
        return tuple(self._inflight.values())

    def has_capability(self, name: str) -> bool:
        """True if the server advertised *name* (case-insensitive)."""
        return self._capabilities is not None and name.upper() in self._capabilities

    def new_tag(self) -> str:
        """A fresh tag (``A1``, ``A2``, ...)."""
        self._tag_counter += 1
        return f"{self._tag_prefix}{self._tag_counter}"

    # -- sending ------------------------------------------------------------------

    def _literal_mode(self) -> LiteralMode:
        caps = self._capabilities or frozenset()
        if "LITERAL+" in caps:
            return "plus"
        if "LITERAL-" in caps or "IMAP4REV2" in caps:
            return "minus"
        return "sync"

    def _check_sendable(self, command: C.Command) -> str:
        if self._closed or self._error is not None:
            raise LocalProtocolError("the connection is closed")
        mode = self._session.mode
        if mode is not Mode.COMMANDS:
            raise LocalProtocolError(f"cannot send a command in mode {mode.name}")
        name = self._session.check(command)
        if command.tag in self._inflight:
            raise LocalProtocolError(f"tag {command.tag!r} is already in flight")
        if len(self._inflight) >= self.limits.pipelined_commands:
            raise LocalProtocolError(
                f"{len(self._inflight)} commands in flight (IMAPLimits.pipelined_commands)"
            )
        for handle in self._inflight.values():
            if handle.name in BARRIERS:
                raise LocalProtocolError(
                    f"{name} cannot be sent before {handle.name} ({handle.tag}) completes"
                )
        if name == "COMPRESS" and self._output.deflater is not None:
            raise LocalProtocolError("COMPRESS is already active (RFC 4978 §3)")
        if name in BARRIERS and self._inflight:
            raise LocalProtocolError(f"{name} cannot be pipelined with other commands")
        if self.check_capabilities and self._capabilities is not None:
            missing = missing_capability(command, self._capabilities)
            if missing is not None:
                raise LocalProtocolError(f"{name} needs the {missing} capability")
        if self.check_capabilities:
            violation = qresync_violation(command, self._enabled)
            if violation is not None:
                raise LocalProtocolError(violation)
        return name

    def send(self, command: C.Command | C.Done) -> Handle:
        """Queue *command*; return the handle its events will carry.

        ``Done`` ends IDLE and returns the IDLE command's handle.  Raises
        :class:`LocalProtocolError` when the command is not valid in the
        current state, needs a capability the server did not advertise,
        would be pipelined after a barrier, or reuses a tag in flight.
        AUTHENTICATE goes through :meth:`authenticate`.
        """
        if isinstance(command, C.Done):
            if self._session.mode is not Mode.IDLING or self._idle is None:
                raise LocalProtocolError("DONE is only valid while IDLE is active")
            self._output.write(b"DONE\r\n")
            self._session.mode = Mode.COMMANDS
            handle = self._idle
            self._idle = None
            # Nothing may follow until IDLE completes (it is a barrier).
            return handle
        if isinstance(command, C.Authenticate):
            raise LocalProtocolError("use authenticate() to run a SASL exchange")
        self._check_sendable(command)
        return self._queue(command)

    def _queue(self, command: C.Command) -> Handle:
        handle = Handle(tag=command.tag, command=command)
        writer = Writer(literal_mode=self._literal_mode(), utf8=self._utf8)
        write_command(writer, command)
        for fragment in writer.finish_fragments():
            self._pending.append((command.tag, fragment))
        self._inflight[command.tag] = handle
        self._flush_pending()
        return handle

    def authenticate(self, mechanism: ClientMechanism, *, tag: str | None = None) -> Handle:
        """Start AUTHENTICATE with a :mod:`mailproto.sasl` client mechanism.

        The initial response is sent with the command when the server
        advertises SASL-IR (RFC 4959) or IMAP4rev2; each challenge is
        answered by *mechanism*; the :class:`Completed` event ends it.
        """
        caps = self._capabilities or frozenset()
        initial: bytes | None = None
        command = C.Authenticate(tag=tag or self.new_tag(), mechanism=mechanism.name)
        self._check_sendable(command)
        if "SASL-IR" in caps or "IMAP4REV2" in caps:
            initial = mechanism.initial_response()
            command = C.Authenticate(
                tag=command.tag, mechanism=mechanism.name, initial_response=initial
            )
        self._sasl = mechanism
        handle = self._queue(command)
        self._sasl_handle = handle
        self._session.mode = Mode.AUTHENTICATING
        return handle

    def _flush_pending(self) -> None:
        pending = self._pending
        while pending and self._waiting_literal is None:
            tag, fragment = pending[0]
            if isinstance(fragment, LiteralFragment) and fragment.sync:
                self._waiting_literal = tag
                return
            pending.popleft()
            self._output.write(fragment.data)

    def data_to_send(self) -> bytes:
        """Bytes to write to the server (possibly ``b""``)."""
        return self._output.take()

    # -- receiving ------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Add bytes from the server; ``b""`` means it closed the connection."""
        if not data:
            self._closed = True
            return
        if self._session.mode is Mode.TLS_HANDSHAKE:
            return  # never trusted: see the module essay
        self._input.receive_data(data)

    def start_tls_done(self) -> None:
        """The TLS handshake after STARTTLS has completed.

        The capabilities are forgotten (RFC 9051 §6.2.1); send CAPABILITY
        (or read them from the next OK) before relying on them.
        """
        if self._session.mode is not Mode.TLS_HANDSHAKE:
            raise LocalProtocolError("start_tls_done() without an accepted STARTTLS")
        self._session.mode = Mode.COMMANDS
        self._capabilities = None

    def next_event(self) -> ClientEvent | Sentinel:
        """The next event, or ``NEED_DATA`` / ``PAUSED``.

        Raises :class:`RemoteProtocolError` when the server breaks the
        protocol (a tag we never sent, a ``+`` nobody asked for, framing
        lost); after that every call raises again.  A single response that
        does not parse raises :class:`~mailproto.imap.codec.ParseError` and
        the connection goes on with the next one.
        """
        if self._error is not None:
            # A fresh traceback each time: re-raising the stored error would grow
            # its traceback by a frame pair on every call of a dead connection.
            raise self._error.with_traceback(None)
        try:
            return self._next_event()
        except ParseError:
            # One response broke the grammar but framing is intact: the
            # caller may log it and carry on (the codec's contract).
            raise
        except RemoteProtocolError as exc:
            self._error = exc
            raise

    def _next_event(self) -> ClientEvent | Sentinel:
        while True:
            if self._session.mode is Mode.TLS_HANDSHAKE:
                return PAUSED
            message = self._input.next_message()
            if message is NEED_DATA:
                if self._closed:
                    # The session is over however it was left (RFC 9051 §3.4).
                    self._session.state = State.LOGOUT
                    return ConnectionClosed()
                return NEED_DATA
            assert isinstance(message, RawMessage)
            response = parse_response(message, limits=self.limits, utf8=self._utf8)
            event = self._handle(response)
            if event is not None:
                return event

    # -- response routing --------------------------------------------------------

    def _set_capabilities(self, caps: tuple[str, ...]) -> None:
        self._capabilities = frozenset(c.upper() for c in caps)

    def _code_capabilities(self, code: ResponseCode | None) -> None:
        if code is not None and code.name == "CAPABILITY" and isinstance(code.value, tuple):
            self._set_capabilities(code.value)

    def _handle(self, response: R.Response) -> ClientEvent | None:
        session = self._session
        if session.state is State.GREETING:
            if not isinstance(response, R.StatusResponse) or response.tag is not None:
                raise RemoteProtocolError("the server did not start with a greeting")
            if response.status not in ("OK", "PREAUTH", "BYE"):
                raise RemoteProtocolError(f"invalid greeting status {response.status}")
            session.complete("GREETING", response.status)
            self._code_capabilities(response.code)
            return Greeting(status=response.status, code=response.code, text=response.text)
        cls = type(response)
        if cls is R.Continuation:
            assert isinstance(response, R.Continuation)
            return self._continuation(response)
        if cls is R.StatusResponse:
            assert isinstance(response, R.StatusResponse)
            if response.tag is not None:
                return self._tagged(response)
            if response.status == "BYE":
                session.complete("BYE", "BYE")
                return Bye(code=response.code, text=response.text)
            if response.status == "PREAUTH":
                raise RemoteProtocolError("PREAUTH after the greeting")
            self._code_capabilities(response.code)
        elif cls is R.CapabilityResponse:
            assert isinstance(response, R.CapabilityResponse)
            self._set_capabilities(response.capabilities)
        elif cls is R.Enabled:
            assert isinstance(response, R.Enabled)
            for cap in response.capabilities:
                self._enabled.add(cap.upper())
            if "UTF8=ACCEPT" in self._enabled:
                # RFC 6855 §3: from now on strings may be UTF-8 both ways.
                self._utf8 = True
        return Untagged(handle=self._solicitor(cls), response=response)

    def _solicitor(self, cls: type) -> Handle | None:
        for handle in self._inflight.values():
            wanted = SOLICITS.get(handle.name)
            if wanted is not None and cls in wanted:
                return handle
        return None

    def _continuation(self, response: R.Continuation) -> ClientEvent | None:
        if self._waiting_literal is not None:
            # RFC 9051 §7.5: "+" releases the held-back literal.
            self._waiting_literal = None
            _tag, fragment = self._pending.popleft()
            self._output.write(fragment.data)
            self._flush_pending()
            return None
        if self._session.mode is Mode.AUTHENTICATING and self._sasl is not None:
            try:
                challenge = decode_challenge(response.text.encode("ascii", "replace"))
                answer = encode_response(self._sasl.respond(challenge))
            except SASLError:
                # RFC 9051 §6.2.2: "*" cancels; the server answers BAD.
                answer = b"*\r\n"
            self._output.write(answer if answer.endswith(b"\r\n") else answer + b"\r\n")
            return None
        for handle in self._inflight.values():
            if isinstance(handle.command, C.Idle) and self._idle is None:
                self._idle = handle
                self._session.mode = Mode.IDLING
                return IdleStarted(handle=handle, text=response.text)
        raise RemoteProtocolError("continuation request that no command asked for")

    def _tagged(self, response: R.StatusResponse) -> ClientEvent:
        tag = response.tag
        assert tag is not None
        handle = self._inflight.pop(tag, None)
        if handle is None:
            raise RemoteProtocolError(f"tagged response for unknown tag {tag!r}")
        status = response.status
        if status not in ("OK", "NO", "BAD"):
            raise RemoteProtocolError(f"{status} cannot be tagged")
        session = self._session
        name = handle.name
        if self._waiting_literal == tag:
            # Refused instead of "+": drop the rest of the command.
            self._waiting_literal = None
            while self._pending and self._pending[0][0] == tag:
                self._pending.popleft()
            self._flush_pending()
        if self._idle is handle or (session.mode is Mode.IDLING and name == "IDLE"):
            self._idle = None
            session.mode = Mode.COMMANDS
        if name == "AUTHENTICATE":
            session.mode = Mode.COMMANDS
            mechanism, self._sasl, self._sasl_handle = self._sasl, None, None
            if status == "OK" and mechanism is not None:
                try:
                    mechanism.verify_final(None)
                except SASLError as exc:
                    raise RemoteProtocolError(f"server failed SASL verification: {exc}") from None
        session.complete(name, status)
        if status == "OK":
            if name in ("LOGIN", "AUTHENTICATE"):
                # Capabilities may change after login (RFC 9051 §6.2.2/§6.2.3).
                self._capabilities = None
            elif name == "STARTTLS":
                session.mode = Mode.TLS_HANDSHAKE
                self._capabilities = None
                self._input.discard_buffered()
            elif name == "COMPRESS":
                # RFC 4978 §3: compressed from the octet after this OK's CRLF.
                self._input.start_compression()
                self._output.start_compression()
        self._code_capabilities(response.code)
        return Completed(handle=handle, status=status, code=response.code, text=response.text)
