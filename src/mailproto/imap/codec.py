"""The IMAP codec: streaming decoders and serialisers for both directions.

This is the stateless middle layer (imap-types → **imap-codec** → connections):
it knows the grammar of every command and response, nothing about which one
may come next.  The client and server connections sit on top of it.

Decoding is streaming: feed whatever bytes arrived with ``receive_data`` and
pull values until ``NEED_DATA``::

    from mailproto import NEED_DATA
    from mailproto.imap.codec import ResponseDecoder

    decoder = ResponseDecoder()
    decoder.receive_data(sock.recv(65536))
    while (response := decoder.next_response()) is not NEED_DATA:
        handle(response)

On the server side, :class:`CommandDecoder` also reports every synchronising
literal a client announces (:class:`~mailproto.imap._fragmentizer.LiteralAnnounced`),
because the client now waits for ``+ `` (RFC 9051 §7.5): the server answers
``+``, or refuses with a tagged ``NO``/``BAD`` and calls
:meth:`CommandDecoder.discard`.  With ``report_non_sync_literals=True`` it
reports the non-synchronising ones too (``synchronizing=False``), before any
of their octets is read, so that a server can refuse a command without
buffering its literal: answer ``BAD`` and call :meth:`CommandDecoder.skip`
(RFC 7888 §4), and the rest of the command is dropped as it arrives.

Zero-copy literals (opt-in)
    ``ResponseDecoder(zero_copy_literals=True)`` hands out every literal of
    more than ``zero_copy_threshold`` octets (default
    :data:`~mailproto.imap.types.ZERO_COPY_THRESHOLD`, 64 KiB) as a
    :class:`~mailproto.imap.types.LiteralChunks`: the received chunks
    themselves, never joined.  A ``BODY[]`` of 100 MB then costs no copy at
    all until the application asks for one (``bytes(data)``), and can be
    written to a file with ``writelines(data.chunks)``.  Every piece is a
    ``bytes`` chunk you fed or a memoryview slice of one (feed ``bytes``: a
    ``bytearray`` is copied on arrival, since you may reuse it), and keeps
    that chunk alive.  The default (off) gives plain :class:`bytes`, one
    copy.

Encoding a command gives *fragments* (:func:`encode_command`): send the first,
and before each :class:`LiteralFragment` with ``sync=True`` wait for the
server's continuation request.  Responses never wait, so
:func:`serialize_response` returns bytes.

Errors
    :class:`ParseError` (a :class:`~mailproto.errors.RemoteProtocolError`,
    ``hint.fatal`` False): one message broke the grammar, framing is intact,
    the decoder carries on with the next message.  A server answers
    ``tag BAD`` (:attr:`ParseError.tag`).
    :class:`~mailproto.errors.LimitExceeded` / ``RemoteProtocolError`` with
    ``hint.fatal`` True: framing is lost (line too long, literal too big);
    the decoder is poisoned and raises again on every call — answer ``BYE``
    and close.
"""

from __future__ import annotations

from mailproto._sentinels import NEED_DATA, Sentinel
from mailproto.imap._fragmentizer import Fragmentizer, LiteralAnnounced, RawMessage
from mailproto.imap._parser import ParseError, parse_authenticate_data
from mailproto.imap._parser import parse_command as _parse_command
from mailproto.imap._parser import parse_response as _parse_response
from mailproto.imap._serializer import write_command, write_response
from mailproto.imap._writer import LineFragment, LiteralFragment, LiteralMode, Writer
from mailproto.imap.types._literal import ZERO_COPY_THRESHOLD
from mailproto.imap.types.commands import AuthenticateData, Command, Done
from mailproto.imap.types.responses import Response
from mailproto.limits import IMAPLimits

__all__ = [
    "CommandDecoder",
    "Fragment",
    "LineFragment",
    "LiteralAnnounced",
    "LiteralFragment",
    "ParseError",
    "RawMessage",
    "ResponseDecoder",
    "encode_command",
    "parse_command",
    "parse_response",
    "serialize_command",
    "serialize_response",
    "serialize_response_chunks",
]

#: A piece of an encoded command.
Fragment = LineFragment | LiteralFragment


class ResponseDecoder:
    """Client side: bytes from the server → typed responses.

    *zero_copy_literals*: literals of more than *zero_copy_threshold* octets
    are :class:`~mailproto.imap.types.LiteralChunks` (the received pieces,
    no copy) instead of :class:`bytes` — in ``SectionData.data`` of FETCH
    responses and in :attr:`RawMessage.literals`; a literal the grammar
    makes a string is decoded to :class:`str` as always.  Off by default.
    """

    __slots__ = ("_fragmentizer", "limits", "utf8", "zero_copy_threshold")

    def __init__(
        self,
        *,
        limits: IMAPLimits | None = None,
        utf8: bool = False,
        zero_copy_literals: bool = False,
        zero_copy_threshold: int = ZERO_COPY_THRESHOLD,
    ) -> None:
        #: The bounds in force.
        self.limits = limits if limits is not None else IMAPLimits()
        #: UTF8=ACCEPT is enabled (RFC 6855): mailbox names are UTF-8, not
        #: modified UTF-7.  Set it after the server's ``ENABLED UTF8=ACCEPT``.
        self.utf8 = utf8
        #: Literals larger than this are LiteralChunks; None when the
        #: zero-copy mode is off.
        self.zero_copy_threshold = zero_copy_threshold if zero_copy_literals else None
        self._fragmentizer = Fragmentizer(
            limits=self.limits, zero_copy_threshold=self.zero_copy_threshold
        )

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Add bytes received from the server."""
        self._fragmentizer.receive_data(data)

    def next_response(self) -> Response | Sentinel:
        """The next response, or ``NEED_DATA``."""
        message = self._fragmentizer.next_message()
        if message is NEED_DATA:
            return NEED_DATA
        assert isinstance(message, RawMessage)
        return _parse_response(message, limits=self.limits, utf8=self.utf8)

    def next_raw(self) -> RawMessage | Sentinel:
        """The next framed response without parsing it (for proxies and logs)."""
        message = self._fragmentizer.next_message()
        assert not isinstance(message, LiteralAnnounced)
        return message


class CommandDecoder:
    """Server side: bytes from the client → typed commands.

    Literal announcements (a server answers each before reading it):

    * ``{n}`` / ``~{n}``: always reported as a
      :class:`~mailproto.imap._fragmentizer.LiteralAnnounced`
      (``synchronizing=True``).  Send ``+`` and keep pulling, or answer
      the tag (from :attr:`LiteralAnnounced.first_line`) with ``NO``/``BAD``
      and call :meth:`discard`: the client gives the command up (RFC 9051
      §7.5).
    * ``{n+}`` / ``{n-}`` (RFC 7888): reported only with
      *report_non_sync_literals* (``synchronizing=False``), before any of
      the octets, which are on their way whatever the server says.  Keep
      pulling to accept it (no ``+``), or answer ``BAD`` and call
      :meth:`skip`: the octets, and the rest of the command, are then
      dropped as they arrive, never buffered (RFC 7888 §4).  Without the
      option such literals are read with their command, which is only
      judged once complete.
    * Larger than :attr:`~mailproto.limits.IMAPLimits.literal_size`:
      :meth:`next_command` raises :class:`~mailproto.errors.LimitExceeded`
      with ``hint.fatal`` False for ``{n}`` (the command is already
      dropped: answer ``NO [TOOBIG]``) and, with
      *report_non_sync_literals*, for ``{n+}`` (the command is already
      being skipped, :attr:`skipping` is True: answer ``BAD [TOOBIG]``);
      :attr:`refused_line` holds the command's lines for its tag.  A
      too-large ``{n+}`` without the option is fatal (framing is lost:
      answer ``BYE`` and close).

    :attr:`message_octets` tells what the command weighs so far, the
    literal just announced included, for a bound on a whole command.
    """

    __slots__ = ("_fragmentizer", "limits", "report_non_sync_literals", "utf8")

    def __init__(
        self,
        *,
        limits: IMAPLimits | None = None,
        utf8: bool = False,
        report_non_sync_literals: bool = False,
    ) -> None:
        #: The bounds in force.
        self.limits = limits if limits is not None else IMAPLimits()
        #: UTF8=ACCEPT is enabled (RFC 6855).
        self.utf8 = utf8
        #: Non-synchronising literals are reported too (read-only: fixed
        #: at construction, like the fragmentizer's option of that name).
        self.report_non_sync_literals = report_non_sync_literals
        self._fragmentizer = Fragmentizer(
            limits=self.limits,
            report_sync_literals=True,
            report_non_sync_literals=report_non_sync_literals,
        )

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Add bytes received from the client."""
        self._fragmentizer.receive_data(data)

    def next_command(self) -> Command | Done | LiteralAnnounced | Sentinel:
        """The next command, a :class:`LiteralAnnounced`, or ``NEED_DATA``.

        ``Done`` (the end of IDLE) is returned for a ``DONE`` line.  Raises
        :class:`ParseError` for a command that breaks the grammar (answer
        ``tag BAD`` and call again) and
        :class:`~mailproto.errors.LimitExceeded` for limits (see the class
        docstring for which are fatal).
        """
        message = self._fragmentizer.next_message()
        if message is NEED_DATA or isinstance(message, LiteralAnnounced):
            return message
        assert isinstance(message, RawMessage)
        return _parse_command(message, limits=self.limits, utf8=self.utf8)

    def next_authenticate_data(self) -> AuthenticateData | Sentinel:
        """During AUTHENTICATE: the client's next base64 line (or ``*``).

        A literal has no place in a SASL answer (RFC 9051 §6.2.2):
        :class:`ParseError`.  A non-synchronising one (reported with
        *report_non_sync_literals*) is skipped first, so its octets, on
        their way, are dropped as they arrive and never read as commands.
        """
        message = self._fragmentizer.next_message()
        if message is NEED_DATA:
            return NEED_DATA
        if not isinstance(message, RawMessage) or len(message.segments) != 1:
            if isinstance(message, LiteralAnnounced) and not message.synchronizing:
                self._fragmentizer.skip()
            else:
                self._fragmentizer.discard()
            raise ParseError("a SASL response cannot contain literals")
        return parse_authenticate_data(message.segments[0])

    def discard(self) -> None:
        """Drop the half-received command whose synchronising literal was refused.

        RFC 9051 §7.5: the client, answered with a tagged ``NO``/``BAD``
        instead of ``+``, does not send the literal; the next bytes are a
        new command.
        """
        self._fragmentizer.discard()

    def skip(self) -> None:
        """Drop the command whose non-synchronising literal was refused, as it arrives.

        RFC 7888 §4: after the tagged ``BAD`` the server reads and ignores
        the rest of the command.  What was read of it is dropped now; the
        literal's octets and the command's further lines and ``{n+}``
        literals are counted and dropped as they come, never kept, up to
        its last line (or a ``{n}``, where the client waits for ``+`` and
        gives up).  Nothing of it is ever returned.
        """
        self._fragmentizer.skip()

    @property
    def skipping(self) -> bool:
        """True while a refused command is being dropped (:meth:`skip`)."""
        return self._fragmentizer.skipping

    @property
    def message_octets(self) -> int:
        """Octets of the command being read, counting the literal just announced.

        Compare it with a bound *before* answering ``+`` (or before a
        non-synchronising literal's octets are read); 0 between commands.
        """
        return self._fragmentizer.message_octets

    @property
    def refused_line(self) -> bytes:
        """The lines of the command last dropped by :meth:`discard` or :meth:`skip`.

        Also after a non-fatal :class:`~mailproto.errors.LimitExceeded`:
        the tag to answer is at its start.
        """
        return self._fragmentizer.refused_line


def _single(data: bytes, limits: IMAPLimits | None) -> RawMessage:
    fragmentizer = Fragmentizer(limits=limits)
    fragmentizer.receive_data(data)
    message = fragmentizer.next_message()
    if not isinstance(message, RawMessage):
        raise ParseError("incomplete message")
    if fragmentizer.buffered:
        raise ParseError("data after the end of the message")
    return message


def parse_response(
    data: bytes, *, limits: IMAPLimits | None = None, utf8: bool = False
) -> Response:
    """Parse exactly one complete response (CRLF included)."""
    return _parse_response(_single(data, limits), limits=limits, utf8=utf8)


def parse_command(
    data: bytes, *, limits: IMAPLimits | None = None, utf8: bool = False
) -> Command | Done:
    """Parse exactly one complete command (CRLF included, literals inline)."""
    return _parse_command(_single(data, limits), limits=limits, utf8=utf8)


def serialize_response(response: Response, *, utf8: bool = False) -> bytes:
    """The wire form of *response* (literals as ``{n}``: servers never wait)."""
    w = Writer(literal_mode="server", utf8=utf8)
    write_response(w, response)
    return w.finish_bytes()


def serialize_response_chunks(
    response: Response, *, utf8: bool = False
) -> list[bytes | memoryview]:
    """The wire form of *response* as pieces to write in order (``writelines``).

    Unlike :func:`serialize_response`, literal data that is a
    :class:`~mailproto.imap.types.LiteralChunks` is not joined: its pieces
    are in the list as they are, so a body received in zero-copy mode is
    forwarded without a copy.
    """
    w = Writer(literal_mode="server", utf8=utf8)
    write_response(w, response)
    return w.finish_chunks()


def encode_command(
    command: Command | Done, *, literal_mode: LiteralMode = "sync", utf8: bool = False
) -> list[Fragment]:
    """The fragments of *command*.

    *literal_mode*: ``"sync"`` (``{n}``, wait for ``+``), ``"plus"`` (the
    server has LITERAL+, ``{n+}``), ``"minus"`` (LITERAL-: ``{n+}`` up to
    4096 octets, RFC 7888 §5).
    """
    w = Writer(literal_mode=literal_mode, utf8=utf8)
    write_command(w, command)
    return w.finish_fragments()


def serialize_command(
    command: Command | Done, *, literal_mode: LiteralMode = "sync", utf8: bool = False
) -> bytes:
    """All fragments of *command* joined (for logs, tests, or LITERAL+ peers)."""
    w = Writer(literal_mode=literal_mode, utf8=utf8)
    write_command(w, command)
    return w.finish_bytes()
