"""Dot-stuffing for dot-terminated blocks (SMTP DATA, POP3 multi-line responses).

RFC 5321 §4.5.2 and RFC 1939 §3: before sending a block of lines that ends with
a line holding a single ".", the sender doubles the leading "." of every line
that begins with one, so that no content line can be mistaken for the end.
The receiving side (:class:`mailproto._buffer.DotBlockReader`) undoes it.

:class:`DotStuffer` is streaming: feed the content in pieces of any size and it
emits the stuffed bytes as it goes, remembering across pieces whether the next
byte begins a line.  A "line" begins only after CRLF, exactly as the reader
sees it, so stuffing and unstuffing are inverse for any content.

With ``normalize_newlines=True`` the stuffer also turns bare LF and bare CR
into CRLF before stuffing (what an MTA does to locally submitted mail with Unix
line ends; RFC 5321 §2.3.8 forbids bare LF/CR on the wire).  The rule is
:func:`mailproto.codecs.line_endings.normalize_line_endings`, applied piece
by piece: the only state it needs across pieces is a final CR, held back
until the next piece shows whether it begins a CRLF.
"""

from __future__ import annotations

from mailproto.codecs.line_endings import normalize_line_endings

__all__ = ["DotStuffer", "dot_stuff"]

_LINE_START = 0  # the next byte begins a line
_AFTER_CR = 1  # the last byte sent was CR: a following LF completes a CRLF
_MID_LINE = 2


class DotStuffer:
    """Streaming dot-stuffer: ``stuff()`` each piece, then ``end()`` once."""

    __slots__ = ("_held_cr", "_normalize", "_state", "ended")

    def __init__(self, *, normalize_newlines: bool = False) -> None:
        self._normalize = normalize_newlines
        self._state = _LINE_START
        self._held_cr = False
        #: True after :meth:`end` returned the terminator.
        self.ended = False

    def _to_crlf(self, chunk: bytes) -> bytes:
        if self._held_cr:
            chunk = b"\r" + chunk
        # A trailing CR may be the first half of a CRLF split across pieces.
        self._held_cr = chunk.endswith(b"\r")
        if self._held_cr:
            chunk = chunk[:-1]
        # What is left has no CR that a later piece could complete: the
        # whole-data rule applies as it is.
        return normalize_line_endings(chunk)

    def stuff(self, chunk: bytes) -> bytes:
        """Return *chunk* dot-stuffed (and normalised, when asked)."""
        if self.ended:
            raise ValueError("stuff() after end()")
        if self._normalize:
            chunk = self._to_crlf(chunk)
        if not chunk:
            return b""
        out = chunk.replace(b"\r\n.", b"\r\n..") if b"\r\n." in chunk else chunk
        first = chunk[0]
        if self._state == _LINE_START and first == 0x2E:
            out = b"." + out
        elif self._state == _AFTER_CR and chunk[:2] == b"\n.":
            out = b"\n.." + out[2:]
        last = chunk[-1]
        if last == 0x0D:
            self._state = _AFTER_CR
        elif last == 0x0A and (
            (len(chunk) >= 2 and chunk[-2] == 0x0D)
            or (len(chunk) == 1 and self._state == _AFTER_CR)
        ):
            self._state = _LINE_START
        else:
            self._state = _MID_LINE
        return out

    def end(self) -> bytes:
        """Return the bytes that close the block: a CRLF if the content did not
        end with one, then ``.`` CRLF."""
        if self.ended:
            raise ValueError("end() called twice")
        out = b""
        if self._held_cr:
            self._held_cr = False
            out = b"\r\n"  # a bare CR at the very end becomes CRLF
            self._state = _LINE_START
        self.ended = True
        if self._state != _LINE_START:
            out += b"\r\n"
        return out + b".\r\n"


def dot_stuff(content: bytes, *, normalize_newlines: bool = False) -> bytes:
    """Stuff a whole block at once and append the terminator."""
    stuffer = DotStuffer(normalize_newlines=normalize_newlines)
    return stuffer.stuff(content) + stuffer.end()
