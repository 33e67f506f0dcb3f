"""Framing of IMAP messages: lines and literals, before any grammar.

Theory of operation
-------------------
An IMAP command or response is a *message*: one or more CRLF lines, where every
line but the last ends with a literal announcement and the announced number of
octets follows the line verbatim (RFC 9051 §4.3, RFC 3501 §4.3)::

    A1 LOGIN {5}\\r\\n          line 1, announces 5 octets
    alice                      the literal (never scanned for CRLF)
     {6+}\\r\\n                  line 2, announces 6 octets, non-synchronising
    secret                     the literal
    \\r\\n                       line 3, no announcement: the message ends

Framing needs no grammar beyond this, so it is a separate first pass (the
"fragmentizer" of imap-codec): :class:`Fragmentizer` turns received bytes into
:class:`RawMessage` values, and only then does the codec parse a message.  That
split is what makes the parser *streaming*: grammar code only ever sees
complete messages, and the fragmentizer works on the receive buffer and says
``NEED_DATA`` when a line or a literal is incomplete.

Literal announcements
    ``{n}`` (synchronising), ``{n+}`` (LITERAL+, RFC 7888), ``{n-}`` (LITERAL-,
    RFC 7888), and the same three with a leading ``~`` for literal8 (BINARY,
    RFC 3516).  The announcement is recognised at the *end* of a line only, like
    every IMAP implementation does (the grammar puts literals nowhere else).

    The size is checked before any literal octet is read: more than 20 digits
    is refused without converting (so no huge-int work), and any value above
    :attr:`~mailproto.limits.IMAPLimits.literal_size` raises
    :class:`~mailproto.errors.LimitExceeded` (fatal or not: see below).  A
    peer can therefore never make us allocate more than the limit.

Synchronising literals
    A client must wait for the server's ``+`` continuation before it sends the
    octets of a ``{n}`` literal.  On the server side the fragmentizer reports
    each such announcement as a :class:`LiteralAnnounced` value (once, when the
    announcing line is read, whatever has arrived after it) so the server can
    answer ``+`` — or refuse it with ``NO``/``BAD``, in which case the client
    will not send the octets and the server calls :meth:`Fragmentizer.discard`
    to drop the half-received command.

Refusing a non-synchronising literal
    A ``{n+}`` literal's octets are on their way whatever the server says.
    With ``report_non_sync_literals=True`` (the server connection) such an
    announcement is reported too (``synchronizing=False``), *before* any of
    its octets is read, with :attr:`Fragmentizer.message_octets` telling
    what the command would weigh.  A server that refuses the command (RFC 7888
    §4: a tagged ``BAD``, then either read and ignore the rest or close)
    calls :meth:`Fragmentizer.skip`: the octets are then counted and dropped
    as they arrive — never kept — and so are the further lines and
    non-synchronising literals of the command, up to its last line.  A
    *synchronising* announcement met while skipping also ends the command:
    the client waits for ``+``, reads the tagged answer instead and gives
    the command up (RFC 9051 §7.5), so the next bytes are a new command.
    Framing is kept throughout: the line limit still applies, so a skipped
    command can never make the server hold more than one line; a literal
    of a skipped command is only counted, so its size may be anything up
    to number64 (RFC 9051 §9).

    A non-synchronising literal announced *over*
    :attr:`~mailproto.limits.IMAPLimits.literal_size` is refused the same
    way when ``report_non_sync_literals=True``: the fragmentizer starts
    skipping its command at once and raises a *non-fatal*
    :class:`~mailproto.errors.LimitExceeded` (``hint.fatal`` False,
    :attr:`Fragmentizer.skipping` True); the server answers
    ``BAD [TOOBIG]`` (RFC 7888 §4, first choice: read and ignore) and the
    session goes on.  Only an announcement that is not a number64 at all
    still poisons: no literal that size can exist, so where the command
    ends is unknowable.

Poison, never skip
    When framing is lost — a line longer than the limit, a non-synchronising
    literal larger than the limit where nobody asked to skip it (the client
    side, which cannot refuse a response), an announcement whose size is not
    a number64 — there is no way to find where the next message begins:
    skipping to the next CRLF would interpret the peer's literal data as
    commands.  The fragmentizer raises and stays *poisoned*: every later
    call raises the same error (with a fresh traceback each time, so asking
    again and again costs no memory), and bytes received after that are
    dropped.  The recoverable cases are on the server side: a too-large
    *synchronising* literal (the client is still waiting for ``+``, so the
    server refuses it and carries on), and, with
    ``report_non_sync_literals=True``, a too-large non-synchronising one
    (its octets are counted through and dropped, above).

Memory and speed of literals
    Literal octets are never scanned and never pass through the line buffer
    when they can avoid it: while a literal is pending and the buffer is
    empty, :meth:`Fragmentizer.receive_data` keeps the received chunks
    themselves (a zero-copy :class:`memoryview` of each immutable
    :class:`bytes` chunk; mutable chunks are copied once, as they must be), and
    the literal is made with one ``b"".join`` when complete — or, when one
    chunk holds all of it, one slice.  A literal therefore costs one copy of
    itself beyond what the caller received.  Only the octets after the literal
    go on to the line buffer.

Zero-copy literals (opt-in, client side)
    With ``zero_copy_threshold=N`` a literal of more than *N* octets is not
    joined at all: it becomes a
    :class:`~mailproto.imap.types.LiteralChunks` holding the pieces gathered
    above (whole received chunks and memoryview slices of them), so the
    literal costs no copy until a consumer asks for one.  The pieces are
    the chunks the caller fed (or views of them), whether it reads after
    every chunk or feeds several first: :class:`~mailproto._buffer.ChunkedReceiveBuffer` keeps
    chunks fed before the current one is read in a queue, untouched, and
    moves only partial *lines* into its bytearray.  (A ``bytearray`` or
    ``memoryview`` fed is copied into ``bytes`` once on arrival: the caller
    may reuse it.)  A literal that is exactly one received chunk is that
    ``bytes`` object in either mode.
"""

from __future__ import annotations

import re

import attrs

from mailproto._buffer import ChunkedReceiveBuffer
from mailproto._sentinels import NEED_DATA, Sentinel
from mailproto.errors import LimitExceeded, RemoteProtocolError, ReplyHint
from mailproto.imap.types._literal import LiteralChunks
from mailproto.limits import IMAPLimits

__all__ = ["Fragmentizer", "LiteralAnnounced", "RawMessage"]

# The literal announcement at the end of a line:
#   literal  = "{" number64 ["+"] "}" CRLF      (RFC 9051 §9, RFC 7888 §8)
#   literal8 = "~{" number64 ["+"] "}" CRLF     (RFC 3516 §4.2, RFC 9051 §9)
# plus LITERAL- ("{n-}") which some servers advertise (RFC 7888 §5) - parsed
# like "+" (the client does not wait), kept distinct for round trips.
# Bare LF is accepted as a line end for robustness against sloppy peers.
_ANNOUNCEMENT = re.compile(rb"(~?)\{([0-9]+)([+-]?)\}\r?\n\Z")

# RFC 5530 LIMIT: "an implementation limit of some kind"; TOOBIG (RFC 9051)
# is for messages, used for literals below.  Made once: hints are frozen, and
# next_line wants one for every line it reads.
_LINE_HINT = ReplyHint(text="Line too long", response_code="LIMIT")


@attrs.frozen(kw_only=True)
class RawMessage:
    """One framed IMAP message: its line pieces and the literals between them.

    ``segments[i]`` is a line (terminator included) that announces
    ``literals[i]``; the last segment announces nothing, so
    ``len(segments) == len(literals) + 1``.  Joining them alternately gives
    back the wire bytes exactly (:meth:`__bytes__`).
    """

    #: The lines of the message, each with its terminator (and, for all but
    #: the last, the literal announcement that ends it).
    segments: tuple[bytes, ...]
    #: The literal payloads, in order: :class:`bytes`, or
    #: :class:`~mailproto.imap.types.LiteralChunks` for large literals when
    #: the decoder runs in zero-copy mode.
    literals: tuple[bytes | LiteralChunks, ...]

    def __bytes__(self) -> bytes:
        parts: list[bytes | memoryview] = []
        for i, literal in enumerate(self.literals):
            parts.append(self.segments[i])
            if literal.__class__ is bytes:
                parts.append(literal)
            else:
                parts.extend(literal.chunks)  # type: ignore[union-attr]
        parts.append(self.segments[-1])
        return b"".join(parts)


@attrs.frozen(kw_only=True)
class LiteralAnnounced:
    """A synchronising literal was announced and the peer waits for ``+``.

    Only reported when the fragmentizer was created with
    ``report_sync_literals=True`` (the server side).  The octets follow once
    the server has sent a continuation request.
    """

    #: The announced size in octets.
    size: int
    #: True for ``~{n}`` (literal8, RFC 3516).
    binary: bool
    #: The line that announced this literal, up to and including the
    #: announcement and its CRLF (for the first literal of a command, the
    #: command's first line).
    line: bytes
    #: The first line of the command (it carries the tag): a server can parse
    #: the tag from it to answer ``NO``/``BAD`` instead of ``+``.  Both fields
    #: refer to lines already received, never to a copy of the message so far,
    #: so reporting every literal of a command costs time linear in its size.
    first_line: bytes
    #: The position of this literal in the command (0 for the first).
    index: int
    #: False for ``{n+}``/``{n-}`` (RFC 7888): the octets follow at once,
    #: and the server answers no ``+`` (reported only with
    #: ``report_non_sync_literals=True``).
    synchronizing: bool = True


_RM_SEGMENTS, _RM_LITERALS = (RawMessage.__dict__[f].__set__ for f in ("segments", "literals"))
_new = object.__new__
# Only a line ending in "}" can announce a literal (bare LF tolerated, above).
_ANNOUNCING_ENDS = (b"}\r\n", b"}\n")


#: The largest number64 (RFC 9051 §9: "unsigned 63-bit integer"), the
#: ceiling of any literal size on the wire.
_NUMBER64_MAX = (1 << 63) - 1


def _is_number64(digits: bytes) -> bool:
    """True when *digits* (ASCII digits) is a valid number64, without huge-int work.

    Leading zeros are allowed by the grammar (``number64 = 1*DIGIT``), so
    they are dropped before the length test; 19 significant digits at most
    keeps ``int()`` cheap and inside CPython's digit limit.
    """
    significant = digits.lstrip(b"0")
    return len(significant) <= 19 and int(significant or b"0") <= _NUMBER64_MAX


def _announcement(line: bytes) -> re.Match[bytes] | None:
    """The literal announcement that ends *line* (``{n}``, ``{n+}``, ``~{n}`` ...), or None.

    *line* ends with ``}`` and a line end; only its last ``{`` can open the
    announcement, so the regex runs from there, not over the whole line.
    """
    start = line.rfind(b"{")
    if start > 0 and line[start - 1] == 0x7E:  # "~"
        start -= 1
    return _ANNOUNCEMENT.match(line, max(start, 0))


def _message(
    segments: tuple[bytes, ...], literals: tuple[bytes | LiteralChunks, ...]
) -> RawMessage:
    """``RawMessage(segments=segments, literals=literals)``, slot by slot (see below)."""
    message = _new(RawMessage)
    _RM_SEGMENTS(message, segments)
    _RM_LITERALS(message, literals)
    return message


def _one_line(line: bytes) -> RawMessage:
    """``RawMessage(segments=(line,), literals=())``, slot by slot.

    Every response without a literal comes through here; RawMessage has no
    validators, so setting its two slots is all its ``__init__`` does.
    """
    message = _new(RawMessage)
    _RM_SEGMENTS(message, (line,))
    _RM_LITERALS(message, ())
    return message


class Fragmentizer:
    """Splits a byte stream into complete IMAP messages (lines + literals)."""

    __slots__ = (
        "_buffer",
        "_error",
        "_have",
        "_literals",
        "_octets",
        "_parts",
        "_pending",
        "_pending_binary",
        "_report_non_sync",
        "_report_sync",
        "_segments",
        "_skipping",
        "_zero_copy",
        "limits",
        "refused_line",
    )

    def __init__(
        self,
        *,
        limits: IMAPLimits | None = None,
        report_sync_literals: bool = False,
        zero_copy_threshold: int | None = None,
        report_non_sync_literals: bool = False,
    ) -> None:
        #: The bounds applied to lines and literals.
        self.limits = limits if limits is not None else IMAPLimits()
        self._buffer = ChunkedReceiveBuffer()
        self._report_sync = report_sync_literals
        self._report_non_sync = report_non_sync_literals
        if zero_copy_threshold is not None and zero_copy_threshold < 0:
            raise ValueError("zero_copy_threshold must be >= 0")
        # Literals of more than this many octets stay in their received
        # pieces (LiteralChunks); None: every literal is joined into bytes.
        self._zero_copy = zero_copy_threshold
        self._segments: list[bytes] = []
        self._literals: list[bytes | LiteralChunks] = []
        # Size of the literal being waited for, or -1 when reading a line.
        self._pending = -1
        # The pieces of the pending literal received so far, and their size.
        self._parts: list[bytes | memoryview] = []
        self._have = 0
        self._pending_binary = False
        # Octets of the message being read: its lines so far and its literals,
        # the pending one included (counted at each announcement only).
        self._octets = 0
        # True while the rest of a refused command is read and dropped (skip()).
        self._skipping = False
        # The error that poisoned this fragmentizer, re-raised forever after.
        self._error: RemoteProtocolError | None = None
        #: The lines of the last message dropped by :meth:`discard` or
        #: :meth:`skip`: a server answers that command's tag with NO/BAD
        #: (RFC 9051 §7.5, RFC 7888 §4), so it needs the line the tag is on.
        self.refused_line = b""

    @property
    def buffered(self) -> int:
        """Octets received and not yet handed out."""
        return len(self._buffer)

    @property
    def skipping(self) -> bool:
        """True while a refused command is read and dropped (see :meth:`skip`).

        Set by :meth:`skip` and, on a fragmentizer created with
        ``report_non_sync_literals=True``, by a non-synchronising literal
        announced over :attr:`~mailproto.limits.IMAPLimits.literal_size`
        (the :class:`~mailproto.errors.LimitExceeded` raised for it is then
        not fatal: answer ``BAD [TOOBIG]`` and read on).  Cleared at the
        command's last line, or at a synchronising announcement.
        """
        return self._skipping

    @property
    def in_message(self) -> bool:
        """True when part of a message has been read (a line with a literal)."""
        return bool(self._segments)

    @property
    def message_octets(self) -> int:
        """Octets of the message being read, counting the literal just announced.

        The lines read so far and every literal announced so far, complete
        or not; a server compares it with its bound *before* it sends ``+``
        (or before a non-synchronising literal's octets are read).  The last
        line of a message is not counted: it is bounded by
        :attr:`~mailproto.limits.IMAPLimits.line_length` like every line.
        """
        return self._octets

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Add bytes from the peer (dropped once the fragmentizer is poisoned)."""
        if self._error is not None:
            # Framing is lost for good: nothing received from now on can ever
            # be handed out, so keeping it would only let a caller that keeps
            # feeding a dead connection grow this buffer without bound.
            return
        if data.__class__ is not bytes:
            data = bytes(data)  # the caller may reuse a mutable buffer
        need = self._pending - self._have
        buf = self._buffer
        if need > 0 and not buf:
            # Mid-literal with nothing buffered before this chunk: the chunk
            # (or its head) is literal octets, kept as they are (see "Memory
            # and speed of literals" above) - or, for a refused command
            # (skip()), only counted.
            n = len(data)
            if n <= need:
                if n and not self._skipping:  # an empty piece would only cost a write
                    self._parts.append(data)
                self._have += n
                return
            if not self._skipping:
                self._parts.append(memoryview(data)[:need])
            self._have += need
            buf.set_chunk(data, need)
            return
        buf.append(data)

    def discard(self) -> None:
        """Drop the message being read (after the server refused a literal).

        RFC 9051 §7.5: a client that gets a tagged ``NO``/``BAD`` instead of
        ``+`` does not send the literal, and the command is over; the next
        bytes begin a new command.
        """
        self.refused_line = b"".join(self._segments)
        self._segments.clear()
        self._literals.clear()
        self._pending = -1
        self._parts = []
        self._have = 0
        self._octets = 0
        self._skipping = False

    def skip(self) -> None:
        """Drop the message being read and, as they arrive, the rest of its octets.

        For a server that refused a command at a non-synchronising literal
        (RFC 7888 §4, "read and ignore"): what was read of it is dropped now;
        the pending literal's octets, and the lines and non-synchronising
        literals after it, are dropped as they come, never kept.  The command
        ends at its last line, or at a synchronising announcement (the client
        waits for ``+``, gets the tagged refusal and gives up, RFC 9051
        §7.5).  Nothing of it is ever reported.
        """
        pending, have = self._pending, self._have
        self.discard()
        self._skipping = True
        if pending >= 0:
            self._pending = pending
            self._have = have

    def partial_line(self) -> bytes:
        """The lines of the message being read (for a poisoned one's tag)."""
        return b"".join(self._segments)

    def drain(self) -> bytes:
        """Remove and return every buffered octet not yet framed."""
        return self._buffer.take_all()

    def _poison(self, error: RemoteProtocolError) -> RemoteProtocolError:
        self._error = error
        return error

    def next_message(self) -> RawMessage | LiteralAnnounced | Sentinel:
        """Return the next complete message, a :class:`LiteralAnnounced`, or NEED_DATA.

        Raises :class:`~mailproto.errors.LimitExceeded` or
        :class:`~mailproto.errors.RemoteProtocolError` when framing is lost;
        after that every call raises the same error (the fragmentizer is
        poisoned).  Two :class:`~mailproto.errors.LimitExceeded` errors are
        not fatal (``hint.fatal`` False, nothing poisoned): a synchronising
        literal over the limit with ``report_sync_literals`` (the command is
        dropped, as by :meth:`discard`), and a non-synchronising one with
        ``report_non_sync_literals`` (the command is being skipped, as by
        :meth:`skip`; :attr:`skipping` is True).  Refuse the command and
        call again.
        """
        if self._error is not None:
            # Re-raising the stored instance as it is would append this call's
            # frames to its __traceback__ on every call: a caller that keeps
            # asking would grow that chain (and keep its frames alive) without
            # bound.  Each raise starts from an empty traceback instead.
            raise self._error.with_traceback(None)
        buf = self._buffer
        limits = self.limits
        while True:
            if self._pending >= 0:
                # Waiting for a literal: gather its pieces, join once complete.
                n = self._pending
                if self._skipping:
                    # A refused command's literal: counted and dropped.
                    while self._have < n and buf:
                        self._have += len(buf.take_literal(n - self._have))
                    if self._have < n:
                        return NEED_DATA
                    self._have = 0
                    self._pending = -1
                    continue
                while self._have < n and buf:
                    piece = buf.take_literal(n - self._have)
                    self._parts.append(piece)
                    self._have += len(piece)
                if self._have < n:
                    return NEED_DATA
                parts = self._parts
                literal: bytes | LiteralChunks
                if len(parts) == 1 and parts[0].__class__ is bytes:
                    # One received chunk that is exactly the literal: no copy.
                    literal = parts[0]
                elif self._zero_copy is not None and n > self._zero_copy:
                    # Zero-copy mode: the pieces as received, never joined.
                    literal = LiteralChunks._trusted(tuple(parts), n)
                elif len(parts) == 1:
                    literal = bytes(parts[0])
                else:
                    literal = b"".join(parts)
                self._parts = []
                self._have = 0
                # NUL is outside CHAR8 (RFC 9051 §9) but real mailboxes hold
                # such messages and servers send them as they are: the
                # literal is not scanned, neither for speed nor to judge it.
                self._literals.append(literal)
                self._pending = -1
            try:
                line = buf.next_line(limits.line_length, limit="line_length", hint=_LINE_HINT)
            except LimitExceeded as exc:
                raise self._poison(exc) from None
            if line is None:
                return NEED_DATA
            if self._skipping:
                self._skip_line(line)
                continue
            if not line.endswith(_ANNOUNCING_ENDS):
                if not self._segments:
                    # The commonest case: a whole message in one line.
                    return _one_line(line)
                # No literal: the message is complete.
                self._segments.append(line)
                return self._complete()
            self._segments.append(line)
            match = _announcement(line)
            if match is None:
                # "}" ends the line but it is no announcement (e.g. a quoted
                # "{x}"): the message is complete, the grammar will judge it.
                return self._complete()
            binary, digits, mode = match.groups()
            sync = not mode
            if len(digits) > 20 or int(digits) > limits.literal_size:
                if sync and self._report_sync:
                    # The client waits for "+": refuse and carry on.
                    self.discard()
                    raise self._too_large(digits, fatal=False)
                if not sync and self._report_non_sync and _is_number64(digits):
                    # RFC 7888 §4, first choice: the command gets its tagged
                    # BAD and the octets, already on their way, are read and
                    # ignored - counted through as they arrive, never kept
                    # (skip()), so the bound on memory holds whatever the
                    # announced size.  The caller sees a non-fatal error
                    # with skipping set, and the session goes on.
                    self.skip()
                    self._pending = int(digits)
                    self._have = 0
                    raise self._too_large(digits, fatal=False)
                raise self._poison(self._too_large(digits, fatal=True))
            if len(self._literals) >= limits.literals_per_message:
                raise self._poison(
                    LimitExceeded(
                        "too many literals in one message",
                        limit="literals_per_message",
                        bound=limits.literals_per_message,
                        hint=ReplyHint(text="Too many literals", response_code="LIMIT"),
                    )
                )
            self._pending = int(digits)
            self._pending_binary = bool(binary)
            self._octets += len(line) + self._pending
            if self._report_sync if sync else self._report_non_sync:
                segments = self._segments
                return LiteralAnnounced(
                    size=self._pending,
                    binary=bool(binary),
                    line=line,
                    first_line=segments[0],
                    index=len(segments) - 1,
                    synchronizing=sync,
                )

    def _complete(self) -> RawMessage:
        """The message gathered so far, now complete; the gathering starts again."""
        message = _message(tuple(self._segments), tuple(self._literals))
        self._segments.clear()
        self._literals.clear()
        self._octets = 0
        return message

    def _too_large(self, digits: bytes, *, fatal: bool) -> LimitExceeded:
        """The error for an announced literal above ``literal_size``."""
        shown = digits[:20].decode() + ("..." if len(digits) > 20 else "")
        return LimitExceeded(
            f"literal of {shown} octets is larger than the limit",
            limit="literal_size",
            bound=self.limits.literal_size,
            hint=ReplyHint(text="Literal too large", response_code="TOOBIG", fatal=fatal),
        )

    def _skip_line(self, line: bytes) -> None:
        """One line of a command being skipped (see :meth:`skip`)."""
        match = _announcement(line) if line.endswith(_ANNOUNCING_ENDS) else None
        if match is None or not match.group(3):
            # The command's last line, or a synchronising announcement: the
            # client waits for "+", reads the refusal instead and drops the
            # command (RFC 9051 §7.5).  Either way the command is over.
            self._skipping = False
            return
        digits = match.group(2)
        if not _is_number64(digits):
            # Not a number64 (RFC 9051 §9): no literal this size can exist,
            # so where the command ends is unknowable - RFC 7888 §4's other
            # choice, close the connection.  Any real size, even one over
            # literal_size, is only counted through: the command already
            # has its refusal, and nothing of it is kept.
            raise self._poison(self._too_large(digits, fatal=True))
        self._pending = int(digits)
