"""The receive buffer every protocol reads from: lines, exact-length chunks and
dot-terminated blocks, all extracted in amortised linear time.

Theory of operation
-------------------
Every mail protocol frames its stream in only three ways:

* **lines** ending in CRLF — SMTP commands and replies, POP3 commands and
  status lines, IMAP lines between literals;
* **exactly N octets** — IMAP literals (``{n}``, ``~{n}``) and SMTP BDAT chunks
  (RFC 3030), which are opaque and must never be scanned for line ends;
* **dot-terminated blocks** — SMTP DATA (RFC 5321 §4.1.1.4) and POP3
  multi-line responses (RFC 1939 §3): lines until one consisting of a single
  ``.``, with a leading ``.`` removed from every other line ("dot-unstuffing").

One :class:`ReceiveBuffer` serves all three, so each protocol's reader is a few
lines that choose which of the three to ask for.

Linear time however the stream is split
    The buffer is a :class:`bytearray`; consumed bytes are removed with
    ``del buf[:n]``, which CPython implements by moving the start offset
    (amortised O(1)), not by copying the rest.  When a line search fails, the
    buffer remembers how far it looked, so feeding a long line one byte at a
    time costs O(n) in total rather than O(n²).

Bounded memory
    :meth:`ReceiveBuffer.next_line` takes the maximum line length and raises
    :class:`~mailproto.errors.LimitExceeded` as soon as that many bytes are
    buffered without a line end: a peer cannot make the buffer grow past the
    bound while it waits.  Exact-length chunks and dot-terminated blocks are
    *streamed*: :meth:`ReceiveBuffer.take_at_most` and :meth:`DotBlockReader.read`
    hand out whatever is available, so a 200 MB message never sits in the buffer.

Where does a dot-terminated block end?  (The SMTP smuggling class.)
    Only at CR LF "." CR LF, where the first CR LF ends the last line of the
    content.  A bare LF or a bare CR is *data*: it does not end a line, so it
    can neither start the terminator (``\\n.\\n``, ``\\n.\\r\\n``,
    ``\\r\\n.\\n``, ``\\r.\\r``) nor a line whose dot is unstuffed.  Servers that
    read ``\\n.\\n`` as the end while the next hop does not are how a second
    message is smuggled past SPF/DMARC (CVE-2023-51764, CVE-2023-51765,
    CVE-2023-51766).  :class:`DotBlockReader` records whether it saw bare LF
    or CR (:attr:`DotBlockReader.bare_lf`, :attr:`DotBlockReader.bare_cr`) so a
    server can refuse such a message, which is the safe default (RFC 5321
    §2.3.8 forbids them).  A server that must take mail from clients that end
    lines with a bare LF can ask the reader to *normalise*: every bare CR or
    LF then ends a line for unstuffing and comes out as CRLF, while the block
    still ends only at CRLF "." CRLF as received (a fake terminator such as
    ``\\n.\\n`` becomes an empty line, never a "." line).

What it costs
    Looking for dot lines is one ``bytes.rfind`` per piece (most pieces have
    none); telling whether a piece holds a bare CR or LF is one
    ``bytes.splitlines`` pass.  Both are C loops; no Python code runs per
    byte or per line.
"""

from __future__ import annotations

from collections import deque

from mailproto.errors import LimitExceeded, ReplyHint

__all__ = ["ChunkedReceiveBuffer", "DotBlockReader", "ReceiveBuffer", "has_bare_line_end"]


class ReceiveBuffer:
    """Bytes received from the peer and not yet interpreted."""

    __slots__ = ("_data", "_searched")

    def __init__(self) -> None:
        self._data = bytearray()
        # How many leading bytes of _data are known to hold no b"\n": the
        # next line search starts there (h11's trick for O(n) line search).
        self._searched = 0

    def __len__(self) -> int:
        return len(self._data)

    def __bool__(self) -> bool:
        return bool(self._data)

    def __bytes__(self) -> bytes:
        return bytes(self._data)

    def append(self, data: bytes | bytearray | memoryview) -> None:
        """Add bytes received from the peer."""
        self._data += data

    def _consume(self, n: int) -> bytes:
        out = bytes(self._data[:n])
        self._discard(n)
        return out

    def _discard(self, n: int) -> None:
        # del of a prefix only moves bytearray's start pointer: amortised O(1).
        del self._data[:n]
        self._searched = max(0, self._searched - n)

    def next_line(
        self,
        max_length: int,
        *,
        limit: str = "line_length",
        hint: ReplyHint | None = None,
    ) -> bytes | None:
        """Remove and return the next line, *including* its terminator.

        The terminator is the first ``b"\\n"``; the caller checks whether it was
        preceded by ``b"\\r"`` (``line.endswith(b"\\r\\n")``) and decides what a
        bare LF means in its protocol.  Returns ``None`` when no complete line
        has arrived yet.

        Raises :class:`~mailproto.errors.LimitExceeded` (naming *limit*, with
        *hint* as the reply for the peer) when the line, terminator included,
        is longer than *max_length* — as soon as that many bytes are buffered,
        so the buffer never grows past the bound waiting for a line end.
        """
        data = self._data
        end = data.find(b"\n", self._searched, max_length)
        if end < 0:
            if len(data) >= max_length:
                raise LimitExceeded(
                    f"line longer than {max_length} octets",
                    limit=limit,
                    bound=max_length,
                    hint=hint,
                )
            self._searched = len(data)
            return None
        # Inlined _consume: this is the hottest call in every protocol.
        self._searched = 0
        line = bytes(data[: end + 1])
        del data[: end + 1]
        return line

    def skip_line(self) -> bool:
        """Discard bytes up to and including the next ``b"\\n"``.

        Returns True when a line end was found (the rest of the buffer, such as
        pipelined commands after an over-long line, is kept), False when there
        was none and everything buffered was dropped: call again with more
        data.  This is how a protocol that survives an over-long line (SMTP
        answers ``500 5.5.2`` and reads on, RFC 5321 §4.5.3.1.4) resynchronises
        without ever buffering the line.
        """
        data = self._data
        end = data.find(b"\n", self._searched)
        self._searched = 0
        if end < 0:
            del data[:]
            return False
        del data[: end + 1]
        return True

    def take_exactly(self, n: int) -> bytes | None:
        """Remove and return exactly *n* bytes, or ``None`` if fewer are here.

        Only for small fixed-size items; large literals and BDAT chunks should
        be streamed with :meth:`take_at_most` so they are never buffered whole.
        """
        if len(self._data) < n:
            return None
        return self._consume(n)

    def take_at_most(self, n: int) -> bytes:
        """Remove and return up to *n* bytes: whatever is buffered (may be empty).

        Streams exact-length payloads (IMAP literals, BDAT chunks): the caller
        keeps the count of what is still owed.
        """
        return self._consume(min(n, len(self._data)))

    def take_all(self) -> bytes:
        """Remove and return everything buffered.

        Used when the protocol says buffered bytes must be *discarded*, e.g.
        bytes pipelined after STARTTLS (RFC 3207 §4.2), which must never be
        interpreted as commands.
        """
        return self._consume(len(self._data))


class ChunkedReceiveBuffer(ReceiveBuffer):
    """A :class:`ReceiveBuffer` that reads lines and literals in place from the chunks.

    Used by the IMAP fragmentizer (whose literals make up most of a client's
    input); the same interface as :class:`ReceiveBuffer`, so any protocol's
    reader can take it.

    :class:`ReceiveBuffer` copies every received octet into its bytearray,
    and a line or a literal is then copied out again.  A client fetching
    bodies receives mostly literal octets, and a 64 KiB ``recv`` chunk often
    holds the end of one literal, a line, and the start of the next: copied
    in and out, those octets cost two extra copies on top of the one every
    literal needs (its own ``bytes``).  So received chunks are kept as they
    are (``bytes`` are immutable: keeping a reference is safe): the one
    being read (``_chunk``, from ``_cpos``) and, when the caller fed more
    before reading, the later ones whole, in order (``_queue``).  Lines are
    found in the chunk with :meth:`bytes.find` and sliced out, and literal
    octets are handed out as zero-copy :class:`memoryview` slices of it, or
    as the queued chunks themselves.

    Only a line that a chunk does not finish moves into the bytearray: the
    rest of the chunk (a partial line, usually a few dozen octets) is
    appended there and the next chunk is read, so every octet is copied into
    the bytearray at most once and the line search stays linear however the
    stream is split.  The octets are always the bytearray's, then the
    chunk's (from ``_cpos``), then the queued chunks', in that order.
    """

    __slots__ = ("_chunk", "_cpos", "_queue", "_queued")

    def __init__(self) -> None:
        super().__init__()
        # The chunk being read and how far it has been read.
        self._chunk = b""
        self._cpos = 0
        # Chunks received after it, not yet read at all, and their size.
        self._queue: deque[bytes] = deque()
        self._queued = 0

    def __len__(self) -> int:
        return len(self._data) + len(self._chunk) - self._cpos + self._queued

    def __bool__(self) -> bool:
        return bool(self._data) or self._cpos < len(self._chunk) or bool(self._queue)

    def __bytes__(self) -> bytes:
        self._flush()
        return bytes(self._data)

    def _flush_chunk(self) -> None:
        """Move the unread rest of the chunk into the bytearray."""
        chunk = self._chunk
        if self._cpos < len(chunk):
            with memoryview(chunk) as view:
                self._data += view[self._cpos :]
        self._chunk = b""
        self._cpos = 0

    def _next_chunk(self) -> bool:
        """Make the first queued chunk the one being read (the last is done)."""
        if not self._queue:
            return False
        chunk = self._queue.popleft()
        self._queued -= len(chunk)
        self._chunk = chunk
        self._cpos = 0
        return True

    def _flush(self) -> None:
        """Move every unread octet into the bytearray (the generic methods' view)."""
        self._flush_chunk()
        while self._next_chunk():
            self._flush_chunk()

    def append(self, data: bytes | bytearray | memoryview) -> None:
        # The caller may reuse a mutable buffer: keep only immutable bytes.
        chunk = data if data.__class__ is bytes else bytes(data)
        if not chunk:
            return
        if self._cpos < len(self._chunk) or self._queue:
            # The chunk being read is not done: queue this one, untouched.
            self._queue.append(chunk)
            self._queued += len(chunk)
        else:
            self._chunk = chunk
            self._cpos = 0

    def set_chunk(self, chunk: bytes, pos: int) -> None:
        """Make *chunk* from *pos* the unread tail (the buffer must be empty)."""
        assert not self
        self._chunk = chunk
        self._cpos = pos

    def _consume(self, n: int) -> bytes:
        self._flush()
        return super()._consume(n)

    def skip_line(self) -> bool:
        self._flush()
        return super().skip_line()

    def take_exactly(self, n: int) -> bytes | None:
        self._flush()
        return super().take_exactly(n)

    def take_at_most(self, n: int) -> bytes:
        self._flush()
        return super().take_at_most(n)

    def take_all(self) -> bytes:
        self._flush()
        return super().take_all()

    def take_literal(self, n: int) -> bytes | memoryview:
        """Up to *n* octets for a literal (may be empty), without copying the chunks'."""
        data = self._data
        if data:
            # Octets of a chunk the previous line did not end in (rare: see
            # next_line): copied out.
            with memoryview(data) as view:
                piece = bytes(view[:n])
            self._discard(len(piece))
            return piece
        chunk = self._chunk
        pos = self._cpos
        if pos >= len(chunk):
            if not self._next_chunk():
                return b""
            chunk = self._chunk
            pos = 0
        end = min(pos + n, len(chunk))
        self._cpos = end
        if pos == 0 and end == len(chunk):
            return chunk
        return memoryview(chunk)[pos:end]

    def next_line(
        self,
        max_length: int,
        *,
        limit: str = "line_length",
        hint: ReplyHint | None = None,
    ) -> bytes | None:
        data = self._data
        if data and data.find(b"\n", self._searched) >= 0:
            # A line already whole in the bytearray (only after a generic
            # method flushed everything there): served from there.  An
            # over-long one raises there.
            return super().next_line(max_length, limit=limit, hint=hint)
        while True:
            chunk = self._chunk
            pos = self._cpos
            if pos >= len(chunk):
                if self._next_chunk():
                    continue
                break
            if not data:
                # The common case: the line is in the chunk, sliced out once.
                end = chunk.find(b"\n", pos, pos + max_length)
                if end >= 0:
                    self._cpos = end + 1
                    return chunk[pos : end + 1]
            else:
                # A line begun in the bytearray (the rest of earlier chunks)
                # and ended in this one: join the two pieces once, searching
                # no further than the line bound allows.
                end = chunk.find(b"\n", pos, pos + max(0, max_length - len(data)))
                if end >= 0:
                    with memoryview(chunk) as view:
                        line = bytes(data) + view[pos : end + 1]
                    del data[:]
                    self._searched = 0
                    self._cpos = end + 1
                    return line
            # No line end within the bound in this chunk: its rest joins the
            # partial line in the bytearray, which is known to hold no line
            # end (so the next search starts after it), and the next chunk
            # is read - unless the line is already too long.
            self._flush_chunk()
            self._searched = len(data)
            if len(data) >= max_length or not self._next_chunk():
                break
        # No line end yet, or an over-long line: the bytearray's rules.
        return super().next_line(max_length, limit=limit, hint=hint)


class DotBlockReader:
    """Streams one dot-terminated block out of a :class:`ReceiveBuffer`.

    Create one when the block starts (after SMTP ``354`` or a POP3 ``+OK`` that
    announces a multi-line response) and call :meth:`read` until
    :attr:`done`.  The content handed out is dot-unstuffed and ends with the
    CRLF of its last line; the terminating ``.`` CRLF is consumed and dropped.

    Example: the wire bytes ``b"Hi\\r\\n..dot\\r\\n.\\r\\n"`` yield the content
    ``b"Hi\\r\\n.dot\\r\\n"``.

    Three ways to treat a bare CR or bare LF in the content:

    * ``detect_bare=False``: it is data, nothing is looked at (cheapest: a
      POP3 client has no policy to apply);
    * ``detect_bare=True`` (the default): it is data, and :attr:`bare_lf` /
      :attr:`bare_cr` record that one was seen, so a server can refuse the
      message (RFC 5321 §2.3.8);
    * ``normalize=True``: every bare CR and bare LF *ends a line* and comes
      out as CRLF, and a dot that begins such a line is unstuffed like any
      other (RFC 5321 §4.5.2) — the content is what a lenient reader of the
      line structure sees.  The block still ends only at CR LF "." CR LF in
      the bytes as received: a "." line next to a bare line end (``\\n.\\n``,
      ``\\r\\n.\\n``, ``\\n.\\r\\n``, ``\\r.\\r``) is not the end; it is a line
      whose dot is unstuffed, so it comes out as an *empty* line.  Normalising
      the content therefore never creates a CRLF "." CRLF that was not sent
      stuffed ("..").  The flags are recorded as with ``detect_bare``.
    """

    __slots__ = (
        "_at_line_start",
        "_detect_bare",
        "_normalize",
        "_start_crlf",
        "bare_cr",
        "bare_lf",
        "done",
        "max_chunk",
        "size",
    )

    def __init__(
        self, *, max_chunk: int = 65536, detect_bare: bool = True, normalize: bool = False
    ) -> None:
        #: Largest piece :meth:`read` returns at once (of the bytes received:
        #: normalising a bare line end to CRLF can make a piece longer).
        self.max_chunk = max_chunk
        # With detect_bare=False the bare CR/LF check is skipped (bare_lf and
        # bare_cr stay False): a *client* reading POP3 RETR has no policy to
        # apply to them and the check costs more than the dot search.
        self._detect_bare = detect_bare or normalize
        self._normalize = normalize
        #: True once the terminating line has been consumed.
        self.done = False
        #: Octets of content handed out so far (after unstuffing and, with
        #: ``normalize``, after normalising).
        self.size = 0
        #: A LF not preceded by CR was seen in the content.
        self.bare_lf = False
        #: A CR not followed by LF was seen in the content.
        self.bare_cr = False
        # True when the next byte to read begins a line (the block start, or
        # after a CRLF, or with normalize after a bare CR or LF too).
        self._at_line_start = True
        # True when that line start follows a CRLF or is the block start: only
        # there can "." CRLF be the terminator.
        self._start_crlf = True

    def read(self, buf: ReceiveBuffer) -> bytes | None:
        """Return the next piece of content, or ``None`` if more bytes are needed.

        Returns ``b""`` exactly once, when the terminator is consumed (then
        :attr:`done` is True).  Never returns a piece that could still turn out
        to be part of the terminator, and never splits a CRLF across pieces.
        """
        if self.done:
            return b""
        data = buf._data
        size = len(data)
        if not size:
            return None
        pos = 0
        if self._at_line_start:
            # A line starting with "." is either the terminator ".\r\n" or a
            # stuffed line whose first dot must go (RFC 5321 §4.5.2).  After a
            # bare line end (normalize) it cannot be the terminator.
            if data[0] == 0x2E:
                if self._start_crlf:
                    if size < 3 and bytes(data) in (b".", b".\r"):
                        return None
                    if data[:3] == b".\r\n":
                        buf._discard(3)
                        self.done = True
                        return b""
                pos = 1
            self._at_line_start = False
        limit = min(size, pos + self.max_chunk)
        spans: list[tuple[int, int]] = []
        # Where the content stops, or -1 to look at the end of the piece.
        stop = -1
        done = False
        # Lines starting with a dot are rare in mail: one search backwards
        # tells whether there is any.  (CPython's reverse search keys on the
        # pattern's first byte, CR, and the forward one on its last, ".",
        # which is the commoner byte in text, so on mail the reverse search
        # is the cheaper of the two.)
        if data.rfind(b"\r\n.", pos, limit) >= 0:
            start = pos
            while True:
                i = data.find(b"\r\n.", start, limit)
                if i < 0:
                    break
                after = data[i + 3 : i + 5]
                if after == b"\r\n":
                    # CRLF "." CRLF: the content ends with the first CRLF.
                    stop, done = i + 2, True
                    break
                if i + 5 > size and bytes(after) in (b"", b"\r"):
                    # Cannot tell ".\r\n" from ".x" yet: stop before the dot.
                    stop = i + 2
                    self._at_line_start = True
                    self._start_crlf = True
                    break
                if not self._normalize:
                    # A stuffed dot: drop it.  (With normalize the dots are
                    # removed below, for every kind of line end at once.)
                    spans.append((pos, i + 2))
                    pos = i + 3
                start = i + 3
        if stop >= 0:
            end = stop
            consumed = stop + 3 if done else stop
        else:
            end = limit
            if end > pos:
                last = data[end - 1]
                if last == 0x0D:  # CR: it may begin a CRLF, so look one further
                    if end < size:
                        if data[end] == 0x0A:
                            end += 1
                            self._at_line_start = True
                            self._start_crlf = True
                        elif self._normalize:
                            self._at_line_start = True  # a bare CR ends a line
                            self._start_crlf = False
                    else:
                        end -= 1  # hold it back until the next byte arrives
                elif last == 0x0A:
                    if end - pos >= 2 and data[end - 2] == 0x0D:
                        self._at_line_start = True
                        self._start_crlf = True
                    elif self._normalize:
                        # A bare LF (a CRLF is never split between pieces,
                        # so a LF first in a piece is bare too).
                        self._at_line_start = True
                        self._start_crlf = False
            consumed = end
        if end > pos:
            spans.append((pos, end))
        if not spans:
            if consumed:  # only a stuffed dot (or the terminator) was consumed
                buf._discard(consumed)
                buf._searched = 0
            if done:
                self.done = True
                return b""
            return None
        return self._finish(buf, spans, consumed, done=done)

    def _finish(
        self, buf: ReceiveBuffer, spans: list[tuple[int, int]], consumed: int, *, done: bool
    ) -> bytes:
        data = buf._data
        if len(spans) == 1:
            start, stop = spans[0]
            if stop - start <= 4096:
                out = bytes(data[start:stop])
            else:  # one copy instead of two for big pieces
                with memoryview(data) as view:
                    out = bytes(view[start:stop])
        else:
            with memoryview(data) as view:
                out = b"".join([view[a:b] for a, b in spans])
        del data[:consumed]
        buf._searched = 0  # always a safe value; dot blocks never search lines
        if self._normalize:
            # Every piece is looked at: the flags only say what was seen.
            if has_bare_line_end(out):
                self._record_bare(out)
                out = _normalize(out)
            elif b"\r\n." in out:
                out = out.replace(b"\r\n.", b"\r\n")  # stuffed dots after CRLF
        elif self._detect_bare and not (self.bare_lf and self.bare_cr):
            if has_bare_line_end(out):
                self._record_bare(out)
        self.size += len(out)
        if done:
            self.done = True
        return out

    def _record_bare(self, out: bytes) -> None:
        # Which kind: only for a piece that has one, so counting is fine.
        crlf = out.count(b"\r\n")
        if out.count(b"\n") != crlf:
            self.bare_lf = True
        if out.count(b"\r") != crlf:
            self.bare_cr = True


def has_bare_line_end(data: bytes) -> bool:
    """True when *data* holds a CR not followed by LF or a LF not after CR.

    One C pass: ``splitlines`` ends a line at CRLF, bare CR and bare LF
    alike, so the line ends number exactly half the octets they span when,
    and only when, every one of them is a CRLF.  A CR as the very last octet
    counts as bare: callers that stream hold such a CR back until the next
    octet arrives.
    """
    if not data:
        return False
    lines = data.splitlines()
    ends = len(lines) if data[-1] in (0x0A, 0x0D) else len(lines) - 1
    return len(data) - len(b"".join(lines)) != 2 * ends


def _normalize(raw: bytes) -> bytes:
    """Bare CR and bare LF to CRLF, and one dot off the start of every line.

    *raw* is received content with no dot removed yet that holds no
    terminator; its first octet is never a line-start dot (the reader drops
    that one itself).  ``bytes.replace`` runs left to right without overlap,
    so ``\\r\\r\\n`` is a bare CR then a CRLF, and ``\\n..`` loses one dot.
    """
    text = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return text.replace(b"\n.", b"\n").replace(b"\n", b"\r\n")
