"""The GS2 header and ``saslname`` escaping shared by SCRAM and OAUTHBEARER.

RFC 5802 §7 (also used by RFC 7628 §3.1)::

    gs2-cbind-flag  = ("p=" cb-name) / "n" / "y"
    gs2-header      = gs2-cbind-flag "," [ authzid ] ","
    authzid         = "a=" saslname
    cb-name         = 1*(ALPHA / DIGIT / "." / "-")
    saslname        = 1*(value-safe-char / "=2C" / "=3D")
    value-safe-char = %x01-2B / %x2D-3C / %x3E-7F / UTF8-2 / UTF8-3 / UTF8-4
                      ;; UTF8-char except NUL, "=", and ","

The header says whether the client uses channel binding (``p=``), could but
thinks the server cannot (``y``), or cannot (``n``); the server uses it to
detect a downgrade (RFC 5802 §6).
"""

from __future__ import annotations

import re

import attrs

from mailproto.sasl._errors import SASLError

__all__ = ["GS2Header", "escape_saslname", "parse_gs2_header", "unescape_saslname"]

_CB_NAME = re.compile(rb"[A-Za-z0-9.-]+")
# "=" must start one of the two escapes; "," cannot appear unescaped.
_SASLNAME = re.compile(rb"(?:[^=,\x00]|=2C|=3D)+")


@attrs.frozen(kw_only=True)
class GS2Header:
    """A parsed GS2 header."""

    #: ``"n"``, ``"y"`` or ``"p"``.
    flag: str
    #: Channel binding type for ``p=`` (e.g. ``"tls-exporter"``), else None.
    cb_name: str | None
    #: Authorization identity, unescaped, or None.
    authzid: str | None
    #: The header bytes exactly as sent (SCRAM echoes them in ``c=``).
    raw: bytes


def escape_saslname(name: str) -> bytes:
    """UTF-8 encode *name* and escape ``=`` and ``,`` (RFC 5802 §5.1)."""
    return name.encode("utf-8").replace(b"=", b"=3D").replace(b",", b"=2C")


def unescape_saslname(data: bytes, what: str) -> str:
    """Check and decode a ``saslname``; raise :class:`SASLError` if malformed."""
    if _SASLNAME.fullmatch(data) is None:
        raise SASLError(f"malformed {what}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SASLError(f"{what} is not UTF-8") from None
    return text.replace("=2C", ",").replace("=3D", "=")


def parse_gs2_header(message: bytes, mechanism: str) -> tuple[GS2Header, bytes]:
    """Split a client's first message into its GS2 header and the rest."""
    first = message.find(b",")
    second = message.find(b",", first + 1) if first >= 0 else -1
    if second < 0:
        raise SASLError(f"{mechanism}: missing GS2 header")
    flag_part = message[:first]
    authz_part = message[first + 1 : second]
    if flag_part in (b"n", b"y"):
        flag, cb_name = flag_part.decode("ascii"), None
    elif flag_part.startswith(b"p=") and _CB_NAME.fullmatch(flag_part, 2):
        flag, cb_name = "p", flag_part[2:].decode("ascii")
    else:
        raise SASLError(f"{mechanism}: malformed channel binding flag in GS2 header")
    authzid: str | None = None
    if authz_part:
        if not authz_part.startswith(b"a="):
            raise SASLError(f"{mechanism}: malformed authzid in GS2 header")
        authzid = unescape_saslname(authz_part[2:], f"{mechanism} authzid")
    header = GS2Header(flag=flag, cb_name=cb_name, authzid=authzid, raw=message[: second + 1])
    return header, message[second + 1 :]


def build_gs2_header(flag: str, cb_name: str | None, authzid: str | None) -> bytes:
    """Build a GS2 header (``flag`` is ``"n"``, ``"y"`` or ``"p"``)."""
    head = f"p={cb_name}".encode("ascii") if flag == "p" else flag.encode("ascii")
    authz = b"a=" + escape_saslname(authzid) if authzid else b""
    return head + b"," + authz + b","
