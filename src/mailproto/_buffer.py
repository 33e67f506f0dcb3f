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
    §2.3.8 forbids them).
"""

from __future__ import annotations

from mailproto.errors import LimitExceeded, ReplyHint

__all__ = ["DotBlockReader", "ReceiveBuffer"]


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


class DotBlockReader:
    """Streams one dot-terminated block out of a :class:`ReceiveBuffer`.

    Create one when the block starts (after SMTP ``354`` or a POP3 ``+OK`` that
    announces a multi-line response) and call :meth:`read` until
    :attr:`done`.  The content handed out is dot-unstuffed and ends with the
    CRLF of its last line; the terminating ``.`` CRLF is consumed and dropped.

    Example: the wire bytes ``b"Hi\\r\\n..dot\\r\\n.\\r\\n"`` yield the content
    ``b"Hi\\r\\n.dot\\r\\n"``.
    """

    __slots__ = (
        "_at_line_start",
        "_detect_bare",
        "bare_cr",
        "bare_lf",
        "done",
        "max_chunk",
        "size",
    )

    def __init__(self, *, max_chunk: int = 65536, detect_bare: bool = True) -> None:
        #: Largest piece :meth:`read` returns at once.
        self.max_chunk = max_chunk
        # With detect_bare=False the bare CR/LF scan is skipped (bare_lf and
        # bare_cr stay False): a *client* reading POP3 RETR has no policy to
        # apply to them and the scan is a third of its parsing time.
        self._detect_bare = detect_bare
        #: True once the terminating line has been consumed.
        self.done = False
        #: Octets of content handed out so far (after unstuffing).
        self.size = 0
        #: A LF not preceded by CR was seen in the content (kept as data).
        self.bare_lf = False
        #: A CR not followed by LF was seen in the content (kept as data).
        self.bare_cr = False
        # True when the previous content byte handed out ended a CRLF (or at
        # the start of the block): the next byte begins a line.
        self._at_line_start = True

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
            # stuffed line whose first dot must go (RFC 5321 §4.5.2).
            if data[0] == 0x2E:
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
        while True:
            i = data.find(b"\r\n.", pos, limit)
            if i < 0:
                break
            # Content through the CRLF belongs to the message; the dot begins
            # a new line and must be decided on.
            spans.append((pos, i + 2))
            after = data[i + 3 : i + 5]
            if after == b"\r\n":
                return self._finish(buf, spans, i + 5, done=True)
            if i + 5 > size and bytes(after) in (b"", b"\r"):
                # Cannot tell ".\r\n" from ".x" yet: stop before the dot.
                self._at_line_start = True
                return self._finish(buf, spans, i + 2, done=False)
            pos = i + 3  # a stuffed dot: drop it
        end = limit
        if end > pos:
            last = data[end - 1]
            if last == 0x0D:  # CR: it may begin a CRLF, so look one further
                if end < size:
                    if data[end] == 0x0A:
                        end += 1
                        self._at_line_start = True
                else:
                    end -= 1  # hold it back until the next byte arrives
            elif last == 0x0A and end - pos >= 2 and data[end - 2] == 0x0D:
                self._at_line_start = True
            if end > pos:
                spans.append((pos, end))
        if not spans:
            if pos:  # only a stuffed dot was consumed
                buf._discard(pos)
            return None
        return self._finish(buf, spans, end, done=False)

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
        # Bare CR/LF detection with C-speed counts rather than a byte loop.
        # A CRLF is never split across pieces, so per-piece counts are exact.
        if self._detect_bare and not (self.bare_lf and self.bare_cr):
            crlf = out.count(b"\r\n")
            # Fast path: CRs and LFs together number exactly twice the CRLFs
            # when none is bare; one deleting pass costs less than two counts.
            if len(out) - len(out.translate(None, b"\r\n")) != 2 * crlf:
                if out.count(b"\n") != crlf:
                    self.bare_lf = True
                if out.count(b"\r") != crlf:
                    self.bare_cr = True
        self.size += len(out)
        if done:
            self.done = True
        return out
