"""The base64 framing SMTP, POP3 and IMAP all wrap SASL messages in.

SMTP AUTH (RFC 4954 §4), POP3 AUTH (RFC 5034 §4) and IMAP AUTHENTICATE
(RFC 9051 §6.2.2, RFC 4959) carry SASL messages identically:

* every challenge and response is base64 (RFC 4648 §4, no line breaks);
* an *initial response* that is empty is written ``=`` (a bare empty
  argument would be "no initial response");
* a response line of ``*`` cancels the exchange.

Decoding is strict: characters outside the alphabet, bad padding or stray
whitespace are errors, not silently dropped, because a lenient decoder lets
two different wire forms mean the same credentials (and hides client bugs).
"""

from __future__ import annotations

import base64
import binascii
import re

from mailproto.sasl._errors import SASLCancelled, SASLError

__all__ = ["CANCEL", "decode_challenge", "decode_response", "encode_challenge", "encode_response"]

#: What a client sends to cancel an exchange (RFC 4422 §3.5).
CANCEL = b"*"

# RFC 4648 §4 alphabet, groups of four, "=" padding only at the end.
_BASE64 = re.compile(rb"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def _strip_eol(data: bytes) -> bytes:
    # Protocol readers usually hand over the line with its terminator; accept
    # exactly one CRLF (or bare LF) so callers need not slice it off.
    if data.endswith(b"\r\n"):
        return data[:-2]
    if data.endswith(b"\n"):
        return data[:-1]
    return data


def _decode(data: bytes) -> bytes:
    if _BASE64.fullmatch(data) is None:
        raise SASLError("malformed base64 in SASL exchange")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):  # pragma: no cover - the regex rules it out
        raise SASLError("malformed base64 in SASL exchange") from None


def decode_response(data: bytes, *, initial: bool = False) -> bytes:
    """Decode a client response line (without or with its CRLF).

    ``*`` raises :class:`SASLCancelled`.  With *initial* (the argument of
    ``AUTH``/``AUTHENTICATE`` itself), ``=`` means an empty response.
    Malformed base64 raises :class:`SASLError`.
    """
    data = _strip_eol(data)
    if data == CANCEL:
        raise SASLCancelled("client cancelled the SASL exchange")
    if initial and data == b"=":
        return b""
    return _decode(data)


def encode_response(data: bytes, *, initial: bool = False) -> bytes:
    """Encode a client response (no CRLF).  An empty *initial* response is ``=``."""
    if initial and not data:
        return b"="
    return base64.b64encode(data)


def encode_challenge(data: bytes) -> bytes:
    """Encode a server challenge (without CRLF and without the protocol's
    ``334``/``+`` prefix)."""
    return base64.b64encode(data)


def decode_challenge(data: bytes) -> bytes:
    """Decode a server challenge (as the client receives it, prefix removed).

    Malformed base64 raises :class:`SASLError`.
    """
    return _decode(_strip_eol(data))
