"""Modified UTF-7 for IMAP mailbox names (RFC 3501 §5.1.3, kept by RFC 9051 §5.1.3).

IMAP4rev1 mailbox names travel as 7-bit text.  International names use a
variant of UTF-7 (RFC 2152):

* printable US-ASCII (0x20–0x7E) other than ``&`` stands for itself;
* ``&`` is written ``&-``;
* every other run of characters is encoded as UTF-16BE, then in base64 with
  ``,`` instead of ``/`` and no ``=`` padding, between ``&`` and ``-``.

The encoding is *canonical*: RFC 3501 forbids encoding printable ASCII in
base64, requires runs to be as long as possible (two adjacent shifted runs are
illegal) and the spare bits of the last base64 character to be zero.  The
decoder checks all of that, so ``encode(decode(x)) == x`` for every *x* that
decodes; a name that breaks the rules raises :class:`ValueError`, and callers
that want to be liberal (an IMAP client meeting a server that sends raw 8-bit
names) catch it and keep the name as received.

Both directions run on :mod:`re` and :mod:`binascii`: no per-character loop.
"""

from __future__ import annotations

import binascii
import re

__all__ = ["decode", "encode"]

# Runs of characters that must be shifted: anything outside 0x20-0x7E.
_NON_DIRECT = re.compile(r"[^\x20-\x7e]+")
# A shifted sequence in an encoded name: "&" modified-base64 "-".
_SHIFTED = re.compile(r"&([A-Za-z0-9+,]*)(-?)")
_DIRECT_OK = re.compile(r"[\x20-\x7e]*")


def _encode_run(match: re.Match[str]) -> str:
    data = match.group().encode("utf-16-be", "surrogatepass")
    b64 = binascii.b2a_base64(data, newline=False).rstrip(b"=")
    return "&" + b64.replace(b"/", b",").decode("ascii") + "-"


def encode(name: str) -> str:
    """Encode a mailbox name into modified UTF-7.

    >>> encode("~peter/mail/台北/日本語")
    '~peter/mail/&U,BTFw-/&ZeVnLIqe-'
    >>> encode("R&D")
    'R&-D'
    """
    if name.isascii() and name.isprintable() and "&" not in name:
        return name  # the common case: nothing to do
    return _NON_DIRECT.sub(_encode_run, name.replace("&", "&-"))


def _decode_shifted(match: re.Match[str]) -> str:
    b64, dash = match.groups()
    if not dash:
        raise ValueError("unterminated shifted sequence in modified UTF-7")
    if not b64:
        return "&"  # "&-"
    # base64 of UTF-16: length mod 8 in (0, 3, 6) are the only complete forms.
    if len(b64) % 8 not in (0, 3, 6):
        raise ValueError("truncated base64 in modified UTF-7")
    padded = b64.replace(",", "/") + "=" * (-len(b64) % 4)
    raw = binascii.a2b_base64(padded.encode("ascii"))
    # The bits after the last full octet must be zero (canonical form).
    if binascii.b2a_base64(raw, newline=False).rstrip(b"=") != b64.replace(",", "/").encode():
        raise ValueError("non-zero padding bits in modified UTF-7")
    text = raw.decode("utf-16-be")  # raises on unpaired surrogates
    if _DIRECT_OK.fullmatch(text):
        # Printable ASCII must never be shifted (RFC 3501 §5.1.3).
        raise ValueError("printable ASCII encoded in base64 in modified UTF-7")
    return text


def decode(name: str) -> str:
    """Decode a modified UTF-7 mailbox name.

    Raises :class:`ValueError` when *name* is not canonical modified UTF-7
    (8-bit or control characters, bad base64, an unterminated or empty shift,
    two adjacent shifted sequences, shifted printable ASCII).

    >>> decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-")
    '~peter/mail/台北/日本語'
    """
    if not _DIRECT_OK.fullmatch(name):
        raise ValueError("modified UTF-7 allows only printable US-ASCII")
    if "&" not in name:
        return name
    # Two shifted runs back to back ("&AAA-&BBB-") must have been one run.
    if re.search(r"&[A-Za-z0-9+,]+-&[A-Za-z0-9+,]", name):
        raise ValueError("adjacent shifted sequences in modified UTF-7")
    return _SHIFTED.sub(_decode_shifted, name)
