"""The two SMTP connection machines: :class:`ServerConnection` and
:class:`ClientConnection`.

Theory of operation
-------------------
Both sides have the shape every mailproto protocol shares (DESIGN.md)::

    conn.receive_data(data)    # bytes from the peer; b"" = the peer closed
    conn.next_event()          # an event, NEED_DATA or PAUSED
    conn.send(event)           # queue a reply (server) or a command (client)
    conn.data_to_send()        # bytes to write to the peer

Server
    The server reads one command at a time.  What it can decide alone it
    answers alone — syntax errors (500/501), bad sequence (503, from the table
    in :mod:`._state`), parameters of extensions it did not advertise (555),
    limits (552/452), NOOP, RSET, HELP, QUIT, DATA's 354, STARTTLS's 220 — and
    reports as an event.  Every *policy* decision (this HELO, this sender,
    this recipient, these credentials, this message) becomes an event after
    which ``next_event()`` returns ``PAUSED`` until the application sends its
    :class:`~mailproto.smtp.Reply`.  Because it never reads the next command
    before the previous one is answered, pipelined commands (RFC 2920) are
    answered in order without any queueing logic.

    The message is streamed: :class:`DataChunk` events carry at most
    :attr:`SMTPLimits.data_chunk_size` octets each, so the connection holds
    no more than one chunk plus one partial line, whatever the message size.
    With :attr:`ServerConfig.confirm_chunks` the end of every non-final BDAT
    chunk is a decision too (:class:`EndOfChunk`); a refusal fails the
    transaction (RFC 3030 §2) and the chunks the client had pipelined behind
    it are still read to their announced length, so the stream stays framed.

Client
    The client checks every command against the same table before writing it
    (LocalProtocolError if out of sequence), against the extensions the
    server advertised (no SMTPUTF8, 8BITMIME, SIZE, DSN... unless offered),
    and against RFC 2920's pipelining rules (without PIPELINING it waits for
    each reply; with it, group-ending commands still wait).  Replies are
    matched to commands in order; a reply with no command outstanding, or
    bytes that arrive between STARTTLS's 220 and the TLS handshake, are
    response injection and raise :class:`~mailproto.errors.RemoteProtocolError`.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable

import attrs

from mailproto import sasl
from mailproto._buffer import DotBlockReader, ReceiveBuffer
from mailproto._sentinels import NEED_DATA, PAUSED, Sentinel
from mailproto.codecs.dotstuff import DotStuffer
from mailproto.codecs.line_endings import normalize_line_endings
from mailproto.errors import LimitExceeded, LocalProtocolError, RemoteProtocolError
from mailproto.limits import SMTPLimits
from mailproto.smtp import replies
from mailproto.smtp._address import Mailbox
from mailproto.smtp._events import (
    Auth,
    AuthAnswer,
    Authenticated,
    AuthFailed,
    AuthQuestion,
    Bdat,
    CommandRejected,
    ConnectionClosed,
    Data,
    DataChunk,
    Ehlo,
    EhloReply,
    EndOfChunk,
    EndOfData,
    Event,
    Expn,
    Helo,
    Help,
    Lhlo,
    MailFrom,
    MessageAborted,
    Noop,
    Quit,
    RcptTo,
    RecipientReply,
    Rset,
    StartTLS,
    Vrfy,
    new_data_chunk,
)
from mailproto.smtp._readers import CommandError, ReplyParser, parse_command
from mailproto.smtp._state import (
    ENDS_PIPELINE_GROUP,
    TRANSITIONS,
    State,
    Transition,
    Verb,
    transition,
)
from mailproto.smtp._writers import write_command
from mailproto.smtp.extensions import (
    BareLineEndings,
    Body,
    Extensions,
    MailParameters,
    ServerConfig,
)
from mailproto.smtp.replies import Reply

__all__ = ["ClientConnection", "ServerConnection"]

#: What ``next_event()`` returns.
NextEvent = Event | Reply | Sentinel

# Enum members as module constants.  On Python 3.10 and 3.11 the enum
# metaclass defines __getattr__, which sends *every* attribute lookup on an
# enum class (``State.READY`` included, although the member is right in the
# class dict) through a generic slot wrapper: about 0.2 µs each, and the
# connections read states and verbs dozens of times per command.  A module
# global is the cheapest read there is (the interpreter caches it), so the
# code below says ``_S_READY`` for ``State.READY`` and ``_V_MAIL`` for
# ``Verb.MAIL`` -- the very same members.

_S_GREETING = State.GREETING
_S_REFUSED = State.REFUSED
_S_CONNECTED = State.CONNECTED
_S_READY = State.READY
_S_MAIL = State.MAIL
_S_RCPT = State.RCPT
_S_DATA = State.DATA
_S_BDAT = State.BDAT
_S_AUTH = State.AUTH
_S_TLS_HANDSHAKE = State.TLS_HANDSHAKE
_S_CLOSED = State.CLOSED

_V_GREETING = Verb.GREETING
_V_HELO = Verb.HELO
_V_EHLO = Verb.EHLO
_V_LHLO = Verb.LHLO
_V_MAIL = Verb.MAIL
_V_RCPT = Verb.RCPT
_V_DATA = Verb.DATA
_V_BDAT = Verb.BDAT
_V_BDAT_LAST = Verb.BDAT_LAST
_V_END_OF_DATA = Verb.END_OF_DATA
_V_RSET = Verb.RSET
_V_VRFY = Verb.VRFY
_V_EXPN = Verb.EXPN
_V_HELP = Verb.HELP
_V_NOOP = Verb.NOOP
_V_QUIT = Verb.QUIT
_V_STARTTLS = Verb.STARTTLS
_V_AUTH = Verb.AUTH
_V_AUTH_RESPONSE = Verb.AUTH_RESPONSE
_V_TLS_DONE = Verb.TLS_DONE

_B_REJECT = BareLineEndings.REJECT
_B_ACCEPT = BareLineEndings.ACCEPT
_B_NORMALIZE = BareLineEndings.NORMALIZE
_BODY_SEVEN_BIT = Body.SEVEN_BIT
_BODY_EIGHT_BIT_MIME = Body.EIGHT_BIT_MIME
_BODY_BINARY_MIME = Body.BINARY_MIME

# Commands a server answers only after asking the application.
_DECISIONS = frozenset({_V_HELO, _V_EHLO, _V_LHLO, _V_MAIL, _V_RCPT, _V_VRFY, _V_EXPN})
# Commands allowed before TLS when require_tls is set (RFC 3207 §4).
_BEFORE_TLS = frozenset({_V_HELO, _V_EHLO, _V_LHLO, _V_STARTTLS, _V_NOOP, _V_RSET, _V_QUIT})
_ENHANCED_EXEMPT = frozenset({_V_GREETING, _V_HELO, _V_EHLO, _V_LHLO})
_NO_EXTENSIONS = Extensions()
_LINE_SHOWN = 512
# transition() without the call (the server looks the table up for every
# command and every reply).
_TRANSITIONS_GET = TRANSITIONS.get


@functools.lru_cache(maxsize=256)
def _prefixed(reply: Reply, hostname: str) -> Reply:
    # RFC 5321 §4.2: greeting and HELO/EHLO replies start with the server's
    # domain.  Memoised: servers send the same few greetings all day.
    first = f"{hostname} {reply.lines[0]}".rstrip(" ")
    return attrs.evolve(reply, lines=(first, *reply.lines[1:]))


@functools.lru_cache(maxsize=256)
def _ehlo_reply(first: Reply, lines: tuple[str, ...]) -> Reply:
    return Reply(code=first.code, lines=(first.lines[0], *lines))


# (id(reply), enhanced, utf8) -> (reply, its wire form).  Every reply a server
# sends goes through here; Reply.to_bytes is memoised too, but keyed on the
# reply's hash, which attrs computes in Python.  The entry keeps the reply
# alive, so its id cannot be reused while the entry exists, and a hit is
# only taken for the very same object.
_WIRE: dict[tuple[int, bool, bool], tuple[Reply, bytes]] = {}
# (id(reply), hostname) -> (reply, the reply with the hostname prefixed).
_PREFIXED: dict[tuple[int, str], tuple[Reply, Reply]] = {}

# (id(config), tls_active, message_size) -> (config, extensions, ehlo lines).
# ServerConfig holds a dict, so it is not hashable; the entry keeps the config
# alive and is only used when the config is the very same object.
_ADVERTISED: dict[
    tuple[int, bool, int | None], tuple[ServerConfig, Extensions, tuple[str, ...]]
] = {}


def _advertised(
    config: ServerConfig, tls_active: bool, message_size: int | None
) -> tuple[Extensions, tuple[str, ...]]:
    key = (id(config), tls_active, message_size)
    hit = _ADVERTISED.get(key)
    if hit is not None and hit[0] is config:
        return hit[1], hit[2]
    ext = config.extensions(tls_active=tls_active, message_size=message_size)
    lines = tuple(ext.to_lines())
    if len(_ADVERTISED) > 256:
        _ADVERTISED.clear()
    _ADVERTISED[key] = (config, ext, lines)
    return ext, lines


# =============================================================================
# Server
# =============================================================================


class ServerConnection:
    """The server side of one SMTP, ESMTP or LMTP session.

    The application sends the greeting first (``conn.send(Reply(code=220,
    lines="ESMTP ready"))`` — the server's hostname is prepended), then loops
    over ``next_event()``; see the tutorial.

    *sasl_mechanism* creates the SASL server mechanism for a name the client
    chose from :attr:`ServerConfig.auth_mechanisms` (default:
    :func:`mailproto.sasl.server_mechanism`); pass your own to configure
    channel bindings for SCRAM-PLUS.
    """

    # Per-session scalars start from these class attributes: an instance
    # reads the class's value until it first assigns its own.  They are all
    # immutable (ints, bools, None, enum members), so sharing the defaults is
    # safe, and creating a connection — once per SMTP session, the dominant
    # cost of short sessions after the syscalls — sets only the fields that
    # need an object of their own or depend on the arguments.

    #: The :class:`Authenticated` event of a successful AUTH, or ``None``.
    authenticated: Authenticated | None = None
    #: The domain the client gave in HELO/EHLO/LHLO (accepted), or ``None``.
    client_domain: str | None = None
    #: The accepted MAIL of the open transaction, or ``None``.
    mail_from: MailFrom | None = None
    #: Octets discarded because they arrived after STARTTLS and before the
    #: TLS handshake (RFC 3207 §4.2: never interpreted).
    discarded_after_starttls = 0
    _state = _S_GREETING
    # The verb whose reply the application owes (PAUSED until it comes).
    _awaiting: Verb | None = _V_GREETING
    _pending_event: Event | None = None
    _hello: Verb | None = None  # HELO/EHLO/LHLO in force
    _ext = _NO_EXTENSIONS  # extensions in force (after EHLO/LHLO)
    _enhanced = False  # ENHANCEDSTATUSCODES in force (RFC 2034)
    _eof = False
    _errors = 0
    _skipping_line = False
    # True when the line being skipped was already answered (AUTH).
    _skip_silently = False
    _rcpt_attempts = 0
    _line_ascii = True  # the command being checked had no 8-bit octets
    # Message intake
    _dot: DotBlockReader | None = None
    _msg_size = 0
    _abort: Reply | None = None
    _line_len = 0  # length of the current partial DATA line
    _bdat_remaining = 0
    _bdat_size = 0  # octets announced by the BDAT being read
    _bdat_last = False
    _bdat_discard = False  # consuming a refused chunk
    _bdat_cr = False  # the previous BDAT piece ended with CR
    _bdat_hold = False  # NORMALIZE: a CR held back from the last piece
    _bdat_open = False  # a BDAT chunk is being read
    _lmtp_owed = 0
    # SASL
    _sasl: sasl.ServerMechanism | None = None
    _sasl_name = ""

    def __init__(
        self,
        config: ServerConfig | None = None,
        *,
        limits: SMTPLimits | None = None,
        sasl_mechanism: Callable[[str], sasl.ServerMechanism] | None = None,
    ) -> None:
        #: What the server advertises and enforces.
        self.config = config if config is not None else ServerConfig()
        #: Size and count bounds.
        self.limits = limits if limits is not None else SMTPLimits()
        # (None: mailproto.sasl.server_mechanism, resolved when AUTH starts.)
        self._sasl_factory = sasl_mechanism
        self._buf = ReceiveBuffer()
        self._out: list[bytes] = []
        self._events: collections.deque[Event] = collections.deque()
        #: True once TLS protects the session (implicit, or after STARTTLS).
        self.tls_active = self.config.tls_active
        #: The accepted recipients of the open transaction, in order.
        self.recipients: list[RcptTo] = []
        # The fields read on every command are the instance's own from the
        # start: reading a class default through an instance is the slow,
        # unspecialised attribute path.
        self._state = _S_GREETING
        self._awaiting = _V_GREETING
        self._eof = False
        self._bdat_open = False
        self._skipping_line = False
        self._enhanced = False
        self.mail_from = None

    # -- public properties ----------------------------------------------------

    @property
    def state(self) -> State:
        """Where the session is (:class:`~mailproto.smtp.State`)."""
        return self._state

    @property
    def extensions(self) -> Extensions:
        """What an EHLO would advertise right now."""
        return _advertised(self.config, self.tls_active, self.limits.message_size)[0]

    @property
    def awaiting_reply(self) -> bool:
        """True while the application owes a reply (``next_event()`` is PAUSED)."""
        return self._awaiting is not None

    # -- I/O ------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the client; ``b""`` means the client closed.

        Raises :class:`~mailproto.errors.LimitExceeded` when the client keeps
        sending while a reply is owed and the backlog exceeds
        ``pipelined_commands × command_line_length`` octets (stop reading
        while ``next_event()`` returns PAUSED to apply backpressure instead).
        """
        if not data:
            self._eof = True
            return
        state = self._state
        if state is _S_TLS_HANDSHAKE or state is _S_CLOSED:
            # RFC 3207 §4.2: nothing between STARTTLS and the handshake is a
            # command.  After QUIT/421 nothing is read at all.
            if state is _S_TLS_HANDSHAKE:
                self.discarded_after_starttls += len(data)
            return
        self._buf._data += data  # (ReceiveBuffer.append, without the call)
        if self._awaiting is not None:
            bound = self.limits.pipelined_commands * self.limits.command_line_length
            if len(self._buf) > bound:
                raise LimitExceeded(
                    "client pipelined too much without reading replies",
                    limit="pipelined_commands",
                    bound=self.limits.pipelined_commands,
                    hint=replies.SERVICE_UNAVAILABLE.hint(fatal=True),
                )

    def data_to_send(self) -> bytes:
        """Return (and forget) the bytes queued for the client."""
        out = b"".join(self._out)
        self._out.clear()
        return out

    def start_tls_done(self) -> None:
        """Tell the connection the TLS handshake after STARTTLS completed.

        Whatever the client sent before the handshake is discarded (RFC 3207
        §4.2), and the session restarts: the client must EHLO again.
        """
        if self._state is not _S_TLS_HANDSHAKE:
            raise LocalProtocolError("start_tls_done() without a STARTTLS in progress")
        self.discarded_after_starttls += len(self._buf.take_all())
        self._set_state(_V_TLS_DONE, ok=True)
        self.tls_active = True
        self._hello = None
        self._ext = _NO_EXTENSIONS
        self._enhanced = False
        self.client_domain = None
        self.authenticated = None  # RFC 3207 §4.2: forget AUTH too
        self._reset_transaction()

    # -- events ---------------------------------------------------------------

    def next_event(self) -> NextEvent:
        """The next event, or ``NEED_DATA`` / ``PAUSED``.

        Never raises anything but :class:`~mailproto.errors.ProtocolError`
        subclasses, whatever the client sent.
        """
        if self._events:
            return self._events.popleft()
        if self._awaiting is not None:
            return PAUSED
        state = self._state
        if state is _S_CLOSED:
            self._buf.take_all()
            return ConnectionClosed() if self._eof else PAUSED
        if state is _S_TLS_HANDSHAKE:
            return PAUSED
        data = self._buf._data  # (its own len: ReceiveBuffer.__len__ is a Python call)
        if not data and not self._bdat_open and not self._eof:
            # Nothing buffered: no reader can make progress (only a BDAT
            # chunk of size 0 completes without octets).  This is where every
            # command of an unpipelined session ends up once answered.
            return NEED_DATA
        while True:
            before = (len(data), self._bdat_open, self._skipping_line)
            if state is _S_DATA:
                event = self._read_data()
            elif self._bdat_open:
                event = self._read_bdat()
            elif state is _S_AUTH:
                event = self._read_auth()
            else:
                event = self._read_command()
            if event is not None:
                return event
            if self._events:
                return self._events.popleft()
            if self.awaiting_reply:
                return PAUSED
            if self._state is _S_CLOSED:
                return ConnectionClosed() if self._eof else PAUSED
            if self._state is not state:
                state = self._state
                continue
            if before != (len(data), self._bdat_open, self._skipping_line):
                continue  # progress without an event (a dropped chunk...)
            if self._eof:
                self._state = _S_CLOSED
                return ConnectionClosed()
            return NEED_DATA

    def send(self, event: Event | Reply) -> None:
        """Answer the event the connection is waiting on.

        Send a :class:`Reply` for every event documented "reply owed", an
        :class:`AuthAnswer` for an :class:`AuthQuestion`.  Raises
        :class:`~mailproto.errors.LocalProtocolError` (state unchanged) when
        nothing is owed or the reply does not fit (a 3xx to MAIL, ...).
        """
        awaiting = self._awaiting
        if not isinstance(event, Reply):
            if not isinstance(event, AuthAnswer):
                raise LocalProtocolError(f"a server sends replies, not {type(event).__name__}")
            if awaiting is not _V_AUTH or self._sasl is None or self._sasl.pending is None:
                raise LocalProtocolError("no SASL question is waiting for an answer")
            self._awaiting = None
            try:
                step = self._sasl.answer(event.answer)  # type: ignore[arg-type]
            except sasl.SASLError as exc:
                self._auth_end_failure(str(exc), replies.AUTH_FAILED)
                return
            self._auth_step(step)
            return
        if awaiting is None or awaiting is _V_AUTH:
            raise LocalProtocolError("no reply is owed now")
        reply = event
        code = reply.code
        if code // 100 == 3 or (awaiting is _V_GREETING and code not in (220, 554)):
            raise LocalProtocolError(f"{code} is not a valid reply to {awaiting.value}")
        ok = code < 400  # (Reply.is_positive)
        if awaiting is _V_MAIL or awaiting is _V_RCPT:
            # The commonest answers first (every transaction has both).
            pending = self._pending_event
            self._awaiting = self._pending_event = None
            self._write(reply, awaiting)
            if ok:
                if awaiting is _V_MAIL:
                    assert isinstance(pending, MailFrom)
                    self.mail_from = pending
                else:
                    assert isinstance(pending, RcptTo)
                    self.recipients.append(pending)
            self._set_state(awaiting, ok=ok)
            return
        if awaiting is _V_END_OF_DATA and self.config.lmtp:
            self._write(reply, awaiting)
            self._lmtp_owed -= 1
            if self._lmtp_owed > 0:
                return  # more per-recipient replies owed (RFC 2033 §4.2)
            self._awaiting = None
            self._finish_message(ok=True)
            return
        self._awaiting = None
        pending, self._pending_event = self._pending_event, None
        if awaiting is _V_GREETING:
            self._write(self._prefixed(reply) if ok else reply, awaiting)
            self._set_state(awaiting, ok=ok)
        elif awaiting in (_V_HELO, _V_EHLO, _V_LHLO):
            if ok:
                assert isinstance(pending, (Helo, Ehlo, Lhlo))
                self._hello = awaiting
                self.client_domain = pending.domain
                self._reset_transaction()
                if awaiting is _V_HELO:
                    self._ext = _NO_EXTENSIONS
                    self._enhanced = False
                    self._write(self._prefixed(reply), awaiting)
                else:
                    ext, lines = _advertised(self.config, self.tls_active, self.limits.message_size)
                    self._ext = ext
                    self._enhanced = "ENHANCEDSTATUSCODES" in ext
                    self._write(_ehlo_reply(self._prefixed(reply), lines), awaiting)
            else:
                self._write(reply, awaiting)
            self._set_state(awaiting, ok=ok)
        elif awaiting in (_V_END_OF_DATA, _V_BDAT_LAST):
            self._write(reply, awaiting)
            self._finish_message(ok=ok)
        elif awaiting is _V_BDAT:
            # The answer to a non-final chunk (EndOfChunk).  A failure ends
            # the transaction (RFC 3030 §2 and the table's BDAT → READY);
            # chunks already pipelined then meet READY and get 503 while
            # their octets are read and dropped, so the stream stays in sync.
            self._write(reply, awaiting)
            if not ok:
                self._reset_transaction()
                self._set_state(awaiting, ok=False)
        else:  # VRFY, EXPN: no state change
            self._write(reply, awaiting)

    # -- output helpers -------------------------------------------------------

    def _prefixed(self, reply: Reply) -> Reply:
        # (memoised by identity: _prefixed's lru_cache would hash the reply,
        # which attrs does in Python)
        hostname = self.config.hostname
        key = (id(reply), hostname)
        hit = _PREFIXED.get(key)
        if hit is not None and hit[0] is reply:
            return hit[1]
        out = _prefixed(reply, hostname)
        if len(_PREFIXED) >= 256:
            _PREFIXED.clear()
        _PREFIXED[key] = (reply, out)
        return out

    def _write(self, reply: Reply, verb: Verb | None) -> None:
        # RFC 2034 §3: enhanced codes only once advertised, and never on the
        # greeting or the HELO/EHLO reply.
        mail = self.mail_from
        key = (
            id(reply),
            self._enhanced and verb not in _ENHANCED_EXEMPT,
            mail is not None and mail.parameters.smtputf8,
        )
        hit = _WIRE.get(key)
        if hit is not None and hit[0] is reply:
            self._out.append(hit[1])
            return
        wire = reply.to_bytes(enhanced=key[1], utf8=key[2])
        if len(_WIRE) >= 1024:
            _WIRE.clear()
        _WIRE[key] = (reply, wire)
        self._out.append(wire)

    def _set_state(self, verb: Verb, *, ok: bool, more: bool = False) -> None:
        tr = _TRANSITIONS_GET((self._state, verb))
        assert tr is not None, (self._state, verb)
        nxt = tr.more if more else (tr.ok if ok else tr.fail)
        assert nxt is not None
        self._state = nxt

    def _reset_transaction(self) -> None:
        self.mail_from = None
        self.recipients = []
        self._rcpt_attempts = 0
        self._msg_size = 0
        self._abort = None
        self._dot = None
        self._bdat_cr = False
        self._bdat_hold = False
        self._line_len = 0

    def _reject(
        self, line: bytes, reply: Reply, verb: Verb | None = None, *, error: bool = True
    ) -> Event:
        """Answer a bad command ourselves; give up after too many (*error* ones)."""
        if error:
            self._errors += 1
        if error and self._errors >= self.limits.errors:
            reply = replies.TOO_MANY_ERRORS
            self._write(reply, verb)
            self._state = _S_CLOSED
        else:
            self._write(reply, verb)
        return CommandRejected(line=line.rstrip(b"\r\n")[:_LINE_SHOWN], reply=reply)

    # -- commands -------------------------------------------------------------

    def _read_command(self) -> Event | None:
        limit = self.limits.command_line_length
        buf = self._buf
        if self._skipping_line:
            # Discard the rest of an over-long line, then answer it once; what
            # was pipelined after its line end stays buffered.
            if not buf.skip_line():
                return None
            self._skipping_line = False
            if self._skip_silently:
                self._skip_silently = False
                return None
            return self._reject(b"", replies.LINE_TOO_LONG)
        try:
            line = buf.next_line(limit, limit="command_line_length")
        except LimitExceeded:
            if buf.skip_line():  # the whole line is here: answer at once
                return self._reject(b"", replies.LINE_TOO_LONG)
            self._skipping_line = True
            return None
        if line is None:
            return None
        return self._handle_command(line)

    def _handle_command(self, line: bytes) -> Event | None:
        cfg = self.config
        try:
            verb, event = parse_command(
                line, self._ext, cfg.smtputf8, cfg.extra_mail_parameters, cfg.extra_rcpt_parameters
            )
        except CommandError as exc:
            # (A BDAT with a malformed size leaves the chunk length unknown:
            # what follows is read as commands, as Postfix does.)
            return self._reject(line, exc.reply, exc.verb)
        # LMTP speaks LHLO only; SMTP never LHLO (RFC 2033 §4.1).
        if (cfg.lmtp and verb in (_V_HELO, _V_EHLO)) or (not cfg.lmtp and verb is _V_LHLO):
            return self._reject(line, replies.COMMAND_UNRECOGNIZED, verb)
        if verb is _V_BDAT:
            assert isinstance(event, Bdat)
            if event.last:
                verb = _V_BDAT_LAST
        self._line_ascii = line.isascii()
        refusal = self._refusal(verb, event)
        if refusal is not None:
            if isinstance(event, Bdat):
                # RFC 3030 §2: the chunk's octets follow regardless; they must
                # be consumed (and dropped) or they would be read as commands.
                self._bdat_remaining = event.size
                self._bdat_discard = True
                self._bdat_open = True
                self._bdat_last = False
                if self._state is _S_BDAT or refusal is replies.EMPTY_CHUNK_NOT_LAST:
                    # A failed chunk fails the transaction (RFC 3030 §2),
                    # the first one too (the table's RCPT --BDAT--> READY on
                    # failure, where the client goes as well).  After the
                    # CommandRejected, a MessageAborted tells the application
                    # to drop what it received for the message.
                    self._reset_transaction()
                    self._state = _S_READY
                    rejected = self._reject(line, refusal, verb)
                    self._events.append(MessageAborted(reply=refusal))
                    return rejected
            if refusal is replies.TOO_MANY_RECIPIENTS:
                # RFC 5321 §4.5.3.1.10: past the limit the client is told 452
                # and is expected to send the rest in another transaction; a
                # client that pipelined them all is not at fault.  Only
                # recipients beyond the overshoot count as errors (Postfix's
                # smtpd_recipient_overshoot_limit), so that the limit still
                # ends a session that sends recipients for ever.
                self._rcpt_attempts += 1
                overshoot = self._rcpt_attempts - self.limits.recipients
                return self._reject(
                    line, refusal, verb, error=overshoot > self.limits.recipient_overshoot
                )
            return self._reject(line, refusal, verb)
        if verb in _DECISIONS:
            if verb is _V_RCPT:
                self._rcpt_attempts += 1
            self._awaiting = verb
            self._pending_event = event
            return event
        return self._auto(verb, event)

    def _refusal(self, verb: Verb, event: Event) -> Reply | None:
        """The reply refusing *event* in the current state, or ``None``."""
        cfg = self.config
        state = self._state
        ext = self._ext
        if state is _S_REFUSED and verb is not _V_QUIT:
            return replies.BAD_SEQUENCE
        if cfg.require_tls and not self.tls_active and verb not in _BEFORE_TLS:
            return replies.STARTTLS_FIRST
        # Commands of extensions that are not in force (RFC 5321 §4.1.1.1:
        # only what EHLO advertised may be used).
        if verb in (_V_BDAT, _V_BDAT_LAST) and "CHUNKING" not in ext:
            return replies.NOT_IMPLEMENTED
        if verb is _V_STARTTLS:
            if self.tls_active:
                return replies.TLS_ALREADY_ACTIVE
            if not cfg.starttls:
                return replies.NOT_IMPLEMENTED
        if verb is _V_AUTH:
            assert isinstance(event, Auth)
            if not cfg.auth_mechanisms:
                return replies.NOT_IMPLEMENTED
            if "AUTH" not in ext:
                # Mechanisms exist but are withheld until TLS (or EHLO).
                if cfg.auth_requires_tls and not self.tls_active:
                    return replies.ENCRYPTION_REQUIRED
                return replies.SEND_HELO_FIRST
            if self.authenticated is not None:
                return replies.ALREADY_AUTHENTICATED
            if state in (_S_MAIL, _S_RCPT):
                return replies.AUTH_IN_TRANSACTION
            if event.mechanism not in ext.auth_mechanisms:
                return replies.AUTH_MECHANISM_UNKNOWN
        tr = _TRANSITIONS_GET((state, verb))
        if tr is None:
            return self._sequence_error(verb)
        if verb is _V_MAIL:
            assert isinstance(event, MailFrom)
            params = event.parameters
            if cfg.require_auth and self.authenticated is None:
                return replies.AUTH_REQUIRED
            limit = self.limits.message_size
            if limit is not None and params.size is not None and params.size > limit:
                # RFC 1870 §6.1: declared size over the fixed limit → 552.
                return replies.MESSAGE_TOO_BIG
            # RFC 6531 §3.4: UTF-8 on the MAIL line only with SMTPUTF8 on it
            # (xtext-encoded parameter values are ASCII on the wire and fine).
            if not params.smtputf8 and not self._line_ascii:
                return replies.NON_ASCII_ADDRESS
        elif verb is _V_RCPT:
            assert isinstance(event, RcptTo)
            if self._rcpt_attempts >= self.limits.recipients:
                return replies.TOO_MANY_RECIPIENTS
            utf8 = self.mail_from is not None and self.mail_from.parameters.smtputf8
            if not utf8 and not self._line_ascii:
                return replies.NON_ASCII_ADDRESS
        elif verb is _V_DATA:
            if self.mail_from is not None and self.mail_from.parameters.body is _BODY_BINARY_MIME:
                return replies.BINARYMIME_NEEDS_BDAT
        elif verb is _V_BDAT:
            assert isinstance(event, Bdat)
            if event.size == 0:
                # RFC 3030 §2: "The last BDAT command MAY have a byte-count of
                # zero" -- only the last: an empty chunk without LAST carries
                # nothing and ends nothing (Postfix refuses it too).
                return replies.EMPTY_CHUNK_NOT_LAST
        elif verb in (_V_HELO, _V_EHLO, _V_LHLO):
            assert isinstance(event, (Helo, Ehlo, Lhlo))
            if not event.domain.isascii() and not cfg.smtputf8:
                return replies.SYNTAX_ERROR_IN_PARAMETERS
        return None

    def _sequence_error(self, verb: Verb) -> Reply:
        state = self._state
        if state is _S_CONNECTED and verb in (
            _V_MAIL,
            _V_RCPT,
            _V_DATA,
            _V_BDAT,
            _V_BDAT_LAST,
            _V_AUTH,
        ):
            return replies.SEND_HELO_FIRST
        if verb is _V_MAIL and state in (_S_MAIL, _S_RCPT, _S_BDAT):
            return replies.NESTED_MAIL
        if verb is _V_RCPT and state is _S_READY:
            return replies.NEED_MAIL
        if verb in (_V_DATA, _V_BDAT, _V_BDAT_LAST):
            if state is _S_MAIL:
                # RFC 2920 §3.1 / RFC 5321 §3.3: all recipients were refused.
                return replies.NO_VALID_RECIPIENTS
            if state is _S_READY:
                return replies.NEED_MAIL
        if verb is _V_AUTH and state in (_S_MAIL, _S_RCPT):
            return replies.AUTH_IN_TRANSACTION
        return replies.BAD_SEQUENCE

    def _auto(self, verb: Verb, event: Event) -> Event | None:
        """Commands the connection answers itself; the event is information."""
        if verb is _V_NOOP:
            self._write(replies.OK, verb)
            self._set_state(verb, ok=True)
        elif verb is _V_RSET:
            self._write(replies.OK, verb)
            self._reset_transaction()
            self._set_state(verb, ok=True)
        elif verb is _V_HELP:
            self._write(replies.HELP, verb)
        elif verb is _V_QUIT:
            self._write(replies.CLOSING, verb)
            self._set_state(verb, ok=True)
        elif verb is _V_STARTTLS:
            self._write(replies.READY_FOR_TLS, verb)
            self._set_state(verb, ok=True)
            # RFC 3207 §4.2: pipelined bytes after STARTTLS are discarded,
            # never executed (the STARTTLS command injection class).
            self.discarded_after_starttls += len(self._buf.take_all())
        elif verb is _V_DATA:
            self._write(replies.START_MAIL_INPUT, verb)
            self._set_state(verb, ok=True, more=True)
            # The bare CR/LF check costs about one pass over the data; a
            # server that accepts bare line ends as they are does not need it.
            # NORMALIZE has the reader treat them as line ends throughout.
            policy = self.config.bare_line_endings
            self._dot = DotBlockReader(
                max_chunk=self.limits.data_chunk_size,
                detect_bare=policy is not _B_ACCEPT,
                normalize=policy is _B_NORMALIZE,
            )
            self._msg_size = 0
            self._line_len = 0
        elif verb in (_V_BDAT, _V_BDAT_LAST):
            assert isinstance(event, Bdat)
            self._bdat_remaining = self._bdat_size = event.size
            self._bdat_last = event.last
            self._bdat_discard = False
            self._bdat_open = True
            if self._state is not _S_BDAT:
                self._state = _S_BDAT  # the chunk is read in BDAT state
        elif verb is _V_AUTH:
            assert isinstance(event, Auth)
            return self._auth_start(event)
        return event

    # -- DATA -----------------------------------------------------------------

    def _read_data(self) -> Event | None:
        dot = self._dot
        assert dot is not None
        buf = self._buf
        limit = self.limits.message_size
        cfg = self.config
        while True:
            piece = dot.read(buf)
            if piece is None:
                return None
            if dot.done and not piece:
                return self._end_of_message(_V_END_OF_DATA)
            if self._abort is not None:
                continue  # consume and drop the rest of a refused message
            if limit is not None and dot.size > limit:
                self._abort = replies.MESSAGE_TOO_BIG
                continue
            if (dot.bare_lf or dot.bare_cr) and cfg.bare_line_endings is _B_REJECT:
                self._abort = replies.BARE_LINE_ENDING
                continue
            # (With NORMALIZE the reader has already turned bare CR and LF
            # into CRLF and unstuffed the lines they begin.)
            if not cfg.allow_nul and b"\x00" in piece:
                self._abort = replies.NUL_IN_DATA
                continue
            if self.limits.data_line_length is not None and self._line_too_long(piece):
                self._abort = replies.LINE_TOO_LONG
                continue
            self._msg_size = dot.size
            if dot.done:
                # The terminator came right after this piece.
                self._events.append(new_data_chunk(piece))
                return self._end_of_message(_V_END_OF_DATA)
            return new_data_chunk(piece)

    def _line_too_long(self, piece: bytes) -> bool:
        bound = self.limits.data_line_length
        assert bound is not None
        last = piece.rfind(b"\n")
        if last < 0:
            self._line_len += len(piece)
            return self._line_len > bound
        first = piece.find(b"\n")
        if self._line_len + first + 1 > bound:
            return True
        # The longest complete line inside the piece: split is C speed.
        if max(map(len, piece[first + 1 : last + 1].split(b"\n"))) + 1 > bound:
            return True
        self._line_len = len(piece) - last - 1
        return self._line_len > bound

    def _end_of_message(self, verb: Verb) -> Event | None:
        if self._abort is not None:
            reply = self._abort
            self._write(reply, verb)
            self._events.append(MessageAborted(reply=reply))
            self._reset_transaction()
            self._state = _S_READY
            return None
        self._awaiting = _V_END_OF_DATA if verb is _V_END_OF_DATA else _V_BDAT_LAST
        if self.config.lmtp:
            self._awaiting = _V_END_OF_DATA
            self._lmtp_owed = len(self.recipients)
        self._events.append(EndOfData())
        return None

    def _finish_message(self, *, ok: bool) -> None:
        self._reset_transaction()
        self._state = _S_READY

    # -- BDAT -----------------------------------------------------------------

    def _read_bdat(self) -> Event | None:
        remaining = self._bdat_remaining
        if remaining:
            piece = self._buf.take_at_most(min(remaining, self.limits.data_chunk_size))
            if not piece:
                return None
            self._bdat_remaining = remaining = remaining - len(piece)
            if not self._bdat_discard and self._abort is None:
                self._check_bdat_piece(piece)
                if self._abort is None:
                    self._msg_size += len(piece)
                    if self.config.bare_line_endings is _B_NORMALIZE and not self._binary():
                        piece = self._normalize_bdat(piece, final=not remaining and self._bdat_last)
                    if piece and remaining:
                        return DataChunk(data=piece)
                    if piece:
                        self._events.append(DataChunk(data=piece))
            if remaining:
                return None
        # The chunk is complete.
        self._bdat_open = False
        if self._bdat_discard:
            self._bdat_discard = False
            self._bdat_last = False
            return None
        if self._bdat_last:
            self._bdat_last = False
            if self._bdat_hold:
                # NORMALIZE: the message ended on a CR, so it was a bare one.
                self._bdat_hold = False
                if self._abort is None:
                    self._events.append(DataChunk(data=b"\r\n"))
            if self._bdat_cr and self.config.bare_line_endings is _B_REJECT:
                if not self._binary() and self._abort is None:
                    self._abort = replies.BARE_LINE_ENDING
            return self._end_of_message(_V_BDAT_LAST)
        if self._abort is not None:
            # RFC 3030 §2: an error reply to a chunk fails the transaction.
            self._write(self._abort, _V_BDAT)
            self._events.append(MessageAborted(reply=self._abort))
            self._reset_transaction()
            self._state = _S_READY
            return None
        if self.config.confirm_chunks:
            # RFC 3030 §2: "the receiver-SMTP ... may reply" to each chunk;
            # the application decides (send() below handles the answer).
            self._awaiting = _V_BDAT
            self._events.append(EndOfChunk(size=self._bdat_size, received=self._msg_size))
            return None
        self._write(replies.CHUNK_OK, _V_BDAT)
        return None

    def _normalize_bdat(self, piece: bytes, *, final: bool) -> bytes:
        """_B_NORMALIZE for BDAT: bare CR and LF become CRLF.

        BDAT content is not dot-stuffed, so this is the whole of it.  A CRLF
        may straddle two pieces (or two chunks: their sizes are the client's
        choice), so a CR at the end of a piece is held back until the next
        octet shows whether it is bare.
        """
        if self._bdat_hold:
            piece = b"\r" + piece
            self._bdat_hold = False
        if not final and piece.endswith(b"\r"):
            piece = piece[:-1]
            self._bdat_hold = True
        return normalize_line_endings(piece)

    def _binary(self) -> bool:
        return self.mail_from is not None and self.mail_from.parameters.body is _BODY_BINARY_MIME

    def _check_bdat_piece(self, piece: bytes) -> None:
        limit = self.limits.message_size
        if limit is not None and self._msg_size + len(piece) > limit:
            self._abort = replies.MESSAGE_TOO_BIG
            return
        if self._binary():
            return  # RFC 3030 §3: BINARYMIME content is arbitrary octets
        cfg = self.config
        if not cfg.allow_nul and b"\x00" in piece:
            self._abort = replies.NUL_IN_DATA
            return
        if cfg.bare_line_endings is _B_REJECT:
            # Bare CR/LF counted at C speed; a CRLF may straddle two pieces.
            carry = self._bdat_cr
            crlf = piece.count(b"\r\n") + (1 if carry and piece[:1] == b"\n" else 0)
            ends_cr = piece.endswith(b"\r")
            bare = (
                piece.count(b"\n") != crlf
                or piece.count(b"\r") - (1 if ends_cr else 0) != piece.count(b"\r\n")
                or (carry and piece[:1] != b"\n")
            )
            self._bdat_cr = ends_cr
            if bare:
                self._abort = replies.BARE_LINE_ENDING

    # -- AUTH -----------------------------------------------------------------

    def _auth_start(self, event: Auth) -> Event | None:
        try:
            if self._sasl_factory is not None:
                mech = self._sasl_factory(event.mechanism)
            else:
                mech = sasl.server_mechanism(event.mechanism, hostname=self.config.hostname)
        except LocalProtocolError:
            self._write(replies.AUTH_MECHANISM_UNKNOWN, _V_AUTH)
            return event
        self._sasl = mech
        self._sasl_name = event.mechanism
        self._state = _S_AUTH  # the table's "334 → AUTH"; left on the final reply
        ir: bytes | None = None
        if event.initial_response is not None:
            try:
                ir = sasl.decode_response(event.initial_response, initial=True)
            except sasl.SASLCancelled:
                self._auth_end_failure("cancelled", replies.AUTH_CANCELLED)
                return Auth(mechanism=event.mechanism, initial_response=None)
            except sasl.SASLError:
                self._auth_end_failure("bad base64", replies.AUTH_BAD_BASE64)
                return Auth(mechanism=event.mechanism, initial_response=None)
        out = Auth(mechanism=event.mechanism, initial_response=ir)
        self._events.append(out)
        try:
            step = mech.step(ir)
        except sasl.SASLError as exc:
            self._auth_end_failure(str(exc), replies.AUTH_FAILED)
            return None
        self._auth_step(step)
        return None

    def _auth_step(self, step: sasl.Step) -> None:
        if isinstance(step, sasl.Challenge):
            self._out.append(b"334 " + sasl.encode_challenge(step.data) + b"\r\n")
        elif isinstance(step, sasl.Question):
            self._awaiting = _V_AUTH
            self._events.append(AuthQuestion(question=step))
        elif isinstance(step, sasl.Success):
            self._sasl = None
            self._state = _S_READY
            self._write(replies.AUTH_SUCCEEDED, _V_AUTH)
            self.authenticated = Authenticated(
                mechanism=self._sasl_name, authcid=step.authcid, authzid=step.authzid
            )
            self._events.append(self.authenticated)
        else:
            assert isinstance(step, sasl.Failure)
            self._auth_end_failure(step.reason, replies.AUTH_FAILED)

    def _auth_end_failure(self, reason: str, reply: Reply) -> None:
        self._sasl = None
        self._awaiting = None
        self._state = _S_READY
        self._write(reply, _V_AUTH)
        self._events.append(AuthFailed(mechanism=self._sasl_name, reason=reason, reply=reply))

    def _read_auth(self) -> Event | None:
        try:
            line = self._buf.next_line(self.limits.auth_line_length, limit="auth_line_length")
        except LimitExceeded:
            # The AUTH failure reply below answers this line: skip the rest of
            # it without answering it a second time.
            if not self._buf.skip_line():
                self._skipping_line = True
                self._skip_silently = True
            self._auth_end_failure("response too long", replies.LINE_TOO_LONG)
            return None
        if line is None:
            return None
        mech = self._sasl
        assert mech is not None
        try:
            if not line.endswith(b"\r\n"):
                raise sasl.SASLError("bare LF")
            response = sasl.decode_response(line)
        except sasl.SASLCancelled:
            self._auth_end_failure("cancelled", replies.AUTH_CANCELLED)
            return None
        except sasl.SASLError:
            self._auth_end_failure("bad base64", replies.AUTH_BAD_BASE64)
            return None
        try:
            step = mech.step(response)
        except sasl.SASLError as exc:
            self._auth_end_failure(str(exc), replies.AUTH_FAILED)
            return None
        self._auth_step(step)
        return None


# =============================================================================
# Client
# =============================================================================


@attrs.define(slots=True)
class _Pending:
    """A command whose reply the client still expects."""

    verb: Verb
    event: Event | None = None
    #: LMTP after the message: the recipients whose replies are still due.
    recipients: list[Mailbox] | None = None


_COMMAND_VERBS: dict[type[Event], Verb] = {
    Helo: _V_HELO,
    Ehlo: _V_EHLO,
    Lhlo: _V_LHLO,
    MailFrom: _V_MAIL,
    RcptTo: _V_RCPT,
    Data: _V_DATA,
    Rset: _V_RSET,
    Vrfy: _V_VRFY,
    Expn: _V_EXPN,
    Help: _V_HELP,
    Noop: _V_NOOP,
    Quit: _V_QUIT,
    StartTLS: _V_STARTTLS,
}


class ClientConnection:
    """The client side of one SMTP, ESMTP or LMTP session.

    The first event is the server's greeting (a :class:`Reply`).  Then send
    commands (``Ehlo``, ``MailFrom``, ``RcptTo``, ``Data`` ...) and read one
    reply event per command, in order.
    """

    def __init__(
        self,
        *,
        lmtp: bool = False,
        limits: SMTPLimits | None = None,
        tls_active: bool = False,
    ) -> None:
        #: Speak LMTP (RFC 2033).
        self.lmtp = lmtp
        #: Size and count bounds.
        self.limits = limits if limits is not None else SMTPLimits()
        #: True once TLS protects the session (implicit, or after STARTTLS).
        self.tls_active = tls_active
        #: What the server advertised in its last EHLO/LHLO reply (empty
        #: before it, after HELO, and after STARTTLS until EHLO again).
        self.extensions = _NO_EXTENSIONS
        #: True after a 235 reply to AUTH.
        self.authenticated = False
        self._buf = ReceiveBuffer()
        self._out: list[bytes] = []
        self._events: collections.deque[Event | Reply] = collections.deque()
        self._parser = ReplyParser(max_lines=self.limits.reply_lines)
        self._state = _S_GREETING
        self._projected = _S_GREETING
        self._pending: collections.deque[_Pending] = collections.deque([_Pending(_V_GREETING)])
        self._eof = False
        self._tx: MailParameters | None = None  # parameters of the sent MAIL
        self._accepted: list[Mailbox] = []
        self._stuffer: DotStuffer | None = None
        self._bdat_remaining = 0
        self._bdat_last = False
        self._after_bdat = False  # the last command sent was a BDAT
        self._data_ended = False
        self._sasl: sasl.ClientMechanism | None = None

    @property
    def state(self) -> State:
        """Where the session is, as far as the server's replies tell."""
        return self._state

    @property
    def pending_replies(self) -> int:
        """How many replies are still expected."""
        return len(self._pending)

    @property
    def accepted_recipients(self) -> list[Mailbox]:
        """Recipients the server accepted in the open transaction."""
        return list(self._accepted)

    # -- I/O ------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the server; ``b""`` means it closed."""
        if not data:
            self._eof = True
            return
        self._buf.append(data)

    def data_to_send(self) -> bytes:
        """Return (and forget) the bytes queued for the server."""
        out = b"".join(self._out)
        self._out.clear()
        return out

    def start_tls_done(self) -> None:
        """Tell the connection the TLS handshake after STARTTLS's 220 is done.

        RFC 3207 §4.2: the client forgets what it learnt (send EHLO again).
        """
        if self._state is not _S_TLS_HANDSHAKE:
            raise LocalProtocolError("start_tls_done() without a STARTTLS reply")
        if self._buf:
            raise RemoteProtocolError("server sent plaintext before the TLS handshake")
        self._state = self._projected = _S_CONNECTED
        self.tls_active = True
        self.extensions = _NO_EXTENSIONS
        self.authenticated = False

    # -- sending --------------------------------------------------------------

    def send(self, event: Event) -> None:
        """Queue a command (or message data); raise LocalProtocolError if the
        protocol or the server's advertised extensions do not allow it now."""
        if isinstance(event, DataChunk):
            self._send_chunk(event.data)
            return
        if isinstance(event, EndOfData):
            self._send_end_of_data()
            return
        if isinstance(event, Auth):
            raise LocalProtocolError("use authenticate() to run AUTH")
        if (self._stuffer is not None and not self._data_ended) or self._bdat_remaining:
            raise LocalProtocolError("finish the message data first")
        if isinstance(event, Bdat):
            if not event.size and not event.last:
                # RFC 3030 §2: only the last chunk may be empty; servers refuse
                # "BDAT 0" and fail the transaction (ours and Postfix's).
                raise LocalProtocolError(
                    "only the last BDAT chunk may be empty: send Bdat(size=0, last=True)"
                    " or EndOfData() to end the message"
                )
            verb = _V_BDAT_LAST if event.last else _V_BDAT
        else:
            found = _COMMAND_VERBS.get(type(event))
            if found is None:
                raise LocalProtocolError(f"a client does not send {type(event).__name__}")
            verb = found
        tr = self._check_command(verb, event)
        self._out.append(write_command(event))
        self._push(verb, event, tr)
        # (An empty DataChunk may follow a BDAT whose octets are all sent.)
        self._after_bdat = isinstance(event, Bdat)
        if isinstance(event, MailFrom):
            self._tx = event.parameters
        elif isinstance(event, Bdat):
            self._bdat_remaining = event.size
            self._bdat_last = event.last

    def authenticate(
        self, mechanism: sasl.ClientMechanism, *, initial_response: bool = True
    ) -> None:
        """Send ``AUTH`` for *mechanism* and run the SASL exchange (RFC 4954).

        Challenges are answered automatically; the events are the ``334``
        replies and the final reply (``235`` or an error).  The initial
        response is sent with AUTH when the mechanism has one and
        *initial_response* is true (RFC 4954 §4).
        """
        name = mechanism.name
        if name not in self.extensions.auth_mechanisms:
            raise LocalProtocolError(f"the server did not advertise AUTH {name}")
        if self.authenticated:
            raise LocalProtocolError("already authenticated")
        tr = self._check_command(_V_AUTH, None)
        ir = mechanism.initial_response() if initial_response else None
        line = write_command(Auth(mechanism=name, initial_response=ir))
        if len(line) > self.limits.auth_line_length:
            # RFC 4954 §4: too long for the AUTH line: send it after a 334.
            line = write_command(Auth(mechanism=name))
            ir = None
        self._after_bdat = False
        self._out.append(line)
        self._sasl = mechanism
        self._push(_V_AUTH, None, tr)

    def _push(self, verb: Verb, event: Event | None, tr: Transition) -> None:
        self._pending.append(_Pending(verb, event))
        self._projected = tr.more if tr.more is not None and verb is not _V_AUTH else tr.ok

    def _check_command(self, verb: Verb, event: Event | None) -> Transition:
        ext = self.extensions
        if self._state in (_S_CLOSED, _S_TLS_HANDSHAKE):
            raise LocalProtocolError(f"cannot send {verb.value} in state {self._state.value}")
        if self._pending:
            last = self._pending[-1].verb
            if last is _V_GREETING:
                raise LocalProtocolError("wait for the server's greeting")
            if not ext.pipelining:
                raise LocalProtocolError(
                    f"the server does not support PIPELINING: wait for the reply to {last.value}"
                )
            if last in ENDS_PIPELINE_GROUP or last is _V_BDAT_LAST:
                # RFC 2920 §3.1 (and BDAT LAST ends the message)
                raise LocalProtocolError(
                    f"{last.value} must be the last command of a pipelined group"
                )
        if self.lmtp and verb in (_V_HELO, _V_EHLO):
            raise LocalProtocolError("LMTP uses LHLO (RFC 2033 §4.1)")
        if not self.lmtp and verb is _V_LHLO:
            raise LocalProtocolError("LHLO is LMTP only")
        tr = transition(self._projected, verb)
        if tr is None:
            raise LocalProtocolError(f"{verb.value} not allowed in state {self._projected.value}")
        if verb in (_V_BDAT, _V_BDAT_LAST) and not ext.chunking:
            raise LocalProtocolError("the server did not advertise CHUNKING")
        if verb is _V_STARTTLS and (not ext.starttls or self.tls_active):
            raise LocalProtocolError("the server did not advertise STARTTLS")
        if verb is _V_DATA and self._tx is not None and self._tx.body is _BODY_BINARY_MIME:
            raise LocalProtocolError("BODY=BINARYMIME must be sent with BDAT (RFC 3030 §3)")
        if isinstance(event, MailFrom):
            self._check_mail(event, ext)
        elif isinstance(event, RcptTo):
            p = event.parameters
            if (p.notify is not None or p.orcpt is not None) and not ext.dsn:
                raise LocalProtocolError("the server did not advertise DSN")
            for key, _ in p.extra:
                if key not in ext:
                    raise LocalProtocolError(f"the server did not advertise {key}")
            utf8 = self._tx is not None and self._tx.smtputf8
            if not event.recipient.is_ascii and not utf8:
                raise LocalProtocolError("non-ASCII recipient needs SMTPUTF8 on MAIL (RFC 6531)")
        elif isinstance(event, (Helo, Ehlo, Lhlo, Vrfy, Expn)):
            text = event.domain if isinstance(event, (Helo, Ehlo, Lhlo)) else event.argument
            if not text.isascii() and not ext.smtputf8:
                raise LocalProtocolError("non-ASCII argument needs SMTPUTF8")
        return tr

    def _check_mail(self, event: MailFrom, ext: Extensions) -> None:
        p = event.parameters
        if p.size is not None:
            if "SIZE" not in ext:
                raise LocalProtocolError("the server did not advertise SIZE")
            if ext.size is not None and p.size > ext.size:
                raise LocalProtocolError(
                    f"message of {p.size} octets exceeds the server's SIZE {ext.size}"
                )
        if p.body is _BODY_EIGHT_BIT_MIME and not ext.eightbitmime:
            raise LocalProtocolError("the server did not advertise 8BITMIME")
        if p.body is _BODY_BINARY_MIME and not (ext.binarymime and ext.chunking):
            raise LocalProtocolError("the server did not advertise BINARYMIME and CHUNKING")
        if p.smtputf8 and not ext.smtputf8:
            raise LocalProtocolError("the server did not advertise SMTPUTF8")
        if (p.ret is not None or p.envid is not None) and not ext.dsn:
            raise LocalProtocolError("the server did not advertise DSN")
        if p.auth is not None and "AUTH" not in ext:
            raise LocalProtocolError("the server did not advertise AUTH")
        if p.by is not None and "DELIVERBY" not in ext:
            raise LocalProtocolError("the server did not advertise DELIVERBY")
        if p.mt_priority is not None and "MT-PRIORITY" not in ext:
            raise LocalProtocolError("the server did not advertise MT-PRIORITY")
        if p.requiretls and not (ext.requiretls and self.tls_active):
            raise LocalProtocolError("REQUIRETLS needs TLS and the REQUIRETLS extension")
        for key, _ in p.extra:
            if key not in ext:
                raise LocalProtocolError(f"the server did not advertise {key}")
        if event.sender is not None and not event.sender.is_ascii and not p.smtputf8:
            raise LocalProtocolError("non-ASCII sender needs SMTPUTF8 (RFC 6531)")

    def _check_8bit(self, data: bytes) -> None:
        if data.isascii():
            return
        tx = self._tx
        if tx is not None and (tx.smtputf8 or tx.body in (_BODY_EIGHT_BIT_MIME, _BODY_BINARY_MIME)):
            return
        raise LocalProtocolError(
            "8-bit message data needs BODY=8BITMIME (RFC 6152) or SMTPUTF8 on MAIL"
        )

    def _send_chunk(self, data: bytes) -> None:
        if self._stuffer is not None and not self._data_ended:
            self._check_8bit(data)
            self._out.append(self._stuffer.stuff(data))
            return
        if self._bdat_remaining:
            if len(data) > self._bdat_remaining:
                raise LocalProtocolError(
                    f"chunk data exceeds the BDAT size by {len(data) - self._bdat_remaining}"
                )
            self._check_8bit(data)
            self._bdat_remaining -= len(data)
            self._out.append(data)
            return
        if self._after_bdat:
            if not data:
                # The chunk's octets are all sent (BDAT 0 LAST has none): an
                # empty piece adds nothing, so a loop sending Bdat(size=len(c))
                # then DataChunk(data=c) works for an empty last chunk too.
                return
            raise LocalProtocolError(f"chunk data exceeds the BDAT size by {len(data)}")
        raise LocalProtocolError("no DATA (after 354) or BDAT in progress")

    def _send_end_of_data(self) -> None:
        if self._stuffer is not None and not self._data_ended:
            self._out.append(self._stuffer.end())
            self._data_ended = True
            self._pending.append(_Pending(_V_END_OF_DATA))
            self._projected = _S_READY
            return
        if self._projected is _S_BDAT and not self._bdat_remaining:
            # Close a chunked message with an empty last chunk (RFC 3030 §2).
            self.send(Bdat(size=0, last=True))
            return
        raise LocalProtocolError("no message data in progress")

    # -- receiving ------------------------------------------------------------

    def next_event(self) -> Event | Reply | Sentinel:
        """The next reply event, or ``NEED_DATA`` / ``PAUSED``.

        Raises :class:`~mailproto.errors.RemoteProtocolError` on malformed or
        unsolicited replies (response injection).
        """
        if self._events:
            return self._events.popleft()
        while True:
            if self._state is _S_TLS_HANDSHAKE:
                if self._buf:
                    raise RemoteProtocolError(
                        "data received between STARTTLS and the TLS handshake (response injection)"
                    )
                return PAUSED
            line = self._buf.next_line(self.limits.reply_line_length, limit="reply_line_length")
            if line is None:
                if self._eof:
                    self._state = _S_CLOSED
                    return ConnectionClosed()
                return NEED_DATA
            try:
                reply = self._parser.feed(line)
            except (ValueError, LocalProtocolError) as exc:
                raise RemoteProtocolError(str(exc)) from None
            if reply is None:
                continue
            event = self._on_reply(reply)
            if event is not None:
                return event
            if self._events:
                return self._events.popleft()

    def _on_reply(self, reply: Reply) -> Event | Reply | None:
        if not self._pending:
            if reply.code == 421:
                # RFC 5321 §3.8: a server may close with 421 at any time.
                self._state = self._projected = _S_CLOSED
                return reply
            raise RemoteProtocolError(
                f"reply {reply.code} received with no command outstanding (response injection)"
            )
        p = self._pending.popleft()
        verb = p.verb
        if verb is _V_END_OF_DATA or verb is _V_BDAT_LAST:
            if self.lmtp:
                return self._lmtp_reply(p, reply)
        if verb in (_V_AUTH, _V_AUTH_RESPONSE):
            return self._auth_reply(reply)
        tr = transition(self._state, verb)
        if reply.code == 421:
            self._state = _S_CLOSED
        elif tr is None:
            # Sent in a projected state that did not come true (e.g. DATA
            # pipelined after recipients that were all refused): the server
            # must refuse it too.
            if reply.is_positive:
                raise RemoteProtocolError(
                    f"server accepted {verb.value} out of sequence ({reply.code})"
                )
        elif reply.code // 100 == 3:
            if tr.more is None:
                raise RemoteProtocolError(f"unexpected {reply.code} reply to {verb.value}")
            self._state = tr.more
        else:
            self._state = tr.ok if reply.is_positive else tr.fail
        result: Event | Reply = reply
        if reply.is_positive:
            result = self._positive(verb, p, reply)
        else:
            self._negative(verb)
        self._replan()
        return result

    def _positive(self, verb: Verb, p: _Pending, reply: Reply) -> Event | Reply:
        if verb in (_V_EHLO, _V_LHLO):
            self.extensions = Extensions.from_lines(reply.lines[1:])
            self._reset_tx()
            domain = reply.lines[0].split(" ", 1)[0]
            return EhloReply(reply=reply, domain=domain, extensions=self.extensions)
        if verb is _V_HELO:
            self.extensions = _NO_EXTENSIONS
            self._reset_tx()
        elif verb is _V_RCPT:
            assert isinstance(p.event, RcptTo)
            self._accepted.append(p.event.recipient)
        elif verb is _V_DATA:
            self._stuffer = DotStuffer()
            self._data_ended = False
        elif verb in (_V_END_OF_DATA, _V_BDAT_LAST) or verb is _V_RSET:
            self._reset_tx()
        elif verb is _V_STARTTLS:
            if self._buf:
                # RFC 3207 §4.2 / CVE-2011-0411 class: anything after the 220 in
                # the same plaintext read was injected by someone.
                raise RemoteProtocolError(
                    "data received after the STARTTLS reply before the TLS handshake "
                    "(response injection)"
                )
        elif verb is _V_GREETING and reply.code != 220:
            self._state = _S_REFUSED
        return reply

    def _negative(self, verb: Verb) -> None:
        if verb in (_V_END_OF_DATA, _V_BDAT_LAST, _V_BDAT):
            self._reset_tx()
            if verb is _V_BDAT and self._pending:
                # Later pipelined chunks will be refused too (RFC 3030 §2).
                pass
        elif verb is _V_MAIL:
            self._tx = None
        elif verb is _V_DATA:
            self._stuffer = None

    def _reset_tx(self) -> None:
        self._tx = None
        self._accepted = []
        self._stuffer = None
        self._data_ended = False

    def _replan(self) -> None:
        # The projected state: the actual one, advanced over the commands
        # still in flight as if each will succeed.
        s = self._state
        for p in self._pending:
            tr = transition(s, p.verb)
            if tr is not None:
                s = tr.more if (tr.more is not None and p.verb is _V_DATA) else tr.ok
        self._projected = s

    def _lmtp_reply(self, p: _Pending, reply: Reply) -> Event | Reply:
        # RFC 2033 §4.2: one reply per accepted recipient, in RCPT order.
        if p.recipients is None:
            p.recipients = list(self._accepted)
        if not p.recipients:
            # No recipient was accepted: the message itself was refused.
            self._state = _S_READY
            self._reset_tx()
            self._replan()
            return reply
        rcpt = p.recipients.pop(0)
        if p.recipients:
            self._pending.appendleft(p)
        else:
            self._state = _S_READY
            self._reset_tx()
            self._replan()
        return RecipientReply(recipient=rcpt, reply=reply)

    def _auth_reply(self, reply: Reply) -> Event | Reply:
        mech = self._sasl
        if reply.code == 334 and mech is not None:
            try:
                challenge = sasl.decode_challenge(reply.lines[0].encode("ascii", "replace"))
                response = mech.respond(challenge)
                out = sasl.encode_response(response)
            except (sasl.SASLError, LocalProtocolError):
                # A bad challenge, or one more than the mechanism expects:
                # cancel the exchange (RFC 4954 §4).
                out = sasl.CANCEL
            self._out.append(out + b"\r\n")
            self._pending.appendleft(_Pending(_V_AUTH_RESPONSE))
            self._state = _S_AUTH
            return reply
        self._sasl = None
        self._state = _S_READY
        if reply.code == 235:
            self.authenticated = True
            if mech is not None:
                try:
                    mech.verify_final(None)
                except (sasl.SASLError, LocalProtocolError) as exc:
                    raise RemoteProtocolError(f"server failed to prove itself: {exc}") from None
        self._replan()
        return reply
