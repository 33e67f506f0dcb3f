"""Replay ``C:``/``S:`` transcripts against any mailproto connection.

RFCs describe protocols by example dialogues::

    S: 220 foo.com Simple Mail Transfer Service Ready
    C: EHLO bar.com
    S: 250 foo.com greets bar.com

:func:`parse_transcript` reads such text; :class:`TranscriptPlayer` plays it
against a connection object of either role — anything with
``receive_data``/``next_event``/``send``/``data_to_send`` — and checks that
the connection writes exactly the bytes of its own side:

* ``role="server"``: the ``C:`` lines are fed to the connection; every event
  it yields goes to your ``on_event(player, event)``, which answers with
  ``player.conn.send(...)``; what the connection writes must equal the ``S:``
  lines.
* ``role="client"``: before each ``C:`` line is checked, your
  ``on_line(player, line)`` sends the event(s) that should produce it; ``S:``
  lines are fed to the connection and its events go to ``on_event``.

Notation: each line is sent with CRLF.  A line of the connection's own side
ending in ``" ..."`` matches any rest of line (RFC example texts are
examples, not requirements); the peer's lines must be written in full.
``#`` starts a comment line; blank lines are ignored.  ``\\r``, ``\\n``,
``\\t``, ``\\\\`` and ``\\xHH`` escapes are decoded, so ``C: a\\nb`` is a
bare LF inside a line.  A line ``C:/`` (nothing after the colon but a
slash) continues the previous line without a line break.

This module does not need hypothesis.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Literal

import attrs

from mailproto._sentinels import NEED_DATA, PAUSED

__all__ = ["Line", "TranscriptMismatch", "TranscriptPlayer", "parse_transcript"]

Side = Literal["C", "S"]
_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|[rnt\\])")
_SIMPLE = {b"r": b"\r", b"n": b"\n", b"t": b"\t", b"\\": b"\\"}


def _unescape(data: bytes) -> bytes:
    def sub(m: re.Match[bytes]) -> bytes:
        code = m.group(1)
        if code.startswith(b"x"):
            return bytes([int(code[1:], 16)])
        return _SIMPLE[code]

    return _ESCAPE.sub(sub, data)


@attrs.frozen(kw_only=True)
class Line:
    """One line of a transcript."""

    #: ``"C"`` (client to server) or ``"S"`` (server to client).
    side: Side
    #: The bytes on the wire, CRLF included.
    data: bytes
    #: ``True`` when the text ended in ``" ..."``: only :attr:`data` up to
    #: that point must match (the rest of the line is free).
    loose: bool = False
    #: Line number in the transcript text (1-based), for messages.
    lineno: int = 0


class TranscriptMismatch(AssertionError):
    """The connection wrote something other than the transcript says."""


def parse_transcript(text: str | bytes) -> list[Line]:
    """Parse ``C:``/``S:`` text into :class:`Line` values."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    lines: list[Line] = []
    for lineno, source in enumerate(raw.splitlines(), 1):
        if not source.strip() or source.startswith(b"#"):
            continue
        tag, sep, rest = source.partition(b":")
        if sep != b":" or tag not in (b"C", b"S"):
            raise ValueError(f"line {lineno}: expected 'C:' or 'S:', got {source[:20]!r}")
        side: Side = "C" if tag == b"C" else "S"
        if rest == b"/" and lines and lines[-1].side == side:
            continue  # a continuation marker with nothing to add
        if rest.startswith(b"/"):
            prev = lines.pop()
            data = prev.data[:-2] + _unescape(rest[1:].removeprefix(b" ")) + b"\r\n"
            lines.append(attrs.evolve(prev, data=data))
            continue
        body = rest[1:] if rest.startswith(b" ") else rest
        loose = body.endswith(b" ...") or body == b"..."
        if loose:
            body = body[:-3].rstrip(b" ") if body != b"..." else b""
        lines.append(
            Line(
                side=side,
                data=_unescape(body) + (b"" if loose else b"\r\n"),
                loose=loose,
                lineno=lineno,
            )
        )
    return lines


EventHook = Callable[["TranscriptPlayer", Any], None]
LineHook = Callable[["TranscriptPlayer", Line], None]


class TranscriptPlayer:
    """Drive *conn* through *lines* (see the module docs for the roles).

    ``chunk``: feed the peer's bytes in pieces of at most this size (``1``
    is the harshest); a :class:`list` of sizes cycles through them.
    """

    def __init__(
        self,
        conn: Any,
        lines: Iterable[Line] | str,
        *,
        role: Literal["client", "server"],
        on_event: EventHook | None = None,
        on_line: LineHook | None = None,
        chunk: int | list[int] | None = None,
    ) -> None:
        self.conn = conn
        self.lines = parse_transcript(lines) if isinstance(lines, str) else list(lines)
        self.role = role
        self.mine: Side = "S" if role == "server" else "C"
        self.on_event = on_event
        self.on_line = on_line
        self.events: list[Any] = []
        self._chunks = [chunk] if isinstance(chunk, int) else chunk
        self._pos = 0
        self._written = b""

    # -- what handlers may look at --------------------------------------
    def upcoming(self) -> list[Line]:
        """The lines of the connection's own side that come next (the group
        up to the next peer line): what a handler is expected to cause."""
        out: list[Line] = []
        for line in self.lines[self._pos :]:
            if line.side != self.mine:
                if out:
                    break
                continue
            out.append(line)
        return out

    # -- playing ----------------------------------------------------------
    def _drain(self) -> None:
        while True:
            event = self.conn.next_event()
            if event is NEED_DATA or event is PAUSED:
                return
            self.events.append(event)
            if self.on_event is not None:
                self.on_event(self, event)
            if type(event).__name__ == "ConnectionClosed":
                return

    def _feed(self, data: bytes) -> None:
        if not self._chunks:
            self.conn.receive_data(data)
            self._drain()
            return
        i = k = 0
        while i < len(data):
            size = self._chunks[k % len(self._chunks)]
            self.conn.receive_data(data[i : i + size])
            self._drain()
            i += size
            k += 1

    def _check(self, line: Line) -> None:
        self._written += self.conn.data_to_send()
        if line.loose:
            end = self._written.find(b"\r\n")
            got = self._written[: end + 2] if end >= 0 else self._written
            ok = end >= 0 and got.startswith(line.data)
        else:
            got = self._written[: len(line.data)]
            ok = got == line.data
        if not ok:
            raise TranscriptMismatch(
                f"transcript line {line.lineno} ({line.side}:): expected "
                f"{line.data!r}{' ...' if line.loose else ''}, connection wrote {got!r}"
            )
        self._written = self._written[len(got) :]

    def play(self) -> list[Any]:
        """Play the whole transcript; return every event the connection yielded.

        Raises :class:`TranscriptMismatch` on the first difference, and when
        the connection writes more than the transcript says.
        """
        while self._pos < len(self.lines):
            line = self.lines[self._pos]
            if line.side == self.mine:
                if self.on_line is not None:
                    self.on_line(self, line)
                self._check(line)
                self._pos += 1
                continue
            # Peer lines: feed the whole group at once (pipelining as written).
            end = self._pos
            while end < len(self.lines) and self.lines[end].side != self.mine:
                end += 1
            group = self.lines[self._pos : end]
            for ln in group:
                if ln.loose:
                    raise ValueError(
                        f"transcript line {ln.lineno}: a line ending in ' ...' can be checked "
                        "but not sent; write the peer's line in full"
                    )
            self._pos = end
            self._feed(b"".join(ln.data for ln in group))
        self._written += self.conn.data_to_send()
        if self._written:
            raise TranscriptMismatch(
                f"connection wrote more than the transcript: {self._written!r}"
            )
        return self.events
