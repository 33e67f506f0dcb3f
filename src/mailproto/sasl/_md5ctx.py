"""HMAC-MD5 from a stored key schedule, for CRAM-MD5 without plaintext.

Why this exists: CRAM-MD5 (RFC 2195) needs ``HMAC-MD5(password, challenge)``
on the server, which seems to require the plaintext password.  HMAC does not
really need it, only the MD5 states after the first (key-derived) block of
the inner and outer hashes (RFC 2104 §4, "implementation note": the
intermediate results can be precomputed and stored).  Dovecot stores exactly
that as its ``{CRAM-MD5}`` password scheme: 32 bytes, the outer then the inner
MD5 state, each as four little-endian 32-bit words, written in hex.

:mod:`hashlib` cannot resume an MD5 from a saved state, so this module holds
a small MD5 compression function (RFC 1321 §3.4).  It runs a few times per
login, on two or three 64-byte blocks; speed does not matter here, exactness
does, and the tests check it against :mod:`hashlib` and :mod:`hmac`.
"""

from __future__ import annotations

import hashlib
import math
import struct

__all__ = ["context_from_key", "hmac_from_context"]

_MASK = 0xFFFFFFFF
# RFC 1321 §3.4: per-round shift amounts, and T[i] = floor(2^32 * |sin(i + 1)|).
_SHIFTS = [7, 12, 17, 22] * 4 + [5, 9, 14, 20] * 4 + [4, 11, 16, 23] * 4 + [6, 10, 15, 21] * 4
_T = [int(abs(math.sin(i + 1)) * 2**32) & _MASK for i in range(64)]
_IV = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476)
_BLOCK = 64

State = tuple[int, int, int, int]


def _compress(state: State, block: bytes) -> State:
    """One MD5 compression of a 64-byte *block* into *state* (RFC 1321 §3.4)."""
    words = struct.unpack("<16I", block)
    a, b, c, d = state
    for i in range(64):
        if i < 16:
            f, g = (b & c) | (~b & d), i
        elif i < 32:
            f, g = (d & b) | (~d & c), (5 * i + 1) % 16
        elif i < 48:
            f, g = b ^ c ^ d, (3 * i + 5) % 16
        else:
            f, g = c ^ (b | ~d), (7 * i) % 16
        f = (f + a + _T[i] + words[g]) & _MASK
        shift = _SHIFTS[i]
        a, d, c = d, c, b
        b = (b + (((f << shift) | (f >> (32 - shift))) & _MASK)) & _MASK
    return (
        (state[0] + a) & _MASK,
        (state[1] + b) & _MASK,
        (state[2] + c) & _MASK,
        (state[3] + d) & _MASK,
    )


def _finish(state: State, message: bytes) -> bytes:
    """MD5 of (one block already absorbed into *state*) + *message*."""
    total = _BLOCK + len(message)
    # RFC 1321 §3.1–3.2: 0x80, zeros to 56 mod 64, then the bit length (LE).
    padded = message + b"\x80" + b"\x00" * ((55 - total) % 64) + struct.pack("<Q", total * 8)
    for start in range(0, len(padded), _BLOCK):
        state = _compress(state, padded[start : start + _BLOCK])
    return struct.pack("<4I", *state)


def context_from_key(key: bytes) -> bytes:
    """The 32-byte HMAC-MD5 context of *key* (outer state, inner state)."""
    if len(key) > _BLOCK:
        key = hashlib.md5(key).digest()  # RFC 2104 §2
    key = key.ljust(_BLOCK, b"\x00")
    inner = _compress(_IV, bytes(k ^ 0x36 for k in key))
    outer = _compress(_IV, bytes(k ^ 0x5C for k in key))
    return struct.pack("<4I", *outer) + struct.pack("<4I", *inner)


def hmac_from_context(context: bytes, message: bytes) -> bytes:
    """``HMAC-MD5(key, message)`` given only ``context_from_key(key)``."""
    if len(context) != 32:
        raise ValueError("an HMAC-MD5 context is 32 bytes")
    outer: State = struct.unpack("<4I", context[:16])
    inner: State = struct.unpack("<4I", context[16:])
    return _finish(outer, _finish(inner, message))
