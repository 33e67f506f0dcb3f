"""SASLprep (RFC 4013): the stringprep profile for user names and passwords.

Why it exists: the same password can be typed as different code point
sequences ("é" precomposed or as "e" + combining accent; a no-break space
instead of a space).  SCRAM hashes the password, so client and server must
agree on one canonical form before hashing, and PLAIN servers should compare
canonical forms too (RFC 4616 §4).

The profile (RFC 4013 §2), on top of the stdlib :mod:`stringprep` tables
(which implement RFC 3454's Unicode 3.2 tables):

1. Map: non-ASCII spaces (table C.1.2) to U+0020; "commonly mapped to
   nothing" characters (table B.1: soft hyphen, zero-width joiners, variation
   selectors, ...) removed.
2. Normalize: Unicode NFKC (RFC 4013 §2.2), with the Unicode 3.2 data the
   tables were built from (:data:`unicodedata.ucd_3_2_0`).
3. Prohibit: tables C.1.2, C.2.1, C.2.2, C.3 to C.9 (RFC 4013 §2.3).
4. Bidi: RFC 3454 §6 — a string with any right-to-left character (D.1) must
   contain no left-to-right character (D.2) and must begin and end with a
   right-to-left character.
5. Unassigned code points (table A.1): allowed in "queries" (what a client
   types at login) and refused in "stored strings" (what is enrolled into a
   credential store), RFC 3454 §7.

Strings are short (names and passwords), and this runs once per login, so a
per-character loop is acceptable here; pure printable ASCII, by far the most
common input, takes a fast path that provably maps to itself (no ASCII
character is in B.1, C.1.2, or changed by NFKC; the prohibited ASCII
characters are exactly the controls, which :meth:`str.isprintable` excludes).
"""

from __future__ import annotations

import stringprep
import unicodedata

from mailproto.errors import LocalProtocolError

__all__ = ["SASLprepError", "saslprep"]


class SASLprepError(LocalProtocolError, ValueError):
    """The string cannot be prepared: it holds a prohibited character,
    breaks the bidi rules, or (for stored strings) an unassigned code point.

    It is a :class:`~mailproto.errors.LocalProtocolError` because it is raised
    for strings the application supplied (a password to enrol, a user name to
    log in with).  Server mechanisms turn it into a
    :class:`~mailproto.sasl.SASLError` or a :class:`~mailproto.sasl.Failure`
    when the string came from the client.  The message names the offending
    code point's position, never the string itself (it may be a password).
    """


# RFC 4013 §2.3: every table whose characters must not appear in the output.
# C.1.2 is listed although step 1 maps it away, exactly as the RFC does.
_PROHIBITED = (
    stringprep.in_table_c12,
    stringprep.in_table_c21,
    stringprep.in_table_c22,
    stringprep.in_table_c3,
    stringprep.in_table_c4,
    stringprep.in_table_c5,
    stringprep.in_table_c6,
    stringprep.in_table_c7,
    stringprep.in_table_c8,
    stringprep.in_table_c9,
)


def saslprep(value: str, *, allow_unassigned: bool = False) -> str:
    """Prepare *value* with the SASLprep profile (RFC 4013).

    *allow_unassigned* selects a "query" (``True``: what a user types to log
    in; RFC 5802 §2.2 normalizes SCRAM passwords this way) versus a "stored
    string" (``False``, the default: what is enrolled, RFC 3454 §7).

    Raises :class:`SASLprepError` on prohibited output or a bidi violation.
    """
    if value.isascii() and value.isprintable():
        return value

    # Step 1, mapping (RFC 4013 §2.1).
    mapped = "".join(
        " " if stringprep.in_table_c12(ch) else ch for ch in value if not stringprep.in_table_b1(ch)
    )
    # Step 2, normalization (RFC 4013 §2.2): NFKC with the Unicode version the
    # stringprep tables come from, so the result does not depend on Python's.
    normalized = unicodedata.ucd_3_2_0.normalize("NFKC", mapped)

    # Steps 3 and 5: prohibited output and unassigned code points.  The
    # message names a code point only when it is not printable (a control, a
    # non-character): printable ones may be a meaningful part of a password.
    for index, ch in enumerate(normalized):
        if any(table(ch) for table in _PROHIBITED):
            shown = "" if ch.isprintable() else f" U+{ord(ch):04X}"
            raise SASLprepError(f"SASLprep: prohibited character{shown} at position {index}")
        if not allow_unassigned and stringprep.in_table_a1(ch):
            raise SASLprepError(f"SASLprep: unassigned code point at position {index}")

    # Step 4, bidi (RFC 3454 §6).
    if normalized:
        has_ral = any(stringprep.in_table_d1(ch) for ch in normalized)
        if has_ral:
            if any(stringprep.in_table_d2(ch) for ch in normalized):
                raise SASLprepError(
                    "SASLprep: string mixes right-to-left and left-to-right characters"
                )
            if not (
                stringprep.in_table_d1(normalized[0]) and stringprep.in_table_d1(normalized[-1])
            ):
                raise SASLprepError(
                    "SASLprep: right-to-left string must start and end with a "
                    "right-to-left character"
                )
    return normalized
