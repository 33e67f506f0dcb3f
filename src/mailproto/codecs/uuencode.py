"""x-uuencode bodies (``Content-Transfer-Encoding: x-uuencode``, also ``uuencode``,
``x-uue``, ``uue``).

A uuencoded body is a ``begin <mode> <name>`` line, encoded lines whose first
character gives the number of decoded bytes (``chr(32 + n)``, with a backtick
for zero), an empty line (a lone `````` or space) and an ``end`` line.  There
is no RFC; the format is POSIX ``uuencode``.  :mod:`email` decodes it the same
way, line by line, repairing lines whose encoders stripped trailing spaces.

Tolerance (defect kinds):

``uuencode-missing-begin``
    No ``begin`` line: the whole body is decoded as encoded lines.
``uuencode-missing-end``
    The data ends without an ``end`` line; what was decoded is returned.
``uuencode-bad-line``
    A line whose length does not match its count byte is decoded as far as it
    goes (short lines are padded, extra characters dropped).
"""

from __future__ import annotations

import binascii
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailproto.imf.defects import Defect

__all__ = ["decode", "encode"]

_BEGIN = re.compile(rb"^begin(?:-base64)?[ \t]+[0-7]{1,4}[ \t]*[^\r\n]*\r?$", re.MULTILINE)
_END = re.compile(rb"^end[ \t]*\r?$", re.MULTILINE)


def _add_defect(defects: list[Defect] | None, kind: str, message: str) -> None:
    if defects is not None:
        from mailproto.imf.defects import Defect

        defects.append(Defect(kind=kind, message=message))


def decode(data: bytes, defects: list[Defect] | None = None) -> bytes:
    """Decode an x-uuencode body (``begin`` ... ``end``); never raises."""
    begin = _BEGIN.search(data)
    if begin is None:
        _add_defect(defects, "uuencode-missing-begin", "no 'begin' line; decoding all lines")
        start = 0
    else:
        start = begin.end()
    end = _END.search(data, start)
    if end is None:
        _add_defect(defects, "uuencode-missing-end", "no 'end' line")
        stop = len(data)
    else:
        stop = end.start()
    out: list[bytes] = []
    bad = False
    # One iteration per encoded line (at most 61 characters each), not per byte.
    for raw in data[start:stop].splitlines():
        line = raw.rstrip(b"\r\n")
        if not line:
            continue
        try:
            out.append(binascii.a2b_uu(line))
        except binascii.Error:
            # Trailing garbage, or spaces stripped by a mail relay: decode the
            # number of characters the count byte asks for, padding with "`".
            count = (line[0] - 32) & 63
            need = (count * 4 + 5) // 3
            fixed = line[:need].ljust(need, b"`")
            try:
                out.append(binascii.a2b_uu(fixed)[:count])
            except binascii.Error:
                bad = True
                continue
            bad = True
    if bad:
        _add_defect(defects, "uuencode-bad-line", "malformed uuencoded line(s) repaired")
    return b"".join(out)


def encode(data: bytes, *, filename: str = "data", mode: int = 0o644) -> bytes:
    """Encode *data* as an x-uuencode body with CRLF line ends."""
    safe_name = filename.replace("\r", "").replace("\n", "") or "data"
    lines = [b"begin %o %s" % (mode & 0o777, safe_name.encode("utf-8"))]
    lines += [
        binascii.b2a_uu(data[i : i + 45], backtick=True)[:-1] for i in range(0, len(data), 45)
    ]
    lines += [b"`", b"end", b""]
    return b"\r\n".join(lines)
