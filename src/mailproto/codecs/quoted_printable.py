"""Quoted-printable (RFC 2045 §6.7) and the RFC 2047 "Q" encoding.

Decoding is tolerant, as real mail requires, and fast: the work is done by
:func:`binascii.a2b_qp` (C); substring searches (also C) decide whether the
rarer repairs it does not make are needed at all:

* RFC 2045 §6.7 rule (3): trailing whitespace on an encoded line was added by
  a transport and "MUST be deleted" by the decoder.  :mod:`email` keeps it;
  we follow the RFC (a documented difference).  Lines are stripped with
  ``bytes.rstrip`` only when a space or tab precedes some line break.
* A soft line break is ``=`` at the end of a line, with optional transport
  whitespace after it (``"=  \\r\\n"``) — §6.7 rule (5) plus rule (3).
* An ``=`` not followed by two hex digits is not a valid escape; §6.7 note (2)
  recommends passing it through literally.  That is what :func:`binascii.a2b_qp`
  does; we add an ``invalid-qp-escape`` defect.  Lower-case hex digits are
  accepted (note (1) of the same section invites robustness).

A lone ``=`` before a bare CR (old Macintosh line ends) is a soft line
break too.  Long lines are not a defect: real mail exceeds 76 characters
routinely and nothing is lost.

Defect kind recorded: ``invalid-qp-escape`` (looked for only when a
``defects`` list is passed, since it costs a pass over every ``=``).
"""

from __future__ import annotations

import binascii
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailproto.imf.defects import Defect

__all__ = ["decode", "encode", "header_length"]

# "=" that does not start a valid escape or a soft line break.
_BAD_ESCAPE = re.compile(rb"=(?![0-9A-Fa-f]{2}|\r\n|\n|\r|\Z)")
# An "=" alone on the final line (soft break at end of data) is also dropped.
_SOFT_BREAK_CR = re.compile(rb"=\r(?!\n)")
# A CR that does not start a CRLF.
_LONE_CR = re.compile(rb"\r(?!\n)")
# A line feed after a space or tab, directly or with a CR between: the
# pattern starts with a literal, which the regex engine finds without trying
# every position (unlike "[ \t]\r?\n", which tries every space: 10x slower).
_TRAILING_WSP = re.compile(rb"\n(?:(?<=[ \t]\n)|(?<=[ \t]\r\n))")

# Characters that may appear literally in an RFC 2047 Q word in *any* header
# context (the most restrictive list, §5 rule (3): phrases); the rest is =XX.
_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
# Byte -> its Q form, as a str.translate table over the Latin-1 view of the
# bytes (one C-level pass instead of a Python loop per byte).
_Q_TABLE: dict[int, str] = {
    b: "_" if b == 0x20 else chr(b) if b in _Q_SAFE else f"={b:02X}" for b in range(256)
}
# The bytes that stay one character long in Q (deleted to count the others).
_Q_ONE_CHAR = bytes(sorted(_Q_SAFE | {0x20}))


def _strip_trailing_whitespace(data: bytes) -> bytes:
    """RFC 2045 §6.7 rule (3): drop spaces and tabs before each line break.

    Line by line with ``rstrip`` (C) rather than one regex: a regex for
    "whitespace before a line break" retries at every space of a long run
    that is *not* before a break, which is quadratic on hostile input.
    """
    lines = data.split(b"\n")
    for i, line in enumerate(lines):
        if line.endswith(b"\r"):
            stripped = line[:-1].rstrip(b" \t") + b"\r"
        else:
            stripped = line.rstrip(b" \t")
        if len(stripped) != len(line):
            lines[i] = stripped
    return b"\n".join(lines)


def _add_defect(defects: list[Defect] | None, kind: str, message: str, offset: int | None) -> None:
    if defects is not None:
        from mailproto.imf.defects import Defect

        defects.append(Defect(kind=kind, message=message, offset=offset))


def decode(data: bytes, defects: list[Defect] | None = None, *, header: bool = False) -> bytes:
    """Decode quoted-printable *data*; never raises.

    With ``header=True`` decode an RFC 2047 "Q" encoded text instead: ``_``
    means space (§4.2 (2)) and there are no lines.  Line breaks in a body are
    kept as they are (CRLF or bare LF).
    """
    if header:
        if b"=" not in data:
            return data.replace(b"_", b" ")
        m = _BAD_ESCAPE.search(data)
        if m is not None:
            _add_defect(defects, "invalid-qp-escape", "invalid =XX escape in Q encoding", m.start())
        # a2b_qp(header=True) maps "_" to space; an "=" that ends the data is a
        # broken escape in a Q word (no lines), keep it.
        if data.endswith(b"="):
            return binascii.a2b_qp(data[:-1], header=True) + b"="
        return binascii.a2b_qp(data, header=True)
    # Trailing whitespace is rare (encoders escape it), so first find out
    # whether there is any, in one C-speed pass: a search for the line feeds
    # (a literal, so the regex engine scans for it without per-byte Python)
    # that a space or tab precedes, directly or before a CR.  Whitespace at
    # the very end of the data (no line break after it) is checked apart.
    # The strip itself is a no-op where there is nothing to strip, so taking
    # it on a false alarm would not change the result, only the time.
    if _TRAILING_WSP.search(data) is not None or data.endswith((b" ", b"\t", b" \r", b"\t\r")):
        data = _strip_trailing_whitespace(data)
    if b"=" not in data:
        return data  # nothing to decode: the common case for mostly-ASCII text
    if defects is not None:
        # Only looked for when someone wants to know: a pass over every "=".
        m = _BAD_ESCAPE.search(data)
        if m is not None:
            _add_defect(
                defects, "invalid-qp-escape", "invalid =XX escape in quoted-printable", m.start()
            )
    # a2b_qp understands "=\r\n" and "=\n"; a lone "=\r" (old Mac line end)
    # is a soft break too.  A CR not followed by LF is rare: look for any (a
    # scan for the literal CR, cheaper than one for every "=") before the
    # substitution looks for the "=\r" ones.
    if b"\r" in data and _LONE_CR.search(data) is not None:
        data = _SOFT_BREAK_CR.sub(b"", data)
    return binascii.a2b_qp(data)


def encode(
    data: bytes, *, line_length: int = 76, binary: bool = False, header: bool = False
) -> bytes:
    """Encode *data* as quoted-printable with CRLF line ends.

    Body mode (the default) treats CRLF and bare LF in *data* as line breaks
    and emits CRLF; ``binary=True`` encodes CR and LF as ``=0D``/``=0A`` so
    arbitrary bytes survive (RFC 2045 §6.7 rule (4)).  Encoded lines, soft
    breaks included, are at most *line_length* characters (76 per §6.7 rule (5)).
    ``header=True`` produces RFC 2047 "Q" encoded text for one encoded word
    (no line breaks; space as ``_``; only characters safe in any header
    context left literal).
    """
    if header:
        return data.decode("latin-1").translate(_Q_TABLE).encode("ascii")
    line_length = max(line_length, 4)
    if binary:
        lines = [data]
    else:
        lines = data.replace(b"\r\n", b"\n").split(b"\n")
    out: list[bytes] = []
    for line in lines:
        # binascii does the per-byte work in C; it also escapes "." at line
        # start? No: it escapes "=", non-printables, trailing space/tab.
        # binascii does the per-byte work in C.  istext=False: line breaks were
        # split off above, so any CR or LF left in *line* is data and is escaped.
        enc = binascii.b2a_qp(line, quotetabs=False, istext=False, header=False)
        # Escaping the "F" of a leading "From " protects mbox-based transports
        # (RFC 2049 §3 (8)).
        if enc.startswith(b"From "):
            enc = b"=46" + enc[1:]
        # binascii wraps at 76 with "=\n"; re-wrap ourselves for any length.
        enc = enc.replace(b"=\n", b"")
        out.append(_wrap(enc, line_length))
    return b"\r\n".join(out)


def _wrap(enc: bytes, line_length: int) -> bytes:
    """Insert soft line breaks so no line exceeds *line_length*, never inside =XX."""
    if len(enc) <= line_length:
        return enc
    parts: list[bytes] = []
    pos = 0
    limit = line_length - 1  # room for the "=" of the soft break
    n = len(enc)
    while n - pos > line_length:
        end = pos + limit
        # Do not cut an escape: "=" within the last two positions moves the cut.
        eq = enc.rfind(b"=", end - 2, end)
        if eq != -1:
            end = eq
        parts.append(enc[pos:end] + b"=")
        pos = end
    parts.append(enc[pos:])
    return b"\r\n".join(parts)


def header_length(data: bytes) -> int:
    """Length of ``encode(data, header=True)`` without building it."""
    return len(data) + 2 * len(data.translate(None, _Q_ONE_CHAR))
