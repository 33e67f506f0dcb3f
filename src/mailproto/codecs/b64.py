"""Base64 content transfer encoding (RFC 2045 §6.8) and the RFC 2047 "B" encoding.

Named ``b64`` so it never shadows the standard :mod:`base64` module.

Decoding is tolerant and runs in C (:func:`binascii.a2b_base64`) in the
common case.  RFC 2045 §6.8 says characters outside the alphabet "are to be
ignored"; real mail adds bad padding, truncated final groups and text after
the padding.  What we do, and the defect kind recorded (matching the cases
:mod:`email` distinguishes):

``invalid-base64-characters``
    Bytes other than the alphabet, ``=`` and whitespace are dropped.
``invalid-base64-padding``
    Missing or extra ``=`` padding is repaired.
``invalid-base64-length``
    The data ends with a single character of a 4-character group (6 bits,
    less than a byte): that character is dropped.  :mod:`email` returns the
    *undecoded* input in this case; we return everything that can be decoded.
``base64-data-after-padding``
    Base64 continues after a padded group (several encoded blocks
    concatenated): each block is decoded and the results joined.  :mod:`email`
    stops at the first padding.

Whitespace (CR, LF, space, tab) is not a defect: lines are expected.
"""

from __future__ import annotations

import binascii
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailproto.imf.defects import Defect

__all__ = ["decode", "encode"]

_GARBAGE = re.compile(rb"[^A-Za-z0-9+/=\s]")
_NOT_ALPHABET = re.compile(rb"[^A-Za-z0-9+/]+")
_ALPHABET_DELETE = bytes(
    b for b in range(256) if not (chr(b).isascii() and (chr(b).isalnum() or chr(b) in "+/"))
)


def _add_defect(defects: list[Defect] | None, kind: str, message: str) -> None:
    if defects is not None:
        from mailproto.imf.defects import Defect

        defects.append(Defect(kind=kind, message=message))


def decode(data: bytes, defects: list[Defect] | None = None) -> bytes:
    """Decode base64 *data*, tolerating what real mail gets wrong; never raises."""
    # Padding followed later by more base64 (several blocks concatenated)?
    # Found with find + translate (C) -- a regex "=...[A-Za-z]" would retry
    # at every "=" of a long run, which is quadratic.
    first_pad = data.find(b"=")
    concatenated = first_pad != -1 and bool(data[first_pad:].translate(None, _ALPHABET_DELETE))
    if not concatenated:
        try:
            out = binascii.a2b_base64(data)
        except (binascii.Error, ValueError):
            pass
        else:
            # The garbage scan is a second pass; only pay for it when asked.
            if defects is not None and _GARBAGE.search(data) is not None:
                _add_defect(
                    defects, "invalid-base64-characters", "characters outside base64 ignored"
                )
            return out
    # Slow path: strip everything outside the alphabet, repair the length.
    if _GARBAGE.search(data) is not None:
        _add_defect(defects, "invalid-base64-characters", "characters outside base64 ignored")
    if concatenated:
        _add_defect(defects, "base64-data-after-padding", "base64 data continues after padding")
        blocks = [b.translate(None, _ALPHABET_DELETE) for b in re.split(rb"=+", data)]
        return b"".join([_decode_clean(b, defects, padded=True) for b in blocks if b])
    return _decode_clean(data.translate(None, _ALPHABET_DELETE), defects, padded=False)


def _decode_clean(clean: bytes, defects: list[Defect] | None, *, padded: bool) -> bytes:
    """Decode alphabet-only *clean* data, repairing a bad final group.

    *padded* says the block was followed by ``=`` padding in the input (so a
    short final group is not a padding defect).
    """
    rem = len(clean) % 4
    if rem == 1:
        _add_defect(
            defects,
            "invalid-base64-length",
            "base64 data ends with a lone character; it was dropped",
        )
        clean = clean[:-1]
    elif rem:
        if not padded:
            _add_defect(defects, "invalid-base64-padding", "missing base64 padding repaired")
        clean += b"=" * (4 - rem)
    return binascii.a2b_base64(clean)


def encode(data: bytes, *, line_length: int = 76) -> bytes:
    """Encode *data* as base64 lines of *line_length* characters joined by CRLF.

    *line_length* is rounded down to a multiple of 4 (at least 4); RFC 2045
    §6.8 allows at most 76.  A ``line_length`` of 0 means one line.  The
    result has no trailing line break.
    """
    if not data:
        return b""
    if line_length <= 0:
        return binascii.b2a_base64(data, newline=False)
    chunk = max(line_length // 4, 1) * 3  # input bytes per output line
    if len(data) <= chunk:
        return binascii.b2a_base64(data, newline=False)
    return b"\r\n".join(
        [
            binascii.b2a_base64(data[i : i + chunk], newline=False)
            for i in range(0, len(data), chunk)
        ]
    )
